"""The compiler's passes are functions: each returns a new graph and leaves its input as it was."""

from __future__ import annotations

import pytest

from derivgen import compiler
from derivgen.frontend import parse
from derivgen.optimize import optimize
from derivgen.reverse import differentiate

SOURCES = [
    "sum((x + 1) * sin(x))",
    "-(y * log(sigmoid(w * x + b)) + (1 - y) * log(1 - sigmoid(w * x + b)))",
    "clamp(sigmoid(z), 1e-7, 1 - 1e-7) * y",
    "sum(exp(x) / sum(exp(x)) * y)",
    "where(c > 0, sum(log(z), axis=1), 0)",
    "mean((tanh(x @ w1 + b1) @ w2 - y) ** 2)",
]


def _snapshot(graph):
    return tuple(graph.values), dict(graph._interned)


@pytest.mark.parametrize("source", SOURCES)
def test_each_pass_leaves_its_input_as_it_was(source):
    program = parse(source)
    before = _snapshot(program.graph)
    optimized = optimize(program)
    assert _snapshot(program.graph) == before and optimized.graph is not program.graph
    before = _snapshot(optimized.graph)
    grad = differentiate(optimized, optimized.inputs)
    assert _snapshot(optimized.graph) == before and grad.graph is not optimized.graph
    for gradient_pass in compiler.GRADIENT_PASSES:
        before = _snapshot(grad.graph)
        new = gradient_pass(grad)
        assert _snapshot(grad.graph) == before, gradient_pass.__name__
        assert new.graph is not grad.graph
        grad = new


def test_the_passes_run_in_the_order_the_compiler_lists():
    names = [p.__name__ for p in compiler.GRADIENT_PASSES]
    assert names == ["simplify", "contract", "fuse"]
    program, grad = compiler.passes(parse(SOURCES[1]), ("w", "b"))
    assert set(grad.grads) == {"w", "b"} and grad.output == program.output
