"""Large programs compile without recursion limits and give the right numbers."""

import math

import numpy as np
import pytest

import derivgen


def chain_source(depth: int) -> str:
    body = "\n".join("    x = sin(x) * x + cos(w * x)" for _ in range(depth))
    return f"def chain(x, w):\n{body}\n    return x\n"


def chain_value(x: float, w: float, depth: int) -> float:
    for _ in range(depth):
        x = math.sin(x) * x + math.cos(w * x)
    return x


def test_a_10000_node_chain_compiles_and_matches_finite_differences():
    depth = 2000  # five graph nodes per step
    mod = derivgen.compile(chain_source(depth))
    x, w = 0.3, 0.7
    value, grads = mod.value_and_grad(x, w)
    assert value == pytest.approx(chain_value(x, w, depth), rel=1e-12)
    h = 1e-7
    numeric_w = (chain_value(x, w + h, depth) - chain_value(x, w - h, depth)) / (2 * h)
    numeric_x = (chain_value(x + h, w, depth) - chain_value(x - h, w, depth)) / (2 * h)
    assert grads.w == pytest.approx(numeric_w, rel=1e-5, abs=1e-7)
    assert grads.x == pytest.approx(numeric_x, rel=1e-5, abs=1e-7)


def test_generated_size_grows_linearly_with_chain_depth():
    lines = [len(derivgen.generate(chain_source(d)).splitlines()) for d in (100, 200, 400)]
    per_step = [(lines[1] - lines[0]) / 100, (lines[2] - lines[1]) / 200]
    # Constant per step up to where longer temporary names push a line past the inlining limit.
    assert per_step[1] == pytest.approx(per_step[0], rel=0.05)


def test_a_400_deep_nesting_of_calls_compiles():
    source = "x"
    for _ in range(400):
        source = f"sin({source})"
    mod = derivgen.compile(source)
    x, derivative = 0.5, 1.0
    for _ in range(400):
        derivative *= math.cos(x)
        x = math.sin(x)
    value, grads = mod.value_and_grad(0.5)
    assert value == pytest.approx(x, rel=1e-14)
    assert grads.x == pytest.approx(derivative, rel=1e-12)


def test_a_4000_term_sum_compiles():
    source = " + ".join(f"{k} * x" for k in range(4000))
    mod = derivgen.compile(source)
    assert mod.backward(2.0).x == sum(range(4000))
    assert mod.forward(2.0) == 2.0 * sum(range(4000))


def test_thousands_of_nested_parentheses_compile():
    mod = derivgen.compile("(" * 3000 + "x" + ")" * 3000 + " * 3")
    assert mod.backward(np.ones(2)).x.tolist() == [3.0, 3.0]


def test_a_sum_over_thousands_of_distinct_inputs_compiles():
    source = " + ".join(f"x{i} * x{i + 1}" for i in range(1000))
    mod = derivgen.compile(source)
    values = [float(i % 7) for i in range(1001)]
    value, grads = mod.value_and_grad(*values)
    assert value == sum(values[i] * values[i + 1] for i in range(1000))
    assert grads[1] == values[0] + values[2]
