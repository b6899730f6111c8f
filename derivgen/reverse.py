"""The adjoint sweep: reverse-mode derivatives over the SSA graph.

Values are visited once, in reverse creation order (a reverse topological order,
walked with a plain loop, so a 10,000-node chain needs no recursion). Each
value's adjoint is the sum of the contributions its users sent it; its rule in
``rules.py`` turns that adjoint into contributions for its own operands.

Where broadcasting may have stretched an operand, its contribution must be summed
back to the operand's shape (``unbroadcast``). That sum is linear, and every factor
an elementwise rule multiplies by has the shape of the op's own value, so it is
deferred: contributions flow on at the shape they have and are summed down once,
where an input's gradient is returned or a reduction or matrix product needs its
adjoint at its exact shape, or where contributions standing for arrays of different
shapes meet. Terms that would have met as separately summed-down contributions meet
inside one sum, where they can cancel (``simplify.py``); where no broadcasting
happens at run time, the sum down is no work at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from . import ops, rules
from . import symbolic as S
from .graph import Graph, Program, placeholder


@dataclass(frozen=True)
class Gradient:
    """The differentiated program: values for the output and each gradient."""

    graph: Graph
    output: int
    seed: int  # the grad_output leaf
    grads: dict  # wrt input name -> value id
    terms: frozenset = frozenset()  # the gradient terms: values made by the sweep, shapes aside
    checks: tuple = ()  # the program's asserts (Program.checks), computed by every function

    @property
    def roots(self) -> list[int]:
        """The values a pass must keep: the output, the gradients and the checks."""
        return [self.output, *self.grads.values(), *self.checks]


def own_graph(grad: Gradient) -> Gradient:
    """``grad`` over a copy of its graph, for a pass to rewrite (linear: one list, one dict)."""
    return replace(grad, graph=grad.graph.copy())


_CONDITIONS = ("cond", "live")  # boolean values: no gradient flows through them


def active_values(graph: Graph, sources: set[int]) -> set[int]:
    """Values that depend on a source through differentiable operands (not conditions:
    comparisons, and guards' conditions taken down to a value's shape; not sizes: len(x))."""
    active = set(sources)
    for value in graph.values:
        if value.op not in _CONDITIONS and value.op not in ops.SIZES and any(a in active for a in value.args):
            active.add(value.id)
    return active


def differentiate(program: Program, wrt: tuple[str, ...]) -> Gradient:
    """The program's gradients with respect to ``wrt``: the adjoint sweep's values are added
    to a copy of its graph (the program itself is left as it was)."""
    graph = program.graph.copy()
    out = program.output
    wrt_ids = {program.input_ids[name] for name in wrt}
    needed = graph.ancestors([out]) & active_values(graph, wrt_ids)
    # grad_output may be a scalar or have the output's shape: its labels say so (lo, hi).
    seed = graph.leaf("grad_output", None, frozenset(), graph[out].hi)
    shapes = _Shapes(graph, program)
    first = len(graph.values)
    sweep = _Sweep(graph, seed)
    contributions: dict[int, list[int]] = {out: [sweep.start(graph[out])]} if out in needed else {}
    for vid in sorted(needed, reverse=True):
        terms = contributions.pop(vid, None)
        if not terms:
            continue
        adjoint = _adjoint(graph, shapes, sweep, vid, terms)
        if graph[vid].op == "input":
            contributions[vid] = [adjoint]  # kept for the gradient outputs below
            continue
        for arg, contribution in _contributions(graph, shapes, sweep, vid, adjoint, needed):
            contributions.setdefault(arg, []).append(contribution)
    grads = {name: _gradient(graph, shapes, sweep, program.input_ids[name], contributions) for name in wrt}
    made = frozenset(v.id for v in graph.values[first:] if v.op != "shape")
    return Gradient(graph, out, seed, grads, made, program.checks)


def _adjoint(graph, shapes, sweep, vid: int, terms: list[int]) -> int:
    """The adjoint of ``vid``: the sum of the contributions its users made."""
    value = graph[vid]
    if len({graph[t].hi for t in terms}) > 1:
        # Terms standing for arrays of different shapes: a sum would broadcast the
        # smaller ones and count them again for every element they were stretched
        # over, so each is summed down to this value's shape first.
        terms = [t if graph[t].hi == value.hi else _fit(graph, shapes, t, vid, sweep=sweep) for t in terms]
    adjoint = _sum(graph, sweep.consistent(terms))
    if value.op in rules.SHAPED or value.op in rules.EXPANDED:
        # Reductions and linear algebra need their adjoint at full shape; elementwise
        # rules let NumPy broadcast a smaller one.
        adjoint = _fit(graph, shapes, adjoint, vid, sweep=sweep)
    return adjoint


def _contributions(graph, shapes, sweep, vid: int, adjoint: int, needed):
    """(operand id, contribution) for each operand of ``vid`` a gradient flows into: its
    rule's term, bound to the operands, the value, its adjoint and their shapes."""
    value = graph[vid]
    # Operands that are one value (p - p, atan2(c, c), x * x) are written as one symbol, and
    # their terms are added here, where SymPy cancels them exactly: p - p sends p nothing,
    # where two terms g*e and -g*e added among others would lose the others (e = 1e29).
    first: dict[int, int] = {}
    same: dict[sp.Symbol, sp.Symbol] = {}
    for i, a in enumerate(value.args):
        j = first.setdefault(a, i)
        if j != i:
            same[placeholder(i)] = placeholder(j)
    if same and value.template is not None:
        # An op of one value that is a number (p / p is 1): that number stands for its value
        # in the terms, so they cancel exactly (g/p - g*1/p is nothing), where an infinite
        # adjoint (arccos at 1) times 0 would be nan. They are made zero-safe once added.
        number = value.template.xreplace(same)
        if number.is_Number and number.is_finite:
            same[rules.OUT] = number
    later = rules.OUT in same and value.zero_safe
    rule_terms = rules.vjp(value.op, value.operands, value.static, value.zero_safe and not later)
    grouped: dict[int, tuple[list, int | None]] = {}
    for position, (operand, term) in enumerate(zip(value.operands, rule_terms)):
        if term is None or not isinstance(operand, sp.Symbol):
            continue
        arg = value.args[_index(operand)]
        if arg not in needed:
            continue
        safe = ops.HAZARDS.get(value.op, {}).get(position)
        gate = _gate(graph, arg, needed) if safe is not None else None
        if gate is not None:
            # The operand's op passes no gradient where the gate is false: this term is
            # computed there on a harmless operand (and value), which warns of nothing.
            term = term.xreplace({operand: S.where(_GATE, operand, sp.Float(safe)),
                                  rules.OUT: S.where(_GATE, rules.OUT, 1)})
        terms, known = grouped.get(arg, ([], None))
        terms.append(term.xreplace(same) if same else term)
        grouped[arg] = (terms, gate if gate is not None else known)
    for arg, (terms, gate) in grouped.items():
        term = terms[0] if len(terms) == 1 else sp.Add(*terms)
        if later and not rules.is_zero(term):
            unified = tuple(same.get(o, o) for o in value.operands)
            (term,) = rules.zero_where_none_arrives(value.op, unified, value.static, (term,))
        if rules.is_zero(term):
            continue
        yield _contribution(graph, shapes, sweep, value, arg, term, adjoint, gate)


