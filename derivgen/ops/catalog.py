"""The built-in ops of the input language, one entry each (see ``derivgen/ops/__init__.py``).

Rules follow PyTorch at kinks, and each convention is written out in the rule, with the note
the generated code repeats. Spellings per backend: ``numpy`` and ``math`` names here; the ops
whose printing takes more than a call (``relu``, ``clamp``, ``where``, ``sign`` on the scalar
path, ...) have a ``_print_<head>`` method in the printers.
"""

from __future__ import annotations

import math

import sympy as sp

from .. import symbolic as S
from . import _X, _XY, OUT, OUT_SHAPE, SHAPE, G, OpSpec, Param, elementwise, register, shapes

ZERO = sp.Integer(0)
ONE = sp.Integer(1)


# ---- rules that take more than a line ---------------------------------------------------------
def _pow(a, b, out, g):
    if isinstance(b, sp.Number):
        return (ZERO if b.is_zero else g * b * a ** (b - 1)), None
    # PyTorch: no gradient through the base where the exponent is 0, and none
    # through the exponent where base == 0 and exponent >= 0 (there 0**b is flat).
    # Masked positions compute on a harmless base (1), so they raise no warning.
    da = S.where(sp.Eq(b, 0), ZERO, g * b * S.where(sp.Eq(b, 0), 1, a) ** (b - 1))
    if isinstance(a, sp.Number):
        # A constant base: log(a) is computed now, and must stay real. PyTorch gives
        # 0 where a == 0 and b >= 0 (else g * out * log(0) = -inf) and nan for a < 0.
        # (A Float 0.0 is not == 0 in SymPy, hence is_zero.)
        if a.is_positive:
            db = g * out * sp.log(a)
        elif a.is_zero:
            db = S.where(b >= 0, ZERO, -sp.oo * g * out)
        else:  # SymPy would fold g * nan to a bare nan, losing the shape and dtype
            db = S.nan_like(g * out)
    else:
        flat = sp.And(sp.Eq(a, 0), b >= 0)
        db = S.where(flat, ZERO, g * out * sp.log(S.where(flat, 1, a)))
    return (None if isinstance(a, sp.Number) else da), db


def _maximum(a, b, out, g):
    # Ties split the gradient evenly, as in PyTorch.
    return (S.where(a > b, g, S.where(sp.Eq(a, b), g / 2, ZERO)),
            S.where(b > a, g, S.where(sp.Eq(a, b), g / 2, ZERO)))


def _minimum(a, b, out, g):
    return (S.where(a < b, g, S.where(sp.Eq(a, b), g / 2, ZERO)),
            S.where(b < a, g, S.where(sp.Eq(a, b), g / 2, ZERO)))


def _nonzero(x):
    """x, or 1 where x is 0: a denominator whose numerator is 0 there too."""
    return S.where(sp.Eq(x, 0), ONE, x)


def _clip(ops, static):
    # The gradient passes where lo <= x <= hi, both ends inclusive (PyTorch);
    # a tensor bound receives it where it is the one selected. An absent bound is +-oo.
    # Where lo >= hi the output is hi everywhere (min(max(x, lo), hi)), a value that does
    # not depend on x or lo: hi gets all the gradient (clamp(x, a, a) is a, whose gradient
    # with respect to a is 1 and with respect to x is 0, at x == a too).
    x, lo, hi = ops
    both = lo != -sp.oo and hi != sp.oo
    inside = ([x >= lo] if lo != -sp.oo else []) + ([x <= hi] if hi != sp.oo else [])
    if both:
        inside.append(lo < hi)
    constant = isinstance(lo, sp.Number) and isinstance(hi, sp.Number)
    if constant and both and not lo < hi:
        inside = [sp.false]
    elif constant and both:
        # Constant bounds: clamp(x) == x exactly where lo <= x <= hi (and not for nan),
        # one comparison instead of three passes.
        inside = [sp.Eq(OUT, x)]
    dx = S.where(sp.And(*inside), G, ZERO) if inside else G
    lo_selected = sp.And(x < lo, lo < hi) if both else x < lo
    hi_selected = sp.Or(x > hi, hi <= lo) if both else x > hi
    dlo = None if isinstance(lo, sp.Number) else S.where(lo_selected, G, ZERO)
    dhi = None if isinstance(hi, sp.Number) else S.where(hi_selected, G, ZERO)
    return dx, dlo, dhi


def _clip_gate(ops):
    """Where clamp passes the gradient to x: its constant bounds only (with tensor bounds
    the gradient also goes to them)."""
    x, lo, hi = ops
    if not (isinstance(lo, sp.Number) and isinstance(hi, sp.Number)):
        return None
    return (sp.Eq(OUT, x), None, None)


