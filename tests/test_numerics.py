"""Stability rewrites and NaN-safe branches, checked against mpmath at high precision.

Each family is checked twice: the rewritten module agrees with the naive formula
evaluated by mpmath with 500 digits (so the rewrite is an identity, checked at random
points), and stays accurate at extreme points where the naive formula in floating
point overflows, cancels or divides 0/0.
"""

import warnings

import mpmath
import numpy as np
import pytest

import derivgen

mpmath.mp.dps = 500  # enough digits for 1 - sigmoid(1000) = exp(-1000)


def sig(z):
    return 1 / (1 + mpmath.exp(-z))


# source, mpmath version of the *naive* formula, extreme points, ordinary points
SCALAR_FAMILIES = [
    ("log(sigmoid(z))", lambda z: mpmath.log(sig(z)), [-1000, -800, -30, 30, 800, 1000]),
    ("log(1 - sigmoid(z))", lambda z: mpmath.log(1 - sig(z)), [-1000, -800, -30, 30, 800, 1000]),
    ("np.log(1 + np.exp(z))", lambda z: mpmath.log(1 + mpmath.exp(z)), [-1000, -800, -40, 40, 800, 1000]),
    ("torch.log(torch.exp(z) + 1.0)", lambda z: mpmath.log(1 + mpmath.exp(z)), [-1000, 1000]),
    ("1 / (1 + exp(-z))", sig, [-1000, -745, -30, 30, 745, 1000]),
    ("log(1 + z)", lambda z: mpmath.log(1 + z), [1e-300, 1e-12, -1e-15, 1e-5]),
    ("log(1 - z)", lambda z: mpmath.log(1 - z), [1e-300, 1e-12, -1e-15]),
    ("exp(z) - 1", lambda z: mpmath.exp(z) - 1, [1e-300, 1e-12, -1e-15, 1e-5]),
    ("sigmoid(z)", sig, [-1000, -700, -30, 30, 700]),
    ("tanh(z)", mpmath.tanh, [-800, -30, -20, 20, 30, 800]),
    ("-(y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z)))",
     lambda z: -(1 * mpmath.log(sig(z))), [-1000, -800, -40, 40, 800, 1000]),
]
ORDINARY = [-3.0, -0.5, 0.0, 0.25, 2.0]


def close(got, truth, rel=1e-6, tiny=1e-200):
    got, truth = float(got), mpmath.mpf(truth)
    return abs(mpmath.mpf(got) - truth) <= max(rel * abs(truth), tiny)


def check_point(mod, truth_fn, z, extra=None):
    extra = extra or {}
    value_truth = truth_fn(mpmath.mpf(z))
    grad_truth = mpmath.diff(truth_fn, mpmath.mpf(z))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            for arg in (float(z), np.asarray(float(z))):  # the scalar and the array path
                value, grads = mod.value_and_grad(z=arg, **extra)
                assert close(value, value_truth), (z, float(value), float(value_truth))
                assert close(grads.z, grad_truth), (z, float(grads.z), float(grad_truth))


@pytest.mark.parametrize("source, truth, points", SCALAR_FAMILIES)
def test_rewrite_is_exact_at_extreme_points(source, truth, points):
    mod = derivgen.compile(source, wrt=["z"])
    extra = {"y": 1.0} if "y" in mod.INPUTS else None
    for z in points:
        check_point(mod, truth, z, extra)


@pytest.mark.parametrize("source, truth, points", SCALAR_FAMILIES)
def test_rewrite_is_an_identity_at_ordinary_points(source, truth, points):
    mod = derivgen.compile(source, wrt=["z"])
    extra = {"y": 1.0} if "y" in mod.INPUTS else None
    for z in ORDINARY:
        if "log(1 + z)" in source and z <= -1 or "log(1 - z)" in source and z >= 1:
            continue
        value_truth = truth(mpmath.mpf(z))
        value, grads = mod.value_and_grad(z=z, **(extra or {}))
        assert close(value, value_truth, rel=1e-13, tiny=1e-300)
        assert close(grads.z, mpmath.diff(truth, mpmath.mpf(z)), rel=1e-12, tiny=1e-300)


