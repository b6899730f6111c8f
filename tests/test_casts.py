"""Casts to a floating dtype: (x > 0).float(), c.astype(np.float32), x.double(), float(n)."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen.errors import ParseError

X = np.array([-1.5, 0.0, 0.5, 2.0])


@pytest.mark.parametrize("cast", ["(x > 0).float()", "(x > 0).double()", "(x > 0).astype(float)",
                                  "(x > 0).astype(np.float32)", "(x > 0).astype('float64')",
                                  "(x > 0).astype(dtype=np.float64)", "(x > 0).astype(torch.float32)", "(x > 0)"])
def test_a_condition_cast_to_floats_is_one_where_it_holds(cast):
    mod = derivgen.compile(f"import numpy as np\nimport torch\ndef f(x):\n    return np.sum(x * {cast})\n")
    value, grads = mod.value_and_grad(X)
    assert value == pytest.approx(2.5)
    np.testing.assert_array_equal(grads.x, (X > 0).astype(float))  # relu's gradient, 0 at the kink
    value32, grads32 = mod.value_and_grad(X.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32 and grads32.x.dtype == np.float32


@pytest.mark.parametrize("cast", ["x.float()", "x.double()", "x.astype(np.float64)", "x.astype(np.float32)"])
def test_an_array_cast_to_floats_is_itself_in_the_inputs_dtype(cast):
    # The module computes in its inputs' floating dtype, whatever the dtype a cast names.
    mod = derivgen.compile(f"import numpy as np\ndef f(x):\n    return np.sum({cast} ** 2)\n")
    value, grads = mod.value_and_grad(X)
    assert value == pytest.approx(np.sum(X**2))
    np.testing.assert_allclose(grads.x, 2 * X)
    value32, grads32 = mod.value_and_grad(X.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32 and grads32.x.dtype == np.float32


def test_float_of_a_size_or_a_constant_is_that_number():
    mod = derivgen.compile("import numpy as np\ndef f(x):\n    return np.sum(x) / float(len(x)) + float(3) / 2\n")
    value, grads = mod.value_and_grad(X)
    assert value == pytest.approx(np.mean(X) + 1.5)
    np.testing.assert_allclose(grads.x, np.full(4, 0.25))


ERRORS = [
    ("x.astype(int)", "a cast to int has no gradient", 17),
    ("x.astype(np.int64)", "a cast to int64 has no gradient", 17),
    ("x.astype('bool')", "a cast to bool has no gradient", 17),
    ("x.astype(x)", "needs a dtype such as np.float64", 17),
    ("x.astype()", "takes one argument, the floating dtype", 8),
    ("x.float(1)", ".float() takes no arguments", 8),
    ("float(x)", "float() of an array", 8),
    ("float(x, 1)", "float() takes exactly one argument", 8),
    ("x.shape.float()", ".float() of a shape", 8),
]


@pytest.mark.parametrize("expression, message, column", ERRORS, ids=[e[0] for e in ERRORS])
def test_casts_that_cannot_be_are_clear_errors(expression, message, column):
    with pytest.raises(ParseError) as info:
        derivgen.compile(f"import numpy as np\ndef f(x):\n    return np.sum({expression})\n")
    assert message in str(info.value)
    assert (info.value.line, info.value.col) == (3, column + 11), str(info.value)
