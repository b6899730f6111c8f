"""Reference evaluation of derivgen programs, independent of the compiler.

This module answers "what should this program compute?" without any of derivgen's
optimiser, printer or generated code. It serves as the oracle of the differential tests
(``tests/test_differential.py``) and is usable on its own:

    >>> from derivgen import reference
    >>> result = reference.value_and_grad("sin(x**2)", {"x": 4.0})
    >>> float(result.value), float(result.grads["x"])
    (-0.2879033166650653, -7.661275842587077)

Three layers:

- **Kernels** (:data:`KERNELS`): one entry per op of the input language (every function in
  ``derivgen/ops.py``, the operators ``add sub mul div pow neg``, the comparisons and logic
  of conditions). Each has an *exact* implementation, evaluated with mpmath at a chosen
  precision on NumPy object arrays of ``mpf`` (so broadcasting, reductions with ``axis`` and
  ``keepdims``, ``np.matmul`` and ``np.dot`` keep exactly NumPy's shape semantics), and a
  *naive* one in plain NumPy floating point, the formula a person would write for that one op.
  Where the math is undefined, the exact kernels answer as IEEE arithmetic does, never with a
  complex number: log or sqrt of a negative number and arccosh below 1 give nan, a division
  by zero a signed inf (nan for 0/0), log(0) gives -inf. At infinite or nan arguments the
  result is NumPy's. mpmath has no negative zero, so a zero is always +0 here (1 / -0.0 is
  +inf, where NumPy says -inf).
- **Arithmetic**: :class:`Exact` (mpmath at ``dps`` digits, optionally with a reproducible
  relative perturbation of every rounded result, to estimate how sensitive a program is to
  rounding) and :class:`Naive` (NumPy in float64 or float32, optionally tracking which
  elements a floating-point exception reached). Evaluators call ``arith.call(op, ...)`` and
  never look inside the values.
- **Evaluators**: :func:`evaluate` runs a parsed :class:`derivgen.graph.Program` (the graph
  ``parse()`` returns, before any optimisation) node by node, interpreting each value's SymPy
  template; :func:`jacobian` and :func:`value_and_grad` give the vector-Jacobian products
  ``d sum(grad_output * f) / d input`` by central finite differences in high precision (one
  perturbation per input element), and say for each gradient element whether the function is
  *smooth* there: one-sided and central differences at a tiny step and a central difference at
  a wider step agree. A kink (relu at 0, a clamp bound, a where boundary) makes an element not
  smooth, and its finite-difference value is then not a gradient anyone should compare with.

Named constants (``np.pi``, ``np.e``) and float literals take their float64 values, as in the
NumPy program the source stands for; rationals that SymPy keeps in a template (``x / 3`` is
``x * (1/3)``) are exact.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import mpmath
import numpy as np
import sympy as sp

__all__ = [
    "DEFAULT_DPS", "KERNELS", "STEP", "WIDE_STEP", "Exact", "GraphProgram", "Jacobian", "Kernel", "Naive",
    "Perturbation", "Reference", "Tracked", "context", "evaluate", "evaluate_naive", "jacobian", "to_float",
    "value_and_grad",
]

DEFAULT_DPS = 50
# piecewise-constant ops: derivative 0 between steps (np.argmax's positions too)
STEPWISE = frozenset({"floor", "ceil", "sign", "floor_divide", "argmax", "argmin"})
# Piecewise ops with jumps but a slope between them: the step each element is on is the whole
# number of times b goes into a (``a % b = a - b * floor(a / b)``).
JUMPS = {"remainder": "floor", "fmod": "trunc"}
FLOAT32_STEP = 1e-6  # relative: a few float32 units (2**-23 = 1.2e-7)
STEP = 1e-20  # relative step of the tiny one-sided and central differences
WIDE_STEP = 1e-8  # relative step of the wider central difference (kinks within it are found)
_UNIT = 2.0**-52  # float64 spacing at 1: the size of the perturbation of each rounded result


@functools.cache
def context(dps: int = DEFAULT_DPS) -> mpmath.ctx_mp.MPContext:
    """A private mpmath context working at ``dps`` significant digits (cached per precision)."""
    ctx = mpmath.MPContext()
    ctx.dps = dps
    return ctx


def _obj(value) -> np.ndarray:
    """``value`` as a NumPy object array (a lone mpf becomes a 0-d array)."""
    if isinstance(value, np.ndarray):
        return value if value.dtype == object else value.astype(object)
    out = np.empty((), dtype=object)
    out[()] = value
    return out


# ---- exact scalar functions ---------------------------------------------------------------
# Each takes the mpmath context first. Arguments are finite mpf numbers: _scalar() answers
# for infinite and nan arguments with NumPy's float64 result.

def _real(ctx, z):
    """A real mpmath result; a complex one (the math is undefined in the reals) is nan."""
    if isinstance(z, ctx.mpc):
        return z.real if z.imag == 0 else ctx.nan
    return z


def _div(ctx, a, b):
    if b == 0:
        return ctx.nan if a == 0 else (ctx.inf if a > 0 else -ctx.inf)
    return a / b


def _pow(ctx, a, b):
    if a == 0:
        return ctx.zero if b > 0 else ctx.one if b == 0 else ctx.inf
    if a < 0 and b != ctx.floor(b):
        return ctx.nan
    return _real(ctx, ctx.power(a, b))


def _sign(ctx, x):
    return ctx.one if x > 0 else -ctx.one if x < 0 else ctx.zero


def _sigmoid(ctx, x):
    return 1 / (1 + ctx.exp(-x))


def _softplus(ctx, x, beta=None, threshold=None):
    """log(1 + exp(x)); with beta and threshold, PyTorch's F.softplus: x where beta * x > threshold."""
    if beta is not None:
        return x if beta * x > threshold else _softplus(ctx, beta * x) / beta
    return x + ctx.log1p(ctx.exp(-x)) if x > 0 else ctx.log1p(ctx.exp(x))


def _logaddexp(ctx, a, b):
    if ctx.isnan(a) or ctx.isnan(b):
        return ctx.nan
    if a == -ctx.inf or b == -ctx.inf or a == ctx.inf or b == ctx.inf:
        return max(a, b)
    return max(a, b) + ctx.log1p(ctx.exp(-abs(a - b)))


def _maximum(ctx, a, b):
    return ctx.nan if ctx.isnan(a) or ctx.isnan(b) else max(a, b)


def _minimum(ctx, a, b):
    return ctx.nan if ctx.isnan(a) or ctx.isnan(b) else min(a, b)


def _relu(ctx, x):
    return x if x > 0 or ctx.isnan(x) else ctx.zero


def _atan2(ctx, y, x):
    # On the branch cut (y == 0, x < 0) the value is +pi or -pi by the sign of the zero,
    # which mpmath numbers do not have: undefined here, so not compared.
    if y == 0 and x < 0:
        return ctx.nan
    return ctx.atan2(y, x)


def _quotient(ctx, a, b):
    """floor(a / b) for b != 0, exactly: mpmath's a % b (Python's, the sign of b) is exact."""
    return ctx.nint((a - ctx.fmod(a, b)) / b)


def _floor_divide(ctx, a, b):
    return _div(ctx, a, b) if b == 0 else _quotient(ctx, a, b)  # NumPy: 1 // 0 is inf


def _remainder(ctx, a, b):
    return ctx.nan if b == 0 else ctx.fmod(a, b)


def _fmod(ctx, a, b):
    """C's fmod: the sign of a, a - b * trunc(a / b)."""
    if b == 0:
        return ctx.nan
    r = ctx.fmod(a, b)
    return r - b if r != 0 and (r < 0) != (a < 0) else r


def _truncated(ctx, a, b):
    """trunc(a / b), the whole number fmod takes b times away."""
    q = _quotient(ctx, a, b)
    return q + 1 if q < 0 and a != q * b else q


def _domain(test, fn):
    """fn where test(x) holds, nan elsewhere."""
    return lambda ctx, x: fn(ctx, x) if test(x) else ctx.nan


_EXACT_SCALAR: dict[str, Callable] = {
    "add": lambda ctx, a, b: a + b,
    "sub": lambda ctx, a, b: a - b,
    "mul": lambda ctx, a, b: a * b,
    "div": _div,
    "pow": _pow,
    "neg": lambda ctx, x: -x,
    "sin": lambda ctx, x: ctx.sin(x),
    "cos": lambda ctx, x: ctx.cos(x),
    "tan": lambda ctx, x: ctx.tan(x),
    "arcsin": _domain(lambda x: abs(x) <= 1, lambda ctx, x: ctx.asin(x)),
    "arccos": _domain(lambda x: abs(x) <= 1, lambda ctx, x: ctx.acos(x)),
    "arctan": lambda ctx, x: ctx.atan(x),
    "sinh": lambda ctx, x: ctx.sinh(x),
    "cosh": lambda ctx, x: ctx.cosh(x),
    "tanh": lambda ctx, x: ctx.tanh(x),
    "arcsinh": lambda ctx, x: ctx.asinh(x),
    "arccosh": _domain(lambda x: x >= 1, lambda ctx, x: ctx.acosh(x)),
    "arctanh": _domain(lambda x: abs(x) <= 1, lambda ctx, x: _real(ctx, ctx.atanh(x))),
    "exp": lambda ctx, x: ctx.exp(x),
    "exp2": lambda ctx, x: ctx.power(2, x),
    "expm1": lambda ctx, x: ctx.expm1(x),
    "log": _domain(lambda x: x >= 0, lambda ctx, x: ctx.log(x)),
    "log2": _domain(lambda x: x >= 0, lambda ctx, x: ctx.log(x, 2)),
    "log10": _domain(lambda x: x >= 0, lambda ctx, x: ctx.log10(x)),
    "log1p": _domain(lambda x: x >= -1, lambda ctx, x: ctx.log1p(x)),
    "sqrt": _domain(lambda x: x >= 0, lambda ctx, x: ctx.sqrt(x)),
    "square": lambda ctx, x: x * x,
    "abs": lambda ctx, x: abs(x),
    "sign": _sign,
    "floor": lambda ctx, x: ctx.floor(x),
    "ceil": lambda ctx, x: ctx.ceil(x),
    "erf": lambda ctx, x: ctx.erf(x),
    "sigmoid": _sigmoid,
    "softplus": _softplus,
    "relu": _relu,
    "arctan2": _atan2,
    "hypot": lambda ctx, a, b: ctx.hypot(a, b),
    "maximum": _maximum,
    "minimum": _minimum,
    "logaddexp": _logaddexp,
    "floor_divide": _floor_divide,
    "remainder": _remainder,
    "fmod": _fmod,
}


def _erf_naive(x):
    x = np.asarray(x)
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=x.dtype if x.dtype.kind == "f" else float)


