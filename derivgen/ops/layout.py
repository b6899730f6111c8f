"""Ops that move elements without arithmetic: indexing, new shapes, axes reordered.

Each is linear in its operand, and its rule is its transpose: the adjoint written back
into zeros of the operand's shape (an index), reshaped back (a new shape), reordered back
(an order of axes). Their static arguments (the index, the shape, the axes) are one
:class:`derivgen.symbolic.Static` operand, the template's last, holding a tuple of Python
values; ``static`` of a value holds it too. Shapes are known only at run time, so nothing
here checks that an index or a shape fits: NumPy does, when the module runs.

An index is a tuple of items (``derivgen/ops/indexing.py``); a list of positions in it may
repeat one, and the gradient then adds up. A reshape's shape may hold ("dim", axis, rank), a
size read off its own operand when the module runs (``x.reshape(x.shape[0], -1)``,
``shapes.resolved``).
"""

from __future__ import annotations

import sympy as sp

from .. import symbolic as S
from . import SHAPE, G, OpSpec, Param, register, shapes

ZERO = sp.Integer(0)


def _static(static) -> tuple:
    """The static arguments of a value, in the order of its op's parameters."""
    return static[0].value


# ---- rules ------------------------------------------------------------------------------------
def _getitem(ops, static):
    # The adjoint written into zeros of x's shape (and dtype) at the positions read; where
    # an index list repeats a position, its adjoints add up.
    return (S.index_grad(G, ops[0], static[0]), None)


def _reshaped(ops, static):
    # Reshaping, flattening, adding or removing axes of size 1: the adjoint reshaped back.
    return (S.reshape_to(G, SHAPE), None)


def _inverse_permutation(order: tuple) -> tuple:
    n = len(order)
    inverse = [0] * n
    for i, a in enumerate(order):
        inverse[a % n] = i
    return tuple(inverse)


def _permute(ops, static):
    (order,) = _static(static)
    return (S.permute(G, S.Static((_inverse_permutation(order),))), None)


def _swapaxes(ops, static):
    return (S.swapaxes(G, static[0]), None)


def _moveaxis(ops, static):
    source, destination = _static(static)
    return (S.moveaxis(G, S.Static((destination, source))), None)


def _flip(ops, static):
    return (S.flip(G, static[0]), None)


_X = Param("x", aliases=("input", "a"))
# The ops that move elements without computing any: an array of positions moved so (t[:, None],
# t.unsqueeze(1)) still holds positions (derivgen/frontend/positions.py).
MOVES = {"getitem", "transpose"}


def _layout(name: str, head, params, rule, spellings=(), **facts) -> OpSpec:
    # promotes=1: NumPy's function of a Python number is a float64 array (np.flip(2.5)).
    MOVES.add(name)
    return register(OpSpec(name, (_X, *params), "linalg", lambda x, static, head=head: head(x, static),
                           (name, *spellings), head=head, rule=rule, scalar=False, gradient="shaped",
                           zero_d=True, promotes=1, **facts))


# x[index]: built from a subscript, never called by name.
register(OpSpec("getitem", (_X, Param("index", "index")), "linalg", lambda x, static: S.getitem(x, static), (),
                head=S.getitem, rule=_getitem, scalar=False, gradient="shaped", shape=shapes.getitem, zero_d=True,
                doc="x[index]: integers, slices, None, ..., and constant lists of positions"))
# x[index] where the index reads arrays known only when the module runs: positions held by an
# input (x[t]), np.arange of a size (x[np.arange(len(t)), t]). The arrays come after x; only x
# receives a gradient, written back at the positions read (added up where one repeats).
register(OpSpec("gather_index", (_X, Param("index", "index")), "linalg", None, (), head=S.gather,
                rule=lambda ops, static: (S.gather_grad(G, *ops, static[0]),) + (None,) * (len(ops) - 1),
                scalar=False, blockable=False, gradient="shaped", shape=shapes.gather, zero_d=True,
                doc="x[index] with positions known when the module runs: x[np.arange(len(t)), t], x[t]"))
# np.take_along_axis(x, indices, axis) (torch.take_along_dim: the same) and PyTorch's
# torch.gather(x, dim, index) = x.gather(dim, index), which reads the leading part of x's other
# axes where index is shorter there (NumPy broadcasts them instead). indices hold positions.
def _take_along(leading: bool):
    return lambda x, indices, static: S.take_along(x, indices, S.Static((static.value[0], leading)))


def _take_along_rule(ops, static):
    return (S.take_along_grad(G, *ops, static[0]), None)


