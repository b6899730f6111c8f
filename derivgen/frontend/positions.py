"""Positions known only when the module runs, read by an index: ``logp[np.arange(n), target]``.

Two things hold positions: an input used as an index (``x[t]``: an integer array the caller
passes, with no gradient and no floating dtype), or moved as elements are (``t[:, None]``,
``t.unsqueeze(1)``, ``t.reshape(-1, 1)``), and ``np.arange(n)`` / ``torch.arange(n)`` of a
size read off an array (``len(t)``, ``x.shape[0]``): a value of numbers (derivgen/ops/constants.py)
that an index reads as the positions 0..n-1. An index reading either is a ``gather_index``
(derivgen/ops/layout.py), whose gradient adds the adjoint back at the positions read; an
``np.arange`` of a constant is a constant list of positions (``x[[0, 1, 2]]``). The
``indices`` of ``np.take_along_axis`` and the ``index`` of ``torch.gather`` hold positions too.
A condition used as an index is a boolean mask (``x[x > 0]``, ``loss[mask]``): it selects the
elements where it holds, as many as there are when the module runs.
"""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder
from ..ops.layout import MOVES

ARANGE = "arange"  # the function's name after a prefix (np., numpy., torch.)
_MAX_CONSTANT = 4096  # np.arange(k) of a constant k: at most this many positions, written out

TAKES = ("take_along_axis", "gather")  # ops whose operand 1 holds positions
COMPUTED_POSITIONS = ("argsort", "argmax", "argmin")  # ops whose values are positions (integers)
POSITIONS_HINT = ("index with an input of integers or np.arange(n) of a size, as in "
                  "logp[np.arange(len(t)), t]")


class Positions:
    """``np.arange(n)`` of a size read off an array value ``of``: ``what`` says which
    (derivgen/ops/sizes.py); of a constant n, ``values`` are the positions."""

    def __init__(self, of: int | None, what: tuple | None, values: tuple | None = None):
        self.of = of
        self.what = what
        self.values = values


