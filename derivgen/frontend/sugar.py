"""Calls that are other ops written shorter, read as those ops: ``np.diff(x, n, axis)`` (and
``torch.diff(x, n, dim)``, ``x.diff()``) is ``x[1:] - x[:-1]`` along the axis, n times;
``np.outer(a, b)`` (``torch.outer``, ``a.outer(b)``) is ``ravel(a)[:, None] * ravel(b)[None, :]``;
``np.zeros_like(x)`` is zeros of x's shape and dtype (no gradient flows through it),
``np.ones_like(x)`` and ``np.full_like(x, v)`` those zeros plus 1 or the number v;
``np.trace(x, offset, axis1, axis2)`` (``torch.trace``, ``x.trace()``) the sum of ``np.diagonal``'s.

The index of a negative axis is written after an ellipsis (``x[..., 1:]`` for axis -1), so
no rank needs to be known; each difference is an op of the registry (an index, a subtraction),
with their rules and their reference kernels.
"""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder
from .language import Slices
from .limits import MAX_AXES

# The names a difference is spelled by: functions (after a prefix) and methods.
DIFF = "diff"
# The other calls read as other ops: their names (bare or after a prefix; outer as a method too).
SUGAR = ("outer", "zeros_like", "ones_like", "full_like", "trace", "pad", "rot90", "split", "array_split", "chunk",
         "hsplit", "vsplit", "dsplit", "unbind", "cross", "fmax", "fmin")
# The prefixes each is spelled with (default: NumPy's and PyTorch's modules).
SUGAR_PREFIXES = {"pad": ("np.", "numpy.", "F.", "torch.nn.functional."), "unbind": ("torch.",)}
# Methods read as other ops: PyTorch's a.outer(b), x.trace(), x.rot90(k, dims), x.split(sizes),
# x.chunk(k), x.hsplit(k), x.unbind(dim).
SUGAR_METHODS = ("outer", "trace", "rot90", "split", "chunk", "hsplit", "vsplit", "dsplit", "unbind", "cross")
# np.vsplit, np.hsplit, np.dsplit (and PyTorch's): np.split along an axis, for arrays of at
# least this many dimensions (np.hsplit of a 1-D array splits its only axis: refused when the
# module runs, as the axis would depend on the rank).
_SPLIT_AXES = {"vsplit": (0, 2), "hsplit": (1, 2), "dsplit": (2, 3)}
_MAX_PARTS = 256  # a split into more parts than this is refused: each part is a value
_MAX_PAD = 1 << 20  # a border wider than this is refused: the array it makes would not fit
_MAX_ORDER = 64  # n beyond this is refused: each difference is one more value


