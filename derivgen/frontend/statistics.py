"""Statistics: ``np.var`` / ``np.std`` and PyTorch's ``torch.var`` / ``torch.std``, as the
library spelled computes them, built from the ops they are (a mean, a sum of squared
deviations, a count read off the shape, a square root); and vector norms,
``np.linalg.norm``, ``torch.linalg.norm``, ``torch.linalg.vector_norm``, ``torch.norm`` and
``x.norm()``.

A norm is a vector norm of the elements along its axes (of every element without them):
ord 2 (the default) sqrt(sum(x**2)), 1 sum(|x|), inf max(|x|), -inf min(|x|), another p > 0
sum(|x|**p)**(1/p); 'fro' is the 2-norm of a matrix's elements. Its gradient at the zero
vector is 0, as PyTorch's (a subgradient; sqrt'(0) would be nan). NumPy's and
torch.linalg.norm's ord without axes is a matrix norm for a 2-D array: the module checks that
x is 1-D then (ValueError otherwise) rather than compute a matrix norm it does not support;
matrix norms other than 'fro' are refused.

NumPy's divide by ``n - ddof`` (``ddof=0``: the population variance); PyTorch's by
``n - correction`` (``correction=1``, or ``unbiased=True``: the sample variance). A method
``x.var()`` is NumPy's on an ndarray and PyTorch's on a tensor: its keywords decide (``ddof``,
``axis``, ``keepdims``: NumPy's; ``correction``, ``unbiased``, ``dim``, ``keepdim``:
PyTorch's), then the source's imports (only numpy, or only torch); otherwise it is an error
saying which to write. Both compute the deviations from the mean in two passes, as NumPy
does; the gradient of std where every element is equal is nan, as in both libraries.
"""

from __future__ import annotations

import ast
import math

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder

STATISTICS = ("var", "std", "average")
# Norms, by their names after a prefix (np., numpy., torch.), and the method x.norm().
NORMS = ("linalg.norm", "linalg.vector_norm", "norm")
_NUMPY_KEYS = {"ddof", "axis", "keepdims", "dtype", "out", "where", "a"}
_TORCH_KEYS = {"correction", "unbiased", "dim", "keepdim", "input"}
_AMBIGUOUS_HINT = ("write np.{0}(x) for NumPy's (ddof=0) or torch.{0}(x) for PyTorch's (correction=1), "
                   "or give ddof= or correction=")


