"""Run-time helpers of the NumPy path, copied into the generated modules that call them.

Each top-level ``_name`` definition is one helper (key ``name``). A generated module gets
the definitions its code calls, plus the ones those call, in this file's order, with
``np``, ``math`` and the helpers' names renamed to the module's spellings (an input may
take one of them). Everything a helper reads must be a builtin, ``np``, ``math``, another
helper, or ``INPUTS``, which every generated module defines. ``_Blocks.size`` is also
the block size the compiler plans with (``derivgen.blocking.BLOCK_SIZE``).
"""

import math

import numpy as np

# The generated module's input names, which _as_real's errors name (each module has its own).
INPUTS: tuple[str, ...] = ()


def _as_arrays(*values):
    """The inputs as NumPy arrays.

    Python numbers (and integer arrays) take the floating dtype of the
    floating-point array inputs, float64 if there are none, the way PyTorch
    treats 0-d tensors: a float32 model stays float32.
    """
    dtype, mixed = None, False
    for v in values:  # one pass; a call on small arrays costs about what its arithmetic does
        if (type(v) is np.ndarray or isinstance(v, np.generic)) and v.dtype.kind == "f":
            if dtype is None:
                dtype = v.dtype
            elif v.dtype != dtype:
                mixed = True
    if mixed:
        typed = (np.ndarray, np.generic)
        floats = [v.dtype for v in values if isinstance(v, typed) and v.dtype.kind == "f"]
        dtype = np.result_type(*floats)
    elif dtype is None:
        dtype = np.float64
    return [v if type(v) is np.ndarray and v.dtype.kind == "f"
            else np.asarray(v) if isinstance(v, np.generic) and v.dtype.kind == "f"
            else _as_real(v, dtype, i, len(values)) for i, v in enumerate(values)]


def _as_real(v, dtype, index, count):
    """A number or array that is not floating-point as an array of ``dtype``; anything
    that is not real numbers (None, a string, a date, a complex number) is an error that
    names the argument, never a silent nan or a parsed string."""
    kind = getattr(v, "dtype", None)
    kind = kind.kind if kind is not None else None
    if kind is None and not isinstance(v, (bool, int, float)):
        try:
            kind = np.asarray(v).dtype.kind
        except (TypeError, ValueError) as exc:
            kind = f"not an array ({exc})"
    if kind not in (None, "b", "i", "u", "f"):
        names = INPUTS + ("grad_output",) * (count - len(INPUTS))
        what = {"c": "complex numbers", "M": "dates", "m": "time deltas", "U": "strings",
                "S": "bytes", "O": "Python objects"}.get(kind, kind)
        got = (f"an array of {what}" if isinstance(v, np.ndarray) else "None" if v is None
               else f"{type(v).__name__} {v!r:.40}")
        raise TypeError(f"{names[index]}: expected a real number or an array of real numbers, "
                        f"got {got}")
    return np.asarray(v, dtype)


def _as_positions(p, name):
    """An input holding positions (it indexes an array: x[t]) as an array of integers.
    Integer arrays and Python ints pass as they are; floats only where every one is a whole
    number (a label array loaded as float64); anything else is an error naming the argument."""
    kind = getattr(p, "dtype", None)
    if kind is not None and kind.kind in "iu":
        return p
    try:
        a = np.asarray(p)
    except (TypeError, ValueError) as exc:
        what = f"{type(p).__name__} ({exc})"
    else:
        if a.dtype.kind in "iu":
            return a
        if a.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(a) & (a == np.round(a))
            if np.all(whole):
                return a.astype(np.intp)
            bad = float(a.flat[np.argmin(whole)])
            what = f"{bad!r} (indexes are whole numbers)"
        elif a.dtype.kind == "b":
            what = "booleans (a mask selects, it holds no positions)"
        else:
            what = f"dtype {a.dtype}"
    raise TypeError(f"{name}: expected integer positions, got {what}")


def _unbroadcast(g, shape, full=None, owned=False):
    """g as an array of this shape.

    g may be smaller than the array it stands for (broadcasting stretches it where it is
    used): it is first broadcast to full, that array's shape, then summed over the axes
    broadcasting added or stretched, or broadcast up (as a view) where g is smaller.
    owned=True (a gradient returned to the caller) makes such a view an array of its own.
    Here and below, getattr(g, "shape", ()) is np.shape(g) for arrays, NumPy scalars and
    Python numbers, without np.shape's dispatch (a quarter of its time on small arrays).
    """
    if shape == () and full is None and type(g) is np.ndarray:
        return g.sum()  # to a single number: the common case, without the general steps' calls
    if full is not None and getattr(g, "shape", ()) != full:
        extra = np.ndim(g) - len(full)
        if extra > 0 and all(n == 1 for n in g.shape[:extra]):
            # Leading axes of size 1 that full lacks: a reduction along axis 0 of a single
            # number (NumPy's sum(x, axis=0) of a 0-d x is x), restored as if it had one.
            g = g.reshape(g.shape[extra:])
        g = np.broadcast_to(g, full)
    if getattr(g, "shape", ()) != shape:
        stretched = np.broadcast_shapes(getattr(g, "shape", ()), shape)
        if stretched != shape:
            g = np.broadcast_to(g, stretched)
            lead = g.ndim - len(shape)
            axes = tuple(range(lead)) + tuple(
                lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
            )
            g = np.sum(g, axis=axes).reshape(shape)
        if getattr(g, "shape", ()) != shape:
            g = np.broadcast_to(g, shape)
    if owned and not np.asarray(g).flags.writeable:
        g = np.array(g)
    return g