def lae(a, b):
    return mpmath.log(mpmath.exp(a) + mpmath.exp(b))


@pytest.mark.parametrize("a, b", [(1000, 999), (-1000, -1001), (800, -800), (0.5, 0.25)])
def test_log_of_a_sum_of_exps_is_logaddexp(a, b):
    mod = derivgen.compile("log(exp(a) + exp(b))")
    value, grads = mod.value_and_grad(np.asarray(a, float), np.asarray(b, float))
    assert close(value, lae(a, b))
    assert close(grads.a, mpmath.diff(lae, (a, b), (1, 0)))
    assert close(grads.b, mpmath.diff(lae, (a, b), (0, 1)))


@pytest.mark.parametrize("a, b", [(1000, 999), (-1000, -1001), (-800, 800), (0.5, 0.25)])
def test_ratio_of_exps_is_a_sigmoid(a, b):
    mod = derivgen.compile("exp(a) / (exp(a) + exp(b))")

    def truth(a, b):
        return mpmath.exp(a) / (mpmath.exp(a) + mpmath.exp(b))

    with np.errstate(all="raise", under="ignore"):
        value, grads = mod.value_and_grad(np.asarray(a, float), np.asarray(b, float))
    assert close(value, truth(a, b))
    assert close(grads.a, mpmath.diff(truth, (a, b), (1, 0)))
    assert close(grads.b, mpmath.diff(truth, (a, b), (0, 1)))


@pytest.mark.parametrize("x", [[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.5], [0.5, -0.25, 2.0],
                               # the shift is taken only where exp(x) would overflow or underflow
                               [-700.0, -750.0], [600.5, 0.0], [-1e300, 0.0], [709.0, 709.0]])
def test_log_sum_exp_is_logsumexp(x):
    mod = derivgen.compile("log(sum(exp(x)))")
    with np.errstate(all="raise", under="ignore"):
        value, grads = mod.value_and_grad(np.array(x))
    xs = [mpmath.mpf(v) for v in x]
    total = mpmath.fsum(mpmath.exp(v) for v in xs)
    assert close(value, mpmath.log(total))
    for got, v in zip(grads.x, xs):
        assert close(got, mpmath.exp(v) / total)


@pytest.mark.parametrize("x", [[1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.5], [0.5, -0.25, 2.0]])
def test_softmax_is_max_shifted(x):
    mod = derivgen.compile("exp(x) / sum(exp(x))")
    weights = np.array([0.3, -1.0, 2.0])
    with np.errstate(all="raise", under="ignore"):
        value, grads = mod.value_and_grad(np.array(x), weights)
    xs = [mpmath.mpf(v) for v in x]
    total = mpmath.fsum(mpmath.exp(v) for v in xs)
    soft = [mpmath.exp(v) / total for v in xs]
    for got, want in zip(value, soft):
        assert close(got, want)
    # d(w . softmax)/dx_i = s_i * (w_i - sum_j w_j s_j)
    mean_w = mpmath.fsum(w * s for w, s in zip(weights, soft))
    for got, s, w in zip(grads.x, soft, weights):
        assert close(got, s * (w - mean_w), tiny=1e-300)


def test_sigmoid_derivative_has_no_cancellation():
    mod = derivgen.compile("sigmoid(z)")
    for z in (30.0, 36.0, -36.0):
        truth = mpmath.diff(sig, mpmath.mpf(z))
        assert close(mod.backward(np.asarray(z)).z, truth, rel=1e-12)


