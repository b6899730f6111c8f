"""Ops that build one array of several: ``np.stack`` (``torch.stack``), ``np.concatenate``
(``torch.cat``), ``np.array`` of a list of values (a stack along axis 0, lists in lists
stacked first: ``np.array([[a, b], [c, d]])``), and ``np.hstack``, ``np.vstack``,
``np.column_stack``, ``np.dstack`` (and PyTorch's), which join along an axis that depends on
the arrays' rank: their parts are found by a run-time helper (``join_part``).

Their operands are the arrays joined, then a Static operand (the axis). Each operand's
gradient is its part of the adjoint: ``unstack(G, (axis, i, n))`` is ``np.take(G, i, axis)``,
``concat_part(G, *arrays, (axis, i))`` the slice of G that array i was (its offset read off the
arrays' shapes when the module runs). Both are linear in G; their own adjoints put H back
into zeros at that place.
"""

from __future__ import annotations

from .. import symbolic as S
from . import G, OpSpec, Param, register, shapes

_ARRAYS = Param("arrays", "arrays", aliases=("tensors", "seq"))


def _stack_rule(ops, static):
    axis = static[0].value[0]
    return tuple(S.unstack(G, S.Static((axis, i, len(ops)))) for i in range(len(ops)))


def _concatenate_rule(ops, static):
    axis = static[0].value[0]
    return tuple(S.concat_part(G, *ops, S.Static((axis, i))) for i in range(len(ops)))


register(OpSpec("stack", (_ARRAYS, Param("axis", "int", 0, ("dim",))), "linalg",
                lambda *args: S.stack(*args), ("stack",), head=S.stack, rule=_stack_rule, scalar=False,
                blockable=False, gradient="shaped", shape=shapes.stack, zero_d=True, promotes=-1,
                doc="arrays of one shape stacked along a new axis: np.stack([a, b], axis=0), torch.stack"))
register(OpSpec("concatenate", (_ARRAYS, Param("axis", "int", 0, ("dim",))), "linalg",
                lambda *args: S.concatenate(*args), ("concatenate", "cat", "concat"), head=S.concatenate,
                rule=_concatenate_rule, scalar=False, blockable=False, gradient="shaped",
                shape=shapes.concatenate, zero_d=True, promotes=-1,
                doc="arrays joined along an existing axis: np.concatenate([a, b], axis=1), torch.cat"))


def _unstack_rule(ops, static):
    # H, of one part's shape, back at its place among zeros of the others' (the same shape)
    axis, i, n = static[0].value
    return (S.stack(*(G if j == i else S.zeros_like(G) for j in range(n)), S.Static((axis,))),)


def _concat_part_rule(ops, static):
    axis, i = static[0].value
    parts = ops[1:]
    return (S.concatenate(*(G if j == i else S.zeros_like(p) for j, p in enumerate(parts)), S.Static((axis,))),
            ) + (None,) * len(parts)


register(OpSpec("unstack", kind="internal", head=S.unstack, numpy=None, scalar=False, blockable=False,
                gradient="shaped", shape=shapes.unstack, zero_d=True, rule=_unstack_rule))
register(OpSpec("concat_part", kind="internal", head=S.concat_part, helper="concat_part", scalar=False,
                blockable=False, gradient="shaped", shape=shapes.concat_part, zero_d=True, rule=_concat_part_rule))


# np.hstack, np.vstack, np.column_stack, np.dstack (torch's too): the arrays made 1-, 2- or
# 3-dimensional as NumPy makes them, then joined along the axis it picks by their rank. A
# part's gradient is its slice of the adjoint (join_part), reshaped back to its shape.
_RANK_JOINS = {
    "hstack": "along the second axis (the first for vectors)",
    "vstack": "along the first axis, vectors as rows",
    "column_stack": "along the second axis, vectors as columns",
    "dstack": "along the third axis, each made 3-d",
}


_TUP = Param("arrays", "arrays", aliases=("tup", "tensors"))


def _joined_rule(how):
    return lambda ops, static: tuple(S.join_part(G, *ops, S.Static((how, i))) for i in range(len(ops)))


for _how, _doc in _RANK_JOINS.items():
    register(OpSpec(_how, (_TUP,), "linalg", lambda *args, how=_how: S.joined(*args, S.Static((how,))), (_how,),
                    head=S.joined, rule=_joined_rule(_how), scalar=False, blockable=False, gradient="shaped",
                    shape=shapes.joined, zero_d=True, promotes=-1, doc=f"arrays joined {_doc}: np.{_how}([a, b])"))


def _join_part_rule(ops, static):
    how, i = static[0].value
    parts = ops[1:]
    return (S.joined(*(G if j == i else S.zeros_like(p) for j, p in enumerate(parts)), S.Static((how,))),
            ) + (None,) * len(parts)


register(OpSpec("join_part", kind="internal", head=S.join_part, helper="join_part", scalar=False,
                blockable=False, gradient="shaped", shape=shapes.join_part, zero_d=True, rule=_join_part_rule))
