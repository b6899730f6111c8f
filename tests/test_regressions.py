"""Regression tests: programs that once compiled and returned wrong numbers silently.

Each test names the class of fault it guards against. Expected values are computed here
from the math (closed forms or NumPy on the formula as written), never copied from a run.
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings

import mpmath
import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

RNG = np.random.default_rng(11)


@contextlib.contextmanager
def _strict():
    """Warnings as errors: a finite result must come with no RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _all_paths(mod, *args, grad_output=1.0):
    """value and gradients from forward, backward and value_and_grad, checked to agree."""
    value = mod.forward(*args)
    grads = mod.backward(*args, grad_output=grad_output)
    value2, grads2 = mod.value_and_grad(*args, grad_output=grad_output)
    np.testing.assert_allclose(value2, value, rtol=1e-13, atol=0)
    for a, b in zip(grads, grads2):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=0)
    return value, grads


_erf = np.vectorize(math.erf)


# ---- printing: precedence of inlined operands ----------------------------------------------

@pytest.mark.parametrize("x", [np.array([0.3, 1.2, -0.7]), 0.5, np.float64(0.5)])
def test_sum_inside_a_product_keeps_its_parentheses_in_gradients(x):
    mod = derivgen.compile("sum((x+1)*sin(x))")
    _, (gx,) = _all_paths(mod, x)
    np.testing.assert_allclose(gx, np.sin(x) + (x + 1) * np.cos(x), rtol=1e-12)


@pytest.mark.parametrize("source, grads", [
    ("sum((1+o)*exp2(g))", lambda o, g: (np.exp2(g), (1 + o) * np.exp2(g) * np.log(2))),
    ("sum(log10(g)*(h+1))", lambda g, h: ((h + 1) / (g * np.log(10)), np.log10(g))),
    ("sum(erf(x)*(y+z))", lambda x, y, z: (2 / np.sqrt(np.pi) * np.exp(-x**2) * (y + z), _erf(x), _erf(x))),
    ("sum(tanh(x)*(y+1))", lambda x, y: ((y + 1) / np.cosh(x) ** 2, np.tanh(x))),
    ("sum(softplus(x)*(y+1))", lambda x, y: ((y + 1) / (1 + np.exp(-x)), np.log1p(np.exp(x)))),
    ("sum(abs(x)*(y-2))", lambda x, y: ((y - 2) * np.sign(x), np.abs(x))),
    ("sum(logaddexp(x, y)*(x+1))", lambda x, y: (
        np.logaddexp(x, y) + (x + 1) / (1 + np.exp(y - x)), (x + 1) / (1 + np.exp(x - y)))),
])
def test_products_of_sums_with_each_elementwise_op(source, grads):
    mod = derivgen.compile(source)
    args = [RNG.uniform(0.5, 2.0, size=3) for _ in mod.INPUTS]
    for scalar in (False, True):
        inputs = [float(a[0]) for a in args] if scalar else args
        _, got = _all_paths(mod, *inputs)
        for g, want in zip(got, grads(*[np.asarray(a) for a in inputs])):
            np.testing.assert_allclose(g, want, rtol=1e-12)


def test_a_division_by_a_matmul_keeps_the_matmul_together():
    mod = derivgen.compile("-2.0/matmul(g, g)")
    g = np.array([1.0, 2.0])
    value, (grad,) = _all_paths(mod, g)
    assert value == pytest.approx(-0.4)
    np.testing.assert_allclose(grad, 2.0 * 2 * g / (g @ g) ** 2)
    assert "-2.0/(g @ g)" in derivgen.generate("-2.0/matmul(g, g)")


def test_an_array_times_a_matmul_is_not_regrouped():
    mod = derivgen.compile("-(x*(a @ b))")
    x, a, b = np.array([1.0, 2.0]), RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))
    np.testing.assert_allclose(mod.forward(x, a, b), -(x * (a @ b)))


# ---- NaN-safe where under reductions, matrix products and transposes ---------------------

C = np.array([[1.0, -1.0], [1.0, 1.0]])
Z = np.array([[2.0, 3.0], [5.0, 7.0]])


@pytest.mark.parametrize("source, want", [
    ("where(c > 0, log(z).T, 0)", lambda c, z: np.where(c > 0, np.log(z).T, 0)),
    ("where(c > 0, sum(log(z), axis=1), 0)", lambda c, z: np.where(c > 0, np.sum(np.log(z), axis=1), 0)),
    ("where(c > 0, log(z) @ z, 0)", lambda c, z: np.where(c > 0, np.log(z) @ z, 0)),
    ("where(c > 0, log(z) - logsumexp(log(z), axis=1, keepdims=True), 0)",
     lambda c, z: np.where(c > 0, np.log(z) - np.log(np.sum(z, axis=1, keepdims=True)), 0)),
])
def test_where_does_not_mask_through_shape_changing_ops(source, want):
    mod = derivgen.compile(source, wrt=["z"])
    np.testing.assert_allclose(mod.forward(C, Z), want(C, Z), rtol=1e-12)
    report = derivgen.gradcheck(mod, {"c": C, "z": Z})
    assert report.ok, str(report)


def test_where_over_a_reduction_broadcasts_like_numpy():
    mod = derivgen.compile("where(x > 0, x, sum(exp(z), axis=1))")
    x, z = RNG.uniform(-1, 1, size=(3, 1)), RNG.normal(size=(4, 2))
    want = np.where(x > 0, x, np.sum(np.exp(z), axis=1))
    np.testing.assert_allclose(mod.forward(x, z), want)
    assert derivgen.gradcheck(mod, {"x": x, "z": z}).ok


def test_nested_where_with_broadcasting_has_no_nan_gradient():
    mod = derivgen.compile("where(c > 0, 1.0, where(p > 0, sqrt(p), 0))", wrt=["p"])
    c, p = np.array([[1.0], [-1.0]]), np.array([-1.0, 2.0])
    with _strict():
        (gp,) = mod.backward(c, p)
    np.testing.assert_allclose(gp, [0.0, 0.5 / np.sqrt(2.0)])


# ---- constant conditions keep NumPy's broadcasting -------------------------------------------

@pytest.mark.parametrize("source", ["where(False, y, x)", "where(True, x, y)",
                                    "where((a < 0.5) & (1.0 < 0.5), y, x)"])
def test_a_constant_condition_still_broadcasts_both_branches(source):
    mod = derivgen.compile(source)
    args = {"a": np.array([[0.1], [0.9]]), "y": RNG.normal(size=3), "x": RNG.normal(size=(2, 1))}
    inputs = [args[n] for n in mod.INPUTS]
    value = mod.forward(*inputs)
    assert value.shape == (2, 3)
    np.testing.assert_allclose(value, np.broadcast_to(args["x"], (2, 3)))
    grads = dict(zip(mod.WRT, mod.backward(*inputs)))
    np.testing.assert_allclose(grads["x"], np.full((2, 1), 3.0))
    np.testing.assert_allclose(grads["y"], np.zeros(3))


def test_a_constant_condition_selecting_a_number_gives_the_other_branch_shape_and_dtype():
    mod = derivgen.compile("where(True, 1.0, x)")
    value, (gx,) = mod.value_and_grad(np.ones(3, np.float32))
    assert value.dtype == np.float32 and value.shape == (3,)
    assert gx.dtype == np.float32 and not gx.any()


# ---- constant folding: a guarded branch is not an error ------------------------------------

def test_a_guarded_branch_with_a_constant_default_is_not_folded_into_an_error():
    mod = derivgen.compile("def g(x, b=-2):\n    return where(b > 0, sqrt(b), 1.0) * x\n\n"
                           "def f(x):\n    return g(x)\n")
    assert mod.forward(3.0) == 3.0
    assert mod.backward(3.0).x == 1.0


def test_a_non_finite_constant_that_is_used_is_still_an_error():
    with pytest.raises(ParseError, match="not a finite real number") as info:
        derivgen.generate("def f(x):\n    return sqrt(-2.0) * x\n")
    assert (info.value.line, info.value.col) == (2, 12)
    # Under a condition that is not constant, the branch is NumPy's: nan where it is selected.
    mod = derivgen.compile("def f(x, b):\n    return where(b > 0, sqrt(-2.0), 1.0) * x\n")
    np.testing.assert_array_equal(mod.forward(2.0, np.array([1.0, -1.0])), [np.nan, 2.0])


