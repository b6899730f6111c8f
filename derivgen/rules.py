"""Vector-Jacobian products of single ops, from the rules in the op registry.

Each op's entry (``derivgen/ops``) has a rule ``rule(operands, static)`` that returns one
term per operand: the contribution ``g * d(out)/d(operand)`` as a SymPy expression over the
operands, the op's own value ``OUT`` and its adjoint ``G``, or ``None`` where no gradient
flows (conditions, piecewise-constant ops). Conventions at kinks follow PyTorch and are
written out in the rule, with a note (``NOTES``) the generated code repeats. Rules of
reductions restore the reduced axes (``EXPANDED``); those of linear algebra return terms of
their operand's shape already (``SHAPED``).
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from . import symbolic as S
from .ops import EXPANDED, HAZARDS, NOTES, OUT, OUT_SHAPE, POWERS, RULES, SHAPE, SHAPED, G

__all__ = ["EXPANDED", "NOTES", "OUT", "OUT_SHAPE", "RULES", "SHAPE", "SHAPED", "G", "is_zero", "note", "vjp"]

ZERO = sp.Integer(0)
ONE = sp.Integer(1)


def is_zero(x) -> bool:
    return isinstance(x, sp.Number) and bool(x.is_zero)  # Float 0.0 is not == 0 in SymPy


def note(op: str, operands: tuple) -> str | None:
    """The comment the generated code carries for this op's gradient, if any."""
    if op in POWERS and isinstance(operands[1], sp.Number):
        return None  # a constant exponent has no convention to explain
    return NOTES.get(op)


@cache
def vjp(op: str, operands: tuple, static: tuple, zero_safe: bool = False) -> tuple:
    """Cached rule terms for one op applied to these operands (placeholders or numbers).

    ``zero_safe``: the op is inside a where's branch its condition cannot guard (under a
    reduction or a transpose): where no gradient arrives (the branch is not selected), its
    terms are 0, not 0 * inf = nan from a value the branch computes there for nothing."""
    try:
        rule = RULES[op]
    except KeyError:  # an op in the registry without a rule: a bug in derivgen, not in the input
        raise NotImplementedError(f"no derivative rule for op {op!r}") from None
    if zero_safe and op not in SHAPED:
        return zero_where_none_arrives(op, operands, static, vjp(op, operands, static))
    terms = rule(operands, static)
    return tuple(None if t is None or is_zero(t) or isinstance(operands[i], sp.Number)
                 else t for i, t in enumerate(terms))


def zero_where_none_arrives(op: str, operands: tuple, static: tuple, terms: tuple) -> tuple:
    """``terms`` made 0 where no gradient arrives (the op's adjoint is 0): see :func:`vjp`."""
    arrives = sp.Ne(S.expand_reduced(G, *static) if op in EXPANDED else G, 0)
    # Where nothing arrives, the terms are computed on harmless operands (and value), so
    # that 0/0 is not computed there, warning, only to be masked: arccos(-1)'s -g/sqrt(0).
    harmless = {operands[i]: S.where(arrives, operands[i], sp.Float(safe))
                for i, safe in HAZARDS.get(op, {}).items() if isinstance(operands[i], sp.Symbol)}
    if harmless:
        harmless[OUT] = S.where(arrives, OUT, ONE)
    return tuple(None if t is None else S.where(arrives, t.xreplace(harmless), ZERO) for t in terms)
