"""np.var / np.std and torch.var / torch.std (and the methods): each library's own divisor
(NumPy's n - ddof, PyTorch's n - correction), axes, keepdims; values and gradients against
PyTorch's autograd where it imports and against NumPy and finite differences always; float32;
the method's meaning decided by its keywords, then the imports, else a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

RNG = np.random.default_rng(3)
X = RNG.normal(size=(4, 5))

# (the call, NumPy's value of it)
CASES = [
    ("np.var(x)", lambda x: np.var(x)),
    ("np.std(x, axis=1)", lambda x: np.std(x, axis=1)),
    ("numpy.var(x, 0, keepdims=True)", lambda x: np.var(x, 0, keepdims=True)),
    ("np.var(x, axis=(0, 1), ddof=1, keepdims=True)", lambda x: np.var(x, axis=(0, 1), ddof=1, keepdims=True)),
    ("np.std(a=x, axis=-1, ddof=2)", lambda x: np.std(x, axis=-1, ddof=2)),
    ("torch.var(x)", lambda x: np.var(x, ddof=1)),
    ("torch.std(x, dim=0, keepdim=True)", lambda x: np.std(x, axis=0, ddof=1, keepdims=True)),
    ("torch.var(x, 1, False)", lambda x: np.var(x, axis=1)),
    ("torch.var(x, False)", lambda x: np.var(x)),
    ("torch.var(x, dim=-1, correction=2)", lambda x: np.var(x, axis=-1, ddof=2)),
    ("torch.std(input=x, dim=(0, 1), unbiased=True)", lambda x: np.std(x, ddof=1)),
    ("x.var(dim=1)", lambda x: np.var(x, axis=1, ddof=1)),
    ("x.std(ddof=1)", lambda x: np.std(x, ddof=1)),
    ("x.std(axis=0)", lambda x: np.std(x, axis=0)),
    ("x.var(0, keepdim=True)", lambda x: np.var(x, axis=0, ddof=1, keepdims=True)),
]


def _source(call: str) -> str:
    return f"import numpy as np\nimport numpy\nimport torch\ndef f(x):\n    return {call}\n"


def _agrees(call: str, x, expected) -> None:
    """The module's value is NumPy's (float32 too, to its precision), its gradient the
    reference's and finite differences'."""
    module = derivgen.compile(_source(call))
    value, grads = module.value_and_grad(x)
    assert np.shape(value) == np.shape(expected)
    np.testing.assert_allclose(value, expected, rtol=1e-13)
    assert derivgen.gradcheck(module, {"x": x}).ok
    ref = reference.value_and_grad(_source(call), {"x": x})
    np.testing.assert_allclose(value, ref.value, rtol=1e-13)
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-10, atol=1e-13)
    value32 = module.forward(x.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32
    np.testing.assert_allclose(value32, expected, rtol=1e-5)


@pytest.mark.parametrize(("call", "numpy"), CASES, ids=[c[0] for c in CASES])
def test_values_gradients_and_float32(call, numpy):
    _agrees(call, X, numpy(X))


# PyTorch's spellings (its methods' keywords too)
TORCH_CASES = [c for c in CASES if not c[0].startswith(("np.", "numpy.")) and "ddof" not in c[0] and "axis" not in c[0]]


def _agrees_with_pytorch(call: str, x) -> None:
    """The module's value and gradient (of the sum of its output) are PyTorch's for ``call``."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    out = eval(call, {"torch": torch, "x": t})
    out.sum().backward()
    value, grads = derivgen.compile(_source(call)).value_and_grad(x)
    np.testing.assert_allclose(value, out.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(grads.x, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(("call", "numpy"), TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_pytorch(call, numpy):
    _agrees_with_pytorch(call, X)


@pytest.mark.parametrize(("imports", "expected"), [("import torch", np.var(X, ddof=1)),
                                                    ("import numpy as np", np.var(X)),
                                                    ("import torch.nn.functional as F", np.var(X, ddof=1))])
def test_a_bare_method_follows_the_one_library_imported(imports, expected):
    module = derivgen.compile(f"{imports}\ndef f(x):\n    return x.var()\n")
    np.testing.assert_allclose(module.forward(X), expected, rtol=1e-14)


@pytest.mark.parametrize(("source", "message"), [
    ("def f(x):\n    return x.var()\n", "x.var() is NumPy's population variance on an ndarray and PyTorch's"),
    ("import numpy as np\nimport torch\ndef f(x):\n    return x.std()\n", "x.std() is NumPy's population deviation"),
    ("def f(x):\n    return np.var(x, dtype=np.float32)\n", "np.var()'s dtype= is not supported"),
    ("def f(x):\n    return np.var(x, where=x > 0)\n", "np.var()'s where= is not supported"),
    ("def f(x):\n    return torch.var(x, correction=1, unbiased=True)\n", "takes correction= or unbiased=, not both"),
    ("def f(x, d):\n    return np.var(x, ddof=d)\n", "np.var()'s ddof must be a number known at compile time"),
    ("def f(x):\n    return np.var(x, keepdims=1)\n", "np.var()'s keepdims must be True or False"),
    ("def f(x):\n    return np.var(x, 0, None, None, 0, False, 1)\n", "np.var() takes"),
])
def test_what_is_not_supported_is_a_clear_error(source, message):
    with pytest.raises(ParseError) as caught:
        derivgen.generate(source)
    assert message in str(caught.value)


def test_equal_elements_give_numpy_s_zero_and_nan_gradients():
    module = derivgen.compile("np.std(x)")
    with pytest.warns(RuntimeWarning):  # 1 / sqrt(0), as NumPy says it
        value, grads = module.value_and_grad(np.full(3, 2.0))
    assert value == 0.0
    assert np.all(np.isnan(grads.x))  # d sqrt(v) at v = 0, as NumPy autograd and PyTorch give


# ---- norms ---------------------------------------------------------------------------------

V = X[0]
# (the call, its argument, NumPy's value of it)
NORMS = [
    ("np.linalg.norm(x)", X, lambda x: np.linalg.norm(x)),
    ("numpy.linalg.norm(x, axis=1)", X, lambda x: np.linalg.norm(x, axis=1)),
    ("np.linalg.norm(x, 1, axis=0, keepdims=True)", X, lambda x: np.linalg.norm(x, 1, axis=0, keepdims=True)),
    ("np.linalg.norm(x, np.inf, axis=1)", X, lambda x: np.linalg.norm(x, np.inf, axis=1)),
    ("np.linalg.norm(x, -np.inf, axis=-1)", X, lambda x: np.linalg.norm(x, -np.inf, axis=-1)),
    ("np.linalg.norm(x, 3)", V, lambda x: np.linalg.norm(x, 3)),
    ("np.linalg.norm(x, ord=0.5)", V, lambda x: np.linalg.norm(x, 0.5)),
    ("np.linalg.norm(x, 'fro')", X, lambda x: np.linalg.norm(x, "fro")),
    ("np.linalg.norm(x, axis=(0, 1))", X, lambda x: np.linalg.norm(x, axis=(0, 1))),
    ("torch.linalg.norm(x, dim=-1, keepdim=True)", X, lambda x: np.linalg.norm(x, axis=-1, keepdims=True)),
    ("torch.linalg.vector_norm(x, 2.5, dim=(0, 1))", X, lambda x: np.sum(np.abs(x) ** 2.5) ** 0.4),
    ("torch.linalg.vector_norm(x)", X, lambda x: np.linalg.norm(x)),
    ("torch.norm(x)", X, lambda x: np.linalg.norm(x)),
    ("torch.norm(x, p=1, dim=1)", X, lambda x: np.linalg.norm(x, 1, axis=1)),
    ("x.norm(dim=-1, keepdim=True)", X, lambda x: np.linalg.norm(x, axis=-1, keepdims=True)),
    ("x.norm(1)", X, lambda x: np.sum(np.abs(x))),
]


@pytest.mark.parametrize(("call", "x", "numpy"), NORMS, ids=[c[0] for c in NORMS])
def test_norms(call, x, numpy):
    _agrees(call, x, numpy(x))


@pytest.mark.parametrize(("call", "x", "numpy"), [c for c in NORMS if "torch" in c[0] or "x.norm" in c[0]])
def test_norms_against_pytorch(call, x, numpy):
    _agrees_with_pytorch(call, x)


def test_the_gradient_at_the_zero_vector_is_pytorch_s_zero():
    for call in ("np.linalg.norm(x, axis=-1)", "torch.norm(x, p=3, dim=-1)", "x.norm(dim=1)"):
        value, grads = derivgen.compile(_source(call)).value_and_grad(np.zeros((2, 3)))
        np.testing.assert_array_equal(value, [0.0, 0.0])
        np.testing.assert_array_equal(grads.x, np.zeros((2, 3)))


def test_a_matrix_norm_by_rank_is_checked_when_the_module_runs():
    module = derivgen.compile(_source("np.linalg.norm(x, 1)"))
    np.testing.assert_allclose(module.forward(V), np.linalg.norm(V, 1), rtol=1e-15)
    with pytest.raises(ValueError, match="a matrix norm, which is not supported: give axis="):
        module.forward(X)
    fro = derivgen.compile(_source("np.linalg.norm(x, 'fro')"))
    with pytest.raises(ValueError, match="needs a 2-D x"):
        fro.forward(V)


@pytest.mark.parametrize(("call", "message"), [
    ("np.linalg.norm(x, 'nuc')", "linalg.norm()'s ord 'nuc' is not supported"),
    ("np.linalg.norm(x, 2, axis=(0, 1))", "of a matrix with ord=2.0 is not supported"),
    ("np.linalg.norm(x, 0, axis=1)", "ord must be positive, inf or -inf, not 0"),
    ("np.linalg.norm(x, -1, axis=1)", "ord must be positive, inf or -inf, not -1"),
    ("np.linalg.norm(x, axis=(0, 1, 2))", "takes one axis (a vector norm) or two (a matrix norm)"),
    ("torch.norm(x, out=x)", "torch.norm()'s out= is not supported"),
])
def test_unsupported_norms_are_clear_errors(call, message):
    with pytest.raises(ParseError) as caught:
        derivgen.generate(_source(call))
    assert message in str(caught.value)


# ---- np.average ----------------------------------------------------------------------------

W1 = RNG.uniform(0.5, 1.5, size=5)  # one weight per element along axis 1 of X
W2 = RNG.uniform(0.5, 1.5, size=X.shape)
AVERAGES = [
    ("np.average(x)", lambda x, w: np.average(x)),
    ("np.average(x, axis=0)", lambda x, w: np.average(x, axis=0)),
    ("np.average(x, axis=1, weights=w)", lambda x, w: np.average(x, axis=1, weights=w)),
    ("np.average(x, 1, w, keepdims=True)", lambda x, w: np.average(x, 1, w, keepdims=True)),
    ("np.average(x, -1, w, returned=True)[1] * x[:, 0]",
     lambda x, w: np.average(x, -1, w, returned=True)[1] * x[:, 0]),
    ("np.average(x, axis=0, returned=True)[1] * x[0]", lambda x, w: np.average(x, axis=0, returned=True)[1] * x[0]),
]


@pytest.mark.parametrize(("call", "numpy"), AVERAGES, ids=[c[0] for c in AVERAGES])
def test_average(call, numpy):
    module = derivgen.compile(f"def f(x, w):\n    return {call} + 0 * w.sum()\n")
    value = module.forward(X, W1)
    np.testing.assert_allclose(value, numpy(X, W1), rtol=1e-14)
    assert np.shape(value) == np.shape(numpy(X, W1))
    assert derivgen.gradcheck(module, {"x": X, "w": W1}).ok


def test_average_with_weights_of_a_s_shape_and_the_checks():
    whole = derivgen.compile("def f(x, w):\n    return np.average(x, weights=w)\n")
    np.testing.assert_allclose(whole.forward(X, W2), np.average(X, weights=W2), rtol=1e-14)
    assert derivgen.gradcheck(whole, {"x": X, "w": W2}).ok
    with pytest.raises(TypeError, match="the weights must have the shape of a"):
        whole.forward(X, W1)
    along = derivgen.compile("def f(x, w):\n    return np.average(x, 1, weights=w)\n")
    with pytest.raises(ValueError, match="takes 1-D weights"):
        along.forward(X, W2)
    with pytest.raises(ParseError, match="over several axes is not supported"):
        derivgen.generate("def f(x):\n    return np.average(x, axis=(0, 1))\n")
    with pytest.raises(ParseError, match="x.average\\(\\) is not a function"):
        derivgen.generate("def f(x):\n    return x.average()\n")
