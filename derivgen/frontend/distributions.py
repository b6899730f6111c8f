"""scipy.stats distributions' log densities, densities and distribution functions, read as the
ops they are made of: ``norm.logpdf(x, loc, scale)`` (after ``scipy.stats.``, ``stats.``, or bare
after ``from scipy.stats import norm``) is ``-z**2/2 - log(scale) - log(2 pi)/2`` with
``z = (x - loc) / scale``, and so on for each distribution below, SciPy's parameters and defaults.

Outside a distribution's support its log density is -inf, as SciPy's (``gamma.logpdf`` of a
negative z); the terms are the special functions of derivgen/ops/special.py and the
elementwise ops, so the value and its gradient in every argument (x, loc, scale and the shape
parameters) are those ops'. The scale is taken to be positive (SciPy gives nan otherwise).
"""

from __future__ import annotations

import ast
import math

import sympy as sp

from .. import ops, symbolic

# distribution -> its shape parameters (before loc and scale), and whether it has a scale
DISTRIBUTIONS = {
    "norm": ((), True), "t": (("df",), True), "gamma": (("a",), True), "beta": (("a", "b"), True),
    "expon": ((), True), "laplace": ((), True), "logistic": ((), True), "cauchy": ((), True),
    "poisson": (("mu",), False),
}
# distribution -> the functions read (logpmf and pmf for the discrete one)
METHODS = {name: ("logpdf", "pdf") for name in DISTRIBUTIONS}
METHODS["norm"] = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf")
METHODS["poisson"] = ("logpmf", "pmf")
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def distribution_path(path: str | None):
    """(distribution, function) a call's library path names (scipy.stats.norm.logpdf, or
    norm.logpdf with no import), or None."""
    if path is None:
        return None
    for prefix in ("scipy.stats.", "stats."):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    name, _, method = path.partition(".")
    return (name, method) if name in DISTRIBUTIONS and "." not in method and method else None


class Distributions:
    """scipy.stats.norm.logpdf and its kin."""

    def distribution_call(self, name: str, method: str, node: ast.Call, env):
        what = f"{name}.{method}"
        if method not in METHODS[name]:
            raise self.error(node.func, f"scipy.stats.{what}() is not supported",
                             f"{name} supports {', '.join(m + '()' for m in METHODS[name])}")
        shapes, scaled = DISTRIBUTIONS[name]
        first = "q" if method == "ppf" else "k" if name == "poisson" else "x"
        params = (first, *shapes, "loc", *(("scale",) if scaled else ()))
        bound = self._sugar_args(what, node, None, params, {}, required=1 + len(shapes))
        self._dist_node = node
        values = {}
        for key in params:
            if key in bound:
                value = self.expr(bound[key], env)
                self.require_tensor(value, bound[key])
                values[key] = value
        x, loc, scale = values[first], values.get("loc"), values.get("scale")
        if method == "ppf":  # loc + scale * ndtri(q)
            return self._shifted(self._f("ndtri", x), loc, scale)
        z = self._standardized(x, loc, scale)
        if name == "norm" and method in ("cdf", "logcdf", "sf", "logsf"):
            arg = z if method in ("cdf", "logcdf") else self._b("mul", sp.Integer(-1), z)
            return self._f("log_ndtr" if method.startswith("log") else "ndtr", arg)
        log_density = getattr(self, f"_{name}_log_density")(z, *(values[s] for s in shapes))
        if scale is not None and name != "poisson":
            log_density = self._b("sub", log_density, self._f("log", scale))
        return self._f("exp", log_density) if method in ("pdf", "pmf") else log_density

    # ---- building blocks -------------------------------------------------------------------
    def _f(self, name, *items):
        return self.apply_op(ops.OPS[name], list(items), {}, self._dist_node)

    def _b(self, name, a, b):
        return self.apply(name, ops.OPERATORS[name], [a, b], self._dist_node)

    def _standardized(self, x, loc, scale):
        z = x if loc is None else self._b("sub", x, loc)
        return z if scale is None else self._b("div", z, scale)

    def _shifted(self, z, loc, scale):
        z = z if scale is None else self._b("mul", scale, z)
        return z if loc is None else self._b("add", z, loc)

    def _supported(self, condition, value):
        """value where condition holds, -inf elsewhere (outside the support)."""
        return self.apply_op(ops.OPS["where"], [condition, value, -sp.oo], {}, self._dist_node)

    def _compare(self, op, a, b):
        return self.cond(_RELATIONS[op], [a, b], self._dist_node)

    def _both(self, a, b):
        return self.cond(sp.And, [a, b], self._dist_node)

    # ---- the log densities of the standardised variable z (log(scale) is subtracted after) -----
    def _norm_log_density(self, z):
        return self._b("sub", self._b("mul", sp.Float(-0.5), self._b("mul", z, z)), sp.Float(_HALF_LOG_2PI))

    def _t_log_density(self, z, df):
        half = self._b("mul", sp.Float(0.5), self._b("add", df, sp.Integer(1)))
        constant = self._b("sub", self._f("gammaln", half), self._f("gammaln", self._b("mul", sp.Float(0.5), df)))
        constant = self._b("sub", constant, self._b("mul", sp.Float(0.5), self._f("log", self._b("mul", sp.pi, df))))
        tail = self._b("mul", half, self._f("log1p", self._b("div", self._b("mul", z, z), df)))
        return self._b("sub", constant, tail)

    def _gamma_log_density(self, z, a):
        value = self._b("sub", self._f("xlogy", self._b("sub", a, sp.Integer(1)), z), z)
        return self._supported(self._compare("ge", z, sp.Integer(0)), self._b("sub", value, self._f("gammaln", a)))

    def _beta_log_density(self, z, a, b):
        value = self._b("add", self._f("xlogy", self._b("sub", a, sp.Integer(1)), z),
                        self._f("xlog1py", self._b("sub", b, sp.Integer(1)), self._b("mul", sp.Integer(-1), z)))
        value = self._b("sub", value, self._f("betaln", a, b))
        inside = self._both(self._compare("ge", z, sp.Integer(0)), self._compare("le", z, sp.Integer(1)))
        return self._supported(inside, value)

    def _expon_log_density(self, z):
        return self._supported(self._compare("ge", z, sp.Integer(0)), self._b("mul", sp.Integer(-1), z))

    def _laplace_log_density(self, z):
        return self._b("sub", self._b("mul", sp.Integer(-1), self._f("abs", z)), sp.Float(math.log(2)))

    def _logistic_log_density(self, z):  # -z - 2 log(1 + exp(-z)): softplus keeps it exact at +-1000
        minus = self._b("mul", sp.Integer(-1), z)
        softplus = self.apply("softplus", symbolic.softplus, [minus], self._dist_node)
        return self._b("sub", minus, self._b("mul", sp.Integer(2), softplus))

    def _cauchy_log_density(self, z):
        return self._b("mul", sp.Integer(-1), self._f("log", self._b("mul", sp.pi, self._b("add", sp.Integer(1),
                                                                                          self._b("mul", z, z)))))

    def _poisson_log_density(self, k, mu):  # k - loc here; -inf where it is not a whole number >= 0
        value = self._b("sub", self._b("sub", self._f("xlogy", k, mu), self._f("gammaln", self._b("add", k, sp.Integer(1)))),
                        mu)
        whole = self._both(self._compare("ge", k, sp.Integer(0)), self._compare("eq", self._f("floor", k), k))
        return self._supported(whole, value)


_RELATIONS = {"ge": sp.GreaterThan, "le": sp.LessThan, "eq": sp.Eq}