def _with_parts(alone, weights, arity):
    """The rule of an op that may be computed by a *_parts helper (derivgen/optimize.py),
    given as its last operand: the gradient weights come from it, none flows into it."""
    def rule(ops, static):
        return (*weights(ops), None) if len(ops) > arity else alone(ops, static)
    return rule


def _unary_rule(d):
    return lambda ops, static: (d(ops[0], OUT, G),)


def _binary_rule(d):
    return lambda ops, static: tuple(d(ops[0], ops[1], OUT, G))


def _reduction_rule(op):
    def rule(ops, static):
        expand = S.expand_reduced(G, *static)
        if op == "sum":
            return (expand,)
        if op == "mean":  # divide by the count of reduced elements (before expanding: cheaper)
            return (S.expand_reduced(G / S.size_ratio(SHAPE, OUT_SHAPE), *static),)
        if op in ("amax", "amin"):  # to the elements equal to the result, split evenly among ties
            hit = S.where(sp.Eq(ops[0], S.expand_reduced(OUT, *static)), ONE, ZERO)
            return (expand * hit / S.expand_reduced(S.reduce_sum(hit, *static), *static),)
        if op in ("max_dim", "min_dim"):  # to the first element equal to the result (PyTorch's index)
            first = S.first_hit(sp.Eq(ops[0], S.expand_reduced(OUT, *static)), sp.Integer(0), *static[1:])
            return (expand * first,)
        # logsumexp: softmax weights exp(x - lse), with lse broadcast back over x.
        return (expand * sp.exp(ops[0] - S.expand_reduced(OUT, *static)),)
    return rule


# ---- elementwise, one operand ----------------------------------------------------------------
# name: (head, d(a, out, g), NumPy name, math name, safe operand value or None, spellings)
_UFUNCS = {
    "sin": (sp.sin, lambda a, out, g: g * sp.cos(a), "sin", "sin", None, ()),
    "cos": (sp.cos, lambda a, out, g: -g * sp.sin(a), "cos", "cos", None, ()),
    "tan": (sp.tan, lambda a, out, g: g * (1 + out**2), "tan", "tan", 0.0, ()),
    "arcsin": (sp.asin, lambda a, out, g: g / sp.sqrt(1 - a**2), "arcsin", "asin", 0.0, ("asin",)),
    "arccos": (sp.acos, lambda a, out, g: -g / sp.sqrt(1 - a**2), "arccos", "acos", 0.0, ("acos",)),
    "arctan": (sp.atan, lambda a, out, g: g / (1 + a**2), "arctan", "atan", None, ("atan",)),
    "sinh": (sp.sinh, lambda a, out, g: g * sp.cosh(a), "sinh", "sinh", 0.0, ()),
    "cosh": (sp.cosh, lambda a, out, g: g * sp.sinh(a), "cosh", "cosh", 0.0, ()),
    # 1 - tanh(a)**2 loses all digits once tanh(a) rounds to +-1 (|a| > 19); sech2 is
    # 4e/(1 + e)**2 with e = exp(-2|a|), exact there, free of overflow, and one exp.
    "tanh": (sp.tanh, lambda a, out, g: g * S.sech2(a), "tanh", "tanh", None, ()),
    "arcsinh": (sp.asinh, lambda a, out, g: g / sp.sqrt(a**2 + 1), "arcsinh", "asinh", None, ("asinh",)),
    "arccosh": (sp.acosh, lambda a, out, g: g / sp.sqrt(a**2 - 1), "arccosh", "acosh", 2.0, ("acosh",)),
    "arctanh": (sp.atanh, lambda a, out, g: g / (1 - a**2), "arctanh", "atanh", 0.0, ("atanh",)),
    "exp": (sp.exp, lambda a, out, g: g * out, "exp", "exp", 0.0, ()),
    "exp2": (S.exp2, lambda a, out, g: g * out * sp.log(2), "exp2", None, 0.0, ()),
    "expm1": (S.expm1, lambda a, out, g: g * (out + 1), "expm1", "expm1", 0.0, ()),
    "log": (sp.log, lambda a, out, g: g / a, "log", "log", 1.0, ()),
    "log2": (S.log2, lambda a, out, g: g / (a * sp.log(2)), "log2", "log2", 1.0, ()),
    "log10": (S.log10, lambda a, out, g: g / (a * sp.log(10)), "log10", "log10", 1.0, ()),
    "log1p": (S.log1p, lambda a, out, g: g / (1 + a), "log1p", "log1p", 0.0, ()),
    "abs": (sp.Abs, lambda a, out, g: g * sp.sign(a), "abs", None, None, ("absolute", "fabs")),
}
# Domains: the open interval where an op and its derivative are finite, and the range
# `derivgen check` draws an input the op reads from when the default one is not inside it.
_INF = float("inf")
_POSITIVE = ((0.0, _INF), (0.5, 2.0))
_UNIT = ((-1.0, 1.0), (-0.9, 0.9))
_DOMAINS = {"arcsin": _UNIT, "arccos": _UNIT, "arctanh": _UNIT, "arccosh": ((1.0, _INF), (1.1, 3.0)),
            "log": _POSITIVE, "log2": _POSITIVE, "log10": _POSITIVE, "log1p": ((-1.0, _INF), (-0.5, 1.0))}
