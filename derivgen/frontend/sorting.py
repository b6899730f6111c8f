"""Sorting: the values of ``np.sort(x, axis=-1)``, ``torch.sort(x, dim=-1, descending=False)``
(``x.sort()``), ``torch.msort(x)`` (``x.msort()``: along axis 0) and ``torch.topk(x, k, dim=-1,
largest=True)`` (``x.topk(k)``).

Each is x read at the positions that sort it: ``take_along_axis(x, argsort(x))`` (argsort is
an op of its own, derivgen/ops/scans.py, whose integers carry no gradient), so the gradient of
each output element goes to the element it came from. Ties are ordered as NumPy's stable
argsort orders them: equal elements keep their order in x, ascending or descending (nan last
ascending, first descending, as torch.sort puts it), so the earlier of two equal elements gets
the gradient of the earlier output position. ``np.sort(x, axis=None)`` sorts the flattened x.

PyTorch's calls return (values, indices), read as ``.values``, ``[0]`` or unpacked
(``values, indices = torch.sort(x)``); the indices are the positions themselves, as are
``np.argsort(x)`` and ``np.argmax(x, axis)`` / ``np.argmin`` (and PyTorch's): integers an index
reads (derivgen/frontend/positions.py), numbers in arithmetic, no gradient. A NumPy array's
``x.sort()`` sorts in place and returns None, so the method is read as PyTorch's.
"""

from __future__ import annotations

import ast

from .. import ops, symbolic
from ..graph import placeholder
from .language import MaxResult, Poison, short

# The names read here, bare or after np., numpy. or torch. (topk and msort: PyTorch's only), and
# as methods.
SORTING = ("sort", "msort", "topk", "argsort", "argmax", "argmin")
_TORCH_ONLY = ("msort", "topk")
_KINDS = (None, "quicksort", "mergesort", "heapsort", "stable")  # np.sort's kind=: the values are the same
_REQUIRED = object()


