"""The benchmark programs and their inputs, shared by run.py and its child processes.

Inputs are seeded, so every process (the timing run, each memory child) sees the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEED_BCE_PATH = REPO / "examples" / "bce.py"

# Workload 1: the seed's scalar examples on Python floats.
SQUARE = "x**2"
SIN_SQUARE = "sin(x**2)"
SEED_BCE_POINT = (6.7, 0.0, 1.0, 0.0)  # x, y, w, b

# Workload 2.
MEAN_SQUARE = "mean(x**2)"

# Workload 3: mean binary cross-entropy over N examples, gradients for the two parameters.
BCE_MEAN = (REPO / "examples" / "bce_mean.py").read_text()
BCE_MEAN_PARAMS = (1.5, -0.25)  # w, b

# Workload 4.
ELEMENTWISE = "sum(sin(a)*exp(-b**2) + log1p(a**2)*b)"


def chain_source(depth: int) -> str:
    """Workload 6: `x = sin(x) * x + cos(w * x)` repeated `depth` times."""
    body = "".join("    x = sin(x) * x + cos(w * x)\n" for _ in range(depth))
    return f"def chain(x, w):\n{body}    return x\n"


def mean_square_inputs(n: int) -> tuple[np.ndarray]:
    rng = np.random.default_rng(1)
    return (rng.normal(size=n),)


def bce_mean_inputs(n: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """x, y arrays of n; w, b Python floats.

    About 0.2% of the examples saturate the sigmoid past the clamp (|w x + b| > 18.4), and
    the first two always do, so the clamp's zero-gradient branch is exercised and checked.
    """
    rng = np.random.default_rng(2)
    x = rng.normal(scale=4.0, size=n)
    x[:2] = (40.0, -40.0)
    y = (rng.random(n) < 0.5).astype(np.float64)
    w, b = BCE_MEAN_PARAMS
    return x, y, w, b


def elementwise_inputs(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=n), rng.normal(size=n)
