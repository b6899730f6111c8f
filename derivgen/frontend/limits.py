"""Bounds on the work any source can cause: set them here (``derivgen.frontend.limits``)."""

from __future__ import annotations

MAX_INLINE_DEPTH = 100


RECURSION_LIMIT = 60000


# Expression nodes read, counting each inlined helper body once per call: the bound on
# the work (and graph size) any source can cause. A 5,000-step chain is about 50,000.
MAX_NODES = 100_000


# Iterations of one for loop, which is unrolled: each adds its body's values to the graph.
MAX_UNROLL = 10_000


MAX_AXES = 64  # NumPy arrays have at most 64 dimensions