for _name, (_head, _d, _np, _math, _safe, _spellings) in _UFUNCS.items():
    register(elementwise(_name, 1, _head, _d, spellings=_spellings, numpy=_np, math=_math, ufunc=True,
                         hazards=None if _safe is None else {0: _safe}, domain=_DOMAINS.get(_name),
                         note="abs'(0) = 0, as in PyTorch" if _name == "abs" else
                         "tan'(z) = 1 + tan(z)**2" if _name == "tan" else
                         "tanh'(z) = sech(z)**2 = 4e/(1 + e)**2 with e = exp(-2|z|): no 1 - tanh(z)**2 cancellation"
                         if _name == "tanh" else None))

register(OpSpec("sqrt", _X, "elementwise", sp.sqrt, ("sqrt",), rule=_unary_rule(lambda a, out, g: g / (2 * out)),
                hazards=((0, 1.0),), domain=_POSITIVE))
register(OpSpec("square", _X, "elementwise", lambda x: x**2, ("square",),
                rule=_unary_rule(lambda a, out, g: 2 * g * a)))
for _name, _head, _np in (("sign", sp.sign, "sign"), ("floor", sp.floor, "floor"), ("ceil", sp.ceiling, "ceil")):
    # Piecewise constant: no gradient (PyTorch's zeros).
    register(OpSpec(_name, _X, "elementwise", _head, (_name,), head=_head, rule=lambda ops, static: (None,),
                    numpy=_np, new_array=True))
register(elementwise("erf", 1, sp.erf, lambda a, out, g: 2 * g * sp.exp(-a**2) / sp.sqrt(sp.pi),
                     helper="erf", math="erf"))
register(OpSpec("sigmoid", _X, "elementwise", S.sigmoid, ("sigmoid", "expit"), head=S.sigmoid,
                rule=_with_parts(_unary_rule(lambda a, out, g: g * out * S.sigmoid(-a)),
                                 lambda ops: (G * OUT * S.part(ops[-1], 1),), 1),
                note="sigmoid'(z) = sigmoid(z) * sigmoid(-z): no cancellation in 1 - sigmoid(z)",
                helper="sigmoid", new_array=True, parts=S.sigmoid_parts))


def _softplus_rule(ops, static):
    # softplus(z) itself (the rewrites' log(1 + exp(z))), its parts helper's pick, or PyTorch's
    # F.softplus(x, beta, threshold) as the program wrote it: x where beta * x > threshold.
    if len(ops) == 3:
        x, beta, threshold = ops
        return (S.where(beta * x > threshold, G, G * S.sigmoid(beta * x)), None, None)
    return _with_parts(_unary_rule(lambda a, out, g: g * S.sigmoid(a)), lambda o: (G * S.part(o[-1], 1),), 1)(ops, static)


def _softplus(x, beta, threshold):
    if float(beta) == 0:
        raise ValueError("softplus()'s beta must not be 0")
    inner = S.softplus(x) if beta == 1 else S.softplus(beta * x) / beta
    return S.where(beta * x > threshold, x, inner)


register(OpSpec("softplus", (*_X, Param("beta", "number", 1.0), Param("threshold", "number", 20.0)),
                "elementwise", _softplus, ("softplus",), head=S.softplus, rule=_softplus_rule,
                note="F.softplus(x, beta, threshold) is x where beta*x > threshold (PyTorch's linear region, "
                     "gradient 1), softplus(beta*x)/beta elsewhere, gradient sigmoid(beta*x)",
                helper="softplus", new_array=True, parts=S.softplus_parts))
register(OpSpec("relu", _X, "elementwise", S.relu, ("relu",), head=S.relu,
                rule=_unary_rule(lambda a, out, g: S.where(a > 0, g, ZERO)), note="relu'(0) = 0, as in PyTorch",
                new_array=True, gate=lambda ops: (ops[0] > 0,)))

