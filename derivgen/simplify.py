"""Algebraic simplification of gradient terms, after differentiation.

The adjoint sweep applies one rule per op, so a gradient is a product of local
derivatives. Where those cancel, a person simplifies by hand: the binary
cross-entropy of a clamped sigmoid has dL/dz = p - y where the clamp passes the
gradient. This pass does the same, on small windows of the gradient graph:

1. A gradient term is written out as one expression, through the single-use gradient
   terms it is made of (at most ``WINDOW`` operations), with forward values as symbols.
2. Inside ``where(clamp(x) == x, A, 0)``, the clamp's value is x itself, so ``A`` may
   use x for it; factors multiplying the where move inside it.
3. ``sigmoid(-z)``, the sigmoid's gradient weight, is ``1 - sigmoid(z)``.
4. SymPy cancels the selected branch. The result replaces the term only when it is
   smaller and keeps no ``1 - sigmoid(z)``, whose rounding (1e-4 relative at z = 30)
   rule 3 would otherwise bring back.

Each step is an identity where the where selects its branch; elsewhere the result is 0
as before (an inf or nan factor that a product with the mask turned into nan now gives
0, which is what the mask means).
"""

from __future__ import annotations

import sympy as sp

from . import symbolic as S
from .graph import Graph, Value, placeholder
from .reverse import Gradient, own_graph
from .rules import NOTES

WINDOW = 40  # operations in one written-out term, at most


def simplify(grad: Gradient) -> Gradient:
    """``grad`` with its gradient terms simplified where that makes them smaller."""
    grad = own_graph(grad)  # a pass returns a new graph; its input stays as it was
    graph = grad.graph
    roots = grad.roots
    needed, uses = graph.uses(roots)
    gradient_side = {grad.seed} | grad.terms
    for vid in needed:
        if any(a in gradient_side for a in graph[vid].args):
            gradient_side.add(vid)
    clamps = {vid: graph[vid] for vid in needed if graph[vid].op == "clamp"}
    weights = _sigmoid_weights(graph, needed)
    if not clamps or not weights:
        return grad  # nothing the rules below can use
    for vid in needed:
        value = graph[vid]
        if vid not in gradient_side or value.template is None or not value.template.has(S.part):
            continue
        expr, leaves = _written_out(graph, vid, uses, gradient_side)
        if expr is None:
            continue
        better = _simplified(expr, graph, leaves, clamps, weights)
        if better is not None and _keeps_shape(graph, value, better, leaves):
            _replace(graph, vid, better, leaves)
    return grad


def _keeps_shape(graph: Graph, value: Value, expr, leaves) -> bool:
    """Whether ``expr`` still has the shape ``value`` stood for (its labels): a cancellation
    may take away the factors that gave it (SymPy cancels c/(2c**2) - c/(2c**2) at once),
    and its users were built for that shape."""
    used = [leaves[s] for s in expr.free_symbols if s in leaves]
    lo = frozenset().union(*(graph[u].lo for u in used))
    hi = frozenset().union(*(graph[u].hi for u in used))
    return lo >= value.lo and hi <= value.hi


def _sigmoid_weights(graph: Graph, needed) -> dict:
    """part(p, 1) of a sigmoid's parts helper -> the sigmoid value it belongs to."""
    found = {}
    for vid in needed:
        value = graph[vid]
        if value.op == "sigmoid" and value.template == S.part(placeholder(len(value.args) - 1), 0):
            found[value.args[-1]] = vid
    return found


def _symbol(vid: int) -> sp.Symbol:
    return sp.Symbol(f"_v{vid}")


def _written_out(graph: Graph, vid: int, uses, gradient_side):
    """The term as one expression over leaf symbols, and the leaves (symbol -> value id)."""
    leaves: dict[sp.Symbol, int] = {}
    budget = [WINDOW]

    def expand(v: int, top: bool) -> sp.Basic:
        value = graph[v]
        if value.template is None or not (
                top or (v in gradient_side and uses.get(v, 0) == 1 and _elementwise(value))
                or _cheap_forward(value)):
            leaves[_symbol(v)] = v
            return _symbol(v)
        budget[0] -= int(sp.count_ops(value.template))
        if budget[0] < 0:
            raise _TooLarge
        mapping = {placeholder(i): expand(a, False) for i, a in enumerate(value.args)}
        return value.template.xreplace(mapping)

    try:
        return expand(vid, True), leaves
    except _TooLarge:
        return None, None


