"""NumPy's ufuncs by name (np.add, np.subtract, np.multiply, np.divide, np.true_divide,
np.negative, np.positive, np.reciprocal, np.deg2rad / np.radians, np.rad2deg / np.degrees,
np.real / np.conj / np.imag of real arrays): NumPy's values to the last bit, gradients
against finite differences, float32 kept."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import derivgen

RNG = np.random.default_rng(4)
X = RNG.uniform(0.5, 2.0, size=(3, 4)) * RNG.choice([-1.0, 1.0], size=(3, 4))  # away from 0
Y = RNG.uniform(0.5, 2.0, size=(3, 4)) * RNG.choice([-1.0, 1.0], size=(3, 4))

CALLS = ["np.add(x, y)", "np.subtract(x, y)", "np.multiply(x, y)", "np.divide(x, y)", "np.true_divide(x, y)",
         "np.negative(x) * y", "np.positive(x) * y", "np.reciprocal(x) * y", "np.deg2rad(x) * y", "np.radians(x) * y",
         "np.rad2deg(x) * y", "np.degrees(x) * y", "np.real(x) * y", "np.conj(x) * y", "np.conjugate(x) * y",
         "np.imag(x) + y", "torch.add(x, y)", "torch.multiply(x, other=y)", "x.add(y)", "np.add(x1=x, x2=y)"]


@pytest.mark.parametrize("call", CALLS)
def test_values_are_numpy_s_and_gradients_check(call):
    module = derivgen.compile(f"import torch\ndef f(x, y):\n    return {call}\n")
    numpy = call.replace("torch.add", "np.add").replace("torch.multiply(x, other=y)", "np.multiply(x, y)")
    numpy = numpy.replace("x.add(y)", "np.add(x, y)").replace("x1=x, x2=y", "x, y")
    expected = eval(numpy, {"np": np, "x": X, "y": Y})
    np.testing.assert_array_equal(module.forward(X, Y), expected)
    assert derivgen.gradcheck(module, {"x": X, "y": Y}).ok
    assert module.forward(X.astype(np.float32), Y.astype(np.float32)).dtype == np.float32


def test_the_gradients_are_the_constants_and_quotients_they_should_be():
    grads = derivgen.compile("np.deg2rad(x) + np.rad2deg(y)").backward(X, Y)
    np.testing.assert_array_equal(grads.x, np.full(X.shape, np.pi / 180))
    np.testing.assert_array_equal(grads.y, np.full(Y.shape, 180 / np.pi))
    np.testing.assert_allclose(derivgen.compile("np.reciprocal(x)").backward(X).x, -1 / X**2, rtol=1e-15)
    np.testing.assert_array_equal(derivgen.compile("np.imag(x) + 0 * x").backward(X).x, np.zeros(X.shape))


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_and_fmin_ignore_nan_as_numpy_s(name):
    a = np.array([1.0, np.nan, 3.0, np.nan, 2.0, -1.0])
    b = np.array([2.0, 1.0, np.nan, np.nan, 2.0, 0.5])
    module = derivgen.compile(f"np.{name}(a, b)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no nan is compared, none warns
        value, grads = module.value_and_grad(a, b)
    np.testing.assert_array_equal(value, getattr(np, name)(a, b))
    picked_a = (getattr(np, name)(a, b) == a) | (np.isnan(b))  # where a is the value (or both are nan)
    tie = a == b
    np.testing.assert_array_equal(grads.a, np.where(tie, 0.5, picked_a * 1.0))  # maximum's convention at a tie
    np.testing.assert_array_equal(grads.b, np.where(tie, 0.5, 1.0 - picked_a))
    spelled = derivgen.compile(f"torch.{name}(input=a, other=0.5) + x * 0")
    np.testing.assert_array_equal(spelled.forward(a, 1.0), getattr(np, name)(a, 0.5))
    assert derivgen.gradcheck(derivgen.compile(f"np.{name}(a, b)"), {"a": X, "b": Y}).ok


def test_cbrt_logaddexp2_copysign_heaviside_against_numpy_and_torch():
    x = np.array([-8.0, -0.5, 0.0, 0.7, 27.0])
    y = np.array([1.0, -2.0, 0.5, -1.0, 3.0])
    module = derivgen.compile("np.cbrt(x) + np.logaddexp2(x, y) + np.copysign(x, y) + np.heaviside(x, y)")
    with np.errstate(divide="ignore"):  # cbrt'(0) = inf
        value, grads = module.value_and_grad(x, y)
    np.testing.assert_allclose(value, np.cbrt(x) + np.logaddexp2(x, y) + np.copysign(x, y) + np.heaviside(x, y),
                               rtol=1e-15)
    slope = 1 / (1 + np.exp2(y - x))
    with np.errstate(divide="ignore"):
        expected_x = 1 / (3 * np.cbrt(x) ** 2) + slope + np.where(x == 0, 0.0, np.sign(x) * np.sign(y))
    np.testing.assert_allclose(grads.x, expected_x, rtol=1e-14)
    np.testing.assert_allclose(grads.y, (1 - slope) + (x == 0), rtol=1e-14)  # heaviside's values where x == 0
    torch = pytest.importorskip("torch")
    a = torch.tensor(x[[0, 1, 3, 4]], requires_grad=True)
    b = torch.tensor(y[[0, 1, 3, 4]], requires_grad=True)
    (torch.logaddexp2(a, b) + torch.copysign(a, b)).sum().backward()
    g = derivgen.compile("np.sum(np.logaddexp2(a, b) + np.copysign(a, b))").backward(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_allclose(g.a, a.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(g.b, b.grad.numpy(), rtol=1e-14)


def test_logaddexp2_of_a_value_with_itself_keeps_float32():
    # its gradient is sigmoid(0) = 1/2 folded to a number, not a call that makes float64
    w = np.ones((3, 2), np.float32)
    grads = derivgen.compile("np.sum(np.logaddexp2(w, w))").backward(w)
    assert grads.w.dtype == np.float32 and np.all(grads.w == 1.0)
    assert np.all(np.isfinite(derivgen.compile("np.logaddexp2(x, y)").backward(np.array([1e4]), np.array([-1e4])).x))
