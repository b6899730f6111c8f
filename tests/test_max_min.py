"""max and min as reductions: values, gradients split among ties, and the spellings refused."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError, gradcheck, reference

X = np.array([[1.0, 3.0, 3.0], [0.5, 0.2, -1.0]])


@pytest.mark.parametrize("source, want", [
    ("np.max(x)", lambda x: np.max(x)), ("np.amax(x, 1)", lambda x: np.max(x, 1)),
    ("x.max(axis=1, keepdims=True)", lambda x: np.max(x, 1, keepdims=True)),
    ("torch.amax(x, dim=1)", lambda x: np.max(x, 1)), ("x.amin(1)", lambda x: np.min(x, 1)),
    ("torch.max(x)", lambda x: np.max(x)), ("np.min(x, axis=0)", lambda x: np.min(x, 0)),
    ("amin(x, axis=(0, 1))", lambda x: np.min(x)),
])
def test_values_are_numpy_s(source, want):
    mod = derivgen.compile(source)
    np.testing.assert_array_equal(mod.forward(X), want(X))
    np.testing.assert_array_equal(mod.value_and_grad(X)[0], want(X))


def test_ties_share_the_gradient_evenly():
    mod = derivgen.compile("np.max(x, axis=1)")
    g = np.array([2.0, 3.0])
    np.testing.assert_array_equal(mod.backward(X, grad_output=g).x, [[0.0, 1.0, 1.0], [3.0, 0.0, 0.0]])
    everywhere = derivgen.compile("amin(x)").backward(np.full((2, 2), 4.0)).x
    np.testing.assert_array_equal(everywhere, np.full((2, 2), 0.25))


def test_gradients_match_the_reference_away_from_ties():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4, 2))
    for source in ("sum(exp(x - amax(x, axis=1, keepdims=True)))", "mean(amin(x, axis=(0, 2)) * x[0, :, 0])"):
        mod = derivgen.compile(source)
        exact = reference.value_and_grad(source, {"x": x})
        np.testing.assert_allclose(mod.backward(x).x, reference.to_float(exact.grads["x"]), rtol=1e-9, atol=1e-13)
        assert gradcheck(mod, {"x": x}).ok


def test_float32_and_the_scalar_path():
    mod = derivgen.compile("x.max(axis=0) * 2")
    value, grads = mod.value_and_grad(X.astype(np.float32))
    assert value.dtype == np.float32 and grads.x.dtype == np.float32
    value, grads = derivgen.compile("np.max(x) * 2").value_and_grad(1.5)  # math, as sum(x) * 2 is
    assert type(value) is float and value == 3.0 and grads.x == 2.0


@pytest.mark.parametrize("source, words", [
    ("torch.max(x, x)", "elementwise maximum"),
    ("x.max(1)", "(values, indices) in PyTorch"),
    ("max(x, x)", "elementwise maximum in Python"),
])
def test_spellings_that_mean_another_thing_in_another_library_are_refused(source, words):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert words in info.value.message
    assert info.value.hint and ("amax" in info.value.hint or "amin" in info.value.hint or "imum" in info.value.hint)
    assert (info.value.line, info.value.col) == (1, 1)


@pytest.mark.parametrize("source", ["torch.max(x, 1)", "torch.min(x, dim=0)", "x.min(dim=1)", "torch.max(x, 1) + 1"])
def test_the_values_and_indices_pair_is_not_an_array(source):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert "(values, indices)" in info.value.message and ".values" in info.value.hint
    assert (info.value.line, info.value.col) == (1, 1)


@pytest.mark.parametrize("source", ["torch.max(x, 1)[0]", "torch.max(x, dim=1).values", "x.max(dim=1)[0]",
                                    "x.max(dim=-1).values", "torch.max(input=x, dim=1)[0]",
                                    "def f(x):\n    values, indices = torch.max(x, 1)\n    return values\n"])
def test_torch_max_with_dim_sends_the_gradient_to_the_first_maximum(source):
    # PyTorch returns the index of the first maximal value, and its gradient goes there alone
    # (torch.amax splits it among ties).
    x = np.array([[1.0, 3.0, 3.0], [0.5, 0.2, -1.0]])
    mod = derivgen.compile(source)
    g = np.array([2.0, -1.0])
    value = mod.forward(x)
    np.testing.assert_array_equal(value, [3.0, 0.5])
    np.testing.assert_array_equal(mod.backward(x, grad_output=g).x, [[0.0, 2.0, 0.0], [-1.0, 0.0, 0.0]])
    assert derivgen.gradcheck(mod, {"x": np.array([[1.0, 3.0, 2.5], [0.5, 0.2, -1.0]])}).ok


def test_torch_min_with_dim_and_keepdim():
    x = np.array([[1.0, 3.0], [-2.0, -2.0], [0.5, 4.0]])
    mod = derivgen.compile("torch.sum(torch.min(x, 1, keepdim=True).values * x)")
    value, grads = mod.value_and_grad(x)
    m = x.min(axis=1, keepdims=True)
    assert value == pytest.approx(np.sum(m * x))
    first = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])  # the tie in row 1: its first element
    np.testing.assert_allclose(grads.x, m + first * x.sum(axis=1, keepdims=True))
    value32, grads32 = mod.value_and_grad(x.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32 and grads32.x.dtype == np.float32


def test_the_indices_are_the_first_extreme_positions():
    mod = derivgen.compile("def f(x):\n    v, i = torch.max(x, 1)\n    return v * i\n")
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    np.testing.assert_array_equal(mod.forward(x), [3.0, 0.0])  # row 0: the first of the tied maxima, 1
    np.testing.assert_array_equal(mod.backward(x).x, [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    low = derivgen.compile("def f(x):\n    return torch.min(x, dim=0, keepdim=True).indices * x\n")
    np.testing.assert_array_equal(low.forward(x), np.argmin(x, 0)[None] * x)
