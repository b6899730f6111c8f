"""Every example of the seed autograd notebook, with the notebook's numbers."""

from pathlib import Path

import numpy as np
import pytest

import derivgen

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

SEED_BCE = '''
def binary_cross_entropy(prediction, target):
    epsilon = 1e-8
    prediction = torch.clamp(prediction, epsilon, 1 - epsilon)
    return -(target * torch.log(prediction) + (1 - target) * torch.log(1 - prediction))

def loss(x, y, w, b):
    z = w * x + b
    y_pred = torch.sigmoid(z)
    return binary_cross_entropy(y_pred, y)
'''


def test_square_gradient_at_3_is_6():
    mod = derivgen.compile("x**2")
    assert mod.backward(3.0).x == 6.0


def test_sin_square_matches_the_hand_derivative():
    mod = derivgen.compile("sin(x**2)", wrt=["x"])
    assert mod.forward(x=4.0) == pytest.approx(np.sin(16.0), rel=1e-15)
    assert mod.backward(x=4.0).x == pytest.approx(-7.661275842587077, rel=1e-14)


def test_sin_square_written_as_statements_like_the_notebook():
    mod = derivgen.compile((EXAMPLES / "sin_square.py").read_text())
    assert float(mod.backward(4.0).x) == pytest.approx(-7.6613, abs=5e-5)


def test_bce_loss_and_gradients_match_the_notebook():
    mod = derivgen.compile(SEED_BCE, function="loss", wrt=["w", "b"])
    value, grads = mod.value_and_grad(x=6.7, y=0.0, w=1.0, b=0.0)
    assert value == pytest.approx(6.7012, abs=5e-5)
    assert grads.w == pytest.approx(6.6918, abs=5e-5)
    assert grads.b == pytest.approx(0.9988, abs=5e-5)
    # The manual derivation in the notebook: dL/dz = y_pred - y, times x for w.
    y_pred = 1 / (1 + np.exp(-6.7))
    assert grads.b == pytest.approx(y_pred, rel=1e-12)
    assert grads.w == pytest.approx(6.7 * y_pred, rel=1e-12)


def test_bce_example_file_is_the_notebook_program():
    mod = derivgen.compile((EXAMPLES / "bce.py").read_text(), function="loss", wrt=["w", "b"])
    grads = mod.backward(6.7, 0.0, 1.0, 0.0)
    assert (round(float(grads.w), 4), round(float(grads.b), 4)) == (6.6918, 0.9988)


def test_mean_of_squares_gradient_is_two_x_over_n():
    mod = derivgen.compile("(x**2).mean()")
    grad = mod.backward(np.array([1.0, 2.0, 3.0])).x
    np.testing.assert_allclose(grad, [2 / 3, 4 / 3, 2.0], rtol=1e-15)
    assert np.round(grad, 4).tolist() == [0.6667, 1.3333, 2.0]


def test_clamp_of_the_notebook_clips_to_the_bounds():
    mod = derivgen.compile("torch.clamp(x, min=3, max=7)")
    x = np.array([2, 1, 4, 9, 8, 6, 7], dtype=float)
    assert mod.forward(x).tolist() == [3, 3, 4, 7, 7, 6, 7]
    assert mod.backward(x).x.tolist() == [0, 0, 1, 0, 0, 1, 1]


def test_gradient_descent_step_of_the_notebook():
    mod = derivgen.compile("x**2")
    x = 2.0
    grads = mod.backward(x)
    assert grads.x == 4.0
    x = x - 0.1 * grads.x
    assert x == pytest.approx(1.6)