register(OpSpec("take_along_axis", (_X, Param("indices", "positions", aliases=("index",)),
                                    Param("axis", "int", aliases=("dim",))), "linalg", _take_along(False),
                ("take_along_axis", "take_along_dim"), head=S.take_along, rule=_take_along_rule, scalar=False,
                blockable=False, gradient="shaped", shape=shapes.take_along, zero_d=True,
                doc="x's elements at integer positions along an axis: np.take_along_axis, torch.take_along_dim"))
register(OpSpec("gather", (_X, Param("dim", "int", aliases=("axis",)), Param("index", "positions")),
                "linalg", _take_along(True), ("gather",), head=S.take_along, rule=_take_along_rule,
                scalar=False, blockable=False, gradient="shaped", shape=shapes.take_along, zero_d=True,
                doc="torch.gather(x, dim, index) = x.gather(dim, index): x's elements at index along dim"))
_layout("reshape", S.reshape, (Param("shape", "shape", aliases=("newshape",)),), _reshaped, ("view",),
        shape=shapes.reshape, numpy="reshape",
        doc="a new shape, -1 standing for what is left; x.reshape(2, -1) or x.view(...)")
# np.broadcast_to(x, shape), x.expand(*sizes): x repeated along new leading axes and its axes
# of size 1 (-1 keeps a size, as PyTorch's expand does). The adjoint is summed back to x's
# shape, as an elementwise op's is: the rule's term is G itself, of the result's shape.
MOVES.add("broadcast_to")
register(OpSpec("broadcast_to", (_X, Param("shape", "sizes", aliases=("size",))), "linalg",
                lambda x, static: S.expand_to(x, static), ("broadcast_to", "expand"), head=S.expand_to,
                rule=lambda ops, static: (G,), scalar=False, blockable=False, shape=shapes.broadcast_to,
                zero_d=True, promotes=1, doc="x broadcast to a shape: np.broadcast_to(x, shape), x.expand(3, -1)"))
_layout("flatten", S.flatten, (Param("start_dim", "int", 0), Param("end_dim", "int", -1)), _reshaped,
        ("ravel",), shape=shapes.flatten, doc="axes start_dim..end_dim as one; ravel() flattens every axis")
_layout("squeeze", S.squeeze, (Param("axis", "axes", None, ("dim",)),), _reshaped, (),
        shape=shapes.squeeze, numpy="squeeze", doc="axes of size 1 removed (those listed, or all)")
_layout("expand_dims", S.new_axes, (Param("axis", "axes", aliases=("dim",)),), _reshaped, ("unsqueeze",),
        shape=shapes.expand_dims, numpy="expand_dims", doc="new axes of size 1 at the positions listed")
_layout("permute", S.permute, (Param("dims", "order", aliases=("axes",)),), _permute, ("permute_dims",),
        shape=shapes.permute, numpy="transpose",
        doc="axes in a new order: x.permute(2, 0, 1), np.transpose(x, (2, 0, 1))")
_layout("swapaxes", S.swapaxes,
        (Param("axis1", "int", aliases=("dim0",)), Param("axis2", "int", aliases=("dim1",))), _swapaxes,
        ("swapdims",), shape=shapes.swapaxes, numpy="swapaxes", doc="two axes exchanged")
_layout("moveaxis", S.moveaxis, (Param("source", "axes"), Param("destination", "axes")), _moveaxis, ("movedim",),
        shape=shapes.moveaxis, numpy="moveaxis", doc="axes moved to new positions, the others keeping their order")
def _roll(ops, static):  # the adjoint rolled back
    shift, axis = _static(static)
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return (S.roll(G, S.Static((back, axis))), None)


_layout("roll", S.roll, (Param("shift", "shifts", aliases=("shifts",)), Param("axis", "axes", None, ("dims",))),
        _roll, (), shape=shapes.roll, numpy="roll",
        doc="elements shifted along the axes listed, those past the end coming back at the start")
# np.diagonal(x, offset=0, axis1=0, axis2=1) (torch.diagonal: dim1, dim2): the diagonal of the
# two axes, as the last axis. Its adjoint is zeros with G on that diagonal.
_layout("diagonal", S.diagonal, (Param("offset", "int", 0), Param("axis1", "int", 0, ("dim1",)),
                                 Param("axis2", "int", 1, ("dim2",))),
        lambda ops, static: (S.diagonal_grad(G, ops[0], static[0]), None), (), shape=shapes.diagonal,
        numpy="diagonal", doc="the elements x[..., i, i + offset] of two axes, as a last axis")
