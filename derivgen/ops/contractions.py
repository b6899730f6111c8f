"""Contractions: ``np.einsum`` (``torch.einsum``), ``np.tensordot`` (``torch.tensordot``),
``np.inner`` (``torch.inner``) and ``np.kron`` (``torch.kron``).

``einsum``'s operands are the arrays, then a Static operand holding its subscripts as
:func:`einsum_subscripts` writes them: spaces gone, the output written out (NumPy's implicit
output: the ellipsis, then the letters used once, in alphabetical order), the user's letters
kept. ``tensordot``'s Static holds its axes: a count, a pair of tuples, or "inner" (np.inner:
the last axes, or none where an operand is a single number); ranks are known only when the
module runs, so these are ops of their own, not einsums. ``kron`` has no static argument.

Each is linear in every operand. Its rule for operand k is a gradient head taking the adjoint,
every operand and (its static arguments..., k) (``einsum_grad``, ``tensordot_grad``,
``kron_grad``): a run-time helper (derivgen/backends/numpy/runtime.py) contracts the adjoint
with the other operands, and sums it back over what operand k was broadcast along. A gradient
head is linear in the adjoint and in every operand but k (of which it reads the shape only), so
its own rule is the contraction again: for the adjoint, the op with H in place of operand k; for
operand j, the gradient head for j of that op.
"""

from __future__ import annotations

import string

from .. import symbolic as S
from . import G, OpSpec, Param, register, shapes

LETTERS = frozenset(string.ascii_letters)  # the subscripts np.einsum and torch.einsum take
MAX_OPERANDS = 8  # an einsum of more operands is refused: its gradients' einsums read them all