# ---- activations of torch.nn.functional -----------------------------------------------------
# PyTorch's formulas, defaults and gradients at the kinks (which side a kink takes is PyTorch's
# backward, checked against it). Most are written with the heads above, in their stable forms
# (exact sigmoid and softplus, expm1 of min(x, 0), a clip), so their code and formulas read as
# the math; the rule of each is its own. Constant parameters are numbers in the template.
_INV_SQRT_2PI = sp.Float(0.3989422804014327)  # 1 / sqrt(2 pi)
_GELU_C = sp.Float(1.5957691216057308)  # 2 * sqrt(2 / pi): 1 + tanh(u) = 2 * sigmoid(2u)
_GELU_K = sp.Float(0.044715)
_SELU_SCALE = sp.Float(1.0507009873554805)
_SELU_ALPHA_SCALE = sp.Float(1.0507009873554805 * 1.6732632423543772)


def _below(x):
    return S.minimum(x, ZERO)  # expm1 and exp of min(x, 0): no overflow in the branch not taken


def _scaled(alpha, expr):
    return expr if alpha == 1 else alpha * expr


def _activation(name, build, d, *, params=_X, spellings=(), note=None, gate=None, **facts):
    """An activation written with other heads: ``d(*operands, out, g)`` its gradient term."""
    register(OpSpec(name, params, "elementwise", build, () if spellings is None else (name, *spellings),
                    rule=lambda ops, static: (d(*ops, OUT, G),) + (None,) * (len(ops) - 1),
                    note=note, gate=gate, **facts))


def _celu(x, alpha):
    if float(alpha) == 0:
        raise ValueError("celu()'s alpha must not be 0")
    return S.where(x > 0, x, alpha * S.expm1(_below(x) / alpha))


def _hardtanh(x, lo, hi):
    if lo > hi:
        raise ValueError("hardtanh()'s min_val must not be greater than max_val")
    return S.hardtanh(x, lo, hi)


def _softshrink(x, lambd):
    if lambd < 0:
        raise ValueError("softshrink()'s lambd must not be negative")
    return x - S.clip(x, -lambd, lambd)


_APPROXIMATE = (Param("input", aliases=("x", "a")),
                Param("approximate", "choice", "none", choices=(("none", "gelu"), ("tanh", "gelu_tanh"))))
_ALPHA = (*_X, Param("alpha", "number", 1.0))
_LAMBD = (*_X, Param("lambd", "number", 0.5))


def _HARDTANH(ops):  # where hardtanh passes the gradient: strictly inside its bounds
    return (sp.And(ops[0] > ops[1], ops[0] < ops[2]), None, None)


def _SHRINK(ops):  # where softshrink and hardshrink pass it: strictly outside +-lambd
    return (sp.Or(ops[0] > ops[1], ops[0] < -ops[1]), None)


_activation("gelu", lambda x: x * S.ndtr(x),
            lambda a, out, g: g * (S.ndtr(a) + a * sp.exp(-a**2 / 2) * _INV_SQRT_2PI),
            params=_APPROXIMATE, note="gelu(x) = x * Phi(x), Phi by erfc: exact far into the negative side")
_activation("gelu_tanh", lambda x: x * S.sigmoid(_GELU_C * (x + _GELU_K * x**3)),
            lambda a, out, g: g * S.sigmoid(_GELU_C * (a + _GELU_K * a**3)) * (
                1 + a * S.sigmoid(-_GELU_C * (a + _GELU_K * a**3)) * _GELU_C * (1 + 3 * _GELU_K * a**2)),
            params=_APPROXIMATE, spellings=None,
            note="gelu(x, approximate='tanh') = x * sigmoid(2u), u = sqrt(2/pi) * (x + 0.044715 x**3): "
                 "0.5 * (1 + tanh(u)) without its cancellation")
_activation("silu", lambda x: x * S.sigmoid(x), lambda a, out, g: g * S.sigmoid(a) * (1 + a * S.sigmoid(-a)))
_activation("mish", lambda x: x * sp.tanh(S.softplus(x)),
            lambda a, out, g: g * (sp.tanh(S.softplus(a)) + a * S.sech2(S.softplus(a)) * S.sigmoid(a)))
_activation("elu", lambda x, alpha: S.where(x > 0, x, _scaled(alpha, S.expm1(_below(x)))),
            lambda a, alpha, out, g: S.where(a > 0, g, _scaled(alpha, g * sp.exp(_below(a)))), params=_ALPHA,
            note="elu'(0) = alpha, as in PyTorch (the x <= 0 side)")
