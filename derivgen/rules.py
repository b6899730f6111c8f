"""One vector-Jacobian rule per op.

``RULES[op](operands, out, g, static)`` returns one term per operand: the
contribution ``g * d(out)/d(operand)`` as a SymPy expression over the operands,
the op's own value ``out`` and its adjoint ``g``, or ``None`` where no gradient
flows (conditions, piecewise-constant ops). Conventions at kinks follow PyTorch
and are written out in the rule, with a note the generated code repeats.

``NOTES[op]`` is that note; rules for reductions and linear algebra return
terms that already have their operand's shape.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from . import symbolic as S

OUT = sp.Symbol("_out")
G = sp.Symbol("_g")
SHAPE = sp.Symbol("_shape")  # the shape of the operand a term is for
OUT_SHAPE = sp.Symbol("_out_shape")  # the shape of the op's value
ZERO = sp.Integer(0)
ONE = sp.Integer(1)


def _is_zero(x) -> bool:
    return isinstance(x, sp.Number) and bool(x.is_zero)  # Float 0.0 is not == 0 in SymPy


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


def _sech_squared(a):
    # 1 - tanh(a)**2 loses all digits once tanh(a) rounds to +-1 (|a| > 19); sech2 is
    # 4e/(1 + e)**2 with e = exp(-2|a|), exact there, free of overflow, and one exp.
    return S.sech2(a)


def _maximum(a, b, out, g):
    # Ties split the gradient evenly, as in PyTorch.
    return (S.where(a > b, g, S.where(sp.Eq(a, b), g / 2, ZERO)),
            S.where(b > a, g, S.where(sp.Eq(a, b), g / 2, ZERO)))


def _minimum(a, b, out, g):
    return (S.where(a < b, g, S.where(sp.Eq(a, b), g / 2, ZERO)),
            S.where(b < a, g, S.where(sp.Eq(a, b), g / 2, ZERO)))


def _clip(x, lo, hi, out, g):
    # The gradient passes where lo <= x <= hi, both ends inclusive (PyTorch);
    # a tensor bound receives it where it is the one selected. An absent bound is +-oo.
    # Where lo >= hi the output is hi everywhere (min(max(x, lo), hi)), a value that does
    # not depend on x or lo: hi gets all the gradient (clamp(x, a, a) is a, whose gradient
    # with respect to a is 1 and with respect to x is 0, at x == a too).
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
        inside = [sp.Eq(out, x)]
    dx = S.where(sp.And(*inside), g, ZERO) if inside else g
    lo_selected = sp.And(x < lo, lo < hi) if both else x < lo
    hi_selected = sp.Or(x > hi, hi <= lo) if both else x > hi
    dlo = None if isinstance(lo, sp.Number) else S.where(lo_selected, g, ZERO)
    dhi = None if isinstance(hi, sp.Number) else S.where(hi_selected, g, ZERO)
    return dx, dlo, dhi


def _reduction_scale(op, x, out, static):
    expand = S.expand_reduced(G, *static)
    if op == "sum":
        return expand
    if op == "mean":  # divide by the count of reduced elements (before expanding: cheaper)
        return S.expand_reduced(G / S.size_ratio(SHAPE, OUT_SHAPE), *static)
    # logsumexp: softmax weights exp(x - lse), with lse broadcast back over x.
    return expand * sp.exp(x - S.expand_reduced(out, *static))


def _nonzero(x):
    """x, or 1 where x is 0: a denominator whose numerator is 0 there too."""
    return S.where(sp.Eq(x, 0), ONE, x)


def _rules():
    u = {  # one operand: (rule, note)
        "neg": lambda a, out, g: -g,
        "sin": lambda a, out, g: g * sp.cos(a),
        "cos": lambda a, out, g: -g * sp.sin(a),
        "tan": lambda a, out, g: g * (1 + out**2),
        "arcsin": lambda a, out, g: g / sp.sqrt(1 - a**2),
        "arccos": lambda a, out, g: -g / sp.sqrt(1 - a**2),
        "arctan": lambda a, out, g: g / (1 + a**2),
        "sinh": lambda a, out, g: g * sp.cosh(a),
        "cosh": lambda a, out, g: g * sp.sinh(a),
        "tanh": lambda a, out, g: g * _sech_squared(a),
        "arcsinh": lambda a, out, g: g / sp.sqrt(a**2 + 1),
        "arccosh": lambda a, out, g: g / sp.sqrt(a**2 - 1),
        "arctanh": lambda a, out, g: g / (1 - a**2),
        "exp": lambda a, out, g: g * out,
        "exp2": lambda a, out, g: g * out * sp.log(2),
        "expm1": lambda a, out, g: g * (out + 1),
        "log": lambda a, out, g: g / a,
        "log2": lambda a, out, g: g / (a * sp.log(2)),
        "log10": lambda a, out, g: g / (a * sp.log(10)),
        "log1p": lambda a, out, g: g / (1 + a),
        "sqrt": lambda a, out, g: g / (2 * out),
        "square": lambda a, out, g: 2 * g * a,
        "abs": lambda a, out, g: g * sp.sign(a),
        "sign": lambda a, out, g: None,
        "floor": lambda a, out, g: None,
        "ceil": lambda a, out, g: None,
        "erf": lambda a, out, g: 2 * g * sp.exp(-a**2) / sp.sqrt(sp.pi),
        "sigmoid": lambda a, out, g: g * out * S.sigmoid(-a),
        "softplus": lambda a, out, g: g * S.sigmoid(a),
        "relu": lambda a, out, g: S.where(a > 0, g, ZERO),
        "transpose": lambda a, out, g: S.transpose(g),
    }
    b = {  # two operands
        "add": lambda a, b, out, g: (g, g),
        "sub": lambda a, b, out, g: (g, -g),
        "mul": lambda a, b, out, g: (g * b, g * a),
        # d(a/b)/db = -(a/b)/b: the quotient is computed already, and b**2 would overflow
        # (or underflow to 0) where a/b is an ordinary number (a softmax's sum of exp(400)).
        "div": lambda a, b, out, g: (g / b, -g * out / b),
        "pow": _pow,
        "power": _pow,
        "arctan2": lambda a, b, out, g: (g * b / (a**2 + b**2), -g * a / (a**2 + b**2)),
        # a / hypot(a, b) is 0/0 at the origin: 0 there, as abs'(0) = 0 (hypot(a, 0) = |a|).
        "hypot": lambda a, b, out, g: (a * (g / _nonzero(out)), b * (g / _nonzero(out))),
        "maximum": _maximum,
        "minimum": _minimum,
        # sigmoid(a - b) = exp(a - out): exactly 1/2 at ties and finite when an operand is inf.
        "logaddexp": lambda a, b, out, g: (g * S.sigmoid(a - b), g * S.sigmoid(b - a)),
        "matmul": lambda a, b, out, g: (S.matmul_grad_a(g, a, b), S.matmul_grad_b(g, a, b)),
        # np.dot is matmul up to 2-D, but contracts against b's second-to-last axis, without
        # batching, beyond: rules of its own.
        "dot": lambda a, b, out, g: (S.dot_grad_a(g, a, b), S.dot_grad_b(g, a, b)),
    }
    table = {}
    for name, f in u.items():
        table[name] = lambda ops, static, f=f: (f(ops[0], OUT, G),)
    for name, f in b.items():
        table[name] = lambda ops, static, f=f: tuple(f(ops[0], ops[1], OUT, G))
    table["clamp"] = lambda ops, static: _clip(ops[0], ops[1], ops[2], OUT, G)
    table["where"] = lambda ops, static: (None, S.where(ops[0], G, ZERO), S.where(ops[0], ZERO, G))
    # Computed by a *_parts helper (derivgen/optimize.py), the last operand: the gradient
    # weights come from it, and no gradient flows into it.
    for name, arity, weights in (("sigmoid", 1, lambda ops: (G * OUT * S.part(ops[-1], 1),)),
                                 ("softplus", 1, lambda ops: (G * S.part(ops[-1], 1),)),
                                 ("logaddexp", 2, lambda ops: (G * S.part(ops[-1], 1), G * S.part(ops[-1], 2)))):
        table[name] = lambda ops, static, alone=table[name], arity=arity, weights=weights: (
            (*weights(ops), None) if len(ops) > arity else alone(ops, static))
    table["exp_shifted"] = lambda ops, static: (G * OUT, None)  # exp(x - m), m constant
    # The shift of a stable logsumexp cancels exactly: no gradient flows through it.
    table["max_shift"] = lambda ops, static: (None,)
    # The same logsumexp, recomputed where it is near 0: the gradient of the value it refines.
    table["lse_refine"] = lambda ops, static: (G, None)
    for name in ("sum", "mean", "logsumexp"):
        table[name] = lambda ops, static, name=name: (_reduction_scale(name, ops[0], OUT, static),)
    return table


RULES = _rules()

NOTES = {
    "abs": "abs'(0) = 0, as in PyTorch",
    "relu": "relu'(0) = 0, as in PyTorch",
    "clamp": "clamp passes the gradient where lo <= x <= hi, both ends inclusive (and lo < hi)",
    "maximum": "ties split the gradient 0.5/0.5, as in PyTorch",
    "minimum": "ties split the gradient 0.5/0.5, as in PyTorch",
    "where": "the gradient flows only into the branch where selected",
    "pow": "no gradient through the exponent where base == 0 and exponent >= 0 (PyTorch)",
    "power": "no gradient through the exponent where base == 0 and exponent >= 0 (PyTorch)",
    "logsumexp": "d logsumexp(x) / dx = softmax(x) = exp(x - logsumexp(x))",
    "sigmoid": "sigmoid'(z) = sigmoid(z) * sigmoid(-z): no cancellation in 1 - sigmoid(z)",
    "tanh": "tanh'(z) = sech(z)**2 = 4e/(1 + e)**2 with e = exp(-2|z|): no 1 - tanh(z)**2 cancellation",
    "tan": "tan'(z) = 1 + tan(z)**2",
    "hypot": "hypot'(0, 0) = 0, as abs'(0) = 0",
}



def note(op: str, operands: tuple) -> str | None:
    """The comment the generated code carries for this op's gradient, if any."""
    if op in ("pow", "power") and isinstance(operands[1], sp.Number):
        return None  # a constant exponent has no convention to explain
    return NOTES.get(op)