def _sigmoid_naive(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# The naive float kernels: NumPy's own function where it has one, else the textbook formula
# in its usual stable form (what scipy.special.expit and logsumexp do).
_NAIVE_ELEMENTWISE: dict[str, Callable] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin,
    "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh, "exp": np.exp,
    "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2, "log10": np.log10,
    "log1p": np.log1p, "sqrt": np.sqrt, "square": np.square, "abs": np.abs, "sign": np.sign,
    "floor": np.floor, "ceil": np.ceil, "erf": _erf_naive, "sigmoid": _sigmoid_naive,
    "softplus": lambda x: np.logaddexp(0, x), "relu": lambda x: np.maximum(x, 0),
    "arctan2": np.arctan2, "hypot": np.hypot, "maximum": np.maximum, "minimum": np.minimum,
    "logaddexp": np.logaddexp, "floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod,
}


# Exact functions that answer for infinite and nan arguments themselves: their result can be
# a finite argument (max(x, -inf) is x, to full precision).
_NATIVE_SPECIAL = {"maximum", "minimum", "relu", "logaddexp"}


def _scalar(name: str) -> Callable:
    """The exact scalar function of an elementwise op, NumPy's answer at inf and nan."""
    exact, naive = _EXACT_SCALAR[name], _NAIVE_ELEMENTWISE[name]
    native = name in _NATIVE_SPECIAL

    def fn(ctx, *args):
        if not native and not all(ctx.isfinite(a) for a in args):
            with np.errstate(all="ignore"):  # on 1-element arrays: NumPy's array loops decide
                value = float(naive(*(np.array([float(a)]) for a in args))[0])
            if name == "arctan2" and math.isfinite(value) and value != 0:
                return ctx.pi * round(value / (math.pi / 4)) / 4  # a multiple of pi/4, exactly
            return ctx.mpf(value)
        try:
            return _real(ctx, exact(ctx, *args))
        except ZeroDivisionError:  # a pole that mpmath refuses: IEEE's signed infinity
            return ctx.inf
    fn.__name__ = name
    return fn


@functools.cache
def _ufunc(name: str, dps: int, nin: int):
    return np.frompyfunc(functools.partial(_scalar(name), context(dps)), nin, 1)


def _elementwise_exact(name: str) -> Callable:
    def run(ctx, *operands):
        with np.errstate(all="ignore"):  # object loops report nan results as float errors
            return _obj(_ufunc(name, ctx.dps, len(operands))(*operands))
    return run


# ---- structural kernels (the same code on object and float arrays) -------------------------

def _axis(axis):
    if axis is None or isinstance(axis, int):
        return axis
    axis = tuple(int(a) for a in axis)
    # One axis as an int: NumPy reduces a 0-d array along axis 0 or -1, but not along (-1,).
    return axis[0] if len(axis) == 1 else axis if axis else None


def _count(x, axis) -> int:
    """How many elements a reduction over ``axis`` adds up."""
    shape = np.shape(x)
    if axis is None or not shape:  # a 0-d array reduced along axis 0 or -1: its one element
        return int(np.prod(shape, dtype=np.int64))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _sum_exact(ctx, x, axis=None, keepdims=False):
    return _obj(np.sum(x, axis=_axis(axis), keepdims=keepdims))


def _mean_exact(ctx, x, axis=None, keepdims=False):
    axis = _axis(axis)
    n = _count(x, axis)
    total = np.sum(x, axis=axis, keepdims=keepdims)
    return _obj(total / ctx.mpf(n) if n else total * ctx.nan)


def _logsumexp_exact(ctx, x, axis=None, keepdims=False):
    exp, log = _elementwise_exact("exp"), _elementwise_exact("log")
    return log(ctx, _sum_exact(ctx, exp(ctx, x), axis, keepdims))


def _logsumexp_naive(x, axis=None, keepdims=False):
    axis = _axis(axis)
    m = np.max(x, axis=axis, keepdims=True) if np.size(x) else np.zeros(np.ndim(x) * (1,), x.dtype)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = out.reshape(()) if axis is None else np.squeeze(out, axis=axis)
    return out


def _clamp(maximum, minimum):
    def run(*args):
        *pre, x, lo, hi = args  # pre: the context, for the exact kernel
        if lo is not None:
            x = maximum(*pre, x, lo)
        if hi is not None:
            x = minimum(*pre, x, hi)
        return x
    return run


def _condition(fn) -> Callable:
    def run(ctx, *operands):
        with np.errstate(all="ignore"):
            return np.asarray(fn(*operands), dtype=bool)
    return run


@dataclass(frozen=True)
class Kernel:
    """One op of the input language.

    ``exact(ctx, *operands, **static)`` works on NumPy object arrays of ``ctx.mpf``;
    ``naive(*operands, **static)`` on NumPy float arrays. ``kind`` is "elementwise",
    "condition" (comparisons and logic, giving bool arrays), "reduction" (static ``axis`` and
    ``keepdims``), "linalg", "layout" (ops that move elements, their static arguments one
    tuple ``args``), "gather" (an index reading arrays of positions, its operands after x),
    "join" (stack, concatenate: the arrays, then ``args``), "contraction" (einsum, tensordot,
    kron: the operands, then ``args``), "scan" (running sums and products: ``args`` (axis,)),
    "positions" (the integers that sort x: ``args`` (axis, descending, k)) or "constant"
    (zeros, eye, linspace: ``args`` their static arguments). ``rounds`` says whether float
    arithmetic rounds the result (not so for selections such as where, clamp, maximum, abs, a
    transpose or an index).
    """

    name: str
    kind: str
    arity: int | None  # None: any number of operands
    exact: Callable
    naive: Callable
    rounds: bool = True


KERNELS: dict[str, Kernel] = {}


def _register(name, kind, arity, exact, naive, rounds=True, aliases=()):
    KERNELS[name] = kernel = Kernel(name, kind, arity, exact, naive, rounds)
    for alias in aliases:
        KERNELS[alias] = kernel


_SELECTIONS = {"neg", "abs", "sign", "floor", "ceil", "relu", "maximum", "minimum", "floor_divide", "fmod"}
_ALIASES = {"pow": ("power",), "abs": ("absolute",)}
# Far beyond float64 (2**1100 > 1.8e308), an exponential or periodic op of a number is not
# a value any float64 program computes (it overflowed to inf before), and computing it costs
# precision without bound: sin(cosh(1e24)) needs 10**24 bits to reduce its argument. Such an
# element is nan (the sample is then not checked) rather than computed for minutes.


# ---- activations (torch.nn.functional's), exact and as the textbook writes them --------------
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _clip(ctx, x, lo, hi):
    return min(max(x, lo), hi)


def _elu(ctx, x, alpha=1.0):
    return x if x > 0 else alpha * ctx.expm1(x)


def _gelu_tanh(ctx, x):
    # sqrt(2 / pi) and 0.044715 as the float64 numbers a program computes with; x (1 + tanh(u)) / 2
    # as x / (1 + exp(-2u)), the same number without the cancellation of 1 + tanh(u) near -1,
    # which at any working precision is 0 for u below about -dps (found by fuzzing, seed 20261308:
    # x = -18.12 gave 0 where the value is -2.2e-196)
    u = ctx.mpf(0.7978845608028654) * (x + ctx.mpf(0.044715) * x**3)
    return x / (1 + ctx.exp(-2 * u))


def _ndtr(ctx, x):
    return _erfc(ctx, -x / ctx.sqrt(2)) / 2


_ACTIVATIONS_EXACT: dict[str, Callable] = {
    "ndtr": _ndtr,
    "gelu": lambda ctx, x: x * _ndtr(ctx, x),
    "gelu_tanh": _gelu_tanh,
    "silu": lambda ctx, x: x * _sigmoid(ctx, x),
    "mish": lambda ctx, x: x * ctx.tanh(_softplus(ctx, x)),
    "elu": _elu,
    "selu": lambda ctx, x: _SELU_SCALE * x if x > 0 else (_SELU_SCALE * _SELU_ALPHA) * ctx.expm1(x),
    "celu": lambda ctx, x, alpha=1.0: x if x > 0 else alpha * ctx.expm1(x / alpha),
    "leaky_relu": lambda ctx, x, slope=0.01: x if x > 0 else slope * x,
    "hardtanh": lambda ctx, x, lo=-1.0, hi=1.0: _clip(ctx, x, lo, hi),
    "relu6": lambda ctx, x: _clip(ctx, x, 0, 6),
    "softsign": lambda ctx, x: x / (1 + abs(x)),
    "logsigmoid": lambda ctx, x: -_softplus(ctx, -x),
    "hardsigmoid": lambda ctx, x: _clip(ctx, x + 3, 0, 6) / 6,
    "hardswish": lambda ctx, x: x * _clip(ctx, x + 3, 0, 6) / 6,
    "rsqrt": _domain(lambda x: x >= 0, lambda ctx, x: 1 / ctx.sqrt(x)),
    "tanhshrink": lambda ctx, x: x - ctx.tanh(x),
    "softshrink": lambda ctx, x, lambd=0.5: x - lambd if x > lambd else x + lambd if x < -lambd else ctx.zero,
    "hardshrink": lambda ctx, x, lambd=0.5: x if abs(x) > lambd else ctx.zero,
}


def _ndtr_naive(x):
    x = np.asarray(x)
    out = np.frompyfunc(math.erfc, 1, 1)(-x / math.sqrt(2))
    return np.asarray(out, dtype=x.dtype if x.dtype.kind == "f" else float) / 2


def _naive_clip(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def _naive_elu(x, alpha=1.0):
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(x))


