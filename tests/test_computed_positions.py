"""Positions the module computes: np.argmax / np.argmin / np.argsort (and PyTorch's), the
indices of torch.max(x, dim), torch.sort and torch.topk. Read by an index as positions, or
as numbers in the inputs' dtype; no gradient flows through them. Checked against NumPy's
own functions (and PyTorch's where it imports), the reference evaluator, finite
differences, ties, nan and float32."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

RNG = np.random.default_rng(5)
X = RNG.normal(size=(4, 5))
STABLE = {"kind": "stable"}

# (the expression in x, the same computed by NumPy)
CASES = [
    ("np.argmax(x) * x", lambda x: np.argmax(x) * x),
    ("np.argmax(x, axis=1) + x[:, 0]", lambda x: np.argmax(x, axis=1) + x[:, 0]),
    ("np.argmin(x, 0, keepdims=True) * x", lambda x: np.argmin(x, 0, keepdims=True) * x),
    ("numpy.argmax(x, axis=-1, keepdims=True) * x", lambda x: np.argmax(x, axis=-1, keepdims=True) * x),
    ("x[np.arange(len(x)), np.argmax(x, 1)]", lambda x: x[np.arange(len(x)), np.argmax(x, 1)]),
    ("x[np.argmin(x[:, 0])]", lambda x: x[np.argmin(x[:, 0])]),
    ("np.take_along_axis(x, np.argsort(x, axis=1), 1)", lambda x: np.take_along_axis(x, np.argsort(x, 1, **STABLE), 1)),
    ("np.take_along_axis(x, np.argmin(x, axis=0, keepdims=True), 0)",
     lambda x: np.take_along_axis(x, np.argmin(x, axis=0, keepdims=True), 0)),
    ("x.gather(1, x.argmax(dim=1, keepdim=True))", lambda x: np.take_along_axis(x, np.argmax(x, 1)[:, None], 1)),
    ("torch.argmax(x, 1, True) * x", lambda x: np.argmax(x, 1)[:, None] * x),
    ("torch.argmax(x, keepdim=True) * x", lambda x: np.argmax(x) * x),  # PyTorch ignores keepdim without dim
    ("torch.max(x, 1).indices * 1.0 + torch.max(x, 1).values", lambda x: np.argmax(x, 1) + np.max(x, 1)),
    ("x[0, torch.topk(x, 2).indices[:, 0]]", lambda x: x[0, np.argsort(-x, axis=1, **STABLE)[:, 0]]),
    ("x.sort(dim=0)[1] * x", lambda x: np.argsort(x, 0, **STABLE) * x),
    ("torch.argsort(x, dim=1, descending=True) * x", lambda x: np.argsort(-x, 1, **STABLE) * x),
    ("x.argsort() - x", lambda x: np.argsort(x, -1, **STABLE) - x),
    ("np.argsort(x, axis=None) * 2.0", lambda x: np.argsort(x, axis=None, **STABLE) * 2.0),
    ("(x.argmax(-1) == 2).float().mean() * x", lambda x: np.mean(np.argmax(x, -1) == 2) * x),
]


@pytest.mark.parametrize(("source", "numpy"), CASES, ids=[c[0] for c in CASES])
def test_values_gradients_and_dtype(source, numpy):
    module = derivgen.compile(f"import numpy as np\nimport numpy\nimport torch\ndef f(x):\n    return {source}\n")
    value, grads = module.value_and_grad(X)
    expected = numpy(X)
    assert np.shape(value) == np.shape(expected)
    np.testing.assert_allclose(value, expected, rtol=1e-15)
    assert derivgen.gradcheck(module, {"x": X}).ok
    ref = reference.value_and_grad(f"import numpy as np\nimport numpy\nimport torch\ndef f(x):\n    return {source}\n",
                                   {"x": X})
    np.testing.assert_allclose(value, ref.value, rtol=1e-15)
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-9, atol=1e-12)
    value32 = module.forward(X.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32  # as numbers: the inputs' dtype, as constants


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_ties_and_nan_take_numpy_s_first_position(name):
    x = np.array([[1.0, 3.0, 3.0, 1.0], [2.0, np.nan, 5.0, np.nan], [0.0, 0.0, 0.0, 0.0]])
    module = derivgen.compile(f"np.{name}(x, axis=1) + 0.0 * x[:, 0]")
    np.testing.assert_array_equal(module.forward(x), getattr(np, name)(x, axis=1))
    exact = reference.to_float(reference.evaluate(f"np.{name}(x, axis=1) + 0.0 * x[:, 0]", {"x": x}))
    np.testing.assert_array_equal(exact, getattr(np, name)(x, axis=1))


def test_of_a_number_it_is_numpy_s_zero():
    module = derivgen.compile("np.argmax(2.0) + np.argmin(x, axis=None) + x")
    np.testing.assert_array_equal(module.forward(np.array([3.0, 1.0])), [4.0, 2.0])


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    source = "x.gather(1, x.argmax(1, keepdim=True)).sum() + (x.argmin(0) * x[0]).sum()"
    module = derivgen.compile(f"def f(x):\n    return {source}\n")
    t = torch.tensor(X, requires_grad=True)
    out = eval(source, {"x": t})
    out.backward()
    value, grads = module.value_and_grad(X)
    np.testing.assert_allclose(value, out.item(), rtol=1e-15)
    np.testing.assert_allclose(grads.x, t.grad.numpy(), rtol=1e-15)


@pytest.mark.parametrize(("source", "message"), [
    ("np.argmax(x, out=x)", "np.argmax()'s out= writes into an array"),
    ("np.argmax(x, axis=(0, 1))", "a single axis is needed here, not a tuple"),
    ("np.argmax(x, 1, True)", "np.argmax() takes at most 2 positional arguments, got 3"),
    ("np.argmin(x, keep=True)", "np.argmin() got an unexpected keyword 'keep'"),
])
def test_bad_calls_are_clear_errors(source, message):
    with pytest.raises(ParseError) as caught:
        derivgen.generate(f"def f(x):\n    return {source} * x\n")
    assert message in str(caught.value)
