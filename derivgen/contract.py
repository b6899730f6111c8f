"""Sums of products without the product: reductions as dot products.

``sum(a * b)`` written out is two passes and a new array for ``a * b``; a dot product
is one pass and no array. After differentiation (and simplification), this pass
rewrites, in place:

1. A sum or mean over every element of a linear combination of products (or squares),
   ``mean(-(y*log(p) + (1 - y)*log1p(-p)))``, as the same combination of
   ``sum_product``/``mean_product`` terms. A sum splits only where every term has the
   shape of the whole (a smaller term would be counted once instead of once per element
   it is broadcast over); a mean always splits, since broadcasting repeats every element
   equally often.
2. A gradient summed down to an operand's shape whose term is a product of two values,
   ``unbroadcast(x*g, shape(w))``, as ``unbroadcast_product``: a dot product where the
   sum is over every element (w is a single number) and both factors have one shape.
3. A single-number factor of a term that is only summed to single numbers, the 1/n of a
   mean in ``where(keep, (p - y)/n, 0)``, multiplies the sums instead: one pass over the
   array fewer.

The helpers check shapes at run time and fall back to the product where they differ,
so results change by rounding only (a dot product sums in another order).
"""

from __future__ import annotations

import sympy as sp

from . import symbolic as S
from .graph import Graph, Value, placeholder
from .reverse import Gradient, own_graph

WINDOW = 16  # values looked through for one reduction, at most (long sums stay as they are)


def contract(grad: Gradient) -> Gradient:
    grad = own_graph(grad)  # a pass returns a new graph; its input stays as it was
    graph = grad.graph
    roots = grad.roots
    needed, uses = graph.uses(roots)
    for vid in needed:
        value = graph[vid]
        if value.op in ("sum", "mean") and value.template is not None and value.template.args[1:] == (0,):
            _reduction(graph, value, uses)
        elif value.op == "unbroadcast" and value.template is not None:
            _fit(graph, value, uses)
    needed = sorted(graph.ancestors(roots))  # the rewrites above leave some values unused
    users: dict[int, list[int]] = {}
    for vid in needed:
        for a in dict.fromkeys(graph[vid].args):
            users.setdefault(a, []).append(vid)
    typed: dict[int, bool] = {}
    for vid in needed:
        if vid not in roots:
            _hoist(graph, graph[vid], [graph[u] for u in users.get(vid, ())], typed)
    return grad


def _symbol(vid: int) -> sp.Symbol:
    return sp.Symbol(f"_v{vid}")


def _written_out(graph: Graph, vid: int, uses) -> tuple[sp.Basic, dict]:
    """The value as one expression over leaf symbols: single-use sums and number multiples
    are looked through, and the factors of a single-use product are written as leaves."""
    leaves: dict[sp.Symbol, int] = {}
    budget = [WINDOW]

    def leaf(v: int) -> sp.Symbol:
        leaves[_symbol(v)] = v
        return _symbol(v)

    def expand(v: int, top: bool) -> sp.Basic:
        value = graph[v]
        if value.template is None or not (top or uses.get(v) == 1) or budget[0] <= 0:
            return leaf(v)
        budget[0] -= 1
        if _linear(value.template):
            inner = [expand(a, False) for a in value.args]
        elif isinstance(value.template, sp.Mul) or _square(value.template):
            inner = [leaf(a) for a in value.args]
        else:
            return leaf(v)
        return value.template.xreplace({placeholder(i): x for i, x in enumerate(inner)})

    return expand(vid, True), leaves


def _linear(t) -> bool:
    """A sum of number multiples of operands: a + b, a - 2*b, -a."""
    for term in sp.Add.make_args(t):
        _, factors = term.as_coeff_mul()
        if len(factors) != 1 or not isinstance(factors[0], sp.Symbol):
            return False
    return True


def _square(t) -> bool:
    return isinstance(t, sp.Pow) and t.exp == 2


def _products(expr) -> list[tuple[sp.Basic, tuple]] | None:
    """``expr`` as [(coefficient, factors)], a sum of numbers times products (a square
    is the product of two equal factors: sum(x**2) is a dot product of x with itself)."""
    terms = []
    for term in sp.Add.make_args(expr):
        coefficient, factors = term.as_coeff_mul()
        if not factors:
            return None
        factors = sum(((f.base, f.base) if _square(f) else (f,) for f in factors), ())
        terms.append((coefficient, factors))
    return terms


