"""Prints templates for the scalar path: Python floats, ``math`` and builtins.

A NumPy ufunc costs ~300 ns on a scalar, a ``math`` call ~50 ns, so a module
called with Python numbers runs this version of its code. It must agree with the
NumPy path: wherever NumPy would return nan or inf (and warn), ``math`` raises
(ValueError, OverflowError, ZeroDivisionError) or the result is not finite, and
the generated code then reruns the call on the NumPy path. Operations that have
no meaning for scalars (matmul, reductions over an axis) disable the scalar path.
"""

from __future__ import annotations

from typing import ClassVar

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from ... import symbolic as S
from ...ops import ARRAY_ONLY, AXES, HEADS, SCALAR_HELPERS
from ..numpy.printer import MATH, NumPyPrinter, floats

# ARRAY_ONLY: the ops and heads the scalar path cannot express (programs using them run on
# NumPy only); SCALAR_HELPERS: heads the scalar path computes with a run-time helper, which
# mirrors NumPy's algorithm so both paths round alike (both from the op registry).


def scalar_path_possible(graph, ids) -> bool:
    """Whether every value can be computed on Python floats."""
    for vid in ids:
        value = graph[vid]
        template = value.template
        if template is None:
            continue
        if value.op in ARRAY_ONLY:
            return False
        if value.op in AXES and len(value.static) > 1:
            return False  # an axis on a 0-d value is an error NumPy must raise
        if any(type(f).__name__ in ARRAY_ONLY for f in template.atoms(sp.Function)):
            return False
    return True