_ACTIVATIONS_NAIVE: dict[str, Callable] = {
    "ndtr": _ndtr_naive,
    "gelu": lambda x: x * 0.5 * (1 + _erf_naive(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x * _sigmoid_naive(x),
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
    "elu": _naive_elu,
    "selu": lambda x: _SELU_SCALE * _naive_elu(x, _SELU_ALPHA),
    "celu": lambda x, alpha=1.0: np.where(x > 0, x, alpha * _naive_elu(x / alpha)),
    "leaky_relu": lambda x, slope=0.01: np.where(x > 0, x, slope * x),
    "hardtanh": lambda x, lo=-1.0, hi=1.0: _naive_clip(x, lo, hi),
    "relu6": lambda x: _naive_clip(x, 0, 6),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "logsigmoid": lambda x: -np.logaddexp(0, -x),
    "hardsigmoid": lambda x: _naive_clip(x + 3, 0, 6) / 6,
    "hardswish": lambda x: x * _naive_clip(x + 3, 0, 6) / 6,
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "tanhshrink": lambda x: x - np.tanh(x),
    "softshrink": lambda x, lambd=0.5: x - _naive_clip(x, -lambd, lambd),  # nan stays nan, as in PyTorch
    "hardshrink": lambda x, lambd=0.5: np.where(np.abs(x) <= lambd, 0 * x, x),
}
# NumPy's ufuncs by name that are no operator (derivgen/ops/catalog.py): of real numbers.
_EXACT_SCALAR.update({
    "positive": lambda ctx, x: x,
    "imag": lambda ctx, x: ctx.mpf(0),
    "reciprocal": lambda ctx, x: _div(ctx, ctx.mpf(1), x),
    "deg2rad": lambda ctx, x: x * ctx.mpf(math.pi / 180),
    "rad2deg": lambda ctx, x: x * ctx.mpf(180 / math.pi),
})
_NAIVE_ELEMENTWISE.update({"positive": np.positive, "imag": lambda x: np.zeros_like(np.asarray(x, dtype=np.float64)),
                           "reciprocal": np.reciprocal, "deg2rad": np.deg2rad, "rad2deg": np.rad2deg})
_SELECTIONS |= {"positive", "imag"}
# NumPy's cbrt, logaddexp2, copysign and heaviside (derivgen/ops/catalog.py).
_EXACT_SCALAR.update({
    "cbrt": lambda ctx, x: ctx.cbrt(x) if x >= 0 else -ctx.cbrt(-x),
    "logaddexp2": lambda ctx, a, b: _logaddexp(ctx, a * ctx.ln2, b * ctx.ln2) / ctx.ln2,
    "copysign": lambda ctx, a, b: abs(a) if b >= 0 else -abs(a),  # mpmath's zeros are +0
    "heaviside": lambda ctx, x, h: ctx.mpf(0) if x < 0 else h if x == 0 else ctx.mpf(1),
})
_NAIVE_ELEMENTWISE.update({"cbrt": np.cbrt, "logaddexp2": np.logaddexp2, "copysign": np.copysign,
                           "heaviside": np.heaviside})
_NATIVE_SPECIAL |= {"logaddexp2"}
_SELECTIONS |= {"copysign", "heaviside"}
_EXACT_SCALAR.update(_ACTIVATIONS_EXACT)
_NAIVE_ELEMENTWISE.update(_ACTIVATIONS_NAIVE)


# ---- SciPy's special functions (derivgen/ops/special.py) --------------------------------------
# Exact where mpmath has the function, with SciPy's answers at the poles (the values SciPy
# gives there are conventions, inf or nan, not limits); naive: SciPy itself, imported when
# such a kernel first runs (the programs using them need SciPy anyway).
def _scipy_naive(name: str) -> Callable:
    def run(*args):
        from scipy import special
        with np.errstate(all="ignore"):
            return getattr(special, name)(*args)
    run.__name__ = name
    return run


def _scipy_at(ctx, name: str, *args):
    """SciPy's float64 answer, where mpmath has none (a pole)."""
    return ctx.mpf(float(_scipy_naive(name)(*(float(a) for a in args))))


def _pole(x) -> bool:
    return x <= 0 and x == int(x)


def _erfcx_far(ctx, x):
    """erfcx(x) for x > 1e5: its asymptotic series, 1/(x sqrt(pi)) * sum (-1)**k (2k-1)!! / (2x**2)**k,
    whose terms shrink by 1e-10 each (mpmath's erfc overflows its exponent at such x)."""
    total, term, k = ctx.mpf(1), ctx.mpf(1), 1
    while abs(term) > ctx.eps:
        term *= -(2 * k - 1) / (2 * x * x)
        total += term
        k += 1
    return total / (x * ctx.sqrt(ctx.pi))


_FAR = 1e5


def _erfc(ctx, x):
    return ctx.exp(-x * x) * _erfcx_far(ctx, x) if x > _FAR else ctx.erfc(x)


def _erfcx(ctx, x):
    if x > _FAR:
        return _erfcx_far(ctx, x)
    if x < -_FAR:  # 2 exp(x**2) - erfcx(-x): far beyond float64's range
        return ctx.inf
    return ctx.exp(x * x) * ctx.erfc(x)


def _log_ndtr(ctx, x):
    if x < -_FAR:  # Phi(x) = erfcx(-x/sqrt(2)) exp(-x**2/2) / 2, its log taken apart
        return -x * x / 2 + ctx.log(_erfcx_far(ctx, -x / ctx.sqrt(2)) / 2)
    return ctx.log(_erfc(ctx, -x / ctx.sqrt(2)) / 2)


def _ndtri(ctx, p):
    """Phi's inverse by Newton's method on Phi(x) = p, from erfinv's value (or the tail's
    asymptote), to the working precision; the upper half by symmetry (1 - p is exact)."""
    if not 0 <= p <= 1:
        return ctx.nan
    if p == 0 or p == 1:
        return -ctx.inf if p == 0 else ctx.inf
    if p > 0.5:
        return -_ndtri(ctx, 1 - p)
    x = ctx.sqrt(2) * ctx.erfinv(2 * p - 1) if p > 1e-10 else -ctx.sqrt(-2 * ctx.log(p))
    for _ in range(200):
        step = (_erfc(ctx, -x / ctx.sqrt(2)) / 2 - p) / (ctx.exp(-x * x / 2) / ctx.sqrt(2 * ctx.pi))
        x -= step
        if abs(step) <= abs(x) * ctx.eps * 4:
            break
    return x


def _gammaln(ctx, x):
    return ctx.inf if _pole(x) else ctx.re(ctx.loggamma(x))


def _polygamma(ctx, n, x):
    return _scipy_at(ctx, "polygamma", n, x) if _pole(x) else ctx.psi(int(n), x)


def _beta(ctx, a, b, log=False):
    if _pole(a) or _pole(b) or _pole(a + b):
        return _scipy_at(ctx, "betaln" if log else "beta", a, b)
    value = ctx.beta(a, b)
    return ctx.log(abs(value)) if log else value


def _xlogy(ctx, x, y, one=False):
    """x * log(y) (x * log1p(y) where ``one``), 0 where x == 0 (y is finite here)."""
    if x == 0:
        return ctx.zero
    low = -1 if one else 0
    if y < low:
        return ctx.nan
    return -x * ctx.inf if y == low else x * (ctx.log1p(y) if one else ctx.log(y))


def _logit(ctx, p):
    if not 0 <= p <= 1:
        return ctx.nan
    if p == 0 or p == 1:
        return -ctx.inf if p == 0 else ctx.inf
    return ctx.log(p) - ctx.log1p(-p)


_SPECIAL_EXACT: dict[str, Callable] = {
    "gammaln": _gammaln,
    "digamma": lambda ctx, x: _scipy_at(ctx, "digamma", x) if _pole(x) else ctx.digamma(x),
    "polygamma": _polygamma,
    "gamma": lambda ctx, x: _scipy_at(ctx, "gamma", x) if _pole(x) else ctx.gamma(x),
    "beta": _beta,
    "betaln": lambda ctx, a, b: _beta(ctx, a, b, log=True),
    "erfc": _erfc,
    "erfinv": _domain(lambda x: abs(x) <= 1, lambda ctx, x: ctx.erfinv(x)),
    "erfcx": _erfcx,
    "log_ndtr": _log_ndtr,
    "ndtri": _ndtri,
    "logit": _logit,
    "i0": lambda ctx, x: ctx.besseli(0, x),
    "i1": lambda ctx, x: ctx.besseli(1, x),
    "xlogy": _xlogy,
    "xlog1py": lambda ctx, x, y: _xlogy(ctx, x, y, one=True),
}
_SPECIAL_BINARY = {"polygamma", "beta", "betaln", "xlogy", "xlog1py", "logaddexp2", "copysign", "heaviside"}
_EXACT_SCALAR.update(_SPECIAL_EXACT)
_NAIVE_ELEMENTWISE.update({name: _scipy_naive(name) for name in _SPECIAL_EXACT})
_NAIVE_ELEMENTWISE["softplus"] = lambda x, beta=None, threshold=None: (
    np.logaddexp(0, x) if beta is None else np.where(beta * x > threshold, x, np.logaddexp(0, beta * x) / beta))
_SELECTIONS |= {"hardtanh", "relu6", "hardshrink"}

_BEYOND_FLOAT64 = mpmath.mpf(2) ** 1100
_UNBOUNDED_COST = ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "exp2", "expm1", "erf", "pow",
                   "sigmoid", "softplus", "logaddexp", "ndtr", "gelu", "gelu_tanh", "silu", "mish", "elu", "selu",
                   "celu", "logsigmoid", "tanhshrink", "gamma", "beta", "erfc", "erfcx", "i0", "i1")


# The operands whose size makes an op's cost unbounded: a power's exponent only (a huge base
# to a moderate power, (3e471)**2, is one multiplication); every operand of the others.
_COSTLY_OPERANDS = {"pow": (1,)}


def _bounded(kernel: Callable, positions=None) -> Callable:
    def run(ctx, *operands):
        costly = operands if positions is None else [operands[i] for i in positions if i < len(operands)]
        if any(ctx.isfinite(x) and abs(x) > _BEYOND_FLOAT64 for x in costly):
            return ctx.nan
        return kernel(ctx, *operands)
    return run


for _name in _UNBOUNDED_COST:
    _EXACT_SCALAR[_name] = _bounded(_EXACT_SCALAR[_name], _COSTLY_OPERANDS.get(_name))

for _name in _EXACT_SCALAR:
    _register(_name, "elementwise", 2 if _name in {"add", "sub", "mul", "div", "pow", "arctan2", "hypot",
                                                    "maximum", "minimum", "logaddexp", "floor_divide",
                                                    "remainder", "fmod"} | _SPECIAL_BINARY else 1,
              _elementwise_exact(_name), _NAIVE_ELEMENTWISE[_name], rounds=_name not in _SELECTIONS,
              aliases=_ALIASES.get(_name, ()))
_register("clamp", "elementwise", 3,
          _clamp(KERNELS["maximum"].exact, KERNELS["minimum"].exact), _clamp(np.maximum, np.minimum),
          rounds=False, aliases=("clip",))
_register("where", "elementwise", 3, lambda ctx, c, a, b: _obj(np.where(c, a, b)), np.where, rounds=False)
for _name, _fn in (("gt", operator.gt), ("ge", operator.ge), ("lt", operator.lt), ("le", operator.le),
                   ("eq", operator.eq), ("ne", operator.ne)):
    _register(_name, "condition", 2, _condition(np.frompyfunc(_fn, 2, 1)), _fn, rounds=False)
_register("and", "condition", 2, _condition(np.logical_and), np.logical_and, rounds=False)
_register("or", "condition", 2, _condition(np.logical_or), np.logical_or, rounds=False)
_register("not", "condition", 1, _condition(np.logical_not), np.logical_not, rounds=False)
_register("sum", "reduction", 1, _sum_exact,
          lambda x, axis=None, keepdims=False: np.sum(x, axis=_axis(axis), keepdims=keepdims))
_register("mean", "reduction", 1, _mean_exact,
          lambda x, axis=None, keepdims=False: np.mean(x, axis=_axis(axis), keepdims=keepdims))
_register("logsumexp", "reduction", 1, _logsumexp_exact, _logsumexp_naive)
_register("prod", "reduction", 1,
          lambda ctx, x, axis=None, keepdims=False: _obj(np.prod(x, axis=_axis(axis), keepdims=keepdims)),
          lambda x, axis=None, keepdims=False: np.prod(x, axis=_axis(axis), keepdims=keepdims))
for _name, _fn in (("amax", np.max), ("amin", np.min)):
    _register(_name, "reduction", 1,
              lambda ctx, x, axis=None, keepdims=False, fn=_fn: _obj(fn(x, axis=_axis(axis), keepdims=keepdims)),
              lambda x, axis=None, keepdims=False, fn=_fn: fn(x, axis=_axis(axis), keepdims=keepdims), rounds=False)
_register("matmul", "linalg", 2, lambda ctx, a, b: _obj(np.matmul(a, b)), np.matmul)
_register("dot", "linalg", 2, lambda ctx, a, b: _obj(np.dot(a, b)), np.dot)
_register("transpose", "linalg", 1, lambda ctx, x: np.transpose(x), np.transpose, rounds=False)


def _index(items) -> tuple:
    return tuple(slice(*i[1:]) if isinstance(i, tuple) and i[0] == "slice"
                 else list(i[1]) if isinstance(i, tuple) and i[0] == "take" else i for i in items)


def _flattened(x, start, end):
    if np.ndim(x) == 0:
        return np.reshape(x, (1,))
    start, end = start % np.ndim(x), end % np.ndim(x)
    if start > end:
        raise ValueError("flatten: start_dim after end_dim")
    return np.reshape(x, np.shape(x)[:start] + (-1,) + np.shape(x)[end + 1:])


def _split_piece(x, kind, arg, i, axis):
    """Part i of np.split / np.array_split (NumPy's own), of torch.split with sizes, or of
    torch.chunk (parts of ceil(n / chunks) elements)."""
    x = np.asarray(x)
    if kind in ("split", "array_split"):
        return getattr(np, kind)(x, list(arg) if isinstance(arg, tuple) else arg, axis)[i]
    n = x.shape[axis]
    if kind == "sizes":
        if sum(arg) != n:
            raise ValueError("split: the sizes do not add up to the dimension")
        cuts = list(itertools.accumulate(arg))[:-1]
    else:
        step = -(-n // arg)
        cuts = list(range(step, n, step)) if step else []
        if i >= len(cuts) + 1:
            raise ValueError("chunk: fewer chunks than asked for")
    return np.split(x, cuts, axis)[i]


# Ops that move elements, with their static arguments as one tuple ``args``, in the order of
# the op's parameters (an index, a shape, axes): exact and naive alike, on any dtype.
_LAYOUT = {
    "getitem": lambda x, items: np.asarray(x)[_index(items)],
    "reshape": lambda x, shape: np.reshape(x, tuple(_size(x, ("shape", *s[1:])) if isinstance(s, tuple) else s
                                                    for s in shape)),
    "broadcast_to": lambda x, shape: np.broadcast_to(x, tuple(_size(x, ("shape", *s[1:])) if isinstance(s, tuple)
                                                              else s for s in shape)),
    "flatten": _flattened,
    "squeeze": np.squeeze,
    "expand_dims": np.expand_dims,
    "permute": np.transpose,
    "swapaxes": np.swapaxes,
    "moveaxis": np.moveaxis,
    "flip": np.flip,
    "roll": np.roll,
    "diagonal": np.diagonal,
    "diag": np.diag,
    "tril": np.tril,
    "triu": np.triu,
    "tile": np.tile,
    "repeat": np.repeat,
    "rot90": np.rot90,  # the fuzzing grammar's (derivgen reads it as flips and an exchange of axes)
    "split_part": _split_piece,
}
for _name, _fn in _LAYOUT.items():
    _register(_name, "layout", 1, lambda ctx, x, args, fn=_fn: _obj(fn(x, *args)),
              lambda x, args, fn=_fn: fn(x, *args), rounds=False)


def _padded(x, args, fill):
    """np.pad(x, widths, constant_values=fill), widths as NumPy takes them or (last) PyTorch's
    flat pairs from the last axis backwards."""
    widths, _, last = args
    x = np.asarray(x)
    if last:
        pairs = [tuple(widths[i:i + 2]) for i in range(0, len(widths), 2)]
        if len(pairs) > x.ndim:
            raise ValueError(f"pad: {len(pairs)} dimensions padded, the array has {x.ndim}")
        widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    return np.pad(x, widths, constant_values=fill)


def _constant_shape(shape, operands) -> tuple:
    """A constant array's shape: sizes, ("of", what) read off the operand, or "like" its shape."""
    if shape == "like":
        return np.shape(operands[0])
    return tuple(_size(operands[0], s[1]) if isinstance(s, tuple) else s for s in shape)


def _linspace(ctx, operands, args):
    start, stop, num, endpoint = args
    (n,) = _constant_shape((num,), operands)
    steps = (n - 1 if endpoint else n) or 1
    start, stop = ctx.mpf(start), ctx.mpf(stop)
    values = [start + (stop - start) * i / steps for i in range(n)]
    if endpoint and n > 1:
        values[-1] = stop
    out = np.empty(n, dtype=object)
    out[:] = values
    return out


def _arange(ctx, operands, args):
    start, stop, step = args
    (stop,) = _constant_shape((stop,), operands)
    # as many as NumPy makes: ceil((stop - start) / step) in float64 arithmetic
    count = max(0, math.ceil((float(stop) - float(start)) / float(step)))
    start, step = (ctx.mpf(v) if isinstance(v, float) else v for v in (start, step))
    out = np.empty(count, dtype=object)
    out[:] = [ctx.mpf(start + i * step) for i in range(out.size)]  # exact: NumPy's start + i * step
    return out


# Arrays of constants: kind "constant" (operands: the array sizes are read off, if any; static
# ``args``); no exception reaches them.
_register("filled", "constant", None,
          lambda ctx, *ops, args: _obj(np.full(_constant_shape(args[0], ops), ctx.mpf(args[1]), dtype=object)),
          lambda *ops, args: np.full(_constant_shape(args[0], ops), args[1]), rounds=False)
_register("eye", "constant", None,
          lambda ctx, *ops, args: _obj(np.frompyfunc(ctx.mpf, 1, 1)(np.eye(*_constant_shape(args[:2] if args[1] is not None
                                                                                         else args[:1], ops), k=args[2]))),
          lambda *ops, args: np.eye(*_constant_shape(args[:2] if args[1] is not None else args[:1], ops), k=args[2]),
          rounds=False)
_register("linspace", "constant", None, lambda ctx, *ops, args: _obj(_linspace(ctx, ops, args)),
          lambda *ops, args: np.linspace(args[0], args[1], *_constant_shape(args[2:3], ops), endpoint=args[3]),
          rounds=False)


_register("arange", "constant", None, lambda ctx, *ops, args: _obj(_arange(ctx, ops, args)),
          lambda *ops, args: np.arange(args[0], *_constant_shape(args[1:2], ops), args[2], dtype=np.float64),
          rounds=False)


# A pad: the border is the constant (an exception of the naive evaluation reaches none of it).
_register("pad", "layout", 1, lambda ctx, x, args: _obj(_padded(_obj(x), args, ctx.mpf(args[1]))),
          lambda x, args: _padded(x, args, False if np.asarray(x).dtype == bool else args[1]), rounds=False)


def _size(x, what) -> int:
    """x.shape[axis] (("shape", axis, rank): rank sizes unpacked), x.size or x.ndim."""
    shape = np.shape(x)
    if what[0] == "size":
        return math.prod(shape)
    if what[0] == "ndim":
        return len(shape)
    _, axis, rank = what
    if rank is not None and rank != len(shape):
        raise ValueError(f"{len(shape)} sizes unpacked into {rank} names")
    return shape[axis]


def _positions(a) -> np.ndarray:
    """An operand holding positions (an input of integers, carried as numbers like every
    input) as integers: an error where one is not a whole number."""
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return a
    floats = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(floats) & (floats == np.round(floats))):
        raise ValueError("positions must be whole numbers")
    return floats.astype(np.intp)


def _gather(x, *arrays, args):
    """x[index], the index reading the positions the operands after x hold (gather), or
    the sizes of any operand (np.arange(n))."""
    operands = (x, *arrays)
    index = tuple(_positions(operands[i[1]]) if isinstance(i, tuple) and i[0] == "at"
                  else np.asarray(operands[i[1]], dtype=bool) if isinstance(i, tuple) and i[0] == "mask"
                  else np.arange(_size(operands[i[1]], i[2])) if isinstance(i, tuple) and i[0] == "arange"
                  else _index((i,))[0] for i in args[0])
    return np.asarray(x)[index]


def _take_along(x, indices, args):
    """x's elements at ``indices`` along an axis, element by element; ``args`` = (axis,
    leading): leading (PyTorch's gather) reads x's other axes up to index's size there, where
    NumPy's take_along_axis broadcasts index and x against each other."""
    axis, leading = args
    x, indices = np.asarray(x), _positions(indices)
    if indices.ndim != x.ndim or not x.ndim:
        raise ValueError("take_along: indices and x must have the same number of dimensions, at least 1")
    axis %= x.ndim
    if leading and any(k > n for d, (n, k) in enumerate(zip(x.shape, indices.shape)) if d != axis):
        raise ValueError("gather: index larger than x off the gathered axis")
    shape = tuple(k if d == axis or leading else np.broadcast_shapes((n,), (k,))[0]
                  for d, (n, k) in enumerate(zip(x.shape, indices.shape)))
    out = np.empty(shape, dtype=x.dtype)
    for at in np.ndindex(shape):
        position = indices[tuple(0 if k == 1 else i for i, k in zip(at, indices.shape))]
        out[at] = x[tuple(position if d == axis else 0 if n == 1 and not leading else i
                          for d, (i, n) in enumerate(zip(at, x.shape)))]
    return out


_register("take_along_axis", "gather", None, lambda ctx, x, indices, args: _obj(_take_along(x, indices, args)),
          _take_along, rounds=False, aliases=("gather",))


# Zeros of x's shape (np.zeros_like): exact zeros, no rounding.
_register("zeros_like", "elementwise", 1, lambda ctx, x: _obj(np.full(np.shape(x), ctx.mpf(0), dtype=object)),
          lambda x: np.zeros_like(np.asarray(x, dtype=float)), rounds=False)


# Contractions: kind "contraction" (the operands, then static ``args``: np.einsum's subscripts
# with the output written out, np.tensordot's axes, nothing for np.kron). The exact einsum is
# its definition: each operand spread over the space of every letter (a repeated letter reads
# a diagonal, a size 1 is stretched), their product summed over the letters the output lacks.
def _einsum_labels(term: str, ndim: int, dots: int) -> list:
    """The label of each axis of an operand: its letter, or ("...", i) for the axes of an
    ellipsis, numbered from the right as broadcasting aligns them (of ``dots`` in all)."""
    if "..." not in term:
        return list(term)
    before, after = term.split("...")
    n = ndim - len(before) - len(after)
    return [*before, *(("...", dots - n + i) for i in range(n)), *after]


def _contract(ctx, subscripts: str, operands) -> np.ndarray:
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    operands = [np.asarray(x) for x in operands]
    dots = max((x.ndim - len(t.replace("...", "")) for t, x in zip(terms, operands) if "..." in t), default=0)
    labels = [_einsum_labels(t, x.ndim, dots) for t, x in zip(terms, operands)]
    out = _einsum_labels(output, len(output.replace("...", "")) + dots, dots)
    sizes: dict = {}
    for axes, x in zip(labels, operands):
        for label, n in zip(axes, x.shape):
            if n != 1:
                sizes[label] = n
            sizes.setdefault(label, 1)
    space = out + [label for label in dict.fromkeys(label for axes in labels for label in axes) if label not in out]
    product = None
    for axes, x in zip(labels, operands):
        index = []
        for label, n in zip(axes, x.shape):
            shape = [1] * len(space)
            shape[space.index(label)] = sizes[label] if n != 1 else 1
            index.append(np.arange(shape[space.index(label)]).reshape(shape))
        spread = x[tuple(index)] if index else np.reshape(x, (1,) * len(space))
        product = spread if product is None else product * spread
    product = np.broadcast_to(product, tuple(sizes[label] for label in space))
    summed = tuple(range(len(out), len(space)))
    return _obj(np.sum(product, axis=summed, initial=ctx.mpf(0)) if summed else np.array(product))


def _tensordot_subscripts(ra: int, rb: int, axes) -> str:
    """np.tensordot(a, b, axes) (np.inner's, axes "inner") as einsum subscripts."""
    if axes == "inner":
        axes = ([ra - 1], [rb - 1]) if ra and rb else 0
    if isinstance(axes, int):
        axes = (range(ra - axes, ra), range(axes))
    on_a, on_b = [i % ra for i in axes[0]], [j % rb for j in axes[1]]
    a = [chr(ord("A") + i) for i in range(ra)]
    b = [chr(ord("a") + j) for j in range(rb)]
    for i, j in zip(on_a, on_b):
        b[j] = a[i]
    kept = [c for i, c in enumerate(a) if i not in on_a] + [c for j, c in enumerate(b) if j not in on_b]
    return f"{''.join(a)},{''.join(b)}->{''.join(kept)}"


def _tensordot_naive(a, b, args):
    (axes,) = args
    return np.inner(a, b) if axes == "inner" else np.tensordot(a, b, axes)


_register("einsum", "contraction", None, lambda ctx, *xs, args: _contract(ctx, args[0], xs),
          lambda *xs, args: np.einsum(args[0], *xs))
_register("tensordot", "contraction", 2,
          lambda ctx, a, b, args: _contract(ctx, _tensordot_subscripts(np.ndim(a), np.ndim(b), args[0]), (a, b)),
          _tensordot_naive)
_register("kron", "contraction", 2, lambda ctx, a, b, args=(): _obj(np.kron(np.asarray(a), np.asarray(b))),
          lambda a, b, args=(): np.kron(a, b))


# A running sum: kind "scan" (static ``args`` (axis,)); each partial sum rounds.
# A running sum or product: kind "scan" (static ``args`` (axis,)); each partial result rounds,
# and an exception (an overflow, a nan) reaches every later one.
_register("cumsum", "scan", 1, lambda ctx, x, args: _obj(np.cumsum(np.asarray(x), *args)),
          lambda x, args: np.cumsum(x, *args))
_register("cumprod", "scan", 1, lambda ctx, x, args: _obj(np.cumprod(np.asarray(x), *args)),
          lambda x, args: np.cumprod(x, *args))


def _sorting_positions(x, args):
    """The positions sorting x along an axis (``args``: axis, descending, k), the same code on
    exact and float values: a stable sort of each lane, equal elements in their order in x,
    nan last ascending and first descending; the first k positions where k is given."""
    axis, descending, k = args
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("sort: an array of one dimension or more is needed")
    lanes = np.moveaxis(x, axis, -1)
    n = lanes.shape[-1]
    if k is not None and not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for a dimension of size {n}")
    out = np.empty(lanes.shape[:-1] + (n if k is None else k,), dtype=np.intp)
    for at in np.ndindex(lanes.shape[:-1]):
        lane = list(lanes[at])
        nan = [bool(np.isnan(float(v))) for v in lane]  # an exact (mpf) nan too

        def key(i, lane=lane, nan=nan):
            if descending:
                return (not nan[i], 0 if nan[i] else -lane[i])
            return (nan[i], 0 if nan[i] else lane[i])
        out[at] = sorted(range(n), key=key)[:k]
    return np.moveaxis(out, -1, axis)


def _extreme_positions(x, args, largest: bool):
    """np.argmax (largest) or np.argmin of x along axis (None: of the flattened x): the first
    extreme element's position, the first nan's where a lane has one, as NumPy's."""
    axis, keepdims = args
    x = np.asarray(x)
    lanes = np.reshape(x, (1, -1)) if axis is None else np.moveaxis(x, axis, -1)
    if lanes.shape[-1] == 0:
        raise ValueError("attempt to get argmax of an empty sequence")
    out = np.empty(lanes.shape[:-1], dtype=np.intp)
    for at in np.ndindex(lanes.shape[:-1]):
        lane = list(lanes[at])
        nan = [i for i, v in enumerate(lane) if np.isnan(float(v))]  # an exact (mpf) nan too
        if nan:
            out[at] = nan[0]
            continue
        best = 0
        for i in range(1, len(lane)):
            if (lane[i] > lane[best]) if largest else (lane[i] < lane[best]):
                best = i
        out[at] = best
    if axis is None:
        out = out.reshape(())
        return out.reshape((1,) * x.ndim) if keepdims else out
    return np.expand_dims(out, axis) if keepdims else out


for _name in ("argmax", "argmin"):
    _register(_name, "positions", 1,
              lambda ctx, x, args, largest=_name == "argmax": _extreme_positions(x, args, largest),
              lambda x, args, largest=_name == "argmax": _extreme_positions(x, args, largest), rounds=False)


# Sorting positions: integers, exact in both arithmetics (kind "positions": no exception reaches them).
_register("argsort", "positions", 1, lambda ctx, x, args: _sorting_positions(x, args), _sorting_positions,
          rounds=False)


# np.hstack and its kin: kind "join" too (static ``args`` (how,), the function's name).
for _name, _fn in (("hstack", np.hstack), ("vstack", np.vstack), ("column_stack", np.column_stack),
                   ("dstack", np.dstack)):
    _register(_name, "join", None, lambda ctx, *arrays, args, fn=_fn: _obj(fn([np.asarray(a) for a in arrays])),
              lambda *arrays, args, fn=_fn: fn([np.asarray(a) for a in arrays]), rounds=False)


# Joins: kind "join" (the arrays, then static ``args`` (axis,)); nothing rounds.
for _name, _fn in (("stack", np.stack), ("concatenate", np.concatenate)):
    _register(_name, "join", None, lambda ctx, *arrays, args, fn=_fn: _obj(fn([np.asarray(a) for a in arrays], *args)),
              lambda *arrays, args, fn=_fn: fn([np.asarray(a) for a in arrays], *args), rounds=False)


# x[index] with positions known when the module runs: kind "gather" (x, then the arrays its
# index reads); nothing rounds, and an exception moves with the element read.
_register("gather_index", "gather", None, lambda ctx, x, *arrays, args: _obj(_gather(x, *arrays, args=args)), _gather,
          rounds=False)


# An integer read off a shape (derivgen/ops/sizes.py): exact in both arithmetics, no gradient.
_register("size", "size", 1, lambda ctx, x, args: _obj(np.asarray(ctx.mpf(_size(x, args)))),
          lambda x, args: np.asarray(_size(x, args)), rounds=False)


def _check(template, operands):
    """An assert of the source (derivgen/ops/sizes.py), on its operands' shapes and sizes:
    AssertionError with the source's message where it fails, as the module's check raises."""
    static, left, right = template.args
    relation, message, error = static.value

    def side(e):
        if isinstance(e, sp.Tuple):
            return tuple(side(item) for item in e.args)
        head = type(e).__name__  # heads by name, as _compile reads them
        if head == "shape_of":
            return np.shape(operands[_placeholder(e.args[0])])
        if head == "shape_part":
            return np.shape(operands[_placeholder(e.args[0])])[slice(*e.args[1].value)]
        if head == "size_of":
            return _size(operands[_placeholder(e.args[0])], e.args[1].value)
        if isinstance(e, sp.Symbol):  # a size computed from others (n * d): a 0-d array
            return float(np.asarray(operands[_placeholder(e)]).item())
        return float(e)

    holds = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
             ">": operator.gt, ">=": operator.ge}[relation](side(left), side(right))
    if not holds:
        raise {"AssertionError": AssertionError, "ValueError": ValueError, "TypeError": TypeError}[error](message)
    return np.zeros(())


