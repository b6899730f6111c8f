"""The op database behind tests/test_opdb.py, in the spirit of PyTorch's OpInfo.

Every op of derivgen's input language (each name in ``derivgen.ops._TABLE``, and the
operators ``+ - * / **`` and unary ``-`` of ``derivgen.ops.OPERATORS``; ``@`` is a spelling of
``matmul``) has one :class:`OpInfo` in :data:`OPS`. An op has one or more :class:`Variant`\\ s,
each of them one program:

- ``spellings``: every way of writing that program, the canonical one first: derivgen's
  aliases, the prefixes ``np.`` ``torch.`` ``F.`` ``math.`` ``scipy.special.``
  ``torch.special.`` (and ``numpy.``, ``torch.nn.functional.``) wherever the real library has
  the function under that name, method forms where a NumPy array or a PyTorch tensor has the
  method (``x.exp()``, ``x.sum(dim=0)``, ``x.clamp(min=lo)``), and NumPy's and PyTorch's keywords;
- ``reference``: a NumPy function computing the same math, in stable forms where the op is
  stable (sigmoid, softplus, logsumexp), that works in float64 and in ``np.longdouble``: the
  gradient tests differentiate it by central differences in extended precision;
- ``samples``: inputs drawn from the op's domain (clear of its kinks) in the usual shapes
  (broadcasting pairs such as (3,) with (2, 1), () with (2, 3) and (1, 3) with (2, 1), 0-d
  arrays, empty arrays, many rows for the blocked code, float32), its kinks with the gradients
  the README's "Semantics at kinks" table documents, and extreme inputs where the README's
  "Numerics" section promises stability (sigmoid, softplus, logaddexp, logsumexp at +-800,
  and at +-100 in float32).

A reduction has one variant per form of its static arguments (axis None, an int, a negative
int, a tuple, keepdims). Every elementwise op and operator also appears inside a loss, the
way programs use it: ``sum(op(...))`` (its kinks and extremes too), ``mean(op(...))`` (where
derivgen cuts its work into blocks of rows) and, for ops with extremes, ``sum(op(...),
axis=-1)`` (a program without a scalar path). The forms the README's Numerics table says
derivgen rewrites (``log(1 + exp(x))``, ``exp(x) / sum(exp(x))``, ...) are variants of the op
they become, with the extremes where the form as written overflows or cancels.

Adding an op
------------
1. Write its NumPy reference below (it must accept np.longdouble arrays and keep their
   dtype), or use NumPy's function.
2. Add its :class:`OpInfo` to :data:`OPS`: ``elementwise(...)`` builds a variant with the
   standard samples from the domain of each argument (``clear=`` keeps random samples away
   from kinks, where finite differences mean nothing); ``spell(...)`` writes the prefixed and
   method spellings from the names each library uses; reductions and linear algebra list
   their samples by shape.
3. Add kink samples with the documented partial derivatives (``kink(...)``; a float32 copy
   is made for each) and extreme samples (``extreme(...)``, with partial derivatives computed
   in extended precision where finite differences cannot resolve the gradient).
4. Run ``pytest tests/test_opdb.py -k <op>``. The database tests there check that every op
   and spelling of derivgen.ops appears here and that every ``np.`` and ``math.`` spelling
   exists in NumPy and in ``math``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

# Random samples stay at least this far from a kink (finite differences step about 1e-6).
CLEARANCE = 1e-3
LONGDOUBLE_EPS = float(np.finfo(np.longdouble).eps)
FLOAT64_EPS = float(np.finfo(np.float64).eps)


# ---- the database's records ---------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Sample:
    """One set of inputs for a variant, in the order of ``Variant.inputs``.

    ``kind``: "random" (drawn from the domain, clear of kinks), "kink" or "extreme".
    ``partials``, when given, are the expected partial derivatives of an elementwise output
    (or of the terms of a sum over all of them) with respect to each input, one array of the
    elementwise shape per input: the gradient for a grad_output g is ``partials[i] * g``
    summed back to input i's shape. At a kink they are the documented convention, which finite
    differences cannot see; at an extreme they stand in for finite differences where those
    cannot resolve the gradient (a saturated sigmoid's 1e-348).
    """

    name: str
    inputs: tuple[np.ndarray, ...]
    partials: tuple[np.ndarray, ...] | None = None
    kind: str = "random"

    @property
    def kink(self) -> bool:
        return self.kind == "kink"

    @property
    def dtype(self) -> np.dtype:
        return self.inputs[0].dtype

    @property
    def empty(self) -> bool:
        return any(a.size == 0 for a in self.inputs)

    @property
    def zero_d(self) -> bool:
        return all(a.ndim == 0 for a in self.inputs)


@dataclass(frozen=True)
class Spelling:
    """One way of writing a variant's program. ``label`` names it in test ids.

    ``only``: the names of the samples this spelling is valid for in the real library
    (``torch.dot`` takes vectors only); None for the variant's default choice.
    """

    label: str
    source: str
    only: tuple[str, ...] | None = None


@dataclass(frozen=True, eq=False)
class Variant:
    """One program of an op: the spellings that all write it, its reference and samples.

    ``name``: "" for the op's own program, else what sets this one apart ("axis=1", "in-mean",
    the source of a rewrite).
    ``magnitude``: for programs that add up terms of either sign (sums, products of
    matrices), the same sum over absolute values, which bounds its rounding error.
    ``ref_eps``: the relative precision of ``reference`` (float64's for math.erf, which
    cannot compute in extended precision). ``pointwise``: the program takes 0-d inputs and
    can be evaluated point by point (elementwise ops, and sums or means of them).
    ``positions``: the inputs that hold integer positions an index reads (``x[t]``); their
    samples are integer arrays, and no gradient is taken with respect to them.
    """

    op: str
    name: str
    inputs: tuple[str, ...]
    spellings: tuple[Spelling, ...]
    reference: Callable[..., np.ndarray]
    samples: tuple[Sample, ...]
    magnitude: Callable[..., np.ndarray] | None = None
    ref_eps: float = LONGDOUBLE_EPS
    pointwise: bool = False
    positions: tuple[str, ...] = ()  # the inputs holding integer positions (x[t]): no gradient

    @property
    def source(self) -> str:
        return self.spellings[0].source

    def samples_for(self, spelling: Spelling) -> tuple[Sample, ...]:
        """The canonical spelling runs on every sample; the others on the first and the 0-d."""
        if spelling.only is not None:
            return tuple(s for s in self.samples if s.name in spelling.only)
        if spelling is self.spellings[0]:
            return self.samples
        return tuple(s for i, s in enumerate(self.samples) if i == 0 or s.name == "0d")


@dataclass(frozen=True)
class OpInfo:
    """An op of derivgen's language and its variants; kind: elementwise, operator,
    reduction or linalg."""

    name: str
    kind: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class Case:
    """One (variant, spelling, sample) triple: what a generic test is parametrized over."""

    variant: Variant
    spelling: Spelling
    sample: Sample

    @property
    def id(self) -> str:
        return f"{self.variant.op}-{self.spelling.label}-{self.sample.name}"

    @property
    def canonical(self) -> bool:
        return self.spelling is self.variant.spellings[0]


# ---- references -------------------------------------------------------------------------------

def erf(x):
    """math.erf elementwise (NumPy has no erf); float64 precision whatever the dtype."""
    x = np.asarray(x)
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)


def sigmoid(x):
    """1 / (1 + exp(-x)) in the form that neither overflows nor loses digits."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), exact for every x."""
    x = np.asarray(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def relu(x):
    return np.maximum(x, 0)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over axis, shifted by the maximum; the plain formula on empty arrays
    (whose maximum is undefined): -inf over an empty axis, as NumPy's log(0)."""
    x = np.asarray(x)
    if x.size == 0:
        return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) over axis, as exp(x - logsumexp(x))."""
    return np.exp(x - logsumexp(x, axis=axis, keepdims=True))


def clamp(x, lo=None, hi=None):
    """min(max(x, lo), hi), a bound of None left out: NumPy's clip, PyTorch's clamp."""
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def _sigmoid_partials(x):
    return (sigmoid(x) * sigmoid(-x),)


def _logaddexp_partials(x, y):
    return sigmoid(x - y), sigmoid(y - x)


def _tanh_partials(x):
    return (1 / np.cosh(x) ** 2,)


def _abs_sum(reference):
    """The magnitude of a sum of terms: the same reference over absolute values."""
    return lambda *inputs: reference(*(np.abs(a) for a in inputs))


# ---- samples ----------------------------------------------------------------------------------

def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def draw(domains, shapes, seed, dtype="float64", clear=None) -> tuple[np.ndarray, ...]:
    """Seeded uniform inputs, one per (low, high) domain, each of its shape, redrawn until
    ``clear(*inputs)`` (a distance to the nearest kink) is at least CLEARANCE everywhere."""
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        arrays = tuple(np.asarray(rng.uniform(low, high, size=shape)).astype(dtype)
                       for (low, high), shape in zip(domains, shapes))
        if clear is None or np.all(np.asarray(clear(*arrays)) >= CLEARANCE):
            return arrays
    raise ValueError(f"no sample of shapes {shapes} clear of kinks")


def kink(name, inputs, partials) -> Sample:
    """A sample at a kink, with the documented partial derivatives (lists of numbers)."""
    return Sample(name, tuple(np.asarray(v, np.float64) for v in inputs),
                  tuple(np.asarray(p, np.float64) for p in partials), "kink")


def extreme(name, inputs, partials=None, dtype="float64") -> Sample:
    """A sample at extreme magnitudes; ``partials(*inputs)``, computed in extended precision,
    gives the gradient where finite differences cannot resolve it."""
    arrays = tuple(np.asarray(v, dtype) for v in inputs)
    if partials is not None:
        partials = tuple(np.asarray(p) for p in partials(*(a.astype(np.longdouble) for a in arrays)))
    return Sample(name, arrays, partials, "extreme")


def _as_float32(sample: Sample, name: str | None = None) -> Sample:
    return Sample(name or f"{sample.name}-f32", tuple(a.astype(np.float32) for a in sample.inputs),
                  sample.partials, sample.kind)


# Shapes of the standard samples of an elementwise op, by its number of inputs; the first is
# the sample every spelling runs on, "rows" has every input of one shape with many rows.
SHAPES = {
    1: {"2d": [(2, 3)], "vec": [(5,)], "0d": [()], "rows": [(9, 2)],
        "empty": [(0,)], "empty2d": [(0, 3)]},
    2: {"bcast": [(3,), (2, 1)], "scalar-bcast": [(), (2, 3)], "row-col": [(1, 3), (2, 1)],
        "same": [(2, 3), (2, 3)], "0d": [(), ()], "rows": [(9, 2), (9, 2)],
        "empty": [(0,), (0,)], "empty-bcast": [(0, 3), (3,)]},
    3: {"bcast": [(2, 3), (3,), (2, 1)], "scalars": [(2, 3), (), ()], "row-col": [(1, 3), (2, 1), (3,)],
        "0d": [(), (), ()], "rows": [(9, 2), (9, 2), (9, 2)],
        "empty": [(0,), (0,), (0,)], "empty-bcast": [(0, 3), (3,), ()]},
}
FLOAT32_SAMPLES = ("2d", "bcast", "0d")  # the standard samples repeated in float32
INPUT_NAMES = {1: ("x",), 2: ("x", "y"), 3: ("x", "lo", "hi")}


def standard_samples(key: str, domains, clear=None) -> list[Sample]:
    samples = []
    for name, shapes in SHAPES[len(domains)].items():
        samples.append(Sample(name, draw(domains, shapes, _seed(key, name), clear=clear)))
    for name, shapes in SHAPES[len(domains)].items():
        if name in FLOAT32_SAMPLES:
            arrays = draw(domains, shapes, _seed(key, name, "f32"), "float32", clear)
            samples.append(Sample(f"{name}-f32", arrays))
    return samples


# ---- spellings --------------------------------------------------------------------------------

def spell(bare="", *, numpy="", torch="", nn="", math="", scipy="", special="", method="", args="x",
          extra=()) -> tuple[Spelling, ...]:
    """The spellings of a call ``name(args)``: the bare names, then the names under each prefix
    (space-separated: ``numpy=`` for np., ``nn=`` for F., ``special=`` for torch.special.), then
    the methods of the first argument (``x.exp()``, ``x.pow(y)``), then ``extra`` sources.
    ``numpy.`` and ``torch.nn.functional.`` are tried with the first name of np. and F. only."""
    first, _, rest = args.partition(", ")
    out = [Spelling(n, f"{n}({args})") for n in bare.split()]
    prefixed = (("np.", numpy.split()), ("numpy.", numpy.split()[:1]), ("torch.", torch.split()),
                ("F.", nn.split()), ("torch.nn.functional.", nn.split()[:1]), ("math.", math.split()),
                ("scipy.special.", scipy.split()), ("torch.special.", special.split()))
    for prefix, names in prefixed:
        out += [Spelling(prefix + n, f"{prefix}{n}({args})") for n in names]
    for n in method.split():
        source = f"{first}.{n}({rest})"
        out.append(Spelling(source.replace(" ", ""), source))
    out += [as_spelling(s) for s in extra]
    return tuple(out)


def as_spelling(source: str | Spelling) -> Spelling:
    """A source as a spelling labelled by its text without spaces."""
    return source if isinstance(source, Spelling) else Spelling(source.replace(" ", ""), source)


# ---- elementwise ops --------------------------------------------------------------------------

def elementwise(op, spellings, reference, domains, *, name="", inputs=None, clear=None, kinks=(),
                extremes=(), ref_eps=LONGDOUBLE_EPS, magnitude=None, keep=None) -> Variant:
    """A variant of an elementwise op: the standard samples from ``domains`` (one (low, high)
    per input; only those named in ``keep`` if given), then ``kinks`` (and a float32 copy of
    each), then ``extremes``."""
    spellings = tuple(as_spelling(s) for s in spellings)
    samples = standard_samples(f"{op}/{name}", domains, clear)
    if keep is not None:
        samples = [s for s in samples if s.name in keep]
    for sample in kinks:
        samples += [sample, _as_float32(sample)]
    samples += extremes
    return Variant(op, name, inputs or INPUT_NAMES[len(domains)], spellings, reference, tuple(samples),
                   magnitude, ref_eps, pointwise=True)


def _wrapped(variant: Variant, name: str, template: str, reduce, keep) -> Variant:
    """The variant's program inside a reduction, on the samples ``keep(sample, first)`` selects."""
    first = variant.samples[0]
    samples = tuple(s for s in variant.samples if keep(s, first))
    reference = variant.reference
    return Variant(variant.op, name, variant.inputs, (as_spelling(template.format(variant.source)),),
                   lambda *a: reduce(reference(*a)), samples, lambda *a: reduce(np.abs(reference(*a))),
                   variant.ref_eps, pointwise=name != "in-axis-sum")


def wrappers(variant: Variant) -> list[Variant]:
    """The op inside a loss: ``sum(op(...))`` (with the kinks and extremes, whose partials hold
    term by term), ``mean(op(...))`` (many rows: derivgen's blocked code, in float32 too; empty:
    nan, as NumPy's mean of nothing) and, for ops with extremes, ``sum(op(...), axis=-1)``
    (a program without a scalar path)."""
    def basic(s, first):
        return s.name in (first.name, f"{first.name}-f32", "0d", "rows", "empty")

    def basic_kinks_extremes(s, first):
        return basic(s, first) or s.kind != "random"

    out = [_wrapped(variant, "in-sum", "sum({})", np.sum, basic_kinks_extremes),
           _wrapped(variant, "in-mean", "mean({})", np.mean, basic)]
    rows = [s for s in out[1].samples if s.name == "rows"]
    out[1] = replace(out[1], samples=out[1].samples + tuple(_as_float32(s) for s in rows))
    if any(s.kind == "extreme" for s in variant.samples):
        out.append(_wrapped(variant, "in-axis-sum", "sum({}, axis=-1)", lambda r: np.sum(r, axis=-1),
                            lambda s, first: s is first or s.kind == "extreme"))
    return out


def op_info(name, kind, *variants: Variant) -> OpInfo:
    """An op with its variants, and its first variant inside reductions (``wrappers``)."""
    return OpInfo(name, kind, tuple(variants) + tuple(wrappers(variants[0])))


def _integer_distance(x):
    return np.abs(x - np.round(x))


def _pair_distance(x, y):
    return np.abs(x - y)


def _first_distance(x, y):  # the kink at x == 0 (copysign's, heaviside's step)
    return np.abs(x) + 0 * y


def _origin_distance(x, y):
    return np.hypot(x, y)


def _quotient_distance(x, y):
    """How far x / y is from a whole number, scaled by y: the distance to a jump of x // y and x % y."""
    q = x / y
    return np.abs(q - np.round(q)) * np.abs(y)


def unary(op, spellings, reference, domain, *rewrites: Variant, **options) -> OpInfo:
    return op_info(op, "elementwise", elementwise(op, spellings, reference, [domain], **options), *rewrites)


