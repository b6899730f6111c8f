"""np.diff and torch.diff: differences along an axis, n times, read as slices and a subtraction."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

X = np.array([[1.0, 4.0, 9.0, 16.0], [0.5, 0.2, -1.0, 2.0], [3.0, -2.0, 0.0, 1.5]])

# (the call, NumPy's order n and axis)
SPELLINGS = [
    ("np.diff(x)", 1, -1), ("np.diff(x, 2)", 2, -1), ("np.diff(x, axis=0)", 1, 0), ("np.diff(x, 1, 0)", 1, 0),
    ("np.diff(x, n=2, axis=-2)", 2, -2), ("numpy.diff(a=x, n=0)", 0, -1), ("torch.diff(x)", 1, -1),
    ("torch.diff(x, dim=0)", 1, 0), ("torch.diff(input=x, n=2, dim=1)", 2, 1), ("x.diff()", 1, -1),
    ("x.diff(n=2, dim=0)", 2, 0), ("diff(x, axis=1)", 1, 1),
]


@pytest.mark.parametrize("call, n, axis", SPELLINGS, ids=[s for s, _, _ in SPELLINGS])
def test_diff_in_every_spelling_matches_numpy_and_its_gradient(call, n, axis):
    source = f"import numpy as np\nimport torch\ndef f(x, w):\n    return np.sum({call} ** 2 * w)\n"
    d = np.diff(X, n, axis=axis)
    w = np.linspace(0.5, 1.5, d.size).reshape(d.shape)
    mod = derivgen.compile(source)
    value, grads = mod.value_and_grad(X, w)
    np.testing.assert_allclose(value, np.sum(d**2 * w), rtol=1e-14)
    np.testing.assert_allclose(grads.w, d**2, rtol=1e-14)
    ref = reference.value_and_grad(source, {"x": X, "w": w})
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-9, atol=1e-12)
    g = np.random.default_rng(3).uniform(-1.5, 1.5, size=())
    np.testing.assert_allclose(mod.backward(X, w, grad_output=g).x, g * grads.x, rtol=1e-14)
    value32, grads32 = mod.value_and_grad(X.astype(np.float32), w.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32 and grads32.x.dtype == np.float32


def test_a_smoothness_penalty_over_a_vector():
    mod = derivgen.compile("import numpy as np\ndef f(w):\n    return np.sum(np.diff(w) ** 2)\n")
    w = np.array([0.0, 1.0, 3.0])
    assert mod.forward(w) == 5.0
    np.testing.assert_array_equal(mod.backward(w).w, [-2.0, -2.0, 4.0])  # -2 d0, 2 d0 - 2 d1, 2 d1


ERRORS = [
    ("np.diff(x, prepend=0)", "prepend= is not supported", 38),
    ("np.diff(x, n=-1)", "n must be between 0 and 64", 32),
    ("np.diff(x, 1, 2, 3)", "takes at most 3 arguments", 19),
    ("np.diff(2.0)", "of a single number", 27),
    ("np.diff(x, axis=x)", "must be an integer known at compile time", 35),
    ("np.diff(x, bins=2)", "unexpected keyword 'bins'", 35),
    ("np.diff(n=1)", "missing its argument 'x'", 19),
]


@pytest.mark.parametrize("call, message, column", ERRORS, ids=[e[1] for e in ERRORS])
def test_diff_that_cannot_be_is_a_clear_error(call, message, column):
    with pytest.raises(ParseError) as info:
        derivgen.compile(f"import numpy as np\ndef f(x):\n    return np.sum({call})\n")
    assert message in str(info.value)
    assert (info.value.line, info.value.col) == (3, column), str(info.value)
