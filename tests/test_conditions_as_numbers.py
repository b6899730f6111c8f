"""A condition beside a number in + - * / is 1.0 where it holds and 0.0 elsewhere, as in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError, reference

X = np.array([-1.0, 2.0, 0.0, 0.5])


@pytest.mark.parametrize("source, numpy", [
    ("(x > 0) * 1.0", lambda x: (x > 0) * 1.0),
    ("sum(x * (x > 0))", lambda x: np.sum(x * (x > 0))),
    ("1 - (x > 0)", lambda x: 1 - (x > 0)),
    ("x / (1 + (x >= 0.5))", lambda x: x / (1 + (x >= 0.5))),
    ("mean((x - 0.25) ** 2 * ((x > 0) & (x < 1)))", lambda x: np.mean((x - 0.25) ** 2 * ((x > 0) & (x < 1)))),
])
def test_values_and_gradients_are_numpy_s(source, numpy):
    mod = derivgen.compile(source)
    value, grads = mod.value_and_grad(X)
    np.testing.assert_allclose(value, numpy(X), rtol=1e-15)
    np.testing.assert_allclose(mod.forward(X), numpy(X), rtol=1e-15)
    exact = reference.value_and_grad(source, {"x": X})
    smooth = exact.smooth["x"]
    np.testing.assert_allclose(grads.x[smooth], reference.to_float(exact.grads["x"])[smooth], rtol=1e-10, atol=1e-14)
    assert mod.forward(0.5) == pytest.approx(float(numpy(np.array(0.5))))  # the scalar path


@pytest.mark.parametrize("source, words", [
    ("(x > 0) * (x < 1)", "arithmetic of two conditions"),
    ("(x > 0) + (x < 1)", "arithmetic of two conditions"),
    ("sqrt(x > 0)", "a condition can only be the first argument of where()"),
])
def test_what_numpy_does_not_treat_as_numbers_is_an_error(source, words):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert words in info.value.message
    assert info.value.hint