class Sorting:
    """Calls that sort: their values, read through the positions that sort x."""

    def sort_call(self, name: str, node: ast.Call, env, receiver: ast.expr | None, prefix: str):
        """np.sort / torch.sort / torch.msort / torch.topk (and their methods) of an array."""
        # x.sort() is PyTorch's (NumPy's sorts in place); topk and msort are PyTorch's only
        torch = prefix == "torch." or receiver is not None or name in _TORCH_ONLY
        spelled = f"{prefix}{name}" if receiver is None else f"x.{name}"
        if name in ("argmax", "argmin"):
            return self.extreme_position(name, node, env, receiver, prefix, spelled)
        if name in _TORCH_ONLY and prefix in ("np.", "numpy."):
            raise self.error(node.func, f"NumPy has no {name}()", f"write torch.{name}(x, ...) or x.{name}(...)")
        if name == "topk":
            params = [("x", ("input",), _REQUIRED), ("k", (), _REQUIRED), ("dim", ("axis",), -1),
                      ("largest", (), True), ("sorted", (), True)]
        elif name == "msort":
            params = [("x", ("input",), _REQUIRED)]
        elif torch:
            params = [("x", ("input",), _REQUIRED), ("dim", ("axis",), -1), ("descending", (), False),
                      ("stable", (), False)]
        else:
            params = [("x", ("a",), _REQUIRED), ("axis", (), -1), ("kind", (), None), ("order", (), None),
                      ("stable", (), None)]
        # torch.sort's stable= and np.sort's are keywords only
        positional = 3 if torch and name in ("sort", "argsort") else 4 if name in ("sort", "argsort") else len(params)
        bound = self._bind_sorting(spelled, params, node, receiver, positional)
        if not torch and "order" in bound and not (isinstance(bound["order"], ast.Constant)
                                                   and bound["order"].value is None):
            raise self.error(bound["order"], f"{spelled}()'s order= sorts the fields of a structured array, "
                                             "which a module does not have", "sort the values: np.sort(x, axis)")
        if "kind" in bound:
            kind = bound["kind"]
            if not (isinstance(kind, ast.Constant) and kind.value in _KINDS):
                raise self.error(kind, f"{spelled}()'s kind must be a constant: 'quicksort', 'mergesort', "
                                       "'heapsort', 'stable' or None", "every kind sorts to the same values")
        # stable=: the values are the same either way; ties always take the stable order (above)
        self._sort_flag(bound, "stable", spelled, allow_none=not torch)
        descending = self._sort_flag(bound, "descending", spelled)
        k = None
        if name == "topk":
            descending = self._sort_flag(bound, "largest", spelled)
            if not self._sort_flag(bound, "sorted", spelled):
                raise self.error(bound["sorted"], "torch.topk(sorted=False) leaves the order of the values unspecified",
                                 "drop sorted=False: the values come largest first (smallest first with "
                                 "largest=False)")
            k_node = bound["k"]
            if isinstance(k_node, ast.Constant) and isinstance(k_node.value, bool):
                raise self.error(k_node, f"{spelled}()'s k must be an integer, not {k_node.value}")
            k = self.int_of(self.expr(k_node, env), k_node, f"{spelled}()'s k")
            if k < 0:
                raise self.error(k_node, f"{spelled}()'s k must be 0 or more, not {k}")
        axis_name = "axis" if any(p[0] == "axis" for p in params) else "dim"
        if name == "msort":
            axis = 0
        elif axis_name in bound:
            axis = self.static_axes(bound[axis_name], env, none=not torch, single=True)
        else:
            axis = -1
        x_node = bound["x"]
        x = self.expr(x_node, env)
        if isinstance(x, Poison):
            raise x.error
        self.require_tensor(x, x_node)
        if not isinstance(x, int) or self.plain(x):
            raise self.error(x_node, f"{spelled}() of a single number is not defined here",
                             f"{spelled}() takes an array of one dimension or more")
        if axis is None:  # np.sort(x, axis=None): the flattened x
            x = self.apply_op(ops.OPS["flatten"], [x], {"start_dim": 0, "end_dim": -1}, node)
            axis = 0
        static = symbolic.Static((axis, bool(descending), k))
        positions = self.graph.add("argsort", symbolic.argsort(placeholder(0), static), (x,),
                                   operands=(placeholder(0),), static=(static,),
                                   labels=frozenset({f"#{len(self.graph.values)}"}))
        if name == "argsort":
            return positions
        values = self.apply_op(ops.OPS["take_along_axis"], [x, positions], {"axis": axis}, node)
        if name == "msort" or not torch:
            return values
        return MaxResult((values, positions), f"{spelled}()")

    def extreme_position(self, name: str, node: ast.Call, env, receiver, prefix: str, spelled: str) -> int:
        """``np.argmax(x, axis=None, keepdims=False)``, ``torch.argmax(x, dim=None, keepdim=False)``,
        ``x.argmax(dim)`` and argmin: the first extreme element's position along the axis (of the
        flattened x without one), an integer array no gradient flows through."""
        numpy = receiver is None and prefix in ("np.", "numpy.", "")
        params = [("x", ("input", "a"), _REQUIRED), ("axis", ("dim",), None), ("keepdims", ("keepdim",), False),
                  ("out", (), None)]
        bound = self._bind_sorting(spelled, params, node, receiver, 2 if numpy else 3)
        if "out" in bound and not (isinstance(bound["out"], ast.Constant) and bound["out"].value is None):
            raise self.error(bound["out"], f"{spelled}()'s out= writes into an array, which a module does not do",
                             "use the result it returns")
        axis = None
        if "axis" in bound:
            axis = self.static_axes(bound["axis"], env, none=True, single=True)
        keepdims = self._sort_flag(bound, "keepdims", spelled)
        if axis is None and not numpy:
            keepdims = False  # PyTorch ignores keepdim without a dim
        x = self.expr(bound["x"], env)
        if isinstance(x, Poison):
            raise x.error
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], f"{spelled}()")
        return self.positions_of(name, x, axis, keepdims)

    def positions_of(self, name: str, x: int, axis, keepdims: bool) -> int:
        """The value of np.argmax (``name``) or np.argmin of x along axis."""
        static = symbolic.Static((axis, bool(keepdims)))
        head = getattr(symbolic, name)
        return self.graph.add(name, head(placeholder(0), static), (x,), operands=(placeholder(0),), static=(static,),
                              labels=frozenset({f"#{len(self.graph.values)}"}))

    def _bind_sorting(self, spelled: str, params, node: ast.Call, receiver, most: int) -> dict:
        names = [n if d is _REQUIRED else f"{n}={d!r}" for n, _, d in params]
        names = names[:most] + (["*"] if most < len(names) else []) + names[most:]
        signature = f"{spelled}({', '.join(names[1:] if receiver is not None else names)})"
        positional = ([receiver] if receiver is not None else []) + list(node.args)
        if len(positional) > most:
            own = receiver is not None  # a method's receiver is its first argument, not counted
            raise self.error(node, f"{spelled}() takes at most {most - own} positional arguments, "
                                   f"got {len(positional) - own}", f"signature: {signature}")
        bound = {p[0]: a for p, a in zip(params, positional)}
        for kw in node.keywords:
            param = next((p for p in params if kw.arg == p[0] or kw.arg in p[1]), None)
            if param is None:
                raise self.error(kw.value, f"{spelled}() got an unexpected keyword '{short(kw.arg)}'",
                                 f"signature: {signature}")
            if param[0] in bound:
                raise self.error(kw.value, f"{spelled}() got '{param[0]}' twice", f"signature: {signature}")
            bound[param[0]] = kw.value
        for pname, _, default in params:
            if default is _REQUIRED and pname not in bound:
                raise self.error(node, f"{spelled}() is missing its argument '{pname}'", f"signature: {signature}")
        return bound

    def _sort_flag(self, bound: dict, name: str, spelled: str, allow_none: bool = False):
        """A flag given as a constant (True or False; None where NumPy's default is None)."""
        node = bound.get(name)
        if node is None:
            return name in ("largest", "sorted")  # topk's flags default to True, the others to False
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or (allow_none and node.value is None)):
            return bool(node.value)
        raise self.error(node, f"{spelled}()'s {name} must be a constant True or False",
                         "which way a sort goes is fixed when the module is generated")