_activation("selu", lambda x: S.where(x > 0, _SELU_SCALE * x, _SELU_ALPHA_SCALE * S.expm1(_below(x))),
            lambda a, out, g: S.where(a > 0, _SELU_SCALE * g, _SELU_ALPHA_SCALE * g * sp.exp(_below(a))),
            note="selu'(0) = scale * alpha, as in PyTorch (the x <= 0 side)")
_activation("celu", _celu, lambda a, alpha, out, g: S.where(a > 0, g, g * sp.exp(_below(a) / alpha)),
            params=_ALPHA, note="celu'(0) = 1, as in PyTorch")
_activation("leaky_relu", lambda x, slope: S.where(x > 0, x, slope * x),
            lambda a, slope, out, g: S.where(a > 0, g, slope * g),
            params=(*_X, Param("negative_slope", "number", 0.01)),
            note="leaky_relu'(0) = negative_slope, as in PyTorch")
register(OpSpec("hardtanh", (*_X, Param("min_val", "number", -1.0), Param("max_val", "number", 1.0)),
                "elementwise", _hardtanh, ("hardtanh",), head=S.hardtanh,
                rule=lambda ops, static: (S.where(_HARDTANH(ops)[0], G, ZERO), None, None),
                note="hardtanh passes the gradient where min_val < x < max_val: 0 at the bounds, as in PyTorch "
                     "(clamp passes it there)", numpy="{np}.clip({0}, {1}, {2})", new_array=True, gate=_HARDTANH))
_activation("relu6", lambda x: S.hardtanh(x, sp.Float(0.0), sp.Float(6.0)),
            lambda a, out, g: S.where(sp.And(a > 0, a < 6), g, ZERO), note="relu6'(0) = relu6'(6) = 0, as in PyTorch",
            gate=lambda ops: (sp.And(ops[0] > 0, ops[0] < 6),))
_activation("hardsigmoid", lambda x: S.hardtanh(x + 3, sp.Float(0.0), sp.Float(6.0)) / 6,
            lambda a, out, g: S.where(sp.And(a > -3, a < 3), g / 6, ZERO),
            note="hardsigmoid'(-3) = hardsigmoid'(3) = 0, as in PyTorch; 1/6 between (PyTorch's float64 backward "
                 "uses float32's 1/6)", gate=lambda ops: (sp.And(ops[0] > -3, ops[0] < 3),))
_activation("hardswish", lambda x: x * S.hardtanh(x + 3, sp.Float(0.0), sp.Float(6.0)) / 6,
            lambda a, out, g: S.where(a <= -3, ZERO, S.where(a < 3, g * (a / 3 + sp.S.Half), g)),
            note="hardswish'(-3) = 0, hardswish'(3) = 1, as in PyTorch", gate=lambda ops: (ops[0] > -3,))
_activation("softsign", lambda x: x / (1 + sp.Abs(x)), lambda a, out, g: g / (1 + sp.Abs(a))**2)
_activation("logsigmoid", lambda x: -S.softplus(-x), lambda a, out, g: g * S.sigmoid(-a),
            note="logsigmoid(x) = -softplus(-x): exact at x = -1000, gradient sigmoid(-x)")
_activation("rsqrt", lambda x: 1 / sp.sqrt(x), lambda a, out, g: -g * out**3 / 2, hazards=((0, 1.0),),
            domain=_POSITIVE, note="rsqrt'(x) = -rsqrt(x)**3 / 2: -inf at 0, as in PyTorch")
register(elementwise("tanhshrink", 1, S.tanhshrink, lambda a, out, g: g * sp.tanh(a)**2, helper="tanhshrink",
                     scalar_helper="tanhshrink_scalar", new_array=True,
                     note="tanhshrink'(x) = tanh(x)**2: no 1 - sech(x)**2 cancellation"))
_activation("softshrink", _softshrink, lambda a, lambd, out, g: S.where(_SHRINK((a, lambd))[0], g, ZERO),
            params=_LAMBD, note="softshrink'(x) = 0 at x = +-lambd, as in PyTorch", gate=_SHRINK)
_activation("hardshrink", lambda x, lambd: S.where(sp.Abs(x) <= lambd, ZERO, x),
            lambda a, lambd, out, g: S.where(sp.Abs(a) <= lambd, ZERO, g), params=_LAMBD,
            note="hardshrink'(x) = 0 at x = +-lambd, as in PyTorch", gate=_SHRINK)

