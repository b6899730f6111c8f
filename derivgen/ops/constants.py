"""Arrays of constants: ``np.zeros(shape)``, ``np.ones``, ``np.full(shape, v)`` (and PyTorch's
``torch.zeros(3, 4)``), ``np.eye(n, m, k)`` (``np.identity``, ``torch.eye``) and
``np.linspace(start, stop, num)`` (``torch.linspace``) and ``np.arange(start, stop, step)``
(``torch.arange``) used as numbers (as positions in an index it is read by
derivgen/frontend/positions.py).

No gradient flows through them. Their sizes are integers, or sizes read off one array when
the module runs (``np.eye(x.shape[1])``, ``np.zeros(len(t))``, ``np.zeros(x.shape)``): that
array is then their operand, and a size in their Static operand is ("of", what), ``what``
as derivgen/ops/sizes.py reads it; a whole shape read off it is the string "like". NumPy
makes them float64 arrays; a module computes in its inputs' dtype (``OpSpec.float64``).
"""

from __future__ import annotations

from .. import symbolic as S
from . import OpSpec, register, shapes

# The ops of this module: their operands are read for their shapes alone.
CONSTANT_ARRAYS = ("full", "eye", "linspace", "arange")


def arange_arguments(start, stop: str, step) -> list[str]:
    """np.arange's arguments as written, the defaults left out: [stop], [start, stop] or all
    three (``stop`` already printed)."""
    if start == 0 and step == 1:
        return [stop]
    return [repr(start), stop] + ([] if step == 1 else [repr(step)])


def _none(ops, static):  # a constant: no operand gets a gradient
    return (None,) * len(ops)


register(OpSpec("full", kind="linalg", head=S.filled, rule=_none, scalar=False, blockable=False,
                gradient="shaped", shape=shapes.filled, zero_d=True, float64=True,
                doc="np.zeros(shape), np.ones(shape), np.full(shape, v), torch.zeros(3, 4): one number everywhere"))
register(OpSpec("eye", kind="linalg", head=S.eye, rule=_none, scalar=False, blockable=False, gradient="shaped",
                shape=shapes.eye, zero_d=True, float64=True,
                doc="np.eye(n, m=None, k=0), np.identity(n), torch.eye(n, m): ones on the k-th diagonal"))
register(OpSpec("linspace", kind="linalg", head=S.linspace, rule=_none, scalar=False, blockable=False,
                gradient="shaped", shape=shapes.linspace, zero_d=True, float64=True,
                doc="np.linspace(start, stop, num=50, endpoint=True), torch.linspace(start, end, steps)"))
register(OpSpec("arange", kind="linalg", head=S.arange, rule=_none, scalar=False, blockable=False,
                gradient="shaped", shape=shapes.arange, zero_d=True, float64=True,
                doc="np.arange(start, stop, step), torch.arange(start, end, step): start + i * step, "
                    "ceil((stop - start) / step) of them"))
