"""Central differences for the tests that check a gradient against the function itself."""

from __future__ import annotations

import numpy as np


def numeric_vjp(forward, x, g, h=1e-6):
    """d<g, forward(x)>/dx by central differences."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (np.sum(g * forward(x + step)) - np.sum(g * forward(x - step))) / (2 * h)
    return grad