def test_bce_on_sigmoid_gradient_is_sigmoid_minus_label():
    mod = derivgen.compile("-(y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z)))", wrt=["z"])
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    for label in (0.0, 1.0):
        with np.errstate(all="raise", under="ignore"):
            grads = mod.backward(z=z, y=np.full_like(z, label))
        want = [float(sig(mpmath.mpf(v)) - label) for v in z]
        np.testing.assert_allclose(grads.z, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("source, points, truth", [
    ("softplus(z)", [-100.0, -20.0, 20.0, 100.0], lambda z: mpmath.log(1 + mpmath.exp(z))),
    ("log(1 + exp(z))", [-100.0, 100.0], lambda z: mpmath.log(1 + mpmath.exp(z))),
    ("sigmoid(z)", [-90.0, -30.0, 30.0, 90.0], sig),
    ("log(sigmoid(z))", [-100.0, 100.0], lambda z: mpmath.log(sig(z))),
])
def test_float32_stays_float32_and_accurate_at_the_extremes(source, points, truth):
    mod = derivgen.compile(source)
    z = np.array(points, dtype=np.float32)
    with np.errstate(all="raise", under="ignore"):
        value, grads = mod.value_and_grad(z)
    assert value.dtype == np.float32 and grads.z.dtype == np.float32
    for v, g, p in zip(value, grads.z, points):
        assert close(v, truth(mpmath.mpf(p)), rel=2e-6, tiny=1e-44)
        assert close(g, mpmath.diff(truth, mpmath.mpf(p)), rel=2e-6, tiny=1e-44)


def test_clamp_then_log_of_the_seed_keeps_pytorch_values():
    source = (
        "def loss(x, y, w, b):\n"
        "    p = torch.clamp(torch.sigmoid(w * x + b), 1e-8, 1 - 1e-8)\n"
        "    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))\n"
    )
    mod = derivgen.compile(source, wrt=["w", "b"])
    # Saturated: the clamp decides the value (-log(1e-8)) and stops the gradient.
    value, grads = mod.value_and_grad(800.0, 0.0, 1.0, 0.0)
    assert value == pytest.approx(-np.log(1 - (1 - 1e-8)), rel=1e-12)  # float64, as torch computes it
    assert grads.w == 0.0 and grads.b == 0.0
    text = derivgen.generate(source, wrt=["w", "b"])
    assert "np.clip(" in text and "np.log(" in text  # the clamp and its logs are kept as written


# ---- NaN-safe branches -------------------------------------------------------------------

@pytest.mark.parametrize("source, x, value, grad", [
    ("where(x > 0, sqrt(x), 0)", -1.0, 0.0, 0.0),
    ("where(x > 0, log(x), x)", 0.0, 0.0, 1.0),
    ("where(x > 0, log(x), x)", -2.0, -2.0, 1.0),
    ("where(x != 0, 1 / x, 0)", 0.0, 0.0, 0.0),
    ("where(x < 100, exp(x), 0)", 1000.0, 0.0, 0.0),
    ("where(x > 1, sqrt(x - 1) * 2, x)", 0.5, 0.5, 1.0),
    ("where(x > 0, x ** 0.5, -x)", -4.0, 4.0, -1.0),
    ("where(x <= 0, 0, log(x))", 0.0, 0.0, 0.0),
    ("relu(x) + abs(x) + clamp(x, 0, 1)", 0.0, 0.0, 1.0),  # clamp's ends are inclusive
])
def test_the_branch_not_taken_never_poisons_value_or_gradient(source, x, value, grad):
    mod = derivgen.compile(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            for arg in (x, np.array([x, x])):
                got_value, got_grads = mod.value_and_grad(arg)
                np.testing.assert_array_equal(got_value, np.full(np.shape(arg), value))
                np.testing.assert_array_equal(got_grads.x, np.full(np.shape(arg), grad))


def test_selected_branch_values_are_unchanged_by_the_guard():
    mod = derivgen.compile("where(x > 0, sqrt(x), 0)")
    x = np.array([0.25, 4.0, -1.0])
    value, grads = mod.value_and_grad(x)
    np.testing.assert_array_equal(value, [0.5, 2.0, 0.0])
    np.testing.assert_array_equal(grads.x, [1.0, 0.25, 0.0])


@pytest.mark.parametrize("source, x, y", [("x ** y", 0.0, 2.0), ("x ** y", 0.0, 0.0), ("power(x, y)", 2.0, 0.0)])
def test_pow_masks_raise_no_warnings(source, x, y):
    mod = derivgen.compile(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            value, grads = mod.value_and_grad(np.asarray(x), np.asarray(y))
    assert np.isfinite(value) and np.isfinite(grads.x) and np.isfinite(grads.y)


def test_ordinary_inputs_give_the_naive_formula_results():
    rng = np.random.default_rng(1)
    z = rng.normal(size=50)
    mod = derivgen.compile("log(sigmoid(z)) + log(1 + exp(z)) + exp(z) - 1 + log(1 + z**2)")
    naive = np.log(1 / (1 + np.exp(-z))) + np.log(1 + np.exp(z)) + np.exp(z) - 1 + np.log(1 + z**2)
    np.testing.assert_allclose(mod.forward(z), naive, rtol=1e-13, atol=1e-14)


# ---- the shared-exp helpers: naive formula on ordinary inputs, exact forms elsewhere --------

@pytest.mark.parametrize("a, b", [(-800.0, -700.0), (-740.0, -700.0), (700.0, -700.0), (709.5, 709.5)])
def test_logaddexp_weights_keep_their_digits_where_an_exp_underflows_or_overflows(a, b):
    mod = derivgen.compile("log(exp(a) + exp(b))")
    for args in ((a, b), (np.array([a, 0.5]), np.array([b, 0.25]))):  # scalar path, mixed array
        with np.errstate(all="raise", under="ignore"):
            value, grads = mod.value_and_grad(*args)
        assert close(np.ravel(value)[0], lae(a, b))
        assert close(np.ravel(grads.a)[0], mpmath.diff(lae, (a, b), (1, 0)))
        assert close(np.ravel(grads.b)[0], mpmath.diff(lae, (a, b), (0, 1)))


@pytest.mark.parametrize("source, truth", [
    ("log(1 + exp(z))", lambda z: mpmath.log(1 + mpmath.exp(z))),
    ("1 / (1 + exp(-z))", sig),
    ("log(sigmoid(z))", lambda z: mpmath.log(sig(z))),
])
def test_one_extreme_element_does_not_spoil_the_others(source, truth):
    mod = derivgen.compile(source)
    z = np.array([-1000.0, -745.5, -0.5, 0.0, 3.0, 745.5, 1000.0, np.inf, -np.inf])
    with np.errstate(all="raise", under="ignore"):
        value, grads = mod.value_and_grad(z)
    for v, g, p in zip(value[:-2], grads.z[:-2], z[:-2]):
        assert close(v, truth(mpmath.mpf(p)))
        assert close(g, mpmath.diff(truth, mpmath.mpf(p)))
    assert not np.isnan(value).any() and not np.isnan(grads.z).any()


def test_logaddexp_of_broadcast_and_0d_operands():
    mod = derivgen.compile("log(exp(a) + exp(b))")
    a, b = np.array([0.5, -1.0]), np.array([[0.25], [2.0], [-3.0]])
    value, grads = mod.value_and_grad(a, b)
    np.testing.assert_allclose(value, np.logaddexp(a, b), rtol=1e-15)
    np.testing.assert_allclose(grads.a, np.sum(np.exp(a - np.logaddexp(a, b)), axis=0), rtol=1e-14)
    np.testing.assert_allclose(grads.b, np.sum(np.exp(b - np.logaddexp(a, b)), axis=1, keepdims=True), rtol=1e-14)
    value, grads = mod.value_and_grad(np.asarray(0.5), np.asarray(0.25))
    assert value == pytest.approx(float(np.logaddexp(0.5, 0.25)), rel=1e-15)