# Ops whose rule terms already have their operand's shape.
SHAPED = {"matmul", "dot", "transpose", "max_shift"}
# Ops whose rule terms broadcast to their operand's shape: reductions send back the
# reduced gradient with its axes restored as size 1, and NumPy broadcasting in the
# terms that use it does the rest (a full-size copy of g would cost a pass over memory).
EXPANDED = {"sum", "mean", "logsumexp"}


def _hazards(op: str) -> dict[int, float]:
    """Operand index -> a harmless value, for the operands that can make ``op`` fail."""
    from .optimize import BINARY_HAZARDS, HAZARDS  # the NaN guards' table
    return {0: HAZARDS[op]} if op in HAZARDS else BINARY_HAZARDS.get(op, {})


@cache
def vjp(op: str, operands: tuple, static: tuple, zero_safe: bool = False) -> tuple:
    """Cached rule terms for one op applied to these operands (placeholders or numbers).

    ``zero_safe``: the op is inside a where's branch its condition cannot guard (under a
    reduction or a transpose): where no gradient arrives (the branch is not selected), its
    terms are 0, not 0 * inf = nan from a value the branch computes there for nothing."""
    try:
        rule = RULES[op]
    except KeyError:  # an op in ops.py without a rule: a bug in derivgen, not in the input
        raise NotImplementedError(f"no derivative rule for op {op!r}") from None
    if zero_safe and op not in SHAPED:
        arrives = sp.Ne(S.expand_reduced(G, *static) if op in EXPANDED else G, 0)
        # Where nothing arrives, the terms are computed on harmless operands (and value), so
        # that 0/0 is not computed there, warning, only to be masked: arccos(-1)'s -g/sqrt(0).
        harmless = {operands[i]: S.where(arrives, operands[i], sp.Float(safe))
                    for i, safe in _hazards(op).items() if isinstance(operands[i], sp.Symbol)}
        if harmless:
            harmless[OUT] = S.where(arrives, OUT, ONE)
        return tuple(None if t is None else S.where(arrives, t.xreplace(harmless), ZERO)
                     for t in vjp(op, operands, static))
    terms = rule(operands, static)
    return tuple(None if t is None or _is_zero(t) or isinstance(operands[i], sp.Number)
                 else t for i, t in enumerate(terms))