# ---- elementwise, two operands ---------------------------------------------------------------
def _arctan2(a, b):
    """atan2(a, b); of two zeros 0, as NumPy's and math's (SymPy's is nan)."""
    if a.is_number and b.is_number and a.is_zero and b.is_zero:
        return sp.Integer(0)
    return sp.atan2(a, b)


register(OpSpec("arctan2", _XY, "elementwise", _arctan2, ("arctan2", "atan2"), head=sp.atan2,
                rule=_binary_rule(lambda a, b, out, g: (g * b / (a**2 + b**2), -g * a / (a**2 + b**2))),
                # b / (a**2 + b**2) is 0/0 at the origin: guarded in branches and gates.
                hazards=((0, 1.0), (1, 1.0)), numpy="arctan2", math="atan2", new_array=True))
register(OpSpec("hypot", _XY, "elementwise", S.hypot, ("hypot",), head=S.hypot,
                # a / hypot(a, b) is 0/0 at the origin: 0 there, as abs'(0) = 0 (hypot(a, 0) = |a|).
                rule=_binary_rule(lambda a, b, out, g: (a * (g / _nonzero(out)), b * (g / _nonzero(out)))),
                note="hypot'(0, 0) = 0, as abs'(0) = 0", hazards=((0, 1.0), (1, 1.0)),
                numpy="hypot", math="hypot", new_array=True))
for _name, _head, _d in (("maximum", S.maximum, _maximum), ("minimum", S.minimum, _minimum)):
    register(OpSpec(_name, _XY, "elementwise", _head, (_name,), head=_head, rule=_binary_rule(_d),
                    note="ties split the gradient 0.5/0.5, as in PyTorch", numpy=_name, new_array=True,
                    gate=(lambda ops: (ops[0] >= ops[1], ops[1] >= ops[0])) if _name == "maximum"
                    else (lambda ops: (ops[0] <= ops[1], ops[1] <= ops[0]))))
register(OpSpec("logaddexp", _XY, "elementwise", S.logaddexp, ("logaddexp",), head=S.logaddexp,
                # sigmoid(a - b) = exp(a - out): exactly 1/2 at ties and finite when an operand is inf.
                rule=_with_parts(_binary_rule(lambda a, b, out, g: (g * S.sigmoid(a - b), g * S.sigmoid(b - a))),
                                 lambda ops: (G * S.part(ops[-1], 1), G * S.part(ops[-1], 2)), 2),
                helper="logaddexp", scalar_helper="logaddexp_scalar", new_array=True, parts=S.logaddexp_parts))
# NumPy's ufuncs of two operands (np.cbrt is here too, with one).
_LN2 = sp.Float(math.log(2))

register(OpSpec("cbrt", _X, "elementwise", S.cbrt, ("cbrt",), head=S.cbrt,
                rule=lambda ops, static: (G / (3 * OUT * OUT),), note="cbrt'(x) = 1 / (3 cbrt(x)**2): inf at 0",
                hazards=((0, 1.0),), numpy="cbrt", scalar=False, new_array=True))
register(OpSpec("logaddexp2", _XY, "elementwise", S.logaddexp2, ("logaddexp2",), head=S.logaddexp2,
                # d/da = 2**a / (2**a + 2**b) = sigmoid((a - b) ln 2): 1/2 at ties, finite at inf
                rule=_binary_rule(lambda a, b, out, g: (g * S.sigmoid(_LN2 * (a - b)), g * S.sigmoid(_LN2 * (b - a)))),
                numpy="logaddexp2", scalar=False, new_array=True))
register(OpSpec("copysign", _XY, "elementwise", S.copysign, ("copysign",), head=S.copysign,
                # |a| sign(b): slope copysign(1, a) * copysign(1, b) = out / a, 0 at a == 0 (PyTorch's);
                # none through b (a sign), as in PyTorch
                rule=_binary_rule(lambda a, b, out, g: (S.where(sp.Eq(a, 0), ZERO, g * out / _nonzero(a)), None)),
                note="copysign'(a) = out / a, 0 at a == 0 (PyTorch's); no gradient through the sign's b",
                numpy="copysign", math="copysign", new_array=True))
register(OpSpec("heaviside", (Param("x", aliases=("input", "x1")), Param("values", aliases=("x2", "h0"))),
                "elementwise", S.heaviside, ("heaviside",), head=S.heaviside,
                rule=lambda ops, static: (None, S.where(sp.Eq(ops[0], 0), G, ZERO)),
                note="heaviside: no gradient through x (a step); values gets it where x == 0",
                numpy="heaviside", scalar_helper="heaviside_scalar", new_array=True))