# np.tril(x, k) / np.triu(x, k) (torch.tril(x, diagonal=k), x.tril(k)): the elements on and
# below (above) the k-th diagonal of the last two axes, zeros elsewhere. The adjoint is masked
# alike (tri_grad); NumPy's tril of a vector is of the matrix with that vector in every row,
# and its adjoint adds up the rows.
for _name, _head, _where in (("tril", S.tril, "on and below"), ("triu", S.triu, "on and above")):
    _layout(_name, _head, (Param("k", "int", 0, ("diagonal",)),),
            lambda ops, static, upper=_name == "triu": (S.tri_grad(G, ops[0], S.Static((*static[0].value, upper))),
                                                         None),
            (), numpy=_name, blockable=False, shape=getattr(shapes, _name),
            doc=f"the elements {_where} the k-th diagonal of the last two axes, zeros elsewhere")
# np.tile(x, reps) (torch.tile(x, dims)): x repeated as whole blocks along each axis. The
# adjoint adds up g's blocks (tile_grad).
_layout("tile", S.tile, (Param("reps", "counts", aliases=("dims", "A")),),
        lambda ops, static: (S.tile_grad(G, ops[0], static[0]), None), (), shape=shapes.tile, numpy="tile",
        blockable=False, doc="x repeated reps[i] times, as whole blocks, along axis i (reps counted from the last axis)")
# np.repeat(x, repeats, axis=None) (torch.repeat_interleave(x, repeats, dim)): each element
# repeated in place (of the flattened x without an axis). The adjoint adds up each element's
# copies (repeat_grad).
_layout("repeat", S.repeat, (Param("repeats", "count"), Param("axis", "axis1", None, ("dim",))),
        lambda ops, static: (S.repeat_grad(G, ops[0], static[0]), None), ("repeat_interleave",),
        shape=shapes.repeat, numpy="repeat", blockable=False,
        doc="each element repeated `repeats` times in place along an axis (of the flattened x without one)")
# np.pad(x, pad_width, constant_values=v) and F.pad(x, pad, value=v), mode "constant": x with
# v around it. Static: (widths, value, last): NumPy's pad_width, or PyTorch's pairs from the
# last axis backwards (last=True). The adjoint is the part of g x was (unpad).
MOVES.add("pad")
register(OpSpec("pad", (_X, Param("widths", "pad"), Param("value", "pad"), Param("last", "pad")), "linalg", lambda x, static: S.pad(x, static), (), head=S.pad,
                rule=lambda ops, static: (S.unpad(G, S.Static((static[0].value[0], static[0].value[2]))),),
                scalar=False, blockable=False, gradient="shaped", shape=shapes.pad, zero_d=True, promotes=1,
                doc="np.pad(x, pad_width, constant_values=0) and F.pad(x, pad, value=0): x with a constant border"))
# A part of np.split(x, sections_or_indices, axis) (np.array_split, torch.split with a list of
# sizes, torch.chunk): Static (kind, arg, i, axis). The front end makes one value per part,
# a Python tuple of them (a, b = np.split(x, 2)). The adjoint is zeros like x with g written
# where the part was (split_grad).
MOVES.add("split_part")
register(OpSpec("split_part", (_X, Param("kind", "split"), Param("arg", "split"), Param("i", "split"),
                               Param("axis", "split")), "linalg", lambda x, static: S.split_part(x, static), (),
                head=S.split_part, rule=lambda ops, static: (S.split_grad(G, ops[0], static[0]), None),
                scalar=False, blockable=False, gradient="shaped", shape=shapes.split_part, zero_d=True,
                doc="part i of np.split, np.array_split, torch.split (sizes) or torch.chunk of x"))
# np.diag(x, k=0) (torch.diag(x, diagonal)): of a vector, the square matrix with it on the k-th
# diagonal; of a matrix, that diagonal (np.diagonal's). Its adjoint is the other way round (diag_grad).
_layout("diag", S.diag, (Param("k", "int", 0, ("diagonal",)),),
        lambda ops, static: (S.diag_grad(G, ops[0], static[0]), None), (), shape=shapes.diag, numpy="diag",
        blockable=False, doc="a vector on the k-th diagonal of a square matrix, or a matrix's k-th diagonal")
_layout("flip", S.flip, (Param("axis", "axes", None, ("dims",)),), _flip, (),
        shape=shapes.flip, numpy="flip", doc="the order of elements along the axes listed (or all) reversed")
