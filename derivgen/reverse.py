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
    # grad_output may be a scalar or have the output's shape: its labels say so (lo, hi).
    seed = graph.leaf("grad_output", None, frozenset(), graph[out].hi)
    contributions: dict[int, list[int]] = {out: [seed]} if out in needed else {}

    for vid in sorted(needed, reverse=True):
        terms = contributions.pop(vid, None)
        if not terms:
            continue
        adjoint = _sum(graph, terms)
        value = graph[vid]
        if value.op == "input":
            contributions[vid] = [adjoint]  # kept for the gradient outputs below
            continue
        if value.op in rules.SHAPED or value.op in rules.EXPANDED:
            # Reductions and linear algebra need their adjoint at full shape; elementwise
            # rules let NumPy broadcast a smaller one.
            adjoint = _fit(graph, program, adjoint, vid)
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
            binding[rules.SHAPE] = shape_of(graph, program, arg)
            if graph[vid].hi:
                binding[rules.OUT_SHAPE] = shape_of(graph, program, vid)
            else:  # a value of shape (): say so in the term itself (a mean over everything)
                term = term.xreplace({rules.OUT_SHAPE: sp.Tuple()})
            if value.op in rules.SHAPED:
                labels = graph[arg].lo
            elif value.op in rules.EXPANDED:
                labels = (frozenset(), graph[arg].hi)
            else:
                labels = None
            contribution = graph.bind(f"d{value.op}", term, binding, labels=labels,
                                      note=rules.note(value.op, value.operands))
            if not graph[contribution].hi <= graph[arg].hi:  # it may be larger: sum it down
                contribution = _fit(graph, program, contribution, arg, source=vid)
            contributions.setdefault(arg, []).append(contribution)

    grads = {}
    for name in wrt:
        vid = program.input_ids[name]
        terms = contributions.get(vid)
        if terms is None:  # the output does not depend on this input
            grads[name] = graph.add("zeros", S.zeros_like(placeholder(0)), (vid,), labels=graph[vid].lo)
        else:
            grads[name] = _owned(graph, _fit(graph, program, _sum(graph, terms), vid, final=True))
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


def _fit(graph: Graph, program: Program, term: int, target: int, source: int | None = None,
         final: bool = False) -> int:
    """``term`` with exactly ``target``'s shape.

    Terms are kept as small as broadcasting allows (a mean's gradient stays one number),
    so a term may stand for an array of ``source``'s shape: it is broadcast to that shape
    first, then summed over the axes ``target`` does not have. Intermediate terms may be
    broadcast views; a ``final`` gradient, returned to the caller, is an array of its own."""
    t, want = graph[term], graph[target]
    if t.lo == t.hi == want.lo == want.hi:
        return term
    args = [term, shape_of(graph, program, target)]
    if source is not None:
        args.append(shape_of(graph, program, source))
    template = S.unbroadcast(*(placeholder(i) for i in range(len(args))), sp.Integer(int(final)))
    return graph.add("unbroadcast", template, tuple(args), labels=want.lo)


def _owned(graph: Graph, vid: int) -> int:
    """The gradient ``vid`` as an array of its own: a shape fit may return a view."""
    value = graph[vid]
    if value.op != "unbroadcast" or value.template.args[-1] == 1:
        return vid
    template = S.unbroadcast(*value.template.args[:-1], sp.Integer(1))
    return graph.add("unbroadcast", template, value.args, labels=value.lo)


SHAPE_MEMBERS = 4  # beyond this many inputs, a shape is read off the value itself


def shape_of(graph: Graph, program: Program, target: int) -> int:
    """A value holding ``target``'s shape. Where the shape is the broadcast of input
    shapes (no reduction or matmul decides it), it comes from the inputs, so code that
    needs only the shape does not have to compute ``target``."""
    labels = graph[target].hi
    if any(label.startswith("#") for label in labels) or len(labels) > SHAPE_MEMBERS:
        members = [target]
    else:
        members = [program.input_ids[name] for name in program.inputs if name in labels]
    template = S.shape_of(*(placeholder(i) for i in range(len(members))))
    return graph.add("shape", template, tuple(members), labels=frozenset())
