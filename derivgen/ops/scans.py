"""Scans, products and sorting: ``np.cumsum`` and ``np.cumprod`` (``torch.cumsum``,
``x.cumprod(axis)``), ``np.prod`` (``torch.prod``, ``x.prod()``), and the positions that sort
an array (``argsort``, no gradient), which ``np.sort`` / ``torch.sort`` / ``torch.topk`` read
their values with (derivgen/frontend/sorting.py).

A scan's operands: x, then a Static operand (axis; None: of the flattened x). The adjoint of
running sums is the running sums of the adjoint taken from the other end:
``flip(cumsum(flip(G)))`` along the axis, reshaped back to x's shape where x was flattened.

Products never divide by x, so their gradients are exact where factors are 0:

- ``prod(x)``'s gradient at an element is the product of the others: the running product of
  the elements before it times that of the elements after it (each a cumprod of x or of x
  flipped, moved one place by ``shift`` with a 1 coming in). Over several axes it is that
  product along the last axis times the product of the others over the remaining axes of
  ``prod(x, last, keepdims=True)``; over every axis, that of the flattened x.
- ``cumprod(x)``'s is ``E[j] * R[j]``: E the exclusive running product (the value moved one
  place, a 1 coming in), R the reverse linear recurrence ``R[j] = G[j] + x[j+1] * R[j+1]``
  (``linrec``), the sum over the later outputs of their adjoint times the factors after j.
- ``linrec``'s own gradient is a linrec the other way (its adjoint recurrence) and, for the
  coefficients, that times the value one place back; ``shift``'s is a shift back. So every
  head here has a rule written in heads that have one, and second derivatives need no more.
"""

from __future__ import annotations

import sympy as sp

from .. import symbolic as S
from . import OUT, SHAPE, G, OpSpec, Param, register, shapes

_X = Param("x", aliases=("input", "a"))


def _cumsum_rule(ops, static):
    axis = static[0].value[0]
    along = S.Static((axis,))
    back = S.flip(S.cumsum(S.flip(G, along), along), along)
    return (back if axis is not None else S.reshape_to(back, SHAPE),)


register(OpSpec("cumsum", (_X, Param("axis", "axis1", None, ("dim",))), "linalg",
                lambda x, static: S.cumsum(x, static), ("cumsum",), head=S.cumsum, rule=_cumsum_rule,
                numpy="cumsum", scalar=False, blockable=False, gradient="shaped", shape=shapes.cumsum,
                zero_d=False, promotes=1,
                doc="running sums along an axis (of the flattened x where none is given): np.cumsum, torch.cumsum"))


def _shifted(x, axis: int, step: int, fill: int):
    return S.shift(x, S.Static((axis, step, fill)))


def _others_along(x, axis: int):
    """The product of the other elements along one axis, at each element: the running
    product of those before it times that of those after it."""
    along = S.Static((axis,))
    before = _shifted(S.cumprod(x, along), axis, 1, 1)
    after = S.flip(_shifted(S.cumprod(S.flip(x, along), along), axis, 1, 1), along)
    return before * after


def _others(x, axes: tuple):
    """The product of the other elements of the axes reduced, at each element."""
    *rest, last = axes
    along = _others_along(x, last)
    if not rest:
        return along
    return along * _others(S.reduce_prod(x, sp.Integer(1), sp.Integer(last)), tuple(rest))


def _prod_rule(ops, static):
    axes = tuple(int(a) for a in static[1:])
    if axes:
        return (S.expand_reduced(G, *static) * _others(ops[0], axes),)
    # every element: the others of the flattened x, times G (one number), in x's shape
    return (S.reshape_to(S.expand_reduced(G, *static) * _others_along(S.flatten(ops[0], S.Static((0, -1))), 0),
                         SHAPE),)


_REDUCE = (_X, Param("axis", "axis", None, ("dim",)), Param("keepdims", "flag", False, ("keepdim",)))
register(OpSpec("prod", _REDUCE, "reduction",
                lambda x, keepdims, axes: S.reduce_prod(x, sp.Integer(int(keepdims)), *axes), ("prod",),
                head=S.reduce_prod, rule=_prod_rule, numpy="prod", gradient="expanded", promotes=1,
                note="d prod(x) / dx[i] is the product of the other elements (exact where some are 0)",
                doc="the product over axes: np.prod, torch.prod, x.prod()"))


def _cumprod_rule(ops, static):
    axis = static[0].value[0]
    x, along = (ops[0], axis) if axis is not None else (S.flatten(ops[0], S.Static((0, -1))), 0)
    before = _shifted(OUT, along, 1, 1)  # the product of the elements before each
    later = S.linrec(_shifted(x, along, -1, 0), G, S.Static((along, 1)))
    return (before * later if axis is not None else S.reshape_to(before * later, SHAPE),)


register(OpSpec("cumprod", (_X, Param("axis", "axis1", None, ("dim",))), "linalg",
                lambda x, static: S.cumprod(x, static), ("cumprod",), head=S.cumprod, rule=_cumprod_rule,
                numpy="cumprod", scalar=False, blockable=False, gradient="shaped", shape=shapes.cumsum,
                zero_d=False, promotes=1,
                note="running products' gradient: a reverse recurrence over the later factors, never x divided out",
                doc="running products along an axis (of the flattened x where none is given): np.cumprod, "
                    "torch.cumprod"))


# ---- their gradients' plumbing ---------------------------------------------------------------
def _shift_rule(ops, static):  # linear (the fill is a constant): the adjoint moved back
    axis, step, _ = static[0].value
    return (_shifted(G, axis, -step, 0),)


register(OpSpec("shift", kind="internal", head=S.shift, helper="shift", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.first, rule=_shift_rule))


def _linrec_rule(ops, static):
    axis, reverse = static[0].value
    step = 1 if reverse else -1  # forward: the coefficient a[j + 1] multiplies the adjoint of y[j + 1]
    back = S.linrec(_shifted(ops[0], axis, step, 0), G, S.Static((axis, int(not reverse))))
    return (back * _shifted(OUT, axis, -step, 0), back)


register(OpSpec("linrec", kind="internal", head=S.linrec, helper="linrec", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.first, rule=_linrec_rule))
# The position of the largest (smallest) element: integers, through which no gradient flows;
# as numbers (np.argmax(x) * 0.5) they take the inputs' dtype, as constants do (float64).
for _name in ("argmax", "argmin"):
    register(OpSpec(_name, kind="linalg", head=getattr(S, _name), scalar=False, blockable=False, gradient="shaped",
                    shape=shapes.arg_extreme, rule=lambda ops, static: (None,), float64=True,
                    doc=f"np.{_name}(x, axis=None, keepdims=False), torch.{_name}(x, dim, keepdim): "
                        "integer positions, no gradient"))
# Positions used as numbers (np.argmax(x, 1) * 0.5, np.sum(idx)): the same values as floats, so
# that no helper meets an integer array (one written over in place, exp's shift); float64, as
# constants are, and cast to the inputs' dtype where a result is.
register(OpSpec("as_numbers", kind="internal", head=S.as_numbers, numpy="{np}.asarray({0}, dtype={np}.float64)",
                scalar=False, blockable=False, gradient="shaped", shape=shapes.first, float64=True,
                rule=lambda ops, static: (None,)))
# The positions that sort x along an axis: integers, through which no gradient flows.
register(OpSpec("argsort", kind="internal", head=S.argsort, helper="argsort", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.argsort, rule=lambda ops, static: (None,), float64=True))
