"""Constant defaults of the entry function: defaults of the generated functions too."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import derivgen
from derivgen import ParseError, gradcheck

SOURCE = """EPS = 1e-8

def loss(w, x, lam=0.1, eps=EPS, k=-2, scale=2 * 3):
    return mean((x @ w) ** 2) + lam * sum(w * w) + eps * k + scale
"""
W, X = np.array([0.5, -1.0]), np.array([[1.0, 2.0], [0.5, -0.25], [3.0, 1.0]])


def test_the_generated_functions_take_the_defaults():
    text = derivgen.generate(SOURCE)
    functions = {n.name: n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
    for name in ("forward", "backward", "value_and_grad"):
        args = functions[name].args
        defaults = [ast.literal_eval(d) for d in args.defaults]
        expected = [0.1, 1e-8, -2, 6] + ([1.0] if name != "forward" else [])
        assert defaults == expected, name
        assert [type(d) for d in defaults] == [type(e) for e in expected]
    assert "def forward(w, x, lam=0.1, eps=1e-08, k=-2, scale=6):" in text


def test_a_default_is_the_value_used_when_the_argument_is_left_out():
    mod = derivgen.compile(SOURCE)
    explicit = mod.value_and_grad(W, X, 0.1, 1e-8, -2, 6)
    implicit = mod.value_and_grad(W, X)
    np.testing.assert_array_equal(implicit[0], explicit[0])
    for a, b in zip(implicit[1], explicit[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(mod.forward(W, X), np.mean((X @ W) ** 2) + 0.1 * np.sum(W * W) - 2e-8 + 6)
    np.testing.assert_allclose(mod.forward(W, X, lam=0.0), np.mean((X @ W) ** 2) - 2e-8 + 6)
    grads = mod.backward(W, X, lam=1.0)
    np.testing.assert_allclose(grads.w, 2 * X.T @ (X @ W) / 3 + 2 * W)
    np.testing.assert_allclose(grads.lam, np.sum(W * W))  # a parameter with a default is still an input
    report = gradcheck(mod, {"w": W, "x": X, "lam": np.array(0.3), "eps": np.array(1e-3), "k": np.array(1.5),
                             "scale": np.array(1.0)})
    assert report.ok, report


def test_defaults_regenerate_byte_identically():
    assert derivgen.generate(SOURCE) == derivgen.generate(SOURCE)


@pytest.mark.parametrize("source, words, col", [
    ("def f(x, m=None):\n    return x", "cannot be None: every parameter is an input", 12),
    ("def f(x, m=y):\n    return x", "name 'y' is not defined", 12),
    ("def f(x, m=math.inf):\n    return x", "must be a number known at compile time", 12),
    ("def f(x, m=True):\n    return x", "must be a number known at compile time", 12),
    ("def f(x, m=sqrt(-1.0)):\n    return x", "not a finite real number", 12),
    ("def f(x, m='a'):\n    return x", "strings are not supported", 12),
    ("def f(x, m=np.ones(3)):\n    return x", "must be a number known at compile time", 12),
])
def test_a_default_that_is_not_a_number_is_an_error_at_it(source, words, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert words in info.value.message
    assert (info.value.line, info.value.col) == (1, col)