# The forms the README's Numerics table says derivgen rewrites into stable ones: variants of
# the op they become, on a few standard samples and the extremes where the naive form fails.
REWRITE_SAMPLES = ("2d", "bcast", "0d", "rows", "2d-f32", "bcast-f32")


def rewrite(op, source, reference, domains, extremes=(), **options) -> Variant:
    return elementwise(op, [source], reference, domains, name=source, extremes=extremes, keep=REWRITE_SAMPLES,
                       **options)


def _extremes(values, values32, partials=None, name="extreme"):
    """An extreme sample and its float32 twin; ``values`` lists one row per input."""
    return (extreme(name, values, partials), extreme(f"{name}-f32", values32, partials, "float32"))


# Where exp overflows or a sigmoid saturates: +-800 in float64, +-100 in float32.
SATURATING = ([[-800.0, -40.0, 0.0, 40.0, 800.0]], [[-100.0, -20.0, 0.0, 20.0, 100.0]])
# Where log(1 + x) and exp(x) - 1 lose their digits.
TINY = ([[1e-12, -1e-12, 1e-300, -1e-300]], [[1e-7, -1e-7, 1e-30, -1e-30]])
SIGMOID_EXTREMES = _extremes(*SATURATING, _sigmoid_partials)
SOFTPLUS_EXTREMES = _extremes(*SATURATING, lambda x: (sigmoid(x),))
SIGMOID_REWRITES = (
    rewrite("sigmoid", "1 / (1 + exp(-x))", sigmoid, [(-6.0, 6.0)], SIGMOID_EXTREMES),
    rewrite("sigmoid", "1 - sigmoid(x)", lambda x: sigmoid(-x), [(-6.0, 6.0)],
            _extremes(*SATURATING, lambda x: (-sigmoid(x) * sigmoid(-x),))),
    rewrite("sigmoid", "exp(x) / (exp(x) + exp(y))", lambda x, y: sigmoid(x - y), [(-3.0, 3.0)] * 2,
            _extremes([[1000.0, -1000.0, 800.0, 0.0], [999.0, -999.0, -800.0, 800.0]],
                      [[100.0, -100.0, 80.0, 0.0], [99.0, -99.0, -80.0, 80.0]],
                      lambda x, y: (sigmoid(x - y) * sigmoid(y - x), -sigmoid(x - y) * sigmoid(y - x)))),
)
SOFTPLUS_REWRITES = (
    rewrite("softplus", "log(1 + exp(x))", softplus, [(-6.0, 6.0)], SOFTPLUS_EXTREMES),
    rewrite("softplus", "log(exp(x) + 1)", softplus, [(-6.0, 6.0)], SOFTPLUS_EXTREMES),
    rewrite("softplus", "log(sigmoid(x))", lambda x: -softplus(-x), [(-6.0, 6.0)],
            _extremes(*SATURATING, lambda x: (sigmoid(-x),))),
    rewrite("softplus", "log(1 - sigmoid(x))", lambda x: -softplus(x), [(-6.0, 6.0)],
            _extremes(*SATURATING, lambda x: (-sigmoid(x),))),
)


# ---- activations (torch.nn.functional's): PyTorch's formulas, defaults and kink gradients ------
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def ndtr(x):
    """Phi(x) = erfc(-x / sqrt(2)) / 2 by math.erfc, elementwise: float64 precision."""
    x = np.asarray(x)
    return np.vectorize(lambda v: math.erfc(-float(v) / math.sqrt(2)) / 2, otypes=[np.float64])(x).astype(x.dtype)


def gelu(x):
    return x * ndtr(x)


def _gelu_partials(x):
    return (ndtr(x) + x * np.exp(-x * x / 2) * _INV_SQRT_2PI,)


def _gelu_tanh_inner(x):
    return 2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)  # 1 + tanh(u) = 2 sigmoid(2u)


def gelu_tanh(x):
    return x * sigmoid(_gelu_tanh_inner(x))


def _gelu_tanh_partials(x):
    u = _gelu_tanh_inner(x)
    du = 2 * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x**2)
    return (sigmoid(u) + x * sigmoid(u) * sigmoid(-u) * du,)


def silu(x):
    return x * sigmoid(x)


def mish(x):
    return x * np.tanh(softplus(x))


def _mish_partials(x):
    sp_ = softplus(x)
    return (np.tanh(sp_) + x * sigmoid(x) / np.cosh(sp_)**2,)


def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _elu_partials(x, alpha=1.0):
    return (np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))),)


def selu(x):
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def celu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha))


def leaky_relu(x, slope=0.01):
    return np.where(x > 0, x, slope * x)


def softplus_torch(x, beta=1.0, threshold=20.0):
    """PyTorch's F.softplus: x where beta * x > threshold, softplus(beta * x) / beta elsewhere."""
    return np.where(beta * x > threshold, x, softplus(beta * x) / beta)


def tanhshrink(x):
    """x - tanh(x); below |x| = 0.1, where the difference cancels, its series (7 terms)."""
    x = np.asarray(x)
    coefficients = (1 / 3, -2 / 15, 17 / 315, -62 / 2835, 1382 / 155925, -21844 / 6081075, 929569 / 638512875)
    s = x * x
    series = sum(c * x * s ** (k + 1) for k, c in enumerate(coefficients))
    return np.where(np.abs(x) < 0.1, series, x - np.tanh(x))


def softshrink(x, lambd=0.5):
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0 * x))


def hardshrink(x, lambd=0.5):
    return np.where(np.abs(x) > lambd, x, 0 * x)


def _distance_to(*points):
    return lambda x: np.min([np.abs(x - p) for p in points], axis=0)


def _activation_extremes(partials, name="extreme"):
    """The activation at +-1000 (+-100 in float32), where exp overflows and erfc underflows."""
    return _extremes([[-1000.0, -30.0, -8.0, 0.0, 8.0, 30.0, 1000.0]], [[-100.0, -20.0, -8.0, 0.0, 8.0, 20.0, 100.0]],
                     partials, name)


SOFTPLUS_TORCH = (
    elementwise("softplus", ["softplus(x, beta=2.0, threshold=10.0)", "F.softplus(x, 2.0, 10.0)",
                             "torch.nn.functional.softplus(x, beta=2, threshold=10)"],
                lambda x: softplus_torch(x, 2.0, 10.0), [(-6.0, 8.0)], name="beta=2, threshold=10",
                clear=_distance_to(5.0), kinks=[
                    # x where beta*x > threshold (gradient 1); at beta*x == threshold, still the sigmoid side
                    kink("threshold", [[5.0, 5.5, -1.0]], [[1 / (1 + math.exp(-10.0)), 1.0, 1 / (1 + math.exp(2.0))]])],
                extremes=_extremes([[-800.0, -40.0, 0.0, 40.0, 800.0]], [[-100.0, -20.0, 0.0, 20.0, 100.0]],
                                   lambda x: (np.where(2 * x > 10, 1.0, sigmoid(2 * x)),))),
    # the default threshold, 20: F.softplus(x) is x above it, as in PyTorch
    elementwise("softplus", ["F.softplus(x)"], softplus_torch, [(-6.0, 6.0)], name="threshold=20",
                keep=("2d", "0d"), kinks=[kink("threshold", [[20.0, 20.5, 25.0]],
                                               [[1 / (1 + math.exp(-20.0)), 1.0, 1.0]])]),
)
ACTIVATIONS = [
    unary("gelu", spell("gelu", nn="gelu"), gelu, (-4.0, 4.0),
          elementwise("gelu", ["gelu(x, approximate='tanh')", "F.gelu(x, approximate='tanh')",
                               'torch.nn.functional.gelu(x, approximate="tanh")', "F.gelu(input=x, approximate='tanh')"],
                      gelu_tanh, [(-4.0, 4.0)], name="tanh", extremes=_activation_extremes(_gelu_tanh_partials)),
          elementwise("gelu", ["gelu(x, approximate='none')", "F.gelu(x, approximate='none')"], gelu, [(-4.0, 4.0)],
                      name="none", keep=("2d", "0d"), ref_eps=FLOAT64_EPS),
          ref_eps=FLOAT64_EPS, extremes=_activation_extremes(_gelu_partials)),
    unary("silu", spell("silu", nn="silu"), silu, (-6.0, 6.0),
          extremes=_activation_extremes(lambda x: (sigmoid(x) * (1 + x * sigmoid(-x)),))),
    unary("mish", spell("mish", nn="mish"), mish, (-6.0, 6.0), extremes=_activation_extremes(_mish_partials)),
    unary("elu", spell("elu", nn="elu"), elu, (-3.0, 3.0),
          elementwise("elu", ["elu(x, alpha=0.5)", "F.elu(x, 0.5)", "torch.nn.functional.elu(input=x, alpha=0.5)"],
                      lambda x: elu(x, 0.5), [(-3.0, 3.0)], name="alpha=0.5", clear=np.abs,
                      kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[0.5 * math.exp(-1.0), 0.5, 1.0]])]),
          clear=np.abs, kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[math.exp(-1.0), 1.0, 1.0]])],  # alpha at 0
          extremes=_activation_extremes(_elu_partials)),
    unary("selu", spell("selu", torch="selu", nn="selu"), selu, (-3.0, 3.0), clear=np.abs,
          kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[_SELU_SCALE * _SELU_ALPHA * math.exp(-1.0),
                                                     _SELU_SCALE * _SELU_ALPHA, _SELU_SCALE]])],  # scale * alpha at 0
          extremes=_extremes([[-1000.0, -30.0, -8.0, 8.0, 30.0, 1000.0]], [[-100.0, -20.0, -8.0, 8.0, 20.0, 100.0]],
                             lambda x: (_SELU_SCALE * _elu_partials(x, _SELU_ALPHA)[0],))),
    unary("celu", spell("celu", torch="celu", nn="celu"), celu, (-3.0, 3.0),
          elementwise("celu", ["celu(x, alpha=0.5)", "torch.celu(x, 0.5)", "F.celu(x, alpha=0.5)"],
                      lambda x: celu(x, 0.5), [(-3.0, 3.0)], name="alpha=0.5", clear=np.abs,
                      kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[math.exp(-2.0), 1.0, 1.0]])]),
          extremes=_activation_extremes(_elu_partials)),
    unary("leaky_relu", spell("leaky_relu", nn="leaky_relu"), leaky_relu, (-3.0, 3.0),
          elementwise("leaky_relu", ["leaky_relu(x, 0.2)", "F.leaky_relu(x, negative_slope=0.2)"],
                      lambda x: leaky_relu(x, 0.2), [(-3.0, 3.0)], name="negative_slope=0.2", clear=np.abs,
                      kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[0.2, 0.2, 1.0]])]),
          clear=np.abs, kinks=[kink("kink", [[-1.0, 0.0, 2.0]], [[0.01, 0.01, 1.0]])]),  # negative_slope at 0
    unary("hardtanh", spell("hardtanh", nn="hardtanh"), lambda x: clamp(x, -1.0, 1.0), (-2.0, 2.0),
          elementwise("hardtanh", ["hardtanh(x, -2.0, 0.5)", "F.hardtanh(x, min_val=-2.0, max_val=0.5)",
                                   "torch.nn.functional.hardtanh(x, max_val=0.5, min_val=-2)"],
                      lambda x: clamp(x, -2.0, 0.5), [(-3.0, 1.5)], name="min_val=-2, max_val=0.5",
                      clear=_distance_to(-2.0, 0.5),
                      kinks=[kink("kink", [[-3.0, -2.0, 0.0, 0.5, 1.0]], [[0.0, 0.0, 1.0, 0.0, 0.0]])]),
          clear=_distance_to(-1.0, 1.0),  # no gradient at the bounds, unlike clamp
          kinks=[kink("kink", [[-2.0, -1.0, 0.0, 1.0, 2.0]], [[0.0, 0.0, 1.0, 0.0, 0.0]])]),
    unary("relu6", spell("relu6", nn="relu6"), lambda x: clamp(x, 0.0, 6.0), (-2.0, 8.0),
          clear=_distance_to(0.0, 6.0),
          kinks=[kink("kink", [[-1.0, 0.0, 3.0, 6.0, 7.0]], [[0.0, 0.0, 1.0, 0.0, 0.0]])]),
    unary("hardsigmoid", spell("hardsigmoid", nn="hardsigmoid"), lambda x: clamp(x + 3, 0.0, 6.0) / 6,
          (-5.0, 5.0), clear=_distance_to(-3.0, 3.0),
          kinks=[kink("kink", [[-4.0, -3.0, 0.0, 3.0, 4.0]], [[0.0, 0.0, 1 / 6, 0.0, 0.0]])]),
    unary("hardswish", spell("hardswish", nn="hardswish"), lambda x: x * clamp(x + 3, 0.0, 6.0) / 6,
          (-5.0, 5.0), clear=_distance_to(-3.0, 3.0),
          kinks=[kink("kink", [[-4.0, -3.0, 0.0, 3.0, 4.0]], [[0.0, 0.0, 0.5, 1.0, 1.0]])]),  # 0 at -3, 1 at 3
    unary("softsign", spell("softsign", nn="softsign"), lambda x: x / (1 + np.abs(x)), (-3.0, 3.0),
          extremes=_activation_extremes(lambda x: (1 / (1 + np.abs(x))**2,))),
    unary("logsigmoid", spell("logsigmoid", nn="logsigmoid"), lambda x: -softplus(-x), (-6.0, 6.0),
          extremes=_activation_extremes(lambda x: (sigmoid(-x),))),
    unary("rsqrt", spell("rsqrt", torch="rsqrt", method="rsqrt"), lambda x: 1 / np.sqrt(x), (0.2, 4.0),
          kinks=[kink("kink", [[0.0, 4.0]], [[-math.inf, -1 / 16]])],
          extremes=_extremes([[1e4, 1e200]], [[1e4, 1e20]], lambda x: (-0.5 / (x * np.sqrt(x)),))),
    unary("tanhshrink", spell("tanhshrink", nn="tanhshrink"), tanhshrink, (-3.0, 3.0),
          extremes=(*_activation_extremes(lambda x: (np.tanh(x)**2,)),
                    *_extremes([[1e-8, -1e-4, 1e-2, 0.3]], [[1e-4, -1e-2, 0.05, 0.3]], lambda x: (np.tanh(x)**2,),
                               "tiny"))),
    unary("softshrink", spell("softshrink", nn="softshrink"), softshrink, (-2.0, 2.0),
          elementwise("softshrink", ["softshrink(x, 1.0)", "F.softshrink(x, lambd=1.0)"], lambda x: softshrink(x, 1.0),
                      [(-3.0, 3.0)], name="lambd=1", clear=_distance_to(-1.0, 1.0),
                      kinks=[kink("kink", [[-1.5, -1.0, 0.0, 1.0, 1.5]], [[1.0, 0.0, 0.0, 0.0, 1.0]])]),
          clear=_distance_to(-0.5, 0.5),
          kinks=[kink("kink", [[-1.0, -0.5, 0.0, 0.5, 1.0]], [[1.0, 0.0, 0.0, 0.0, 1.0]])]),
    unary("hardshrink", spell("hardshrink", torch="hardshrink", nn="hardshrink", method="hardshrink"), hardshrink,
          (-2.0, 2.0),
          elementwise("hardshrink", ["hardshrink(x, 1.0)", "F.hardshrink(x, lambd=1.0)", "x.hardshrink(1.0)"],
                      lambda x: hardshrink(x, 1.0), [(-3.0, 3.0)], name="lambd=1", clear=_distance_to(-1.0, 1.0),
                      kinks=[kink("kink", [[-1.5, -1.0, 0.0, 1.0, 1.5]], [[1.0, 0.0, 0.0, 0.0, 1.0]])]),
          clear=_distance_to(-0.5, 0.5),
          kinks=[kink("kink", [[-1.0, -0.5, 0.0, 0.5, 1.0]], [[1.0, 0.0, 0.0, 0.0, 1.0]])]),
]

