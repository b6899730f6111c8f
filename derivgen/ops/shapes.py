"""Shapes of op results from their operands' shapes: the rules an op entry's ``shape`` names.

Each takes the operands' shapes (tuples of sizes) and the op's static operands (integers:
keepdims, then axes, for a reduction) and returns the result's shape, or raises ValueError
saying why the shapes do not fit. ``derivgen show --shape`` writes formulas for concrete
shapes with them.
"""

from __future__ import annotations

import math

import numpy as np

from .indexing import as_index


def broadcast(shapes, static=()) -> tuple:
    """An elementwise op's: its operands broadcast together."""
    return tuple(np.broadcast_shapes(*shapes))


def reduced(shape: tuple, keepdims: int, axes) -> tuple:
    """A reduction's over ``axes`` (every axis where there are none)."""
    ndim = len(shape)
    axes = list(axes) or list(range(ndim))
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"axis {axes} is out of range for {ndim} dimensions")
    axes = {a % ndim for a in axes}
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def reduction(shapes, static) -> tuple:
    keepdims, *axes = static or (0,)
    return reduced(shapes[0], keepdims, axes)


def matmul(shapes, static=()) -> tuple:
    a, b = shapes
    if not a or not b:
        raise ValueError("matmul of a single number")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ValueError(f"the inner sizes {a2[-1]} and {b2[-2]} differ")
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    return (*batch, *(a2[-2:-1] if len(a) > 1 else ()), *(b2[-1:] if len(b) > 1 else ()))


def dot(shapes, static=()) -> tuple:
    """np.dot's: a's last axis against b's second-to-last, without batching."""
    a, b = shapes
    if not a or not b:
        return broadcast((a, b))
    inner = b[0] if len(b) == 1 else b[-2]
    if a[-1] != inner:
        raise ValueError(f"the inner sizes {a[-1]} and {inner} differ")
    return (*a[:-1], *b[:-2], *b[-1:]) if len(b) > 1 else a[:-1]


def transpose(shapes, static=()) -> tuple:
    return shapes[0][::-1]


def first(shapes, static=()) -> tuple:
    """The shape of the first operand."""
    return shapes[0]


def second(shapes, static=()) -> tuple:
    return shapes[1]


# ---- ops that move elements: NumPy's own rule, applied to an array of that shape that holds
# no memory (every stride 0). Their static operand is one tuple of Python values.
def _moved(fn):
    def shape(shapes, static):
        try:
            return np.shape(fn(np.broadcast_to(np.zeros(()), shapes[0]), *static[0]))
        except (IndexError, TypeError, ValueError) as exc:  # np.exceptions.AxisError is both
            raise ValueError(str(exc)) from None
    shape.__doc__ = fn.__doc__
    return shape


def _flatten(x, start, end):
    """Axes start..end (inclusive) as one."""
    ndim = np.ndim(x)
    if not (-ndim <= start < max(ndim, 1) and -ndim <= end < max(ndim, 1)):
        raise ValueError(f"flatten({start}, {end}) is out of range for {ndim} dimensions")
    if ndim == 0:
        return np.reshape(x, (1,))
    start, end = start % ndim, end % ndim
    if start > end:
        raise ValueError("flatten's start_dim comes after its end_dim")
    return np.reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


# ---- integers read off shapes (derivgen/ops/sizes.py) ---------------------------------------
def size_value(shape: tuple, what: tuple) -> int:
    """The integer ``what`` (the static operand's value) of an operand of ``shape``;
    ValueError where the operand has no such axis, or not as many as were unpacked."""
    kind, *rest = what
    if kind == "size":
        count = 1
        for n in shape:
            count *= n
        return count
    if kind == "ndim":
        return len(shape)
    axis, rank = rest
    if rank is not None and rank != len(shape):
        raise ValueError(f"{len(shape)} sizes cannot be unpacked into {rank} names")
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"axis {axis} is out of range for {len(shape)} dimensions")
    return shape[axis]


def resolved(shape: tuple, operand_shape: tuple) -> tuple:
    """A reshape's shape with each size read off its operand, ("dim", axis, rank), replaced by
    that size (``x.reshape(x.shape[0], -1)``); ValueError where the operand has no such axis."""
    return tuple(size_value(operand_shape, ("shape", *s[1:])) if isinstance(s, tuple) else s for s in shape)


