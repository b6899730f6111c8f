"""Train logistic regression with gradient descent on a compiled gradient.

Run from the repository root: python examples/train_logistic_regression.py
"""

from pathlib import Path

import numpy as np

import derivgen

source = (Path(__file__).parent / "logistic_regression.py").read_text()
model = derivgen.compile(source, function="loss", wrt=["w", "b"])

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
y = (X @ np.array([2.0, -1.0]) + 0.5 > 0).astype(float)

w, b, lr = np.zeros(2), 0.0, 0.5
for step in range(200):
    loss, grads = model.value_and_grad(X, y, w, b)
    w = w - lr * grads.w  # step 5 of the autograd notebook: x = x - lr * x.grad
    b = b - lr * grads.b
    if step % 50 == 0:
        print(f"step {step:3d}  loss {loss:.4f}")

accuracy = np.mean((X @ w + b > 0) == (y == 1))
print(f"final loss {model.forward(X, y, w, b):.4f}, accuracy {accuracy:.1%}")