@pytest.mark.parametrize("power", ["b**0.5", "(-1.0)**-0.5", "b**-1.5"])
def test_a_constant_power_that_is_no_real_number_is_folded_as_sqrt_is(power):
    # (-2.0)**0.5 is complex in Python: like sqrt(-2.0), an error only where it is used
    # (found by fuzzing: it was an error at once, inside a branch a condition guards).
    mod = derivgen.compile(f"def g(x, b=-2.0):\n    return where(b > 0, {power}, 1.0) * x\n\n"
                           "def f(x):\n    return g(x)\n")
    assert mod.forward(3.0) == 3.0
    mod = derivgen.compile(f"def f(x, c):\n    b = -2.0\n    return where(c > 0, arccos({power}), 0) * x\n")
    np.testing.assert_array_equal(mod.forward(2.0, np.array([1.0, -1.0])), [np.nan, 0.0])
    with pytest.raises(ParseError, match="not a finite real number") as info:
        derivgen.generate(f"def f(x):\n    b = -2.0\n    return {power} * x\n")
    assert (info.value.line, info.value.col) == (3, 12)


@pytest.mark.parametrize("source, numpy", [
    ("1 / where(c > 0, x, 0)", lambda c, x: 1 / np.where(c > 0, x, 0)),
    ("arctan2(where(c > 0, x, 0), -1.0)", lambda c, x: np.arctan2(np.where(c > 0, x, 0), -1.0)),
    ("arctan2(where(c < 0, 0, x), -1.0) * x", lambda c, x: np.arctan2(np.where(c < 0, 0, x), -1.0) * x),
])
def test_a_where_that_selects_zero_gives_plus_zero(source, numpy):
    # A masked negative value was -0.0 (x * False), which arctan2 and division tell apart from
    # NumPy's +0.0 (found by fuzzing: arctan2(t, t) of a dot product of a masked log1p).
    mod = derivgen.compile(source)
    c, x = np.array([-1.0, 1.0, -1.0]), np.array([-2.0, 3.0, 5.0])
    with np.errstate(divide="ignore"):
        want = numpy(c, x)
        np.testing.assert_array_equal(mod.forward(c=c, x=x), want)
        np.testing.assert_array_equal(mod.value_and_grad(c=c, x=x)[0], want)
        assert mod.forward(c=-1.0, x=-2.0) == numpy(-1.0, -2.0)


@pytest.mark.parametrize("source", ["sum(arccos(mean(p / p, axis=0)))", "where(c > 0, arccos(mean(p / p)), 0) * c",
                                    "sum(sqrt(p - p) * 2)"])
def test_an_op_of_one_value_that_is_a_number_sends_it_nothing(source):
    # p / p is 1: its terms g/p - g*out/p, with out written as 1, cancel exactly; they were
    # (-inf)/p - (-inf)*1/p = nan with arccos at 1 sending -inf (found by fuzzing:
    # where(c > 0, arccos((p / p).mean(axis=(0, 2))), ...)).
    mod = derivgen.compile(source)
    inputs = {"p": np.array([[1.5, 0.5], [1.2, 1.9]]), "c": np.array(1.5)}
    with _strict():
        grads = mod.backward(*(inputs[n] for n in mod.INPUTS))
    np.testing.assert_array_equal(grads.p, np.zeros((2, 2)))


# ---- stability: softmax, float32 thresholds, 1 - sigmoid ------------------------------------

def _softmax_grad(x, y):
    s = np.exp(x - x.max())
    s = s / s.sum()
    return s * (y - s @ y)


@pytest.mark.parametrize("x", [[400.0, 399.0, 398.0], [-400.0, -399.0, -398.0], [-800.0, -799.0, -700.0],
                               [0.3, -0.2, 0.1]])