class MathPrinter(NumPyPrinter):
    """NumPyPrinter with scalar spellings."""

    def doprint(self, expr):
        # The count a mean divides by is 1 for a single number: SymPy folds it away.
        if expr.has(S.size_ratio):
            expr = expr.xreplace({r: sp.Integer(1) for r in expr.atoms(S.size_ratio)})
        return super().doprint(expr)

    def _call(self, fn: str, args) -> str:
        return f"{self.math(fn)}({', '.join(self._print(a) for a in args)})"

    def _print_Function(self, expr):
        head = type(expr).__name__
        method = getattr(self, f"_print_{head}", None)
        if method is not None and head not in ("Function",):
            return method(expr)
        spec = HEADS.get(head)
        if spec is not None and spec.kind == "reduction":  # over a single number: that number
            return self._first(expr)
        if head in SCALAR_HELPERS:
            return self._helper(SCALAR_HELPERS[head], expr.args)
        if head in MATH:
            return self._spelled(MATH[head], expr, "math")
        return super()._print_Function(expr)

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == sp.S.Half:
            return self._call("sqrt", (base,))
        if exp == -sp.S.Half:
            return "1/" + self._call("sqrt", (base,))
        if exp.is_Integer:
            return super()._print_Pow(expr, rational)
        if exp.is_number and exp.is_negative:
            return super()._print_Pow(expr, rational)
        # math.pow raises where Python's ** would return a complex number.
        return self._call("pow", (base, exp))

    def _sqrt(self, base) -> str:
        return f"{self.math('sqrt')}({self._print(base)})"

    # ---- elementwise ops -------------------------------------------------------------
    def _print_Abs(self, expr):
        return f"{self.alias('abs')}({self._print(expr.args[0])})"

    def _print_sign(self, expr):
        x = self.parenthesize(expr.args[0], PRECEDENCE["Relational"], strict=True)
        factor = self.parenthesize(expr.args[0], PRECEDENCE["Mul"], strict=False)  # (a - b) * 0.0
        return f"(1.0 if {x} > 0 else -1.0 if {x} < 0 else {factor} * 0.0)"

    def _print_floor(self, expr):
        return f"{self.alias('float')}({self.math('floor')}({self._print(expr.args[0])}))"

    def _print_ceiling(self, expr):
        return f"{self.alias('float')}({self.math('ceil')}({self._print(expr.args[0])}))"

    def _print_exp2(self, expr):
        return self._call("pow", (sp.Float(2.0), expr.args[0]))

    def _print_relu(self, expr):
        # max keeps its first argument on ties and when it is nan, as np.maximum(x, 0) does.
        return f"{self.alias('max')}({self._print(expr.args[0])}, 0.0)"

    def _print_sigmoid(self, expr):
        # math.exp raises OverflowError for z < -709, sending the call to the stable NumPy form.
        return f"(1/(1 + {self._print(sp.exp(-expr.args[0]))}))"

    def _print_softplus(self, expr):
        return f"{self.alias('logaddexp_scalar')}(0.0, {self._print(expr.args[0])})"

    def _print_live(self, expr):
        return self._print(expr.args[0])  # single numbers: the condition itself

    def _print_lse_refine(self, expr):
        return self._print(expr.args[1])  # the logsumexp of one number is that number

    def _print_exp_shift(self, expr):
        return self._helper("exp_shift_scalar", expr.args[:1])

    def _helper(self, key: str, args) -> str:
        return f"{self.alias(key)}({', '.join(self._print(a) for a in args)})"

    def _pick(self, a, b, op) -> str:
        # np.maximum/np.minimum propagate a nan from either side; so does this.
        a_text = self.parenthesize(a, PRECEDENCE["Relational"], strict=True)
        b_text = self.parenthesize(b, PRECEDENCE["Relational"], strict=True)
        return f"({a_text} if {a_text} {op} {b_text} or {a_text} != {a_text} else {b_text})"

    def _print_maximum(self, expr):
        return self._pick(*floats(expr.args), ">")

    def _print_minimum(self, expr):
        return self._pick(*floats(expr.args), "<")

    def _print_clip(self, expr):
        # float results, as on the array path: clamp(1, x) is 1.0 where x < 1, not the int 1
        x, lo, hi = floats(expr.args)
        if lo.is_number and hi.is_number and lo != -sp.oo and hi != sp.oo and lo > hi:
            # np.clip is min(max(x, lo), hi): hi everywhere, but for a nan x.
            x_text = self.parenthesize(x, PRECEDENCE["Relational"], strict=True)
            return f"({x_text} if {x_text} != {x_text} else {self._print(hi)})"
        if not (lo.is_number and hi.is_number):
            inner = x if lo == -sp.oo else S.maximum(x, lo)
            return self._pick(inner, hi, "<") if hi != sp.oo else self._pick(x, lo, ">")
        if isinstance(x, sp.Symbol) and self.names[x][1] >= PRECEDENCE["Atom"] and lo != -sp.oo and hi != sp.oo:
            # A named x and constant bounds: comparisons, cheaper than calls; a nan x fails
            # both and is kept, like np.clip.
            x_text, lo_text, hi_text = self._print(x), self._print(lo), self._print(hi)
            return f"({lo_text} if {x_text} < {lo_text} else {hi_text} if {x_text} > {hi_text} else {x_text})"
        # Constant bounds: max/min keep a nan x (their first argument), like np.clip.
        text = self._print(x)
        if lo != -sp.oo:
            text = f"{self.alias('max')}({text}, {self._print(lo)})"
        if hi != sp.oo:
            text = f"{self.alias('min')}({text}, {self._print(hi)})"
        return text

    def _print_hardtanh(self, expr):
        return self._print_clip(expr)  # the same values; its gradient (no pass at the bounds) is its rule's

    def _print_where(self, expr):
        # A constant branch is written as a float, so results are floats like the array path's.
        cond, a, b = floats(expr.args)
        level = PRECEDENCE["Lambda"] + 1
        return (f"({self.parenthesize(a, level, strict=True)} if {self._print(cond)} "
                f"else {self.parenthesize(b, level, strict=True)})")

    CONNECTIVES: ClassVar[dict] = {"And": " and ", "Or": " or "}

    def _print_Not(self, expr):
        return f"not ({self._print(expr.args[0])})"

    # ---- shapes are trivial for scalars ---------------------------------------------
    def _first(self, expr):
        # The operand itself, standing where a call would: parenthesised unless an atom.
        return self.parenthesize(expr.args[0], PRECEDENCE["Atom"], strict=True)

    def _print_shape_of(self, expr):
        return "()"

    def _print_shaped_condition(self, expr):
        return str(bool(expr.args[0]))

    _print_unbroadcast = _first

    def _product(self, expr):
        # A sum of a product over a single number is the product.
        return self.parenthesize(sp.Mul(*expr.args[:2]), PRECEDENCE["Atom"], strict=True)

    def _print_scaled(self, expr):
        return self._print(sp.Mul(expr.args[1], expr.args[0], evaluate=False))

    _print_sum_product = _product
    _print_mean_product = _product
    _print_unbroadcast_product = _product
    _print_expand_reduced = _first

    def _print_max_shift(self, expr):
        x = self.parenthesize(expr.args[0], PRECEDENCE["Relational"], strict=True)
        return f"({x} if {self.math('isfinite')}({self._print(expr.args[0])}) else 0.0)"

    def _print_size_ratio(self, expr):
        return "1"

    def _print_zeros_like(self, expr):
        return "0.0"

