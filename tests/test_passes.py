"""The compiler's passes are functions: each returns a new graph and leaves its input as it was."""

from __future__ import annotations

import pytest
import sympy as sp

from derivgen import compiler, ops
from derivgen.frontend import parse
from derivgen.graph import placeholder_index
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


MORE = SOURCES + [
    "sum(a * b * c * d + a)",  # fused arithmetic
    "mean(x * y) + sum(x * y)",  # contracted into dot products
    "-(y * log(p) + (1 - y) * log(1 - p))",
]


@pytest.mark.parametrize("source", MORE)
def test_after_every_pass_a_value_with_operands_is_its_op_over_them(source):
    # One source of truth: a value that keeps operands is its registry op applied to them (so
    # the op's rule differentiates it); a pass that rewrites a template drops them.
    program = parse(source)
    program, grad = compiler.passes(program, program.inputs)
    checked = 0
    for value in grad.graph.values:
        if not value.operands:
            continue
        # (a condition is no op: no gradient flows through it, reverse.active_values)
        assert value.op in ops.OPS or value.op == "cond", value
        symbols = {o for o in value.operands if isinstance(o, sp.Symbol)}
        assert all(placeholder_index(o) < len(value.args) for o in symbols), value
        assert value.template.free_symbols <= symbols, value
        checked += 1
    assert checked