class Sugar:
    """Calls read as other ops."""

    def sugar_call(self, name: str, node: ast.Call, env, receiver: ast.expr | None = None, torch: bool = False):
        """np.outer, np.zeros_like, np.ones_like, np.full_like, np.trace, np.pad (F.pad where
        ``torch``), np.rot90 (SUGAR)."""
        if name == "pad":
            return self.pad_call(node, env, torch)
        if name == "rot90":
            return self.rot90_call(node, env, receiver, torch)
        if name in ("split", "array_split", "chunk", "hsplit", "vsplit", "dsplit"):
            return self.split_call(name, node, env, receiver, torch)
        if name == "unbind":
            return self.unbind_call(node, env, receiver)
        if name in ("fmax", "fmin"):
            return self.fmax_call(name, node, env, receiver)
        if name == "cross":
            return self.cross_call(node, env, receiver, torch)
        if name == "trace":  # np.trace(x, offset, axis1, axis2): the sum of np.diagonal's
            diagonal = self.call(ops.OPS["diagonal"], node, env, receiver)
            return self.apply_op(ops.OPS["sum"], [diagonal], {"axes": (-1,), "keepdims": False}, node)
        args = ([receiver] if receiver is not None else []) + list(node.args)
        keywords = {kw.arg: kw.value for kw in node.keywords}
        if name == "outer":
            names = ("a", "b")
            aliases = {"input": "a", "vec2": "b", "x1": "a", "x2": "b"}
        else:
            names = ("x", "fill_value") if name == "full_like" else ("x",)
            aliases = {"a": "x", "input": "x"}
        bound = dict(zip(names, args))
        if len(args) > len(names):
            raise self.error(node, f"{name}() takes {len(names)} argument{'s' if len(names) > 1 else ''}, got {len(args)}",
                             f"write {name}({', '.join(names)})")
        for key, value in keywords.items():
            if key == "dtype" and name != "outer":  # a floating dtype changes nothing, the module's is the inputs'
                self._check_float_dtype(value, env, name)
                continue
            key = aliases.get(key, key)
            if key not in names or key in bound:
                raise self.error(value, f"{name}() got an unexpected or repeated keyword '{key}'",
                                 f"write {name}({', '.join(names)})")
            bound[key] = value
        missing = [n for n in names if n not in bound]
        if missing:
            raise self.error(node, f"{name}() is missing its argument '{missing[0]}'", f"write {name}({', '.join(names)})")
        values = [self.expr(bound[n], env) for n in names]
        for value, n in zip(values, names):
            self.require_tensor(value, bound[n])
        if name == "outer":
            flat = [self.apply_op(ops.OPS["flatten"], [v], {"start_dim": 0, "end_dim": -1}, node)
                    for v in (self.as_value(v, bound[n], "outer()") for v, n in zip(values, names))]
            full = ("slice", None, None, None)
            column = self.apply_op(ops.OPS["getitem"], [flat[0]], {"index": (full, None)}, node)
            row = self.apply_op(ops.OPS["getitem"], [flat[1]], {"index": (None, full)}, node)
            return self.apply("mul", ops.OPERATORS["mul"], [column, row], node)
        x = self.as_value(values[0], bound["x"], f"{name}()")
        zeros = self.graph.add("zeros_like", symbolic.zeros_like(placeholder(0)), (x,), operands=(placeholder(0),))
        if name == "zeros_like":
            return zeros
        fill = sp.Integer(1) if name == "ones_like" else values[1]
        if name == "full_like" and isinstance(fill, int) and not self.plain(fill):
            raise self.error(bound["fill_value"], "full_like()'s fill_value must be a number",
                             "write x * 0 + v for an array v")
        return self.apply("add", ops.OPERATORS["add"], [zeros, fill], node)

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
        later, earlier = along(axis, ("slice", 1, None, None)), along(axis, ("slice", None, -1, None))
        for _ in range(order):
            value = self.apply("sub", ops.OPERATORS["sub"],
                               [self.apply_op(getitem, [value], {"index": later}, node),
                                self.apply_op(getitem, [value], {"index": earlier}, node)], node)
        return value


    def _sugar_args(self, name: str, node: ast.Call, receiver, params: tuple, aliases: dict, required: int = 1) -> dict:
        """A call's arguments by parameter name (``receiver`` first): an error names any
        argument too many, unknown or given twice, or a required one missing."""
        args = ([receiver] if receiver is not None else []) + list(node.args)
        signature = f"{name}({', '.join(params)})"
        if len(args) > len(params):
            raise self.error(node, f"{name}() takes at most {len(params)} arguments, got {len(args)}",
                             f"signature: {signature}")
        bound = dict(zip(params, args))
        for kw in node.keywords:
            key = aliases.get(kw.arg, kw.arg)
            if key not in params:
                raise self.error(kw.value, f"{name}() got an unexpected keyword '{kw.arg}'", f"signature: {signature}")
            if key in bound:
                raise self.error(kw.value, f"{name}() got '{key}' twice")
            bound[key] = kw.value
        for key in params[:required]:
            if key not in bound:
                raise self.error(node, f"{name}() is missing its argument '{key}'", f"signature: {signature}")
        return bound

    def _width(self, node, env, what: str) -> int:
        width = self.static_int(node, env, what)
        if width < 0:
            raise self.error(node, f"{what} must not be negative",
                             "a negative width crops: take a slice instead (x[1:-1])")
        if width > _MAX_PAD:
            raise self.error(node, f"{what} is too large (at most {_MAX_PAD})")
        return width

    def pad_call(self, node: ast.Call, env, torch: bool):
        """``np.pad(x, pad_width, mode="constant", constant_values=0)`` and PyTorch's
        ``F.pad(x, pad, mode="constant", value=0)`` (pairs from the last axis backwards)."""
        if torch:
            params, aliases, fill_name = ("x", "pad", "mode", "value"), {"input": "x"}, "value"
        else:
            params, aliases, fill_name = ("x", "pad_width", "mode", "constant_values"), {"array": "x"}, "constant_values"
        bound = self._sugar_args("pad", node, None, params, aliases, required=2)
        mode = bound.get("mode")
        if mode is not None and not (isinstance(mode, ast.Constant) and mode.value == "constant"):
            raise self.error(mode, "only pad's mode='constant' is supported",
                             "reflect, replicate and the other modes are not: join slices with np.concatenate")
        widths_node = bound[params[1]]
        if torch:
            if not isinstance(widths_node, (ast.Tuple, ast.List)) or not widths_node.elts or len(widths_node.elts) % 2:
                raise self.error(widths_node, "F.pad's pad is a tuple of (before, after) sizes, from the last dimension",
                                 "write F.pad(x, (1, 1)) or F.pad(x, (left, right, top, bottom))")
            if len(widths_node.elts) > 2 * MAX_AXES:
                raise self.error(widths_node, f"F.pad pads at most {MAX_AXES} dimensions")
            widths = tuple(self._width(e, env, "a pad size") for e in widths_node.elts)
        else:
            widths = self._pad_width(widths_node, env)
        fill = 0.0
        if bound.get(fill_name) is not None and not (isinstance(bound[fill_name], ast.Constant)
                                                   and bound[fill_name].value is None):
            value = self.expr(bound[fill_name], env)
            if not isinstance(value, sp.Number) or not value.is_finite:
                raise self.error(bound[fill_name], f"pad's {fill_name} must be a finite number known at compile time",
                                 "pad with 0 and add the values where you need them")
            fill = float(value)
        x = self.expr(bound["x"], env)
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], "pad()")
        return self.apply_op(ops.OPS["pad"], [x], {"widths": widths, "value": fill, "last": torch}, node)

    def _pad_width(self, node, env):
        """np.pad's pad_width: an int, a pair (before, after), or a pair per axis."""
        hint = "write 1, (1, 2) or ((1, 2), (0, 0)): sizes before and after, per axis or for all"
        if not isinstance(node, (ast.Tuple, ast.List)):
            return self._width(node, env, "pad's pad_width")
        if not node.elts:
            raise self.error(node, "pad's pad_width is empty", hint)
        if all(isinstance(e, (ast.Tuple, ast.List)) for e in node.elts):
            if len(node.elts) > MAX_AXES:
                raise self.error(node, f"pad's pad_width pads at most {MAX_AXES} dimensions")
            pairs = []
            for e in node.elts:
                if len(e.elts) not in (1, 2):
                    raise self.error(e, "each of pad's widths is (before, after)", hint)
                pair = tuple(self._width(w, env, "a pad width") for w in e.elts)
                pairs.append(pair * 2 if len(pair) == 1 else pair)
            return tuple(pairs)
        if any(isinstance(e, (ast.Tuple, ast.List)) for e in node.elts) or len(node.elts) > 2:
            raise self.error(node, "pad's pad_width is an int, a pair, or one pair per axis", hint)
        pair = tuple(self._width(e, env, "a pad width") for e in node.elts)
        return pair * 2 if len(pair) == 1 else pair

    def split_call(self, name: str, node: ast.Call, env, receiver, torch: bool):
        """``np.split(x, sections or indices, axis=0)``, ``np.array_split``, PyTorch's
        ``torch.split(x, sizes, dim=0)`` (a list of sizes) and ``torch.chunk(x, chunks, dim=0)``
        (``x.split``, ``x.chunk``): a tuple of parts, each an op of its own
        (``split_part``); its gradient writes the adjoint back where the part was."""
        if name == "chunk":
            params, aliases = ("x", "chunks", "dim"), {"input": "x", "axis": "dim"}
        elif name in _SPLIT_AXES:
            params, aliases = ("x", "indices_or_sections"), {"ary": "x", "input": "x"}
        elif torch:
            params, aliases = ("x", "split_size_or_sections", "dim"), {"tensor": "x", "axis": "dim"}
        else:
            params, aliases = ("x", "indices_or_sections", "axis"), {"ary": "x"}
        bound = self._sugar_args(name, node, receiver, params, aliases, required=2)
        if name in _SPLIT_AXES:
            axis, rank = _SPLIT_AXES[name]
        else:
            axis = 0 if params[2] not in bound else self.static_axes(bound[params[2]], env, none=False, single=True)
        how = arg_node = bound[params[1]]
        what = f"{name}()'s {params[1]}"
        if isinstance(arg_node, (ast.Tuple, ast.List)):
            if name == "chunk":
                raise self.error(arg_node, f"{what} is one integer, the number of chunks")
            items = tuple(self.static_int(e, env, what) for e in arg_node.elts)
            if torch and any(n < 0 for n in items):
                raise self.error(arg_node, f"{what} must not be negative")
            kind, arg, count = ("sizes" if torch else name), items, len(items) if torch else len(items) + 1
            if name in _SPLIT_AXES:  # at indices, in NumPy and PyTorch alike
                kind, count = "split", len(items) + 1
            if name == "array_split" and not torch:
                kind = "split"  # at indices, np.array_split cuts as np.split does
        else:
            number = self.static_int(how, env, what)
            if name in _SPLIT_AXES:  # equal parts, in NumPy and PyTorch alike
                torch = False
            if torch and name == "split":
                raise self.error(how, "torch.split(x, size) makes as many parts as the size fits, known only "
                                      "when the module runs", "give the sizes as a list, torch.split(x, [2, 3]), "
                                      "or the number of parts: torch.chunk(x, k)")
            if number <= 0:
                raise self.error(how, f"{what} must be a positive integer")
            kind, arg, count = ("chunk" if name == "chunk" else "split" if name in _SPLIT_AXES else name), number, number
        if count > _MAX_PARTS:
            raise self.error(how, f"{name}() would make {count} parts (at most {_MAX_PARTS})")
        x = self.expr(bound["x"], env)
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], f"{name}()")
        if name in _SPLIT_AXES:  # NumPy's ValueError for an array of too few dimensions
            hint = "; for a 1-D array write np.split(x, n)" if name == "hsplit" else ""
            self.add_check(">=", symbolic.size_of(placeholder(0), symbolic.Static(("ndim",))), sp.Integer(rank), [x],
                           f"{name}() splits arrays of {rank} or more dimensions along axis {axis}{hint}",
                           "ValueError")
        spec = ops.OPS["split_part"]
        return tuple(self.apply_op(spec, [x], {"kind": kind, "arg": arg, "i": i, "axis": axis}, node)
                     for i in range(count))

    def fmax_call(self, name: str, node: ast.Call, env, receiver):
        """``np.fmax(a, b)`` / ``np.fmin`` (``torch.fmax``): maximum (minimum) where neither is
        nan, the other where one is (nan where both are), each element's gradient going to the
        one selected (maximum's convention where they are equal)."""
        bound = self._sugar_args(name, node, receiver, ("x1", "x2"), {"input": "x1", "other": "x2", "a": "x1",
                                                                      "b": "x2"}, 2)
        a, b = (self._tensor(bound[k], env) for k in ("x1", "x2"))  # arrays or numbers
        extreme = self.apply_op(ops.OPS["maximum" if name == "fmax" else "minimum"], [a, b], {}, node)
        where = ops.OPS["where"]
        a_nan, b_nan = (self.cond(sp.Ne, [v, v], node) for v in (a, b))
        inner = self.apply_op(where, [a_nan, b, extreme], {}, node)
        return self.apply_op(where, [b_nan, a, inner], {}, node)

    def unbind_call(self, node: ast.Call, env, receiver):
        """``torch.unbind(x, dim=0)`` (``x.unbind(dim)``): x's slices along dim, to unpack
        (``a, b, c = x.unbind(-1)``: the module checks the count) or index."""
        bound = self._sugar_args("unbind", node, receiver, ("x", "dim"), {"input": "x", "axis": "dim"}, 1)
        axis = 0 if "dim" not in bound else self.static_axes(bound["dim"], env, none=False, single=True)
        x = self.as_value(self._tensor(bound["x"], env), bound["x"], "unbind()")
        return Slices(x, axis, f"the slices of unbind(dim={axis})")

    def cross_call(self, node: ast.Call, env, receiver, torch: bool):
        """``np.cross(a, b, axis=-1)`` (``torch.cross(a, b, dim)``, ``a.cross(b, dim)``) of vectors
        of three components along the axis: each component a difference of products, the three
        stacked along the axis again."""
        if torch:
            bound = self._sugar_args("cross", node, receiver, ("a", "b", "dim"), {"input": "a", "other": "b"}, 2)
            if "dim" not in bound:
                raise self.error(node, "torch.cross() without dim crosses along the first axis of size 3",
                                 "give the axis: torch.cross(a, b, dim=-1)")
            axis_node = bound["dim"]
        else:
            bound = self._sugar_args("cross", node, receiver, ("a", "b", "axisa", "axisb", "axisc", "axis"), {}, 2)
            for key in ("axisa", "axisb", "axisc"):
                if key in bound:
                    raise self.error(bound[key], f"cross()'s {key}= is not supported", "use axis= for all three")
            axis_node = bound.get("axis")
        axis = -1 if axis_node is None else self.static_axes(axis_node, env, none=False, single=True)
        a, b = (self.as_value(self._tensor(bound[k], env), bound[k], "cross()") for k in ("a", "b"))
        getitem, mul, sub = ops.OPS["getitem"], ops.OPERATORS["mul"], ops.OPERATORS["sub"]
        parts = [[self.apply_op(getitem, [v], {"index": along(axis, i)}, node) for i in range(3)] for v in (a, b)]
        (a0, a1, a2), (b0, b1, b2) = parts

        def minus(p, q, r, t):
            return self.apply("sub", sub, [self.apply("mul", mul, [p, q], node), self.apply("mul", mul, [r, t], node)],
                              node)
        components = [minus(a1, b2, a2, b1), minus(a2, b0, a0, b2), minus(a0, b1, a1, b0)]
        return self.apply_op(ops.OPS["stack"], components, {"axis": axis}, node)

    def _tensor(self, node, env):
        value = self.expr(node, env)
        self.require_tensor(value, node)
        return value

    def rot90_call(self, node: ast.Call, env, receiver, torch: bool):
        """``np.rot90(m, k=1, axes=(0, 1))`` (``torch.rot90(x, k, dims)``, ``x.rot90(k, dims)``):
        flips and an exchange of the two axes, as NumPy defines it."""
        bound = self._sugar_args("rot90", node, receiver, ("x", "k", "axes"), {"m": "x", "input": "x", "dims": "axes"})
        k = 1 if "k" not in bound else self.static_int(bound["k"], env, "rot90()'s k")
        axes = (0, 1) if "axes" not in bound else self.static_axes(bound["axes"], env, none=False)
        if not isinstance(axes, tuple) or len(axes) != 2:
            raise self.error(bound.get("axes", node), "rot90()'s axes are two different axes", "write axes=(0, 1)")
        x = self.expr(bound["x"], env)
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], "rot90()")
        a, b = axes
        k %= 4
        flip = ops.OPS["flip"]
        swap = ops.OPS["swapaxes"]
        if k == 0:
            return x
        if k == 2:
            return self.apply_op(flip, [x], {"axis": (a, b)}, node)
        if k == 1:  # the flip along the second axis, then the two exchanged
            flipped = self.apply_op(flip, [x], {"axis": b}, node)
            return self.apply_op(swap, [flipped], {"axis1": a, "axis2": b}, node)
        swapped = self.apply_op(swap, [x], {"axis1": a, "axis2": b}, node)
        return self.apply_op(flip, [swapped], {"axis": b}, node)


def along(axis: int, item) -> tuple:
    """An index applying ``item`` to one axis: x[:, :, item] for axis 2, x[..., item, :] for -2."""
    full = ("slice", None, None, None)
    if axis >= 0:
        return (full,) * axis + (item,)
    return (Ellipsis, item) + (full,) * (-axis - 1)