getitem = _moved(lambda x, items: x[as_index(items)])


def gather(shapes, static) -> tuple:
    """x[index] where the index reads arrays of positions (x's shape first, then theirs):
    NumPy's rule, applied to arrays holding no memory and positions 0."""
    if any(isinstance(item, tuple) and item[0] == "mask" for item in static[0][0]):
        raise ValueError("x[mask] has as many elements as the mask holds, known only when the module runs")
    x = np.broadcast_to(np.zeros(()), shapes[0])
    arrays = [x] + [np.broadcast_to(np.zeros((), dtype=np.intp), s) for s in shapes[1:]]
    try:
        return np.shape(x[as_index(static[0][0], arrays, lambda a, what: size_value(np.shape(a), what))])
    except (IndexError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def take_along(shapes, static) -> tuple:
    """np.take_along_axis's shape (PyTorch's gather: index's shape, at most x's on other axes)."""
    axis, leading = static[0]
    x, indices = np.zeros(shapes[0]), np.zeros(shapes[1], dtype=np.intp)
    try:
        if leading:
            x = x[leading_part(x.shape, indices.shape, axis)]
        return np.shape(np.take_along_axis(x, indices, axis))
    except (IndexError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def leading_part(shape, index_shape, axis) -> tuple:
    """The slices of an array of ``shape`` that PyTorch's gather reads along the axes but
    ``axis``: the first ``index_shape[d]`` elements (an error where index is longer there, or
    of another rank)."""
    if len(index_shape) != len(shape):
        raise ValueError(f"gather: index has {len(index_shape)} dimensions, the array {len(shape)}")
    axis = axis % len(shape) if shape else axis
    parts = []
    for d, (n, k) in enumerate(zip(shape, index_shape)):
        if d != axis and k > n:
            raise ValueError(f"gather: index has size {k} along dimension {d}, the array {n}")
        parts.append(slice(None) if d == axis else slice(0, k))
    return tuple(parts)


reshape = _moved(lambda x, shape: np.reshape(x, resolved(shape, np.shape(x))))
flatten = _moved(_flatten)
roll = _moved(lambda x, shift, axis: np.roll(x, shift, axis))
diagonal = _moved(lambda x, offset, axis1, axis2: np.diagonal(x, offset, axis1, axis2))

diag = _moved(lambda x, k: np.diag(x, k))
tril = _moved(lambda x, k: np.tril(x, k))
triu = _moved(lambda x, k: np.triu(x, k))
tile = _moved(lambda x, reps: np.tile(x, reps))
repeat = _moved(lambda x, repeats, axis: np.repeat(x, repeats, axis))


def _sizes_of(shapes, shape) -> tuple:
    """A constant array's shape: its sizes, each ("of", what) read off the operand's shape;
    "like": the operand's whole shape."""
    if shape == "like":
        return tuple(shapes[0])
    return tuple(size_value(shapes[0], s[1]) if isinstance(s, tuple) else s for s in shape)


def filled(shapes, static) -> tuple:
    shape, _ = static[0]
    return _sizes_of(shapes, shape)


def eye(shapes, static) -> tuple:
    n, m, _ = static[0]
    n, m = _sizes_of(shapes, (n, n if m is None else m))
    return (n, m)


def linspace(shapes, static) -> tuple:
    return _sizes_of(shapes, (static[0][2],))


def arange_count(start, stop, step) -> int:
    """How many numbers np.arange(start, stop, step) makes: ceil((stop - start) / step), at least 0."""
    return max(0, math.ceil((stop - start) / step))


def arange(shapes, static) -> tuple:
    start, stop, step = static[0]
    (stop,) = _sizes_of(shapes, (stop,))
    return (arange_count(start, stop, step),)


def pad_widths(ndim: int, widths, last: bool):
    """np.pad's pad_width of a pad: NumPy's own (an int, a pair, or a pair per axis), or
    PyTorch's flat (left, right, top, bottom, ...) pairs from the last axis backwards."""
    if not last:
        return widths
    pairs = [tuple(widths[i:i + 2]) for i in range(0, len(widths), 2)]
    if len(pairs) > ndim:
        raise ValueError(f"pad: {len(widths)} sizes pad {len(pairs)} dimensions, the array has {ndim}")
    return [(0, 0)] * (ndim - len(pairs)) + pairs[::-1]


def pad(shapes, static) -> tuple:
    widths, _, last = static[0]
    try:
        return np.pad(np.zeros(shapes[0]), pad_widths(len(shapes[0]), widths, last)).shape
    except (IndexError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def unpad(shapes, static) -> tuple:
    """The shape of the part of g inside a pad's border (g of the padded shape)."""
    widths, last = static[0]
    shape = shapes[0]
    full = np.broadcast_to(np.asarray(pad_widths(len(shape), widths, last), dtype=np.intp), (len(shape), 2))
    return tuple(n - int(b) - int(a) for n, (b, a) in zip(shape, full))


def cumsum(shapes, static) -> tuple:
    """np.cumsum's shape: x's, or its count of elements where it is flattened (axis None)."""
    (axis,) = static[0]
    try:
        return np.shape(np.cumsum(np.zeros(shapes[0]), axis))
    except (IndexError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None


def arg_extreme(shapes, static) -> tuple:
    """np.argmax's: x's shape without the axis (kept as 1 with keepdims); of the flattened x
    where axis is None (a single number, or 1 along every axis with keepdims)."""
    axis, keepdims = static[0]
    shape = shapes[0]
    if axis is None:
        if not math.prod(shape):
            raise ValueError("attempt to get argmax of an empty sequence")
        return (1,) * len(shape) if keepdims else ()
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"axis {axis} is out of range for {len(shape)} dimensions")
    axis %= len(shape)
    if not shape[axis]:
        raise ValueError("attempt to get argmax of an empty sequence")
    return tuple(1 if d == axis else n for d, n in enumerate(shape) if d != axis or keepdims)


def argsort(shapes, static) -> tuple:
    """The positions sorting x along an axis: x's shape, k along the axis where k is given."""
    axis, _, k = static[0]
    shape = shapes[0]
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"axis {axis} is out of range for {len(shape)} dimensions")
    if k is None:
        return tuple(shape)
    if k > shape[axis]:
        raise ValueError(f"k = {k} is more than the {shape[axis]} elements along axis {axis}")
    return tuple(k if d == axis % len(shape) else n for d, n in enumerate(shape))


def _joined(fn):
    def shape(shapes, static):
        try:
            return np.shape(fn([np.broadcast_to(np.zeros(()), s) for s in shapes], *static[0]))
        except (IndexError, TypeError, ValueError) as exc:  # np.exceptions.AxisError is both
            raise ValueError(str(exc)) from None
    return shape


stack = _joined(lambda arrays, axis: np.stack(arrays, axis))
joined = _joined(lambda arrays, how: getattr(np, how)(arrays))
concatenate = _joined(lambda arrays, axis: np.concatenate(arrays, axis))
unstack = _joined(lambda arrays, axis, i, n: np.take(arrays[0], i, axis))


def concat_part(shapes, static) -> tuple:
    """The shape of array i of a concatenation (g's first, then the arrays')."""
    return shapes[1 + static[0][1]]
broadcast_to = _moved(lambda x, sizes: np.broadcast_to(x, resolved(sizes, np.shape(x))))
squeeze = _moved(lambda x, axes: np.squeeze(x, axes))
expand_dims = _moved(lambda x, axes: np.expand_dims(x, axes))
permute = _moved(lambda x, order: np.transpose(x, order))
swapaxes = _moved(np.swapaxes)
moveaxis = _moved(np.moveaxis)
flip = _moved(lambda x, axes: np.flip(x, axes))


# ---- contractions (derivgen/ops/contractions.py) -----------------------------------------------
def _letter_axes(term: str, shape: tuple) -> tuple[list, tuple]:
    """(letter, size) of each lettered axis of an operand of np.einsum, and the sizes its
    ellipsis stands for; ValueError where its rank does not fit its subscripts."""
    letters = term.replace("...", "")
    if "..." not in term:
        if len(shape) != len(letters):
            raise ValueError(f"einsum: subscripts '{term}' name {len(letters)} axes, the operand has {len(shape)}")
        return list(zip(letters, shape)), ()
    extra = len(shape) - len(letters)
    if extra < 0:
        raise ValueError(f"einsum: subscripts '{term}' name {len(letters)} axes, the operand has {len(shape)}")
    before = term.index("...")
    sizes = shape[:before] + shape[before + extra:]
    return list(zip(letters, sizes)), shape[before:before + extra]


def einsum(shapes, static) -> tuple:
    """np.einsum's shape: the output letters' sizes (a size 1 stretched to another operand's),
    the ellipsis standing for its operands' ellipses broadcast together."""
    inputs, output = static[0][0].split("->")
    sizes: dict[str, int] = {}
    ellipsis: tuple = ()
    for term, shape in zip(inputs.split(","), shapes):
        axes, dots = _letter_axes(term, tuple(shape))
        own: dict[str, int] = {}
        for letter, n in axes:
            if own.setdefault(letter, n) != n:
                raise ValueError(f"einsum: the axes of '{letter}' in '{term}' have sizes {own[letter]} and {n}")
            known = sizes.get(letter, 1)
            if n != known and 1 not in (n, known):
                raise ValueError(f"einsum: '{letter}' has sizes {known} and {n}")
            sizes[letter] = max(n, known) if 1 in (n, known) else n
        ellipsis = tuple(np.broadcast_shapes(ellipsis, dots))
    before, _, after = output.partition("...")
    return (*(sizes[c] for c in before), *(ellipsis if "..." in output else ()), *(sizes[c] for c in after))


def tensordot_pairs(axes, ra: int, rb: int) -> tuple[list, list]:
    """The axes of a and of b that np.tensordot(a, b, axes) sums against each other (axes:
    a count, a pair of tuples, or "inner", np.inner's last axes), for operands of these ranks."""
    if axes == "inner":
        return ([ra - 1], [rb - 1]) if ra and rb else ([], [])
    if isinstance(axes, int):
        if axes > min(ra, rb):
            raise ValueError(f"tensordot: {axes} axes to sum, the operands have {ra} and {rb}")
        return list(range(ra - axes, ra)), list(range(axes))
    pairs = []
    for side, rank in zip(axes, (ra, rb)):
        if any(not -rank <= a < rank for a in side):
            raise ValueError(f"tensordot: axes {side} are out of range for {rank} dimensions")
        pairs.append([a % rank for a in side])
    return pairs[0], pairs[1]


def tensordot(shapes, static) -> tuple:
    """np.tensordot's shape (np.inner's): a's axes not summed, then b's."""
    a, b = (tuple(s) for s in shapes)
    on_a, on_b = tensordot_pairs(static[0][0], len(a), len(b))
    for i, j in zip(on_a, on_b):
        if a[i] != b[j]:
            raise ValueError(f"tensordot: the sizes {a[i]} and {b[j]} summed against each other differ")
    return (*(n for i, n in enumerate(a) if i not in on_a), *(n for j, n in enumerate(b) if j not in on_b))


def kron(shapes, static=()) -> tuple:
    """np.kron's: the shapes (the shorter padded with leading 1s) multiplied axis by axis."""
    a, b = (tuple(s) for s in shapes)
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    return tuple(m * n for m, n in zip(a, b))


def contraction_grad(shapes, static) -> tuple:
    """A contraction's gradient with respect to operand k (the static arguments' last): that
    operand's shape (g's comes first)."""
    return tuple(shapes[1 + static[0][-1]])


def join_part(shapes, static) -> tuple:
    """The shape of array i of np.hstack and its kin (g's first, then the arrays')."""
    return shapes[1 + static[0][1]]



def split_part(shapes, static) -> tuple:
    """The shape of part i of np.split (np.array_split: NumPy's own rule, on an array holding
    no memory), of torch.split with a list of sizes, or of torch.chunk."""
    kind, arg, i, axis = static[0]
    x = np.broadcast_to(np.zeros(()), shapes[0])
    try:
        if kind in ("split", "array_split"):
            return np.shape(getattr(np, kind)(x, list(arg) if isinstance(arg, tuple) else arg, axis)[i])
        n = np.shape(x)[axis]
    except (IndexError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    if kind == "sizes":
        if sum(arg) != n:
            raise ValueError(f"split: sizes {list(arg)} add up to {sum(arg)}, the dimension has {n}")
        size = arg[i]
    else:  # torch.chunk: parts of ceil(n / chunks) elements, as many as that takes
        step = -(-n // arg)
        if i and i * step >= n:
            raise ValueError(f"chunk: {n} elements make fewer than {arg} chunks")
        size = min(step, n - i * step)
    shape = list(np.shape(x))
    shape[axis] = size
    return tuple(shape)
