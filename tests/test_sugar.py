"""Calls read as other ops (derivgen/frontend/sugar.py): np.outer, np.zeros_like,
np.ones_like, np.full_like. The op database (tests/opdb.py, SUGAR) checks values, gradients,
dtypes and functions; here are the errors and the gradient where no gradient flows."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError


def test_an_outer_product_of_any_shapes_reads_them_flattened():
    mod = derivgen.compile("np.outer(a, b)")
    a, b = np.arange(4.0).reshape(2, 2), np.array([1.0, -1.0])
    np.testing.assert_array_equal(mod.forward(a, b), np.outer(a, b))
    grads = mod.backward(a, b, grad_output=np.ones((4, 2)))
    np.testing.assert_array_equal(grads.a, np.zeros((2, 2)))  # each row of a meets 1 - 1
    np.testing.assert_array_equal(grads.b, [6.0, 6.0])


def test_zeros_like_takes_the_shape_and_dtype_and_passes_no_gradient():
    mod = derivgen.compile("np.zeros_like(x) + np.full_like(x, len(x)) * y")
    x, y = np.ones(3, dtype=np.float32), np.float32(2.0)
    value, grads = mod.value_and_grad(x, y)
    assert value.dtype == np.float32 and list(value) == [6.0, 6.0, 6.0]
    assert list(grads.x) == [0.0, 0.0, 0.0] and grads.y == 9.0


@pytest.mark.parametrize("source, message, col", [
    ("np.outer(x)", "outer() is missing its argument 'b'", 1),
    ("np.zeros_like(x, y)", "zeros_like() takes 1 argument, got 2", 1),
    ("np.ones_like(x, order=1)", "unexpected or repeated keyword 'order'", 23),
    ("np.full_like(x, y)", "full_like()'s fill_value must be a number", 17),
    ("np.ones_like(x, dtype=int)", "a cast to int has no gradient", 23),
    ("np.zeros_like(x > 0)", "a condition can only be the first argument of where()", 15),
])
def test_sugar_given_what_it_cannot_take_is_an_error_at_its_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in info.value.message and info.value.col == col


def test_a_trace_is_the_sum_of_the_diagonal_and_sends_it_the_gradient():
    mod = derivgen.compile("np.trace(x, 1) + torch.trace(x @ x)")
    x = np.arange(9.0).reshape(3, 3)
    assert mod.forward(x) == np.trace(x, 1) + np.trace(x @ x)
    np.testing.assert_array_equal(mod.backward(x).x, np.eye(3, k=1) + 2 * x.T)
    with pytest.raises(ParseError, match="takes at most 4 arguments"):
        derivgen.compile("np.trace(x, 0, 0, 1, 2)")