class _TooLarge(Exception):
    pass


def _elementwise(value: Value) -> bool:
    heads = {type(f).__name__ for f in value.template.atoms(sp.Function)}
    return heads <= {"where", "part", "sigmoid"} and value.op not in ("unbroadcast", "shape")


def _cheap_forward(value: Value) -> bool:
    """A negation or constant shift of one value: written out, so 1 + (-c) meets 1 - c."""
    t, a0 = value.template, placeholder(0)
    if t is None or len(value.args) != 1:
        return False
    return t == -a0 or (isinstance(t, sp.Add) and len(t.args) == 2 and any(x.is_number for x in t.args)
                        and (a0 in t.args or -a0 in t.args))


def _simplified(expr, graph: Graph, leaves, clamps, weights):
    """The smaller form of ``expr`` by the rules of the module docstring, or None."""
    masks = [w for w in expr.atoms(S.where) if w.args[2] == 0 and isinstance(w.args[0], sp.Eq)]
    if len(masks) != 1 or not isinstance(expr, sp.Mul) or masks[0] not in expr.args:
        return None
    mask = masks[0]
    cond, inner, _ = mask.args
    clamp_of = {}
    for side in cond.args:
        if isinstance(side, sp.Symbol) and leaves.get(side) in clamps:
            clamp = clamps[leaves[side]]
            operand = clamp.args[0] if clamp.operands and clamp.operands[0] == placeholder(0) else None
            if operand is not None and _symbol(operand) in cond.args:
                clamp_of[side] = _symbol(operand)
    if not clamp_of:
        return None
    others = sp.Mul(*(a for a in expr.args if a is not mask))
    branch = (others * inner).xreplace(clamp_of)
    sigmoid_values = {}
    for part in branch.atoms(S.part):
        parts, index = part.args
        owner = weights.get(leaves.get(parts)) if isinstance(parts, sp.Symbol) else None
        if owner is None or index != 1:
            return None
        sigmoid_values[part] = 1 - _symbol(owner)
        leaves.setdefault(_symbol(owner), owner)
    branch = branch.xreplace(sigmoid_values)
    if branch.atoms(sp.Function):
        return None  # only polynomial and rational algebra is cancelled here
    cancelled = sp.factor(sp.cancel(branch))
    for value in sigmoid_values.values():  # no 1 - sigmoid(z) may remain
        if cancelled.has(value) or cancelled.has(-value) or cancelled.has(sp.expand(-value)):
            return None
    result = S.where(cond, _sign_absorbed(cancelled), 0)
    if sp.count_ops(result) >= sp.count_ops(expr):
        return None
    return result


def _sign_absorbed(expr):
    """-c*(y - p) as c*(p - y): one operation fewer, and the form a person writes."""
    if isinstance(expr, sp.Mul) and expr.args[0] == -1:
        sums = [a for a in expr.args[1:] if isinstance(a, sp.Add)]
        if len(sums) == 1:
            rest = [a for a in expr.args[1:] if a is not sums[0]]
            return sp.Mul(*rest, sp.expand(-sums[0]))
    return expr


def _replace(graph: Graph, vid: int, expr, leaves) -> None:
    """Put ``expr`` in place of value ``vid`` (same labels, so shapes stay as they were).

    The graph is complete once differentiated; nothing is interned after this, so the
    value is replaced where it stands and every user sees the simpler term."""
    used = sorted(leaves[s] for s in expr.free_symbols if s in leaves)
    mapping = {_symbol(v): placeholder(i) for i, v in enumerate(used)}
    old = graph[vid]
    graph.values[vid] = Value(vid, old.op, expr.xreplace(mapping), tuple(used), old.lo, old.hi,
                              note=f"{NOTES['clamp']} (there the terms cancel)")