class Statistics:
    """np.var, np.std, torch.var, torch.std and the methods x.var(), x.std()."""

    def statistic_call(self, name: str, node: ast.Call, env, receiver, prefix: str | None):
        """``name`` (var or std) spelled with ``prefix`` (np., numpy., torch.) or as a method of
        ``receiver`` (prefix None); np.average."""
        if name == "average":
            if receiver is not None or prefix == "torch.":
                raise self.error(node, f"{'x.' if receiver is not None else 'torch.'}average() is not a function",
                                 "write np.average(x, axis, weights) or x.mean(dim)")
            return self.average_call(node, env, prefix)
        torch = self._statistic_library(name, node, prefix)
        spelled = f"{prefix}{name}" if receiver is None else f"x.{name}"
        if torch:
            params, aliases = ("x", "dim", "unbiased", "keepdim"), {"input": "x"}
        else:
            params, aliases = ("x", "axis", "dtype", "out", "ddof", "keepdims"), {"a": "x"}
        keywords = [kw for kw in node.keywords if kw.arg not in ("correction", "where")]
        for kw in node.keywords:
            if kw.arg == "where":
                raise self.error(kw.value, f"{spelled}()'s where= is not supported",
                                 "select the elements with a mask first: x[mask]")
        call = ast.Call(func=node.func, args=node.args, keywords=keywords)
        ast.copy_location(call, node)
        bound = self._sugar_args(spelled, call, receiver, params, aliases, 1)
        for key in ("dtype", "out"):
            if key in bound and not (isinstance(bound[key], ast.Constant) and bound[key].value is None):
                raise self.error(bound[key], f"{spelled}()'s {key}= is not supported",
                                 "the module computes in its inputs' dtype; use the result it returns")
        axis_node = bound.get("dim" if torch else "axis")
        if torch and axis_node is not None and isinstance(axis_node, ast.Constant) and isinstance(axis_node.value, bool):
            bound["unbiased"], axis_node = axis_node, None  # torch.var(x, False): the old (input, unbiased)
        axes = self.static_axes(axis_node, env) if axis_node is not None else None
        keepdims = self._statistic_flag(bound.get("keepdim" if torch else "keepdims"), spelled)
        correction = self._correction(name, node, bound, env, torch, spelled)
        x = self.expr(bound["x"], env)
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], f"{spelled}()")
        axes = () if axes is None else (axes,) if isinstance(axes, int) else tuple(axes)
        value = self._variance(x, axes, keepdims, correction, node)
        if name == "std":
            value = self.apply_op(ops.OPS["sqrt"], [value], {}, node)
        return value

    def average_call(self, node: ast.Call, env, prefix: str):
        """``np.average(a, axis=None, weights=None, returned=False, keepdims=False)``: the mean,
        or sum(a * w) / sum(w). With an axis the weights are 1-D, one per element along it
        (checked when the module runs; NumPy's weights of a's own shape are refused there);
        without one they have a's shape (checked too, TypeError as in NumPy)."""
        spelled = f"{prefix}average"
        bound = self._sugar_args(spelled, node, None, ("x", "axis", "weights", "returned", "keepdims"), {"a": "x"}, 1)
        axis = self.static_axes(bound["axis"], env) if "axis" in bound else None
        if isinstance(axis, tuple):
            raise self.error(bound["axis"], f"{spelled}() over several axes is not supported",
                             "average over one axis, or over all of them (axis=None)")
        keepdims = self._statistic_flag(bound.get("keepdims"), spelled)
        returned = self._statistic_flag(bound.get("returned"), spelled)
        x = self.expr(bound["x"], env)
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], f"{spelled}()")
        weights = bound.get("weights")
        axes = () if axis is None else (axis,)
        if weights is None or isinstance(weights, ast.Constant) and weights.value is None:
            value = self.apply_op(ops.OPS["mean"], [x], {"axes": axes, "keepdims": keepdims}, node)
            if not returned:
                return value
            count = self.size(x, ("size",) if axis is None else ("shape", axis, None))
            return value, self.apply("mul", ops.OPERATORS["mul"], [count, self._ones_like(value, node)], node)
        w = self.expr(weights, env)
        self.require_tensor(w, weights)
        w = self.as_value(w, weights, f"{spelled}()'s weights")
        if axis is None:
            self.add_check("==", symbolic.shape_of(placeholder(0)), symbolic.shape_of(placeholder(1)), [x, w],
                           f"{spelled}(): the weights must have the shape of a when no axis is given", "TypeError")
            total_w = self.apply_op(ops.OPS["sum"], [w], {"axes": (), "keepdims": keepdims}, node)
            product = self.apply("mul", ops.OPERATORS["mul"], [x, w], node)
            total = self.apply_op(ops.OPS["sum"], [product], {"axes": (), "keepdims": keepdims}, node)
        else:
            ndim = symbolic.size_of(placeholder(0), symbolic.Static(("ndim",)))
            self.add_check("==", ndim, sp.Integer(1), [w],
                           f"{spelled}(x, axis, weights) takes 1-D weights, one per element along the axis here",
                           "ValueError")
            moved = self.apply_op(ops.OPS["moveaxis"], [x], {"source": axis, "destination": -1}, node)
            product = self.apply("mul", ops.OPERATORS["mul"], [moved, w], node)
            total = self.apply_op(ops.OPS["sum"], [product], {"axes": (-1,), "keepdims": False}, node)
            total_w = self.apply_op(ops.OPS["sum"], [w], {"axes": (), "keepdims": False}, node)
            if keepdims:
                total = self.apply_op(ops.OPS["expand_dims"], [total], {"axis": axis}, node)
        value = self.apply("div", ops.OPERATORS["div"], [total, total_w], node)
        if not returned:
            return value
        return value, self.apply("mul", ops.OPERATORS["mul"], [total_w, self._ones_like(value, node)], node)

    def _ones_like(self, value, node):
        """Ones of ``value``'s shape: NumPy broadcasts average's sum of weights to it."""
        zeros = self.graph.add("zeros_like", symbolic.zeros_like(placeholder(0)), (value,), operands=(placeholder(0),))
        return self.apply("add", ops.OPERATORS["add"], [zeros, sp.Float(1.0)], node)

    def norm_call(self, name: str, node: ast.Call, env, receiver, prefix: str | None):
        """``name`` (linalg.norm, linalg.vector_norm or norm) after ``prefix``, or the method
        x.norm() (PyTorch's) of ``receiver``."""
        spelled = f"{prefix}{name}" if receiver is None else "x.norm"
        numpy = prefix in ("np.", "numpy.")
        if name == "norm":  # torch.norm(input, p='fro', dim=None, keepdim=False) and x.norm()
            params, aliases, default, matrix = ("x", "ord", "axis", "keepdims"), \
                {"input": "x", "p": "ord", "dim": "axis", "keepdim": "keepdims"}, "fro", False
        elif name == "linalg.vector_norm":
            params, aliases, default, matrix = ("x", "ord", "axis", "keepdims"), \
                {"input": "x", "dim": "axis", "keepdim": "keepdims"}, 2.0, False
        else:  # np.linalg.norm(x, ord=None, axis=None, keepdims=False), torch.linalg.norm(A, ord, dim, keepdim)
            params, aliases, default, matrix = ("x", "ord", "axis", "keepdims"), \
                ({} if numpy else {"A": "x", "input": "x", "dim": "axis", "keepdim": "keepdims"}), None, True
        keywords = [kw for kw in node.keywords if kw.arg not in ("out", "dtype")]
        for kw in node.keywords:
            if kw.arg in ("out", "dtype") and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                raise self.error(kw.value, f"{spelled}()'s {kw.arg}= is not supported",
                                 "the module computes in its inputs' dtype; use the result it returns")
        call = ast.copy_location(ast.Call(func=node.func, args=node.args, keywords=keywords), node)
        bound = self._sugar_args(spelled, call, receiver, params, aliases, 1)
        order = self._norm_order(bound.get("ord"), env, default, spelled)
        axes = self.static_axes(bound["axis"], env) if "axis" in bound else None
        axes = None if axes is None else (axes,) if isinstance(axes, int) else tuple(axes)
        keepdims = self._statistic_flag(bound.get("keepdims"), spelled)
        x = self.expr(bound["x"], env)
        self.require_tensor(x, bound["x"])
        x = self.as_value(x, bound["x"], f"{spelled}()")
        if matrix and (axes is not None and len(axes) == 2 or axes is None and order == "fro"):
            if order not in (None, "fro"):
                raise self.error(bound.get("ord", node), f"{spelled}() of a matrix with ord={order!r} is not supported",
                                 "the Frobenius norm (ord=None or 'fro') is; for a vector norm give one axis")
            if axes is None:  # 'fro' of a matrix: the module checks that it is one
                self._rank_check(x, "==", 2, f"{spelled}(x, 'fro') needs a 2-D x", node)
            order = 2.0
        elif matrix and axes is None and order is not None:  # NumPy's rule: a vector norm of a 1-D x
            self._rank_check(x, "==", 1, f"{spelled}(x, ord) of an array of more than one dimension is a matrix "
                                         "norm, which is not supported: give axis= for a vector norm", node)
        elif matrix and axes is not None and len(axes) > 2:
            raise self.error(bound["axis"], f"{spelled}() takes one axis (a vector norm) or two (a matrix norm)")
        if order in (None, "fro"):
            order = 2.0
        return self._vector_norm(x, order, () if axes is None else axes, keepdims, node)

    def _norm_order(self, node, env, default, spelled: str):
        """The ord (p) of a norm: a number, inf or -inf, or 'fro'."""
        if node is None or isinstance(node, ast.Constant) and node.value is None:
            return default
        if isinstance(node, ast.Constant) and node.value == "fro":
            return "fro"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            raise self.error(node, f"{spelled}()'s ord {node.value!r} is not supported", "use 'fro', or a number")
        value = self.expr(node, env)
        if isinstance(value, int) or not getattr(value, "is_number", False):
            raise self.error(node, f"{spelled}()'s ord must be a number known at compile time")
        order = float(value)
        if math.isnan(order) or order == 0 or order < 0 and order != float("-inf"):
            raise self.error(node, f"{spelled}()'s ord must be positive, inf or -inf, not {order:g}",
                             "ord=0 counts the nonzero elements and has no gradient; count them with (x != 0).sum()")
        return order

    def _rank_check(self, x: int, relation: str, rank: int, message: str, node) -> None:
        ndim = symbolic.size_of(placeholder(0), symbolic.Static(("ndim",)))
        self.add_check(relation, ndim, sp.Integer(rank), [x], message, "ValueError")

    def _vector_norm(self, x: int, order: float, axes: tuple, keepdims: bool, node) -> int:
        """The ord-norm of x's elements along ``axes`` (all of them where empty)."""
        reduction = {"axes": axes, "keepdims": keepdims}
        magnitude = self.apply_op(ops.OPS["abs"], [x], {}, node)
        if order in (float("inf"), float("-inf")):
            return self.apply_op(ops.OPS["amax" if order > 0 else "amin"], [magnitude], reduction, node)
        if order == 1.0:
            return self.apply_op(ops.OPS["sum"], [magnitude], reduction, node)
        if order == 2.0:
            powered = self.apply("mul", ops.OPERATORS["mul"], [x, x], node)
        else:
            powered = self.apply("pow", ops.OPERATORS["pow"], [magnitude, sp.Float(order)], node)
        total = self.apply_op(ops.OPS["sum"], [powered], reduction, node)
        root = (self.apply_op(ops.OPS["sqrt"], [total], {}, node) if order == 2.0
                else self.apply("pow", ops.OPERATORS["pow"], [total, sp.Float(1.0 / order)], node))
        # 0 at the zero vector, with a gradient of 0 there: the root is taken where the sum is
        # positive (its NaN-safe branch), as PyTorch's norm passes no gradient at 0
        positive = self.cond(sp.StrictGreaterThan, [total, sp.Integer(0)], node)
        return self.apply_op(ops.OPS["where"], [positive, root, sp.Float(0.0)], {}, node)

    def _statistic_library(self, name: str, node: ast.Call, prefix: str | None) -> bool:
        """Whether the call is PyTorch's (else NumPy's)."""
        if prefix is not None:
            return prefix == "torch."
        keys = {kw.arg for kw in node.keywords}
        if keys & _TORCH_KEYS and not keys & _NUMPY_KEYS:
            return True
        if keys & _NUMPY_KEYS and not keys & _TORCH_KEYS:
            return False
        roots = {path.split(".")[0] for path in self.imports.values()}
        if "torch" in roots and "numpy" not in roots:
            return True
        if "numpy" in roots and "torch" not in roots:
            return False
        raise self.error(node, f"x.{name}() is NumPy's population {'variance' if name == 'var' else 'deviation'} "
                               "on an ndarray and PyTorch's sample one on a tensor", _AMBIGUOUS_HINT.format(name))

    def _statistic_flag(self, node, spelled: str) -> bool:
        if node is None:
            return False
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        raise self.error(node, f"{spelled}()'s keepdims must be True or False")

    def _correction(self, name, node, bound, env, torch: bool, spelled: str):
        """What the count is reduced by: ddof (NumPy, 0), correction or unbiased (PyTorch, 1)."""
        correction = next((kw.value for kw in node.keywords if kw.arg == "correction"), None)
        if torch and correction is not None and "unbiased" in bound:
            raise self.error(correction, f"{spelled}() takes correction= or unbiased=, not both")
        if torch and "unbiased" in bound:
            return sp.Integer(1) if self._statistic_flag(bound["unbiased"], spelled) else sp.Integer(0)
        given = bound.get("ddof") if not torch else correction
        if given is None:
            return sp.Integer(1 if torch else 0)
        value = self.expr(given, env)
        if isinstance(value, sp.Integer) or (isinstance(value, sp.Float) and value.is_finite):
            return value
        raise self.error(given, f"{spelled}()'s {'correction' if torch else 'ddof'} must be a number known at "
                                "compile time")

    def _variance(self, x: int, axes: tuple, keepdims: bool, correction, node) -> int:
        """sum((x - mean(x))**2) / (n - correction) over ``axes`` (all of them where empty)."""
        mean = self.apply_op(ops.OPS["mean"], [x], {"axes": axes, "keepdims": True}, node)
        deviation = self.apply("sub", ops.OPERATORS["sub"], [x, mean], node)
        squares = self.apply("mul", ops.OPERATORS["mul"], [deviation, deviation], node)
        if correction == 0:  # the mean of the squares: NumPy's own division by n
            return self.apply_op(ops.OPS["mean"], [squares], {"axes": axes, "keepdims": keepdims}, node)
        total = self.apply_op(ops.OPS["sum"], [squares], {"axes": axes, "keepdims": keepdims}, node)
        count = self.size(x, ("size",)) if not axes else None
        for axis in axes:
            size = self.size(x, ("shape", axis, None))
            count = size if count is None else self.apply("mul", ops.OPERATORS["mul"], [count, size], node)
        divisor = self.apply("sub", ops.OPERATORS["sub"], [count, correction], node)
        return self.apply("div", ops.OPERATORS["div"], [total, divisor], node)