class SubscriptsError(ValueError):
    """Subscripts that np.einsum would refuse (or that derivgen refuses), with a hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


def _term(term: str, where: str) -> str:
    """One operand's (or the output's) subscripts, checked: letters and at most one ellipsis."""
    rest = term.replace("...", "", 1)
    if "..." in rest:
        raise SubscriptsError(f"the subscripts of {where} have two ellipses", "write '...' once per operand")
    bad = sorted({c for c in rest if c not in LETTERS})
    if bad:
        raise SubscriptsError(f"the subscripts of {where} hold {', '.join(repr(c) for c in bad)}",
                              "subscripts are letters a-z and A-Z, an ellipsis '...', ',' between operands "
                              "and '->' before the output")
    return term


def einsum_subscripts(text: str, count: int) -> str:
    """``text`` (np.einsum's subscripts for ``count`` operands) normalised: no spaces, the
    output written out; SubscriptsError where NumPy would refuse it, or where the output
    drops an ellipsis of the operands (NumPy refuses that too, once it stands for an axis)."""
    text = text.replace(" ", "")
    if text.count("->") > 1:
        raise SubscriptsError("the subscripts hold '->' twice", "write 'ij,jk->ik': one '->' before the output")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != count:
        raise SubscriptsError(f"the subscripts name {len(terms)} operand{'s' if len(terms) != 1 else ''}, "
                              f"and {count} {'are' if count != 1 else 'is'} given",
                              "one group of letters per operand, separated by commas: 'ij,jk->ik'")
    terms = [_term(t, f"operand {i}") for i, t in enumerate(terms)]
    dots = any("..." in t for t in terms)
    if arrow:
        _term(output, "the output")
        letters = output.replace("...", "")
        repeated = sorted({c for c in letters if letters.count(c) > 1})
        if repeated:
            raise SubscriptsError(f"the output repeats {', '.join(repr(c) for c in repeated)}",
                                  "each letter of the output names one axis; a diagonal is "
                                  "'ii->i' (repeated in an operand)")
        missing = sorted({c for c in letters if not any(c in t for t in terms)})
        if missing:
            raise SubscriptsError(f"the output's {', '.join(repr(c) for c in missing)} "
                                  f"{'is' if len(missing) == 1 else 'are'} in no operand",
                                  "every letter of the output must name an axis of an operand")
        if dots and "..." not in output:
            raise SubscriptsError("the output drops the operands' ellipsis",
                                  "keep it: '...ij->...i'; sum those axes afterwards where that is meant")
        if not dots:
            output = output.replace("...", "")  # an ellipsis of no operand stands for no axis
    else:
        used = "".join(terms).replace("...", "")
        output = ("..." if dots else "") + "".join(sorted(c for c in set(used) if used.count(c) == 1))
    return ",".join(terms) + "->" + output


# ---- rules -------------------------------------------------------------------------------------
def _multilinear(forward, grad, arity=None):
    """The rules of a multilinear op and of its gradient head (see the module's docstring).
    forward(operands, static values) builds the op of ``arity`` operands (None: any number);
    grad is the gradient head."""

    def rule(ops, static):
        value = static[0].value if static and isinstance(static[0], S.Static) else ()  # kron has none
        return tuple(grad(G, *ops, S.Static((*value, k))) for k in range(len(ops)))

    def grad_rule(ops, static):
        g, *operands = ops[:None if arity is None else 1 + arity]
        *value, k = static[0].value
        with_h = [G if j == k else x for j, x in enumerate(operands)]
        return (forward(with_h, tuple(value)),) + tuple(
            None if j == k else grad(g, *with_h, S.Static((*value, j))) for j in range(len(operands)))

    return rule, grad_rule


_EINSUM, _EINSUM_GRAD = _multilinear(lambda ops, value: S.einsum(*ops, S.Static(value)), S.einsum_grad)
_TENSORDOT, _TENSORDOT_GRAD = _multilinear(lambda ops, value: S.tensordot(*ops, S.Static(value)), S.tensordot_grad, 2)
_KRON, _KRON_GRAD = _multilinear(lambda ops, value: S.kron(*ops), S.kron_grad, 2)

_AB = (Param("a", aliases=("input", "x1")), Param("b", aliases=("other", "x2")))
# Linear algebra of its operands' shapes: not computed in blocks, no scalar path; a Python
# number among the operands is a float64 array to np.einsum (promotes=-1: every operand).
_FACTS = {"kind": "linalg", "scalar": False, "blockable": False, "gradient": "shaped"}

# np.einsum(subscripts, *operands); torch.einsum(equation, *operands) or of one list of them
# (frontend/contractions.py reads the call: the subscripts as a literal string).
register(OpSpec("einsum", (Param("subscripts", "subscripts", aliases=("equation",)), Param("operands", "arrays")),
                build=lambda *args: S.einsum(*args), spellings=("einsum",), head=S.einsum, rule=_EINSUM,
                shape=shapes.einsum, promotes=-1, **_FACTS,
                doc="sums of products over the letters of subscripts: np.einsum('ij,jk->ik', a, b)"))
# np.tensordot(a, b, axes=2) (torch.tensordot(a, b, dims=2)): the last axes of a against the first of b,
# or the axes listed, ([1], [0]).
register(OpSpec("tensordot", (*_AB, Param("axes", "contraction", 2, ("dims",))),
                build=lambda a, b, static: S.tensordot(a, b, static), spellings=("tensordot",),
                head=S.tensordot, rule=_TENSORDOT, shape=shapes.tensordot, promotes=2, **_FACTS,
                doc="the sums of products of a's last axes and b's first: np.tensordot(a, b, axes=2)"))
# np.inner(a, b): tensordot over both last axes (a product where one is a single number).
register(OpSpec("inner", _AB, build=lambda a, b: S.tensordot(a, b, S.Static(("inner",))), spellings=("inner",),
                head=S.tensordot, rule=_TENSORDOT, shape=shapes.tensordot, promotes=2, **_FACTS,
                doc="the sums of products along the last axes of a and b: np.inner(a, b)"))
register(OpSpec("kron", _AB, build=S.kron, spellings=("kron",), head=S.kron, rule=_KRON, numpy="kron",
                shape=shapes.kron, promotes=2, **_FACTS,
                doc="the Kronecker product: a block of b for each element of a, scaled by it"))

for _name, _head, _rule in (("einsum_grad", S.einsum_grad, _EINSUM_GRAD),
                            ("tensordot_grad", S.tensordot_grad, _TENSORDOT_GRAD),
                            ("kron_grad", S.kron_grad, _KRON_GRAD)):
    # promotes=-1: a Python number among the operands makes the helper's np.einsum a float64 one
    register(OpSpec(_name, kind="internal", head=_head, rule=_rule, scalar=False, blockable=False,
                    gradient="shaped", shape=shapes.contraction_grad, promotes=-1))
