"""Regression tests: programs that once compiled and returned wrong numbers silently.

Each test names the class of fault it guards against. Expected values are computed here
from the math (closed forms or NumPy on the formula as written), never copied from a run.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pytest

import derivgen
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
    args = {"a": np.array([0.1, 0.9]), "y": RNG.normal(size=3), "x": RNG.normal(size=(2, 1))}
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
    with pytest.raises(ParseError, match="not a finite real number"):
        derivgen.generate("def f(x, b):\n    return where(b > 0, sqrt(-2.0), 1.0) * x\n")
