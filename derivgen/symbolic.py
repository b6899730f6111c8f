"""SymPy function heads for the ops SymPy has no (or no suitable) class for.

Each class is opaque: SymPy never evaluates or rewrites it, so a node's
expression says exactly what the user wrote. Derivatives come from the rule
table in ``rules.py``, never from SymPy, and spellings from the op registry and the backends' printers.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10
from sympy.printing.precedence import PRECEDENCE

__all__ = ["exp2", "expm1", "hypot", "log1p", "log2", "log10"]


class Opaque(sp.Function):
    """A function that SymPy keeps as written."""

    is_commutative = True  # values are numbers or arrays multiplied elementwise

    @classmethod
    def eval(cls, *args):
        return None


class Static(sp.Atom):
    """A static operand that is no number: an index (``x[1:, None]``), a shape or an order
    of axes, as a tuple of Python values (ints, None, Ellipsis, and ("slice", start, stop,
    step) or ("take", ints) for the items of an index). It has no free symbols, so passes
    see through it; equal values are one operand."""

    def __new__(cls, value: tuple):
        obj = super().__new__(cls)
        obj.value = value
        return obj

    def _hashable_content(self):
        return (self.value,)

    def __getnewargs__(self):
        return (self.value,)

    # Printers write it with their _print_Static (SymPy's printers would ask a _sympystr first).
    def __repr__(self):
        return f"Static({self.value!r})"

    __str__ = __repr__


def _opaque(name: str, nargs, doc: str) -> type:
    return type(name, (Opaque,), {"nargs": nargs, "__doc__": doc, "__module__": __name__})


# Elementwise ops.
class sigmoid(Opaque):
    """1 / (1 + exp(-x)); of an exact 0 (a gradient's sigmoid(a - b) where a is b), 1/2."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        return sp.Rational(1, 2) if x.is_zero else None


softplus = _opaque("softplus", 1, "log(1 + exp(x))")
relu = _opaque("relu", 1, "max(x, 0)")
# Activations (derivgen/ops/catalog.py); the others are written with the heads here.
hardtanh = _opaque("hardtanh", 3, "min(max(x, lo), hi), PyTorch's: no gradient at the bounds")
tanhshrink = _opaque("tanhshrink", 1, "x - tanh(x), without its cancellation near 0")
ndtr = _opaque("ndtr", 1, "Phi(x) = erfc(-x / sqrt(2)) / 2, the standard normal distribution function")
logaddexp = _opaque("logaddexp", 2, "log(exp(a) + exp(b))")
# NumPy's ufuncs of these names (derivgen/ops/catalog.py).
cbrt = _opaque("cbrt", 1, "the real cube root, of negative x too")
logaddexp2 = _opaque("logaddexp2", 2, "log2(2**a + 2**b)")
copysign = _opaque("copysign", 2, "|a| with the sign of b")
heaviside = _opaque("heaviside", 2, "0 where x < 0, h where x == 0, 1 where x > 0")
# SciPy's special functions (derivgen/ops/special.py), computed by scipy.special.
gammaln = _opaque("gammaln", 1, "log|Gamma(x)|")
digamma = _opaque("digamma", 1, "psi(x) = Gamma'(x) / Gamma(x)")
polygamma = _opaque("polygamma", 2, "psi^(n)(x), the n-th derivative of digamma (n a whole number)")
gamma = _opaque("gamma", 1, "Gamma(x)")
beta = _opaque("beta", 2, "B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b)")
betaln = _opaque("betaln", 2, "log|B(a, b)|")
erfc = _opaque("erfc", 1, "1 - erf(x), without its cancellation for large x")
erfinv = _opaque("erfinv", 1, "the inverse of erf on (-1, 1)")
erfcx = _opaque("erfcx", 1, "exp(x**2) * erfc(x), the scaled complementary error function")
logit = _opaque("logit", 1, "log(p / (1 - p))")
log_ndtr = _opaque("log_ndtr", 1, "log(Phi(x)), exact far into the negative side")
ndtri = _opaque("ndtri", 1, "the inverse of Phi, the standard normal quantile")
i0 = _opaque("i0", 1, "I0(x), the modified Bessel function of order 0")
i1 = _opaque("i1", 1, "I1(x), the modified Bessel function of order 1")
xlogy = _opaque("xlogy", 2, "x * log(y), 0 where x == 0")
xlog1py = _opaque("xlog1py", 2, "x * log1p(y), 0 where x == 0")
maximum = _opaque("maximum", 2, "elementwise max(a, b)")
minimum = _opaque("minimum", 2, "elementwise min(a, b)")
sech2 = _opaque("sech2", 1, "sech(x)**2 = 4e/(1 + e)**2 with e = exp(-2|x|), one exp")
clip = _opaque("clip", 3, "min(max(x, lo), hi); an infinite bound is absent")
floor_divide = _opaque("floor_divide", 2, "a // b: floor(a / b), as Python and NumPy round it")
remainder = _opaque("remainder", 2, "a % b = a - b * floor(a / b): the sign of b (Python's, np.remainder)")
fmod = _opaque("fmod", 2, "a - b * trunc(a / b): the sign of a (C's fmod, np.fmod, torch.fmod)")
# Printed as Python's operators, which bind as * does: parenthesised as a product is.
floor_divide.precedence = remainder.precedence = PRECEDENCE["Mul"]
# Shared work: one helper computes a value and the pieces its gradient needs (from the
# same exp), and part() picks one of them; see derivgen/optimize.py.
sigmoid_parts = _opaque("sigmoid_parts", 1, "(sigmoid(z), sigmoid(-z))")
softplus_parts = _opaque("softplus_parts", 1, "(softplus(z), sigmoid(z))")
logaddexp_parts = _opaque("logaddexp_parts", 2, "(logaddexp(a, b), sigmoid(a - b), sigmoid(b - a))")
exp_shift = _opaque("exp_shift", None, "(exp(x - m), m over the reduced axes): keepdims, *axes")
part = _opaque("part", 2, "p[k], one result of a *_parts helper")
live = _opaque("live", 2, "(cond, x): any(cond) over the axes x is broadcast along, in x's shape")
lse_refine = _opaque("lse_refine", None, "(v, x, keepdims, *axes): logsumexp(x) = v, recomputed where v is near 0")
class where(Opaque):
    """a where cond else b; a constant condition picks its branch at once."""

    nargs = 3

    @classmethod
    def eval(cls, cond, a, b):
        if cond is sp.true:
            return a
        if cond is sp.false:
            return b
        return None


# A condition that folded to True or False but reads values: that constant in their
# broadcast shape, as the condition would have had (where() broadcasts against it).
shaped_condition = _opaque("shaped_condition", None, "(value, *operands): value in the operands' broadcast shape")

# Shape-changing ops. Static arguments are SymPy integers: keepdims (0/1), then axes;
# no axes means all of them.
reduce_sum = _opaque("reduce_sum", None, "sum(x, axis, keepdims)")
reduce_mean = _opaque("reduce_mean", None, "mean(x, axis, keepdims)")
reduce_logsumexp = _opaque("reduce_logsumexp", None, "logsumexp(x, axis, keepdims)")
reduce_max = _opaque("reduce_max", None, "max(x, axis, keepdims)")
reduce_min = _opaque("reduce_min", None, "min(x, axis, keepdims)")
# torch.max(x, dim) and torch.min(x, dim): the values (the indices are integers), their
# gradient sent to the first element equal to the result, the index PyTorch returns.
reduce_max_first = _opaque("reduce_max_first", None, "max(x, axis, keepdims), the gradient to the first maximum")
reduce_min_first = _opaque("reduce_min_first", None, "min(x, axis, keepdims), the gradient to the first minimum")
reduce_prod = _opaque("reduce_prod", None, "prod(x, axis, keepdims)")
first_hit = _opaque("first_hit", None, "(hit, keepdims, axis): 1 at hit's first True along axis, 0 elsewhere")
max_shift = _opaque("max_shift", None, "max(x, axis, keepdims), 0 where not finite; no gradient")
# Moving elements: an index, a new shape, an axes order are Static operands.
getitem = _opaque("getitem", 2, "x[index]")
# x[index] with positions known when the module runs (x[np.arange(n), t]): the arrays the
# index reads, x first, then Static(index) (derivgen/ops/indexing.py).
gather = _opaque("gather", None, "x[index] with arrays of positions: (x, *arrays, Static(index))")
# np.take_along_axis(x, indices, axis), torch.gather(x, dim, index): (x, indices,
# Static((axis, leading))); leading: PyTorch's gather, reading the leading part of x's other axes
take_along = _opaque("take_along", 3, "x's elements at indices along axis: (x, indices, Static((axis, leading)))")
reshape = _opaque("reshape", 2, "x.reshape(shape)")
# Joins (derivgen/ops/joins.py): the arrays, then Static((axis,)).
stack = _opaque("stack", None, "np.stack(arrays, axis): (*arrays, Static((axis,)))")
concatenate = _opaque("concatenate", None, "np.concatenate(arrays, axis): (*arrays, Static((axis,)))")
unstack = _opaque("unstack", 2, "np.take(g, i, axis): (g, Static((axis, i, n))), a stack's part i of n")
concat_part = _opaque("concat_part", None, "(g, *arrays, Static((axis, i))): the slice of g that array i was")
joined = _opaque("joined", None, "np.hstack(arrays) and its kin: (*arrays, Static((how,))), how the function's name")
join_part = _opaque("join_part", None, "(g, *arrays, Static((how, i))): the part of g that array i was")
expand_to = _opaque("expand_to", 2, "np.broadcast_to(x, shape), PyTorch's x.expand(*sizes)")
roll = _opaque("roll", 2, "np.roll(x, shift, axis): (x, Static((shift, axis)))")
diagonal = _opaque("diagonal", 2, "np.diagonal(x, offset, axis1, axis2): (x, Static((offset, axis1, axis2)))")
diagonal_grad = _opaque("diagonal_grad", 3, "(g, x, Static((offset, axis1, axis2))): zeros like x, g on the diagonal")
# A scan (derivgen/ops/scans.py): np.cumsum(x, axis), (x, Static((axis,))).
cumsum = _opaque("cumsum", 2, "np.cumsum(x, axis): running sums along axis (of the flattened x for None)")
# Arrays of constants (derivgen/ops/constants.py): the array sizes are read off (if any), then Static.
filled = _opaque("filled", None, "np.full(shape, value): (x?, Static((shape, value)))")
eye = _opaque("eye", None, "np.eye(n, m, k): (x?, Static((n, m, k)))")
arange = _opaque("arange", None, "np.arange(start, stop, step): (x?, Static((start, stop, step)))")
linspace = _opaque("linspace", None, "np.linspace(start, stop, num, endpoint): (x?, Static((start, stop, num, endpoint)))")
split_part = _opaque("split_part", 2, "part i of np.split(x, arg, axis) and its kin: (x, Static((kind, arg, i, axis)))")
split_grad = _opaque("split_grad", 3, "(g, x, Static((kind, arg, i, axis))): zeros like x, g where part i was")
diag = _opaque("diag", 2, "np.diag(x, k): (x, Static((k,))), a vector on a diagonal or a matrix's diagonal")
diag_grad = _opaque("diag_grad", 3, "(g, x, Static((k,))): np.diag's gradient, of x's shape")
tril = _opaque("tril", 2, "np.tril(x, k): (x, Static((k,))), zeros above the k-th diagonal")
triu = _opaque("triu", 2, "np.triu(x, k): (x, Static((k,))), zeros below the k-th diagonal")
tri_grad = _opaque("tri_grad", 3, "(g, x, Static((k, upper))): g's triangle, rows added up for a vector x")
tile = _opaque("tile", 2, "np.tile(x, reps): (x, Static((reps,)))")
tile_grad = _opaque("tile_grad", 3, "(g, x, Static((reps,))): g's blocks added up, of x's shape")
repeat = _opaque("repeat", 2, "np.repeat(x, repeats, axis): (x, Static((repeats, axis)))")
repeat_grad = _opaque("repeat_grad", 3, "(g, x, Static((repeats, axis))): each element's copies in g added up")
pad = _opaque("pad", 2, "np.pad(x, widths, constant_values=value): (x, Static((widths, value, last)))")
unpad = _opaque("unpad", 2, "(g, Static((widths, last))): the part of g a pad's operand was")
cumprod = _opaque("cumprod", 2, "np.cumprod(x, axis): running products along axis (of the flattened x for None)")
# Their gradients' plumbing: x moved by step places along axis, fill where nothing arrives,
# and a linear recurrence along axis (forward: y[0] = b[0], y[j] = a[j] * y[j-1] + b[j];
# reverse: from the last element down, y[j] = a[j] * y[j+1] + b[j]; a's first, or last, unread).
shift = _opaque("shift", 2, "(x, Static((axis, step, fill))): x[j - step] along axis, fill outside x")
linrec = _opaque("linrec", 3, "(a, b, Static((axis, reverse))): y[j] = a[j] * y[j -+ 1] + b[j] along axis")
# Sorting (derivgen/ops/scans.py): the positions of x's elements in sorted order along axis
# (integers, no gradient), the first k of them where k is given (torch.topk's).
# The position of the first largest (smallest) element along axis, or of the flattened x where
# axis is None; nan counts as the largest and the smallest, as in NumPy (derivgen/ops/scans.py).
argmax = _opaque("argmax", 2, "(x, Static((axis, keepdims))): np.argmax(x, axis, keepdims=keepdims)")
argmin = _opaque("argmin", 2, "(x, Static((axis, keepdims))): np.argmin(x, axis, keepdims=keepdims)")
# Positions (integers) used as numbers: a floating-point array of the same values.
as_numbers = _opaque("as_numbers", 1, "positions as floating-point numbers")
argsort = _opaque("argsort", 2, "(x, Static((axis, descending, k))): stable sorting positions along axis")
flatten = _opaque("flatten", 2, "x with axes start..end (inclusive) as one")
squeeze = _opaque("squeeze", 2, "x without the axes of size 1 listed (all, where none are)")
new_axes = _opaque("new_axes", 2, "np.expand_dims(x, axes)")
permute = _opaque("permute", 2, "np.transpose(x, order)")
swapaxes = _opaque("swapaxes", 2, "np.swapaxes(x, a, b)")
moveaxis = _opaque("moveaxis", 2, "np.moveaxis(x, source, destination)")
flip = _opaque("flip", 2, "np.flip(x, axes)")
# An integer read off x's shape when the module runs (derivgen/ops/sizes.py).
size_of = _opaque("size_of", 2, "x.shape[axis], x.size or x.ndim: (x, Static((what, ...)))")
# An assert of the source on sizes, checked when the module runs (derivgen/ops/sizes.py):
# (Static((relation, message, error)), left, right), each side a size, a number, a shape
# (shape_of, shape_part) or a tuple; error: "AssertionError", or "ValueError" for the checks
# NumPy and Python make (the count of arrays unpacked, np.vsplit's rank).
check = _opaque("check", 3, "assert left <relation> right: (Static((relation, message, error)), left, right)")
shape_part = _opaque("shape_part", 2, "a slice of x.shape: (x, Static((start, stop, step)))")
matmul = _opaque("matmul", 2, "a @ b")
# Contractions (derivgen/ops/contractions.py): np.einsum's operands, then Static((subscripts,))
# with the output written out; np.tensordot's (np.inner's: axes "inner"); np.kron's. Each
# gradient head takes the adjoint g, the operands, and (its static arguments..., k): the
# gradient with respect to operand k.
einsum = _opaque("einsum", None, "np.einsum(subscripts, *operands): (*operands, Static((subscripts,)))")
einsum_grad = _opaque("einsum_grad", None, "(g, *operands, Static((subscripts, k))): d einsum / d operand k")
tensordot = _opaque("tensordot", 3, "np.tensordot(a, b, axes), np.inner(a, b): (a, b, Static((axes,)))")
tensordot_grad = _opaque("tensordot_grad", 4, "(g, a, b, Static((axes, k))): d tensordot / d operand k")
kron = _opaque("kron", 2, "np.kron(a, b): blocks of b, each scaled by an element of a")
kron_grad = _opaque("kron_grad", 4, "(g, a, b, Static((k,))): d kron / d operand k")
dot = _opaque("dot", 2, "np.dot(a, b)")
transpose = _opaque("transpose", 1, "x.T")
# Gradient plumbing, used only by the reverse sweep.
unbroadcast = _opaque("unbroadcast", (3, 4), "g to a shape: (g, shape, [full shape,] owned 0/1)")
sum_product = _opaque("sum_product", 2, "sum(a * b) over every element, a dot product where it can")
mean_product = _opaque("mean_product", 2, "mean(a * b) over every element, a dot product where it can")
unbroadcast_product = _opaque("unbroadcast_product", (4, 5), "unbroadcast(a * b, shape, [full,] owned)")
scaled = _opaque("scaled", 2, "x * g, a gradient times grad_output; x itself where g is 1")
shape_of = _opaque("shape_of", None, "the broadcast shape of the arguments' shapes")
class expand_reduced(Opaque):
    """g with the reduced axes restored (size 1): keepdims, *axes; a number stays a number."""

    nargs = None

    @classmethod
    def eval(cls, g, *static):
        return g if g.is_Number else None


size_ratio = _opaque("size_ratio", 2, "prod(shape a) // prod(shape b), the count a mean divides by")
zeros_like = _opaque("zeros_like", 1, "zeros of the shape and dtype of x")
nan_like = _opaque("nan_like", 1, "nan in the shape and dtype of x")
matmul_grad_a = _opaque("matmul_grad_a", 3, "gradient of a @ b with respect to a")
matmul_grad_b = _opaque("matmul_grad_b", 3, "gradient of a @ b with respect to b")
dot_grad_a = _opaque("dot_grad_a", 3, "gradient of np.dot(a, b) with respect to a")
dot_grad_b = _opaque("dot_grad_b", 3, "gradient of np.dot(a, b) with respect to b")
index_grad = _opaque("index_grad", 3, "(g, x, index): zeros like x, g added in at x[index]")
gather_grad = _opaque("gather_grad", None, "(g, x, *arrays, Static(index)): zeros like x, g added in at x[index]")
take_along_grad = _opaque("take_along_grad", 4, "(g, x, indices, Static): zeros like x, g added in where read")
reshape_to = _opaque("reshape_to", 2, "np.reshape(g, shape)")
# Blocked evaluation (blocking.py).
accumulate = _opaque("accumulate", 2, "blocks.total(acc, part): a result added up, or put together, over blocks")