def _sigmoid(z, in_place=False):
    """1 / (1 + exp(-z)), exact to rounding for every z.

    On ordinary inputs this is the naive formula, computed in one new array (none with
    in_place=True: z is a new array that nothing else holds, and is written over). Where
    exp(-z) would overflow (z < -709 in float64), sigmoid(z) = exp(z) / (1 + exp(z)) is
    exp(z) to working precision (a subnormal, or 0): those elements take exp(z).
    """
    e = np.negative(z, out=z if in_place and type(z) is np.ndarray else None)
    if type(e) is np.ndarray and e.size and e.dtype.kind == "f" \
            and e.max() < math.log(np.finfo(e.dtype).max) - 1:  # false for a nan too
        np.exp(e, out=e)
        e += 1
        return np.divide(1, e, out=e)
    with np.errstate(over="ignore"):
        t = np.exp(e)
    return np.where(np.isinf(t), np.exp(np.minimum(-e, 0)), 1 / (1 + t))[()]


def _softplus(z):
    """log(1 + exp(z)), exact to rounding for every z: log1p keeps the tiny values of
    large negative z, and where exp(z) overflows softplus(z) is z to working precision."""
    with np.errstate(over="ignore"):
        out = np.log1p(np.exp(z))
    overflow = np.isinf(out) & np.isfinite(z)
    if overflow.any():
        out = np.where(overflow, z, out)
    return out


def _logaddexp(a, b):
    """log(exp(a) + exp(b)) as max(a, b) + log1p(exp(-|a - b|)), without overflow."""
    d = a - b
    out = np.maximum(a, b) + np.log1p(np.exp(-np.abs(d)))
    if np.isnan(d).any():  # equal infinities (or a nan): a + b is the answer there
        out = np.where(d == d, out, a + b)
    return out


def _sigmoid_parts(z):
    """(sigmoid(z), sigmoid(-z)) from one exp(-z): the gradient of sigmoid needs both.

    On ordinary inputs this is the naive formula, as cheap as it gets (two new arrays).
    It is exact to rounding wherever exp(-z) does not overflow (an underflow to a
    subnormal or 0 is the true sigmoid(-z) to working precision); an overflow (z < -709)
    or an infinite z raises a floating-point flag, and then every element takes the
    forms exact there.
    """
    e = -z  # a new array, updated in place below (a NumPy scalar if z is 0-d)
    arrays = type(e) is np.ndarray
    try:
        with np.errstate(over="raise", invalid="raise"):
            e = np.exp(e, out=e if arrays else None)
            s = e + 1
            s = np.divide(1, s, out=s if arrays else None)
            return s, np.multiply(e, s, out=e if arrays else None)
    except FloatingPointError:
        return _sigmoid(z), _sigmoid(-z)


def _softplus_parts(z):
    """(softplus(z), sigmoid(z)) from one exp(z): softplus' = sigmoid.

    log1p keeps the tiny values of large negative z. Where exp(z) overflows (z > 709) or
    z is +inf (inf / inf), a floating-point flag sends every element to the forms exact
    there: softplus(z) is z to working precision, sigmoid(z) is 1.
    """
    try:
        with np.errstate(over="raise", invalid="raise"):
            e = np.exp(z)
            return np.log1p(e), e / (1 + e)
    except FloatingPointError:
        return _softplus(z), _sigmoid(z)


def _logaddexp_parts(a, b):
    """(logaddexp(a, b), sigmoid(a - b), sigmoid(b - a)) from exp(a) and exp(b).

    The naive log(exp(a) + exp(b)) and its gradient exp(a) / (exp(a) + exp(b)) are exact
    to rounding while both exps are normal numbers, their sum is finite and its log is not
    near 0 (there the sum's rounding is all of a small result's digits: 1 + 5.8e-20 is 1).
    An overflow, an underflow (a weight would lose its digits), log(0) or inf / inf raises a
    floating-point flag, and then every element takes the max-shifted forms; a log near 0
    (below 1/64, where more than 6 of its bits would be lost) is recomputed in that form.
    """
    try:
        with np.errstate(over="raise", under="raise", divide="raise", invalid="raise"):
            ea = np.exp(a)
            eb = np.exp(b)
            s = ea + eb
            # In place where the arrays are this helper's own and of the result's shape
            # (exp of a 0-d array is a NumPy scalar): fewer fresh pages to touch.
            own = isinstance(s, np.ndarray)
            wa = np.divide(ea, s, out=ea if own and ea.shape == s.shape else None)
            wb = np.divide(eb, s, out=eb if own and eb.shape == s.shape else None)
            out = np.log(s, out=s if own else None)
    except FloatingPointError:
        return _logaddexp(a, b), _sigmoid(a - b), _sigmoid(b - a)
    if own and out.size:
        near = np.abs(out) < 0.015625  # 1/64: fewer than 6 bits of the result would be lost
        if near.any():
            out[near] = _logaddexp(*(x[near] for x in np.broadcast_arrays(a, b)))
    elif not own and abs(out) < 0.015625:
        out = _logaddexp(a, b)
    return out, wa, wb