# Floor division and the remainders: piecewise, with jumps where a / b crosses an integer.
# Between the jumps a // b is constant (no gradient, PyTorch's zeros) and a % b = a - b * (a // b)
# has slopes 1 and -(a // b), as PyTorch's rules; fmod truncates instead of flooring.
register(OpSpec("floor_divide", _XY, "elementwise", S.floor_divide, ("floor_divide",), head=S.floor_divide,
                rule=lambda ops, static: (None, None), numpy="{0} // {1}", math="{0} // {1}", new_array=True))
register(OpSpec("remainder", _XY, "elementwise", S.remainder, ("remainder", "mod"), head=S.remainder,
                rule=_binary_rule(lambda a, b, out, g: (g, -g * S.floor_divide(a, b))), hazards=((1, 1.0),),
                note="a % b = a - b * (a // b): d/da = 1, d/db = -(a // b) between the jumps, as in PyTorch",
                numpy="{0} % {1}", math="{0} % {1}", new_array=True))
register(OpSpec("fmod", _XY, "elementwise", S.fmod, ("fmod",), head=S.fmod,
                # (a - fmod(a, b)) / b is the truncated quotient, a whole number (rounded).
                rule=_binary_rule(lambda a, b, out, g: (g, -g * ((a - out) / b))), hazards=((1, 1.0),),
                note="fmod(a, b) = a - b * trunc(a / b): d/da = 1, d/db = -trunc(a / b) between the jumps, "
                     "as in PyTorch", numpy="fmod", math="fmod", new_array=True))
_POW_NOTE = "no gradient through the exponent where base == 0 and exponent >= 0 (PyTorch)"
register(OpSpec("power", _XY, "elementwise", lambda a, b: a**b, ("power", "pow"), rule=_binary_rule(_pow),
                note=_POW_NOTE, hazards=((0, 1.0), (1, 1.0)), domain=_POSITIVE, power=True))
register(OpSpec(
    "clamp",
    (Param("x", aliases=("input", "a")), Param("min", "bound", None, ("a_min", "lo")),
     Param("max", "bound", None, ("a_max", "hi"))),
    "elementwise", S.clip, ("clamp", "clip"), head=S.clip, rule=_clip,
    note="clamp passes the gradient where lo <= x <= hi, both ends inclusive (and lo < hi)", new_array=True,
    gate=_clip_gate, promotes=1))
register(OpSpec(
    "where", (Param("condition", "cond"), Param("x", aliases=("input",)), Param("y", aliases=("other",))),
    "elementwise", S.where, ("where",), head=S.where,
    rule=lambda ops, static: (None, S.where(ops[0], G, ZERO), S.where(ops[0], ZERO, G)),
    note="the gradient flows only into the branch where selected", numpy="where",
    gate=lambda ops: (None, ops[0], sp.Not(ops[0])) if isinstance(ops[0], sp.Symbol) else None))

# ---- reductions and linear algebra -----------------------------------------------------------
_REDUCE = (
    Param("x", aliases=("input", "a")),
    Param("axis", "axis", None, ("dim",)),
    Param("keepdims", "flag", False, ("keepdim",)),
)
for _name, _head, _numpy, _helper, _summed in (
        ("sum", S.reduce_sum, "sum", None, S.reduce_sum), ("mean", S.reduce_mean, "mean", None, S.reduce_sum),
        ("logsumexp", S.reduce_logsumexp, None, "logsumexp", None)):
    register(OpSpec(_name, _REDUCE, "reduction",
                    lambda x, keepdims, axes, head=_head: head(x, sp.Integer(int(keepdims)), *axes), (_name,),
                    head=_head, rule=_reduction_rule(_name), numpy=_numpy, helper=_helper, gradient="expanded",
                    summed=_summed, promotes=1,
                    note="d logsumexp(x) / dx = softmax(x) = exp(x - logsumexp(x))" if _name == "logsumexp" else None))
# np.prod, a reduction whose gradient is built of running products, is in scans.py.
# max and min over axes (np.max, np.amax, x.max(axis=...), torch.amax(x, dim)): the gradient
# goes to the elements equal to the result, split evenly among ties (NumPy autograd's and
# torch.amax's convention). torch.max(x, dim) returns (values, indices): calls.py refuses it.
for _name, _head, _numpy in (("amax", S.reduce_max, "max"), ("amin", S.reduce_min, "min")):
    register(OpSpec(_name, _REDUCE, "reduction",
                    lambda x, keepdims, axes, head=_head: head(x, sp.Integer(int(keepdims)), *axes),
                    (_name, _numpy), head=_head, rule=_reduction_rule(_name), numpy=_numpy, gradient="expanded",
                    promotes=1, note="ties split the gradient evenly, as torch.amax and NumPy autograd do"))
