"""Gradient simplification: fewer operations, the same gradients."""

import re

import numpy as np
import pytest

import derivgen
from derivgen import compiler

CLAMPED_BCE = (
    "def loss(x, y, w, b):\n"
    "    p = torch.clamp(torch.sigmoid(w * x + b), 1e-8, 1 - 1e-8)\n"
    "    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))\n"
)


# The compiler's passes with simplification left out.
WITHOUT_SIMPLIFY = tuple(p for p in compiler.GRADIENT_PASSES if p.__name__ != "simplify")
assert len(WITHOUT_SIMPLIFY) == len(compiler.GRADIENT_PASSES) - 1


@pytest.fixture
def unsimplified(monkeypatch):
    def build(source, **options):
        with monkeypatch.context() as patch:
            patch.setattr(compiler, "GRADIENT_PASSES", WITHOUT_SIMPLIFY)
            return derivgen.compile(source, **options)
    return build


def cost(module_text: str, function: str) -> int:
    block = module_text[module_text.index(f"def {function}("):]
    return int(re.search(r"Cost: (\d+) operations", block).group(1))


def test_clamped_bce_gradient_cancels_to_fewer_operations():
    simplified = derivgen.generate(CLAMPED_BCE, wrt=["w", "b"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiler, "GRADIENT_PASSES", WITHOUT_SIMPLIFY)
        plain = derivgen.generate(CLAMPED_BCE, wrt=["w", "b"])
    assert cost(simplified, "backward") < cost(plain, "backward")
    assert "(there the terms cancel)" in re.sub(r"\n\s*# ", " ", simplified)  # comments may wrap


def test_simplified_gradients_equal_the_rule_by_rule_ones_and_are_more_accurate(unsimplified):
    rng = np.random.default_rng(3)
    x = rng.normal(scale=20, size=200)  # many saturate the sigmoid, so the clamp is active
    y = (rng.uniform(size=200) > 0.5).astype(float)
    fast = derivgen.compile(CLAMPED_BCE, wrt=["w", "b"])
    slow = unsimplified(CLAMPED_BCE, wrt=["w", "b"])
    value_fast, grads_fast = fast.value_and_grad(x, y, 1.3, 0.2)
    value_slow, grads_slow = slow.value_and_grad(x, y, 1.3, 0.2)
    assert value_fast == value_slow
    # dL/dz = (p - y) / n where the clamp passes the gradient: the hand derivation.
    p = 1 / (1 + np.exp(-(1.3 * x + 0.2)))
    dz = np.where((p >= 1e-8) & (p <= 1 - 1e-8), p - y, 0) / x.size
    exact = [np.sum(dz * x), np.sum(dz)]
    np.testing.assert_allclose(grads_fast, exact, rtol=1e-13)
    # Rule by rule, 1 - clamp(p) near 1e-8 costs digits that the cancelled form keeps.
    np.testing.assert_allclose(grads_slow, exact, rtol=1e-8)
    assert derivgen.gradcheck(fast, {"x": x[:20] / 20, "y": y[:20], "w": 1.3, "b": 0.2}).ok


def test_the_clamp_still_stops_the_gradient_where_it_is_active():
    mod = derivgen.compile(CLAMPED_BCE, wrt=["w", "b"])
    grads = mod.backward(np.array([800.0, -800.0]), np.array([0.0, 1.0]), 1.0, 0.0)
    assert grads.w == 0.0 and grads.b == 0.0


def test_scalar_path_gets_the_simplified_gradient_too():
    mod = derivgen.compile(CLAMPED_BCE, wrt=["w", "b"])
    scalar = mod.backward(6.7, 0.0, 1.0, 0.0)
    array = mod.backward(np.asarray(6.7), np.asarray(0.0), np.asarray(1.0), np.asarray(0.0))
    assert scalar.w == pytest.approx(float(array.w), rel=1e-14)
    assert scalar.b == pytest.approx(1 / (1 + np.exp(-6.7)), rel=1e-12)  # dL/dz = p - y
