"""Heads the passes introduce: helpers that share work between a value and its gradient,
the pieces of a stable logsumexp, and the gradient's plumbing (see ``derivgen/ops/__init__.py``).

None of them can be called from the input language. Each carries its derivative rule, so
that a differentiated graph can itself be differentiated (``tests/test_plumbing_rules.py``
checks every rule through the adjoint sweep against central differences), and what the
printers and the blocking pass need. Only ``blocks.total``, the bookkeeping of the loop
over blocks, has none: no graph that is differentiated holds it.
"""

from __future__ import annotations

import sympy as sp

from .. import symbolic as S
from . import OUT, G, OpSpec, register, shapes


def _internal(name: str, head=None, **facts) -> OpSpec:
    return register(OpSpec(name, kind="internal", head=head, **facts))


def _none(ops, static):
    """No gradient flows into any operand: conditions, shapes, constants, and the helpers
    whose users carry the gradient (a *_parts helper's: the user's rule is in its operands)."""
    return (None,) * len(ops)


# Helpers computing an op and its gradient's weights from one exp (derivgen/optimize.py).
# Their users (the op, a part of the helper) differentiate with respect to the op's operands.
for _op in ("sigmoid", "softplus", "logaddexp"):
    _internal(f"{_op}_parts", getattr(S, f"{_op}_parts"), helper=f"{_op}_parts", rule=_none,
              scalar_helper=f"{_op}_parts_scalar", blockable=True, results=3 if _op == "logaddexp" else 2)
_internal("part", S.part, blockable=True, rule=_none)
# A stable logsumexp or softmax: exp(x - m) and m from one helper, m cancelling exactly.
_internal("exp_shift", S.exp_shift, helper="exp_shift", axes=True, results=2, rule=_none)
_internal("exp_shifted", rule=lambda ops, static: (G * OUT, None))
# The shift of a stable logsumexp cancels exactly: no gradient flows through it.
_internal("max_shift", S.max_shift, rule=lambda ops, static: (None,), gradient="shaped", shape=shapes.reduction,
          helper="max_shift", axes=True)
# The same logsumexp, recomputed where it is near 0: the gradient of the value it refines.
_internal("lse_refine", S.lse_refine, rule=lambda ops, static: (G, None), shape=shapes.first)

# Conditions: a guard's taken down to the shape of the value it guards, a constant one in
# the shape of the values it reads.
_internal("live", S.live, helper="live", shape=shapes.second, rule=_none)
_internal("shaped_condition", S.shaped_condition, rule=_none)

# ---- gradient plumbing -----------------------------------------------------------------------
# Each has the rule of the function it computes, so that a differentiated program can be
# differentiated again (tests/test_plumbing_rules.py checks each against finite differences).
# sech(x)**2' = -2 sech(x)**2 tanh(x)
_internal("sech2", S.sech2, helper="sech2", scalar_helper="sech2_scalar", blockable=True,
          rule=lambda ops, static: (-2 * G * OUT * sp.tanh(ops[0]),))
_internal("scaled", S.scaled, helper="scaled", blockable=True, rule=lambda ops, static: (G * ops[1], G * ops[0]))
# sum(a * b) over every element: each operand's term has the other's shape, summed to its own.
_internal("sum_product", S.sum_product, helper="sum_product", rule=lambda ops, static: (G * ops[1], G * ops[0]),
          summed=S.sum_product)


def _mean_product(ops, static):
    count = S.size_ratio(S.shape_of(*ops), sp.Tuple())  # elements of a * b
    return (G * ops[1] / count, G * ops[0] / count)


_internal("mean_product", S.mean_product, helper="mean_product", rule=_mean_product, summed=S.sum_product)
# The gradients of a @ b are bilinear: matmul_grad_a(g, a, b) is d<g, a @ b>/da, so its
# product with G (of a's shape) is <g, G @ b>: G @ b for g, and matmul_grad_b(g, G, b) for b.
_GRAD_RULES = {
    "matmul_grad_a": lambda g, a, b: (S.matmul(G, b), None, S.matmul_grad_b(g, G, b)),
    "matmul_grad_b": lambda g, a, b: (S.matmul(a, G), S.matmul_grad_a(g, a, G), None),
    "dot_grad_a": lambda g, a, b: (S.dot(G, b), None, S.dot_grad_b(g, G, b)),
    "dot_grad_b": lambda g, a, b: (S.dot(a, G), S.dot_grad_a(g, a, G), None),
}
for _name, _rule in _GRAD_RULES.items():
    _internal(_name, getattr(S, _name), helper=_name, scalar=False, gradient="shaped",
              rule=lambda ops, static, _rule=_rule: _rule(*ops))
# unbroadcast sums g down to a shape: its term is G, which broadcasting stretches back over
# g's shape wherever it is used (and which is summed down in turn where it must be).
# Their operands: the gradient (or the two factors of it), the shape to sum to, the shape
# the gradient stands for (where it may be smaller), and whether the result is the caller's.
_internal("unbroadcast", S.unbroadcast, rule=lambda ops, static: (G,) + (None,) * (len(ops) - 1),
          summed=S.unbroadcast, shape_operands=lambda n: range(1, n - 1))
_internal("unbroadcast_product", S.unbroadcast_product,
          rule=lambda ops, static: (G * ops[1], G * ops[0]) + (None,) * (len(ops) - 2),
          summed=S.unbroadcast_product, shape_operands=lambda n: range(2, n - 1))


def _expand_reduced(ops, static):
    # The reduced axes restored as size 1: the term takes them away again (a sum over size-1
    # axes); with keepdims, or with no axes (a single number), it is G itself.
    keepdims, *axes = static
    return (G if keepdims or not axes else S.reduce_sum(G, sp.Integer(0), *axes),)


_internal("expand_reduced", S.expand_reduced, rule=_expand_reduced, gradient="shaped")
# Values made of shapes and constants: no gradient.
_internal("zeros_like", S.zeros_like, numpy="zeros_like", blockable=True, rule=_none)
_internal("nan_like", S.nan_like, blockable=True, rule=_none)
_internal("size_ratio", S.size_ratio, blockable=True, rule=_none)  # a count from shapes: a number
_internal("shape_of", S.shape_of, rule=_none)
# first_hit(hit, keepdims, axis): 1 at the first true element of hit along the axis, 0
# elsewhere (a bool array, a factor of the gradient torch.max(x, dim) sends there).
_internal("first_hit", S.first_hit, helper="first_hit", rule=_none, axes=True, scalar=False, blockable=False,
          shape=shapes.first)
# blocks.total(acc, part) (derivgen/blocking.py) adds up a sum or writes an array result's
# rows, block by block: the bookkeeping of the loop the last stage writes, never in a graph
# that is differentiated (a blocked gradient is the gradient's graph, blocked), so no rule.
_internal("block_total", S.accumulate)