def _contribution(graph, shapes, sweep, value, arg: int, term, adjoint: int, gate: int | None):
    """The value of one contribution to ``arg``: ``term`` bound to the operands, the value,
    its adjoint and their shapes."""
    vid = value.id
    binding = {placeholder(i): a for i, a in enumerate(value.args)}
    if gate is not None:
        binding[_GATE] = gate
    binding[rules.OUT] = vid
    binding[rules.G] = adjoint
    binding[rules.SHAPE] = shapes.of(arg)
    if graph[vid].hi:
        binding[rules.OUT_SHAPE] = shapes.of(vid)
    else:  # a value of shape (): say so in the term itself (a mean over everything)
        term = term.xreplace({rules.OUT_SHAPE: sp.Tuple()})
    if value.op in rules.SHAPED:
        labels = graph[arg].lo
    elif value.op in rules.EXPANDED:
        labels = (frozenset(), graph[arg].hi)
    else:
        labels = None
    number = sweep.number(adjoint)
    if number is not None:  # a number: written into the term
        term = term.xreplace({rules.G: number})
        if labels is None:  # the term still stands for an array of the adjoint's shape
            used = [a for s, a in binding.items() if s in term.free_symbols]
            labels = (frozenset().union(*(graph[a].lo for a in used)),
                      frozenset().union(graph[adjoint].hi, *(graph[a].hi for a in used)))
    return arg, graph.bind(f"d{value.op}", term, binding, labels=labels, note=rules.note(value.op, value.operands))


_GATE = sp.Symbol("_gate")


_INNER = tuple(sp.Symbol(f"_inner{i}") for i in range(3))
_GATE_DEPTH = 8  # how many gated ops in a row a gate looks through