def _placeholder(symbol) -> int:
    return int(symbol.name[2:])


_register("check", "size", None, lambda ctx, *operands, args: _check(args, operands),
          lambda *operands, args: _check(args, operands), rounds=False)


# ---- arithmetic ---------------------------------------------------------------------------------

class Perturbation:
    """A reproducible relative perturbation of every rounded result of an evaluation.

    The k-th rounded result of an evaluation is multiplied elementwise by 1 + d, with d
    uniform in [-size, size] float64 units (2**-52) and fixed by (seed, k, shape), so that
    repeated evaluations of one program perturb each node the same way and the perturbed
    program is itself a smooth function of its inputs. How far its value and finite-difference
    gradient move estimates the rounding error any float64 evaluation must be allowed.
    """

    def __init__(self, seed: int = 0, size: float = 2.0):
        self.seed, self.size = seed, size
        self._factors: dict = {}

    def factor(self, ctx, k: int, shape: tuple) -> np.ndarray:
        key = (ctx.dps, k, shape)
        if key not in self._factors:
            rng = np.random.default_rng([self.seed, k])
            d = rng.uniform(-self.size, self.size, size=shape) * _UNIT
            self._factors[key] = _obj(np.frompyfunc(lambda v: 1 + ctx.mpf(float(v)), 1, 1)(d))
        return self._factors[key]


