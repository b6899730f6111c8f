"""np.arange and torch.arange used as numbers (derivgen/ops/constants.py): NumPy's values and
counts for every form of the call, stops read off an array when the module runs, the inputs'
dtype, the code and formulas they print, the same call read as positions by an index, and the
errors. The op database (tests/opdb.py) checks them on every path."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError, reference
from derivgen.formulas import formulas

X = np.linspace(-1.0, 1.5, 6)


@pytest.mark.parametrize("call, numbers", [
    ("np.arange(6)", np.arange(6)), ("np.arange(6.0)", np.arange(6.0)), ("np.arange(1, 7)", np.arange(1, 7)),
    ("np.arange(0, 1.5, 0.25)", np.arange(0, 1.5, 0.25)), ("np.arange(6, 0, -1)", np.arange(6, 0, -1)),
    ("np.arange(0.1, 0.7, 0.1)", np.arange(0.1, 0.7, 0.1)), ("np.arange(stop=6)", np.arange(6)),
    ("np.arange(start=-2, stop=4)", np.arange(-2, 4)), ("np.arange(2, 14, step=2)", np.arange(2, 14, 2)),
    ("np.arange(6, dtype=np.float32)", np.arange(6)), ("numpy.arange(6)", np.arange(6)), ("arange(6)", np.arange(6)),
    ("torch.arange(6)", np.arange(6)), ("torch.arange(1, 7)", np.arange(1, 7)),
    ("torch.arange(start=0, end=3, step=0.5)", np.arange(0, 3, 0.5)), ("torch.arange(end=6)", np.arange(6)),
    ("np.arange(len(x))", np.arange(6)), ("np.arange(x.shape[0])", np.arange(6)), ("np.arange(x.size)", np.arange(6)),
    ("np.arange(0.5, len(x), 1.0)", np.arange(0.5, 6, 1.0)), ("torch.arange(x.numel())", np.arange(6)),
])
def test_the_numbers_are_numpy_s(call, numbers):
    mod = derivgen.compile(f"import numpy\nimport torch\ndef f(x):\n    return np.sum(x * {call})\n")
    value, grads = mod.value_and_grad(X)
    assert value == pytest.approx(np.sum(X * numbers), rel=1e-15)
    np.testing.assert_array_equal(grads.x, numbers.astype(np.float64))
    assert mod.forward(X.astype(np.float32)).dtype == np.float32  # computed in the inputs' dtype


def test_a_line_fitted_over_the_time_steps():
    # the sum of squares of y - (a * t + b) over t = 0, 1, ..., n - 1: gradients by hand
    source = ("import numpy as np\ndef loss(a, b, y):\n    t = np.arange(len(y))\n"
              "    return np.mean((a * t + b - y) ** 2)\n")
    mod = derivgen.compile(source)
    for n in (1, 5, 9):
        y = np.cos(np.arange(n))
        t = np.arange(n)
        r = 0.5 * t - 0.2 - y
        value, grads = mod.value_and_grad(0.5, -0.2, y)
        assert value == pytest.approx(np.mean(r ** 2), rel=1e-14)
        assert grads.a == pytest.approx(np.mean(2 * r * t), rel=1e-13)
        assert grads.b == pytest.approx(np.mean(2 * r), rel=1e-13)
        np.testing.assert_allclose(grads.y, -2 * r / n, rtol=1e-14)
    ref = reference.value_and_grad(source, {"a": 0.5, "b": -0.2, "y": np.cos(np.arange(7.0))})
    value, grads = mod.value_and_grad(0.5, -0.2, np.cos(np.arange(7.0)))
    assert value == pytest.approx(float(ref.value), rel=1e-14)
    assert grads.a == pytest.approx(float(ref.grads["a"]), rel=1e-13)


def test_an_empty_arange_is_an_empty_array():
    mod = derivgen.compile("import numpy as np\ndef f(x):\n    return np.sum(x) + np.sum(np.arange(3, 1)) + np.sum(np.arange(len(x) - 0, dtype=float))\n")
    assert mod.forward(np.ones(0)) == 0.0


def test_the_code_and_formulas_are_numpy_s_call():
    text = derivgen.generate("import numpy as np\ndef f(x):\n    return np.sum(x * np.arange(len(x))) + np.sum(np.arange(1, 4)) * np.sum(np.arange(0.0, 1.0, 0.5))\n")
    assert "np.arange(np.shape(x)[0], dtype=np.float64)" in text
    assert "np.arange(1, 4, dtype=np.float64)" in text and "np.arange(0.0, 1.0, 0.5, dtype=np.float64)" in text
    assert "arange(x.shape[0])" in formulas("sum(x * np.arange(len(x)))").text()


def test_the_same_call_reads_as_positions_in_an_index_and_as_numbers_beside_it():
    mod = derivgen.compile("import numpy as np\ndef f(x, t):\n    r = np.arange(len(t))\n"
                           "    return np.sum(x[r, t] * r) + np.sum(x[np.arange(2), 0] * np.arange(2, dtype=int))\n")
    x, t = np.arange(12.0).reshape(4, 3), np.array([2, 0, 1])
    rows = np.arange(3)
    assert mod.forward(x, t) == np.sum(x[rows, t] * rows) + np.sum(x[[0, 1], 0] * [0, 1])
    expected = np.zeros_like(x)
    np.add.at(expected, (rows, t), rows)
    expected[[0, 1], 0] += [0, 1]
    np.testing.assert_array_equal(mod.backward(x, t).x, expected)


@pytest.mark.parametrize("call, message", [
    ("np.arange(0, 3, 0)", "step cannot be 0"),
    ("np.arange(x[0], 3)", "start must be a finite number known now"),
    ("np.arange(1, len(x) + 1)", "stop must be a number known now or a size read off an array as it is"),
    ("np.arange(np.inf)", "stop must be a number known now"),
    ("np.arange(0, 1, np.sum(x))", "step must be a finite number known now"),
    ("np.arange(10 ** 9)", "too large"),
    ("np.arange(3, device='cpu')", "device= is not supported"),
    ("np.arange(3, dtype=np.int8)", "has no gradient"),
    ("np.arange()", "missing its argument 'stop'"),
    ("np.arange(1, 2, 3, 4)", "takes at most 3 arguments"),
    ("np.arange(3, bogus=1)", "unexpected or repeated keyword 'bogus'"),
    ("np.arange(len(x.shape))", "must be a size, not a count of dimensions"),
    ("np.arange(x.ndim)", "must be a size, not a count of dimensions"),
])
def test_bad_calls_are_errors_at_their_place(call, message):
    with pytest.raises(ParseError) as info:
        derivgen.compile(f"import numpy as np\ndef f(x):\n    return np.sum(x * {call})\n")
    assert message in info.value.message
    assert info.value.line == 3