def _gate(graph, vid: int, needed, depth: int = _GATE_DEPTH) -> int | None:
    """A condition value, false where the op computing ``vid`` passes no gradient to any
    operand that needs one (its op entry's gate), or None where it may pass one everywhere.

    An operand computed by a gated op passes its own gradient on only where its gate is
    true, so the condition for that operand is both gates: where(c, sqrt(where(d, 0, p)), 2)
    passes p a gradient only where c & ~d, and sqrt's term is computed on harmless values
    everywhere else (the guard of a branch is a where of its own, gating nothing more)."""
    value = graph[vid]
    spec = ops.OPS.get(value.op)
    if spec is None or value.template is None:
        return None
    if spec.gate is None:
        return _passed_on(graph, value, spec, needed, depth)
    gates = spec.gate(value.operands)
    if gates is None:
        return None
    conditions = []
    binding = {placeholder(i): a for i, a in enumerate(value.args)}
    for operand, condition in zip(value.operands, gates):
        if isinstance(operand, sp.Symbol) and value.args[_index(operand)] in needed:
            if condition is None:
                return None
            inner = _gate(graph, value.args[_index(operand)], needed, depth - 1) if depth > 1 else None
            if inner is not None:
                symbol = _INNER[len(conditions)]
                binding[symbol] = inner
                condition = sp.And(condition, symbol)
            conditions.append(condition)
    condition = sp.Or(*conditions)
    if not conditions or isinstance(condition, sp.logic.boolalg.BooleanAtom):
        return None  # where(c, x, y) passes gradient to x or y everywhere: c | ~c is True
    binding[rules.OUT] = vid
    return graph.bind("cond", condition, binding)


def _passed_on(graph, value, spec, needed, depth: int) -> int | None:
    """The gate of an elementwise op with none of its own: its operands' gates, which it
    passes on (atan(where(c, 0, y)) passes y a gradient only where ~c), or None.

    Only the gates of where are passed on: a branch not taken is often a constant that a
    user's op cannot take (sqrt(atan(0))). The gates of clamp, relu and maximum would be
    too, but a clamp's bounds usually keep its users inside their domain (BCE's
    log1p(-clamp(p, eps, 1 - eps))), where the harmless values would cost passes for nothing."""
    if spec.kind != "elementwise" or depth <= 1:
        return None
    inner = []
    for operand in value.operands:
        if isinstance(operand, sp.Symbol) and value.args[_index(operand)] in needed:
            arg = value.args[_index(operand)]
            if graph[arg].op != "where" and ops.OPS.get(graph[arg].op) is not None and ops.OPS[graph[arg].op].gate:
                return None  # a gate of clamp, relu or maximum: not passed on (above)
            gate = _gate(graph, arg, needed, depth - 1)
            if gate is None:
                return None
            inner.append(gate)
    if not inner:
        return None
    if len(set(inner)) == 1:
        return inner[0]
    return graph.add("cond", sp.Or(*_INNER[:len(inner)]).xreplace(
        {s: placeholder(i) for i, s in enumerate(_INNER)}), tuple(inner))


def _gradient(graph, shapes, sweep, vid: int, contributions) -> int:
    """The gradient output of the input ``vid``: its adjoint in its own shape (zeros where
    the output does not depend on it), a new array the caller owns."""
    terms = contributions.get(vid)
    if terms is None:
        return graph.add("zeros", S.zeros_like(placeholder(0)), (vid,), labels=graph[vid].lo)
    adjoint = _sum(graph, sweep.consistent(terms))
    return sweep.scaled(_owned(graph, _fit(graph, shapes, adjoint, vid, final=True, sweep=sweep)))


class _Sweep:
    """grad_output, applied once per gradient.

    Where the output is a single number, gradients are linear in grad_output, so the
    sweep starts from the number 1 instead: numbers are written into the terms (the
    gradient of sum(a*b) with respect to a is b, not b*grad_output) and each gradient
    is multiplied by grad_output at the end. A term that must become an array (summed
    to a shape, or given to a matrix product) takes grad_output on first, so it has the
    inputs' dtype; a term is *scaled* once it has, and scaled and unscaled terms are
    never added."""

    def __init__(self, graph: Graph, seed: int):
        self.graph, self.seed = graph, seed
        self.memo: dict[int, bool] = {}
        self.typed: dict[int, bool] = {}

    def start(self, out) -> int:
        if out.hi or out.op == "input":
            return self.seed  # an array of grad_output's own (or the output is an input)
        return self.graph.add("one", sp.Integer(1), (), labels=frozenset())

    def number(self, vid: int):
        value = self.graph[vid]
        return value.template if not value.args and isinstance(value.template, sp.Number) else None

    def is_scaled(self, vid: int) -> bool:
        """Whether ``vid`` depends on grad_output."""
        return self.graph.reaches(vid, self.memo, lambda v: v.id == self.seed if v.template is None else None)

    def scale(self, vid: int) -> int:
        """``vid`` times grad_output."""
        value = self.graph[vid]
        number = self.number(vid)
        if number == 1:
            template, args = placeholder(0), (self.seed,)
        elif number is not None:
            template, args = number * placeholder(0), (self.seed,)
        else:
            template, args = placeholder(0) * placeholder(1), (self.seed, vid)
        labels = (value.lo, value.hi | self.graph[self.seed].hi)
        if template == placeholder(0) and labels == (self.graph[self.seed].lo, self.graph[self.seed].hi):
            return self.seed
        return self.graph.add("scale", template, args, labels=labels)

    def array(self, vid: int) -> int:
        """``vid``, about to become an array: scaled first if nothing in it has a dtype (a
        number, or a mean's 1/n), so that the array takes grad_output's, the inputs' dtype."""
        return vid if self.is_scaled(vid) or self.graph.takes_input(vid, self.typed) else self.scale(vid)

    def consistent(self, terms: list[int]) -> list[int]:
        """Terms that can be added: all scaled, or none."""
        flags = [self.is_scaled(t) for t in terms]
        if all(flags) or not any(flags):
            return terms
        return [t if f else self.scale(t) for t, f in zip(terms, flags)]

    def scaled(self, vid: int) -> int:
        """A gradient, times grad_output unless it has it already (skipped at run time
        where grad_output is 1; a gradient with no dtype of its own always takes it on)."""
        if self.is_scaled(vid):
            return vid
        if not self.graph.takes_input(vid, self.typed):
            return self.scale(vid)
        return self.graph.add("scale", S.scaled(placeholder(0), placeholder(1)), (vid, self.seed))


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


