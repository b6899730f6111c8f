"""Heads the passes introduce: helpers that share work between a value and its gradient,
the pieces of a stable logsumexp, and the gradient's plumbing (see ``derivgen/ops/__init__.py``).

None of them can be called from the input language. Those that stand for a value of the
graph (``exp_shifted``, ``max_shift``, ``lse_refine``) carry its rule; the others appear
inside templates only, and carry what the printers and the blocking pass need.
"""

from __future__ import annotations

from .. import symbolic as S
from . import OUT, G, OpSpec, register, shapes


def _internal(name: str, head=None, **facts) -> OpSpec:
    return register(OpSpec(name, kind="internal", head=head, **facts))


# Helpers computing an op and its gradient's weights from one exp (derivgen/optimize.py).
for _op in ("sigmoid", "softplus", "logaddexp"):
    _internal(f"{_op}_parts", getattr(S, f"{_op}_parts"), helper=f"{_op}_parts",
              scalar_helper=f"{_op}_parts_scalar", blockable=True, results=3 if _op == "logaddexp" else 2)
_internal("part", S.part, blockable=True)
# A stable logsumexp or softmax: exp(x - m) and m from one helper, m cancelling exactly.
_internal("exp_shift", S.exp_shift, helper="exp_shift", axes=True, results=2)
_internal("exp_shifted", rule=lambda ops, static: (G * OUT, None))
# The shift of a stable logsumexp cancels exactly: no gradient flows through it.
_internal("max_shift", S.max_shift, rule=lambda ops, static: (None,), gradient="shaped", shape=shapes.reduction,
          helper="max_shift", axes=True)
# The same logsumexp, recomputed where it is near 0: the gradient of the value it refines.
_internal("lse_refine", S.lse_refine, rule=lambda ops, static: (G, None), shape=shapes.first)

# A guard's condition taken down to the shape of the value it guards.
_internal("live", S.live, helper="live", shape=shapes.second)

# Gradient plumbing.
_internal("sech2", S.sech2, helper="sech2", scalar_helper="sech2_scalar", blockable=True)
_internal("scaled", S.scaled, helper="scaled", blockable=True)
_internal("sum_product", S.sum_product, helper="sum_product")
_internal("mean_product", S.mean_product, helper="mean_product")
for _name in ("matmul_grad_a", "matmul_grad_b", "dot_grad_a", "dot_grad_b"):
    _internal(_name, getattr(S, _name), helper=_name, scalar=False)
_internal("zeros_like", S.zeros_like, numpy="zeros_like", blockable=True)
_internal("nan_like", S.nan_like, blockable=True)
_internal("size_ratio", S.size_ratio, blockable=True)  # a count from shapes: a number