def _exp_shift(x, axis=None, keepdims=False):
    """(exp(x - m), m) for a stable logsumexp or softmax over axis; m has the shape of the
    reduction (keepdims as given) and cancels exactly, so no gradient flows through it.

    m = 0 where that is exact: the largest element below log(the dtype's largest number)
    less log(the number of elements) (709 - 14 for a million float64s, 88.7 - 14 for
    float32s), so no exp and no sum of them overflows, and above half the log of its
    smallest normal number (-354, -43.7), so that a gradient dividing by the sum does not
    overflow (exp(-86) is a float32, but 260 / exp(-86) is not), with no exp underflowing
    (an underflow raises a flag: a small weight would lose its digits). Otherwise m = max(x)
    (0 where that is not finite), which costs one more pass over x.
    """
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    dtype = getattr(x, "dtype", None)
    dtype = dtype if dtype is not None and dtype.kind == "f" else np.float64
    info = np.finfo(dtype)
    limit = math.log(info.max) - math.log(np.size(x) + 1) - 1
    if np.all((m < limit) & (m > 0.5 * math.log(info.smallest_normal))):
        try:
            with np.errstate(under="raise"):
                return np.exp(x), 0.0
        except FloatingPointError:
            pass
    m = np.where(np.isfinite(m), m, 0)
    return np.exp(x - m), m if keepdims else np.squeeze(m, axis=axis)


def _sum_product(a, b):
    """np.sum(a * b): a dot product where a and b have one shape (no array for a * b)."""
    # (Not for a Python number: vdot would make it a float64 array, and float32 a float64.)
    if (getattr(a, "shape", ()) == getattr(b, "shape", ())
            and type(a) not in (float, int) and type(b) not in (float, int)):
        return np.vdot(a, b)
    return np.sum(a * b)


def _mean_product(a, b):
    """np.mean(a * b): a dot product where a and b have one shape (no array for a * b)."""
    if (getattr(a, "shape", ()) == getattr(b, "shape", ()) and getattr(a, "size", 1)
            and type(a) not in (float, int) and type(b) not in (float, int)):
        return np.vdot(a, b) / getattr(a, "size", 1)
    return np.mean(a * b)


def _unbroadcast_product(a, b, shape, full=None, owned=False):
    """_unbroadcast(a * b, shape, full, owned): a dot product where the product is
    summed to a single number and a, b (and full) have one shape."""
    a_shape = getattr(a, "shape", ())
    if (shape == () and a_shape == getattr(b, "shape", ()) == (full or a_shape)
            and type(a) not in (float, int) and type(b) not in (float, int)):
        return np.vdot(a, b)
    return _unbroadcast(a * b, shape, full, owned)


def _in_place(ufunc, x):
    """ufunc(x) written over x, a new array that nothing else holds: one allocation fewer.
    A single number (or an array that is not floating point) is computed as usual."""
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return ufunc(x, out=x)
    return ufunc(x)


def _scaled(x, g):
    """x * g, a gradient times grad_output: x itself where g is 1 (the default), a pass
    over x fewer."""
    return x if g.ndim == 0 and g.item() == 1 else x * g  # g: grad_output, as an array


def _sech2(z):
    """sech(z)**2 = 4e/(1 + e)**2 with e = exp(-2|z|): tanh's derivative from one exp, exact
    where 1 - tanh(z)**2 would cancel, and free of overflow."""
    e = -2 * np.abs(z)  # a new array (a NumPy scalar if z is 0-d), updated in place
    e = np.exp(e, out=e if type(e) is np.ndarray else None)
    d = e + 1
    d *= d
    e *= 4
    e /= d
    return e


def _live(cond, x):
    """cond in the shape of x: true where cond is at any position x is broadcast to (where
    a value is needed by any of the wheres that read it, broadcasting along their axes)."""
    shape, cond = np.shape(x), np.asarray(cond)
    if cond.shape == shape:
        return cond
    full = np.broadcast_shapes(cond.shape, shape)
    lead = len(full) - len(shape)
    cond = np.broadcast_to(cond, full)
    if lead:
        cond = np.any(cond, axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and cond.shape[i] != 1)
    return np.any(cond, axis=axes, keepdims=True) if axes else cond


def _masked(values, keep, in_place=False):
    """np.where(keep, values, 0), as a product with the mask (np.where is ten times
    slower on an unpredictable mask); an inf or nan where keep is false needs np.where.

    in_place=True: values is a new array nothing else holds, so the product is written
    over it where it has the result's shape (where keep is true it is unchanged).
    """
    fits = (in_place and type(values) is np.ndarray
            and getattr(keep, "shape", ()) in ((), values.shape))
    out = np.multiply(values, keep, out=values if fits else None)
    total = out.sum()
    if total != total:  # nan: an element is nan (or an inf - inf)
        return np.where(keep, values, 0)
    # A negative value times False is -0.0, which np.where gives as +0.0: arctan2 and
    # division tell them apart (1 / where(c, x, 0) is +inf where c is false). x + 0.0 is x
    # for every other x, and +0.0 for -0.0.
    if type(out) is np.ndarray and out.dtype.kind == "f":
        return np.add(out, 0.0, out=out)
    return out + 0.0  # a float, also where values is an integer: where(c, 1, 0) is 1.0 or 0.0


def _erf(x):
    """The error function, elementwise (NumPy has none; math.erf is exact to rounding)."""
    x = np.asarray(x)
    return np.vectorize(math.erf, otypes=[x.dtype])(x)[()]