SYMMETRIC = (-3.0, 3.0)
UNARY_OPS = [
    unary("sin", spell("sin", numpy="sin", torch="sin", math="sin", method="sin"), np.sin, (-3.0, 3.0)),
    unary("cos", spell("cos", numpy="cos", torch="cos", math="cos", method="cos"), np.cos, (-3.0, 3.0)),
    unary("tan", spell("tan", numpy="tan", torch="tan", math="tan", method="tan"), np.tan, (-1.2, 1.2)),
    unary("arcsin", spell("arcsin asin", numpy="arcsin asin", torch="arcsin asin", math="asin",
                          method="arcsin asin"), np.arcsin, (-0.9, 0.9)),
    unary("arccos", spell("arccos acos", numpy="arccos acos", torch="arccos acos", math="acos",
                          method="arccos acos"), np.arccos, (-0.9, 0.9)),
    unary("arctan", spell("arctan atan", numpy="arctan atan", torch="arctan atan", math="atan",
                          method="arctan atan"), np.arctan, (-3.0, 3.0)),
    unary("sinh", spell("sinh", numpy="sinh", torch="sinh", math="sinh", method="sinh"), np.sinh, SYMMETRIC),
    unary("cosh", spell("cosh", numpy="cosh", torch="cosh", math="cosh", method="cosh"), np.cosh, SYMMETRIC),
    unary("tanh", spell("tanh", numpy="tanh", torch="tanh", nn="tanh", math="tanh", method="tanh"),
          # d tanh = sech**2, 1.7e-17 at 20: 1 - tanh**2 would cancel to 0 (README, Numerics)
          np.tanh, (-3.0, 3.0),
          extremes=_extremes([[-400.0, -20.0, 20.0, 400.0]], [[-40.0, -20.0, 20.0, 40.0]], _tanh_partials)),
    unary("arcsinh", spell("arcsinh asinh", numpy="arcsinh asinh", torch="arcsinh asinh", math="asinh",
                           method="arcsinh asinh"), np.arcsinh, (-3.0, 3.0)),
    unary("arccosh", spell("arccosh acosh", numpy="arccosh acosh", torch="arccosh acosh", math="acosh",
                           method="arccosh acosh"), np.arccosh, (1.1, 4.0)),
    unary("arctanh", spell("arctanh atanh", numpy="arctanh atanh", torch="arctanh atanh", math="atanh",
                           method="arctanh atanh"), np.arctanh, (-0.9, 0.9)),
    unary("exp", spell("exp", numpy="exp", torch="exp", math="exp", method="exp"), np.exp, (-3.0, 3.0)),
    unary("exp2", spell("exp2", numpy="exp2", torch="exp2", math="exp2", scipy="exp2", special="exp2",
                        method="exp2"), np.exp2, (-3.0, 3.0)),
    unary("expm1", spell("expm1", numpy="expm1", torch="expm1", math="expm1", scipy="expm1", special="expm1",
                         method="expm1"), np.expm1, (-3.0, 3.0),
          rewrite("expm1", "exp(x) - 1", np.expm1, [(-3.0, 3.0)], _extremes(*TINY, name="tiny")),
          extremes=_extremes(*TINY, name="tiny")),
    unary("log", spell("log", numpy="log", torch="log", math="log", method="log"), np.log, (0.2, 4.0),
          kinks=[kink("kink", [[0.0, 4.0]], [[math.inf, 0.25]])]),
    unary("log2", spell("log2", numpy="log2", torch="log2", math="log2", method="log2"), np.log2, (0.2, 4.0)),
    unary("log10", spell("log10", numpy="log10", torch="log10", math="log10", method="log10"),
          np.log10, (0.2, 4.0)),
    unary("log1p", spell("log1p", numpy="log1p", torch="log1p", math="log1p", scipy="log1p", special="log1p",
                         method="log1p"), np.log1p, (-0.8, 3.0),
          rewrite("log1p", "log(1 + x)", np.log1p, [(-0.8, 3.0)], _extremes(*TINY, name="tiny")),
          rewrite("log1p", "log(1 - x)", lambda x: np.log1p(-x), [(-3.0, 0.8)],
                  _extremes(*TINY, name="tiny")),
          extremes=_extremes(*TINY, name="tiny")),
    unary("sqrt", spell("sqrt", numpy="sqrt", torch="sqrt", math="sqrt", method="sqrt"), np.sqrt, (0.2, 4.0),
          kinks=[kink("kink", [[0.0, 4.0]], [[math.inf, 0.25]])]),
    unary("square", spell("square", numpy="square", torch="square", method="square"), np.square, (-3.0, 3.0)),
    unary("positive", spell("positive real conj conjugate", numpy="positive real conj conjugate",
                            torch="positive real conj"), np.positive, (-3.0, 3.0)),
    unary("imag", spell("imag", numpy="imag", torch="imag"), np.imag, (-3.0, 3.0)),
    unary("reciprocal", spell("reciprocal", numpy="reciprocal", torch="reciprocal", method="reciprocal"),
          np.reciprocal, (0.5, 3.0)),
    unary("deg2rad", spell("deg2rad radians", numpy="deg2rad radians", torch="deg2rad"), np.deg2rad, (-3.0, 3.0)),
    unary("rad2deg", spell("rad2deg degrees", numpy="rad2deg degrees", torch="rad2deg"), np.rad2deg, (-3.0, 3.0)),
    unary("abs", spell("abs absolute fabs", numpy="abs absolute fabs", torch="abs absolute", math="fabs",
                       method="abs absolute"), np.abs, (-3.0, 3.0), clear=np.abs,
          kinks=[kink("kink", [[-2.0, 0.0, 3.0]], [[-1.0, 0.0, 1.0]])]),
    unary("sign", spell("sign", numpy="sign", torch="sign", method="sign"), np.sign, SYMMETRIC, clear=np.abs,
          kinks=[kink("kink", [[-1.5, 0.0, 2.0]], [[0.0, 0.0, 0.0]])]),
    unary("floor", spell("floor", numpy="floor", torch="floor", math="floor", method="floor"), np.floor,
          (-2.5, 2.5), clear=_integer_distance,
          kinks=[kink("kink", [[-1.0, 0.0, 1.0, 2.0]], [[0.0, 0.0, 0.0, 0.0]])]),
    unary("ceil", spell("ceil", numpy="ceil", torch="ceil", math="ceil", method="ceil"), np.ceil,
          (-2.5, 2.5), clear=_integer_distance,
          kinks=[kink("kink", [[-1.0, 0.0, 1.0, 2.0]], [[0.0, 0.0, 0.0, 0.0]])]),
    unary("cbrt", spell("cbrt", numpy="cbrt"), np.cbrt, (-3.0, 3.0), clear=np.abs,
          kinks=[kink("zero", [[0.0, -8.0]], [[math.inf, 1 / 12]])]),
    unary("erf", spell("erf", torch="erf", math="erf", scipy="erf", special="erf", method="erf"), erf,
          (-3.0, 3.0), ref_eps=FLOAT64_EPS),
    unary("sigmoid", spell("sigmoid expit", torch="sigmoid", nn="sigmoid", scipy="expit", special="expit",
                           method="sigmoid"), sigmoid, (-6.0, 6.0), *SIGMOID_REWRITES,
          extremes=SIGMOID_EXTREMES),
    unary("softplus", spell("softplus", nn="softplus"), softplus, (-6.0, 6.0), *SOFTPLUS_REWRITES, *SOFTPLUS_TORCH,
          extremes=SOFTPLUS_EXTREMES),
    unary("relu", spell("relu", torch="relu", nn="relu", method="relu"), relu, (-3.0, 3.0), clear=np.abs,
          kinks=[kink("kink", [[-1.0, 0.0, 2.0]], [[0.0, 0.0, 1.0]])]),
    *ACTIVATIONS,
]


def binary(op, spellings, reference, domains, *rewrites: Variant, **options) -> OpInfo:
    return op_info(op, "elementwise", elementwise(op, spellings, reference, domains, **options), *rewrites)


TIES = [[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]]
ZERO_BASE = [[0.0, 0.0, 0.0, 4.0], [0.0, 2.0, 0.5, 0.0]]
# a ** b: no gradient through b where a == 0 and b >= 0, none through a where b == 0.
ZERO_BASE_PARTIALS = [[0.0, 0.0, math.inf, 0.0], [0.0, 0.0, 0.0, math.log(4.0)]]
POWER_KINKS = [kink("zero-base", ZERO_BASE, ZERO_BASE_PARTIALS),
               kink("zero-base-neg", [[0.0], [-1.0]], [[-math.inf], [-math.inf]])]

BINARY_OPS = [
    binary("arctan2", spell("arctan2 atan2", numpy="arctan2 atan2", torch="atan2 arctan2", math="atan2",
                            method="atan2 arctan2", args="x, y", extra=["torch.atan2(input=x, other=y)"]),
           np.arctan2, [(-2.0, 2.0), (-2.0, 2.0)], clear=_origin_distance),
    binary("hypot", spell("hypot", numpy="hypot", torch="hypot", math="hypot", method="hypot", args="x, y",
                          extra=["torch.hypot(x, other=y)"]),
           np.hypot, [(-2.0, 2.0), (-2.0, 2.0)], clear=_origin_distance),
    binary("maximum", spell("maximum", numpy="maximum", torch="maximum", method="maximum", args="x, y",
                            extra=["torch.maximum(input=x, other=y)"]),
           np.maximum, [(-2.0, 2.0), (-2.0, 2.0)], clear=_pair_distance,
           kinks=[kink("tie", TIES, [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]])]),
    binary("minimum", spell("minimum", numpy="minimum", torch="minimum", method="minimum", args="x, y",
                            extra=["torch.minimum(other=y, input=x)"]),
           np.minimum, [(-2.0, 2.0), (-2.0, 2.0)], clear=_pair_distance,
           kinks=[kink("tie", TIES, [[1.0, 0.5, 0.0], [0.0, 0.5, 1.0]])]),
    binary("logaddexp2", spell("logaddexp2", numpy="logaddexp2", torch="logaddexp2", method="logaddexp2", args="x, y"),
           np.logaddexp2, [(-3.0, 3.0), (-3.0, 3.0)],
           extremes=_extremes([[-800.0, 800.0, 1000.0], [800.0, -800.0, 1000.0]], [[-100.0, 100.0], [100.0, -100.0]],
                              lambda x, y: (1 / (1 + np.exp2(y - x)), 1 / (1 + np.exp2(x - y))))),
    binary("copysign", spell("copysign", numpy="copysign", torch="copysign", math="copysign", method="copysign",
                             args="x, y"), np.copysign, [(-2.0, 2.0), (-2.0, 2.0)], clear=_first_distance,
           kinks=[kink("zero", [[0.0, 0.0, 1.5], [2.0, -2.0, -1.0]], [[0.0, 0.0, -1.0], [0.0, 0.0, 0.0]])]),
    binary("heaviside", spell("heaviside", numpy="heaviside", torch="heaviside", method="heaviside", args="x, y"),
           np.heaviside, [(-2.0, 2.0), (-2.0, 2.0)], clear=_first_distance,
           kinks=[kink("zero", [[0.0, -1.0, 1.0], [0.3, 0.3, 0.3]], [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])]),
    binary("logaddexp", spell("logaddexp", numpy="logaddexp", torch="logaddexp", method="logaddexp",
                              args="x, y", extra=["torch.logaddexp(x, other=y)"]),
           np.logaddexp, [(-3.0, 3.0), (-3.0, 3.0)],
           rewrite("logaddexp", "log(exp(x) + exp(y))", np.logaddexp, [(-3.0, 3.0)] * 2,
                   _extremes([[1000.0, -1000.0, 800.0], [1000.0, -1001.0, -800.0]],
                             [[100.0, -100.0, 80.0], [100.0, -101.0, -80.0]], _logaddexp_partials)),
           kinks=[kink("inf", [[math.inf, -math.inf], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]])],
           extremes=(
               extreme("tie", [[1.5, -3.0], [1.5, -3.0]], _logaddexp_partials),
               *_extremes([[800.0, -800.0, 800.0, 1000.0, -1000.0], [799.0, -801.0, -800.0, 1000.0, -1000.0]],
                          [[100.0, -100.0, 100.0, 80.0], [99.0, -101.0, -100.0, 80.0]],
                          _logaddexp_partials))),
    # Jumps where x / y is a whole number: no gradient for //; slopes 1 and -(x // y) for the
    # remainders (-trunc(x / y) for fmod), as in PyTorch, at the jumps too.
    binary("floor_divide", spell("floor_divide", numpy="floor_divide", torch="floor_divide",
                                 method="floor_divide", args="x, y"),
           np.floor_divide, [(-3.0, 3.0), (0.5, 2.0)], clear=_quotient_distance,
           kinks=[kink("jump", [[2.0, -3.0, 0.0], [1.0, 1.5, 2.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])]),
    binary("remainder", spell("remainder mod", numpy="remainder mod", torch="remainder", method="remainder",
                              args="x, y", extra=["torch.remainder(x, other=y)"]),
           np.remainder, [(-3.0, 3.0), (-2.0, 2.0)], clear=_quotient_distance,
           kinks=[kink("jump", [[2.0, -3.0, 0.0], [1.0, 1.5, 2.0]], [[1.0, 1.0, 1.0], [-2.0, 2.0, 0.0]])]),
    binary("fmod", spell("fmod", numpy="fmod", torch="fmod", math="fmod", method="fmod", args="x, y"),
           np.fmod, [(-3.0, 3.0), (-2.0, 2.0)], clear=_quotient_distance,
           kinks=[kink("jump", [[2.0, -3.0, 0.0], [1.0, 1.5, 2.0]], [[1.0, 1.0, 1.0], [-2.0, 2.0, 0.0]])]),
    binary("power", spell("power pow", numpy="power pow", torch="pow", math="pow", method="pow", args="x, y",
                          extra=["torch.pow(x, exponent=y)", "torch.pow(input=x, exponent=y)"]),
           np.power, [(0.5, 2.0), (-2.0, 2.0)], kinks=POWER_KINKS),
]


def operator_info(op, *variants: Variant) -> OpInfo:
    return op_info(op, "operator", *variants)


def _operator(op, source, reference, domains, **options) -> Variant:
    return elementwise(op, [source], reference, domains, name=source, **options)


SIGNED, POSITIVE = (-2.0, 2.0), (0.5, 2.0)

OPERATORS = [
    operator_info("add", _operator("add", "x + y", np.add, [SIGNED, SIGNED]),
                  _operator("add", "x + 2.5", lambda x: x + 2.5, [SIGNED]),
                  elementwise("add", spell("add", numpy="add", torch="add", method="add", args="x, y"), np.add,
                              [SIGNED, SIGNED], name="by-name")),
    operator_info("sub", _operator("sub", "x - y", np.subtract, [SIGNED, SIGNED]),
                  _operator("sub", "2.5 - x", lambda x: 2.5 - x, [SIGNED]),
                  elementwise("sub", spell("subtract", numpy="subtract", torch="subtract", args="x, y"), np.subtract,
                              [SIGNED, SIGNED], name="by-name")),
    operator_info("mul", _operator("mul", "x * y", np.multiply, [SIGNED, SIGNED]),
                  _operator("mul", "3 * x", lambda x: 3 * x, [SIGNED]),
                  elementwise("mul", spell("multiply", numpy="multiply", torch="multiply", args="x, y"), np.multiply,
                              [SIGNED, SIGNED], name="by-name")),
    operator_info("div", _operator("div", "x / y", np.divide, [SIGNED, POSITIVE]),
                  _operator("div", "3 / x", lambda x: 3 / x, [POSITIVE]),
                  _operator("div", "x / 4", lambda x: x / 4, [SIGNED]),
                  elementwise("div", spell("divide true_divide", numpy="divide true_divide", torch="divide true_divide",
                                           args="x, y"), np.divide, [SIGNED, POSITIVE], name="by-name")),
    operator_info("pow", _operator("pow", "x ** y", np.power, [POSITIVE, SIGNED], kinks=POWER_KINKS),
                  _operator("pow", "x ** 3", lambda x: x**3, [SIGNED]),
                  _operator("pow", "x ** -1.5", lambda x: x**-1.5, [POSITIVE]),
                  _operator("pow", "x ** 0.5", np.sqrt, [POSITIVE]),
                  _operator("pow", "2 ** x", lambda x: np.exp2(x), [SIGNED]),
                  _operator("pow", "x ** 0", lambda x: np.ones_like(x), [SIGNED],
                            kinks=[kink("kink", [[0.0, 2.0]], [[0.0, 0.0]])])),
    operator_info("floor_divide", _operator("floor_divide", "x // y", np.floor_divide, [SIGNED, POSITIVE],
                                            clear=_quotient_distance),
                  _operator("floor_divide", "x // 0.75", lambda x: x // 0.75, [SIGNED],
                            clear=lambda x: _quotient_distance(x, 0.75))),
    operator_info("remainder", _operator("remainder", "x % y", np.remainder, [SIGNED, SIGNED],
                                         clear=_quotient_distance),
                  _operator("remainder", "x % 0.75", lambda x: x % 0.75, [SIGNED],
                            clear=lambda x: _quotient_distance(x, 0.75)),
                  _operator("remainder", "5 % x", lambda x: 5 % x, [POSITIVE],
                            clear=lambda x: _quotient_distance(5, x))),
    operator_info("neg", _operator("neg", "-x", np.negative, [SIGNED]),
                  elementwise("neg", spell("negative", numpy="negative", torch="negative", method="negative"), np.negative,
                              [SIGNED], name="by-name")),
]


# ---- clamp and where --------------------------------------------------------------------------

def _bound_distance(x, lo, hi):
    return np.minimum(np.abs(x - lo), np.abs(x - hi))


CLAMP_1_2 = [0.5, 1.0, 1.5, 2.0, 2.5]
CLAMP_1_2_PARTIALS = [[0.0, 1.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]]
BOUNDS = [(-2.0, 2.0), (-1.5, -0.5), (0.5, 1.5)]

