"""Integers read off a value's shape when the module runs: ``x.shape[0]``, ``len(x)``,
``x.size``, ``x.ndim`` (and PyTorch's ``x.size(0)``, ``x.numel()``, ``x.dim()``).

Shapes are known only at run time, so a size is a value of the program, computed once from
the whole array (never per block: a block's shape is not the array's). It is piecewise
constant in its operand (no gradient flows through it) and a plain Python number, as a
constant is (a float in generated code, so helpers compute it as one): ``np.sum(x) / len(x)``
keeps x's dtype.

Its static operand says which integer: ``("shape", axis, rank)`` is ``x.shape[axis]``, where
``rank`` is the number of sizes a source unpacked (``n, d = x.shape``: the module checks that
x has that many dimensions, as Python's unpacking would) or None; ``("size",)`` is the count
of elements, ``("ndim",)`` the number of dimensions.
"""

from __future__ import annotations

from .. import symbolic as S
from . import OpSpec, Param, register
from .shapes import size_value


def _shape(shapes, static) -> tuple:
    size_value(shapes[0], static[0])  # raises where it does not fit (static[0]: the Static's value)
    return ()


register(OpSpec("size", (Param("x", aliases=("input", "a")), Param("what", "index")), "linalg",
                lambda x, static: S.size_of(x, static), (), head=S.size_of, rule=lambda ops, static: (None,),
                scalar=False, blockable=False, gradient="shaped", shape=_shape, sizes=True,
                doc="x.shape[i], len(x), x.size, x.ndim: an integer known when the module runs, no gradient"))


# An ``assert`` of the source on sizes (derivgen/frontend/assertions.py): checked when the
# module runs, before any value computed after it; it raises AssertionError with the
# source's message. It computes nothing and passes no gradient; the generated functions
# keep it as they keep their results. It reads shapes alone, as a size does (``sizes``): a
# function computed in blocks checks it before the loop, on the whole inputs.
register(OpSpec("check", kind="internal", head=S.check, rule=lambda ops, static: (None,) * len(ops),
                scalar=False, blockable=False, gradient="shaped", shape=lambda shapes, static: (), sizes=True,
                doc="assert on sizes: x.ndim == 2, x.shape == y.shape, len(x) == len(y); checked at run time"))
# A slice of a shape, one side of an assert's comparison (x.shape[1:] == w.shape): only there.
register(OpSpec("shape_part", kind="internal", head=S.shape_part, rule=lambda ops, static: (None,) * len(ops),
                scalar=False, blockable=False, gradient="shaped", shape=lambda shapes, static: (),
                doc="x.shape[start:stop:step], compared in an assert"))
