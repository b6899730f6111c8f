"""Single-use arithmetic written into its user, so SymPy sees one expression.

The graph keeps each operation as its own value; the emitter inlines single-use values
as text, so ``2*b*(-c*d)`` reaches NumPy as written: ``-c`` and ``2*b`` are two new
arrays. Written into its user's template, the product flattens to ``-2*b*c*d`` (one new
array; NumPy reuses it for every further factor). This pass does that, in place on the
differentiated graph, for values that are sums, products and powers of their operands:

- only a value used once is written into its user, and only where the two share no
  operand (so nothing cancels: x*y - x*y stays as written, nan and inf included);
- a sum is written into its user only where it stays a sum of its own (products flatten,
  sums are never re-associated: floating-point addition is not associative);
- values with a note (a kink convention the code repeats) stay as they are;
- a fused template stays small (``LIMIT`` operations), so lines stay readable;
- where SymPy would fold an operand away (``x**0`` is 1, ``0*x`` is 0), nothing is fused:
  the operand's shape is part of the value.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from .graph import Value, placeholder
from .reverse import Gradient, own_graph

LIMIT = 10  # operations in a fused template, at most


def fuse(grad: Gradient) -> Gradient:
    grad = own_graph(grad)  # a pass returns a new graph; its input stays as it was
    graph = grad.graph
    roots = grad.roots
    needed, uses = graph.uses(roots)
    for vid in needed:
        value = graph[vid]
        if not _arithmetic(value):
            continue
        for arg in dict.fromkeys(value.args):
            inner = graph[arg]
            if uses.get(arg) != 1 or not _arithmetic(inner) or inner.note or arg in roots:
                continue
            if set(inner.args) & (set(value.args) - {arg}):
                continue  # shared operands: the fused form could cancel them
            fused = _written_in(value, inner)
            if fused is not None:
                graph.values[vid] = value = fused
    return grad


def _arithmetic(value: Value) -> bool:
    return value.template is not None and bool(value.args) and _arithmetic_template(value.template)


@lru_cache(maxsize=4096)
def _arithmetic_template(t) -> bool:
    return all(isinstance(n, (sp.Add, sp.Mul, sp.Pow, sp.Number, sp.Symbol)) for n in sp.preorder_traversal(t))


def _written_in(value: Value, inner: Value) -> Value | None:
    """``value`` with its operand ``inner`` written into the template, or None where SymPy's
    evaluation would drop an operand."""
    args = tuple(a for a in dict.fromkeys((*value.args, *inner.args)) if a != inner.id)
    position = {a: i for i, a in enumerate(args)}
    # Chains repeat the same templates: the fusion is computed once per shape of the pair.
    template = _fused(value.template, tuple(position.get(a, -1) for a in value.args),
                      inner.template, tuple(position[a] for a in inner.args), len(args))
    if template is None:
        return None
    # The template is now several ops' arithmetic, over other args: no longer one op over its
    # operands, so it is a value defined by its template alone (see derivgen/graph.py).
    return Value(value.id, "fused", template, args, value.lo, value.hi, note=value.note)


@lru_cache(maxsize=4096)
def _fused(outer, outer_slots: tuple, inner, inner_slots: tuple, count: int):
    """``outer`` with ``inner`` in the slot marked -1; slots give each operand's new place."""
    new = [placeholder(i) for i in range(count)]
    inner_expr = inner.xreplace({placeholder(i): new[j] for i, j in enumerate(inner_slots)})
    # Placeholders of the result are renamed through fresh symbols, so none is replaced twice.
    fresh = [sp.Dummy() for _ in range(count)]
    inner_fresh = inner_expr.xreplace(dict(zip(new, fresh)))
    expr = outer.xreplace({placeholder(i): (inner_fresh if j < 0 else fresh[j]) for i, j in enumerate(outer_slots)})
    if not all(f in expr.free_symbols for f in fresh):
        return None  # SymPy folded an operand away (x**0 is 1): its shape would be lost
    if isinstance(inner_fresh, sp.Add) and not any(node == inner_fresh for node in sp.preorder_traversal(expr)):
        # A sum flattened into a sum (y + (w - a) is y + w - a) or multiplied out (3*(a + b)):
        # its terms would be added in another order, and y + w - a loses y where w = a = 1e24.
        return None
    if sp.count_ops(expr) > LIMIT:
        return None
    return expr.xreplace(dict(zip(fresh, new)))
