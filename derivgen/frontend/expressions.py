"""Expressions: one visitor per accepted node type."""

from __future__ import annotations

import ast
import difflib
import math

import sympy as sp

from .. import ops
from ..errors import ParseError, UnsupportedError
from . import limits
from .casts import CAST_METHODS
from .language import (
    BINOP_HINTS,
    BINOPS,
    COMPARE,
    MODULE_ROOTS,
    OP_TEXT,
    MaxResult,
    Poison,
    Slices,
    dotted_name,
    is_const,
    short,
    to_float,
)
from .losses import LOSS_PREFIXES, LOSSES, SOFTMAX_PREFIXES
from .positions import ARANGE, Positions
from .stencils import GRADIENT

# np.array([a, b]) and np.asarray: the values of a list, stacked (derivgen/ops/joins.py)
ARRAY_LITERALS = (("np.", "array"), ("numpy.", "array"), ("np.", "asarray"), ("numpy.", "asarray"))
from .arrays import CONSTANT_ARRAYS, constant_name
from .distributions import distribution_path
from .sizes import METHODS as SIZE_METHODS
from .sizes import SHAPE_HINT, Shape, size_function
from .sorting import SORTING
from .special import SPECIAL_CALLS, SPECIAL_METHODS
from .statistics import NORMS, STATISTICS
from .sugar import DIFF, SUGAR, SUGAR_METHODS, SUGAR_PREFIXES


