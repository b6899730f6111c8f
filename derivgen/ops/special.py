"""SciPy's special functions (``scipy.special.``, ``torch.special.``, and the names PyTorch and
math give some of them: ``torch.lgamma``, ``math.lgamma``, ``torch.erfinv``, ``torch.xlogy``).

A generated module that uses one of these calls ``scipy.special`` (imported as ``special``,
named in its header); a module that uses none of them imports NumPy alone. Their values are
SciPy's, in the inputs' floating dtype; their gradients are written with the same functions
(gammaln' = digamma, digamma' = polygamma(1, x), ...), in the forms that stay finite where the
value is: log_ndtr' = sqrt(2/pi) / erfcx(-x/sqrt(2)), exact far into the negative side where
Phi(x) underflows. Each rule says what it gives at its special points (xlogy's gradient in x is
log(y) at x == 0 too, where PyTorch's is 0: x * log(y) is smooth there).
"""

from __future__ import annotations

import sympy as sp

from .. import symbolic as S
from . import _X, _XY, OUT, G, OpSpec, Param, register

ZERO = sp.Integer(0)
_INF = float("inf")
_POSITIVE = ((0.0, _INF), (0.5, 3.0))
_PROBABILITY = ((0.0, 1.0), (0.1, 0.9))
_HALF_SQRT_PI = sp.Float(0.886226925452758)  # sqrt(pi) / 2
_TWO_OVER_SQRT_PI = sp.Float(1.1283791670955126)  # 2 / sqrt(pi)
_SQRT_2_OVER_PI = sp.Float(0.7978845608028654)  # sqrt(2 / pi)
_SQRT_2PI = sp.Float(2.5066282746310002)  # sqrt(2 pi)
_SQRT_HALF = sp.Float(0.7071067811865476)  # 1 / sqrt(2)


def _nonzero(x):
    return S.where(sp.Eq(x, 0), sp.Integer(1), x)


def _one(name, head, d, *, spellings=(), domain=None, hazard=None, note=None, float64=False):
    """A function of one operand, ``d(a, out, g)`` its gradient term."""
    register(OpSpec(name, _X, "elementwise", head, (name, *spellings), head=head,
                    rule=lambda ops, static: (d(ops[0], OUT, G),), numpy=f"{{special}}.{name}({{0}})",
                    hazards=() if hazard is None else ((0, hazard),), domain=domain, note=note,
                    scalar=False, new_array=True, float64=float64))


_XLOGY = (Param("x", aliases=("input", "x1", "self")), Param("y", aliases=("other", "x2")))


def _two(name, head, d, *, params=_XY, spellings=(), domain=None, hazards=(), note=None):
    register(OpSpec(name, params, "elementwise", head, (name, *spellings), head=head,
                    rule=lambda ops, static: tuple(d(ops[0], ops[1], OUT, G)),
                    numpy=f"{{special}}.{name}({{0}}, {{1}})", hazards=hazards, domain=domain, note=note,
                    scalar=False, new_array=True, promotes=2))  # SciPy's (float32, 2.0) is float64


# ---- the gamma family ------------------------------------------------------------------------
# Poles at 0, -1, -2, ...: the values there are SciPy's (gammaln inf, digamma -inf at 0 and nan
# at the negative integers, gamma inf at 0 and nan below).
_one("gammaln", S.gammaln, lambda a, out, g: g * S.digamma(a), spellings=("lgamma",), domain=_POSITIVE,
     hazard=1.0, note="gammaln'(x) = digamma(x)")
_one("digamma", S.digamma, lambda a, out, g: g * S.polygamma(sp.Integer(1), a), spellings=("psi",),
     domain=_POSITIVE, hazard=1.0, note="digamma'(x) = polygamma(1, x)")
_one("gamma", S.gamma, lambda a, out, g: g * out * S.digamma(a), domain=_POSITIVE, hazard=1.0,
     note="gamma'(x) = gamma(x) * digamma(x)")


def _polygamma(n, x):
    """polygamma(n, x) of a whole n >= 0 known now (a Float, as constant parameters are read)."""
    if not (float(n).is_integer() and 0 <= float(n) <= 100):
        raise ValueError("polygamma()'s n must be a whole number from 0 to 100")
    return S.polygamma(sp.Integer(int(n)), x)


register(OpSpec("polygamma", (Param("n", "number"), Param("x", aliases=("input", "a"))), "elementwise",
                _polygamma, ("polygamma",), head=S.polygamma,
                rule=lambda ops, static: (None, G * S.polygamma(ops[0] + 1, ops[1])),
                numpy="{special}.polygamma({0}, {1})", domain=_POSITIVE,
                note="d polygamma(n, x) / dx = polygamma(n + 1, x)", scalar=False, new_array=True,
                float64=True))  # SciPy's polygamma is float64 for float32 x