def _ndtr(x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2, the standard normal distribution function, elementwise:
    erfc (math's, exact to rounding; NumPy has none) keeps the tiny values of the far negative
    side, which 1 + erf(x / sqrt(2)) cancels to 0. In x's floating dtype."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    out = np.frompyfunc(math.erfc, 1, 1)(x.astype(np.float64) * -0.7071067811865476)
    return (np.asarray(out, np.float64) * 0.5).astype(dtype)[()]


def _tanhshrink(x):
    """x - tanh(x), exact to rounding. Below |x| = 1, where the difference (x**3 / 3 near 0)
    cancels, it is x * y / (1 + y), with tanh(x) = x / (1 + y) and y = x**2 / (3 + x**2 / (5 +
    ...)), Lambert's continued fraction of tanh, which has converged by its ninth level there."""
    out = x - np.tanh(x)
    small = np.abs(x) < 1
    if np.any(small):
        s = np.square(x)
        t = s / 19 + 17
        for k in (15, 13, 11, 9, 7, 5, 3):
            t = s / t + k
        y = s / t
        out = np.where(small, x * y / (1 + y), out)[()]
    return out


def _max_shift(x, axis=None, keepdims=False):
    """max(x) over axis, 0 where that is not finite: subtracted before exp, it keeps exp
    from overflowing, and since it cancels exactly no gradient flows through it."""
    m = np.max(x, axis=axis, keepdims=keepdims, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0)


def _logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over axis, shifted by the maximum so exp cannot overflow."""
    shift = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return _lse_refine(out if keepdims else np.squeeze(out, axis=axis), x, axis, keepdims)


def _lse_refine(value, x, axis=None, keepdims=False):
    """logsumexp(x) over axis, given its value: recomputed where that is near 0.

    There log(s) of a sum s near 1 (or m + log(s) with a small max m) has lost the digits
    of a small result to the sum's rounding: log(exp(1e-8)) is 1e-8 to 8 digits only.
    The exact form is m + log1p(r), m the max, r the sum of exp(x - m) over the other
    elements (a tie with the max adds 1): nothing there rounds against 1.
    """
    near = np.abs(value) < 0.015625  # 1/64: fewer than 6 bits of the result would be lost
    if not np.any(near):
        return value
    with np.errstate(all="ignore"):  # rows with an infinite max are not recomputed
        m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        top = x == m
        rest = np.sum(np.where(top, 0, np.exp(x - m)), axis=axis, keepdims=True)
        rest = rest + (np.sum(top, axis=axis, keepdims=True) - 1)
        exact = m + np.log1p(rest)
    if not keepdims:
        exact = exact.reshape(np.shape(value))
    return np.where(near, exact.astype(getattr(value, "dtype", exact.dtype), copy=False), value)[()]


def _bad_grad_output(g, shape):
    """grad_output of neither the output's shape nor a single number: an error."""
    raise ValueError(f"grad_output has shape {g.shape}, but the output has shape {tuple(shape)}: "
                     "pass an array of the output's shape, or a single number")


def _reduced_count(inner, outer):
    """The count a mean along axes divides by: the size of its operand's shape over its
    value's. Where the operand is empty its gradient is empty too, and any count will do (1,
    rather than 0 // 0)."""
    size = math.prod(inner)
    return size // math.prod(outer) if size else 1


def _typed(value, *like, shaped=False):
    """``value`` in the floating dtype of the inputs ``like`` (already arrays): a where
    between numbers is int64 or float64 whatever the inputs, a constant has no dtype.
    shaped=True: a gradient, in its input's shape (a reduction along axis -1 of a 0-d input
    gives it a dimension of size 1)."""
    if shaped and getattr(value, "shape", ()) != like[0].shape:
        value = np.reshape(value, like[0].shape)
    dtype = like[0].dtype if len(like) == 1 else np.result_type(*like)
    if type(value) is np.ndarray and value.dtype == dtype and value.ndim:
        return value
    return np.asarray(value, dtype)[()]  # a 0-d result as a NumPy scalar


def _dot_grad_a(g, a, b):
    """d np.dot(a, b)/da applied to g. np.dot sums a's last axis against b's second-to-last
    (its only axis for a vector), and its result has a's other axes, then b's:
    da = tensordot(g, b) over b's other axes."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:  # dot with a scalar is a product
        return _unbroadcast(g * b, getattr(a, "shape", ()))
    rest = [i for i in range(np.ndim(b)) if i != max(np.ndim(b) - 2, 0)]
    return np.tensordot(g, b, axes=(list(range(np.ndim(g) - len(rest), np.ndim(g))), rest))


def _dot_grad_b(g, a, b):
    """d np.dot(a, b)/db applied to g: tensordot(a, g) over a's other axes, with the summed
    axis put back second-to-last (last for a vector b)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, getattr(b, "shape", ()))
    lead = list(range(np.ndim(a) - 1))
    grad = np.tensordot(a, g, axes=(lead, lead))
    return np.moveaxis(grad, 0, -2) if np.ndim(b) >= 2 else grad


def _as_matrices(g, a, b):
    """Operands of a @ b promoted to at least 2-D, as matmul does, with g to match."""
    a2 = a[np.newaxis, :] if np.ndim(a) == 1 else a
    b2 = b[:, np.newaxis] if np.ndim(b) == 1 else b
    # b's axis first: for vector @ vector g is 0-d and becomes (1, 1).
    if np.ndim(b) == 1:
        g = np.expand_dims(g, -1)
    if np.ndim(a) == 1:
        g = np.expand_dims(g, -2)
    return g, a2, b2


def _matmul_grad_a(g, a, b):
    """d(a @ b)/da applied to g: g @ b.T, summed back to a's shape."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:  # dot with a scalar is a product
        return _unbroadcast(g * b, getattr(a, "shape", ()))
    g2, a2, b2 = _as_matrices(g, a, b)
    grad = g2 @ np.swapaxes(b2, -1, -2)
    if np.ndim(a) == 1:
        grad = grad[..., 0, :]
    return _unbroadcast(grad, getattr(a, "shape", ()))


def _matmul_grad_b(g, a, b):
    """d(a @ b)/db applied to g: a.T @ g, summed back to b's shape."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, getattr(b, "shape", ()))
    g2, a2, b2 = _as_matrices(g, a, b)
    grad = np.swapaxes(a2, -1, -2) @ g2
    if np.ndim(b) == 1:
        grad = grad[..., 0]
    return _unbroadcast(grad, getattr(b, "shape", ()))


def _index_grad(g, x, index):
    """The gradient of x[index]: zeros of x's shape with g written in at the positions read;
    where a list or an array of positions names one twice, both adjoints are added (np.add.at)."""
    out = np.zeros(np.shape(x), dtype=np.result_type(x, g))
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, (list, np.ndarray)) for item in items):
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


