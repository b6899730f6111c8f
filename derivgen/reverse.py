"""The adjoint sweep: reverse-mode derivatives over the SSA graph.

Values are visited once, in reverse creation order (a reverse topological order,
walked with a plain loop, so a 10,000-node chain needs no recursion). Each
value's adjoint is the sum of the contributions its users sent it; its rule in
``rules.py`` turns that adjoint into contributions for its own operands. Where
broadcasting may have stretched an operand, its contribution is summed back to
the operand's shape (``unbroadcast``), unless shape labels prove it is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import rules
from . import symbolic as S
from .graph import Graph, placeholder
from .parse import Program


@dataclass(frozen=True)
class Gradient:
    """The differentiated program: values for the output and each gradient."""

    graph: Graph
    output: int
    seed: int  # the grad_output leaf
    grads: dict  # wrt input name -> value id


def active_values(graph: Graph, sources: set[int]) -> set[int]:
    """Values that depend on a source through differentiable operands."""
    active = set(sources)
    for value in graph.values:
        if value.op != "cond" and any(a in active for a in value.args):
            active.add(value.id)
    return active


def differentiate(program: Program, wrt: tuple[str, ...]) -> Gradient:
    graph = program.graph
    out = program.output
    wrt_ids = {program.input_ids[name] for name in wrt}
    needed = graph.ancestors([out]) & active_values(graph, wrt_ids)
    seed = graph.leaf("grad_output", None, frozenset(), graph[out].hi)
    # grad_output may be a scalar: give it the output's shape once (a view, no copy)
    # so every term below has a known shape.
    shaped_seed = graph.add("seed", S.broadcast_to(placeholder(0), placeholder(1)),
                            (seed, shape_of(graph, program, out)), labels=graph[out].hi)
    contributions: dict[int, list[int]] = {out: [shaped_seed]} if out in needed else {}

    for vid in sorted(needed, reverse=True):
        terms = contributions.pop(vid, None)
        if not terms:
            continue
        adjoint = _sum(graph, terms)
        value = graph[vid]
        if value.op == "input":
            contributions[vid] = [adjoint]  # kept for the gradient outputs below
            continue
        rule_terms = rules.vjp(value.op, value.operands, value.static)
        for operand, term in zip(value.operands, rule_terms):
            if term is None or not isinstance(operand, sp.Symbol):
                continue
            arg = value.args[_index(operand)]
            if arg not in needed:
                continue
            binding = {placeholder(i): a for i, a in enumerate(value.args)}
            binding[rules.OUT] = vid
            binding[rules.G] = adjoint
            shaped = value.op in rules.SHAPED
            labels = graph[arg].lo if shaped else None
            contribution = graph.bind(f"d{value.op}", term, binding, labels=labels,
                                      note=rules.note(value.op, value.operands))
            contributions.setdefault(arg, []).append(_fit(graph, program, contribution, arg))

    grads = {}
    for name in wrt:
        vid = program.input_ids[name]
        terms = contributions.get(vid)
        if terms is None:  # the output does not depend on this input
            grads[name] = graph.add("zeros", S.zeros_like(placeholder(0)), (vid,), labels=graph[vid].lo)
        else:
            grads[name] = _fit(graph, program, _sum(graph, terms), vid)
    return Gradient(graph, out, seed, grads)


def _index(sym: sp.Symbol) -> int:
    return int(sym.name[2:])


ACCUMULATE_WIDTH = 8  # terms per accumulation: long sums become a tree of short lines


def _sum(graph: Graph, terms: list[int]) -> int:
    while len(terms) > 1:
        terms = [_add(graph, terms[i:i + ACCUMULATE_WIDTH]) for i in range(0, len(terms), ACCUMULATE_WIDTH)]
    return terms[0]


def _add(graph: Graph, terms: list[int]) -> int:
    if len(terms) == 1:
        return terms[0]
    template = sp.Add(*(placeholder(i) for i in range(len(terms))))
    return graph.add("accumulate", template, tuple(terms))


def _fit(graph: Graph, program: Program, term: int, target: int) -> int:
    """``term`` with exactly ``target``'s shape: summed over broadcast axes if needed."""
    t, want = graph[term], graph[target]
    if t.lo == t.hi == want.lo == want.hi:
        return term
    return graph.add("unbroadcast", S.unbroadcast(placeholder(0), placeholder(1)),
                     (term, shape_of(graph, program, target)), labels=want.lo)


def shape_of(graph: Graph, program: Program, target: int) -> int:
    """A value holding ``target``'s shape. Where the shape is the broadcast of input
    shapes (no reduction or matmul decides it), it comes from the inputs, so code that
    needs only the shape does not have to compute ``target``."""
    labels = graph[target].hi
    if any(label.startswith("#") for label in labels):
        members = [target]
    else:
        members = [program.input_ids[name] for name in program.inputs if name in labels]
    template = S.shape_of(*(placeholder(i) for i in range(len(members))))
    return graph.add("shape", template, tuple(members), labels=frozenset())
