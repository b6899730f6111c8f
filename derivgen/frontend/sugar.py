"""Calls that are other ops written shorter, read as those ops: ``np.diff(x, n, axis)`` (and
``torch.diff(x, n, dim)``, ``x.diff()``) is ``x[1:] - x[:-1]`` along the axis, n times.

The index of a negative axis is written after an ellipsis (``x[..., 1:]`` for axis -1), so
no rank needs to be known; each difference is an op of the registry (an index, a subtraction),
with their rules and their reference kernels.
"""

from __future__ import annotations

import ast

from .. import ops
from .limits import MAX_AXES

# The names a difference is spelled by: functions (after a prefix) and methods.
DIFF = "diff"
_MAX_ORDER = 64  # n beyond this is refused: each difference is one more value


class Sugar:
    """Calls read as other ops."""

    def diff_call(self, node: ast.Call, env, receiver: ast.expr | None):
        """``np.diff(a, n=1, axis=-1)``, ``torch.diff(input, n=1, dim=-1)``, ``x.diff(...)``."""
        params = ["x", "n", "axis"]
        args = ([receiver] if receiver is not None else []) + list(node.args)
        if len(args) > len(params):
            raise self.error(node, f"diff() takes at most {len(params)} arguments, got {len(args)}",
                             "signature: diff(x, n=1, axis=-1)")
        bound = dict(zip(params, args))
        for kw in node.keywords:
            name = {"a": "x", "input": "x", "dim": "axis"}.get(kw.arg, kw.arg)
            if name in ("prepend", "append"):
                raise self.error(kw.value, f"diff()'s {kw.arg}= is not supported",
                                 "join the values first, or subtract the ends yourself")
            if name not in params:
                raise self.error(kw.value, f"diff() got an unexpected keyword '{kw.arg}'",
                                 "signature: diff(x, n=1, axis=-1)")
            if name in bound:
                raise self.error(kw.value, f"diff() got '{name}' twice")
            bound[name] = kw.value
        if "x" not in bound:
            raise self.error(node, "diff() is missing its argument 'x'", "signature: diff(x, n=1, axis=-1)")
        order = 1 if "n" not in bound else self.static_int(bound["n"], env, "diff()'s n")
        if not 0 <= order <= _MAX_ORDER:
            raise self.error(bound["n"], f"diff()'s n must be between 0 and {_MAX_ORDER}, not {order}")
        axis = -1 if "axis" not in bound else self.static_int(bound["axis"], env, "diff()'s axis")
        if not -MAX_AXES <= axis < MAX_AXES:
            raise self.error(bound["axis"], f"axis {axis} is out of range",
                             f"NumPy arrays have at most {MAX_AXES} dimensions")
        value = self.expr(bound["x"], env)
        self.require_tensor(value, bound["x"])
        if not isinstance(value, int) or self.plain(value):
            raise self.error(bound["x"], "diff() of a single number is not defined",
                             "diff() takes an array of one dimension or more")
        getitem = ops.OPS["getitem"]
        later, earlier = _along(axis, ("slice", 1, None, None)), _along(axis, ("slice", None, -1, None))
        for _ in range(order):
            value = self.apply("sub", ops.OPERATORS["sub"],
                               [self.apply_op(getitem, [value], {"index": later}, node),
                                self.apply_op(getitem, [value], {"index": earlier}, node)], node)
        return value


def _along(axis: int, item) -> tuple:
    """An index applying ``item`` to one axis: x[:, :, item] for axis 2, x[..., item, :] for -2."""
    full = ("slice", None, None, None)
    if axis >= 0:
        return (full,) * axis + (item,)
    return (Ellipsis, item) + (full,) * (-axis - 1)