def _flatten(x, start, end):
    """x with axes start..end (inclusive) as one, as torch.flatten(x, start, end)."""
    ndim = np.ndim(x)
    if ndim == 0:
        return np.reshape(x, (1,))
    start, end = start % ndim, end % ndim
    if start > end:
        raise ValueError(f"flatten: start_dim {start} comes after end_dim {end}")
    return np.reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])


def _first_hit(hit, axis=None, keepdims=False):
    """True at the first true element of hit (a condition) along axis, where torch.max(x, dim)
    sends the gradient (the index it returns), False elsewhere: a bool array, which a gradient
    is multiplied by in its own dtype. keepdims is the reduction's, and changes nothing."""
    hit = np.asarray(hit)
    first = np.zeros(hit.shape, dtype=bool)
    np.put_along_axis(first, np.argmax(hit, axis=axis, keepdims=True), True, axis=axis)
    return first & hit


def _check(holds, message, error=AssertionError):
    """A check of sizes (an assert of the source, or the count of arrays unpacked): raises
    ``error`` where it does not hold, as Python or NumPy would."""
    if not holds:
        raise error(message)


def _sizes(x, rank):
    """x's shape, which must have ``rank`` sizes, as unpacking ``n, d = x.shape`` requires."""
    shape = np.shape(x)
    if len(shape) != rank:
        raise ValueError(f"cannot unpack the {len(shape)} sizes of a shape {shape} into {rank} names")
    return shape


def _gather_leading(x, index, axis):
    """PyTorch's torch.gather(x, axis, index): np.take_along_axis of the part of x that index
    covers along the other axes (their first index.shape[d] elements)."""
    return np.take_along_axis(x[_leading_part(x, index, axis)], index, axis)


def _leading_part(x, index, axis):
    """The slices of x PyTorch's gather reads: all of axis, the first index.shape[d] elements
    of every other axis d; an error where index is longer there, or of another rank."""
    shape, wanted = np.shape(x), np.shape(index)
    if len(wanted) != len(shape):
        raise ValueError(f"gather: index has {len(wanted)} dimensions, the array {len(shape)}")
    axis = axis % len(shape) if shape else axis
    if any(k > n for d, (n, k) in enumerate(zip(shape, wanted)) if d != axis):
        raise ValueError(f"gather: index of shape {wanted} is larger than the array {shape} off dimension {axis}")
    return tuple(slice(None) if d == axis else slice(0, k) for d, k in enumerate(wanted))


def _take_along_grad(g, x, indices, axis, leading=False):
    """The gradient of np.take_along_axis(x, indices, axis) (leading=True: of PyTorch's gather):
    zeros of x's shape with g added in at the positions read, twice where one repeats."""
    out = np.zeros(np.shape(x), dtype=np.result_type(x, g))
    part = out[_leading_part(out, indices, axis)] if leading else out  # a view of out
    axis = axis % part.ndim if part.ndim else axis
    at = tuple(indices if d == axis else np.arange(n).reshape((-1,) + (1,) * (part.ndim - 1 - d))
               for d, n in enumerate(part.shape))
    np.add.at(part, at, np.broadcast_to(g, np.broadcast_shapes(*(np.shape(a) for a in at))))
    return out


