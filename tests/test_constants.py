"""Arrays of constants (derivgen/ops/constants.py, derivgen/frontend/arrays.py).

The op database (tests/opdb.py) checks their values, gradients and paths; here are the
reading of their sizes (integers, or sizes read off one array), the dtype of the arrays they
meet, the code they print, and their errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError
from derivgen.formulas import formulas


def test_sizes_read_off_an_array_are_read_when_the_module_runs():
    mod = derivgen.compile("def f(x, lam):\n    return np.sum((x.T @ x + lam * np.eye(x.shape[1])) ** 2)\n")
    for shape in ((4, 3), (2, 5)):
        x = np.random.default_rng(0).normal(size=shape)
        a = x.T @ x + 0.5 * np.eye(shape[1])
        assert mod.forward(x, 0.5) == pytest.approx(np.sum(a ** 2))
        assert mod.backward(x, 0.5).lam == pytest.approx(2 * np.trace(a))
    text = derivgen.generate("def f(x):\n    return np.sum(x @ np.eye(x.shape[1]) + np.zeros(x.shape))\n")
    assert "np.eye(np.shape(x)[1])" in text and "np.zeros(np.shape(x))" in text


def test_a_float32_model_stays_float32():
    mod = derivgen.compile("x * np.linspace(0, 1, 3) + np.ones(3, np.float64)")
    x = np.ones(3, dtype=np.float32)
    value, grads = mod.value_and_grad(x, grad_output=np.ones(3, dtype=np.float32))
    assert value.dtype == np.float32 and grads.x.dtype == np.float32
    np.testing.assert_allclose(value, np.linspace(0, 1, 3) + 1)


def test_an_array_of_constants_is_an_array_not_a_number():
    mod = derivgen.compile("np.eye(3)[0] * x + np.array([1.0, 2.0, 3.0])[1]")
    np.testing.assert_array_equal(mod.forward(np.ones(3)), [3.0, 2.0, 2.0])
    assert "eye(3)" in formulas("sum(np.eye(3) * x)").text()


@pytest.mark.parametrize("source, message, col", [
    ("np.empty(3) + x", "np.empty() holds whatever the memory held", 1),
    ("np.zeros(-1) + x", "cannot be negative", 10),
    ("np.zeros((2, 1.5)) + x", "must be an integer", 14),
    ("np.zeros(2 * len(x)) + x", "a size read off an array as it is", 10),
    ("np.zeros((len(x), len(y))) + x * y", "read off one array", 19),
    ("np.zeros(x.ndim) + x", "not a count of dimensions", 10),
    ("np.full(3, x) + x", "full()'s fill_value must be a finite number", 12),
    ("np.full(3) + x", "full() is missing its argument 'fill_value'", 1),
    ("np.zeros() + x", "zeros() is missing its argument 'shape'", 1),
    ("np.zeros(3, dtype=int) + x", "has no gradient", 19),
    ("torch.zeros(3, device='cuda') + x", "device= is not supported", 23),
    ("np.eye(3, 3, x) @ x", "must be an integer known at compile time", 14),
    ("np.linspace(0, x, 3) * x", "linspace()'s stop must be a finite number", 16),
    ("np.linspace(0, 1, 3, endpoint=1) * x", "endpoint must be True or False", 31),
    ("np.zeros((10 ** 5, 10 ** 5)) + x", "too large", 1),
    ("np.zeros(3, float, 'C') + x", "zeros() takes at most 2 arguments", 20),
    ("np.zeros(3, int) + x", "has no gradient", 13),
    ("np.ones((" + "1, " * 65 + "1)) + x", "at most 64 sizes", 9),
])
def test_bad_constant_arrays_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.generate(source)
    assert message in info.value.message or message in (info.value.hint or "")
    assert (info.value.line, info.value.col) == (1, col)
