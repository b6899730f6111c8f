"""Run-time helpers of the scalar path (Python floats, ``math``), copied into the generated
modules that call them; each mirrors the NumPy path's algorithm, so both paths round alike.

Definitions are copied as those of ``derivgen/backends/numpy/runtime.py`` are (see there).
"""

import math


def _logaddexp_scalar(a, b):
    """log(exp(a) + exp(b)) for Python floats, by the array path's formula (no overflow)."""
    d = a - b
    if d != d:  # equal infinities, or a nan
        return a + b
    return max(a, b) + math.log1p(math.exp(-abs(d)))


def _sigmoid_parts_scalar(z):
    """(sigmoid(z), sigmoid(-z)) for a Python float, as the array path computes them
    (math.exp raises OverflowError where that path switches formulas)."""
    e = math.exp(-z)
    s = 1 / (1 + e)
    return s, e * s


def _softplus_parts_scalar(z):
    """(softplus(z), sigmoid(z)) for a Python float, as the array path computes them."""
    e = math.exp(z)
    return math.log1p(e), e / (1 + e)


def _logaddexp_parts_scalar(a, b):
    """(logaddexp(a, b), sigmoid(a - b), sigmoid(b - a)) for Python floats, by the array
    path's formulas; math does not report an underflow, so it is tested for."""
    ea = math.exp(a)
    eb = math.exp(b)
    s = ea + eb
    if ea >= 2.2250738585072014e-308 and eb >= 2.2250738585072014e-308 and s <= 1.7976931348623157e308:
        out = math.log(s)
        # A log near 0 has lost its digits to the sum's rounding: the max-shifted form there.
        return out if abs(out) >= 0.015625 else _logaddexp_scalar(a, b), ea / s, eb / s
    return _logaddexp_scalar(a, b), 1 / (1 + math.exp(b - a)), 1 / (1 + math.exp(a - b))


def _sech2_scalar(z):
    """sech(z)**2 for a Python float, as the array path computes it."""
    e = 4 * math.exp(-2 * abs(z))
    d = e / 4 + 1
    return e / (d * d)


def _exp_shift_scalar(x):
    """(exp(x - m), m) for a Python float: m = x (0 if x is not finite), so that the
    logsumexp of one number, log(exp(x - m)) + m, is x to the last digit."""
    m = x if math.isfinite(x) else 0.0
    return math.exp(x - m), m


def _ndtr_scalar(x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2 for a Python float, as the array path computes it."""
    return math.erfc(x * -0.7071067811865476) * 0.5


def _heaviside_scalar(x, h):
    """np.heaviside(x, h) for Python floats: 0 below 0, h at 0, 1 above (nan stays nan)."""
    if x != x:
        return x
    return 0.0 if x < 0 else h + 0.0 if x == 0 else 1.0


def _tanhshrink_scalar(x):
    """x - tanh(x) for a Python float, by the array path's formulas."""
    if not abs(x) < 1:
        return x - math.tanh(x)
    s = x * x
    t = s / 19 + 17
    for k in (15, 13, 11, 9, 7, 5, 3):
        t = s / t + k
    y = s / t
    return x * y / (1 + y)