# np.fliplr(x) is np.flip(x, 1), np.flipud(x) np.flip(x, 0) (and PyTorch's): flips of a fixed axis
for _name, _axis in (("fliplr", 1), ("flipud", 0)):
    MOVES.add(_name)
    register(OpSpec(_name, (_X,), "linalg", lambda x, axis=_axis: S.flip(x, S.Static((axis,))), (_name,),
                    head=S.flip, rule=_flip, scalar=False, gradient="shaped", shape=shapes.flip, zero_d=True,
                    promotes=1, doc=f"np.flip(x, {_axis}): the order along axis {_axis} reversed"))

# ---- their gradients' plumbing -------------------------------------------------------------
# index_grad(g, x, index) is linear in g: its own adjoint reads G at the index; x gives only a
# shape and a dtype. Its static operand is the index, as getitem's is.
register(OpSpec("index_grad", kind="internal", head=S.index_grad, helper="index_grad", scalar=False,
                gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.getitem(G, static[0]), None)))
# gather_grad(g, x, *arrays, index): the same, for a gather's index, which counts its arrays
# from x as the gather's does (its adjoint, of x's shape, is gathered in x's place).
register(OpSpec("gather_grad", kind="internal", head=S.gather_grad, helper="index_grad", scalar=False,
                blockable=False, gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.gather(G, *ops[2:], static[0]),) + (None,) * (len(ops) - 1)))
# take_along_grad(g, x, indices, (axis, leading)): g added into zeros like x where the elements
# were read (twice where a position repeats); its adjoint reads G there again.
register(OpSpec("take_along_grad", kind="internal", head=S.take_along_grad, helper="take_along_grad",
                scalar=False, blockable=False, gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.take_along(G, ops[2], static[0]), None, None)))
# diagonal_grad(g, x, (offset, axis1, axis2)): zeros like x with g on the diagonal; linear in g,
# its adjoint is the diagonal of G again.
register(OpSpec("diagonal_grad", kind="internal", head=S.diagonal_grad, helper="diagonal_grad", scalar=False,
                gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.diagonal(G, static[0]), None)))
# split_grad(g, x, (kind, arg, i, axis)): zeros like x, g where part i was; its adjoint reads the part again.
register(OpSpec("split_grad", kind="internal", head=S.split_grad, helper="split_grad", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.split_part(G, static[0]), None)))
# diag_grad(g, x, (k,)): the k-th diagonal of g for a vector x, g on the k-th diagonal of zeros
# like x for a matrix; its adjoint is np.diag of G again.
register(OpSpec("diag_grad", kind="internal", head=S.diag_grad, helper="diag_grad", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.second, zero_d=True, rule=lambda ops, static: (S.diag(G, static[0]), None)))
# tri_grad(g, x, (k, upper)): g's triangle (rows added up for a vector x); its adjoint is the
# triangle of G (NumPy's tril of a vector repeats it in every row).
register(OpSpec("tri_grad", kind="internal", head=S.tri_grad, helper="tri_grad", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: ((S.triu if static[0].value[1] else S.tril)(G, S.Static(static[0].value[:1])),
                                          None)))
# tile_grad(g, x, reps): g's blocks added up, of x's shape; linear in g, its adjoint tiles G.
register(OpSpec("tile_grad", kind="internal", head=S.tile_grad, helper="tile_grad", scalar=False,
                blockable=False, gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.tile(G, static[0]), None)))
# repeat_grad(g, x, (repeats, axis)): each element's copies in g added up; its adjoint repeats G.
register(OpSpec("repeat_grad", kind="internal", head=S.repeat_grad, helper="repeat_grad", scalar=False,
                blockable=False, gradient="shaped", shape=shapes.second, zero_d=True,
                rule=lambda ops, static: (S.repeat(G, static[0]), None)))
# unpad(g, (widths, last)): the part of g inside the border; its adjoint pads G with zeros.
register(OpSpec("unpad", kind="internal", head=S.unpad, helper="unpad", scalar=False, blockable=False,
                gradient="shaped", shape=shapes.unpad, zero_d=True,
                rule=lambda ops, static: (S.pad(G, S.Static((static[0].value[0], 0.0, static[0].value[1]))),)))
# reshape_to(g, shape): the adjoint of a reshape is a reshape back to g's shape.
register(OpSpec("reshape_to", kind="internal", head=S.reshape_to, numpy="reshape", scalar=False,
                gradient="shaped", shape_operands=lambda n: (1,), zero_d=True,
                rule=lambda ops, static: (S.reshape_to(G, SHAPE), None)))