class Exact:
    """High-precision arithmetic: values are NumPy object arrays of mpmath numbers.

    ``Exact(dps)`` computes every op to about ``dps`` significant digits. With a
    :class:`Perturbation`, each rounded result (and each operand of a sum or a matrix product,
    whose float evaluation rounds once per term) is perturbed by a couple of float64 units:
    use a fresh ``Exact`` per evaluation, since the perturbations are counted from the start.
    """

    exact = True

    def __init__(self, dps: int = DEFAULT_DPS, perturbation: Perturbation | None = None):
        self.ctx = context(dps)
        self.perturbation = perturbation
        self._rounded = 0
        # The results of the piecewise-constant ops, in the order they are computed: where a
        # finite difference changes one, it has crossed a step (floor(expm1(y)) at y = 142
        # rises in steps far narrower than any difference's: its slope there is not the
        # op's derivative, 0).
        self.steps: list = []

    def input(self, value) -> np.ndarray:
        """A float array (or number) as exact mpf values."""
        array = np.asarray(value, dtype=np.float64)
        with np.errstate(all="ignore"):
            return _obj(np.frompyfunc(self.ctx.mpf, 1, 1)(array))

    def constant(self, value) -> np.ndarray:
        """A number (int, float, Fraction) or a bool as a 0-d array."""
        if isinstance(value, (bool, np.bool_)):
            return np.asarray(bool(value))
        if isinstance(value, Fraction):
            return _obj(self.ctx.mpf(value.numerator) / value.denominator)
        return _obj(self.ctx.mpf(value))

    def call(self, name: str, *operands, **static):
        kernel = KERNELS[name]
        if self.perturbation is not None and kernel.rounds and kernel.kind in ("reduction", "linalg", "scan", "contraction"):
            operands = tuple(self._perturb(x) for x in operands)
        with np.errstate(all="ignore"):  # object loops report nan results as float errors
            result = kernel.exact(self.ctx, *operands, **static)
            if self.perturbation is not None and kernel.rounds:
                result = self._perturb(result)
        if name in STEPWISE:
            self.steps.append(result)
        elif name in JUMPS:
            step = _quotient if JUMPS[name] == "floor" else _truncated
            with np.errstate(all="ignore"):
                self.steps.append(_obj(np.frompyfunc(lambda a, b: step(self.ctx, a, b) if b != 0 and self.ctx.isfinite(a)
                                                     and self.ctx.isfinite(b) else self.ctx.nan, 2, 1)(*operands)))
        return result

    def _perturb(self, x):
        self._rounded += 1
        return _obj(x * self.perturbation.factor(self.ctx, self._rounded, np.shape(x)))

    def to_float(self, value, dtype=np.float64) -> np.ndarray:
        return to_float(value, dtype)