# torch.max(x, dim) / x.max(dim) return (values, indices): these are the values, over one axis
# (calls.py builds them; the indices, integers, are not values of the program).
for _name, _head, _numpy in (("max_dim", S.reduce_max_first, "max"), ("min_dim", S.reduce_min_first, "min")):
    register(OpSpec(_name, _REDUCE, "reduction",
                    lambda x, keepdims, axes, head=_head: head(x, sp.Integer(int(keepdims)), *axes),
                    (), head=_head, rule=_reduction_rule(_name), numpy=_numpy, gradient="expanded",
                    promotes=1, note="the gradient goes to the first extreme element, the index torch.max returns"))
register(OpSpec("matmul", _XY, "linalg", S.matmul, ("matmul",), head=S.matmul,
                rule=lambda ops, static: (S.matmul_grad_a(G, *ops), S.matmul_grad_b(G, *ops)),
                scalar=False, gradient="shaped", shape=shapes.matmul, promotes=2))
# np.dot is matmul up to 2-D, but contracts against b's second-to-last axis, without batching,
# beyond: rules of its own.
register(OpSpec("dot", _XY, "linalg", S.dot, ("dot",), head=S.dot,
                rule=lambda ops, static: (S.dot_grad_a(G, *ops), S.dot_grad_b(G, *ops)), numpy="dot",
                scalar=False, gradient="shaped", shape=shapes.dot, promotes=2))
register(OpSpec("transpose", _X, "linalg", S.transpose, ("transpose", "t"), head=S.transpose,
                rule=lambda ops, static: (S.transpose(G),), scalar=False, gradient="shaped",
                shape=shapes.transpose, zero_d=True))

# ---- the operators of the language -----------------------------------------------------------
# d(a/b)/db = -(a/b)/b: the quotient is computed already, and b**2 would overflow (or
# underflow to 0) where a/b is an ordinary number (a softmax's sum of exp(400)).
# Each is also NumPy's ufunc of its name (np.add, np.subtract, ...; torch.add and kin too).
for _name, _build, _d, _hazards, _spellings in (
        ("add", lambda a, b: a + b, lambda a, b, out, g: (g, g), (), ("add",)),
        ("sub", lambda a, b: a - b, lambda a, b, out, g: (g, -g), (), ("subtract",)),
        ("mul", lambda a, b: a * b, lambda a, b, out, g: (g * b, g * a), (), ("multiply",)),
        ("div", lambda a, b: a / b, lambda a, b, out, g: (g / b, -g * out / b), ((1, 1.0),), ("divide", "true_divide")),
        ("pow", lambda a, b: a**b, _pow, ((0, 1.0), (1, 1.0)), ())):
    register(OpSpec(_name, _XY, "elementwise", _build, _spellings, rule=_binary_rule(_d), hazards=_hazards,
                    note=_POW_NOTE if _name == "pow" else None, domain=_POSITIVE if _name == "pow" else None, power=_name == "pow"),
             operator=True)
register(OpSpec("neg", _X, "elementwise", lambda a: -a, ("negative",), rule=_unary_rule(lambda a, out, g: -g)),
         operator=True)
# np.positive, and np.real / np.conj of real arrays: the values themselves; np.imag of them: zeros.
register(OpSpec("positive", _X, "elementwise", lambda a: a, ("positive", "real", "conj", "conjugate"),
                rule=_unary_rule(lambda a, out, g: g)))
register(OpSpec("imag", _X, "elementwise", S.zeros_like, ("imag",), rule=_unary_rule(lambda a, out, g: ZERO)))
# np.reciprocal(x) = 1 / x: d/dx = -(1/x)**2, from the quotient computed already
register(OpSpec("reciprocal", _X, "elementwise", lambda a: 1 / a, ("reciprocal",),
                rule=_unary_rule(lambda a, out, g: -g * out * out), hazards=((0, 1.0),)))
# Angles: NumPy multiplies by the float64 pi / 180 (180 / pi), as written here.
for _name, _factor, _spellings in (("deg2rad", sp.Float(math.pi / 180), ("deg2rad", "radians")),
                                   ("rad2deg", sp.Float(180 / math.pi), ("rad2deg", "degrees"))):
    register(OpSpec(_name, _X, "elementwise", lambda a, c=_factor: a * c, _spellings,
                    rule=_unary_rule(lambda a, out, g, c=_factor: g * c)))