def _diagonal_grad(g, x, offset, axis1, axis2):
    """The gradient of np.diagonal(x, offset, axis1, axis2): zeros of x's shape with g, whose
    last axis runs along the diagonal, written on it."""
    out = np.zeros(np.shape(x), dtype=np.result_type(x, g))
    plane = np.moveaxis(out, (axis1, axis2), (-2, -1))  # a view of out: the two axes last
    i = np.arange(np.shape(g)[-1])
    plane[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out



def _tri_grad(g, x, k, upper):
    """The gradient of np.tril(x, k) (np.triu where upper): g's triangle, its rows added up
    where x is a vector (NumPy's tril of one is the matrix with it in every row)."""
    part = np.triu(g, k) if upper else np.tril(g, k)
    return np.sum(part, axis=0) if np.ndim(x) == 1 else part

def _tile_grad(g, x, reps):
    """The gradient of np.tile(x, reps): g's blocks added up, of x's shape. reps and x's
    shape are aligned at their last axes (the shorter one counted as ones in front)."""
    shape = np.shape(x)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    n = max(len(shape), len(reps))
    shape1 = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    blocks = np.reshape(g, [k for pair in zip(reps, shape1) for k in pair])  # (r0, n0, r1, n1, ...)
    return np.reshape(np.sum(blocks, axis=tuple(range(0, 2 * n, 2))), shape)


def _repeat_grad(g, x, repeats, axis=None):
    """The gradient of np.repeat(x, repeats, axis): each element's copies in g added up (of
    the flattened x where there is no axis), of x's shape."""
    shape = np.shape(x)
    if axis is None:
        return np.reshape(np.sum(np.reshape(g, (-1, repeats)), axis=1), shape)
    axis = axis % len(shape)
    copies = np.reshape(g, shape[:axis + 1] + (repeats,) + shape[axis + 1:])
    return np.sum(copies, axis=axis + 1)


def _pad_last(x, pairs, value=0.0):
    """PyTorch's F.pad(x, pairs, value=value): pairs (before, after) from the last axis
    backwards."""
    k, n = len(pairs) // 2, np.ndim(x)
    if k > n:
        raise ValueError(f"pad: {len(pairs)} sizes pad {k} dimensions, the array has {n}")
    widths = [(0, 0)] * (n - k) + [(pairs[2 * i], pairs[2 * i + 1]) for i in reversed(range(k))]
    return np.pad(x, widths, constant_values=value)


def _unpad(g, widths, last):
    """The gradient of a pad: the part of g inside the border (widths as np.pad takes them,
    or PyTorch's pairs from the last axis where last is true)."""
    n = np.ndim(g)
    if last:
        k = len(widths) // 2
        pairs = [(0, 0)] * (n - k)
        pairs += [(widths[2 * i], widths[2 * i + 1]) for i in reversed(range(k))]
    else:
        pairs = np.broadcast_to(np.asarray(widths, dtype=np.intp), (n, 2)).tolist()
    return g[tuple(slice(b, m - a) for (b, a), m in zip(pairs, np.shape(g)))]


def _einsum_grad(g, subscripts, k, *operands):
    """The gradient of np.einsum(subscripts, *operands) with respect to operands[k], for the
    adjoint g of its result (subscripts with the output written out). The contraction of g
    with the other operands onto operand k's letters (each once), summed over the axes it was
    broadcast along (an ellipsis of fewer axes, a size 1 against a larger one), stretched along
    the letters only it has (summed out), and written on the diagonal of a repeated letter."""
    inputs, output = subscripts.replace("...", ".").split("->")  # "." marks an ellipsis
    terms = inputs.split(",")
    x, term = operands[k], terms[k]
    shape = np.shape(x)
    letters = term.replace(".", "")
    dots = len(shape) - len(letters)  # the axes x's ellipsis stands for
    unique = "".join(dict.fromkeys(term))
    others = [t for i, t in enumerate(terms) if i != k]
    read = set(output + "".join(others))
    kept = "".join(c for c in unique if c == "." or c in read)
    wide = "." in output or any("." in t for t in others)
    extra = wide and "." not in kept  # an ellipsis x lacks: its axes are summed away below
    spec = ",".join([output, *others]) + "->" + ("." if extra else "") + kept
    rest = [o for i, o in enumerate(operands) if i != k]
    part = np.asarray(np.einsum(spec.replace(".", "..."), g, *rest))
    ellipsis = part.ndim - len(kept.replace(".", ""))  # the axes the result's ellipsis has
    at = kept.index(".") if "." in kept else 0
    if extra or ellipsis > dots:  # leading axes broadcasting gave x's ellipsis
        drop = ellipsis if extra else ellipsis - dots
        part = part.sum(axis=tuple(range(at, at + drop)))
    # The axes of the term's letters, each once (the ellipsis x's): sizes read off x, and the
    # letters only x has restored as axes of size 1.
    target, axis, first = [], 0, {}
    for c in term:
        if c == ".":
            axis += dots
        else:
            first.setdefault(c, axis)
            axis += 1
    sizes, axes = [], iter(part.shape)
    start = term.index(".") if "." in term else 0
    for c in unique:
        if c == ".":
            target += shape[start:start + dots]
            sizes += [next(axes) for _ in range(dots)]
        else:
            target.append(shape[first[c]])
            sizes.append(next(axes) if c in kept else 1)
    part = part.reshape(sizes)
    stretched = tuple(i for i, (n, m) in enumerate(zip(target, sizes)) if n == 1 and m != 1)
    if stretched:  # a size 1 of x against a larger one
        part = part.sum(axis=stretched, keepdims=True)
    if len(unique) == len(term):  # no letter repeated: x's own axes, in order
        out = part if part.shape == shape else np.array(np.broadcast_to(part, shape))
    else:  # np.einsum's view of the diagonal of zeros like x, written on
        out = np.zeros(shape, part.dtype)
        np.einsum((term + "->" + unique).replace(".", "..."), out)[...] = part
    return out if out.ndim else out[()]


def _tensordot_subscripts(ra, rb, axes):
    """np.tensordot(a, b, axes) (np.inner(a, b) for axes "inner") of arrays of ranks ra and rb,
    as np.einsum's subscripts."""
    if axes == "inner":
        axes = ((ra - 1,), (rb - 1,)) if ra and rb else 0
    if isinstance(axes, int):
        axes = (tuple(range(ra - axes, ra)), tuple(range(axes)))
    on_a, on_b = [a % ra for a in axes[0]], [b % rb for b in axes[1]]
    names = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    a = [next(names) for _ in range(ra)]
    b = [None] * rb
    for i, j in zip(on_a, on_b):
        b[j] = a[i]
    b = [c or next(names) for c in b]
    out = [c for i, c in enumerate(a) if i not in on_a]
    out += [c for j, c in enumerate(b) if j not in on_b]
    return "".join(a) + "," + "".join(b) + "->" + "".join(out)


def _tensordot_grad(g, a, b, axes, k):
    """The gradient of np.tensordot(a, b, axes) (np.inner's: axes "inner") with respect to a
    (k = 0) or b (k = 1): that of the einsum it is."""
    return _einsum_grad(g, _tensordot_subscripts(np.ndim(a), np.ndim(b), axes), k, a, b)


def _kron_grad(g, a, b, k):
    """The gradient of np.kron(a, b) with respect to a (k = 0) or b (k = 1). np.kron(a, b),
    the shorter shape padded with leading 1s, is the product a[i, j] * b[p, q] with the axes
    (i, p, j, q) reshaped into (i p, j q): the gradient is that einsum's, of g reshaped so."""
    rank = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (rank - np.ndim(a)) + np.shape(a)
    sb = (1,) * (rank - np.ndim(b)) + np.shape(b)
    names = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    la, lb = names[:rank], names[rank:2 * rank]
    pairs = "".join(p + q for p, q in zip(la, lb))
    g = np.reshape(g, tuple(n for pair in zip(sa, sb) for n in pair))
    grad = _einsum_grad(g, la + "," + lb + "->" + pairs, k, np.reshape(a, sa), np.reshape(b, sb))
    grad = np.reshape(grad, np.shape(b if k else a))
    return grad if grad.ndim else grad[()]


def _split_bounds(n, kind, arg, i):
    """Where part i of a split of n elements starts and ends: torch.split's of a list of
    sizes ("sizes"), torch.chunk's ("chunk": parts of ceil(n / chunks) elements), np.split's
    ("split": equal sections, or where the indices given cut) or np.array_split's."""
    if kind == "sizes":
        if sum(arg) != n:
            raise ValueError(f"split: sizes {list(arg)} add up to {sum(arg)}, "
                             f"the dimension has {n}")
        start = sum(arg[:i])
        return start, start + arg[i]
    if kind == "chunk":
        step = -(-n // arg)
        if i and i * step >= n:
            raise ValueError(f"chunk: {n} elements make fewer than {arg} chunks")
        return i * step, min((i + 1) * step, n)
    if isinstance(arg, tuple):  # cut where the indices say, as slices cut
        cut = slice(arg[i - 1] if i else None, arg[i] if i < len(arg) else None)
        start, stop, _ = cut.indices(n)
        return start, max(start, stop)
    if kind == "split" and n % arg:
        raise ValueError(f"split: {n} elements do not split into {arg} equal sections")
    size, extra = divmod(n, arg)  # np.array_split: the first n % sections parts one longer
    start = i * size + min(i, extra)
    return start, start + size + (i < extra)


def _split_part(x, kind, arg, i, axis):
    """Part i of torch.split(x, sizes, axis) (kind "sizes") or of torch.chunk(x, arg, axis)
    (kind "chunk")."""
    start, stop = _split_bounds(np.shape(x)[axis], kind, arg, i)
    index = [slice(None)] * np.ndim(x)
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _split_grad(g, x, kind, arg, i, axis):
    """The gradient of part i of a split of x (np.split, np.array_split, torch.split,
    torch.chunk): zeros like x with g where the part was."""
    out = np.zeros(np.shape(x), dtype=np.result_type(x, g))
    start, stop = _split_bounds(np.shape(x)[axis], kind, arg, i)
    index = [slice(None)] * np.ndim(x)
    index[axis] = slice(start, stop)
    out[tuple(index)] = g
    return out


def _join_part(g, how, i, *parts):
    """The part of g, the adjoint of np.hstack(parts) (how: also "vstack", "column_stack",
    "dstack"), that parts[i] was, of its shape: the parts made 1-, 2- or 3-dimensional as
    NumPy makes them, and the axis it joins them along."""
    if how == "vstack":
        made, axis = [np.atleast_2d(p) for p in parts], 0
    elif how == "dstack":
        made, axis = [np.atleast_3d(p) for p in parts], 2
    elif how == "column_stack":
        made = [np.reshape(p, (-1, 1)) if np.ndim(p) < 2 else p for p in parts]
        axis = 1
    else:  # hstack
        made = [np.atleast_1d(p) for p in parts]
        axis = 0 if made[0].ndim == 1 else 1
    start = sum(np.shape(p)[axis] for p in made[:i])
    index = [slice(None)] * np.ndim(g)
    index[axis] = slice(start, start + np.shape(made[i])[axis])
    return np.reshape(g[tuple(index)], np.shape(parts[i]))
def _shift(x, axis, step, fill):
    """x moved ``step`` places along axis (x[j - step] at j), ``fill`` where no element arrives:
    the running product of the elements before each is np.cumprod moved one place, 1 first."""
    x = np.asarray(x)
    if x.ndim == 0:  # np.cumprod of a number along axis 0 is one element long
        x = np.reshape(x, (1,))
    out = np.full(x.shape, fill, dtype=x.dtype)
    n = x.shape[axis]
    k = min(abs(step), n)
    to, at = [slice(None)] * x.ndim, [slice(None)] * x.ndim
    axis = axis % x.ndim
    if step >= 0:
        to[axis], at[axis] = slice(k, None), slice(0, n - k)
    else:
        to[axis], at[axis] = slice(0, n - k), slice(k, None)
    out[tuple(to)] = x[tuple(at)]
    return out


def _linrec(a, b, axis, reverse=False):
    """The linear recurrence y[j] = a[j] * y[j - 1] + b[j] along axis from y[0] = b[0]
    (reverse: from the last element down, y[j] = a[j] * y[j + 1] + b[j]); a's first (last)
    element is not read. One pass along the axis, each step over all the other axes at once:
    a running product's gradient, with no division by the factors (exact where one is 0)."""
    a, b = (np.reshape(v, (1,)) if np.ndim(v) == 0 else np.asarray(v) for v in (a, b))
    y = np.moveaxis(np.array(b, dtype=np.result_type(a, b)), axis, 0)
    a = np.moveaxis(np.broadcast_to(a, b.shape), axis, 0)
    n = y.shape[0]
    for j in range(n - 2, -1, -1) if reverse else range(1, n):
        y[j] += a[j] * y[j + 1 if reverse else j - 1]
    return np.moveaxis(y, 0, axis)


def _argsort(x, axis, descending=False, k=None):
    """The positions that sort x along axis, ties in their order in x (NumPy's stable
    argsort; descending: the largest first, nan first, as torch.sort puts it), the first k
    of them where k is given (torch.topk's, an error where the axis is shorter)."""
    x = np.asarray(x)
    if descending:  # x flipped, sorted stably, flipped back: equal elements keep their order
        flipped = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
        order = x.shape[axis] - 1 - np.flip(flipped, axis)
    else:
        order = np.argsort(x, axis=axis, kind="stable")
    if k is None:
        return order
    n = x.shape[axis]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for a dimension of size {n}")
    return np.take(order, np.arange(k), axis=axis)


def _diag_grad(g, x, k):
    """The gradient of np.diag(x, k): for a vector x, the k-th diagonal of g (a new array);
    for a matrix x, zeros like x with g on its k-th diagonal."""
    if np.ndim(x) == 1:
        return np.array(np.diagonal(g, k))
    return _diagonal_grad(g, x, k, 0, 1)


def _concat_part(g, axis, i, *parts):
    """The slice of g, the adjoint of np.concatenate(parts, axis), that parts[i] was: its
    offset is the sizes of the parts before it along axis."""
    start = sum(np.shape(p)[axis] for p in parts[:i])
    index = [slice(None)] * np.ndim(g)
    index[axis] = slice(start, start + np.shape(parts[i])[axis])
    return g[tuple(index)]


def _per_element(shape):
    """1/n for a mean over the n elements of an array of this shape; inf where there are
    none, so that the empty sum times it is nan, as NumPy's mean of nothing."""
    n = math.prod(shape)
    return 1 / n if n else math.inf


class _Blocks:
    """The inputs a block of rows at a time, so that one block's temporaries stay in cache.

    Blocks are cut when every input with more than one element has one shape (each other
    input has one element and no more dimensions), at least one input of ``over`` (when
    given) is among those, and that shape holds two blocks or more; otherwise the loop runs once,
    over the whole inputs. total() puts a result together over the blocks: a block of an
    array result is written into its rows of the whole, a sum is added to the others.
    """

    size = 32768  # elements per block (2 or more): a few arrays of a block fit in a core's L2 cache

    def __init__(self, *inputs, over=None):
        self.inputs = inputs
        self.shape = None  # the shape blocks are cut from; None: one pass over the whole inputs
        largest = 0
        for a in inputs:  # small inputs, the common case, return here at the cost of a loop
            largest = max(largest, a.size)
        if largest < 2 * self.size:
            return
        big = [a for a in inputs if a.size != 1]
        if not big or big[0].ndim == 0 or big[0].shape[0] == 0:
            return
        shape = big[0].shape
        if any(a.shape != shape for a in big) or any(a.ndim > len(shape) for a in inputs):
            return  # broadcasting between arrays: rows of one are not rows of the others
        if over is not None and all(a.size == 1 for a in over):
            return  # a sum reads none of the inputs cut into blocks
        row = big[0].size // shape[0]  # elements per row
        if row == 0:
            return
        rows = max(1, self.size // row)
        if shape[0] >= 2 * rows:
            self.shape, self.rows, self.row = shape, rows, row
            self.cut = [a.size != 1 for a in inputs]

    def __iter__(self):
        if self.shape is None:
            yield self.inputs
            return
        n = self.shape[0]
        starts = list(range(0, n, self.rows))
        if self.row == 1 and n - starts[-1] == 1:
            starts.pop()  # a last block of one element would look like a sum (see total)
        for start, stop in zip(starts, starts[1:] + [n]):
            self.at = slice(start, stop)
            self.block = (stop - start,) + self.shape[1:]
            yield tuple(a[self.at] if cut else a for a, cut in zip(self.inputs, self.cut))

    def total(self, total, part):
        """total (None before the first block) with this block's part: rows of an array result
        where the part has the block's shape (two elements or more), else a sum."""
        if self.shape is None:
            return part
        if getattr(part, "shape", ()) == self.block:  # rows of an array result
            if total is None:
                total = np.empty(self.shape, np.result_type(part))
            total[self.at] = part
            return total
        return part if total is None else total + part  # a sum over the block
