"""Scans: ``np.cumsum(x, axis)`` (``torch.cumsum(x, dim)``, ``x.cumsum(axis)``).

Its operand, then a Static operand (axis; None: of the flattened x). The adjoint of running
sums is the running sums of the adjoint taken from the other end: ``flip(cumsum(flip(G)))``
along the axis, reshaped back to x's shape where x was flattened.
"""

from __future__ import annotations

from .. import symbolic as S
from . import SHAPE, G, OpSpec, Param, register, shapes


def _cumsum_rule(ops, static):
    axis = static[0].value[0]
    along = S.Static((axis,))
    back = S.flip(S.cumsum(S.flip(G, along), along), along)
    return (back if axis is not None else S.reshape_to(back, SHAPE),)


register(OpSpec("cumsum", (Param("x", aliases=("input", "a")), Param("axis", "axis1", None, ("dim",))), "linalg",
                lambda x, static: S.cumsum(x, static), ("cumsum",), head=S.cumsum, rule=_cumsum_rule,
                numpy="cumsum", scalar=False, blockable=False, gradient="shaped", shape=shapes.cumsum,
                zero_d=False, promotes=1,
                doc="running sums along an axis (of the flattened x where none is given): np.cumsum, torch.cumsum"))
