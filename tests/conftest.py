"""Shared fixtures for the op conformance tests.

Every distinct source is compiled once per session (``compiled``); tests then
evaluate, differentiate and gradcheck the generated module as many times as they like.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import derivgen


@functools.cache
def _compile(source: str, wrt: tuple[str, ...] | None = None):
    return derivgen.compile(source, wrt=list(wrt) if wrt is not None else None)


@pytest.fixture(scope="session")
def compiled():
    """``compiled(source, wrt=None)``: the generated module, compiled once per distinct source."""
    def get(source: str, wrt=None):
        return _compile(source, tuple(wrt) if wrt is not None else None)
    return get


@pytest.fixture(scope="session")
def make_inputs():
    """``make_inputs(module, shapes, low, high, dtype)``: seeded uniform inputs for every input."""
    def make(module, shapes=None, low=-2.0, high=2.0, dtype="float64", seed=0):
        rng = np.random.default_rng(seed)
        shapes = shapes or {}
        return {n: rng.uniform(low, high, size=shapes.get(n, ())).astype(dtype) for n in module.INPUTS}
    return make


@pytest.fixture(scope="session")
def grads():
    """``grads(module, **inputs)``: ``module.backward`` as a dict of arrays, keyed by input name."""
    def get(module, **inputs):
        return {name: np.asarray(g) for name, g in zip(module.WRT, module.backward(**inputs))}
    return get


def pytest_addoption(parser):
    parser.addoption("--fuzz-count", type=int, default=None,
                     help="programs for the differential fuzz run of tests/test_differential.py "
                          "(default: a short derandomized run; seed: DERIVGEN_FUZZ_SEED)")
