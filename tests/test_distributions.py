"""scipy.stats' log densities (derivgen/frontend/distributions.py): values against SciPy,
gradients in every argument against the reference and finite differences, and against
torch.distributions where PyTorch imports; the spellings (scipy.stats., stats., an imported
distribution, no import at all); -inf outside the support; clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

stats = pytest.importorskip("scipy.stats")

RNG = np.random.default_rng(5)
X = RNG.uniform(0.2, 0.8, size=(2, 3))
A = np.array(2.5)
B = np.array(1.5)
LOC = np.array(0.1)
SCALE = np.array(1.3)

# (call, SciPy's value, the inputs it reads)
CASES = [
    ("norm.logpdf(x, loc, scale)", lambda: stats.norm.logpdf(X, LOC, SCALE), "x loc scale"),
    ("norm.logpdf(x)", lambda: stats.norm.logpdf(X), "x"),
    ("norm.pdf(x, scale=scale)", lambda: stats.norm.pdf(X, scale=SCALE), "x scale"),
    ("norm.cdf(x, loc, scale)", lambda: stats.norm.cdf(X, LOC, SCALE), "x loc scale"),
    ("norm.logcdf(x, loc=loc)", lambda: stats.norm.logcdf(X, loc=LOC), "x loc"),
    ("norm.sf(x, loc, scale)", lambda: stats.norm.sf(X, LOC, SCALE), "x loc scale"),
    ("norm.logsf(x, loc, scale)", lambda: stats.norm.logsf(X, LOC, SCALE), "x loc scale"),
    ("norm.ppf(x, loc, scale)", lambda: stats.norm.ppf(X, LOC, SCALE), "x loc scale"),
    ("t.logpdf(x, a, loc, scale)", lambda: stats.t.logpdf(X, A, LOC, SCALE), "x a loc scale"),
    ("t.pdf(x, df=a)", lambda: stats.t.pdf(X, df=A), "x a"),
    ("gamma.logpdf(x, a, scale=scale)", lambda: stats.gamma.logpdf(X, A, scale=SCALE), "x a scale"),
    ("gamma.logpdf(x, a, loc)", lambda: stats.gamma.logpdf(X, A, LOC), "x a loc"),
    ("beta.logpdf(x, a, b)", lambda: stats.beta.logpdf(X, A, B), "x a b"),
    ("beta.pdf(x, a, b, loc, scale)", lambda: stats.beta.pdf(X, A, B, LOC, SCALE), "x a b loc scale"),
    ("expon.logpdf(x, loc, scale)", lambda: stats.expon.logpdf(X, LOC, SCALE), "x loc scale"),
    ("laplace.logpdf(x, loc, scale)", lambda: stats.laplace.logpdf(X, LOC, SCALE), "x loc scale"),
    ("logistic.logpdf(x, loc, scale)", lambda: stats.logistic.logpdf(X, LOC, SCALE), "x loc scale"),
    ("cauchy.logpdf(x, loc, scale)", lambda: stats.cauchy.logpdf(X, LOC, SCALE), "x loc scale"),
]
VALUES = {"x": X, "a": A, "b": B, "loc": LOC, "scale": SCALE}


def _source(call: str, names: str) -> str:
    return (f"import numpy as np\nfrom scipy.stats import norm, t, gamma, beta, expon, laplace, logistic, cauchy\n"
            f"def f({', '.join(names.split())}):\n    return np.sum({call})\n")


@pytest.mark.parametrize(("call", "scipy", "names"), CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients(call, scipy, names):
    source = _source(call, names)
    module = derivgen.compile(source)
    inputs = {n: VALUES[n] for n in names.split()}
    value, grads = module.value_and_grad(**inputs)
    np.testing.assert_allclose(value, np.sum(scipy()), rtol=1e-13)
    ref = reference.value_and_grad(source, inputs)
    for name in inputs:
        np.testing.assert_allclose(getattr(grads, name), ref.grads[name], rtol=1e-9, atol=1e-12, err_msg=name)
    assert derivgen.gradcheck(module, inputs).ok
    value32 = module.forward(**{n: v.astype(np.float32) for n, v in inputs.items()})
    assert np.asarray(value32).dtype == np.float32
    np.testing.assert_allclose(value32, value, rtol=1e-4)


# (derivgen's call, the torch.distributions log_prob computing the same)
TORCH = [
    ("norm.logpdf(x, loc, scale)", "D.Normal(loc, scale).log_prob(x)"),
    ("t.logpdf(x, a, loc, scale)", "D.StudentT(a, loc, scale).log_prob(x)"),
    ("gamma.logpdf(x, a, scale=scale)", "D.Gamma(a, 1 / scale).log_prob(x)"),
    ("beta.logpdf(x, a, b)", "D.Beta(a, b).log_prob(x)"),
    ("laplace.logpdf(x, loc, scale)", "D.Laplace(loc, scale).log_prob(x)"),
    ("cauchy.logpdf(x, loc, scale)", "D.Cauchy(loc, scale).log_prob(x)"),
]


@pytest.mark.parametrize(("call", "torch_call"), TORCH, ids=[c[0] for c in TORCH])
def test_gradients_match_torch_distributions(call, torch_call):
    torch = pytest.importorskip("torch")
    names = [n for n in ("x", "a", "b", "loc", "scale") if re.search(rf"\b{n}\b", call)]
    grads = derivgen.compile(_source(call, " ".join(names))).backward(**{n: VALUES[n] for n in names})
    tensors = {n: torch.tensor(VALUES[n], dtype=torch.float64, requires_grad=True) for n in names}
    out = eval(torch_call, {"D": torch.distributions, **tensors}).sum()  # the test's own PyTorch program
    out.backward()
    for name, tensor in tensors.items():
        np.testing.assert_allclose(getattr(grads, name), tensor.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_poisson_logpmf_and_its_gradient_in_mu():
    module = derivgen.compile("np.sum(scipy.stats.poisson.logpmf(k, mu))", wrt=["mu"])
    k = np.array([0.0, 1.0, 3.0, 7.0])
    value, grads = module.value_and_grad(k, np.array(1.7))
    assert value == pytest.approx(np.sum(stats.poisson.logpmf(k, 1.7)), rel=1e-14)
    assert grads.mu == pytest.approx(np.sum(k) / 1.7 - len(k), rel=1e-14)
    outside = derivgen.compile("scipy.stats.poisson.logpmf(k, mu)").forward(np.array([1.5, -1.0, 2.0]), np.array(1.7))
    np.testing.assert_array_equal(outside, stats.poisson.logpmf([1.5, -1.0, 2.0], 1.7))


@pytest.mark.parametrize(("call", "xs"), [("gamma.logpdf(x, 2.0)", [-1.0, 0.0, 1.0]), ("expon.logpdf(x)", [-1.0, 0.0, 1.0]),
                                          ("beta.logpdf(x, 2.0, 3.0)", [-0.5, 0.0, 0.5, 1.0, 1.5])])
def test_minus_infinity_outside_the_support(call, xs):
    x = np.array(xs)
    module = derivgen.compile(call)
    np.testing.assert_array_equal(module.forward(x), eval(f"stats.{call}", {"stats": stats, "x": x}))
    assert np.all(np.isfinite(module.backward(np.array([0.25, 0.5])).x))


def test_logistic_and_normal_tails_are_exact():
    module = derivgen.compile("logistic.logpdf(x) + norm.logcdf(x)")
    x = np.array([-1000.0, -40.0, 40.0, 1000.0])
    np.testing.assert_allclose(module.forward(x), stats.logistic.logpdf(x) + stats.norm.logcdf(x), rtol=1e-14)
    assert np.all(np.isfinite(module.backward(x).x))


@pytest.mark.parametrize("source", [
    "scipy.stats.norm.logpdf(x, 0.5, 2.0)",
    "stats.norm.logpdf(x, 0.5, 2.0)",
    "norm.logpdf(x, 0.5, 2.0)",
    "import scipy.stats as st\ndef f(x):\n    return st.norm.logpdf(x, 0.5, 2.0)\n",
    "from scipy import stats\ndef f(x):\n    return stats.norm.logpdf(x, loc=0.5, scale=2.0)\n",
    "from scipy.stats import norm as normal\ndef f(x):\n    return normal.logpdf(x, 0.5, scale=2.0)\n",
])
def test_spellings(source):
    np.testing.assert_allclose(derivgen.compile(source).forward(X), stats.norm.logpdf(X, 0.5, 2.0), rtol=1e-14)


def test_an_input_named_like_a_distribution_is_an_input():
    module = derivgen.compile("def f(t, x):\n    return t * x\n")
    assert module.forward(2.0, 3.0) == 6.0
    # in an expression, names that are no call of a distribution's function are inputs
    assert derivgen.compile("np.sum(t) * t.shape[0] + norm.sum()").forward(np.ones(3), np.ones(2)) == 11.0
    assert derivgen.compile("special * 2 + stats.sum()").forward(1.5, np.ones(2)) == 5.0
    shadowed = derivgen.compile("def f(norm, x):\n    return norm.logpdf(x)\n".replace("norm.logpdf(x)", "norm * x"))
    assert shadowed.forward(2.0, 3.0) == 6.0


@pytest.mark.parametrize(("source", "message"), [
    ("stats.norm.rvs(x)", "scipy.stats.norm.rvs() is not supported"),
    ("norm.rvs(x)", "name 'norm' is not defined"),
    ("t.logpdf(x)", "t.logpdf() is missing its argument 'df'"),
    ("norm.logpdf(x, 0.0, 1.0, 2.0)", "takes at most 3 arguments"),
    ("norm.logpdf(x, shape=2.0)", "unexpected keyword 'shape'"),
    ("poisson.logpmf(x, 1.0, scale=2.0)", "unexpected keyword 'scale'"),
])
def test_errors_point_at_the_call(source, message):
    with pytest.raises(ParseError) as info:
        derivgen.compile(f"import numpy as np\ndef f(x):\n    return {source}\n")
    assert message in str(info.value)
    assert info.value.line == 3
