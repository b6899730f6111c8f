"""Calls that make arrays of constants (derivgen/ops/constants.py): ``np.zeros(shape)``,
``np.ones``, ``np.full(shape, v)``, ``np.eye(n, m, k)``, ``np.identity(n)``,
``np.linspace(start, stop, num)``, and PyTorch's ``torch.zeros(3, 4)`` (sizes as several
arguments or one tuple), ``torch.full``, ``torch.eye(n, m)``, ``torch.linspace(start, end,
steps)``.

A size is an integer known now, or a size read off an array as it is (``x.shape[1]``,
``len(t)``, ``x.size``; ``x.shape`` for a whole shape), all of them off one array, which
becomes the constant's operand. ``np.empty`` is refused: its values are whatever memory held.
"""

from __future__ import annotations

import ast
import math

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder
from .language import Poison
from .limits import MAX_AXES
from .sizes import Shape

# The calls read here (bare, or after np., numpy. or torch.).
CONSTANT_ARRAYS = ("zeros", "ones", "full", "eye", "identity", "linspace", "empty")
_MAX_ELEMENTS = 1 << 26  # a constant array of more elements than this (at compile time) is refused
_SIZE_HINT = "write an integer, or a size read off an array as it is: x.shape[0], len(x)"


class ConstantArrays:
    """Arrays of constants."""

    def constant_array(self, name: str, node: ast.Call, env, torch: bool):
        if name == "empty":
            raise self.error(node, "np.empty() holds whatever the memory held, so its values are not defined",
                             "write np.zeros(shape) or np.full(shape, value)")
        keywords = {}
        for kw in node.keywords:
            if kw.arg == "dtype":
                self._check_float_dtype(kw.value, env, name)
                continue
            if kw.arg in ("device", "requires_grad", "layout", "like", "order"):
                raise self.error(kw.value, f"{name}()'s {kw.arg}= is not supported",
                                 "a module makes its arrays in NumPy, of the inputs' dtype")
            keywords[kw.arg] = kw.value
        self._base = None  # the array sizes are read off
        if name in ("zeros", "ones", "full"):
            return self._filled(name, node, keywords, env, torch)
        if name in ("eye", "identity"):
            return self._eye(name, node, keywords, env, torch)
        return self._linspace(node, keywords, env, torch)

    def _constant_args(self, name, node, keywords, params, aliases, required, args=None) -> dict:
        args = node.args if args is None else args
        bound = dict(zip(params, args))
        signature = f"{name}({', '.join(params)})"
        if len(args) > len(params):
            raise self.error(args[len(params)], f"{name}() takes at most {len(params)} "
                             f"argument{'s' if len(params) > 1 else ''}",
                             f"signature: {signature}")
        for key, value in keywords.items():
            key = aliases.get(key, key)
            if key not in params or key in bound:
                raise self.error(value, f"{name}() got an unexpected or repeated keyword '{key}'",
                                 f"signature: {signature}")
            bound[key] = value
        for key in params[:required]:
            if key not in bound:
                raise self.error(node, f"{name}() is missing its argument '{key}'", f"signature: {signature}")
        return bound

    def _constant_size(self, node, env, what: str):
        """An integer >= 0, or ("of", what) read off the array self._base (set by the first)."""
        value = self.expr(node, env)
        if isinstance(value, Poison):
            raise value.error
        if isinstance(value, int) and self.plain(value) and self.graph[value].op == "size":
            return self._size_read(value, node, what), self._base
        if isinstance(value, int) and self.plain(value):
            raise self.error(node, f"{what} must be a size read off an array as it is, or an integer known now",
                             _SIZE_HINT)
        number = self.int_of(value, node, what)
        if number < 0:
            raise self.error(node, f"{what} cannot be negative ({number})")
        return number, None

    def _size_read(self, vid: int, node, what: str) -> tuple:
        """("of", what it reads) of a size value read off the array self._base (set by the first)."""
        size = self.graph[vid]
        kind = size.static[0].value
        if kind[0] == "ndim":
            raise self.error(node, f"{what} must be a size, not a count of dimensions", _SIZE_HINT)
        self._same_base(size.args[0], node)
        return ("of", kind)

    def _same_base(self, base: int, node) -> int:
        if self._base is not None and self._base != base:
            raise self.error(node, "the sizes of a constant array are read off one array, and these are off two",
                             "make the array of one array's sizes, or broadcast it against the other")
        self._base = base
        return base

    def _shape_argument(self, node, env, name: str):
        """A shape: an int, a tuple or list of sizes, or x.shape (returned as "like")."""
        value = self.expr(node, env) if not isinstance(node, (ast.Tuple, ast.List)) else None
        if isinstance(value, Shape):
            self._same_base(value.of, node)
            return "like"
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        if len(items) > MAX_AXES:
            raise self.error(node, f"a shape has at most {MAX_AXES} sizes, got {len(items)}")
        return tuple(self._constant_size(item, env, f"{name}()'s size")[0] for item in items)

    def _constant_value(self, expr, operands, static, node, what: str):
        sizes = [s for s in (static if isinstance(static, tuple) else ()) if isinstance(s, int)]
        count = 1
        for s in sizes:
            count *= s
        if count > _MAX_ELEMENTS:
            raise self.error(node, f"{what} of {count} elements is too large (at most {_MAX_ELEMENTS})")
        args = (self._base,) if self._base is not None else ()
        return self.graph.add(what, expr, args, operands=operands,
                              static=(expr.args[-1],), labels=frozenset({f"#{len(self.graph.values)}"}))

    def _filled(self, name, node, keywords, env, torch):
        params = ("shape", "fill_value") if name == "full" else ("shape",)
        if not torch:  # NumPy's dtype may be written in place (np.zeros(3, np.float32))
            params += ("dtype",)
        sizes = None
        if torch and name != "full" and len(node.args) > 1:  # torch.zeros(3, 4): the sizes as arguments
            sizes = node.args
        required = 0 if sizes else 2 if name == "full" else 1
        bound = self._constant_args(name, node, keywords, params, {"size": "shape"}, required, [] if sizes else None)
        if "dtype" in bound:
            self._check_float_dtype(bound["dtype"], env, name)
        if sizes is None and "shape" not in bound:
            raise self.error(node, f"{name}() is missing its argument 'shape'", f"signature: {name}(shape)")
        shape = (self._shape_argument(bound["shape"], env, name) if sizes is None
                 else tuple(self._constant_size(item, env, f"{name}()'s size")[0] for item in sizes))
        if len(shape) > MAX_AXES:
            raise self.error(node, f"a shape has at most {MAX_AXES} sizes, got {len(shape)}")
        value = {"zeros": 0.0, "ones": 1.0}.get(name)
        if value is None:
            fill = self.expr(bound["fill_value"], env)
            if not isinstance(fill, sp.Number) or not fill.is_finite:
                raise self.error(bound["fill_value"], "full()'s fill_value must be a finite number known now",
                                 "write np.zeros(shape) + v for a value v")
            value = float(fill)
        operands = (placeholder(0),) if self._base is not None else ()
        static = symbolic.Static((shape, value))
        return self._constant_value(symbolic.filled(*operands, static), operands, shape, node, "full")

    def _eye(self, name, node, keywords, env, torch):
        if name == "identity":
            bound = self._constant_args(name, node, keywords, ("n",), {}, 1)
            bound["M"] = None
        else:
            params = ("N", "M") if torch else ("N", "M", "k")
            bound = self._constant_args(name, node, keywords, params, {"n": "N", "m": "M"}, 1)
        n = self._constant_size(bound.get("N", bound.get("n")), env, f"{name}()'s size")[0]
        m = None
        if bound.get("M") is not None and not (isinstance(bound["M"], ast.Constant) and bound["M"].value is None):
            m = self._constant_size(bound["M"], env, f"{name}()'s size")[0]
        k = 0 if bound.get("k") is None else self.static_int(bound["k"], env, "eye()'s k")
        operands = (placeholder(0),) if self._base is not None else ()
        static = symbolic.Static((n, m, k))
        return self._constant_value(symbolic.eye(*operands, static), operands, (n, n if m is None else m), node, "eye")

    def arange_numbers(self, node: ast.Call, env, torch: bool):
        """``np.arange(stop)``, ``np.arange(start, stop, step)`` (``torch.arange(start, end, step)``):
        start + i * step for i below ceil((stop - start) / step). start and step are numbers known
        now, stop too or a size read off an array as it is. Returns (the value, (start, stop, step),
        whether the numbers are integers, as NumPy's int64 arange)."""
        keywords = {}
        integer_dtype = None
        for kw in node.keywords:
            if kw.arg == "dtype":
                integer_dtype = self._arange_dtype(kw.value, env)
                continue
            if kw.arg in ("device", "requires_grad", "layout", "like", "out", "pin_memory"):
                raise self.error(kw.value, f"arange()'s {kw.arg}= is not supported",
                                 "a module makes its arrays in NumPy, of the inputs' dtype")
            keywords[kw.arg] = kw.value
        stop_name = "end" if torch else "stop"
        params = ("start", stop_name, "step") if len(node.args) > 1 else (stop_name, "step", "start")
        aliases = {"stop": "end"} if torch else {"end": "stop"}
        bound = self._constant_args("arange", node, keywords, params, aliases, 1)
        if len(node.args) <= 1 and stop_name not in bound and "start" in bound:  # np.arange(start=5): NumPy's stop
            bound[stop_name] = bound.pop("start")
        outer, self._base = getattr(self, "_base", None), None  # a constant array being read around this one
        try:
            return self._arange_numbers(node, env, bound, stop_name, integer_dtype)
        finally:
            self._base = outer

    def _arange_numbers(self, node, env, bound, stop_name, integer_dtype):
        numbers = {}
        for key in ("start", "step"):
            value = self.expr(bound[key], env) if key in bound else sp.Integer(0 if key == "start" else 1)
            if isinstance(value, Poison):
                raise value.error
            if not isinstance(value, sp.Number) or not value.is_finite:
                raise self.error(bound[key], f"arange()'s {key} must be a finite number known now",
                                 "shift and scale np.arange(n) by values computed from the inputs: "
                                 "a + b * np.arange(n)")
            numbers[key] = int(value) if isinstance(value, sp.Integer) else float(value)
        if numbers["step"] == 0:
            raise self.error(bound["step"], "arange()'s step cannot be 0")
        stop_node = bound.get(stop_name)
        if stop_node is None:
            raise self.error(node, f"arange() is missing its argument '{stop_name}'")
        stop = self.expr(stop_node, env)
        self._base = None  # (a call read inside the stop set it)
        if isinstance(stop, sp.Number) and stop.is_finite and not isinstance(stop, sp.Integer):
            stop = float(stop)
        elif isinstance(stop, int) and self.plain(stop) and self.graph[stop].op == "size":
            stop = self._size_read(stop, stop_node, "arange()'s stop")
        elif isinstance(stop, sp.Integer):
            stop = int(stop)
        else:
            raise self.error(stop_node, "arange()'s stop must be a number known now or a size read off an "
                                        "array as it is (len(t), x.shape[0])",
                             "shift the numbers instead: np.arange(len(x)) + 1, not np.arange(1, len(x) + 1)")
        start, step = numbers["start"], numbers["step"]
        if not isinstance(stop, tuple):
            count = max(0, math.ceil((stop - start) / step))
            if count > _MAX_ELEMENTS:
                raise self.error(node, f"np.arange() of {count} numbers is too large (at most {_MAX_ELEMENTS})")
        integer = all(isinstance(v, int) for v in (start, step)) and not isinstance(stop, float)
        if integer_dtype is not None:
            integer = integer_dtype
        operands = (placeholder(0),) if self._base is not None else ()
        static = symbolic.Static((start, stop, step))
        vid = self._constant_value(symbolic.arange(*operands, static), operands, None, node, "arange")
        return vid, (start, stop, step), integer

    def _arange_dtype(self, node, env) -> bool:
        """Whether arange()'s dtype= is an integer one (positions) rather than a float one."""
        text = ast.unparse(node) if not isinstance(node, ast.Constant) else str(node.value)
        if text.split(".")[-1] in ("int", "int32", "int64", "long", "intp"):
            return True
        self._check_float_dtype(node, env, "arange")
        return False

    def _linspace(self, node, keywords, env, torch):
        params = ("start", "end", "steps") if torch else ("start", "stop", "num", "endpoint")
        bound = self._constant_args("linspace", node, keywords, params, {"stop": "end"} if torch else {},
                                    3 if torch else 2)
        ends = []
        for key in params[:2]:
            value = self.expr(bound[key], env)
            if not isinstance(value, sp.Number) or not value.is_finite:
                raise self.error(bound[key], f"linspace()'s {key} must be a finite number known now",
                                 "scale and shift np.linspace(0, 1, n) by values computed from the inputs")
            ends.append(float(value))
        num = 50 if "num" not in bound and not torch else self._constant_size(bound[params[2]], env, "linspace()'s num")[0]
        endpoint = True
        if "endpoint" in bound:
            flag = bound["endpoint"]
            if not (isinstance(flag, ast.Constant) and isinstance(flag.value, bool)):
                raise self.error(flag, "linspace()'s endpoint must be True or False")
            endpoint = flag.value
        operands = (placeholder(0),) if self._base is not None else ()
        static = symbolic.Static((*ends, num, endpoint))
        return self._constant_value(symbolic.linspace(*operands, static), operands, (num,), node, "linspace")


def constant_name(path: str | None) -> str | None:
    """The constant-array call a path names (np.zeros, torch.eye), or None."""
    if path is None:
        return None
    prefix, name = ops.strip_prefix(path)
    return name if name in CONSTANT_ARRAYS and prefix in ("np.", "numpy.", "torch.") else None


__all__ = ["CONSTANT_ARRAYS", "ConstantArrays", "constant_name"]