CLAMP = op_info(
    "clamp", "elementwise",
    elementwise("clamp", spell(
        "clamp clip", numpy="clip", torch="clamp clip", method="clamp clip", args="x, lo, hi",
        extra=["torch.clamp(x, min=lo, max=hi)", "torch.clamp(input=x, min=lo, max=hi)",
               "np.clip(x, a_min=lo, a_max=hi)", "x.clamp(min=lo, max=hi)", "x.clip(min=lo, max=hi)",
               "clamp(x, lo=lo, hi=hi)"]),
        clamp, BOUNDS, clear=_bound_distance, kinks=[
            # passes where lo <= x <= hi, both ends inclusive; a bound gets it where selected
            kink("bounds", [CLAMP_1_2, [1.0] * 5, [2.0] * 5], CLAMP_1_2_PARTIALS),
            kink("scalar-bounds", [[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], 1.0, 2.0],
                 [[0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]]),
            # lo > hi: min(max(x, lo), hi) is hi everywhere, and hi gets the whole gradient
            kink("lo>hi", [[0.0, 1.5, 3.0], [2.0] * 3, [1.0] * 3], [[0.0] * 3, [0.0] * 3, [1.0] * 3])]),
    elementwise("clamp", [
        "clamp(x, min=lo)", "clamp(x, lo, None)", "clip(x, lo, None)", "np.clip(x, lo, None)",
        "torch.clamp(x, min=lo)", "torch.clip(x, min=lo)", "x.clamp(min=lo)", "x.clip(lo, None)",
        "x.clip(min=lo)"],
        clamp, [(-2.0, 2.0), (-1.0, 1.0)], name="min", inputs=("x", "lo"), clear=_pair_distance,
        kinks=[kink("kink", [[0.5, 1.0, 1.5], [1.0] * 3], [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])]),
    elementwise("clamp", [
        "clamp(x, max=hi)", "clamp(x, None, hi)", "np.clip(x, None, hi)", "np.clip(x, a_max=hi)",
        "torch.clamp(x, max=hi)", "x.clamp(max=hi)", "x.clip(None, hi)", "x.clip(max=hi)"],
        lambda x, hi: clamp(x, None, hi), [(-2.0, 2.0), (-1.0, 1.0)], name="max", inputs=("x", "hi"),
        clear=_pair_distance,
        kinks=[kink("kink", [[0.5, 1.0, 1.5], [1.0] * 3], [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])]),
    elementwise("clamp", ["clamp(x, -0.5, 0.5)", "np.clip(x, -0.5, 0.5)", "torch.clamp(x, min=-0.5, max=0.5)",
                          "x.clamp(-0.5, 0.5)", "x.clip(-0.5, 0.5)"],
                lambda x: clamp(x, -0.5, 0.5), [(-2.0, 2.0)], name="constant bounds",
                clear=lambda x: np.minimum(np.abs(x - 0.5), np.abs(x + 0.5)),
                kinks=[kink("kink", [[-1.0, -0.5, 0.0, 0.5, 1.0]], [[0.0, 1.0, 1.0, 1.0, 0.0]])]),
    # clamp(x, min=0) passes the gradient at 0, unlike relu
    elementwise("clamp", ["clamp(x, min=0)", "torch.clamp(x, min=0)", "x.clamp(min=0)",
                          "np.clip(x, 0, None)"], relu, [(-2.0, 2.0)], name="min=0", clear=np.abs,
                kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[0.0, 1.0, 1.0]])]),
    elementwise("clamp", ["clamp(x, 3.0, 0.5)", "np.clip(x, 3.0, 0.5)", "torch.clamp(x, 3.0, 0.5)"],
                lambda x: clamp(x, 3.0, 0.5), [(-1.0, 4.0)], name="constant lo > hi",
                kinks=[kink("kink", [[0.5, 1.0, 3.0, 4.0]], [[0.0] * 4])]),
    # One input as both bounds: the value is a everywhere (lo >= hi: hi), so a gets the whole
    # gradient, at x == a too, and x none.
    elementwise("clamp", ["clamp(x, a, a)", "torch.clamp(x, min=a, max=a)", "np.clip(x, a, a)"],
                lambda x, a: clamp(x, a, a), [(-2.0, 2.0), (-1.0, 1.0)], name="shared bound",
                inputs=("x", "a"), clear=_pair_distance,
                kinks=[kink("kink", [[0.5, 1.0, 1.5], [1.0] * 3], [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])]),
)


def _where_sqrt(x):
    positive = x > 0
    return np.where(positive, np.sqrt(np.where(positive, x, 1)), 0)


def _where_log(x):
    positive = x > 0
    return np.where(positive, np.log(np.where(positive, x, 1)), x)


