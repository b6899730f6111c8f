"""Arrays built of several: np.stack / torch.stack, np.concatenate / torch.cat, np.array of a
list of values (derivgen/ops/joins.py).

The op database (tests/opdb.py, JOINS) checks values, gradients, dtypes and functions for
each spelling; here are the programs people write with them, the gradient of an array that
appears twice, what a join may be given, the errors and the formula view.
"""

from __future__ import annotations

import numpy as np
import pytest
from numeric import numeric_vjp

import derivgen
from derivgen import ParseError, reference
from derivgen.formulas import formulas

RNG = np.random.default_rng(17)


def test_a_polynomial_feature_map_built_with_stack():
    # features [1, x, x**2] of each sample, a linear model over them
    source = """
def loss(x, w, y):
    features = np.stack([x ** 0, x, x ** 2], axis=1)
    return np.mean((features @ w - y) ** 2)
"""
    mod = derivgen.compile(source, function="loss")
    x, w, y = RNG.normal(size=5), RNG.normal(size=3), RNG.normal(size=5)
    features = np.stack([np.ones(5), x, x**2], axis=1)
    value, grads = mod.value_and_grad(x, w, y)
    np.testing.assert_allclose(value, np.mean((features @ w - y) ** 2), rtol=1e-14)
    np.testing.assert_allclose(grads.w, 2 * features.T @ (features @ w - y) / 5, rtol=1e-12)
    expected = reference.value_and_grad(source, {"x": x, "w": w, "y": y}, function="loss")
    np.testing.assert_allclose(grads.x, expected.grads["x"], rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("source, numpy", [
    ("np.concatenate([x, x, 2 * x])", lambda x: np.concatenate([x, x, 2 * x])),
    ("torch.stack((x, x[::-1]), dim=-1)", lambda x: np.stack((x, x[::-1]), axis=-1)),
    ("np.array([[x[0], x[1]], [x[1], x[0]]])", lambda x: np.array([[x[0], x[1]], [x[1], x[0]]])),
    ("torch.cat([x[None], x[None]], dim=0).sum(0)", lambda x: np.concatenate([x[None], x[None]]).sum(0)),
])
def test_an_array_joined_more_than_once_gets_every_gradient(source, numpy):
    mod = derivgen.compile(source)
    x = RNG.normal(size=3)
    value = mod.forward(x)
    np.testing.assert_allclose(value, numpy(x), rtol=1e-15)
    g = RNG.normal(size=np.shape(value))
    np.testing.assert_allclose(mod.backward(x, grad_output=g).x, numeric_vjp(numpy, x, g), rtol=1e-7, atol=1e-9)


def test_joins_of_numbers_and_of_a_tuple_of_values():
    mod = derivgen.compile("np.array([1.0, 2.0]) * x")
    assert list(mod.forward(2.0)) == [2.0, 4.0] and mod.backward(2.0).x == 3.0
    parts = derivgen.compile("def f(x, y):\n    parts = (x, y * 2)\n    return np.concatenate(parts).sum()\n")
    grads = parts.backward(np.ones(2), np.ones(1))
    assert list(grads.x) == [1.0, 1.0] and list(grads.y) == [2.0]
    assert np.array_equal(derivgen.compile("np.array(x) * 2").forward(np.ones(2)), [2.0, 2.0])


def test_float32_parts_stay_float32():
    mod = derivgen.compile("np.concatenate([x, y ** 2], axis=0)")
    x, y = np.ones((2, 2), dtype=np.float32), np.ones((1, 2), dtype=np.float32)
    value, grads = mod.value_and_grad(x, y, grad_output=np.ones((3, 2), dtype=np.float32))
    assert value.dtype == grads.x.dtype == grads.y.dtype == np.float32
    assert grads.y.shape == (1, 2) and np.all(grads.y == 2.0)


def test_parts_that_do_not_fit_are_numpy_s_errors_when_the_module_runs():
    with pytest.raises(ValueError, match="same shape"):
        derivgen.compile("np.stack([x, y])").forward(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        derivgen.compile("np.concatenate([x, y], axis=1)").forward(np.ones((2, 2)), np.ones((3, 2)))


@pytest.mark.parametrize("source, message, col", [
    ("np.stack(x)", "stack() takes a list or tuple of arrays", 10),
    ("torch.cat(x, y)", "cat() takes a list or tuple of arrays", 11),
    ("np.stack([])", "needs at least one array", 10),
    ("np.array([])", "an empty array has no values", 10),
    ("np.array(x, y)", "array() takes one list of values", 1),
    ("np.array([x, y], dtype=int)", "a cast to int has no gradient", 24),
    ("np.stack([x, y > 0])", "a condition can only be the first argument of where()", 14),
])
def test_joins_given_what_they_cannot_join_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in info.value.message and info.value.col == col


def test_the_formula_view_writes_each_part_of_the_adjoint():
    text = formulas("sum(np.concatenate([x, y]) * w)").text()
    assert "concatenate((x, y), axis=0)" in text and "part(" in text
    text = formulas("sum(np.stack([x, y], axis=1) * w)").text()
    assert "stack((x, y), axis=1)" in text and "take(" in text
    assert r"\operatorname{stack}" in formulas("sum(np.stack([x, y]) * w)").text(latex=True)