def _reduction(graph: Graph, value: Value, uses) -> None:
    operand = value.args[0]
    if uses.get(operand) != 1:
        return
    expr, leaves = _written_out(graph, operand, uses)
    terms = _products(expr)
    if terms is None or not any(len(f) == 2 for _, f in terms):
        return
    whole = graph[operand]
    if value.op == "sum" and not all(
            _same_shape(graph, [leaves[s] for f in factors for s in f.free_symbols], whole)
            for _, factors in terms):
        return
    pair, single = ((S.sum_product, S.reduce_sum) if value.op == "sum" else (S.mean_product, S.reduce_mean))
    parts = []
    for coefficient, factors in terms:
        if len(factors) == 2:
            parts.append(coefficient * pair(*factors))
        else:
            parts.append(coefficient * single(sp.Mul(*factors), 0))
    _replace(graph, value, sp.Add(*parts), leaves)


def _same_shape(graph: Graph, factors: list[int], whole: Value) -> bool:
    """Whether the product of ``factors`` has the shape of ``whole`` (labels prove it)."""
    lo = frozenset().union(*(graph[f].lo for f in factors))
    hi = frozenset().union(*(graph[f].hi for f in factors))
    return whole.exact and lo == hi == whole.lo


def _fit(graph: Graph, value: Value, uses) -> None:
    term = graph[value.args[0]]
    if uses.get(term.id) != 1:
        return
    expr, leaves = _written_out(graph, term.id, uses)
    coefficient, factors = expr.as_coeff_mul()
    if len(factors) != 2:
        return
    # Written out, terms may cancel (atan2(c, c)'s two terms of the gradient of c): what is
    # left must still have the shape the term stood for, or be summed from the shape it
    # stands for (an unbroadcast with a full shape), or the sum would count it once.
    if len(value.args) == 2 and not _same_shape(graph, [leaves[s] for f in factors for s in f.free_symbols], term):
        return
    rest = [_symbol(a) for a in value.args[1:]]
    leaves.update({_symbol(a): a for a in value.args[1:]})
    owned = value.template.args[-1]
    _replace(graph, value, coefficient * S.unbroadcast_product(*factors, *rest, owned), leaves)


def _replace(graph: Graph, value: Value, expr, leaves) -> None:
    """Put ``expr`` in place of ``value``: same id and labels, so its users are unchanged."""
    used = sorted(leaves[s] for s in expr.free_symbols if s in leaves)
    mapping = {_symbol(v): placeholder(i) for i, v in enumerate(used)}
    graph.values[value.id] = Value(value.id, value.op, expr.xreplace(mapping), tuple(used), value.lo,
                                   value.hi, note=value.note)


def _hoist(graph: Graph, value: Value, users: list[Value], typed: dict) -> None:
    """Rule 3 of the module docstring, in place on ``value`` and its users."""
    t = value.template
    if t is None or not users:
        return
    masked = isinstance(t, S.where) and t.args[2] == 0
    product = t.args[1] if masked else t
    if not isinstance(product, sp.Mul):
        return
    scalars = [f for f in product.args if isinstance(f, sp.Symbol)
               and not graph.takes_input(value.args[int(f.name[2:])], typed)]
    if not scalars or len(scalars) == len(product.args) or not value.hi:
        return
    for user in users:  # each a sum of the term down to a shape, linear in it
        u = user.template
        slots = u.args[:1] if isinstance(u, S.unbroadcast) else u.args[:2] if isinstance(u, S.unbroadcast_product) else ()
        mine = [placeholder(i) for i, a in enumerate(user.args) if a == value.id]
        if len(mine) != 1 or sum(a.has(mine[0]) for a in u.args) != 1 or mine[0] not in slots:
            return  # the term once, in a summed slot (twice would need the factor squared)
    rest = sp.Mul(*(f for f in product.args if f not in scalars))
    new_t = S.where(t.args[0], rest, 0) if masked else rest
    factor = sp.Mul(*scalars)
    leaves = {_symbol(a): a for a in value.args}
    factor_expr = factor.xreplace({placeholder(i): _symbol(a) for i, a in enumerate(value.args)})
    _replace(graph, value, new_t.xreplace({placeholder(i): _symbol(a) for i, a in enumerate(value.args)}), leaves)
    for user in users:
        expr = user.template.xreplace({placeholder(i): _symbol(a) for i, a in enumerate(user.args)})
        user_leaves = {_symbol(a): a for a in user.args}
        user_leaves.update(leaves)
        _replace(graph, user, factor_expr * expr, user_leaves)