class Expressions:
    """Expression nodes to values: constants, names, operators, attributes and calls."""

    # ---- expressions ----------------------------------------------------------------
    def count(self, node, nodes: int = 1):
        """Count expression nodes read (inlined helpers once per call) against limits.MAX_NODES."""
        self.nodes += nodes
        if self.nodes > limits.MAX_NODES:
            raise self.error(node, f"the program is too large to compile: more than {limits.MAX_NODES:,} "
                                   "operations once helper functions are inlined",
                             "split it into smaller programs; derivgen.frontend.limits.MAX_NODES sets the bound")

    def expr(self, node, env):
        self.count(node)
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(node)
        return method(node, env)

    def visit_Constant(self, node, env):
        value = node.value
        if isinstance(value, bool):
            return sp.true if value else sp.false
        if isinstance(value, int):
            if abs(value) < 2**53:
                return sp.Integer(value)
            value = to_float(value)  # inf when it overflows
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(node, f"the literal {short(self.segment(node))} overflows a float64",
                                 "constants must fit in a float64 (|x| < 1.8e308)")
            return self.number(value, node)
        if value is None:
            raise self.error(node, "None is only allowed as an axis or a clamp bound")
        kind = {str: "strings are", bytes: "bytes literals are", complex: "complex numbers are",
                type(...): "Ellipsis (...) is"}.get(type(value), "this constant is")
        raise self.unsupported(node, kind)

    def segment(self, node) -> str:
        """The source text of a node, for messages (empty when unknown); costs only its length."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if None in (first, last, start, end) or not 1 <= first <= last <= len(self.lines):
            return ""
        if first == last:
            return self.lines[first - 1].encode("utf-8")[start:end].decode("utf-8", "replace")
        return "\n".join([self.lines[first - 1].encode("utf-8")[start:].decode("utf-8", "replace"),
                          *self.lines[first:last - 1],
                          self.lines[last - 1].encode("utf-8")[:end].decode("utf-8", "replace")])

    def number(self, value, node) -> sp.Basic:
        """A float64 constant; anything else (inf, nan, complex) is an error at ``node``."""
        if isinstance(value, complex):
            raise self.error(node, f"the constant {short(self.segment(node))} is not a real number",
                             "constants are evaluated in real float64 arithmetic")
        if not math.isfinite(value):
            raise self.error(node, f"the constant {short(self.segment(node))} is not a finite float64 "
                                   f"({value!r})", "constants must fit in a float64 (|x| < 1.8e308)")
        return sp.Float(value)

    def visit_Name(self, node, env):
        return self.name(node, env)

    def name(self, node, env):
        ident = node.id
        if ident in env:
            return env[ident]
        if ident in self.globals:
            return self.globals[ident]
        if self.free_inputs:
            self._check_name(ident, node)
            if ops.lookup(ident) or ident in MODULE_ROOTS:
                pass  # a function name used as a value: still a legal input name
            vid = self.graph.leaf("input", ident, frozenset({ident}), frozenset({ident}))
            self.inputs[ident] = vid
            env[ident] = vid
            return vid
        known = sorted(set(env) | set(self.globals))
        close = difflib.get_close_matches(ident, known, n=1)
        hint = f"did you mean '{short(close[0])}'?" if close else None
        if ops.lookup(ident) or ident in self.functions:
            hint = f"'{ident}' is a function; call it with arguments"
        raise self.error(node, f"name '{short(ident)}' is not defined", hint)

    def visit_UnaryOp(self, node, env):
        if isinstance(node.op, ast.Not):
            return self.logical_not(node, env)
        operand = self.expr(node.operand, env)
        if isinstance(node.op, ast.USub):
            self.require_tensor(operand, node.operand)
            return self.apply("neg", ops.OPERATORS["neg"], [operand], node)
        if isinstance(node.op, ast.UAdd):
            self.require_tensor(operand, node.operand)
            return operand
        if isinstance(node.op, ast.Invert):
            if self.is_cond(operand):
                return self.cond(sp.Not, [operand], node)
            raise self.error(node, "~ applies only to conditions", "use it as ~(x > 0) inside where()")
        return self.logical_not(node, env)

    def visit_BinOp(self, node, env):
        # a + b + c + ... nests to the left: walk that spine in a loop, not by recursion
        spine = [node]
        while isinstance(spine[-1].left, ast.BinOp):
            spine.append(spine[-1].left)
        self.count(node, len(spine) - 1)
        value = self.expr(spine[-1].left, env)
        for item in reversed(spine):
            value = self.binop(item.op, value, self.expr(item.right, env), item)
        return value

    def binop(self, op, left, right, node):
        if isinstance(op, (ast.BitAnd, ast.BitOr)) and (self.is_cond(left) or self.is_cond(right)):
            for item, side in ((left, node), (right, node)):
                if not self.is_cond(item):
                    raise self.error(side, "& and | combine conditions such as (x > 0)")
            return self.cond(sp.And if isinstance(op, ast.BitAnd) else sp.Or, [left, right], node)
        name = BINOPS.get(type(op))
        if name is None:
            hint = BINOP_HINTS.get(type(op))
            raise self.error(node, f"the operator {OP_TEXT.get(type(op), type(op).__name__)} is not supported",
                             hint, UnsupportedError)
        if name in ("add", "sub", "mul", "div", "floor_divide", "remainder") and self.is_cond(left) != self.is_cond(right):
            # A condition beside a number is 1.0 where true and 0.0 elsewhere, as NumPy
            # computes with a bool array ((x > 0) * 1.0). Two conditions are not numbers there
            # (True + True is True, True - True an error): & and | combine them.
            left, right = (self.as_number(item, node) for item in (left, right))
        elif self.is_cond(left) and self.is_cond(right):
            raise self.error(node, "arithmetic of two conditions is not a number in NumPy "
                                   "(True + True is True)", "combine them with & or |, or write "
                                                            "where(c, 1.0, 0.0) for the numbers")
        self.require_tensor(left, node)
        self.require_tensor(right, node)
        if name == "matmul":
            return self.apply_op(ops.OPS["matmul"], [left, right], {}, node)
        if name in ("div", "floor_divide", "remainder") and is_const(right) and right.is_zero:
            raise self.error(node, "division by a zero constant")
        if name in ("floor_divide", "remainder"):  # a // b, a % b: ops that are called by name too
            return self.apply_op(ops.OPS[name], [left, right], {}, node)
        return self.apply(name, ops.OPERATORS[name], [left, right], node)

    def as_number(self, item, node):
        """A condition as the numbers 1.0 and 0.0 (anything else as it is)."""
        if not self.is_cond(item):
            return item
        return self.apply_op(ops.OPS["where"], [item, sp.Float(1.0), sp.Float(0.0)], {}, node)

    def visit_Compare(self, node, env):
        if len(node.ops) != 1:
            raise self.error(node, "chained comparisons are not supported",
                             "write (a < x) & (x < b)")
        left = self.expr(node.left, env)
        right = self.expr(node.comparators[0], env)
        cls = COMPARE.get(type(node.ops[0]))
        if cls is None:
            raise self.unsupported(node, f"'{OP_TEXT.get(type(node.ops[0]), 'this comparison')}' is")
        self.require_tensor(left, node)
        self.require_tensor(right, node)
        return self.cond(cls, [left, right], node)

    def visit_Attribute(self, node, env):
        if node.attr.startswith("__"):
            raise self.error(node, f"dunder attributes such as .{short(node.attr)} are never accessed")
        dotted = dotted_name(node)
        path = self.module_path(dotted, env)
        if path is not None:
            prefix, rest = ops.strip_prefix(path)
            name = rest
            while name.endswith(".T"):
                name = name[:-2]  # np.pi.T.T: a scalar's transpose is itself
            if prefix and name in ops.CONSTANTS:
                return ops.CONSTANTS[name]
            raise self.error(node, f"'{short(dotted)}' is not a supported constant",
                             "known constants: np.pi, np.e, math.pi, math.e, torch.pi")
        base = self.expr(node.value, env)
        if isinstance(base, MaxResult) and node.attr in ("values", "indices"):
            return base[0 if node.attr == "values" else 1]
        if node.attr in ("shape", "size", "ndim"):
            return self.size_attribute(node, base)
        if isinstance(base, Shape):
            raise self.error(node, f"a shape has no attribute .{short(node.attr)}", SHAPE_HINT)
        if node.attr == "T":
            self.require_tensor(base, node.value)
            return self.apply_op(ops.OPS["transpose"], [base], {}, node)
        if node.attr == "mT":  # the last two axes swapped (a stack of matrices transposed)
            self.require_tensor(base, node.value)
            if not isinstance(base, int) or self.plain(base):
                raise self.error(node, ".mT needs an array of two or more dimensions, not a number")
            return self.apply_op(ops.OPS["swapaxes"], [base], {"axis1": -2, "axis2": -1}, node)
        raise self.error(node, f"attribute .{short(node.attr)} is not supported",
                         "only .T, .mT, .shape, .size, .ndim and method calls such as x.sum() are understood")

    def visit_Subscript(self, node, env):
        base = self.expr(node.value, env)
        if isinstance(base, Poison):
            raise base.error
        if isinstance(base, tuple):
            return self.tuple_item(base, node.slice, env)
        if isinstance(base, Shape):
            return self.shape_item(base, node.slice, env)
        if isinstance(base, Slices):  # x.unbind(0)[1]
            if isinstance(node.slice, ast.Slice):
                raise self.error(node.slice, f"a slice of {base.what} has a length known only when the module runs",
                                 "index it with an integer, or slice the array itself")
            return self.slice_of(base, self.static_int(node.slice, env, "an index"), node)
        if self.is_cond(base):
            raise self.error(node.value, "a condition cannot be indexed", "index the values it compares")
        if not isinstance(base, int):
            raise self.error(node.value, "a constant is a single number and cannot be indexed")
        if self.plain(base):
            raise self.error(node.value, "a size is a Python integer and cannot be indexed",
                             "index the array it is read off, or its shape: x.shape[0]")
        index = self.static_index(node.slice, env)
        if any(isinstance(i, Positions) or isinstance(i, tuple) and i[0] in ("input", "mask") for i in index):
            return self.gather(base, index, node)
        return self.apply_op(ops.OPS["getitem"], [base], {"index": index}, node)

    def visit_Call(self, node, env):
        func = node.func
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.unsupported(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(kw.value, "**kwargs in calls are not supported")
        if isinstance(func, ast.Name):
            name = func.id
            if name in env or name in self.globals:
                raise self.error(func, f"'{short(name)}' is a value, not a function")
            if name in self.functions:
                return self.inline(self.functions[name], node, env)
            if name == "len":
                return self.size_function(name, node, env)
            if name == "float":
                return self.float_call(node, env)
            if name == DIFF:
                return self.diff_call(node, env, None)
            if name in SUGAR:
                return self.sugar_call(name, node, env)
            if name in CONSTANT_ARRAYS:
                return self.constant_array(name, node, env, torch=False)
            if name == ARANGE:
                return self.arange_call(node, env, torch=False)
            if name in SORTING:
                return self.sort_call(name, node, env, None, "")
            spec = ops.lookup(name)
            if spec is None:
                raise self.unknown_function(func, name)
            return self.call(spec, node, env, None)
        if isinstance(func, ast.Attribute):
            if func.attr.startswith("__"):
                raise self.error(func, f"dunder attributes such as .{short(func.attr)} are never accessed")
            dotted = dotted_name(func)
            path = self.call_path(dotted, env)
            if size_function(path) is not None:
                return self.size_function(size_function(path), node, env)
            if distribution_path(path) is not None:  # scipy.stats.norm.logpdf(x, loc, scale)
                return self.distribution_call(*distribution_path(path), node, env)
            if path is not None and ops.strip_prefix(path) in (("np.", DIFF), ("numpy.", DIFF), ("torch.", DIFF)):
                return self.diff_call(node, env, None)
            loss = ops.strip_prefix(path) if path is not None else None
            if loss is not None and loss[1] in LOSSES and (loss[0] in LOSS_PREFIXES or loss[1] in ("softmax", "log_softmax")
                                                          and loss[0] in SOFTMAX_PREFIXES):
                return self.loss_call(loss[1], node, env, loss[0])
            if path is not None and ops.strip_prefix(path) in (("np.", GRADIENT), ("numpy.", GRADIENT), ("torch.", GRADIENT)):
                return self.gradient_call(node, env, torch=path.startswith("torch."))
            if path is not None and ops.strip_prefix(path) in (("np.", ARANGE), ("numpy.", ARANGE), ("torch.", ARANGE)):
                return self.arange_call(node, env, torch=path.startswith("torch."))
            if path is not None and ops.strip_prefix(path) in ARRAY_LITERALS:  # np.array([a, b])
                return self.array_literal(node, env)
            if constant_name(path) is not None:
                return self.constant_array(constant_name(path), node, env, torch=path.startswith("torch."))
            prefix, rest = ops.strip_prefix(path) if path is not None else (None, None)
            if rest in SUGAR and prefix in SUGAR_PREFIXES.get(rest, ("np.", "numpy.", "torch.")):
                return self.sugar_call(rest, node, env, torch=prefix.startswith(("torch.", "F.")))
            if rest in SORTING and prefix in ("np.", "numpy.", "torch."):
                return self.sort_call(rest, node, env, None, prefix)
            if rest in SPECIAL_CALLS and prefix in ("torch.", "torch.special."):
                return self.special_call(rest, node, env)
            if rest in STATISTICS and prefix in ("np.", "numpy.", "torch."):
                return self.statistic_call(rest, node, env, None, prefix)
            if rest in NORMS and (prefix, rest) not in (("np.", "norm"), ("numpy.", "norm"), ("np.", "linalg.vector_norm"),
                                                        ("numpy.", "linalg.vector_norm")) and prefix in ("np.", "numpy.", "torch."):
                return self.norm_call(rest, node, env, None, prefix)
            if path is not None:
                spec = ops.lookup(path)
                if spec is None:
                    raise self.unknown_function(func, dotted)
                return self.call(spec, node, env, None, torch=path.startswith("torch."))
            if func.attr in SIZE_METHODS:
                return self.size_method(node, env, func.value)
            if func.attr in CAST_METHODS:
                return self.cast_method(node, env, func.value)
            if func.attr == DIFF:
                return self.diff_call(node, env, func.value)
            if func.attr in SUGAR_METHODS:  # PyTorch's a.outer(b), x.trace(), x.rot90()
                return self.sugar_call(func.attr, node, env, func.value, torch=True)
            if func.attr == "repeat":
                self.expr(func.value, env)
                raise self.error(func, "x.repeat() repeats each element in NumPy but the whole array in PyTorch",
                                 "write np.repeat(x, k, axis) or x.repeat_interleave(k, dim) for each element, "
                                 "np.tile(x, reps) or torch.tile(x, dims) for the whole array")
            if func.attr in ("softmax", "log_softmax"):  # PyTorch's x.softmax(dim)
                return self.loss_call(func.attr, node, env, "torch.", receiver=func.value)
            if func.attr in SPECIAL_METHODS:  # PyTorch's x.logit(eps), x.polygamma(n)
                return self.special_call(func.attr, node, env, func.value)
            if func.attr in SORTING:  # x.sort(), x.topk(k), x.msort(): PyTorch's
                return self.sort_call(func.attr, node, env, func.value, "torch.")
            if func.attr in STATISTICS:  # x.var(), x.std(): NumPy's or PyTorch's, as statistics.py decides
                return self.statistic_call(func.attr, node, env, func.value, None)
            if func.attr == "norm":  # PyTorch's x.norm(p, dim, keepdim)
                return self.norm_call("norm", node, env, func.value, None)
            spec = ops.lookup(func.attr)
            if spec is None or spec.params[0].kind != "tensor":
                self.expr(func.value, env)  # an error in the receiver comes first, as it is read first
                raise self.unknown_function(func, func.attr, method=True)
            return self.call(spec, node, env, func.value)
        raise self.error(node, "only named functions can be called")

    def unknown_function(self, node, name, method=False) -> ParseError:
        guess = ops.suggest(name)
        candidates = sorted(self.functions)
        close = difflib.get_close_matches(name, candidates, n=1)
        guess = close[0] if close else guess
        hint = f"did you mean '{short(guess)}'?" if guess else "see the README for the supported functions"
        what = f"method .{short(name)}()" if method else f"function '{short(name)}'"
        return self.error(node, f"unknown {what}", hint, UnsupportedError)