_AB = (Param("a", aliases=("x1", "input")), Param("b", aliases=("x2", "other")))
_two("beta", S.beta, lambda a, b, out, g: (g * out * (S.digamma(a) - S.digamma(a + b)),
                                           g * out * (S.digamma(b) - S.digamma(a + b))),
     params=_AB, domain=_POSITIVE, hazards=((0, 1.0), (1, 1.0)),
     note="d beta(a, b) / da = beta(a, b) * (digamma(a) - digamma(a + b))")
_two("betaln", S.betaln, lambda a, b, out, g: (g * (S.digamma(a) - S.digamma(a + b)),
                                               g * (S.digamma(b) - S.digamma(a + b))),
     params=_AB, domain=_POSITIVE, hazards=((0, 1.0), (1, 1.0)), note="d betaln(a, b) / da = digamma(a) - digamma(a + b)")

# ---- error functions and the normal distribution ---------------------------------------------
_one("erfc", S.erfc, lambda a, out, g: -g * _TWO_OVER_SQRT_PI * sp.exp(-a**2), note="erfc'(x) = -2 exp(-x**2) / sqrt(pi)")
_one("erfinv", S.erfinv, lambda a, out, g: g * _HALF_SQRT_PI * sp.exp(out**2), domain=((-1.0, 1.0), (-0.9, 0.9)),
     hazard=0.0, note="erfinv'(x) = sqrt(pi) / 2 * exp(erfinv(x)**2)")
_one("erfcx", S.erfcx, lambda a, out, g: g * (2 * a * out - _TWO_OVER_SQRT_PI), hazard=0.0,  # overflows below -9 (float32)
     note="erfcx'(x) = 2x erfcx(x) - 2 / sqrt(pi)")
# Phi(x), the standard normal distribution function (also gelu's x * Phi(x)): computed with
# math.erfc on both paths (no SciPy needed), exact far into the negative side.
register(OpSpec("ndtr", _X, "elementwise", S.ndtr, ("ndtr",), head=S.ndtr,
                rule=lambda ops, static: (G * sp.exp(-ops[0]**2 / 2) * sp.Float(0.3989422804014327),),
                note="ndtr'(x) = exp(-x**2 / 2) / sqrt(2 pi)", helper="ndtr", scalar_helper="ndtr_scalar",
                new_array=True))
_one("log_ndtr", S.log_ndtr, lambda a, out, g: g * _SQRT_2_OVER_PI / S.erfcx(-_SQRT_HALF * a),
     note="log_ndtr'(x) = phi(x) / Phi(x) = sqrt(2/pi) / erfcx(-x/sqrt(2)): finite where Phi(x) underflows")
_one("ndtri", S.ndtri, lambda a, out, g: g * _SQRT_2PI * sp.exp(out**2 / 2), domain=_PROBABILITY, hazard=0.5,
     note="ndtri'(p) = sqrt(2 pi) * exp(ndtri(p)**2 / 2)")
_one("logit", S.logit, lambda a, out, g: g / (a * (1 - a)), domain=_PROBABILITY, hazard=0.5,
     note="logit'(p) = 1 / (p (1 - p))")

# ---- modified Bessel functions ---------------------------------------------------------------
# Both overflow beyond |x| = 713 (89 in float32): an unselected branch computes them at 0.
_one("i0", S.i0, lambda a, out, g: g * S.i1(a), hazard=0.0, note="i0'(x) = i1(x)")
# i1'(x) = i0(x) - i1(x) / x, 1/2 at 0, where i1(x) / x tends to 1/2 (x = 0 divides by 1 instead).
_one("i1", S.i1, lambda a, out, g: g * (S.i0(a) - S.where(sp.Eq(a, 0), sp.Rational(1, 2), out / _nonzero(a))),
     hazard=0.0, note="i1'(x) = i0(x) - i1(x) / x, 1/2 at x = 0")

# ---- x log y ---------------------------------------------------------------------------------
# In x: log(y) (log1p(y)), the derivative also at x == 0, where the value is 0 whatever y is
# but x * log(y) is still smooth in x; 0 only where that log is -inf or nan (y <= 0, y <= -1), as
# PyTorch gives (PyTorch's gradient is 0 at every x == 0). In y: x / y (x / (1 + y)).
def _xlog_rule(log, edge):
    def d(x, y, out, g):
        flat = sp.And(sp.Eq(x, 0), y <= edge)
        return S.where(flat, ZERO, g * log(S.where(flat, edge + 1, y))), g * x / (y - edge)
    return d


_two("xlogy", S.xlogy, _xlog_rule(sp.log, 0), params=_XLOGY, hazards=((1, 1.0),),
     note="d xlogy(x, y) / dx = log(y), 0 where x == 0 and y <= 0")
_two("xlog1py", S.xlog1py, _xlog_rule(S.log1p, -1), params=_XLOGY, hazards=((1, 0.0),),
     note="d xlog1py(x, y) / dx = log1p(y), 0 where x == 0 and y <= -1")