class Tracked(NamedTuple):
    """A naive value and where a floating-point exception reached it (bool array); ``mixed``
    marks the exceptions that came through a reduction, a matrix product or a transpose,
    where a where()'s condition cannot mask them (derivgen's NaN-safe branches guard
    elementwise work only), so a where passes them on from either branch."""

    value: np.ndarray
    bad: np.ndarray
    mixed: np.ndarray | None = None


# Ops that may leave elements of their first operand out (an index, a triangle, a diagonal, a
# part of a split): an exception at such an element happened, though no output shows it.
_DROPS = ("getitem", "gather_index", "take_along_axis", "tril", "triu", "diag", "diagonal", "split_part")


def _drops_bad(kernel, bad, static, arrays=()) -> bool:
    """Whether an index leaves out an element an exception reached (``arrays``: the positions
    a gather's index reads)."""
    if not bad.any():
        return False
    read = np.zeros(bad.shape, dtype=bool)
    # each element's position + 1 moved as the op moves it; 0: none (the zeros np.tril writes)
    moved = np.asarray(kernel.naive(np.arange(1, bad.size + 1).reshape(bad.shape), *arrays, **static)).ravel()
    read.flat[moved[moved > 0] - 1] = True
    return bool(np.any(bad & ~read))


def _broadcast_or(bads, shape) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    for b in bads:
        out = out | b
    return out


class Naive:
    """Plain NumPy floating-point arithmetic in ``dtype``, one op at a time.

    This is the "naive evaluation" a program would get from a person translating it op by op
    into NumPy: it rounds after every op and overflows where float64 (or float32) does.
    Evaluation never warns (errors are ignored). With ``track=True`` values are
    :class:`Tracked` pairs: ``bad`` marks the elements that a floating-point exception (a
    result that is not finite) reached, following each element's dependencies: through
    elementwise ops, along reduced axes, the rows and columns of a matrix product, and into a
    where() only from the branch selected at that element (or from the condition).
    ``dropped`` says whether an exception happened at an element an index then left out: no
    element of the output shows it, but NumPy computed it (and warned of it).
    """

    exact = False

    def __init__(self, dtype=np.float64, track: bool = False):
        self.dtype = np.dtype(dtype)
        self.track = track
        self.dropped = False

    def input(self, value):
        array = np.array(value, dtype=self.dtype)
        return Tracked(array, np.zeros(array.shape, dtype=bool)) if self.track else array

    def constant(self, value):
        if isinstance(value, (bool, np.bool_)):
            array = np.asarray(bool(value))
        else:
            array = np.asarray(float(value), dtype=self.dtype)
        return Tracked(array, np.zeros((), dtype=bool)) if self.track else array

    def call(self, name: str, *operands, **static):
        kernel = KERNELS[name]
        if not self.track:
            return self._compute(kernel, operands, static)
        values = [None if o is None else o.value for o in operands]
        result = self._compute(kernel, values, static)
        bad = self._propagate(kernel, operands, values, result, static)
        if kernel.name in _DROPS and not self.dropped:
            self.dropped = _drops_bad(kernel, np.broadcast_to(operands[0].bad, np.shape(values[0])), static,
                                      values[1:])
        shape = np.shape(result)
        mixes = [np.broadcast_to(o.mixed if o.mixed is not None else False, np.shape(v))
                 for o, v in zip(operands, values) if o is not None]
        if kernel.name == "where":
            c, a, b = (np.broadcast_to(x, shape) for x in mixes)
            cond = np.broadcast_to(values[0], shape)
            a_bad, b_bad = (np.broadcast_to(o.bad, shape) for o in operands[1:])
            # An exception in the branch not taken reaches the output where it is mixed.
            bad = bad | np.where(cond, b & b_bad, a & a_bad)
            mixed = c | np.where(cond, a, b) | np.where(cond, b & b_bad, a & a_bad)
        elif kernel.kind in ("elementwise", "condition"):
            mixed = _broadcast_or(mixes, shape)
        else:  # reductions, matrix products, transposes: whatever exception they carry
            mixed = bad
        if result.dtype.kind == "f":
            bad = bad | ~np.isfinite(result)
        return Tracked(result, bad, np.asarray(mixed))

    def _compute(self, kernel, operands, static):
        with np.errstate(all="ignore"):
            if kernel.kind == "reduction":  # NumPy's mean of nothing warns as a Python warning
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    result = np.asarray(kernel.naive(*operands, **static))
            else:
                result = np.asarray(kernel.naive(*operands, **static))
        if result.dtype.kind in "fiu" and result.dtype != self.dtype:
            result = result.astype(self.dtype)
        return result

    @staticmethod
    def _propagate(kernel, operands, values, result, static) -> np.ndarray:
        shape = np.shape(result)
        bads = [np.broadcast_to(o.bad, np.shape(v)) for o, v in zip(operands, values) if o is not None]
        if kernel.name == "where":
            c, a, b = (np.broadcast_to(x, shape) for x in bads)
            cond = np.broadcast_to(values[0], shape)
            return c | np.where(cond, a, b)
        if kernel.kind in ("elementwise", "condition"):
            return _broadcast_or(bads, shape)
        if kernel.kind == "reduction":
            return np.asarray(np.any(bads[0], axis=_axis(static.get("axis")),
                                     keepdims=static.get("keepdims", False)))
        if kernel.name == "transpose":
            return np.transpose(bads[0])
        if kernel.kind == "size":  # read off the shape alone: no exception reaches it
            return np.zeros((), dtype=bool)
        if kernel.name in ("argmax", "argmin"):  # the position of a nan: an exception along the axis reaches it
            axis, keepdims = static["args"]
            return np.asarray(np.any(bads[0], axis=axis, keepdims=keepdims))
        if kernel.kind in ("constant", "positions"):  # constants; integers (an exception moves with what they read)
            return np.zeros(shape, dtype=bool)
        if kernel.kind == "layout":  # the exceptions move with the elements
            return np.asarray(kernel.naive(bads[0], **static))
        if kernel.kind == "scan":  # an exception reaches every later partial sum
            (axis,) = static["args"]
            return np.cumsum(bads[0], axis) > 0 if bads[0].size else np.cumsum(bads[0], axis).astype(bool)
        if kernel.kind == "join":  # each array's exceptions, where it lands
            return np.asarray(kernel.naive(*bads, **static))
        if kernel.kind == "gather":  # so too here; none reaches the positions read
            return np.asarray(kernel.naive(bads[0], *values[1:], **static))
        if kernel.kind == "contraction":  # an exception reaches every sum its element is a term of
            ones = [np.ones(np.shape(v)) for v in values]
            reach = sum(np.asarray(kernel.naive(*ones[:k], b.astype(np.float64), *ones[k + 1:], **static)) > 0
                        for k, b in enumerate(bads))
            return np.asarray(reach > 0)
        product = np.matmul if kernel.name == "matmul" else np.dot
        a, b = (x.astype(np.float64) for x in bads)
        reach = product(a, np.ones(b.shape)) + product(np.ones(a.shape), b)
        return np.asarray(reach > 0)

    def to_float(self, value, dtype=None) -> np.ndarray:
        value = value.value if isinstance(value, Tracked) else value
        return np.asarray(value, dtype=dtype or self.dtype)


def to_float(value, dtype=np.float64) -> np.ndarray:
    """An exact (object) or float array rounded to ``dtype``; beyond its range, a signed inf."""
    if isinstance(value, Tracked):
        value = value.value
    value = np.asarray(value)
    if value.dtype != object:
        return value.astype(dtype)
    with np.errstate(all="ignore"):
        out = np.asarray(np.frompyfunc(float, 1, 1)(value), dtype=np.float64)
        return out.astype(dtype)


# ---- the program graph ----------------------------------------------------------------------