def test_softmax_gradient_at_large_and_small_logits(x):
    mod = derivgen.compile("sum(exp(x)/sum(exp(x))*y)", wrt=["x"])
    x, y = np.array(x), np.array([0.0, 1.0, 0.5])
    with _strict():
        value, (gx,) = _all_paths(mod, x, y)
    s = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    assert value == pytest.approx(s @ y, rel=1e-12)
    np.testing.assert_allclose(gx, _softmax_grad(x, y), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("source", ["logsumexp(x)", "log(sum(exp(x)))", "sum(exp(x)/sum(exp(x))*w)"])
def test_float32_log_sum_exp_and_softmax_do_not_overflow(source):
    mod = derivgen.compile(source)
    args = {"x": np.array([100.0, 99.0], np.float32), "w": np.array([1.0, 0.5], np.float32)}
    inputs = [args[n] for n in mod.INPUTS]
    with _strict():
        value, grads = _all_paths(mod, *inputs)
    x64 = args["x"].astype(np.float64)
    s = np.exp(x64 - x64.max()) / np.exp(x64 - x64.max()).sum()
    want = s @ args["w"] if "w" in mod.INPUTS else np.log(np.exp(x64 - 100).sum()) + 100
    assert np.asarray(value).dtype == np.float32
    assert float(value) == pytest.approx(want, rel=1e-6)
    assert all(g.dtype == np.float32 and np.isfinite(g).all() for g in grads)
    np.testing.assert_allclose(grads[0], s if "w" not in mod.INPUTS else _softmax_grad(x64, args["w"]),
                               rtol=1e-5)


@pytest.mark.parametrize("z", [30.0, 40.0, np.array([30.0, -30.0, 0.5])])
def test_one_minus_sigmoid_keeps_its_digits(z):
    mod = derivgen.compile("1 - sigmoid(z)")
    value, (gz,) = _all_paths(mod, z)
    exact = 1 / (1 + np.exp(np.asarray(z)))  # sigmoid(-z), exact to rounding for z > 0
    np.testing.assert_allclose(value, exact, rtol=1e-14)
    np.testing.assert_allclose(gz, -exact / (1 + np.exp(-np.asarray(z))), rtol=1e-13)


# ---- helpers' needs: math is imported wherever a helper uses it ------------------------------

@pytest.mark.parametrize("source", ["sum(softplus(a), axis=0)", "sum(logaddexp(a, 2*a), axis=0)",
                                    "sum(log(sigmoid(a)), axis=0)", "sum(a @ softplus(a))"])
@pytest.mark.parametrize("a", [800.0, -800.0])
def test_modules_with_axis_reductions_or_matmul_run_their_stable_fallbacks(source, a):
    mod = derivgen.compile(source)
    x = np.array([a, 1.0])
    value, (g,) = _all_paths(mod, x)
    assert np.isfinite(value) and np.isfinite(g).all()


def test_every_helper_that_uses_math_requires_it():
    import io
    import tokenize

    from derivgen import naming
    from derivgen.backends import definitions

    users = 0
    for d in definitions.definitions():
        tokens = tokenize.generate_tokens(io.StringIO(d.text).readline)
        if any(tok.type == tokenize.NAME and tok.string == "math" for tok in tokens):
            users += 1
            assert "math" in naming.required({d.key}), d.key
    assert users >= 10  # the NumPy path's sigmoid, exp_shift, erf, ... and the scalar path's


# ---- np.dot beyond two dimensions -------------------------------------------------------

@pytest.mark.parametrize("sx, sy", [((2, 2, 3), (2, 3, 4)), ((2, 3), (2, 3, 4)), ((3,), (2, 3, 4)),
                                    ((4, 2, 3), (3,)), ((2, 3), (3, 4)), ((3,), (3,)), ((), (2, 3))])
def test_np_dot_gradients_follow_np_dot_not_matmul(sx, sy):
    mod = derivgen.compile("def f(x, y):\n    return np.dot(x, y)\n")
    x, y = RNG.normal(size=sx), RNG.normal(size=sy)
    g = RNG.normal(size=np.shape(np.dot(x, y)))
    np.testing.assert_allclose(mod.forward(x, y), np.dot(x, y))
    report = derivgen.gradcheck(mod, {"x": x, "y": y})
    assert report.ok, str(report)
    gx, gy = mod.backward(x, y, grad_output=g)
    # d/dx sum(g * dot(x, y)) by linearity: the dot of g's pieces, checked element by element.
    basis = np.eye(x.size).reshape((x.size, *sx))
    np.testing.assert_allclose(np.ravel(gx), [np.sum(g * np.dot(e, y)) for e in basis], atol=1e-12)
    basis = np.eye(y.size).reshape((y.size, *sy))
    np.testing.assert_allclose(np.ravel(gy), [np.sum(g * np.dot(x, e)) for e in basis], atol=1e-12)


# ---- dtypes: results have the inputs' floating dtype -------------------------------------------

@pytest.mark.parametrize("source", ["sum(relu(x))", "sum(clamp(x, 0, 1))", "sum(where(x > 0, x, 0))",
                                    "mean(relu(x))", "sum(maximum(x, y))", "where(x > 0, 1.0, 2.0)",
                                    "mean(abs(x))", "sum(minimum(x, 0.5))", "def f(x):\n    return 3.0\n"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_have_the_inputs_floating_dtype(source, dtype):
    mod = derivgen.compile(source)
    inputs = [np.array([1.0, -1.0, 0.25], dtype) for _ in mod.INPUTS]
    value, grads = _all_paths(mod, *inputs)
    assert np.asarray(value).dtype == dtype
    assert [g.dtype for g in grads] == [dtype] * len(grads)
    assert [g.shape for g in grads] == [(3,)] * len(grads)


def test_a_constant_program_returns_an_array_scalar_of_the_inputs_dtype():
    mod = derivgen.compile("def f(x):\n    return 3.0\n")
    value = mod.forward(np.float32(2.0))
    assert value == 3.0 and isinstance(value, np.float32)


# ---- clamp with equal or crossed bounds -------------------------------------------------------

def test_clamp_with_one_bound_for_both_sends_the_gradient_to_it():
    mod = derivgen.compile("clamp(x, a, a)")
    x = np.array([0.0, 1.0, 2.0])
    gx, ga = mod.backward(x, np.ones(3))
    np.testing.assert_array_equal(ga, [1.0, 1.0, 1.0])  # clamp(x, a, a) = a: d/da = 1 everywhere,
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])  # and d/dx = 0, at x == a too


@pytest.mark.parametrize("source", ["clamp(expit(x) - sigmoid(y), 0.0, 0.0)", "clamp(-0.5 + x + 0*y, -0.5, -0.5)"])
def test_clamp_with_equal_constant_bounds_is_constant_with_no_gradient(source):
    mod = derivgen.compile(source)
    for dtype in (np.float64, np.float32):
        x = np.array([1.3996068239212036, 0.0], dtype)
        _, (gx, gy) = _all_paths(mod, x, x.copy())
        np.testing.assert_array_equal(gx, 0.0)
        np.testing.assert_array_equal(gy, 0.0)


@pytest.mark.parametrize("x", [1.0, 5.0, 0.25])
def test_clamp_with_crossed_constant_bounds_is_hi_on_every_path(x):
    mod = derivgen.compile("clamp(x, 3, 0.5)")
    assert mod.forward(x) == 0.5 and type(mod.forward(x)) is float
    assert mod.forward(np.array([x]))[0] == 0.5 == np.clip(x, 3, 0.5)
    assert mod.backward(x).x == 0.0
    assert math.isnan(mod.forward(math.nan))


# ---- inputs and grad_output that are not what the module computes with ----------------------

@pytest.mark.parametrize("bad, what", [(None, "got None"), ("1.5", "got str '1.5'"),
                                       (np.datetime64("2020-01-01"), "got datetime64"),
                                       (1 + 2j, "got complex"), (np.array([1.0, None]), "got an array of Python objects"),
                                       (np.array(["a"]), "got an array of strings")])
def test_inputs_that_are_not_real_numbers_are_errors_naming_the_argument(bad, what):
    mod = derivgen.compile("x*y")
    for call in (mod.forward, mod.backward, mod.value_and_grad):
        with pytest.raises(TypeError, match=f"^y: expected a real number or an array of real numbers, {what}"):
            call(1.0, bad)
    with pytest.raises(TypeError, match="^grad_output: expected a real number"):
        mod.backward(1.0, 2.0, grad_output=bad)


@pytest.mark.parametrize("source, shape, bad", [("x*y", (3,), (2,)), ("x*y", (3,), (2, 3)),
                                                ("x*y", (3,), (1,)), ("sum(x*y)", (), (3,))])
def test_grad_output_of_another_shape_is_an_error(source, shape, bad):
    mod = derivgen.compile(source)
    x = np.ones(3)
    for call in (mod.backward, mod.value_and_grad):
        message = f"grad_output has shape {bad}, but the output has shape {shape}: pass an array of the output's"
        with pytest.raises(ValueError, match=re.escape(message)):
            call(x, x, grad_output=np.ones(bad))
        call(x, x, grad_output=np.ones(shape))  # the right shape, or a single number, is fine
        call(x, x, grad_output=2.0)


@pytest.mark.parametrize("source, args, bad", [
    ("sum(x, axis=1)", [np.ones((2, 3))], (3,)),
    ("x @ w", [np.ones((2, 3)), np.ones((3, 2))], (2,)),
    ("logsumexp(x, axis=0, keepdims=True)", [np.ones((2, 3))], (3,)),
])
def test_value_and_grad_checks_grad_output_against_a_reduced_or_matmul_output(source, args, bad):
    mod = derivgen.compile(source)
    shape = np.shape(mod.forward(*args))
    message = f"grad_output has shape {bad}, but the output has shape {shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        mod.value_and_grad(*args, grad_output=np.ones(bad))
    value, grads = mod.value_and_grad(*args, grad_output=np.full(shape, 2.0))
    np.testing.assert_allclose(value, mod.forward(*args))
    for g, want in zip(grads, mod.backward(*args, grad_output=np.full(shape, 2.0))):
        np.testing.assert_allclose(g, want)


# ---- found by the differential fuzzer (tests/fuzzgen.py) ------------------------------------

@pytest.mark.parametrize("source, args, want", [
    ("where((p < 0.5) & (1.0 < 0.5), x, z)", {"p": np.ones((2, 1)), "x": 1.0, "z": np.array([2.0, 3.0])},
     np.array([[2.0, 3.0], [2.0, 3.0]])),
    ("sum(where((x > 0.7) & (1.0 < 0.5), y, w))", {"x": np.ones((2, 1)), "y": 1.0, "w": np.full(2, 0.5)}, 2.0),
    ("logsumexp(where((p > q) | (2 > 1), 0.25, x))", {"p": 1.0, "q": np.ones(2), "x": 1.0},
     0.25 + np.log(2.0)),
])
def test_a_condition_folded_to_a_constant_keeps_the_shape_of_what_it_reads(source, args, want):
    mod = derivgen.compile(source)
    inputs = [args[n] for n in mod.INPUTS]
    np.testing.assert_allclose(mod.forward(*inputs), want, rtol=1e-14)
    assert derivgen.gradcheck(mod, {n: np.asarray(v, float) for n, v in args.items()}).ok


def test_a_folded_comparison_of_a_value_with_itself_is_false_at_nan():
    mod = derivgen.compile("where(x == x, 1.0, 2.0)")
    np.testing.assert_array_equal(mod.forward(np.array([1.0, np.nan])), [1.0, 2.0])


@pytest.mark.parametrize("x", [0.5, np.array([0.5, -0.3])])
def test_where_with_one_value_for_both_branches_is_that_value(x):
    mod = derivgen.compile("where(x > -0.6, exp2(x), exp2(x))")
    value, (gx,) = _all_paths(mod, x)
    np.testing.assert_allclose(value, np.exp2(x))
    np.testing.assert_allclose(gx, np.exp2(x) * np.log(2.0))


@pytest.mark.parametrize("source, args", [
    ("where(c > 0, arccos(q).T, 1.0)", {"c": -0.75, "q": np.array([[1.59, 1.37], [2.0, 1.0]])}),
    ("where(c > 0, (arccos(q) * q).T, 1.0)", {"c": -0.75, "q": np.array([[1.59, 1.37], [2.0, 1.0]])}),
    ("where(c > 0, sum(sqrt(z) * w, axis=1), 0)", {"c": np.array([1.0, -1.0]), "z": np.array([[1.0, 4.0], [-1.0, 2.0]]),
                                                   "w": np.ones((2, 2))}),
    ("where(c > 0, logsumexp(log(z), axis=1), 0)", {"c": np.array([1.0, -1.0]),
                                                    "z": np.array([[1.0, 4.0], [-1.0, 2.0]])}),
])
def test_gradients_are_zero_where_a_branch_under_a_reduction_or_transpose_is_not_taken(source, args):
    mod = derivgen.compile(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the branch is computed as written there (README)
        grads = dict(zip(mod.WRT, mod.backward(*[args[n] for n in mod.INPUTS])))
    c = np.asarray(args["c"])
    for name, g in grads.items():
        assert np.isfinite(g).all(), (name, g)
    if "z" in grads:  # the second row is not selected: no gradient reaches it
        np.testing.assert_array_equal(grads["z"][1], 0.0)
    if c.ndim == 0 and "q" in grads:
        np.testing.assert_array_equal(grads["q"], 0.0)


@pytest.mark.parametrize("source, args", [
    ("where(False, arccos(q), c)", {"q": 1.78, "c": 1.0}),
    ("where(False, logsumexp(arccos(x), axis=-1), c)", {"x": np.array([-0.7, -1.3]), "c": 1.0}),
])
def test_the_branch_a_constant_condition_never_takes_computes_nothing_that_warns(source, args):
    mod = derivgen.compile(source)
    inputs = [np.asarray(args[n], float) for n in mod.INPUTS]
    with _strict():
        value, grads = _all_paths(mod, *inputs)
    assert value == 1.0
    assert dict(zip(mod.WRT, grads))["c"] == 1.0


@pytest.mark.parametrize("source", ["logsumexp(1.5, keepdims=True) + x", "hypot(x, logsumexp(2.0, keepdims=True))",
                                    "maximum(logsumexp(1e-3, keepdims=True), x)"])
def test_reductions_of_constants(source):
    mod = derivgen.compile(source)
    for x in (np.array([0.3, 2.0]), np.float32(0.5)):
        value, (gx,) = _all_paths(mod, x)
        assert np.asarray(value).dtype == np.asarray(x).dtype and gx.dtype == np.asarray(x).dtype
        assert derivgen.gradcheck(mod, {"x": np.atleast_1d(x).astype(float)}).ok


@pytest.mark.parametrize("source, args", [("clamp(-1.0, 1, y)", [np.float32(0.5)]), ("dot(p, 2)", [np.ones(3, np.float32)]),
                                          ("dot(p, -1.0)", [np.ones(3, np.float32)]),
                                          ("def f(x):\n    return mean(-0.5) * x\n", [np.ones(2, np.float32)])])
def test_constants_meeting_float32_arrays_keep_float32(source, args):
    mod = derivgen.compile(source)
    value, grads = _all_paths(mod, *args)
    assert np.asarray(value).dtype == np.float32
    assert all(np.asarray(g).dtype == np.float32 for g in grads)


def test_an_integer_constant_result_is_a_float_on_the_scalar_path():
    mod = derivgen.compile("def f(x):\n    t0 = 1\n    return t0\n")
    assert type(mod.forward(2.0)) is float and mod.forward(2.0) == 1.0
    value, grads = mod.value_and_grad(2.0)
    assert type(value) is float and grads.x == 0.0


@pytest.mark.parametrize("y, x", [(0.0, -44.3), (-1e-9, -30.0), (np.array([0.0, 1.0, -2e-3]), np.array([-44.3, 2.0, -9.0]))])
def test_logaddexp_near_zero_keeps_its_digits_in_value_and_grad(y, x):
    mod = derivgen.compile("logaddexp(y, x)")
    with mpmath.workdps(50):
        exact = np.vectorize(lambda a, b: float(mpmath.log(mpmath.exp(a) + mpmath.exp(b))))(y, x)
    value, _ = _all_paths(mod, y, x)
    np.testing.assert_allclose(value, exact, rtol=1e-14)


def test_softmax_of_a_where_between_integer_constants():
    mod = derivgen.compile("p @ (exp(where(w > -1.1, floor(0.5), 3)) / exp(where(w > -1.1, floor(0.5), 3))"
                           ".sum(axis=-1, keepdims=True))")
    p, w = np.array([[0.5, 0.5, 0.5]]), np.full(3, 0.5)
    value, (gp, gw) = _all_paths(mod, p, w)
    np.testing.assert_allclose(value, [0.5])
    np.testing.assert_allclose(gp, np.full((1, 3), 1 / 3))
    np.testing.assert_array_equal(gw, 0.0)


@pytest.mark.parametrize("x", [1.5, np.float32(1.5), np.array(1.5)])
def test_a_reduction_along_axis_minus_one_of_a_single_number(x):
    mod = derivgen.compile("logsumexp(x, dim=-1)")
    value, (gx,) = _all_paths(mod, x)
    assert value == 1.5 and np.shape(gx) == () and gx == 1.0


def test_minimum_with_an_integer_is_a_float_on_the_scalar_path():
    mod = derivgen.compile("minimum(y, 1)")
    assert type(mod.forward(1.0)) is float and type(mod.forward(2.0)) is float


def test_hypot_at_the_origin_in_a_branch_not_taken_has_no_nan_gradient():
    mod = derivgen.compile("where(x >= 0.7, hypot(x, x), p)")
    with _strict():
        _, (gx, gp) = _all_paths(mod, np.array([0.0, 1.0]), 0.5)
    np.testing.assert_allclose(gx, [0.0, np.sqrt(2.0)])
    assert gp == 1.0


@pytest.mark.parametrize("z", [np.array([[1e-8, -3e-9]]), np.array([[1e-8, -40.0]]).T,
                               np.array([[-1e-8, -20.0, -1e-8 - 20.0]]).T])
def test_logsumexp_near_zero_keeps_its_digits(z):
    mod = derivgen.compile("logsumexp(z, axis=-2)")
    with mpmath.workdps(50):
        exact = [float(mpmath.log(sum(mpmath.exp(mpmath.mpf(float(v))) for v in col))) for col in z.T]
    value, _ = _all_paths(mod, z)
    np.testing.assert_allclose(value, exact, rtol=1e-14)


@pytest.mark.parametrize("x", [1e-8, np.float32(-3e-7), np.array(2e-9)])
def test_logsumexp_of_one_number_is_that_number(x):
    mod = derivgen.compile("logsumexp(x)")
    value, (gx,) = _all_paths(mod, x)
    assert value == x and gx == 1.0


def test_a_value_shared_by_two_where_branches_is_guarded_where_either_selects_it():
    mod = derivgen.compile("where(False, arccos(y), where(~(False & (y < 1)), y, arccos(y)))")
    with _strict():
        for y in (1.0, np.array([1.0, 0.5, -1.0])):
            value, (gy,) = _all_paths(mod, y)
            np.testing.assert_array_equal(value, y)
            np.testing.assert_array_equal(gy, np.ones_like(y))


def test_a_value_shared_by_branches_of_different_conditions():
    mod = derivgen.compile("def f(x, c):\n    s = sqrt(x)\n    return where(c > 0, s, 0.0) + where(c < -1, s, 1.0)\n")
    x, c = np.array([-1.0, 4.0, 9.0, -4.0]), np.array([-0.5, 1.0, -2.0, -0.5])
    with _strict():
        value, (gx, gc) = _all_paths(mod, x, c)
    np.testing.assert_array_equal(value, [1.0, 3.0, 3.0, 1.0])
    np.testing.assert_allclose(gx, [0.0, 0.25, 1 / 6, 0.0])
    np.testing.assert_array_equal(gc, 0.0)


@pytest.mark.parametrize("k", [np.array([0.0, 2.0, 0.5]), 0.0, 2.0])
def test_hypot_of_a_constant_branch_at_the_origin(k):
    mod = derivgen.compile("def f(k):\n    w = where(abs(k) < 1, k, floor(0.001))\n    return hypot(w, w)\n")
    with _strict():
        value, (gk,) = _all_paths(mod, k)
    kk = np.asarray(k)
    np.testing.assert_allclose(value, np.where(abs(kk) < 1, np.sqrt(2) * abs(kk), 0.0))
    # d/dk sqrt(2)|k| where |k| < 1 (0 at k = 0, as abs'(0) = 0), 0 where w is the constant
    np.testing.assert_allclose(gk, np.where(abs(kk) < 1, np.sqrt(2) * np.sign(kk), 0.0))


def test_hypot_gradient_at_the_origin_is_zero_as_abs():
    mod = derivgen.compile("hypot(a, b)")
    with _strict():
        for a, b in ((0.0, 0.0), (np.zeros(2), np.array([0.0, 3.0]))):
            _, (ga, gb) = _all_paths(mod, a, b)
            np.testing.assert_array_equal(ga, 0.0)
            np.testing.assert_array_equal(gb, np.where(np.asarray(b) > 0, 1.0, 0.0))


def test_a_recomputed_value_named_for_a_long_line_is_not_written_over():
    # -grad_output is recomputed at each use (cheap), then named to keep a line short: three
    # masks were taken of it in place, the later ones reading what the first had zeroed.
    mod = derivgen.compile("-np.clamp(x * y @ p, a_min=torch.sinh(q), a_max=numpy.matmul(y, z))")
    rng = np.random.default_rng(3)
    args = {"x": np.array([-1.39, 1.06]), "y": np.array([1.44, -1.64]), "p": rng.uniform(0.5, 2.0, (2, 2, 3)),
            "q": np.array([1.3, 1.67, 1.1]), "z": np.array([[1.59, 1.39, -0.08], [1.4, 1.82, -1.99]])}
    g = rng.normal(size=(2, 3))
    _, got = _all_paths(mod, *args.values(), grad_output=g)
    ref = reference.value_and_grad("-np.clamp(x * y @ p, a_min=torch.sinh(q), a_max=numpy.matmul(y, z))",
                                   args, grad_output=g)
    for name, grad in zip(mod.WRT, got):
        assert ref.smooth[name].all()
        np.testing.assert_allclose(grad, ref.grads[name], rtol=1e-12, atol=1e-12)
    scaled = mod.backward(*args.values(), grad_output=np.full((2, 3), 2.0))
    once = mod.backward(*args.values())
    for a, b in zip(scaled, once):
        np.testing.assert_allclose(a, 2 * b, rtol=1e-14)


@pytest.mark.parametrize("c", [-1.0, np.array([-1.0, -2.0])])
def test_a_branch_not_taken_under_a_reduction_computes_no_zero_over_zero(c):
    # arccos(-1) from the constant branch: its derivative -1/sqrt(0) is computed only where a
    # gradient arrives (nowhere for c < 0), not computed everywhere and masked after.
    mod = derivgen.compile("where(c > 0, sum(arccos(where(x > 0, log10(x), -1.0)), axis=-1), 0.0)")
    x = np.array([[-0.5, 2.0, 10.0], [0.5, -3.0, 1.0]])
    with _strict():
        value, (gc, gx) = _all_paths(mod, c, x)
    cc = np.asarray(c)[..., None]
    inner = np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), -1.0)
    np.testing.assert_allclose(value, np.where(np.asarray(c) > 0, np.sum(np.arccos(inner), axis=-1), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(x > 0, -1 / np.sqrt(1 - inner**2) / (x * np.log(10)), 0.0)
    np.testing.assert_allclose(gx, np.where(cc > 0, d, 0.0), rtol=1e-12)
    np.testing.assert_array_equal(gc, 0.0)


def test_a_guard_shared_by_wheres_of_other_shapes_keeps_the_value_s_shape():
    # r / p feeds where(p <= 4, ..., r / p), read by np.dot(d, .) and by a where over d's
    # shape: its guard (live where either selects it) must not give r / p that shape.
    source = ("def f(p, d, r):\n    t0 = np.where(p <= 4.0, r, r / p)\n"
              "    return where(d > -0.7, np.dot(d, t0), (square(d) + 0.25)**tanh(t0))\n")
    mod = derivgen.compile(source)
    p, d, r = np.array(0.58), np.array([[-0.24], [-1.14]]), np.array(0.85)
    with _strict():
        value, (gp, gd, gr) = _all_paths(mod, p, d, r)
    np.testing.assert_allclose(value, np.where(d > -0.7, d * r, (d**2 + 0.25) ** np.tanh(r)))
    assert np.shape(gp) == () and np.shape(gr) == () and np.shape(gd) == (2, 1)
    assert derivgen.gradcheck(mod, {"p": p, "d": d, "r": r}).ok
    # p > 4: the branch r / p is taken
    value, _ = _all_paths(mod, np.array(5.0), d, r)
    np.testing.assert_allclose(value, np.where(d > -0.7, d * r / 5, (d**2 + 0.25) ** np.tanh(r / 5)))


@pytest.mark.parametrize("source, x", [
    ("sqrt(relu(x))", [-1.0, -0.5, 4.0, 9.0]), ("sqrt(clamp(x, 0))", [-1.0, -0.5, 4.0, 9.0]),
    ("sqrt(maximum(x, 0))", [-1.0, -0.5, 4.0, 9.0]), ("sqrt(where(x > 0, x, 0.0))", [-1.0, -0.5, 4.0, 9.0]),
    ("arcsin(clamp(x, -1, 1))", [-3.0, 2.5, 0.5, -0.25]),
    ("arccos(where(x > 0, log10(x), -1.0))", [-1.0, -0.5, 4.0, 9.0]),
    ("y * relu(x - 1) ** 0.5", [-1.0, 0.5, 4.0, 9.0])])
def test_a_hazard_at_the_boundary_a_gate_makes_computes_no_inf_in_its_gradient(source, x):
    # sqrt'(0) = inf, but relu (clamp, maximum, where) passes no gradient there: PyTorch
    # gives 0 with no warning; derivgen computes that term on a harmless value instead.
    # (At x = 0 itself clamp and maximum do pass the gradient, both ends inclusive: inf there.)
    mod = derivgen.compile(source)
    args = {"x": np.array(x), "y": np.array(2.0)}
    inputs = [args[n] for n in mod.INPUTS]
    with np.errstate(all="ignore"):
        value, _ = _all_paths(mod, *inputs)
        finite = np.isfinite(value)
    with _strict():
        if finite.all():
            _, grads = _all_paths(mod, *inputs)
            gx = dict(zip(mod.WRT, grads))["x"]
            np.testing.assert_array_equal(gx[:2], 0.0)
            assert np.isfinite(gx).all()
    ref = reference.value_and_grad(source, args)
    with np.errstate(all="ignore"):
        grads = dict(zip(mod.WRT, mod.backward(*inputs)))
    smooth = ref.smooth["x"] & np.isfinite(ref.grads["x"])
    assert smooth.sum() >= 2
    np.testing.assert_allclose(grads["x"][smooth], ref.grads["x"][smooth], rtol=1e-10)


def test_relu_at_zero_gates_its_user_s_gradient_too():
    mod = derivgen.compile("sqrt(relu(x))")
    with _strict():
        _, (gx,) = _all_paths(mod, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(gx, [0.0, 0.5])  # relu'(0) = 0, as in PyTorch


def test_sign_of_a_difference_on_the_scalar_path_keeps_its_parentheses():
    mod = derivgen.compile("def f(p):\n    t0 = p / p\n    return torch.sign(t0 - t0)\n")
    assert mod.forward(0.25) == 0.0 and mod.forward(np.array(0.25)) == 0.0
    assert derivgen.compile("sign(x - 1)").forward(1.0) == 0.0


def test_a_sum_along_axis_0_of_a_single_number_passes_its_gradient_back():
    # NumPy's sum(v, axis=0) of a 0-d v is v; its gradient came back with an axis v lacks.
    mod = derivgen.compile("def f(c, d):\n    t = logsumexp(c * d)\n    return sum(np.dot(2.0, t * d), 0, False)\n")
    c, d = np.array([0.5, 1.5]), np.array(-1.6)
    value, grads = _all_paths(mod, c, d)
    assert np.shape(grads.c) == (2,) and np.shape(grads.d) == ()
    assert derivgen.gradcheck(mod, {"c": c, "d": d}).ok
    np.testing.assert_allclose(value, 2.0 * np.log(np.sum(np.exp(c * d))) * d)


def test_arctan2_at_the_origin_from_a_constant_branch_computes_no_zero_over_zero():
    source = ("def h0(a, b, scale=1):\n    return (scale - 0.5) * b - torch.arctan2(a, a)\n\n\n"
              "def f(p, d, y, c):\n    return torch.relu(h0(a=where(d > 0, input=torch.log2(p), other=0.0), b=y - c))\n")
    mod = derivgen.compile(source)
    with _strict():
        value, (gp, _, gy, gc) = _all_paths(mod, np.array([45.1, 16.4, 40.5]), np.array([1.65, -0.48, -1.9]),
                                             np.array(3.0), np.array(-1.0))
    np.testing.assert_allclose(value, [2.0 - np.pi / 4, 2.0, 2.0])
    np.testing.assert_array_equal(gp, 0.0)  # d/da arctan2(a, a) = 0 where a != 0
    assert gy == 1.5 and gc == -1.5


def test_a_value_named_after_it_was_inlined_keeps_what_its_text_reads():
    # -mean(r) was written into sigmoid(y**2)**(-mean(r)) as -_t2, then named _t3 = -_t2 for
    # a long line: the statement's reads were taken anew ({_t3}), so _t2 was deleted before it.
    mod = derivgen.compile("-sigmoid(square(y))**-mean(r, axis=(0, -1))")
    y = np.array([0.94, 1.86])
    r = np.random.default_rng(4).uniform(0.5, 1.9, (2, 2, 3))
    value, (gy, _) = _all_paths(mod, y, r)
    s, m = 1 / (1 + np.exp(-y**2)), r.mean(axis=(0, -1))
    np.testing.assert_allclose(value, -s ** -m, rtol=1e-13)
    np.testing.assert_allclose(gy, m * s ** (-m - 1) * s * (1 - s) * 2 * y, rtol=1e-12)
    assert derivgen.gradcheck(mod, {"y": y, "r": r}).ok


@pytest.mark.parametrize("source", [
    "def f(y, a, w):\n    return y + (w - a)\n",
    "def f(y, a, w):\n    t = w - a\n    return y + t\n",
    "def f(y, a, w):\n    return y - (a - w)\n",
    "def h0(a, scale=0.5):\n    return numpy.where(a >= 0.3, a, a) - a\n\n\ndef f(y, a, w):\n    return y + h0(a)\n",
])
def test_a_sum_inside_a_sum_is_added_as_written(source):
    # Floating-point addition is not associative: y + (w - a) with w = a = 1e24 is y, while
    # y + w - a, the same sum flattened (by the printer or the fusion pass), is 0.
    mod = derivgen.compile(source)
    y, a, w = np.array([-33.2, 5.0]), np.array([1e24, 8.7e23]), np.array([1e24, 8.7e23])
    value, grads = _all_paths(mod, y, a, w)
    np.testing.assert_array_equal(value, y)
    assert mod.forward(-33.2, 1e24, 1e24) == -33.2
    np.testing.assert_array_equal(grads.y, 1.0)


@pytest.mark.parametrize("source", ["x * np.pi.T.T", "x * (np.pi).T.T.T", "x * math.e.T.T"])
def test_a_named_constant_transposed_any_number_of_times_is_itself(source):
    # Found by fuzzing (seed 20261209, program 4204): np.pi.T.T was "not a supported constant".
    mod = derivgen.compile(source)
    x = np.array([0.5, -2.0])
    value, (gx,) = mod.value_and_grad(x)
    constant = math.e if "math.e" in source else math.pi
    np.testing.assert_allclose(value, x * constant, rtol=1e-15)
    np.testing.assert_allclose(gx, np.full(2, constant), rtol=1e-15)


# Found by fuzzing (seed 20261210, program 244): terms that cancel once written out (the two
# terms atan2(c, c) sends c) left a scalar standing for an array, and a sum of products was
# then contracted without the array's shape: the gradient of c was 1/6 of its value.
CANCELLING = [
    "mean(x * arctan2(c, c) + c*z)",
    "sum(x * arctan2(c, c) + c*z)",
    "mean(x / (abs(arctan2(c, c)) + 0.5) + hypot(clamp(z, -0.4, 0.9), power(1 + c**2, -0.5)))",
    "sum(x * (c / (c + c)) + c * z)",
]


@pytest.mark.parametrize("source", CANCELLING)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_terms_that_cancel_keep_the_shape_they_stood_for(source, dtype):
    from derivgen import reference as R

    rng = np.random.default_rng(3)
    inputs = {"x": rng.uniform(-2, 2, (2, 3)), "c": np.array(-0.48521471), "z": np.array(-1.39867103)}
    exact = R.value_and_grad(source, inputs)
    mod = derivgen.compile(source)
    value, grads = mod.value_and_grad(**{n: v.astype(dtype) for n, v in inputs.items()})
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(value, R.to_float(exact.value), rtol=rtol)
    for name in mod.WRT:
        np.testing.assert_allclose(getattr(grads, name), R.to_float(exact.grads[name]), rtol=rtol, atol=1e-12,
                                   err_msg=name)


# Found by fuzzing (seed 20261211, program 400): p - p sent p two terms g*e and -g*e (e =
# exp2(98) = 4e29) that were added after the other terms of p's gradient, which they wiped
# out (cos(p)*c + 4e29 - 4e29 is 0). An op's terms for operands that are one value are now
# added where they are made, and cancel exactly.
SAME_OPERANDS = [
    ("where(x < 0.9, (p - p) * exp2(p), p) + sin(p) * c", None),
    ("where(x < 0.9, (p - p) * exp2(p), where(c > 0, 1.0 / q @ r, p)) + arccos(0.5 * sin(p)) * c", None),
    ("sum((p - p) * exp(p) + sin(p))", lambda p: np.cos(p)),
    ("sum(arctan2(p, p) * exp(p) + p)", lambda p: np.exp(p) * np.arctan2(p, p) + 1),
    ("sum(x * x)", None),
]


@pytest.mark.parametrize(("source", "want"), SAME_OPERANDS)
def test_terms_of_one_value_given_twice_to_an_op_cancel_exactly(source, want):
    from derivgen import reference as R

    inputs = {"x": np.array([[95.6], [-196.9]]), "p": np.array([98.26367188, 75.33554077]),
              "c": np.array([[0.05442664], [0.17063233]]), "q": np.full((2, 2, 3), 1.5), "r": np.ones(3)}
    mod = derivgen.compile(source)
    inputs = {n: v for n, v in inputs.items() if n in mod.INPUTS}
    _, grads = mod.value_and_grad(**inputs)
    exact = R.value_and_grad(source, inputs)
    for name in mod.WRT:
        np.testing.assert_allclose(getattr(grads, name), R.to_float(exact.grads[name]), rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    if want is not None:
        np.testing.assert_allclose(grads.p, want(inputs["p"]), rtol=1e-12)


def test_a_square_written_as_a_product_has_one_gradient_term():
    text = derivgen.generate("sum(sin(x) * sin(x))")
    backward = text[text.index("def backward"):text.index("def value_and_grad")]
    assert "2*" in backward and " + _t" not in backward.split("_as_arrays")[-1]


def test_a_guard_whose_value_is_replayed_for_another_guards_condition_gets_its_own_condition_first():
    # Found by fuzzing (seed 20261212, program 15733): a KeyError at compile time. t0 - t0 is
    # guarded by a condition that comes after it, and is itself read by the condition of a
    # later guard: replaying that condition replayed t0 - t0 before its own condition.
    from derivgen import reference as R

    source = (
        "def f(p, x, y, z):\n"
        "    t0 = x\n"
        "    t0 = sigmoid(clamp(t0, -0.6, 1.1) - (y - t0))**2.5\n"
        "    t0 += where(log2(p) <= 0.4, t0, 2.0)\n"
        "    return expm1(where((p <= 0.6) & (1.0 < 0.5), maximum(clamp(y, -0.1, None), t0 - t0),\n"
        "                       -z * (x / -(1 + square(t0)))))\n"
    )
    inputs = {"p": np.array(1.18993235), "x": np.array([[1.05439806, 0.312558, 1.79140568],
                                                         [0.50298029, 0.24703607, -1.11884093]]),
              "y": np.array(1.68155086), "z": np.array(-0.13291726)}
    mod = derivgen.compile(source)
    value, grads = mod.value_and_grad(**inputs)
    exact = R.value_and_grad(source, inputs)
    np.testing.assert_allclose(value, R.to_float(exact.value), rtol=1e-12)
    for name in mod.WRT:
        np.testing.assert_allclose(getattr(grads, name), R.to_float(exact.grads[name]), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("source", ["maximum(clip(1, max=0.2) - (-0.5 + x), clamp(1, min=x))", "clamp(1, min=x) * 1",
                                    "clamp(2, max=x) + 0"])
def test_a_clamped_integer_constant_is_a_float_on_the_scalar_path(source):
    # Found by fuzzing (seed 20261213, program 2732): forward(0.0) returned the int 1.
    mod = derivgen.compile(source)
    for x in (0.0, 3.0):
        value = mod.forward(x)
        assert type(value) is float, (x, type(value))
        assert value == float(mod.forward(np.array(x)))


@pytest.mark.parametrize("source", ["where(d > 0, sqrt(where(p < 1, 0, p)), 2)",
                                    "where(d > 0, sqrt(where(p < 1, 0, relu(p - 2))), 2)",
                                    "where(d > 0, sqrt(clamp(where(p < 1, -1, p - 2), 0)), 2) * d"])
def test_the_gates_of_a_branch_and_of_a_gated_op_inside_it_are_both_kept(source):
    # Found by fuzzing (seed 20261216): sqrt's term was guarded by the branch's condition
    # alone, so at p = 0.5 it computed g / (2 * sqrt(0)), warning, for a gradient the inner
    # where then made 0. The condition is both gates: d > 0 and the inner op's own.
    mod = derivgen.compile(source)
    p = np.array([0.5, 0.99, 1.5, 2.5, 4.0])
    d = np.array([0.5, 2.0, 0.5, -1.0, 3.0])
    args = {"p": p, "d": d}
    with _strict():
        value, grads = _all_paths(mod, *[args[n] for n in mod.INPUTS])
    ref = reference.value_and_grad(source, args)
    np.testing.assert_allclose(value, reference.to_float(ref.value), rtol=1e-12)
    gp = dict(zip(mod.WRT, grads))["p"]
    np.testing.assert_array_equal(gp[:2], 0.0)
    smooth = ref.smooth["p"]
    assert smooth.sum() >= 3
    np.testing.assert_allclose(gp[smooth], reference.to_float(ref.grads["p"])[smooth], rtol=1e-10)


def test_guards_whose_conditions_need_each_other_s_values_are_replayed_without_a_cycle():
    # Found by fuzzing (seed 20261217): arcsin's guard needed the outer where's condition,
    # which reads t0, which reads hypot, whose guard needed a condition reading arcsin:
    # replaying either before the other recursed until "too large or too deeply nested".
    source = ("def f(d, c, x, k, y):\n"
              "    t0 = where(c > -1.6, 0.25 - y * y, square(arcsin(0.5 * sin(x))))\n"
              "    t1 = maximum(maximum(k + d, y), ceil(hypot(k, 0.1)))\n"
              "    return mean(arcsin(tanh(tanh(where((t0 + c) * t0 > 1.7,\n"
              "                                       where(t1 < 1.8, t0 + t0, minimum(-1.0, x)), t1 * d + t0)))))\n")
    mod = derivgen.compile(source)
    inputs = {"d": np.array(0.419), "c": np.array([[0.255, 1.444, 0.077], [1.277, 0.727, -0.754]]),
              "x": np.array([[-73.2, 126.5, -59.2], [-146.6, -81.9, 25.1]]), "k": np.array(1.306),
              "y": np.array(0.25)}
    args = [inputs[n] for n in mod.INPUTS]
    value, grads = _all_paths(mod, *args)
    exact = reference.value_and_grad(source, inputs)
    np.testing.assert_allclose(value, reference.to_float(exact.value), rtol=1e-12)
    for name, got in zip(mod.WRT, grads):
        smooth = exact.smooth[name]
        np.testing.assert_allclose(got[smooth], reference.to_float(exact.grads[name])[smooth], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("source", ["sum(where(c > 0, sin(y), 0) - (where(c > 0, sin(y), 0) + y - where(c > 0, sin(y), 0)))",
                                    "sum(where(c > 0, 1, 0) * y)"])
def test_a_gradient_masked_from_an_integer_is_a_float_array(source):
    # Found by fuzzing (seed 20261217): d/dy was _masked(1, c > 0) written over in place,
    # an int64 array that cannot hold the + 0.0 that makes -0.0 into +0.0.
    mod = derivgen.compile(source)
    c, y = np.array([0.5, -0.5, 1.0]), np.array([0.2, 0.4, -0.3])
    args = {"c": c, "y": y}
    _, grads = _all_paths(mod, *[args[n] for n in mod.INPUTS])
    gy = dict(zip(mod.WRT, grads))["y"]
    assert gy.dtype == np.float64
    want = np.where(c > 0, np.cos(y), 0.0) - 1 if "sin" in source else np.where(c > 0, 1.0, 0.0)
    np.testing.assert_allclose(gy, want, rtol=1e-15)


@pytest.mark.parametrize("source, wrt", [
    ("where(p > 0.8, where(x / x > -1.7, y, y), where(True, sinh(z), (x / x).T))", ["y"]),
    ("where(p > 0.8, sqrt(x), 1.0) + sum(sqrt(x).T * z)", None),
    ("where(p > 0.8, log(x) * y, 1.0) + mean(log(x))", None),
])
def test_a_guard_by_a_condition_of_a_larger_shape_keeps_the_value_s_own_shape(source, wrt):
    # Found by fuzzing (seed 20261217): x / x, a number, was guarded by p > 0.8 of shape
    # (2, 1) as x / where(p > 0.8, x, 1.0), so its transpose was (1, 2) and broadcasting the
    # result with (2, 3) failed. The condition is now taken down to the value's shape.
    mod = derivgen.compile(source, wrt=wrt)
    inputs = {"p": np.array([[0.5], [0.9]]), "y": np.array(0.5), "x": np.array(1.5), "z": np.array([0.5, 0.25, 2.0])}
    args = [inputs[n] for n in mod.INPUTS]
    value, grads = _all_paths(mod, *args)
    exact = reference.value_and_grad(source, {n: inputs[n] for n in mod.INPUTS}, wrt=list(mod.WRT))
    np.testing.assert_allclose(value, reference.to_float(exact.value), rtol=1e-12)
    for name, got in zip(mod.WRT, grads):
        assert np.shape(got) == np.shape(inputs[name])
        np.testing.assert_allclose(got, reference.to_float(exact.grads[name]), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("source", ["sqrt(arctan(where(c > 0, 0.0, y)))", "sqrt(expm1(where(y < 1, 0.0, y - 1))) * c",
                                    "sum(sqrt(tanh(where(c > 0, 0.0, y))) @ z)"])
def test_a_gate_is_passed_on_through_elementwise_ops_without_one(source):
    # Found by fuzzing (seed 20261218): sqrt(t1) @ c with t1 = atan(where(|atan(y)| >= 1, 0,
    # ...)) computed g / (2 * sqrt(0)), warning, where the where then passed y nothing: atan
    # has no gate of its own, and now passes on its operand's.
    mod = derivgen.compile(source)
    inputs = {"c": np.array([1.0, -1.0, 2.0]), "y": np.array([0.5, 0.7, 3.0]), "z": np.array([1.0, 2.0, 3.0])}
    args = [inputs[n] for n in mod.INPUTS]
    with _strict():
        value, grads = _all_paths(mod, *args)
    exact = reference.value_and_grad(source, {n: inputs[n] for n in mod.INPUTS})
    np.testing.assert_allclose(value, reference.to_float(exact.value), rtol=1e-12)
    gy = dict(zip(mod.WRT, grads))["y"]
    smooth = exact.smooth["y"]
    np.testing.assert_allclose(gy[smooth], reference.to_float(exact.grads["y"])[smooth], rtol=1e-9, atol=1e-14)
    assert np.isfinite(gy).all()


@pytest.mark.parametrize("source", ["sum(arccos(x)[1])", "sum(where(c > 0, arccos(x), 0.5)[[1, 1], -2:])",
                                    "sum(sqrt(x + 1)[:, 1:])"])
def test_an_element_an_index_leaves_out_sends_no_nan_from_an_infinite_rule(source):
    # Found by fuzzing (seed 20261219): arccos(-1) inside a where, reduced and indexed so that
    # row 0 was left out: its adjoint was 0 and its term -0 / sqrt(1 - 1) = nan, where the
    # program's derivative in that element is 0 (or another path's, finite).
    mod = derivgen.compile(source)
    inputs = {"x": np.array([[-1.0, 0.25, 0.5], [0.5, -0.25, 0.75]]), "c": np.array([1.0, -1.0, 2.0])}
    args = [inputs[n] for n in mod.INPUTS]
    with _strict():
        value, grads = _all_paths(mod, *args)
    exact = reference.value_and_grad(source, {n: inputs[n] for n in mod.INPUTS})
    np.testing.assert_allclose(value, reference.to_float(exact.value), rtol=1e-12)
    gx = dict(zip(mod.WRT, grads))["x"]
    assert np.isfinite(gx).all()
    np.testing.assert_allclose(gx, reference.to_float(exact.grads["x"]), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("source", ["where(x > 0, flip(2.5), x)", "squeeze(2.5) * x + reshape(1.5, (1,))",
                                    "minimum(flip(2.5), x) + expand_dims(0.5, 0)"])
def test_an_op_that_moves_elements_of_a_constant_keeps_a_float32_program_float32(source):
    # Found by fuzzing (seed 20261230): np.flip of a Python number is a float64 array, and
    # np.where(c, it, x) then made a float32 program's value float64.
    mod = derivgen.compile(source)
    x = np.array([0.5, -1.0, 3.0], dtype=np.float32)
    value, grads = mod.value_and_grad(x)
    assert np.asarray(value).dtype == np.float32 and grads.x.dtype == np.float32
    assert np.asarray(mod.forward(x)).dtype == np.float32
    value64, grads64 = mod.value_and_grad(x.astype(np.float64))
    np.testing.assert_allclose(value, value64, rtol=1e-6)
    np.testing.assert_allclose(grads.x, grads64.x, rtol=1e-6)


def test_a_reduction_of_one_number_is_that_number_exactly():
    # Found by fuzzing (seed 20261234): logsumexp(0.1) computed when the module ran was
    # log(exp(0.1)) = 0.10000000000000007, so 0.1 >= logsumexp(0.1) was False and where() took
    # the other branch (gradient 1 where the program is constant). Over every element of a
    # single number, sum, mean, amax, amin and logsumexp are that number.
    mod = derivgen.compile("def f(p):\n    return where(0.1 >= logsumexp(0.1, keepdims=True), 0.5, p)\n")
    value, grads = mod.value_and_grad(np.array(1.5))
    assert value == 0.5 and grads.p == 0.0
    for op in ("sum", "mean", "amax", "amin", "logsumexp"):
        folded = derivgen.compile(f"{op}(0.1) * x")
        assert folded.forward(np.array([2.0, 3.0])).tolist() == [0.2, 0.30000000000000004]  # 0.1 * x


@pytest.mark.parametrize("dtype, x", [(np.float32, -57.5), (np.float64, -472.0)])
def test_the_gradient_of_a_logsumexp_of_very_negative_numbers_does_not_overflow(dtype, x):
    # Found by fuzzing (seed 20261237): square(logsumexp(1.5 * x)) at x = -57.5 in float32 had
    # the gradient -inf. exp(-86.25) is a float32, so the sum was not max-shifted, and the chain
    # rule's 2 * logsumexp / sum overflowed before the exp multiplied it back down.
    mod = derivgen.compile("square(logsumexp(1.5 * x))")
    value, grads = mod.value_and_grad(np.asarray(x, dtype=dtype))
    assert value.dtype == grads.x.dtype == dtype
    np.testing.assert_allclose(grads.x, 2 * 1.5 * (1.5 * x), rtol=1e-6)  # softmax of one number: 1
    both = derivgen.compile("logsumexp(x) ** 2").backward(np.array([x, x - 1.0], dtype=dtype)).x
    assert np.all(np.isfinite(both))
    np.testing.assert_allclose(both.sum(), 2 * reference.to_float(reference.evaluate(
        "logsumexp(x)", {"x": np.array([x, x - 1.0])})), rtol=1e-5)


def test_a_value_two_wheres_of_other_shapes_select_is_guarded_in_its_own_shape():
    # Found by fuzzing (seed 20261237): 1 / x, shared by a where of shape (3, 2) (then
    # transposed) and one of shape (3,), was guarded by the two conditions combined first, which
    # do not broadcast together: backward raised ValueError. Each is now taken down to x's shape.
    source = "where(q >= 0.1, where(y <= 0.3, y, 1.0 / x).mT, where(m >= 1.3, m, 1.0 / x))"
    mod = derivgen.compile(source)
    inputs = {"q": np.array(0.5), "y": np.array([[0.1, 0.5], [0.5, 0.5], [0.5, 0.1]]), "x": np.array(0.5),
              "m": np.array([0.5, 2.0, 0.5])}
    value, grads = mod.value_and_grad(**inputs)
    expected = reference.value_and_grad(source, inputs)
    np.testing.assert_allclose(value, reference.to_float(expected.exact), rtol=1e-15)
    for name in inputs:
        np.testing.assert_allclose(getattr(grads, name), expected.grads[name], rtol=1e-8, atol=1e-12)
    with np.errstate(all="raise"):  # 1 / 0 where no branch selects it: no warning, no nan
        away = mod.backward(**{**inputs, "x": np.array(0.0), "y": np.full((3, 2), 0.1), "m": np.full(3, 2.0)})
    assert away.x == 0.0 and np.all(away.y == 1.0)


@pytest.mark.parametrize("transposed", ["np.transpose(np.dot(0.25, 3.0))", "np.dot(0.25, 3.0).T",
                                        "np.transpose(np.dot(len(x), 0.5))"])
def test_the_transpose_of_a_dot_product_of_numbers_is_that_number(transposed):
    # np.dot of Python numbers is a number, a Python float in the generated code: .T of it
    # raised AttributeError (found by fuzzing, seed 20261303)
    source = f"import numpy as np\ndef f(x):\n    return np.where(x > 0.1, {transposed}, x)\n"
    mod = derivgen.compile(source)
    x = np.array([0.4, 0.0, 0.3])
    expected = np.where(x > 0.1, 0.75 if "len" not in transposed else 1.5, x)
    np.testing.assert_allclose(mod.forward(x), expected, rtol=1e-15)
    np.testing.assert_allclose(mod.backward(x).x, [0.0, 1.0, 0.0])
    assert mod.forward(x.astype(np.float32)).dtype == np.float32
    if "len" not in transposed:  # a Python number has no len
        assert mod.forward(0.4) == 0.75


def test_an_arange_read_inside_another_arange_s_stop_keeps_each_ones_array():
    # np.arange(len(x[np.arange(len(t)), t])): the inner call's array is not the outer's (found
    # by fuzzing, seed 20261304: "read off two arrays" refused the program)
    mod = derivgen.compile("q[np.arange(len(idx)), idx][np.arange(len(q[np.arange(len(idx)), idx])), label]",
                           wrt=["q"])
    q = np.arange(12.0).reshape(2, 2, 3)
    idx = np.array([1, 0])
    rows = q[np.arange(2), idx]
    np.testing.assert_array_equal(mod.forward(q, idx, 2), rows[np.arange(2), 2])


@pytest.mark.parametrize("source", ["p * (1/np.sqrt(p.size))", "p ** F.rsqrt(p.size)"])
def test_a_reciprocal_square_root_of_a_size_keeps_the_inputs_dtype(source):
    # 1/np.sqrt(n) of a size is a float64 NumPy scalar that made float32 results float64
    # (found by fuzzing, seed 20261304)
    mod = derivgen.compile("import torch.nn.functional as F\ndef f(p):\n    return " + source + "\n")
    p = np.full(4, 0.5, dtype=np.float32)
    assert mod.forward(p).dtype == np.float32
    np.testing.assert_allclose(mod.forward(p), eval(source.replace("F.rsqrt(p.size)", "0.5"), {"np": np, "p": p}),
                               rtol=1e-6)


def test_arctan2_of_two_zero_constants_is_numpy_s_zero():
    # SymPy's atan2(0, 0) is nan, which made the constant an error (found by fuzzing, seed
    # 20261306); NumPy's and math's is 0
    mod = derivgen.compile("def f(w):\n    t0 = 0.0\n    return arctan2(t0, t0) + w\n")
    assert mod.forward(0.5) == np.arctan2(0.0, 0.0) + 0.5
    assert mod.forward(np.array([0.5, 1.0])).tolist() == [0.5, 1.0]


@pytest.mark.parametrize("source", ["np.arange(arccos(d).shape[1]) + d",
                                    "np.zeros(arccos(d).shape) + len(arccos(d)) + d",
                                    "np.zeros_like(np.where(d > 0, arccos(d), d)) + d"])
def test_a_value_read_for_its_shape_alone_raises_no_warning(source):
    # arccos(d) computed only for its shape warned on d outside [-1, 1] (found by fuzzing,
    # seed 20261306): it is computed on harmless values there, as a branch never selected is
    mod = derivgen.compile(source)
    d = np.array([[-0.4], [-1.7]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = mod.value_and_grad(d)
        backward = mod.backward(d)
    with np.errstate(invalid="ignore"):
        expected = eval(source.replace("arccos", "np.arccos"), {"np": np, "d": d})
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_array_equal(grads.d, np.ones_like(d))
    np.testing.assert_array_equal(backward.d, np.ones_like(d))


def test_the_transpose_of_a_kron_of_numbers_is_that_number():
    # np.kron(3, 3) is a number, whose .T was printed on a Python float (found by fuzzing,
    # seed 20261307: AttributeError)
    mod = derivgen.compile("0.1 + (t(kron(3, 3)) <= c)")
    assert mod.forward(0.5) == 0.1
    assert mod.forward(np.array([9.0, 10.0])).tolist() == [1.1, 1.1]


def test_a_nan_read_by_argmin_is_an_exception_the_reference_sees_reach_its_result():
    # np.argmin of sqrt of a negative number is the position of the nan, which NumPy warns of:
    # the reference's exception tracking passed none through argmin (found by fuzzing, seed
    # 20261307: the module's warning was taken for one nothing explained)
    program = reference.GraphProgram(derivgen.frontend.parse("np.argmin(sqrt(q), axis=-1) * x"))
    arith = reference.Naive(np.float64, track=True)
    out = program(arith, {"q": arith.input(np.array([-2.0, -0.5])), "x": arith.input(0.5)})
    assert bool(np.any(out.bad))
    with np.errstate(invalid="ignore"):
        assert derivgen.compile("np.argmin(sqrt(q), axis=-1) * x").forward(np.array([-2.0, -0.5]), 0.5) == 0.0


@pytest.mark.parametrize("source", ["transpose(amax(x.size, keepdims=True))",
                                    "where(False, transpose(prod(x.size, keepdim=True)), x)"])
def test_a_reduction_of_a_size_is_that_size(source):
    # amax(x.size, keepdims=True) was printed as a Python float whose .T failed (found by
    # fuzzing, seed 20261308): over every element of a number it is the number itself
    mod = derivgen.compile(source)
    assert mod.forward(0.5) == (1.0 if source.startswith("transpose") else 0.5)
    assert mod.forward(np.ones((2, 3))).tolist() == (6.0 if source.startswith("transpose") else np.ones((2, 3)).tolist())


def test_the_exact_gelu_tanh_has_no_cancellation_far_below_zero():
    # 1 + tanh(u) is 0 at any working precision for u below about -dps: the reference's exact
    # gelu(approximate='tanh') gave 0 where the value is -2.2e-196 (found by fuzzing, seed 20261308)
    x = np.array([-18.1200008392334])
    arith = reference.Exact(reference.DEFAULT_DPS)
    exact = reference.to_float(arith.call("gelu_tanh", arith.input(x)))  # the kernel the fuzzer's trees use
    u = math.sqrt(2 / math.pi) * (x[0] + 0.044715 * x[0] ** 3)
    assert exact[0] == pytest.approx(float(mpmath.mpf(x[0]) / (1 + mpmath.exp(-2 * mpmath.mpf(u)))), rel=1e-12)
    assert exact[0] < -1e-196


def test_a_gradient_that_is_the_value_itself_on_the_scalar_path():
    # np.imag(x) is zeros, and so is its gradient: one value, named once; the scalar path's
    # finite check read the gradient's name, never assigned (NameError)
    mod = derivgen.compile("np.imag(x)")
    assert mod.value_and_grad(2.0) == (0.0, (0.0,))
    assert mod.backward(2.0).x == 0.0