def _fit(graph: Graph, shapes: _Shapes, term: int, target: int, final: bool = False,
         sweep: _Sweep | None = None) -> int:
    """``term`` with exactly ``target``'s shape.

    A term stands for an array of the shape its ``hi`` labels give; it may be smaller
    (a mean's gradient stays one number) and is then broadcast to that shape first. It
    is summed over the axes ``target`` does not have. Intermediate terms may be
    broadcast views; a ``final`` gradient, returned to the caller, is an array of its own."""
    t, want = graph[term], graph[target]
    if t.lo == t.hi == want.lo == want.hi:
        return term
    if sweep is not None:  # a bare number becomes an array here: it takes grad_output first
        term = sweep.array(term)
        t = graph[term]
    args = [term, shapes.of(target)]
    if not t.exact:
        args.append(shapes.of_labels(t.hi))
    template = S.unbroadcast(*(placeholder(i) for i in range(len(args))), sp.Integer(int(final)))
    return graph.add("unbroadcast", template, tuple(args), labels=want.lo)


def _owned(graph: Graph, vid: int) -> int:
    """The gradient ``vid`` as an array of its own: a shape fit may return a view."""
    value = graph[vid]
    if value.op != "unbroadcast" or value.template.args[-1] == 1:
        return vid
    template = S.unbroadcast(*value.template.args[:-1], sp.Integer(1))
    return graph.add("unbroadcast", template, value.args, labels=value.lo)


SHAPE_MEMBERS = 4  # beyond this many inputs, a shape is read off a value that has it


class _Shapes:
    """Values holding shapes. Where a shape is the broadcast of input shapes, it comes
    from the inputs, so code that needs only the shape does not have to compute the
    value; a label of a reduction or matrix product ("#...") is read off the first
    forward value that has exactly that shape, as is a broadcast of many inputs."""

    def __init__(self, graph: Graph, program: Program):
        self.graph, self.program = graph, program
        self.exact: dict[frozenset, int] = {}
        # Only values the output needs: a shape is never read off one computed for nothing
        # (the exp(x) a stable softmax replaced would overflow, and cost a pass over x).
        live = graph.ancestors([program.output])
        for value in graph.values:
            if value.id not in live:
                continue
            # Not the helpers that return several arrays in a tuple (*_parts, exp_shift).
            if value.exact and value.op != "grad_output" and value.op not in ops.SEVERAL:
                self.exact.setdefault(value.hi, value.id)

    def of(self, target: int) -> int:
        return self.of_labels(self.graph[target].hi, target)

    def of_labels(self, labels: frozenset, fallback: int | None = None) -> int:
        named = [label for label in labels if not label.startswith("#")]
        if len(named) == len(labels) and len(labels) <= SHAPE_MEMBERS:
            members = [self.program.input_ids[name] for name in self.program.inputs if name in labels]
        elif labels in self.exact:
            members = [self.exact[labels]]
        elif fallback is not None:
            members = [fallback]
        else:  # the broadcast of the shapes each label stands for
            members = [self.program.input_ids[name] for name in self.program.inputs if name in labels]
            members += [self.exact[frozenset({label})] for label in sorted(labels) if label.startswith("#")]
        template = S.shape_of(*(placeholder(i) for i in range(len(members))))
        return self.graph.add("shape", template, tuple(members), labels=frozenset())
