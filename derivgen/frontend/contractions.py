"""The calls of contractions (derivgen/ops/contractions.py) that take more reading than an
op's parameters: ``np.einsum(subscripts, *operands)`` and ``torch.einsum(equation, *operands)``
or of one list of them (``torch.einsum('ij,jk', [a, b])``), its subscripts a string literal;
and ``np.tensordot``'s axes (``torch.tensordot``'s dims): a count, or a pair of axis lists.
"""

from __future__ import annotations

import ast

from .. import ops
from ..ops.contractions import MAX_OPERANDS, SubscriptsError, einsum_subscripts
from .language import short
from .limits import MAX_AXES

_EINSUM_HINT = "write np.einsum('ij,jk->ik', a, b): the subscripts as a string, then the operands"
_AXES_HINT = "write axes=2 (a's last two axes against b's first two) or axes=([1], [0]) (the axes listed)"


class Contractions:
    """np.einsum's call, and np.tensordot's axes."""

    def einsum_call(self, node: ast.Call, env):
        spec = ops.OPS["einsum"]
        args = list(node.args)
        subscripts = args.pop(0) if args else None
        for kw in node.keywords:
            if kw.arg == "optimize":  # the order of the sums: the module keeps np.einsum's own
                if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, (bool, str))):
                    raise self.error(kw.value, "einsum()'s optimize must be True, False or a strategy's name",
                                     "it changes only the order of the sums; the module keeps np.einsum's own")
            else:
                raise self.error(kw.value, f"einsum() got an unexpected keyword '{short(str(kw.arg))}'", _EINSUM_HINT)
        if subscripts is None:
            raise self.error(node, "einsum() is missing its subscripts", _EINSUM_HINT)
        if not (isinstance(subscripts, ast.Constant) and isinstance(subscripts.value, str)):
            raise self.error(subscripts, "einsum()'s subscripts must be a string literal",
                             _EINSUM_HINT + " (the form of operands and lists of axis numbers is not read)")
        if len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple)):  # torch.einsum('ij,jk', [a, b])
            items = self.array_sequence(args[0], env, "einsum()")
            places = list(args[0].elts)
        else:
            items = []
            for arg in args:
                item = self.expr(arg, env)
                self.require_tensor(item, arg)
                items.append(item)
            places = args
        if not items:
            raise self.error(node, "einsum() needs at least one operand", _EINSUM_HINT)
        if len(items) > MAX_OPERANDS:
            raise self.error(places[MAX_OPERANDS], f"einsum() takes at most {MAX_OPERANDS} operands, got {len(items)}",
                             "contract some of them first, in an einsum of their own")
        try:
            normalised = einsum_subscripts(subscripts.value, len(items))
        except SubscriptsError as exc:
            raise self.error(subscripts, f"einsum(): {exc.message}", exc.hint) from None
        return self.apply_op(spec, items, {"subscripts": normalised}, node)

    def contraction_axes(self, node, env, what: str):
        """np.tensordot's axes: a count (a's last ones against b's first ones), or a pair: a's
        axes and b's, each an int or a list of them, as many on each side."""
        if not isinstance(node, (ast.Tuple, ast.List)):
            count = self.static_int(node, env, what)
            if not 0 <= count <= MAX_AXES:
                raise self.error(node, f"{what} must be between 0 and {MAX_AXES}, not {count}", _AXES_HINT)
            return count
        if len(node.elts) != 2:
            raise self.error(node, f"{what} must be a count or a pair: a's axes and b's, "
                                   f"not {len(node.elts)} items", _AXES_HINT)
        sides = []
        for side in node.elts:
            items = side.elts if isinstance(side, (ast.Tuple, ast.List)) else [side]
            axes = tuple(self.static_int(item, env, f"an axis of {what}") for item in items)
            if any(not -MAX_AXES <= a < MAX_AXES for a in axes):
                raise self.error(side, f"an axis of {what} is out of range",
                                 f"NumPy arrays have at most {MAX_AXES} dimensions")
            if len(set(axes)) != len(axes):
                raise self.error(side, f"{what} lists an axis twice", _AXES_HINT)
            sides.append(axes)
        if len(sides[0]) != len(sides[1]):
            raise self.error(node, f"{what} lists {len(sides[0])} axes of a and {len(sides[1])} of b",
                             "each axis of a is summed against one of b: as many on each side")
        return tuple(sides)