# SymPy function heads (by class name, as symbolic.py and ops.py build them) -> kernels.
_HEADS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos", "atan": "arctan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "arcsinh", "acosh": "arccosh",
    "atanh": "arctanh", "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "Abs": "abs", "sign": "sign", "floor": "floor",
    "ceiling": "ceil", "erf": "erf", "sigmoid": "sigmoid", "softplus": "softplus", "relu": "relu",
    "atan2": "arctan2", "hypot": "hypot", "maximum": "maximum", "minimum": "minimum", "Max": "maximum",
    "Min": "minimum", "logaddexp": "logaddexp", "clip": "clamp", "where": "where",
    "floor_divide": "floor_divide", "remainder": "remainder", "fmod": "fmod",
    "hardtanh": "hardtanh", "tanhshrink": "tanhshrink", "ndtr": "ndtr",
    **{name: name for name in _SPECIAL_EXACT}, "cbrt": "cbrt", "logaddexp2": "logaddexp2", "copysign": "copysign",
    "heaviside": "heaviside",
    "matmul": "matmul", "dot": "dot", "transpose": "transpose", "zeros_like": "zeros_like",
}
_REDUCTIONS = {"reduce_sum": "sum", "reduce_mean": "mean", "reduce_logsumexp": "logsumexp", "reduce_max": "amax",
               "reduce_min": "amin", "reduce_max_first": "amax", "reduce_min_first": "amin", "reduce_prod": "prod"}
_MOVED = {"getitem": "getitem", "reshape": "reshape", "flatten": "flatten", "squeeze": "squeeze", "expand_to": "broadcast_to",
          "new_axes": "expand_dims", "permute": "permute", "swapaxes": "swapaxes", "moveaxis": "moveaxis", "roll": "roll", "diagonal": "diagonal", "tril": "tril", "triu": "triu", "diag": "diag", "tile": "tile",
          "repeat": "repeat", "pad": "pad", "split_part": "split_part",
          "flip": "flip"}
_RELATIONS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}

Plan = Callable[[Any, Sequence], Any]  # (arith, operand values) -> value


def _number(expr) -> int | float | Fraction | bool:
    """A SymPy number as the value the NumPy program uses."""
    if isinstance(expr, sp.logic.boolalg.BooleanAtom):
        return bool(expr)
    if expr is sp.oo:
        return math.inf
    if expr is sp.S.NegativeInfinity:
        return -math.inf
    if expr is sp.nan or expr is sp.zoo:
        return math.nan
    if isinstance(expr, sp.Integer):
        return int(expr)
    if isinstance(expr, sp.Rational):
        return Fraction(int(expr.p), int(expr.q))
    return float(expr)  # Floats (float64 values, as the parser makes them), pi, E


def _is_number(expr) -> bool:
    return (isinstance(expr, sp.logic.boolalg.BooleanAtom) or expr.is_Number
            or isinstance(expr, sp.NumberSymbol) or expr in (sp.oo, sp.S.NegativeInfinity, sp.zoo))


def _fold(name: str, plans: list[Plan]) -> Plan:
    def run(arith, args):
        value = plans[0](arith, args)
        for plan in plans[1:]:
            value = arith.call(name, value, plan(arith, args))
        return value
    return run


def _const(value) -> Plan:
    return lambda arith, args: arith.constant(value)


def _compile(expr) -> Plan:
    """A template (SymPy over placeholders _a0, _a1, ...) as a function of the operand values."""
    if isinstance(expr, sp.Symbol):
        index = int(expr.name[2:])
        return lambda arith, args: args[index]
    if _is_number(expr):
        return _const(_number(expr))
    if isinstance(expr, sp.Add):
        return _compile_add(expr)
    if isinstance(expr, sp.Mul):
        return _compile_mul(expr)
    if isinstance(expr, sp.Pow):
        return _compile_pow(expr)
    if isinstance(expr, sp.core.relational.Relational):
        name = _RELATIONS[expr.rel_op]
        return _fold(name, [_compile(expr.lhs), _compile(expr.rhs)])
    if isinstance(expr, (sp.And, sp.Or)):
        return _fold("and" if isinstance(expr, sp.And) else "or", [_compile(a) for a in expr.args])
    if isinstance(expr, sp.Not):
        inner = _compile(expr.args[0])
        return lambda arith, args: arith.call("not", inner(arith, args))
    head = type(expr).__name__
    if head == "shaped_condition":  # a folded condition, in its operands' broadcast shape
        value, *operands = expr.args
        same = [_fold("eq", [_compile(o), _compile(o)]) for o in operands]
        return _fold("and" if not value else "or", [_const(bool(value)), *same])
    if head == "as_numbers":  # positions as numbers: the same values
        return _compile(expr.args[0])
    if head == "check":  # an assert: the values it reads are its placeholders, in order
        return lambda arith, args: arith.call("check", *args, args=expr)
    if head == "size_of":  # an integer read off a shape: its operand, then which one
        operand = _compile(expr.args[0])
        what = expr.args[1].value
        return lambda arith, args: arith.call("size", operand(arith, args), args=what)
    if head in _MOVED:  # an op that moves elements: its operand, then its static arguments
        operand = _compile(expr.args[0])
        name, static = _MOVED[head], expr.args[1].value
        return lambda arith, args: arith.call(name, operand(arith, args), args=static)
    if head in ("filled", "eye", "linspace", "arange"):  # an array of constants (its sizes read off an operand)
        plans = [_compile(a) for a in expr.args[:-1]]
        static = expr.args[-1].value
        return lambda arith, args: arith.call(head, *(p(arith, args) for p in plans), args=static)
    if head in ("cumsum", "cumprod", "argsort", "argmax", "argmin"):  # a scan, or positions: x, then (axis, ...)
        operand = _compile(expr.args[0])
        static = expr.args[1].value
        return lambda arith, args: arith.call(head, operand(arith, args), args=static)
    if head in ("einsum", "tensordot"):  # the operands, then the subscripts or the axes
        plans = [_compile(a) for a in expr.args[:-1]]
        static = expr.args[-1].value
        return lambda arith, args: arith.call(head, *(p(arith, args) for p in plans), args=static)
    if head == "kron":
        plans = [_compile(a) for a in expr.args]
        return lambda arith, args: arith.call("kron", *(p(arith, args) for p in plans), args=())
    if head == "joined":  # np.hstack and its kin: the arrays, then (how,)
        plans = [_compile(a) for a in expr.args[:-1]]
        static = expr.args[-1].value
        return lambda arith, args: arith.call(static[0], *(p(arith, args) for p in plans), args=static)
    if head in ("stack", "concatenate"):
        plans = [_compile(a) for a in expr.args[:-1]]
        static = expr.args[-1].value
        return lambda arith, args: arith.call(head, *(p(arith, args) for p in plans), args=static)
    if head == "take_along":
        plans = [_compile(a) for a in expr.args[:-1]]
        static = expr.args[-1].value
        return lambda arith, args: arith.call("take_along_axis", *(p(arith, args) for p in plans), args=static)
    if head == "gather":  # x and the arrays of positions its index reads, then the index
        plans = [_compile(a) for a in expr.args[:-1]]
        static = expr.args[-1].value
        return lambda arith, args: arith.call("gather_index", *(p(arith, args) for p in plans), args=static)
    if head in _REDUCTIONS:
        operand = _compile(expr.args[0])
        keepdims = bool(int(expr.args[1]))
        axes = tuple(int(a) for a in expr.args[2:]) or None
        name = _REDUCTIONS[head]
        return lambda arith, args: arith.call(name, operand(arith, args), axis=axes, keepdims=keepdims)
    if head == "log":
        operand = _compile(expr.args[0])
        if len(expr.args) == 1:
            return lambda arith, args: arith.call("log", operand(arith, args))
        base = _compile(expr.args[1])
        return lambda arith, args: arith.call("div", arith.call("log", operand(arith, args)),
                                              arith.call("log", base(arith, args)))
    if head not in _HEADS:
        raise NotImplementedError(f"no reference kernel for {head} in {expr}")
    name = _HEADS[head]
    plans = [_compile(a) for a in expr.args]
    if name == "clamp":
        return lambda arith, args: arith.call("clamp", *(p(arith, args) for p in plans))
    return lambda arith, args: arith.call(name, *(p(arith, args) for p in plans))


def _negated(term):
    """t where term is -t (a product with coefficient -1), else None."""
    coeff, rest = term.as_coeff_Mul()
    if coeff == -1 and rest != 1:
        return rest
    return None


def _compile_add(expr) -> Plan:
    terms = [(False, _compile(t)) if _negated(t) is None else (True, _compile(_negated(t)))
             for t in expr.args]
    terms.sort(key=lambda t: t[0])  # a positive term first where there is one

    def run(arith, args):
        negative, plan = terms[0]
        value = plan(arith, args)
        if negative:
            value = arith.call("neg", value)
        for negative, plan in terms[1:]:
            value = arith.call("sub" if negative else "add", value, plan(arith, args))
        return value
    return run


def _compile_mul(expr) -> Plan:
    coeff = sp.Integer(1)
    numerator, denominator = [], []
    for factor in expr.args:
        if _is_number(factor) and not isinstance(factor, sp.logic.boolalg.BooleanAtom):
            coeff = coeff * factor
        elif isinstance(factor, sp.Pow) and factor.exp.is_Number and factor.exp < 0:
            denominator.append(_compile(factor.base) if factor.exp == -1
                               else _compile_pow(sp.Pow(factor.base, -factor.exp, evaluate=False)))
        else:
            numerator.append(_compile(factor))
    negate = False
    if isinstance(coeff, sp.Rational):
        p, q = int(coeff.p), int(coeff.q)
        if p == -1:
            negate = True
        elif p != 1 or not numerator:
            numerator.insert(0, _const(p))
        if q != 1:
            denominator.insert(0, _const(q))
    elif coeff != 1:
        numerator.insert(0, _const(_number(coeff)))
    if not numerator:
        numerator = [_const(1)]
    top = _fold("mul", numerator)
    bottom = _fold("mul", denominator) if denominator else None

    def run(arith, args):
        value = top(arith, args)
        if bottom is not None:
            value = arith.call("div", value, bottom(arith, args))
        return arith.call("neg", value) if negate else value
    return run


def _compile_pow(expr) -> Plan:
    base, exponent = _compile(expr.base), expr.exp
    if exponent == -1:
        return lambda arith, args: arith.call("div", arith.constant(1), base(arith, args))
    if exponent == sp.S.Half:
        return lambda arith, args: arith.call("sqrt", base(arith, args))
    if exponent == -sp.S.Half:
        return lambda arith, args: arith.call("div", arith.constant(1), arith.call("sqrt", base(arith, args)))
    power = _compile(exponent)
    return lambda arith, args: arith.call("pow", base(arith, args), power(arith, args))


class GraphProgram:
    """A parsed program, ready to be evaluated many times in any arithmetic.

    Only the values the output depends on are evaluated, in graph order; each template is
    compiled once into nested calls of :data:`KERNELS`.
    """

    def __init__(self, program):
        graph = program.graph
        self.program = program
        self.inputs = tuple(program.inputs)
        self.steps = []
        for vid in sorted(graph.ancestors([program.output, *program.checks])):
            value = graph[vid]
            if value.template is None:
                self.steps.append((vid, value.name, None, ()))
            else:
                self.steps.append((vid, None, _compile(value.template), value.args))
        self.output = program.output

    def __call__(self, arith, inputs: Mapping[str, Any]):
        """The output, given each input already in ``arith``'s representation."""
        values = {}
        for vid, name, plan, args in self.steps:
            if plan is None:
                values[vid] = inputs[name]
            else:
                values[vid] = plan(arith, [values[a] for a in args])
        return values[self.output]