class RunTimePositions:
    """Positions in indexes: ``np.arange`` calls, inputs used as indexes, gathers."""

    def arange_call(self, node: ast.Call, env, torch: bool):
        """``np.arange(stop)``, ``np.arange(start, stop[, step])``: numbers (derivgen/ops/constants.py);
        ``np.arange(n)`` of an integer or a size is the positions 0..n-1 where an index reads it."""
        vid, (start, stop, step), integer = self.arange_numbers(node, env, torch)
        if start == 0 and step == 1 and integer:
            if isinstance(stop, tuple):  # a size read off the array that is the arange's operand
                self.arange_positions[vid] = Positions(self.graph[vid].args[0], stop[1])
            elif 0 <= stop <= _MAX_CONSTANT:  # a list of positions, written out
                self.arange_positions[vid] = Positions(None, None, tuple(range(stop)))
        return vid

    def run_time_item(self, value, node):
        """An index item of positions known when the module runs, from the value an item of a
        subscript evaluated to; None for anything else."""
        if isinstance(value, int) and value in self.arange_positions:  # np.arange(n) as positions
            value = self.arange_positions[value]
        elif isinstance(value, int) and self.graph[value].op == "arange":
            raise self.error(node, f"only np.arange(n), the positions 0 to n - 1 of a size n or of an integer "
                                   f"n from 0 to {_MAX_CONSTANT}, is positions in an index",
                             "index a slice of its result instead, or shift the positions you index with")
        if isinstance(value, Positions):
            return value if value.values is None else ("take", value.values)
        if isinstance(value, int) and self.is_cond(value):  # a boolean mask: x[x > 0]
            return ("mask", value)
        if isinstance(value, sp.logic.boolalg.BooleanAtom):
            raise self.error(node, f"an index must be an integer or a mask of the array's shape, not {value}",
                             "a constant condition selects everything or nothing: drop it, or index a slice")
        if isinstance(value, int) and self._positions_root(value) is not None:
            root = self.graph[self._positions_root(value)]
            if root.op == "input":
                self.positions_used.setdefault(root.name, node)
            return ("input", value)
        return None

    def positions_operand(self, value, node, what: str) -> int:
        """The operand of an op's parameter holding positions (np.take_along_axis's indices):
        an input of integers, or one moved as elements are (t[:, None])."""
        item = self.run_time_item(value, node)
        if not isinstance(item, tuple) or item[0] != "input":
            raise self.error(node, f"{what} must be an input holding integer positions, or one reshaped "
                                   "(t[:, None], t.unsqueeze(1))",
                             "pass the positions as an input of integers: np.take_along_axis(x, t[:, None], axis=1), "
                             "x.gather(1, t.unsqueeze(1))")
        return item[1]

    def computed_positions(self, vid: int) -> bool:
        """Whether ``vid`` holds positions the module computes (np.argmax(x, 1), moved too)."""
        root = self._positions_root(vid)
        return root is not None and self.graph[root].op in COMPUTED_POSITIONS

    def _positions_root(self, vid: int):
        """The input a value is, or the positions a value computes (np.argmax, np.argsort),
        or is moved from (t[:, None], t.reshape(-1, 1)); None for any other value."""
        while self.graph[vid].op in MOVES:
            vid = self.graph[vid].args[0]
        return vid if self.graph[vid].op in ("input", *COMPUTED_POSITIONS) else None

    def gather(self, base: int, index: tuple, node):
        """``base[index]`` where index items are Positions or input ids (run_time_item)."""
        arrays = [base]

        def operand(vid: int) -> int:
            if vid not in arrays:
                arrays.append(vid)
            return arrays.index(vid)

        items = []
        for item in index:
            if isinstance(item, Positions):
                items.append(("arange", operand(item.of), item.what))
            elif isinstance(item, tuple) and item[0] == "input":
                items.append(("at", operand(item[1])))
            elif isinstance(item, tuple) and item[0] == "mask":
                items.append(("mask", operand(item[1])))
            else:
                items.append(item)
        static = symbolic.Static((tuple(items),))
        syms = tuple(placeholder(i) for i in range(len(arrays)))
        spec = ops.OPS["gather_index"]
        try:  # the index must fit some shapes: the rank of each array is checked when the module runs
            spec.head(*syms, static)
        except (TypeError, ValueError) as exc:
            raise self.error(node, f"cannot build this index: {exc}") from None
        return self.graph.add("gather_index", spec.head(*syms, static), tuple(arrays), operands=syms, static=(static,),
                              labels=frozenset({f"#{len(self.graph.values)}"}))

    def check_positions(self, out: int):
        """Each input used as positions is used only so (or for its sizes): it has no gradient,
        and its integers are no floats. The error points at its first use as an index."""
        if not self.positions_used:
            return frozenset()
        ids = {self.inputs[name]: name for name in self.positions_used if name in self.inputs}
        for value in self.graph.values:  # and the values moved from them (t[:, None])
            if value.op in MOVES and value.args and value.args[0] in ids:
                ids[value.id] = ids[value.args[0]]
        if out in ids:
            raise self.error(self.positions_used[ids[out]], f"'{ids[out]}' is used as positions here, and "
                             "it is what the function returns", "derivgen differentiates a number computed "
                                                                 "from the inputs")
        for value in self.graph.values:
            for position, arg in enumerate(value.args):
                if arg not in ids:
                    continue
                if (value.op in ("size", "arange") or value.id in ids or (value.op == "gather_index" and position > 0)
                        or (value.op in TAKES and position == 1)):
                    continue
                name = ids[arg]
                raise self.error(self.positions_used[name],
                                 f"'{name}' is used as positions here (an index of integers) and also as "
                                 "numbers elsewhere", "pass the positions and the numbers as two inputs")
        return frozenset(ids.values())
