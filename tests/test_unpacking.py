"""Arrays unpacked into names: ``a, b = x`` (its rows), ``torch.unbind(x, dim)`` and
``x.unbind(dim)``, and np.hsplit / np.vsplit / np.dsplit (and PyTorch's): values and
gradients against PyTorch's autograd where it imports (finite differences otherwise), the
counts and ranks checked when the module runs, and the errors for what cannot be unpacked."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

RNG = np.random.default_rng(11)
X, W = RNG.normal(size=(2, 4)), RNG.normal(size=(5, 3))
SOURCE = '''import numpy as np
import torch

def f(x, w):
    a, b = x
    q, k, v = w.unbind(-1)
    first = torch.unbind(w, dim=1)[0]
    left, right = np.hsplit(x, 2)
    top, rest = torch.vsplit(x, [1])
    return (a * b).sum() + (q * k * v).sum() + first.sum() + (left ** 2).sum() - right.sum() * top.sum() + rest.sum()
'''


def _by_hand(x, w):
    a, b = x[0], x[1]
    q, k, v = w[:, 0], w[:, 1], w[:, 2]
    left, right = x[:, :2], x[:, 2:]
    top, rest = x[:1], x[1:]
    return ((a * b).sum() + (q * k * v).sum() + w[:, 0].sum() + (left ** 2).sum() - right.sum() * top.sum()
            + rest.sum())


def test_values_and_gradients():
    module = derivgen.compile(SOURCE)
    value, grads = module.value_and_grad(X, W)
    np.testing.assert_allclose(value, _by_hand(X, W), rtol=1e-14)
    ref = reference.value_and_grad(SOURCE, {"x": X, "w": W})
    np.testing.assert_allclose(value, ref.value, rtol=1e-14)
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads.w, ref.grads["w"], rtol=1e-12, atol=1e-14)
    assert derivgen.gradcheck(module, {"x": X, "w": W}).ok


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    namespace = {"np": torch, "torch": torch}
    exec(compile(SOURCE.replace("np.hsplit", "torch.hsplit"), "<source>", "exec"), namespace)  # noqa: S102 - our own text
    x, w = (torch.tensor(v, requires_grad=True) for v in (X, W))
    out = namespace["f"](x, w)
    out.backward()
    value, grads = derivgen.compile(SOURCE).value_and_grad(X, W)
    np.testing.assert_allclose(value, out.item(), rtol=1e-14)
    np.testing.assert_allclose(grads.x, x.grad.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(grads.w, w.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("inputs", "message"), [
    ((RNG.normal(size=(3, 4)), W), "cannot unpack an array's rows into 2 names: the size of axis 0 must be 2"),
    ((X, RNG.normal(size=(5, 4))),
     "cannot unpack the slices of unbind(dim=-1) into 3 names: the size of axis -1 must be 3"),
])
def test_the_count_is_checked_when_the_module_runs(inputs, message):
    module = derivgen.compile(SOURCE)
    for call in (module.forward, module.backward, module.value_and_grad):
        with pytest.raises(ValueError) as caught:
            call(*inputs)
        assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        reference.value_and_grad(SOURCE, dict(zip("xw", inputs)))
    assert str(caught.value) == message


@pytest.mark.parametrize(("call", "cut", "rank", "axis", "shape"), [
    ("np.vsplit(x, 2)", 2, 2, 0, (4, 3)), ("np.hsplit(x, [1])", [1], 2, 1, (2, 3)),
    ("np.dsplit(x, 2)", 2, 3, 2, (2, 1, 4)), ("torch.hsplit(x, 3)", 3, 2, 1, (2, 3)),
    ("x.vsplit([1, 3])", [1, 3], 2, 0, (4, 2)), ("torch.dsplit(x, [1])", [1], 3, 2, (1, 2, 3)),
])
def test_the_fixed_axis_splits_are_np_split(call, cut, rank, axis, shape):
    name = call.split("(")[0].split(".")[-1]
    source = f"import numpy as np\nimport torch\ndef f(x):\n    parts = {call}\n    return parts[0].sum() * 2 + parts[-1].sum() ** 2\n"
    x = RNG.normal(size=shape)
    parts = np.split(x, cut, axis=axis)
    module = derivgen.compile(source)
    value = module.forward(x)
    np.testing.assert_allclose(value, parts[0].sum() * 2 + parts[-1].sum() ** 2, rtol=1e-14)
    assert derivgen.gradcheck(module, {"x": x}).ok
    with pytest.raises(ValueError, match=f"{name}\\(\\) splits arrays of {rank} or more dimensions"):
        module.forward(RNG.normal(size=shape[:rank - 1]))


@pytest.mark.parametrize(("body", "message"), [
    ("t = x.unbind(0)\n    return t", "returns the slices of unbind(dim=0), a tuple of arrays, not an array"),
    ("return np.sum(x.unbind(0))", "the slices of unbind(dim=0) is a tuple of arrays, not an array"),
    ("return x.unbind(0)[1:][0]", "a slice of the slices of unbind(dim=0) has a length known only"),
    ("a, b = x > 0\n    return a", "cannot unpack a condition into 2 names"),
    ("for row in x.unbind(1):\n        x = x + row\n    return x", "cannot loop over the slices of unbind(dim=1)"),
    ("a, *b = x\n    return a", "starred"),
])
def test_what_cannot_be_unpacked_is_a_clear_error(body, message):
    with pytest.raises(ParseError) as caught:
        derivgen.generate(f"import numpy as np\ndef f(x):\n    {body}\n")
    assert message in str(caught.value)
