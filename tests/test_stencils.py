"""np.gradient and torch.gradient (derivgen/frontend/stencils.py): NumPy's numbers for each
spacing, axis and edge order, one array or a tuple as each library returns, their gradients,
and the errors. The op database (tests/opdb.py) checks them on every path."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError, reference

RNG = np.random.default_rng(3)
F = RNG.normal(size=(5, 4))
W = RNG.normal(size=(5, 4))


def _module(body: str, args: str = "f, w"):
    return derivgen.compile(f"import numpy as np\nimport torch\ndef g({args}):\n    return {body}\n")


@pytest.mark.parametrize("call, numpy", [
    ("np.gradient(f, axis=0)", lambda f: np.gradient(f, axis=0)),
    ("np.gradient(f, 0.1, axis=1)", lambda f: np.gradient(f, 0.1, axis=1)),
    ("np.gradient(f, 3, axis=-1, edge_order=2)", lambda f: np.gradient(f, 3, axis=-1, edge_order=2)),
    ("np.gradient(f, 0.7, axis=0, edge_order=2)", lambda f: np.gradient(f, 0.7, axis=0, edge_order=2)),
    ("torch.gradient(f, spacing=0.1, dim=1)[0]", lambda f: np.gradient(f, 0.1, axis=1)),
    ("torch.gradient(f, dim=0, edge_order=2)[0]", lambda f: np.gradient(f, axis=0, edge_order=2)),
])
def test_the_numbers_are_numpy_s_to_the_last_bit(call, numpy):
    mod = _module(f"np.sum({call} * w)")
    assert mod.forward(F, W) == pytest.approx(np.sum(numpy(F) * W), rel=1e-15)
    assert derivgen.gradcheck(mod, {"f": F, "w": W}).ok
    assert mod.forward(F.astype(np.float32), W.astype(np.float32)).dtype == np.float32


def test_the_gradient_of_a_stencil_is_its_transpose():
    # sum(np.gradient(f) * w) is linear in f: its gradient is the stencil's transpose applied to w
    mod = _module("np.sum(np.gradient(f, 0.5, axis=0) * w)")
    expected = np.zeros_like(F)
    for i in range(F.shape[0]):
        for j in range(F.shape[1]):
            e = np.zeros_like(F)
            e[i, j] = 1.0
            expected[i, j] = np.sum(np.gradient(e, 0.5, axis=0) * W)
    np.testing.assert_allclose(mod.backward(F, W).f, expected, rtol=1e-14, atol=1e-15)
    ref = reference.value_and_grad("import numpy as np\ndef g(f, w):\n    return np.sum(np.gradient(f, 0.5, axis=0) * w)\n",
                                   {"f": F, "w": W})
    np.testing.assert_allclose(mod.backward(F, W).f, ref.grads["f"], rtol=1e-13, atol=1e-15)


def test_several_axes_give_one_array_each_to_unpack():
    mod = derivgen.compile("import numpy as np\nimport torch\ndef g(f, w):\n"
                           "    gy, gx = np.gradient(f, 2.0, 0.5, axis=(0, 1))\n"
                           "    ty, tx = torch.gradient(f, spacing=[2.0, 0.5], dim=[0, 1])\n"
                           "    return np.sum(gy ** 2) + np.sum(gx * w) + np.sum(ty * tx)\n")
    gy, gx = np.gradient(F, 2.0, 0.5)
    assert mod.forward(F, W) == pytest.approx(np.sum(gy ** 2) + np.sum(gx * W) + np.sum(gy * gx), rel=1e-14)
    assert derivgen.gradcheck(mod, {"f": F, "w": W}).ok


def test_two_elements_along_the_axis_are_enough_for_first_order_ends():
    mod = _module("np.sum(np.gradient(f, axis=0) * w)")
    f, w = np.array([1.0, 4.0]), np.array([1.0, 1.0])
    assert mod.forward(f, w) == 6.0  # [3, 3], as NumPy gives


@pytest.mark.parametrize("call, message", [
    ("np.gradient(f)", "without axis depends on how many axes"),
    ("torch.gradient(f)[0]", "without dim depends on how many axes"),
    ("np.gradient(f, axis=None)", "without axis"),
    ("np.gradient(f, axis=0, edge_order=3)", "edge_order must be 1 or 2"),
    ("np.gradient(f, w, axis=0)", "spacing must be a nonzero number known now"),
    ("np.gradient(f, 0.0, axis=0)", "spacing must be a nonzero number known now"),
    ("np.gradient(f, 1.0, 2.0, axis=0)", "2 spacings for 1 axes"),
    ("np.gradient(f, axis=(0, 0))", "axis 0 is repeated"),
    ("np.gradient(f, axis=())", "at least one axis"),
    ("torch.gradient(f, 2.0, dim=0)[0]", "takes only its input by position"),
    ("np.gradient(f, axis=0, bogus=1)", "unexpected or repeated keyword 'bogus'"),
    ("np.gradient(axis=0)", "missing its array"),
    ("np.gradient(2.0, axis=0)", "of a single number is not defined"),
])
def test_bad_calls_are_errors_at_their_place(call, message):
    with pytest.raises(ParseError) as info:
        _module(f"np.sum({call} * w)")
    assert message in info.value.message
    assert info.value.line == 4
