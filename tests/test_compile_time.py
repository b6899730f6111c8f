"""Python that runs at compile time (derivgen/frontend/python.py): tuples, if statements and
conditional expressions whose condition is known, and for loops, unrolled.

Each program here is also written without the construct, and both must compile to the same
module: what the construct computes is decided before any code is generated.
"""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError

RNG = np.random.default_rng(11)


def same_module(with_construct: str, without: str):
    """Both sources give the same generated functions (the sources differ, so the headers do)."""
    a, b = derivgen.generate(with_construct), derivgen.generate(without)
    assert a[a.index("\ndef forward"):] == b[b.index("\ndef forward"):]


@pytest.mark.parametrize("source, plain", [
    ("def f(x, y):\n    a, b = x, y\n    b, a = a, b\n    return a - b\n", "def f(x, y):\n    return y - x\n"),
    ("def h(x):\n    return x + 1, x * 2\n\ndef f(x):\n    a, b = h(x)\n    return a * b\n",
     "def f(x):\n    return (x + 1) * (x * 2)\n"),
    ("def f(x):\n    t = (x, sin(x))\n    return t[1] + t[-2] + t[0:1][0]\n", "def f(x):\n    return sin(x) + x + x\n"),
    ("def f(x, y):\n    (a, b), c = (x, y), x\n    return a * b * c\n", "def f(x, y):\n    return x * y * x\n"),
])
def test_tuples_are_unpacked_and_indexed_at_compile_time(source, plain):
    same_module(source, plain)


@pytest.mark.parametrize("source, plain", [
    ("K = 3\ndef f(x):\n    s = 0\n    for i in range(K):\n        s = s + x**i\n    return s\n",
     "def f(x):\n    return 0 + x**0 + x**1 + x**2\n"),
    ("def f(x, w1, w2):\n    h = x\n    for w in (w1, w2):\n        h = tanh(h @ w)\n    return sum(h)\n",
     "def f(x, w1, w2):\n    return sum(tanh(tanh(x @ w1) @ w2))\n"),
    (("def f(x, a, b):\n    s = 0\n    for i, (u, v) in enumerate(zip((a, b), [b, a])):\n        s += (i + 1) * u * v\n"
      "    return s * x\n"), "def f(x, a, b):\n    return (0 + 1 * a * b + 2 * b * a) * x\n"),
    ("def f(x):\n    for i in range(10, 0, -3):\n        x = x * i\n    return x\n",
     "def f(x):\n    return x * 10 * 7 * 4 * 1\n"),
    ("def f(x):\n    for i in range(0):\n        x = sin(x)\n    return x * 2\n", "def f(x):\n    return x * 2\n"),
])
def test_for_loops_are_unrolled(source, plain):
    same_module(source, plain)


@pytest.mark.parametrize("source, plain", [
    (("DEBUG = False\ndef f(x):\n    if DEBUG:\n        return x\n    elif 2 > 1 and not DEBUG:\n        y = x * 2\n"
      "    else:\n        y = x\n    return y\n"), "def f(x):\n    return x * 2\n"),
    ("def f(x):\n    return sin(x) if 0 or 1 else undefined_name(x)\n", "def f(x):\n    return sin(x)\n"),
    ("def f(x):\n    for i in range(3):\n        if i == 1:\n            return x * i\n    return x\n",
     "def f(x):\n    return x * 1\n"),
    ("LAYERS = 2\ndef f(x):\n    y = sqrt(-1.0) if LAYERS < 0 else x\n    return y\n", "def f(x):\n    return x\n"),
])
def test_conditions_known_at_compile_time_select_their_branch_only(source, plain):
    same_module(source, plain)


def test_an_unrolled_model_trains_like_the_written_out_one():
    mod = derivgen.compile("LAYERS = 3\n"
                           "def f(x, w):\n    h = x\n    for i in range(LAYERS):\n        h = tanh(h * w + i)\n"
                           "    return mean(h)\n")
    x, w = RNG.normal(size=5), 0.7
    h = x
    for i in range(3):
        h = np.tanh(h * w + i)
    value, grads = mod.value_and_grad(x, w)
    assert value == pytest.approx(h.mean(), rel=1e-14)
    step = 1e-6
    numeric = (mod.forward(x, w + step) - mod.forward(x, w - step)) / (2 * step)
    assert grads.w == pytest.approx(numeric, rel=1e-7)


@pytest.mark.parametrize("source, message, line, col", [
    ("def f(x):\n    if x > 0:\n        return x\n    return -x\n", "if statement must be known at compile time", 2, 8),
    ("def f(x):\n    return x if x > 0 else -x\n", "conditional expression (a if c else b) must be known", 2, 17),
    ("def f(x):\n    return where((x > 0) and (x < 1), x, 0)\n", "'and' / 'or' must be known at compile time", 2, 19),
    ("def f(x):\n    return where(not (x > 0), x, 0)\n", "'not' needs a condition known at compile time", 2, 18),
    # (a, b = x unpacks x's rows: tests/test_unpacking.py)
    ("def f(x):\n    a, b = x > 0\n    return a\n", "cannot unpack a condition into 2 names", 2, 5),
    ("def f(x):\n    a, b = x, x, x\n    return a\n", "cannot unpack 3 values into 2 names", 2, 5),
    ("def f(x):\n    a, *b = x, x\n    return a\n", "starred", 2, 8),
    ("def f(x):\n    return x, x\n", "returns a tuple of 2 values, not an array", 2, 12),
    ("def f(x):\n    return (x, x) + 1\n", "a tuple of 2 values is not an array", 2, 12),
    ("def f(x):\n    t = (x, x)\n    return t[2]\n", "index 2 is out of range for a tuple of 2", 3, 14),
    ("def f(x):\n    for i in range(100001):\n        x = x + 1\n    return x\n", "unrolled, at most 10,000 times", 2, 14),
    ("def f(x):\n    for i in x:\n        x = x + 1\n    return x\n", "cannot loop over an array", 2, 14),
    ("def f(x, n):\n    for i in range(n):\n        x = x + 1\n    return x\n", "known at compile time", 2, 20),
    ("def f(x):\n    for i in range(0, 3, 0):\n        x = x\n    return x\n", "range()'s step cannot be zero", 2, 26),
    ("def f(x):\n    for i in range(3):\n        x = x\n    else:\n        x = x\n    return x\n", "for ... else", 5, 9),
    ("def f(x):\n    for i in range(3):\n        break\n    return x\n", "break statements are not supported", 3, 9),
    ("def f(x):\n    while x:\n        x = x\n    return x\n", "while loops are not supported", 2, 5),
])
def test_control_flow_on_values_is_an_error_that_says_what_to_write(source, message, line, col):
    with pytest.raises(ParseError) as info:
        derivgen.generate(source)
    assert message in info.value.message
    assert (info.value.line, info.value.col) == (line, col)