def _program(program_or_source, function=None):
    if isinstance(program_or_source, GraphProgram):
        return program_or_source
    if isinstance(program_or_source, str):
        from .frontend import parse
        program_or_source = parse(program_or_source, function)
    return GraphProgram(program_or_source)


def _input_dict(names, inputs) -> dict:
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        if missing:
            raise ValueError(f"no value for input(s) {', '.join(missing)}; inputs: {', '.join(names)}")
        return {n: inputs[n] for n in names}
    inputs = list(inputs)
    if len(inputs) != len(names):
        raise ValueError(f"expected {len(names)} inputs ({', '.join(names)}), got {len(inputs)}")
    return dict(zip(names, inputs))


def evaluate(program, inputs, *, function: str | None = None, dps: int = DEFAULT_DPS, arith=None):
    """The output of a parsed program (or source, with ``function`` its entry function) on
    ``inputs`` (a dict, or the values in input order).

    Exact by default: an object array of mpf at ``dps`` digits (:func:`to_float` rounds it);
    pass ``arith`` (an :class:`Exact` or :class:`Naive`) to choose the arithmetic.
    """
    prog = _program(program, function)
    arith = arith or Exact(dps)
    values = _input_dict(prog.inputs, inputs)
    return prog(arith, {n: arith.input(v) for n, v in values.items()})


def evaluate_naive(program, inputs, dtype=np.float64, *, function: str | None = None) -> np.ndarray:
    """The output of a parsed program (or source) computed op by op in plain NumPy ``dtype``."""
    return evaluate(program, inputs, function=function, arith=Naive(dtype))


# ---- finite differences ----------------------------------------------------------------------

@dataclass
class Jacobian:
    """Finite-difference derivatives of a function's output with respect to each input element.

    ``columns[name][i]`` is the derivative of the whole output (an object array of the output's
    shape) with respect to element ``i`` (flat index) of input ``name``, by a central difference
    at the tiny step; ``smooth[name][i]`` is a bool array of the output's shape, True where that
    derivative is finite and agrees with the one-sided differences and with the wide central
    difference. ``perturbed`` holds the same derivatives of the perturbed function, where a
    :class:`Perturbation` was given.
    """

    value: np.ndarray
    shapes: dict[str, tuple]
    columns: dict[str, list]
    smooth: dict[str, list]
    perturbed: dict[str, list] | None = None
    dps: int = DEFAULT_DPS
    smooth32: dict[str, list] | None = None  # per input element: no kink within float32 rounding

    def smooth_in_float32(self) -> dict:
        """Per input element (arrays of the inputs' shapes): whether no kink lies within a
        float32 rounding of the point, so a float32 evaluation sees the same slope."""
        return {n: np.array(self.smooth32[n], dtype=bool).reshape(self.shapes[n]) for n in self.shapes}

    def vjp(self, grad_output=1.0) -> tuple[dict, dict, dict]:
        """(gradients, smooth, spread) of ``sum(grad_output * f)``, each a dict of float64 arrays
        of the inputs' shapes; ``spread`` is how far the perturbed function's gradient is from the
        exact one (zeros without a perturbation)."""
        with np.errstate(all="ignore"):
            return self._vjp(grad_output)

    def _vjp(self, grad_output):
        ctx = context(self.dps)
        shape = np.shape(self.value)
        g = _obj(np.frompyfunc(ctx.mpf, 1, 1)(np.broadcast_to(np.asarray(grad_output, dtype=np.float64),
                                                              shape)))
        grads, smooth, spread = {}, {}, {}
        for name, in_shape in self.shapes.items():
            exact = [_total(g * col) for col in self.columns[name]]
            grads[name] = to_float(_vector(exact)).reshape(in_shape)
            flags = [bool(np.all(s)) for s in self.smooth[name]]
            smooth[name] = np.array(flags, dtype=bool).reshape(in_shape)
            if self.perturbed is not None:
                moved = [abs(_total(g * col) - e) for col, e in zip(self.perturbed[name], exact)]
                spread[name] = to_float(_vector(moved)).reshape(in_shape)
            else:
                spread[name] = np.zeros(in_shape)
        return grads, smooth, spread


def _total(x):
    return np.sum(x) if np.size(x) else 0


def _vector(items) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def jacobian(function: Callable, inputs: Mapping[str, Any], wrt: Sequence[str] | None = None, *,
             dps: int = DEFAULT_DPS, step: float = STEP, wide_step: float = WIDE_STEP,
             perturbation: Perturbation | None = None) -> Jacobian:
    """Finite-difference derivatives of ``function(arith, values)`` (values: name -> array in
    ``arith``'s representation) at float ``inputs``, with respect to the inputs in ``wrt``.

    Each element x of each input is moved by h = step * max(1, |x|) (central and one-sided
    differences) and by H = wide_step * max(|x|, 1e-3) (central difference), in exact arithmetic
    at ``dps`` digits: four evaluations per element, one more with a ``perturbation``.
    """
    with np.errstate(all="ignore"):  # object loops report nan results as float errors
        return _jacobian(function, inputs, wrt, dps, step, wide_step, perturbation)


def _same_steps(a: list, b: list) -> bool:
    """Whether two evaluations took the same steps of every piecewise-constant op."""
    return len(a) == len(b) and all(np.shape(x) == np.shape(y) and bool(np.all(np.asarray(x == y, dtype=bool)))
                                    for x, y in zip(a, b))


def _jacobian(function, inputs, wrt, dps, step, wide_step, perturbation) -> Jacobian:
    arith0 = Exact(dps)
    ctx = arith0.ctx
    base = {n: arith0.input(v) for n, v in inputs.items()}
    at_base = Exact(dps)
    value = function(at_base, base)
    names = list(inputs) if wrt is None else list(wrt)
    perturbed_base = function(Exact(dps, perturbation), base) if perturbation is not None else None
    size = 1 + _max_abs(value, ctx)
    noise = 1e-25 * size  # what the differences of values at ``dps`` digits cannot resolve
    coarse = 1e-12 * size  # slope changes smaller than this do not count as kinks
    columns, smooth, perturbed = {}, {}, ({} if perturbation is not None else None)
    smooth32: dict[str, list] = {}
    for name in names:
        x0 = base[name]
        cols, flags, pcols, flags32 = [], [], [], []
        for i in range(x0.size):
            xi = x0.reshape(-1)[i]

            crossed = []  # whether an evaluation took another step of a piecewise-constant op

            def at(delta, arith=None, x0=x0, i=i, xi=xi, name=name, crossed=crossed):
                moved = x0.copy()
                moved.reshape(-1)[i] = xi + delta
                arith = arith or Exact(dps)
                result = function(arith, {**base, name: moved})
                crossed.append(not _same_steps(arith.steps, at_base.steps))
                return result

            h = ctx.mpf(step) * max(1, abs(xi))
            wide = ctx.mpf(wide_step) * max(abs(xi), ctx.mpf(1e-3))
            plus, minus, wide_plus, wide_minus = at(h), at(-h), at(wide), at(-wide)
            central = _obj((plus - minus) / (2 * h))
            forward, backward = _obj((plus - value) / h), _obj((value - minus) / h)
            central_wide = _obj((wide_plus - wide_minus) / (2 * wide))
            cols.append(central)
            flags.append(_agree(forward, backward, 1e-10, noise, ctx)
                         & _agree(central, central_wide, 1e-7, coarse, ctx) & (not any(crossed)))
            # A kink within float32 rounding of the point (3.0**x at x = 1e-8 rounds to a
            # clamp's bound 1.0): one-sided differences at float32's relative step disagree.
            h32 = ctx.mpf(FLOAT32_STEP) * max(abs(xi), ctx.mpf(1e-3))
            up, down = _obj((at(h32) - value) / h32), _obj((value - at(-h32)) / h32)
            flags32.append(_agree(up, down, 1e-2, 1e-2 * coarse / 1e-12, ctx) & (not any(crossed)))
            if perturbation is not None:
                pcols.append(_obj((at(h, Exact(dps, perturbation)) - perturbed_base) / h))
        columns[name], smooth[name] = cols, flags
        smooth32[name] = [bool(np.all(f)) for f in flags32]
        if perturbed is not None:
            perturbed[name] = pcols
    shapes = {n: np.shape(base[n]) for n in names}
    return Jacobian(value, shapes, columns, smooth, perturbed, dps, smooth32)


def _max_abs(x, ctx):
    finite = [abs(v) for v in np.asarray(x).reshape(-1) if ctx.isfinite(v)]
    return max(finite) if finite else ctx.zero


def _agree(a, b, rtol, atol, ctx) -> np.ndarray:
    def ok(x, y):
        if not (ctx.isfinite(x) and ctx.isfinite(y)):
            return False
        return abs(x - y) <= rtol * max(abs(x), abs(y)) + atol
    return np.asarray(np.frompyfunc(ok, 2, 1)(a, b), dtype=bool)


@dataclass
class Reference:
    """The reference value and gradients of a program at one point.

    ``value``: float64 array (rounded from ``exact``, an object array of mpf); ``grads`` and
    ``smooth``: dicts name -> float64 / bool array of that input's shape.
    """

    value: np.ndarray
    exact: np.ndarray
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    smooth: dict[str, np.ndarray] = field(default_factory=dict)


def value_and_grad(program_or_source, inputs, wrt: Sequence[str] | None = None, grad_output=None,
                   function: str | None = None, *, dps: int = DEFAULT_DPS, step: float = STEP,
                   wide_step: float = WIDE_STEP) -> Reference:
    """The exact value and finite-difference gradients of a program.

    ``program_or_source``: source text (parsed with ``function`` as the entry function), a
    parsed :class:`derivgen.graph.Program` or a :class:`GraphProgram`. ``inputs``: a dict
    name -> number or array, or the values in input order. The gradients are of
    ``sum(grad_output * f)`` (``grad_output`` defaults to 1, or is an array of the output's
    shape) with respect to the inputs in ``wrt`` (default all).
    """
    prog = _program(program_or_source, function)
    values = {n: np.asarray(v, dtype=np.float64) for n, v in _input_dict(prog.inputs, inputs).items()}
    names = [n for n in prog.inputs if n not in prog.program.positions] if wrt is None else list(wrt)
    unknown = [n for n in names if n not in values]
    if unknown:
        raise ValueError(f"wrt names unknown inputs: {', '.join(unknown)}")
    jac = jacobian(prog, values, names, dps=dps, step=step, wide_step=wide_step)
    grads, smooth, _ = jac.vjp(1.0 if grad_output is None else grad_output)
    return Reference(to_float(jac.value), jac.value, grads, smooth)