WHERE = op_info(
    "where", "elementwise",
    elementwise("where", spell("where", numpy="where", torch="where", args="c > 0, x, y", extra=[
        "torch.where(c > 0, input=x, other=y)", "torch.where(condition=c > 0, input=x, other=y)"]),
        lambda c, x, y: np.where(c > 0, x, y), [(-1.0, 1.0), (-2.0, 2.0), (-2.0, 2.0)],
        inputs=("c", "x", "y"),
        clear=lambda c, x, y: np.abs(c) + 0 * (x + y),
        kinks=[kink("kink", [[-1.0, 0.0, 1.0], [5.0, 6.0, 7.0], [8.0, 9.0, 10.0]],
                    [[0.0] * 3, [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])]),
    elementwise("where", ["where(x >= y, x, y)", "np.where(x >= y, x, y)", "torch.where(x >= y, x, y)"],
                lambda x, y: np.where(x >= y, x, y), [(-2.0, 2.0), (-2.0, 2.0)], name="x >= y",
                clear=_pair_distance, kinks=[kink("tie", TIES, [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])]),
    # constant branches: a number's dtype must not leak into the value or the gradient
    elementwise("where", ["where(x > 0, x, 0)", "np.where(x > 0, x, 0)", "torch.where(x > 0, x, 0.0)"],
                relu, [(-2.0, 2.0)], name="constant branch", clear=np.abs,
                kinks=[kink("kink", [[-1.0, 0.0, 1.0]], [[0.0, 0.0, 1.0]])]),
    elementwise("where", ["where(x > 0, 2, 3)", "np.where(x > 0, 2, 3)"],
                lambda x: np.where(x > 0, 2.0, 3.0).astype(x.dtype), [(-2.0, 2.0)], name="constants",
                clear=np.abs),
    # NaN-safe branches (README, Numerics): the branch not taken is not evaluated
    elementwise("where", ["where(x > 0, sqrt(x), 0.0)", "np.where(x > 0, np.sqrt(x), 0.0)"],
                _where_sqrt, [(-2.0, 2.0)], name="sqrt branch", clear=np.abs,
                kinks=[kink("kink", [[-1.0, 0.0, 4.0]], [[0.0, 0.0, 0.25]])]),
    elementwise("where", ["where(x > 0, log(x), x)", "torch.where(x > 0, torch.log(x), x)"],
                _where_log, [(-2.0, 2.0)], name="log branch", clear=np.abs,
                kinks=[kink("kink", [[-1.0, 0.0, 2.0]], [[1.0, 1.0, 0.5]])]),
)


# ---- reductions -------------------------------------------------------------------------------

def _shaped(key, shapes, dtype="float64") -> list[Sample]:
    """Samples of one input, by name and shape, uniform on [-2, 2]."""
    return [Sample(name if dtype == "float64" else f"{name}-f32",
                   draw([(-2.0, 2.0)], [shape], _seed(key, name), dtype)) for name, shape in shapes]


# (name, numpy-style arguments, torch-style arguments (None: no torch spelling), method arguments,
# reference keywords, sample shapes): one variant of each reduction per form of its static arguments.
REDUCTION_FORMS = [
    ("all", "", "", [""], {}, "flat"),
    ("axis=1", "axis=1", "dim=1", ["1", "dim=1"], {"axis": 1}, "3d"),
    ("axis=-1", "axis=-1", "-1", ["-1"], {"axis": -1}, "3d"),
    ("axis=0", "0", "0", ["0"], {"axis": 0}, "3d"),
    ("axis=(0,2)", "axis=(0, 2)", "dim=(0, 2)", ["dim=(2, 0)"], {"axis": (0, 2)}, "3d"),
    ("keepdims", "axis=1, keepdims=True", "1, keepdim=True", ["1, keepdim=True", "dim=1, keepdim=True"],
     {"axis": 1, "keepdims": True}, "3d"),
    ("all keepdims", "axis=None, keepdims=True", None, ["keepdims=True"], {"keepdims": True}, "flat"),
]
REDUCTION_SHAPES = {
    "flat": [("2d", (2, 3)), ("vec", (5,)), ("3d", (2, 3, 4)), ("0d", ()), ("rows", (9, 2)),
             ("empty", (0,)), ("empty2d", (0, 3))],
    "3d": [("3d", (2, 3, 4)), ("cube", (3, 2, 2)), ("empty", (0, 3, 4)), ("empty-axis", (2, 0, 4))],
}
FLOAT32_REDUCTION_SAMPLES = ("2d", "0d", "3d")
# exp overflows at +-800 (and at 1000, 999: README, Numerics), in float32 at +-100; "large" has
# no element whose exp underflows, "extreme" mixes both ends.
LOGSUMEXP_EXTREMES = [
    ("extreme", [[[800.0, 799.0], [-800.0, -801.0]], [[1000.0, 999.0], [0.0, -1.0]]], "float64"),
    ("extreme-f32", [[[100.0, 99.0], [-100.0, -101.0]], [[80.0, 79.0], [0.0, -1.0]]], "float32"),
    ("large", [[[1000.0, 999.0], [800.0, 799.0]], [[710.0, 709.0], [700.0, 650.0]]], "float64"),
    ("large-f32", [[[100.0, 99.0], [95.0, 94.0]], [[89.0, 88.0], [80.0, 70.0]]], "float32"),
]


def _reduction_spellings(op, numpy_args, torch_args, method_args) -> tuple[Spelling, ...]:
    def call(prefix, args):
        return f"{prefix}{op}(x, {args})" if args else f"{prefix}{op}(x)"

    sources = [call("", numpy_args)]
    if op == "logsumexp":
        sources.append(call("scipy.special.", numpy_args))
        if torch_args:  # torch.logsumexp and Tensor.logsumexp need a dim
            sources += [call("torch.", torch_args), call("torch.special.", torch_args)]
        method_args = [a for a in method_args if a and not a.startswith("keepdims")]
    else:
        sources += [call("np.", numpy_args), call("numpy.", numpy_args)]
        if torch_args is not None:
            sources.append(call("torch.", torch_args))
    if op in ("amax", "amin"):  # np.max, np.min; the method only with axis= (calls.py refuses x.max(1))
        sources.append(call("np.", numpy_args).replace(f"np.{op}(", f"np.{op[1:]}("))
        if numpy_args.startswith("axis=") or not numpy_args:  # bare max(x, 1) is Python's max: refused
            sources += [f"x.{op[1:]}({numpy_args})", call("", numpy_args).replace(f"{op}(", f"{op[1:]}(")]
        if torch_args and "(" not in torch_args:  # torch.max(x, dim): (values, indices), over one dim
            dim = torch_args if torch_args.startswith("dim=") else "dim=" + torch_args
            sources += [f"torch.{op[1:]}(x, {torch_args})[0]", f"torch.{op[1:]}(x, {torch_args}).values",
                        f"x.{op[1:]}({dim})[0]"]
    return tuple(as_spelling(s) for s in sources)


def reduction(op, reference) -> OpInfo:
    variants = []
    for name, numpy_args, torch_args, method_args, keywords, shapes in REDUCTION_FORMS:
        def ref(x, keywords=keywords):
            return reference(x, **keywords)

        key = f"{op}/{name}"
        shape_list = REDUCTION_SHAPES[shapes]
        if op in ("amax", "amin"):  # of no elements: an error in NumPy, as in derivgen
            shape_list = [s for s in shape_list if not s[0].startswith("empty")]
        samples = _shaped(key, shape_list)
        samples += _shaped(key, [s for s in shape_list if s[0] in FLOAT32_REDUCTION_SAMPLES],
                           "float32")
        if op == "logsumexp":
            samples += [extreme(n, [x], dtype=dtype) for n, x, dtype in LOGSUMEXP_EXTREMES]
        magnitude = None if op == "logsumexp" else _abs_sum(ref)
        spellings = _reduction_spellings(op, numpy_args, torch_args, method_args)
        variants.append(Variant(op, name, ("x",), spellings, ref, tuple(samples), magnitude))
    return OpInfo(op, "reduction", tuple(variants))


def _logsumexp_rewrite(source, reference) -> Variant:
    """A form the README's Numerics table says derivgen computes like logsumexp (or softmax)."""
    samples = _shaped(source, [("vec", (5,)), ("2d", (2, 3)), ("0d", ())])
    samples += _shaped(source, [("2d", (2, 3))], "float32")
    samples += [extreme(n, [x], dtype=dtype) for n, x, dtype in LOGSUMEXP_EXTREMES]
    return Variant("logsumexp", source, ("x",), (as_spelling(source),), reference, tuple(samples))


LOGSUMEXP = reduction("logsumexp", logsumexp)
LOGSUMEXP = replace(LOGSUMEXP, variants=LOGSUMEXP.variants + (
    _logsumexp_rewrite("log(sum(exp(x)))", logsumexp),
    _logsumexp_rewrite("exp(x) / sum(exp(x))", softmax),
    _logsumexp_rewrite("exp(x) / sum(exp(x), axis=-1, keepdims=True)", lambda x: softmax(x, axis=-1)),
))
def _others(x, axis=None, keepdims=False):
    """The product of the other elements over the axis (all of them: None), at each element:
    the partial derivatives of np.prod, written out one element at a time."""
    x = np.asarray(x, np.float64)
    axes = range(x.ndim) if axis is None else [axis % x.ndim]
    out = np.empty_like(x)
    for at in np.ndindex(x.shape):
        mask = np.ones(x.shape, bool)
        for d in range(x.ndim):  # the elements sharing at's positions off the reduced axes
            if d not in axes:
                index = [slice(None)] * x.ndim
                index[d] = [i for i in range(x.shape[d]) if i != at[d]]
                mask[tuple(index)] = False
        mask[at] = False
        out[at] = np.prod(x[mask])
    return out


# Zeros among the factors: the gradient is the product of the others (finite differences see it
# too: a product is a polynomial), exact where two factors are 0.
PROD_ZEROS = [[0.0, 3.0, -2.0], [1.5, 0.5, 4.0]]
PROD_TWO_ZEROS = [[0.0, 3.0, 0.0], [1.5, 0.0, 4.0]]
PROD_KINKS = [kink("zero", [PROD_ZEROS], [_others(PROD_ZEROS)]),
              kink("zeros", [PROD_TWO_ZEROS], [_others(PROD_TWO_ZEROS)])]
PROD = reduction("prod", np.prod)
PROD = replace(PROD, variants=PROD.variants + (
    Variant("prod", "zeros", ("x",), tuple(as_spelling(s) for s in ["prod(x)", "np.prod(x)", "torch.prod(x)",
                                                                      "x.prod()", "numpy.prod(a=x)"]),
            np.prod, (*PROD_KINKS, *(_as_float32(k) for k in PROD_KINKS))),
    Variant("prod", "zeros axis=1", ("x",), tuple(as_spelling(s) for s in [
        "prod(x, axis=1, keepdims=True)", "torch.prod(x, 1, keepdim=True)", "x.prod(dim=1, keepdim=True)",
        "x.prod(axis=-1, keepdims=True)"]),
        lambda x: np.prod(x, axis=1, keepdims=True),
        (kink("zero", [PROD_ZEROS], [_others(PROD_ZEROS, 1)]), kink("zeros", [PROD_TWO_ZEROS],
                                                                    [_others(PROD_TWO_ZEROS, 1)]))),
    Variant("prod", "zeros axis=(0,2)", ("x",), (as_spelling("np.prod(x, axis=(0, 2))"),),
            lambda x: np.prod(x, axis=(0, 2)),
            tuple(Sample(name, (np.where(np.arange(24).reshape(2, 3, 4) % every == 0, 0.0, x),))
                  for name, every, x in (("zero", 7, draw([(-2.0, 2.0)], [(2, 3, 4)], _seed("prod0"))[0]),
                                         ("zeros", 5, draw([(-2.0, 2.0)], [(2, 3, 4)], _seed("prod1"))[0])))),
))
REDUCTIONS = [reduction("sum", np.sum), reduction("mean", np.mean), LOGSUMEXP, reduction("amax", np.max),
              reduction("amin", np.min), PROD]


# ---- linear algebra ---------------------------------------------------------------------------

def _pairs(key, shapes) -> tuple[Sample, ...]:
    """Samples of two inputs by name and shapes, each also in float32 if its name says so."""
    samples = []
    for name, a, b in shapes:
        dtype = "float32" if name.endswith("-f32") else "float64"
        samples.append(Sample(name, draw([(-2.0, 2.0)] * 2, [a, b], _seed(key, name), dtype)))
    return tuple(samples)


MATMUL = OpInfo("matmul", "linalg", (Variant(
    "matmul", "", ("a", "b"),
    tuple(as_spelling(s) for s in ["a @ b", "matmul(a, b)", "np.matmul(a, b)", "numpy.matmul(a, b)",
                                   "torch.matmul(a, b)", "torch.matmul(input=a, other=b)", "a.matmul(b)"]),
    np.matmul,
    _pairs("matmul", [("mat@mat", (2, 3), (3, 4)), ("vec@vec", (3,), (3,)), ("mat@vec", (2, 3), (3,)),
                      ("vec@mat", (3,), (3, 2)), ("batch@mat", (2, 2, 3), (3, 4)),
                      ("batch@vec", (2, 2, 3), (3,)),
                      ("vec@batch", (3,), (2, 3, 2)), ("batch@batch", (2, 1, 2, 3), (3, 3, 2)),
                      ("empty", (0, 3), (3, 2)), ("empty-inner", (2, 0), (0, 3)),
                      ("mat@mat-f32", (2, 3), (3, 4)), ("vec@vec-f32", (3,), (3,))]),
    _abs_sum(np.matmul)),))

DOT = OpInfo("dot", "linalg", (Variant(
    "dot", "", ("a", "b"),
    tuple(as_spelling(s) for s in ["dot(a, b)", "np.dot(a, b)", "numpy.dot(a, b)", "a.dot(b)"])
    + (Spelling("torch.dot", "torch.dot(a, b)", only=("vec.vec", "vec.vec-f32")),),
    np.dot,
    _pairs("dot", [("mat.mat", (2, 3), (3, 4)), ("vec.vec", (3,), (3,)), ("mat.vec", (2, 3), (3,)),
                   ("vec.mat", (3,), (3, 2)), ("0d.mat", (), (2, 3)), ("mat.0d", (2, 3), ()), ("0d", (), ()),
                   ("nd.vec", (2, 2, 3), (3,)), ("nd.mat", (2, 2, 3), (3, 4)), ("mat.nd", (2, 3), (2, 3, 4)),
                   ("nd.nd", (2, 2, 3), (2, 3, 2)), ("vec.nd", (3,), (2, 3, 4)),
                   ("empty", (0, 3), (3, 2)), ("empty-inner", (2, 0), (0, 3)),
                   ("mat.mat-f32", (2, 3), (3, 4)), ("vec.vec-f32", (3,), (3,))]),
    _abs_sum(np.dot)),))

TRANSPOSE = OpInfo("transpose", "linalg", (Variant(
    "transpose", "", ("x",),
    tuple(as_spelling(s) for s in ["x.T", "transpose(x)", "t(x)", "np.transpose(x)", "numpy.transpose(x)",
                                   "torch.t(x)", "x.t()", "x.transpose()"]),
    np.transpose,
    tuple(_shaped("transpose", [("2d", (2, 3)), ("vec", (3,)), ("0d", ()), ("3d", (2, 3, 4)),
                                ("empty", (0, 3))])
          + _shaped("transpose", [("2d", (2, 3))], "float32"))),))


# ---- ops that move elements -------------------------------------------------------------------

def _layout(op, name, sources, reference, shapes, float32=("2d", "3d")) -> Variant:
    """One program of an op that moves elements, on inputs of the shapes given by name."""
    key = f"{op}/{name}"
    samples = _shaped(key, shapes) + _shaped(key, [s for s in shapes if s[0] in float32], "float32")
    return Variant(op, name, ("x",), tuple(as_spelling(s) for s in sources), reference, tuple(samples))


_VEC, _2D, _3D, _0D = ("vec", (5,)), ("2d", (3, 4)), ("3d", (3, 4, 2)), ("0d", ())
LAYOUT = (
    OpInfo("getitem", "linalg", (
        _layout("getitem", "int", ["x[1]"], lambda x: x[1], [_VEC, _2D, _3D]),
        _layout("getitem", "int,slice", ["x[-1, 1:]"], lambda x: x[-1, 1:], [_2D, _3D, ("empty", (2, 0))]),
        _layout("getitem", "step", ["x[::2]", "x[0::2]", "x[:None:2]"], lambda x: x[::2],
                [_VEC, _2D, ("empty", (0, 3))]),
        _layout("getitem", "ellipsis,newaxis", ["x[..., None, 0]", "x[..., np.newaxis, 0]"],
                lambda x: x[..., None, 0], [_VEC, _2D, _3D]),
        _layout("getitem", "newaxis", ["x[None]", "x[np.newaxis]"], lambda x: x[None], [_0D, _2D]),
        _layout("getitem", "positions", ["x[[0, 2, 0]]"], lambda x: x[[0, 2, 0]], [_VEC, _2D, _3D]),
        _layout("getitem", "slice,positions", ["x[1:3, [1, 1, -1]]"], lambda x: x[1:3, [1, 1, -1]], [_2D, _3D]),
        _layout("getitem", "negative-step", ["x[::-1, 2:0:-1]"], lambda x: x[::-1, 2:0:-1], [_2D, _3D]),
    )),
    OpInfo("reshape", "linalg", (
        _layout("reshape", "", ["reshape(x, (2, -1))", "np.reshape(x, (2, -1))", "numpy.reshape(x, (2, -1))",
                                "torch.reshape(x, (2, -1))", "x.reshape(2, -1)", "x.reshape((2, -1))",
                                "x.view(2, -1)", "view(x, (2, -1))", "reshape(x, shape=(2, -1))"],
                lambda x: np.reshape(x, (2, -1)), [_2D, ("vec", (6,)), _3D]),
        _layout("reshape", "to-0d", ["reshape(x, ())", "x.reshape(())"], lambda x: np.reshape(x, ()),
                [("one", (1,)), _0D, ("one-2d", (1, 1))], float32=("one",)),
    )),
    OpInfo("flatten", "linalg", (
        _layout("flatten", "", ["flatten(x)", "ravel(x)", "np.ravel(x)", "numpy.ravel(x)", "x.ravel()",
                                "x.flatten()", "torch.flatten(x)", "torch.ravel(x)"],
                np.ravel, [_2D, _3D, _0D, _VEC]),
        _layout("flatten", "start_dim=1", ["flatten(x, 1)", "torch.flatten(x, 1)", "x.flatten(1)",
                                           "torch.flatten(x, start_dim=1)"],
                lambda x: np.reshape(x, (x.shape[0], -1)), [_2D, _3D]),
        _layout("flatten", "0..-2", ["flatten(x, 0, -2)", "x.flatten(0, 1)", "torch.flatten(x, end_dim=-2)"],
                lambda x: np.reshape(x, (-1, x.shape[-1])), [_3D]),
    )),
    OpInfo("squeeze", "linalg", (
        _layout("squeeze", "", ["squeeze(x)", "np.squeeze(x)", "numpy.squeeze(x)", "torch.squeeze(x)",
                                "x.squeeze()"], np.squeeze, [("3d", (1, 3, 1)), ("2d", (2, 1)), _0D]),
        _layout("squeeze", "axis=1", ["squeeze(x, 1)", "np.squeeze(x, axis=1)", "torch.squeeze(x, 1)",
                                      "x.squeeze(1)", "x.squeeze(dim=1)"],
                lambda x: np.squeeze(x, 1), [("3d", (2, 1, 3)), ("2d", (3, 1))]),
    )),
    OpInfo("expand_dims", "linalg", (
        _layout("expand_dims", "", ["expand_dims(x, 1)", "np.expand_dims(x, 1)", "numpy.expand_dims(x, axis=1)",
                                    "unsqueeze(x, 1)", "torch.unsqueeze(x, 1)", "x.unsqueeze(1)",
                                    "x.unsqueeze(dim=1)"], lambda x: np.expand_dims(x, 1), [_VEC, _2D, _3D]),
        _layout("expand_dims", "axis=(0,-1)", ["expand_dims(x, (0, -1))", "np.expand_dims(x, axis=(0, -1))"],
                lambda x: np.expand_dims(x, (0, -1)), [_VEC, _2D, _0D]),
    )),
    OpInfo("permute", "linalg", (
        _layout("permute", "", ["permute(x, (2, 0, 1))", "np.transpose(x, (2, 0, 1))",
                                "numpy.transpose(x, axes=(2, 0, 1))", "transpose(x, (2, 0, 1))",
                                "np.permute_dims(x, (2, 0, 1))", "permute_dims(x, (2, 0, 1))",
                                "torch.permute(x, (2, 0, 1))", "x.permute(2, 0, 1)", "x.permute((2, 0, 1))",
                                "x.transpose(2, 0, 1)", "x.permute(dims=(2, 0, 1))"],
                lambda x: np.transpose(x, (2, 0, 1)), [_3D, ("empty", (2, 0, 3))], float32=("3d",)),
    )),
    OpInfo("swapaxes", "linalg", (
        _layout("swapaxes", "", ["swapaxes(x, 0, 2)", "np.swapaxes(x, 0, 2)", "numpy.swapaxes(x, 0, 2)",
                                 "torch.swapaxes(x, 0, 2)", "torch.swapdims(x, 0, 2)", "swapdims(x, 0, 2)",
                                 "torch.transpose(x, 0, 2)", "x.swapaxes(0, 2)", "x.transpose(0, 2)",
                                 "x.swapdims(0, 2)", "torch.transpose(x, dim0=0, dim1=2)"],
                lambda x: np.swapaxes(x, 0, 2), [_3D]),
        _layout("swapaxes", "mT", ["x.mT"], lambda x: np.swapaxes(x, -1, -2), [_2D, _3D]),
    )),
    OpInfo("moveaxis", "linalg", (
        _layout("moveaxis", "", ["moveaxis(x, 0, -1)", "np.moveaxis(x, 0, -1)", "numpy.moveaxis(x, 0, -1)",
                                 "torch.movedim(x, 0, -1)", "torch.moveaxis(x, 0, -1)", "movedim(x, 0, -1)",
                                 "x.movedim(0, -1)", "x.moveaxis(0, -1)"],
                lambda x: np.moveaxis(x, 0, -1), [_3D, _2D]),
        _layout("moveaxis", "tuples", ["moveaxis(x, (0, 1), (2, 0))", "np.moveaxis(x, (0, 1), (2, 0))"],
                lambda x: np.moveaxis(x, (0, 1), (2, 0)), [_3D]),
    )),
    OpInfo("broadcast_to", "linalg", (
        _layout("broadcast_to", "", ["broadcast_to(x, (3, 4))", "np.broadcast_to(x, (3, 4))",
                                     "numpy.broadcast_to(x, shape=(3, 4))", "torch.broadcast_to(x, (3, 4))",
                                     "x.expand(3, 4)", "x.expand((3, 4))", "expand(x, (3, 4))",
                                     "torch.broadcast_to(x, size=(3, 4))"],
                lambda x: np.broadcast_to(x, (3, 4)), [("row", (4,)), ("col", (3, 1)), ("2d", (1, 4)), _0D,
                                                       ("full", (3, 4))]),
        _layout("broadcast_to", "keep", ["x.expand(2, -1, -1)", "x.expand(2, x.shape[0], -1)"],
                lambda x: np.broadcast_to(x, (2, *x.shape)), [("2d", (3, 4)), ("one", (1, 2))]),
        _layout("broadcast_to", "empty", ["np.broadcast_to(x, (0, 3))"], lambda x: np.broadcast_to(x, (0, 3)),
                [("row", (3,))], float32=()),
    )),
    OpInfo("roll", "linalg", (
        _layout("roll", "", ["roll(x, 1)", "np.roll(x, 1)", "numpy.roll(x, shift=1)", "torch.roll(x, 1)",
                             "x.roll(1)", "torch.roll(x, shifts=1)"], lambda x: np.roll(x, 1), [_VEC, _2D, _0D]),
        _layout("roll", "axis", ["np.roll(x, -2, axis=1)", "torch.roll(x, -2, dims=1)", "x.roll(-2, 1)",
                                 "np.roll(x, 2, -1)"],
                lambda x: np.roll(x, -2, axis=1), [_2D, _3D, ("empty", (2, 0))]),
        _layout("roll", "axes", ["np.roll(x, (1, 5), axis=(0, 1))", "torch.roll(x, shifts=(1, 5), dims=(0, 1))"],
                lambda x: np.roll(x, (1, 5), axis=(0, 1)), [_2D, _3D]),
    )),
    OpInfo("diagonal", "linalg", (
        _layout("diagonal", "", ["diagonal(x)", "np.diagonal(x)", "numpy.diagonal(x, 0)", "torch.diagonal(x)",
                                 "x.diagonal()", "np.diagonal(x, offset=0, axis1=0, axis2=1)"],
                np.diagonal, [_2D, ("square", (3, 3)), _3D, ("empty", (0, 2))]),
        _layout("diagonal", "offset", ["np.diagonal(x, 1)", "torch.diagonal(x, offset=1)", "x.diagonal(1)"],
                lambda x: np.diagonal(x, 1), [_2D, _3D]),
        _layout("diagonal", "axes", ["np.diagonal(x, -1, 1, 2)", "torch.diagonal(x, -1, dim1=1, dim2=2)",
                                     "np.diagonal(x, -1, axis1=-2, axis2=-1)"],
                lambda x: np.diagonal(x, -1, 1, 2), [_3D, ("cube", (2, 3, 3))]),
    )),
    OpInfo("tril", "linalg", (
        _layout("tril", "", ["tril(x)", "np.tril(x)", "numpy.tril(x, 0)", "torch.tril(x)", "x.tril()"], np.tril,
                [_2D, ("square", (3, 3)), _3D, ("empty", (0, 2))]),
        _layout("tril", "k", ["np.tril(x, -1)", "np.tril(x, k=-1)", "torch.tril(x, diagonal=-1)", "x.tril(-1)"],
                lambda x: np.tril(x, -1), [_2D, _3D]),
        _layout("tril", "vector", ["np.tril(x, 1)"], lambda x: np.tril(x, 1), [_VEC]),
    )),
    OpInfo("triu", "linalg", (
        _layout("triu", "", ["triu(x)", "np.triu(x)", "torch.triu(x)", "x.triu()"], np.triu, [_2D, _3D]),
        _layout("triu", "k", ["np.triu(x, 2)", "torch.triu(x, diagonal=2)", "x.triu(2)", "np.triu(x, k=2)"],
                lambda x: np.triu(x, 2), [_2D, ("square", (3, 3))]),
    )),
    OpInfo("tile", "linalg", (
        _layout("tile", "", ["tile(x, 2)", "np.tile(x, 2)", "numpy.tile(x, reps=2)", "torch.tile(x, (2,))",
                             "x.tile((2,))", "torch.tile(x, dims=(2,))"], lambda x: np.tile(x, 2),
                [_VEC, _2D, _0D, ("empty", (2, 0))]),
        _layout("tile", "more", ["np.tile(x, (2, 1, 3))", "torch.tile(x, (2, 1, 3))"],
                lambda x: np.tile(x, (2, 1, 3)), [_VEC, _2D, _3D]),
        _layout("tile", "fewer", ["np.tile(x, (3, 2))", "x.tile((3, 2))"], lambda x: np.tile(x, (3, 2)), [_3D]),
        _layout("tile", "none", ["np.tile(x, 0)"], lambda x: np.tile(x, 0), [_2D], float32=()),
    )),
    OpInfo("repeat", "linalg", (
        _layout("repeat", "", ["repeat(x, 2)", "np.repeat(x, 2)", "numpy.repeat(x, repeats=2)",
                               "torch.repeat_interleave(x, 2)", "repeat_interleave(x, 2)", "x.repeat_interleave(2)"],
                lambda x: np.repeat(x, 2), [_VEC, _2D, _0D]),
        _layout("repeat", "axis", ["np.repeat(x, 3, axis=1)", "np.repeat(x, 3, 1)", "torch.repeat_interleave(x, 3, dim=1)",
                                   "x.repeat_interleave(3, 1)", "np.repeat(x, 3, -1)"],
                lambda x: np.repeat(x, 3, axis=1), [_2D, ("empty", (2, 0))]),
        _layout("repeat", "axis0", ["np.repeat(x, 2, axis=0)", "torch.repeat_interleave(x, repeats=2, dim=0)"],
                lambda x: np.repeat(x, 2, axis=0), [_VEC, _3D]),
    )),
    OpInfo("pad", "linalg", (
        _layout("pad", "", ["pad(x, 1)", "np.pad(x, 1)", "numpy.pad(x, pad_width=1)", "np.pad(x, 1, mode='constant')",
                            "np.pad(x, (1, 1))", "np.pad(x, [[1, 1]])"], lambda x: np.pad(x, 1),
                [_VEC, _2D, _3D, ("empty", (2, 0))]),
        _layout("pad", "pairs", ["np.pad(x, ((2, 0), (1, 3)), constant_values=-0.5)",
                                 "np.pad(x, [(2, 0), (1, 3)], 'constant', constant_values=-0.5)"],
                lambda x: np.pad(x, ((2, 0), (1, 3)), constant_values=-0.5), [_2D]),
        _layout("pad", "torch", ["F.pad(x, (1, 2))", "torch.nn.functional.pad(x, (1, 2))", "F.pad(x, [1, 2], value=0)",
                                 "F.pad(input=x, pad=(1, 2), mode='constant')"],
                lambda x: np.pad(x, [(0, 0)] * (x.ndim - 1) + [(1, 2)]), [_VEC, _2D, _3D]),
        _layout("pad", "torch-2d", ["F.pad(x, (0, 1, 2, 3), value=2.5)"],
                lambda x: np.pad(x, [(0, 0)] * (x.ndim - 2) + [(2, 3), (0, 1)], constant_values=2.5), [_2D, _3D]),
    )),
    OpInfo("rot90", "linalg", (
        _layout("rot90", "", ["rot90(x)", "np.rot90(x)", "numpy.rot90(x, 1)", "torch.rot90(x)", "x.rot90()",
                              "np.rot90(x, 5)", "np.rot90(x, k=-3)"], np.rot90, [_2D, _3D]),
        _layout("rot90", "k", ["np.rot90(x, 2)", "torch.rot90(x, 2)", "np.rot90(x, 0) * 0 + np.rot90(x, -2)"],
                lambda x: np.rot90(x, 2), [_2D, ("empty", (2, 0))]),
        _layout("rot90", "axes", ["np.rot90(x, 3, axes=(2, 0))", "torch.rot90(x, 3, dims=[2, 0])",
                                  "x.rot90(3, (-1, 0))", "np.rot90(x, -3, (0, 2))"],
                lambda x: np.rot90(x, 3, axes=(2, 0)), [_3D]),
    )),
    # np.gradient and torch.gradient (derivgen/frontend/stencils.py): slices, differences and a join
    OpInfo("gradient", "linalg", (
        _layout("gradient", "", ["np.gradient(x, axis=0)", "numpy.gradient(x, axis=0)", "torch.gradient(x, dim=0)[0]",
                                 "np.gradient(x, 1, axis=0, edge_order=1)", "torch.gradient(input=x, dim=[0])[0]"],
                lambda x: np.gradient(x, axis=0), [_VEC, _2D, _3D, ("pair", (2, 3))]),
        _layout("gradient", "spacing", ["np.gradient(x, 0.25, axis=-1)", "torch.gradient(x, spacing=0.25, dim=-1)[0]",
                                        "np.gradient(x, -0.25, axis=-1) * -1"],
                lambda x: np.gradient(x, 0.25, axis=-1), [_VEC, _2D, _3D]),
        # the ends are sums of three terms that cancel: |terms| <= 4 max|x| / h bounds their rounding
        replace(_layout("gradient", "edge-order-2", ["np.gradient(x, 0.3, axis=1, edge_order=2)",
                                                     "torch.gradient(x, spacing=[0.3], dim=1, edge_order=2)[0]"],
                        lambda x: np.gradient(x, 0.3, axis=1, edge_order=2), [_2D, _3D]),
                magnitude=lambda x: np.full(x.shape, 4 * np.max(np.abs(x)) / 0.3)),
        _layout("gradient", "axes", ["np.stack(np.gradient(x, 2.0, 0.5, axis=(0, 1)))",
                                     "torch.stack(torch.gradient(x, spacing=[2.0, 0.5], dim=(0, 1)))"],
                lambda x: np.stack(np.gradient(x, 2.0, 0.5, axis=(0, 1))), [_2D, _3D]),
    )),
    OpInfo("full", "linalg", (
        _layout("full", "zeros", ["zeros(4) + x", "np.zeros(4) + x", "numpy.zeros((4,)) + x", "torch.zeros(4) + x",
                                  "np.zeros(shape=4, dtype=float) + x", "torch.zeros(size=(4,)) + x"],
                lambda x: np.zeros(4) + x, [("2d", (3, 4)), ("vec", (4,))]),
        _layout("full", "ones", ["ones((3, 4)) * x", "np.ones((3, 4)) * x", "torch.ones(3, 4) * x",
                                 "np.ones([3, 4], dtype=np.float64) * x"], lambda x: np.ones((3, 4)) * x, [_2D]),
        _layout("full", "full", ["full((3, 1), 2.5) * x", "np.full((3, 1), 2.5) * x", "torch.full((3, 1), 2.5) * x",
                                 "np.full(shape=(3, 1), fill_value=2.5) * x"], lambda x: np.full((3, 1), 2.5) * x, [_2D]),
        _layout("full", "sizes", ["np.zeros((x.shape[0], 2)) @ np.ones((2, len(x.T))) + x",
                                  "torch.zeros(x.size(0), 2) @ torch.ones(2, x.shape[1]) + x"],
                lambda x: x + 0.0, [_2D, ("empty", (0, 3))]),
        _layout("full", "like", ["np.ones(x.shape) * x ** 2", "torch.ones(x.shape) * x ** 2"], lambda x: x ** 2,
                [_2D, _0D, ("empty", (2, 0))]),
        _layout("full", "full-like", ["np.full(x.shape, -1.5) * x"], lambda x: -1.5 * x, [_VEC, _3D]),
    )),
    OpInfo("eye", "linalg", (
        _layout("eye", "", ["x @ eye(4)", "x @ np.eye(4)", "x @ numpy.eye(4, 4)", "x @ torch.eye(4)",
                            "x @ np.identity(4)", "x @ np.eye(N=4)"], lambda x: x @ np.eye(4), [_2D]),
        _layout("eye", "rect", ["x @ np.eye(4, 2, k=1)", "x @ np.eye(4, M=2, k=1)"],
                lambda x: x @ np.eye(4, 2, k=1), [_2D]),
        _layout("eye", "sizes", ["x * np.eye(x.shape[0], x.shape[1], -1)", "x * np.eye(len(x), x.shape[-1], k=-1)"],
                lambda x: x * np.eye(x.shape[0], x.shape[1], -1), [_2D, ("empty", (0, 3))]),
        _layout("eye", "square", ["np.eye(len(x)) @ x", "torch.eye(x.size(0)) @ x", "np.identity(x.shape[0]) @ x"],
                lambda x: np.eye(len(x)) @ x, [_2D, _VEC]),
    )),
    OpInfo("linspace", "linalg", (
        _layout("linspace", "", ["linspace(0, 1, 4) * x", "np.linspace(0, 1, 4) * x", "numpy.linspace(0.0, 1.0, num=4) * x",
                                 "torch.linspace(0, 1, 4) * x", "torch.linspace(start=0, end=1, steps=4) * x"],
                lambda x: np.linspace(0, 1, 4) * x, [_2D, ("vec", (4,))]),
        _layout("linspace", "sizes", ["np.linspace(-2, 3.5, x.shape[-1], endpoint=False) * x"],
                lambda x: np.linspace(-2, 3.5, x.shape[-1], endpoint=False) * x, [_2D, _VEC]),
        _layout("linspace", "default", ["np.linspace(-1, 1)[:4] * x"], lambda x: np.linspace(-1, 1)[:4] * x, [_2D]),
    )),
    OpInfo("arange", "linalg", (
        _layout("arange", "", ["arange(4) * x", "np.arange(4) * x", "numpy.arange(4.0) * x", "torch.arange(4) * x",
                               "np.arange(stop=4) * x", "torch.arange(end=4) * x"],
                lambda x: np.arange(4) * x, [_2D, ("vec", (4,))]),
        _layout("arange", "step", ["np.arange(0.5, 2.5, 0.5) * x", "torch.arange(0.5, 2.5, step=0.5) * x",
                                   "np.arange(start=4, stop=0, step=-1)[::-1] * x / 2"],
                lambda x: np.arange(0.5, 2.5, 0.5) * x, [_2D, ("vec", (4,))]),
        _layout("arange", "sizes", ["np.arange(x.shape[-1]) * x", "torch.arange(x.size(-1)) * x",
                                    "np.arange(0, len(x.T), 1) * x"],
                lambda x: np.arange(x.shape[-1]) * x, [_2D, _VEC, ("empty", (3, 0))]),
    )),
    OpInfo("split_part", "linalg", (
        _layout("split_part", "sections", ["np.split(x, 2)[0] * np.split(x, 2)[1]", "split(x, 2)[0] * split(x, 2)[1]",
                                           "numpy.split(x, indices_or_sections=2, axis=0)[0] * np.split(x, 2, 0)[1]",
                                           "torch.chunk(x, 2)[0] * torch.chunk(x, 2)[1]", "x.chunk(2)[0] * x.chunk(2, 0)[1]",
                                           "torch.split(x, [2, 2])[0] * x.split([2, 2], dim=0)[1]"],
                lambda x: x[:2] * x[2:], [("2d", (4, 3)), ("vec", (4,))]),
        _layout("split_part", "indices", ["np.split(x, [1, 3], axis=1)[1] + np.split(x, [1, 3], axis=1)[2].sum()",
                                          "torch.split(x, [1, 2, 1], dim=-1)[1] + torch.split(x, [1, 2, 1], -1)[2].sum()"],
                lambda x: x[:, 1:3] + x[:, 3:].sum(), [_2D, ("empty", (0, 4))]),
        _layout("split_part", "uneven", ["np.array_split(x, 3, axis=1)[0] * 2 + np.array_split(x, 3, 1)[2].sum()",
                                         "torch.chunk(x, 3, dim=1)[0] * 2 + torch.chunk(x, 3, 1)[2].sum()"],
                lambda x: x[:, :2] * 2 + x[:, 4:].sum(), [("2d", (2, 5)), ("3d", (2, 5, 3))]),
        _layout("split_part", "fewer-chunks", ["torch.chunk(x, 3, dim=1)[1] * 2"], lambda x: x[:, 2:] * 2, [_2D]),
    )),
    OpInfo("diag", "linalg", (
        _layout("diag", "vector", ["diag(x)", "np.diag(x)", "numpy.diag(x, 0)", "torch.diag(x)", "x.diag()"], np.diag,
                [_VEC, ("empty", (0,))]),
        _layout("diag", "vector-k", ["np.diag(x, 2)", "np.diag(x, k=2)", "torch.diag(x, diagonal=2)", "x.diag(2)"],
                lambda x: np.diag(x, 2), [_VEC]),
        _layout("diag", "matrix", ["np.diag(x)", "torch.diag(x)", "np.diag(x, k=0)"], np.diag, [_2D, ("square", (3, 3))]),
        _layout("diag", "matrix-k", ["np.diag(x, k=1)", "x.diag(1)"], lambda x: np.diag(x, 1), [_2D]),
    )),
    OpInfo("fliplr", "linalg", (
        _layout("fliplr", "", ["fliplr(x)", "np.fliplr(x)", "torch.fliplr(x)", "x.fliplr()"], np.fliplr, [_2D, _3D]),
    )),
    OpInfo("flipud", "linalg", (
        _layout("flipud", "", ["flipud(x)", "np.flipud(x)", "torch.flipud(x)", "x.flipud()"], np.flipud,
                [_VEC, _2D, _3D]),
    )),
    OpInfo("flip", "linalg", (
        _layout("flip", "", ["flip(x)", "np.flip(x)", "numpy.flip(x)"], np.flip, [_2D, _VEC, _0D]),
        _layout("flip", "axis=1", ["flip(x, 1)", "np.flip(x, axis=1)", "torch.flip(x, (1,))", "x.flip(1)",
                                   "torch.flip(x, dims=(1,))"], lambda x: np.flip(x, 1), [_2D, _3D]),
    )),
)


# ---- the database -----------------------------------------------------------------------------

def _gather(name, sources, reference, shapes, float32=("2d",)) -> Variant:
    """One program indexing x by positions known when the module runs: an input t of
    integers (``shapes``: name -> (x's shape, t's shape, t's range)), np.arange of a size."""
    key = f"gather/{name}"
    samples = []
    for dtype in ("float64", "float32"):
        for sample, (x_shape, t_shape, (low, high)) in shapes.items():
            if dtype == "float32" and sample not in float32:
                continue
            x = draw([(-2.0, 2.0)], [x_shape], _seed(key, sample), dtype)[0]
            t = np.random.default_rng(_seed(key, sample, "t")).integers(low, high, size=t_shape)
            samples.append(Sample(sample if dtype == "float64" else f"{sample}-f32", (x, t)))
    return Variant("gather_index", name, ("x", "t"), tuple(as_spelling(s) for s in sources), reference, tuple(samples),
                   positions=("t",))


def _masked(name, sources, reference, shapes) -> Variant:
    """x indexed by a boolean mask of its own values (x > 0): samples at least 0.5 from 0,
    so that no difference step moves an element across the mask's edge."""
    key = f"mask/{name}"
    samples = []
    for dtype in ("float64", "float32"):
        for sample, shape in shapes.items():
            rng = np.random.default_rng(_seed(key, sample))
            x = (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)
            samples.append(Sample(sample if dtype == "float64" else f"{sample}-f32", (x,)))
    return Variant("gather_index", name, ("x",), tuple(as_spelling(s) for s in sources), reference, tuple(samples))


# Positions that repeat (their adjoints add up), negative ones (from the end, as NumPy reads
# them), arrays of positions of more than one dimension, none at all.
GATHER = OpInfo("gather_index", "linalg", (
    _gather("input", ["x[t]"], lambda x, t: x[t],
            {"vec": ((5,), (7,), (-5, 5)), "2d": ((4, 3), (6,), (-4, 4)), "grid": ((5,), (2, 3), (0, 5)),
             "empty": ((5,), (0,), (0, 5))}),
    _gather("rows", ["x[np.arange(len(t)), t]", "x[numpy.arange(t.shape[0]), t]", "x[torch.arange(len(t)), t]"],
            lambda x, t: x[np.arange(len(t)), t], {"2d": ((4, 3), (4,), (0, 3)), "tall": ((9, 2), (9,), (-2, 2))}),
    _gather("own-rows", ["x[np.arange(x.shape[0]), t]"], lambda x, t: x[np.arange(x.shape[0]), t],
            {"2d": ((4, 3), (4,), (0, 3))}),
    _gather("slice", ["x[:, t]"], lambda x, t: x[:, t], {"2d": ((3, 4), (5,), (-4, 4))}),
    _gather("then-slice", ["x[t, 1:]"], lambda x, t: x[t, 1:], {"2d": ((3, 4), (2, 2), (0, 3))}),
    _gather("newaxis", ["x[None, t]"], lambda x, t: x[None, t], {"2d": ((3, 2), (4,), (0, 3))}),
    _masked("mask", ["x[x > 0] * 2", "x[~(x <= 0)] * 2"], lambda x: x[x > 0] * 2, {"vec": (7,), "2d": (3, 4)}),
    _masked("mask-rows", ["x[x[:, 0] > 0, 1:]"], lambda x: x[x[:, 0] > 0, 1:], {"2d": (5, 3)}),
))

def _joined(op, name, sources, reference, shapes, float32=("2d",)) -> Variant:
    """One program joining the arrays x and y (``shapes``: sample name -> their shapes)."""
    key = f"{op}/{name}"
    samples = [Sample(sample if dtype == "float64" else f"{sample}-f32",
                      draw([(-2.0, 2.0)] * 2, list(pair), _seed(key, sample), dtype))
               for dtype in ("float64", "float32") for sample, pair in shapes.items()
               if dtype == "float64" or sample in float32]
    return Variant(op, name, ("x", "y"), tuple(as_spelling(s) for s in sources), reference, tuple(samples))


JOINS = (
    OpInfo("stack", "linalg", (
        _joined("stack", "", ["stack([x, y])", "np.stack([x, y])", "np.stack((x, y), axis=0)",
                              "torch.stack([x, y], dim=0)", "numpy.stack(arrays=[x, y])", "stack(tensors=(x, y))"],
                lambda x, y: np.stack([x, y]), {"2d": ((2, 3), (2, 3)), "0d": ((), ()), "empty": ((0, 2), (0, 2))}),
        _joined("stack", "axis=-1", ["np.stack([x, y, x], axis=-1)", "torch.stack((x, y, x), -1)"],
                lambda x, y: np.stack([x, y, x], axis=-1), {"2d": ((3, 2), (3, 2)), "vec": ((4,), (4,))}),
        _joined("stack", "array", ["np.array([x, y])", "numpy.array([x, y])", "np.asarray((x, y))",
                                   "np.array([x, y], dtype=float)"],
                lambda x, y: np.array([x, y]), {"0d": ((), ()), "vec": ((3,), (3,))}, float32=("0d",)),
        _joined("stack", "nested", ["np.array([[x, y], [y, x]])", "np.array(((x, y), [y, x]))"],
                lambda x, y: np.array([[x, y], [y, x]]), {"0d": ((), ()), "vec": ((2,), (2,))}, float32=("0d",)),
    )),
    OpInfo("concatenate", "linalg", (
        _joined("concatenate", "", ["concatenate([x, y])", "np.concatenate([x, y])", "torch.cat([x, y])",
                                    "torch.cat((x, y), dim=0)", "torch.concat([x, y], 0)",
                                    "np.concatenate((x, y), axis=0)", "cat([x, y])", "concat([x, y])"],
                lambda x, y: np.concatenate([x, y]), {"2d": ((2, 3), (1, 3)), "vec": ((3,), (2,)),
                                                      "empty": ((0, 3), (0, 3))}),
        _joined("concatenate", "axis=1", ["np.concatenate([x, y, x], axis=1)", "torch.cat([x, y, x], dim=-1)"],
                lambda x, y: np.concatenate([x, y, x], axis=1), {"2d": ((2, 1), (2, 3)), "3d": ((2, 2, 1), (2, 1, 1))}),
    )),
    OpInfo("hstack", "linalg", (
        _joined("hstack", "", ["hstack([x, y])", "np.hstack([x, y])", "numpy.hstack((x, y))", "torch.hstack([x, y])",
                               "np.hstack(tup=(x, y))", "torch.hstack(tensors=[x, y])"],
                lambda x, y: np.hstack([x, y]), {"2d": ((2, 3), (2, 1)), "vec": ((3,), (2,)), "0d": ((), ()),
                                                 "3d": ((2, 1, 2), (2, 3, 2)), "empty": ((0, 1), (0, 2))}),
    )),
    OpInfo("vstack", "linalg", (
        _joined("vstack", "", ["vstack([x, y])", "np.vstack([x, y])", "torch.vstack((x, y))", "np.vstack(tup=[x, y])"],
                lambda x, y: np.vstack([x, y]), {"2d": ((2, 3), (1, 3)), "vec": ((3,), (3,)), "rows": ((3,), (2, 3)),
                                                 "0d": ((), ())}),
    )),
    OpInfo("column_stack", "linalg", (
        _joined("column_stack", "", ["column_stack([x, y])", "np.column_stack([x, y])", "torch.column_stack((x, y))"],
                lambda x, y: np.column_stack([x, y]), {"vec": ((3,), (3,)), "2d": ((3,), (3, 2))}),
    )),
    OpInfo("dstack", "linalg", (
        _joined("dstack", "", ["dstack([x, y])", "np.dstack([x, y])", "torch.dstack((x, y))"],
                lambda x, y: np.dstack([x, y]), {"2d": ((2, 3), (2, 3)), "vec": ((3,), (3,)), "3d": ((2, 1, 2), (2, 1, 1))}),
    )),
    OpInfo("cross", "linalg", (
        _joined("cross", "", ["cross(x, y)", "np.cross(x, y)", "numpy.cross(x, y, axis=-1)", "torch.cross(x, y, dim=-1)",
                              "x.cross(y, -1)", "torch.cross(input=x, other=y, dim=-1)"],
                lambda x, y: np.cross(x, y), {"vec": ((3,), (3,)), "rows": ((4, 3), (3,)), "2d": ((2, 3), (2, 3))}),
        _joined("cross", "axis=0", ["np.cross(x, y, axis=0)", "torch.cross(x, y, dim=0)"],
                lambda x, y: np.cross(x, y, axis=0), {"2d": ((3, 2), (3, 1))}),
    )),
)


def _leading(x, t, dim):
    """PyTorch's gather: x's leading part off dim, then NumPy's take_along_axis."""
    part = tuple(slice(None) if d == dim % x.ndim else slice(0, k) for d, k in enumerate(t.shape))
    return np.take_along_axis(x[part], t, dim)


TAKE_ALONG = OpInfo("take_along_axis", "linalg", (
    replace(_gather("axis=1", ["take_along_axis(x, t, 1)", "np.take_along_axis(x, t, axis=1)",
                               "numpy.take_along_axis(x, t, 1)", "torch.take_along_dim(x, t, dim=1)",
                               "take_along_dim(x, t, 1)", "np.take_along_axis(x, indices=t, axis=1)"],
                    lambda x, t: np.take_along_axis(x, t, 1),
                    {"2d": ((3, 4), (3, 2), (-4, 4)), "broadcast": ((3, 4), (1, 5), (0, 4)),
                     "3d": ((2, 3, 2), (2, 4, 2), (0, 3)), "empty": ((3, 4), (3, 0), (0, 4))}),
            op="take_along_axis"),
    replace(_gather("axis=0", ["np.take_along_axis(x, t, 0)"],
                    lambda x, t: np.take_along_axis(x, t, 0), {"2d": ((3, 4), (5, 4), (0, 3))}),
            op="take_along_axis"),
    replace(_gather("rows", ["np.take_along_axis(x, t[:, None], -1)", "np.take_along_axis(x, np.expand_dims(t, 1), -1)"],
                    lambda x, t: np.take_along_axis(x, t[:, None], -1), {"2d": ((4, 3), (4,), (-3, 3))}),
            op="take_along_axis"),
))
GATHER_ALONG = OpInfo("gather", "linalg", (
    replace(_gather("dim=1", ["gather(x, 1, t)", "torch.gather(x, 1, t)", "x.gather(1, t)",
                              "torch.gather(x, dim=1, index=t)", "x.gather(dim=-1, index=t)"],
                    lambda x, t: _leading(x, t, 1),
                    {"2d": ((3, 4), (3, 2), (0, 4)), "leading": ((4, 3), (2, 5), (0, 3)),
                     "3d": ((2, 3, 2), (2, 4, 1), (0, 3))}),
            op="gather"),
    replace(_gather("rows", ["torch.gather(x, 1, t.unsqueeze(1))", "x.gather(1, t[:, None])",
                             "x.gather(1, t.view(-1, 1))", "torch.gather(x, 1, t.reshape(-1, 1))"],
                    lambda x, t: _leading(x, t[:, None], 1), {"2d": ((5, 3), (5,), (0, 3))}),
            op="gather"),
))

# Calls read as other ops (derivgen/frontend/sugar.py)
SUGAR = (
    OpInfo("outer", "linalg", (
        _joined("outer", "", ["outer(x, y)", "np.outer(x, y)", "numpy.outer(x, y)", "torch.outer(x, y)", "x.outer(y)",
                              "torch.outer(input=x, vec2=y)"],
                lambda x, y: np.outer(x, y), {"vec": ((3,), (4,)), "2d": ((2, 2), (3,)), "0d": ((), ())}),
    )),
    OpInfo("trace", "linalg", (
        _layout("trace", "", ["trace(x)", "np.trace(x)", "torch.trace(x)", "x.trace()", "numpy.trace(x, 0)"],
                np.trace, [_2D, ("square", (3, 3))]),
        _layout("trace", "offset", ["np.trace(x, 1)", "x.trace(offset=1)"], lambda x: np.trace(x, 1), [_2D]),
        _layout("trace", "axes", ["np.trace(x, offset=-1, axis1=1, axis2=2)", "np.trace(x, -1, -2, -1)"],
                lambda x: np.trace(x, -1, 1, 2), [_3D]),
    )),
    OpInfo("like", "elementwise", (
        _layout("like", "ones", ["x * np.ones_like(x)", "x * torch.ones_like(x)", "x * ones_like(x)",
                                 "x * np.ones_like(x, dtype=float)"],
                lambda x: x * np.ones_like(x), [_VEC, _2D, _0D]),
        _layout("like", "zeros", ["np.zeros_like(x) + x ** 2", "torch.zeros_like(input=x) + x ** 2"],
                lambda x: np.zeros_like(x) + x ** 2, [_VEC, _2D, _0D]),
        _layout("like", "full", ["np.full_like(x, 2.5) * x", "torch.full_like(x, fill_value=2.5) * x"],
                lambda x: np.full_like(x, 2.5) * x, [_VEC, _2D]),
    )),
)


# Contractions (derivgen/ops/contractions.py): their operands x, y, z by sample name -> shapes.
def _contraction(op, name, sources, reference, shapes, float32=()) -> Variant:
    key = f"{op}/{name}"
    count = len(next(iter(shapes.values())))
    samples = [Sample(sample if dtype == "float64" else f"{sample}-f32",
                      draw([(-2.0, 2.0)] * count, list(sizes), _seed(key, sample), dtype))
               for dtype in ("float64", "float32") for sample, sizes in shapes.items()
               if dtype == "float64" or sample in float32]
    return Variant(op, name, ("x", "y", "z")[:count], tuple(as_spelling(s) for s in sources), reference,
                   tuple(samples), _abs_sum(reference))


def _einsum(subscripts):
    return lambda *xs: np.einsum(subscripts, *xs)


CONTRACTIONS = (
    OpInfo("einsum", "linalg", (
        _contraction("einsum", "matmul", ["einsum('ij,jk->ik', x, y)", "np.einsum('ij,jk->ik', x, y)",
                                          "numpy.einsum('ij,jk', x, y)", "torch.einsum('ij,jk->ik', x, y)",
                                          "torch.einsum('ij,jk', [x, y])",
                                          "np.einsum(' ij , jk -> ik ', x, y, optimize=True)"],
                     _einsum("ij,jk->ik"), {"2d": ((2, 3), (3, 4)), "size-1": ((2, 1), (3, 4)),
                                            "empty": ((0, 3), (3, 2)), "empty-inner": ((2, 0), (0, 3))},
                     float32=("2d",)),
        _contraction("einsum", "trace", ["np.einsum('ii->', x)", "np.einsum('ii', x)", "torch.einsum('ii', x)"],
                     _einsum("ii->"), {"square": ((3, 3),), "empty": ((0, 0),)}, float32=("square",)),
        _contraction("einsum", "diagonal", ["np.einsum('ii->i', x)", "torch.einsum('ii->i', x)"],
                     _einsum("ii->i"), {"square": ((3, 3),), "one": ((1, 1),)}),
        _contraction("einsum", "diagonal-3d", ["np.einsum('iji->ji', x)"], _einsum("iji->ji"),
                     {"cube": ((3, 2, 3),)}),
        _contraction("einsum", "batch", ["np.einsum('bij,bjk->bik', x, y)", "torch.einsum('bij,bjk->bik', x, y)"],
                     _einsum("bij,bjk->bik"), {"3d": ((2, 2, 3), (2, 3, 4))}, float32=("3d",)),
        _contraction("einsum", "ellipsis", ["np.einsum('...ij,...jk->...ik', x, y)", "torch.einsum('...ij,...jk', x, y)"],
                     _einsum("...ij,...jk->...ik"),
                     {"batch": ((2, 2, 3), (2, 3, 4)), "broadcast": ((5, 1, 2, 3), (3, 3, 2)),
                      "ranks": ((2, 3), (4, 3, 2)), "2d": ((2, 3), (3, 4))}, float32=("broadcast",)),
        _contraction("einsum", "ellipsis-last", ["np.einsum('i...,i...->...', x, y)"], _einsum("i...,i...->..."),
                     {"2d": ((3, 2), (3, 1)), "vec": ((3,), (3,))}),
        _contraction("einsum", "summed-out", ["np.einsum('ij,jk->k', x, y)", "torch.einsum('ij,jk->k', x, y)"],
                     _einsum("ij,jk->k"), {"2d": ((2, 3), (3, 4))}),
        _contraction("einsum", "outer", ["np.einsum('i,j->ij', x, y)", "np.einsum('i,j', x, y)"],
                     _einsum("i,j->ij"), {"vec": ((2,), (3,))}),
        _contraction("einsum", "dot", ["np.einsum('i,i', x, y)", "np.einsum('i,i->', x, y)"], _einsum("i,i->"),
                     {"vec": ((3,), (3,)), "empty": ((0,), (0,))}),
        _contraction("einsum", "0d", ["np.einsum(',->', x, y)", "np.einsum(',', x, y)"], _einsum(",->"),
                     {"0d": ((), ())}),
        _contraction("einsum", "transpose", ["np.einsum('ba', x)", "np.einsum('ij->ji', x)"], _einsum("ij->ji"),
                     {"2d": ((2, 3),)}),
        _contraction("einsum", "three", ["np.einsum('ij,jk,kl->il', x, y, z)",
                                         "torch.einsum('ij,jk,kl->il', [x, y, z])"],
                     _einsum("ij,jk,kl->il"), {"2d": ((2, 3), (3, 4), (4, 2))}, float32=("2d",)),
    )),
    OpInfo("tensordot", "linalg", (
        _contraction("tensordot", "", ["tensordot(x, y)", "np.tensordot(x, y)", "numpy.tensordot(x, y, 2)",
                                       "torch.tensordot(x, y)", "np.tensordot(x, y, axes=2)",
                                       "torch.tensordot(x, y, dims=2)"],
                     lambda x, y: np.tensordot(x, y), {"3d": ((2, 3, 4), (3, 4, 2)), "2d": ((3, 4), (3, 4))},
                     float32=("3d",)),
        _contraction("tensordot", "axes", ["np.tensordot(x, y, axes=([1], [0]))",
                                           "torch.tensordot(x, y, dims=([1], [0]))", "np.tensordot(x, y, ([1], [0]))",
                                           "np.tensordot(x, y, axes=(1, 0))", "torch.tensordot(x, y, dims=[[1], [0]])"],
                     lambda x, y: np.tensordot(x, y, axes=([1], [0])),
                     {"2d": ((2, 3), (3, 4)), "3d": ((2, 3, 4), (3, 2))}),
        _contraction("tensordot", "negative", ["np.tensordot(x, y, axes=([-1], [-2]))",
                                               "torch.tensordot(x, y, dims=([-1], [-2]))"],
                     lambda x, y: np.tensordot(x, y, axes=([-1], [-2])), {"3d": ((2, 3, 4), (3, 4, 2))}),
        _contraction("tensordot", "pairs", ["np.tensordot(x, y, axes=([0, 2], [2, 0]))"],
                     lambda x, y: np.tensordot(x, y, axes=([0, 2], [2, 0])), {"3d": ((2, 3, 4), (4, 5, 2))}),
        _contraction("tensordot", "outer", ["np.tensordot(x, y, 0)", "np.tensordot(x, y, axes=0)"],
                     lambda x, y: np.tensordot(x, y, 0), {"vec": ((2,), (3,)), "0d": ((), (3,))}),
    )),
    OpInfo("inner", "linalg", (
        _contraction("inner", "", ["inner(x, y)", "np.inner(x, y)", "numpy.inner(x, y)", "torch.inner(x, y)",
                                   "x.inner(y)", "torch.inner(input=x, other=y)"],
                     np.inner, {"2d": ((2, 3), (4, 3)), "vec": ((3,), (3,)), "0d": ((), (2, 3)),
                                "nd": ((2, 2, 3), (3,)), "empty": ((0, 3), (2, 3))}, float32=("2d",)),
    )),
    OpInfo("kron", "linalg", (
        _contraction("kron", "", ["kron(x, y)", "np.kron(x, y)", "numpy.kron(x, y)", "torch.kron(x, y)", "x.kron(y)",
                                  "torch.kron(input=x, other=y)"],
                     np.kron, {"2d": ((2, 3), (2, 2)), "vec": ((2,), (3,)), "ranks": ((2, 3), (4,)),
                               "ranks-b": ((3,), (2, 2, 2)), "0d": ((), (2, 3)), "both-0d": ((), ()),
                               "ones": ((2, 1), (1, 3)), "empty": ((0, 2), (2, 2))}, float32=("2d",)),
    )),
)

SCANS = (
    OpInfo("cumsum", "linalg", (
        _layout("cumsum", "axis=1", ["cumsum(x, 1)", "np.cumsum(x, axis=1)", "torch.cumsum(x, dim=1)", "x.cumsum(1)",
                                     "x.cumsum(dim=1)", "numpy.cumsum(x, -1)"],
                lambda x: np.cumsum(x, axis=1), [_2D, ("empty", (2, 0))]),
        _layout("cumsum", "flat", ["cumsum(x)", "np.cumsum(x)", "x.cumsum()"], np.cumsum, [_VEC, _2D, _3D, _0D]),
        _layout("cumsum", "axis=0", ["np.cumsum(x, 0)", "torch.cumsum(x, 0)"], lambda x: np.cumsum(x, 0),
                [_VEC, _2D, _3D]),
    )),
)

def _with_zeros(key, shape, every):
    """A sample of that shape with a 0 at every ``every``-th element (and at the first)."""
    x = draw([(-2.0, 2.0)], [shape], _seed(key, str(every)))[0]
    return np.where(np.arange(x.size).reshape(shape) % every == 0, 0.0, x)


def _cumprod_samples(key, shapes, reference_axis):
    samples = _shaped(key, shapes) + _shaped(key, [s for s in shapes if s[0] in ("2d", "3d")], "float32")
    for name, shape in shapes:
        if 0 not in shape and shape:
            samples += [Sample(f"{name}-zero", (_with_zeros(key, shape, 3),)),
                        Sample(f"{name}-zeros", (_with_zeros(key, shape, 2),))]
    return tuple(samples)


SCANS = SCANS + (
    OpInfo("cumprod", "linalg", (
        Variant("cumprod", "axis=1", ("x",), tuple(as_spelling(s) for s in [
            "cumprod(x, 1)", "np.cumprod(x, axis=1)", "torch.cumprod(x, dim=1)", "x.cumprod(1)", "x.cumprod(dim=1)",
            "numpy.cumprod(x, -1)", "torch.cumprod(input=x, dim=-1)"]),
            lambda x: np.cumprod(x, axis=1), _cumprod_samples("cumprod/1", [_2D, ("empty", (2, 0))], 1)),
        Variant("cumprod", "flat", ("x",), tuple(as_spelling(s) for s in ["cumprod(x)", "np.cumprod(x)", "x.cumprod()"]),
                np.cumprod, _cumprod_samples("cumprod/flat", [_VEC, _2D, _3D, _0D], None)),
        Variant("cumprod", "axis=0", ("x",), tuple(as_spelling(s) for s in ["np.cumprod(x, 0)", "torch.cumprod(x, 0)"]),
                lambda x: np.cumprod(x, 0), _cumprod_samples("cumprod/0", [_VEC, _2D, _3D], 0)),
    )),
)


def _sorted(x, axis=-1, descending=False, k=None):
    """NumPy's sort (descending: of -x, negated back), the first k where k is given."""
    out = -np.sort(-x, axis) if descending else np.sort(x, axis)
    return out if k is None else np.take(out, np.arange(k), axis=axis)


# Sorting (derivgen/frontend/sorting.py): random samples have no ties (finite differences see a
# permutation); ties are in tests/test_sorting.py, where the gradient's element is checked.
SORTS = (
    OpInfo("sort", "linalg", (
        _layout("sort", "", ["sort(x)", "np.sort(x)", "numpy.sort(x, -1)", "np.sort(x, axis=-1, kind='stable')",
                             "torch.sort(x)[0]", "torch.sort(x).values", "x.sort()[0]", "torch.sort(input=x, dim=-1)[0]",
                             "np.sort(a=x, kind='quicksort', stable=True)"],
                _sorted, [_2D, _VEC, _3D, ("empty", (2, 0))]),
        _layout("sort", "axis=0", ["np.sort(x, 0)", "torch.sort(x, 0).values", "x.sort(dim=0)[0]",
                                   "torch.sort(x, dim=0, stable=True)[0]"],
                lambda x: _sorted(x, 0), [_2D, _3D]),
        _layout("sort", "flat", ["np.sort(x, axis=None)", "sort(x, None)"], lambda x: np.sort(x, None), [_2D, _3D, _0D],
                float32=("2d",)),
        _layout("sort", "descending", ["torch.sort(x, descending=True)[0]", "x.sort(descending=True).values",
                                       "torch.sort(x, 1, True)[0]", "x.sort(-1, True)[0]"],
                lambda x: _sorted(x, -1, True), [_2D, _3D]),
    )),
    OpInfo("msort", "linalg", (
        _layout("msort", "", ["torch.msort(x)", "x.msort()", "msort(x)", "torch.msort(input=x)"],
                lambda x: np.sort(x, 0), [_2D, _VEC, _3D]),
    )),
    OpInfo("topk", "linalg", (
        _layout("topk", "", ["torch.topk(x, 2)[0]", "torch.topk(x, 2).values", "x.topk(2)[0]", "topk(x, 2)[0]",
                             "torch.topk(x, k=2, dim=-1, largest=True, sorted=True).values", "torch.topk(input=x, k=2)[0]"],
                lambda x: _sorted(x, -1, True, 2), [_2D, _VEC, _3D]),
        _layout("topk", "smallest", ["torch.topk(x, 2, largest=False)[0]", "x.topk(2, 0, False)[0]"],
                lambda x: _sorted(x, 0 if x.ndim == 1 else -1, False, 2), [_VEC], float32=()),
        _layout("topk", "dim=0", ["torch.topk(x, 3, dim=0)[0]", "x.topk(3, 0)[0]", "torch.topk(x, 3, 0, True)[0]"],
                lambda x: _sorted(x, 0, True, 3), [_2D, _3D]),
        _layout("topk", "k=0", ["torch.topk(x, 0)[0]"], lambda x: _sorted(x, -1, True, 0), [_2D], float32=()),
    )),
)

# Positions the module computes (derivgen/frontend/sorting.py), read as numbers (times x: the
# gradient is the positions) and by an index; random samples have no ties.
POSITIONS = (
    OpInfo("argmax", "linalg", (
        _layout("argmax", "axis", ["np.argmax(x, axis=-1, keepdims=True) * x", "x.argmax(-1, keepdim=True) * x",
                                   "torch.argmax(x, dim=-1, keepdim=True) * x", "torch.max(x, -1, True).indices * x"],
                lambda x: np.argmax(x, axis=-1, keepdims=True) * x, [_2D, _VEC, _3D]),
        _layout("argmax", "flat", ["np.argmax(x) * x", "torch.argmax(x) * x", "x.argmax() * x"],
                lambda x: np.argmax(x) * x, [_2D, _VEC, _0D]),
        _layout("argmax", "gather", ["np.take_along_axis(x, np.argmax(x, 0, keepdims=True), 0)",
                                     "x.gather(0, x.argmax(0, keepdim=True))"],
                lambda x: np.max(x, 0, keepdims=True), [_2D, _3D]),
    )),
    OpInfo("argmin", "linalg", (
        _layout("argmin", "axis", ["np.argmin(x, axis=0) + x", "x.argmin(dim=0) + x", "torch.min(x, 0).indices + x"],
                lambda x: np.argmin(x, axis=0) + x, [_2D, _VEC, _3D]),
        _layout("argmin", "index", ["x[np.argmin(x[:, 0])]", "x[x[:, 0].argmin()]"],
                lambda x: x[np.argmin(x[:, 0])], [_2D, _3D]),
    )),
    OpInfo("argsort", "linalg", (
        _layout("argsort", "", ["np.argsort(x) * x", "torch.argsort(x) * x", "x.argsort(-1) * x",
                                "torch.sort(x).indices * x"],
                lambda x: np.argsort(x, kind="stable") * x, [_2D, _VEC, _3D]),
        _layout("argsort", "gather", ["np.take_along_axis(x, np.argsort(x, axis=0), axis=0)"],
                lambda x: np.sort(x, 0), [_2D, _3D]),
    )),
)

# Statistics (derivgen/frontend/statistics.py): each library's divisor.
STATISTICS = (
    OpInfo("var", "reduction", (
        _layout("var", "numpy", ["np.var(x)", "numpy.var(x, axis=None)", "np.var(a=x, ddof=0)", "x.var(ddof=0)"],
                np.var, [_2D, _VEC, _3D]),
        _layout("var", "axis", ["np.var(x, axis=-1, keepdims=True)", "x.var(axis=-1, keepdims=True)",
                                "torch.var(x, -1, False, True)", "torch.var(x, dim=-1, correction=0, keepdim=True)"],
                lambda x: np.var(x, axis=-1, keepdims=True), [_2D, _3D]),
        _layout("var", "torch", ["torch.var(x)", "torch.var(x, unbiased=True)", "x.var(correction=1)", "np.var(x, ddof=1)"],
                lambda x: np.var(x, ddof=1), [_2D, _VEC, _3D]),
    )),
    OpInfo("norm", "reduction", (
        _layout("norm", "2", ["np.linalg.norm(x)", "torch.linalg.vector_norm(x)", "torch.norm(x)", "x.norm()",
                              "np.linalg.norm(x, axis=(0, 1))"], lambda x: np.linalg.norm(x), [_2D]),
        _layout("norm", "axis", ["np.linalg.norm(x, axis=-1, keepdims=True)", "x.norm(dim=-1, keepdim=True)",
                                 "torch.linalg.norm(x, 2, -1, True)"],
                lambda x: np.linalg.norm(x, axis=-1, keepdims=True), [_2D, _VEC, _3D]),
        _layout("norm", "p", ["np.linalg.norm(x, 3, axis=0)", "torch.norm(x, p=3, dim=0)", "x.norm(3, 0)"],
                lambda x: np.linalg.norm(x, 3, axis=0), [_2D, _VEC]),
        _layout("norm", "1,inf", ["np.linalg.norm(x, 1, axis=-1) + np.linalg.norm(x, np.inf, axis=-1)"],
                lambda x: np.linalg.norm(x, 1, axis=-1) + np.linalg.norm(x, np.inf, axis=-1), [_2D, _3D]),
    )),
    OpInfo("std", "reduction", (
        _layout("std", "numpy", ["np.std(x, axis=0)", "x.std(axis=0)", "torch.std(x, 0, correction=0)"],
                lambda x: np.std(x, axis=0), [_2D, _3D]),
        _layout("std", "torch", ["torch.std(x, dim=(0, 1))", "x.std(dim=(0, 1), keepdim=False)",
                                 "np.std(x, axis=(0, 1), ddof=1)"],
                lambda x: np.std(x, axis=(0, 1), ddof=1), [_2D, _3D]),
    )),
)

# Arrays taken apart (derivgen/frontend/python.py, sugar.py): a slice or a part, each
# differentiable, the count or the rank checked when the module runs.
PARTS = (
    OpInfo("unbind", "linalg", (
        _layout("unbind", "dim=0", ["x.unbind(0)[1]", "torch.unbind(x)[1]", "torch.unbind(x, dim=0)[-2]"],
                lambda x: x[1], [_2D, _VEC, _3D]),
        _layout("unbind", "dim=-1", ["x.unbind(-1)[0]", "torch.unbind(x, -1)[0]"], lambda x: x[..., 0], [_2D, _3D]),
    )),
    OpInfo("hsplit", "linalg", (
        _layout("hsplit", "", ["np.hsplit(x, 2)[1]", "torch.hsplit(x, 2)[1]", "x.hsplit([2])[1]"],
                lambda x: np.hsplit(x, 2)[1], [_2D, _3D]),
    )),
    OpInfo("vsplit", "linalg", (
        _layout("vsplit", "", ["np.vsplit(x, 3)[0]", "torch.vsplit(x, [1])[0]", "x.vsplit(3)[0]"],
                lambda x: np.vsplit(x, 3)[0], [_2D, _3D]),
    )),
    OpInfo("dsplit", "linalg", (
        _layout("dsplit", "", ["np.dsplit(x, 2)[1]", "torch.dsplit(x, [1])[1]"], lambda x: np.dsplit(x, 2)[1], [_3D]),
    )),
)

# ---- SciPy's special functions ----------------------------------------------------------------
# References: SciPy itself in float64 (it has no extended precision: ref_eps is float64's).
def scipy_function(name: str, *fixed) -> Callable:
    def reference(*args):
        from scipy import special
        dtype = np.result_type(*(np.asarray(a) for a in args))
        return np.asarray(getattr(special, name)(*fixed, *(np.asarray(a, np.float64) for a in args))).astype(dtype)
    reference.__name__ = name
    return reference


def _special(op, spellings, domains, *variants, reference=None, **options) -> OpInfo:
    return op_info(op, "elementwise", elementwise(op, spellings, reference or scipy_function(op), domains,
                                                  ref_eps=FLOAT64_EPS, **options), *variants)


def _log_ndtr_partials(x):
    from scipy import special
    return (np.sqrt(2 / np.pi) / special.erfcx(-np.asarray(x, np.float64) / np.sqrt(2)),)


def _ndtri_partials(p):
    from scipy import special
    return (np.sqrt(2 * np.pi) * np.exp(special.ndtri(np.asarray(p, np.float64)) ** 2 / 2),)


def _logit_eps(x, eps=0.1):
    return scipy_function("logit")(np.clip(x, eps, 1 - eps))


def _polygamma(n):
    sources = [f"polygamma({n}, x)", f"scipy.special.polygamma({n}, x)", f"torch.special.polygamma({n}, x)",
               f"torch.polygamma({n}, x)", f"x.polygamma({n})", f"torch.polygamma(n={n}, input=x)"]
    return elementwise("polygamma", sources, scipy_function("polygamma", n), [(0.3, 5.0)],
                       name=f"n={n}", inputs=("x",), ref_eps=FLOAT64_EPS)


_POSITIVE_PAIR = [(0.3, 4.0), (0.3, 4.0)]
SPECIAL = (
    _special("gammaln", spell("gammaln lgamma", torch="lgamma", math="lgamma", scipy="gammaln", special="gammaln",
                              method="lgamma"), [(0.2, 6.0)]),
    _special("digamma", spell("digamma psi", torch="digamma", scipy="digamma psi", special="digamma psi",
                              method="digamma"), [(0.2, 6.0)]),
    OpInfo("polygamma", "elementwise", (_polygamma(0), _polygamma(1), _polygamma(3))),
    _special("gamma", spell("gamma", math="gamma", scipy="gamma"), [(0.2, 5.0)]),
    _special("beta", spell("beta", scipy="beta", args="x, y"), _POSITIVE_PAIR),
    _special("betaln", spell("betaln", scipy="betaln", args="x, y"), _POSITIVE_PAIR),
    _special("erfc", spell("erfc", torch="erfc", math="erfc", scipy="erfc", special="erfc", method="erfc"),
             [(-3.0, 3.0)]),
    _special("erfinv", spell("erfinv", torch="erfinv", scipy="erfinv", special="erfinv", method="erfinv"),
             [(-0.95, 0.95)]),
    _special("erfcx", spell("erfcx", scipy="erfcx", special="erfcx"), [(-3.0, 5.0)]),
    _special("ndtr", spell("ndtr", scipy="ndtr", special="ndtr"), [(-4.0, 4.0)], reference=ndtr),
    _special("log_ndtr", spell("log_ndtr", scipy="log_ndtr", special="log_ndtr"), [(-6.0, 6.0)],
             extremes=_extremes([[-1e3, -40.0, 10.0, 40.0]], [[-1e3, -40.0, 10.0, 40.0]], _log_ndtr_partials)),
    _special("ndtri", spell("ndtri", scipy="ndtri", special="ndtri"), [(0.02, 0.98)],
             extremes=(extreme("extreme", [[1e-300, 1e-20, 1 - 1e-12]], _ndtri_partials),
                       extreme("extreme-f32", [[1e-30, 1e-7, 0.999]], _ndtri_partials, "float32"))),
    _special("logit", spell("logit", torch="logit", scipy="logit", special="logit", method="logit"),
             [(0.05, 0.95)],
             elementwise("logit", ["torch.logit(x, eps=0.1)", "torch.special.logit(x, eps=0.1)", "x.logit(eps=0.1)",
                                   "torch.logit(x, 0.1)", "x.logit(0.1)", "torch.logit(input=x, eps=0.1)"],
                         _logit_eps, [(0.15, 0.85)], name="eps", ref_eps=FLOAT64_EPS,
                         kinks=[kink("bounds", [[0.05, 0.1, 0.5, 0.9, 0.95]],
                                     [[0.0, 1 / 0.09, 4.0, 1 / 0.09, 0.0]])])),
    _special("i0", spell("i0", numpy="", torch="i0", scipy="i0", special="i0", method="i0"), [(-4.0, 4.0)]),
    _special("i1", spell("i1", scipy="i1", special="i1"), [(-4.0, 4.0)],
             kinks=[kink("zero", [[0.0]], [[0.5]])]),
    _special("xlogy", spell("xlogy", torch="xlogy", scipy="xlogy", special="xlogy", method="xlogy", args="x, y"),
             [(-2.0, 2.0), (0.2, 3.0)], kinks=[kink("zero-x", [[0.0, 0.0, 0.0], [0.5, 2.0, -1.0]],
                                                   [[math.log(0.5), math.log(2.0), 0.0], [0.0, 0.0, 0.0]])]),
    _special("xlog1py", spell("xlog1py", scipy="xlog1py", special="xlog1py", args="x, y"),
             [(-2.0, 2.0), (-0.8, 3.0)], kinks=[kink("zero-x", [[0.0, 0.0, 0.0], [0.5, 2.0, -2.0]],
                                                     [[math.log1p(0.5), math.log1p(2.0), 0.0], [0.0, 0.0, 0.0]])]),
)

OPS: tuple[OpInfo, ...] = (*UNARY_OPS, *BINARY_OPS, *OPERATORS, CLAMP, WHERE, *REDUCTIONS,
                           MATMUL, DOT, TRANSPOSE, *LAYOUT, GATHER, TAKE_ALONG, GATHER_ALONG, *JOINS, *SCANS,
                           *SUGAR, *CONTRACTIONS, *SORTS, *POSITIONS, *PARTS, *STATISTICS, *SPECIAL)


def cases(ops: Sequence[OpInfo] = OPS) -> list[Case]:
    """Every (variant, spelling, sample) of the database, canonical spellings first per variant."""
    return [Case(variant, spelling, sample) for info in ops for variant in info.variants
            for spelling in variant.spellings for sample in variant.samples_for(spelling)]
