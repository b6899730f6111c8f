"""Random programs for differential testing of derivgen: generator, oracle and shrinker.

The generator builds Csmith-style random programs as trees (:class:`Node`) whose shapes are
tracked so that every program is valid NumPy, and whose value intervals are tracked so that
domain-restricted ops (log, sqrt, arcsin, division, ...) get operands inside their domain,
unless they sit in a where() branch that selects only valid places. Programs are rendered to
source in many spellings (bare, ``np.``, ``torch.``, ``F.``, method form, NumPy and torch
keywords), as one expression or as ``def``s with helpers, reassignment and augmented
assignment.

The reference is this module's *own* evaluation of the tree with
:data:`derivgen.reference.KERNELS`, so bugs in derivgen's parser are caught as well as bugs
in its optimiser and printer. The parsed graph is also evaluated by
:func:`derivgen.reference.evaluate` and compared with the tree: a mismatch is a parser bug.

The oracle (:class:`Oracle`) compiles each program with ``derivgen.compile`` and checks, per
input set:

- values of ``forward`` and ``value_and_grad`` against the exact value (mpmath at 50 digits,
  rounded). derivgen must be at least as accurate as the naive op-by-op float64 evaluation:
  an element passes when ``|gen - exact| <= rel*|exact| + floor*scale + K*(|naive - exact| +
  spread)``, where ``spread`` is how far a perturbation of every rounded intermediate result
  by two float64 units moves the exact value (an estimate of the rounding sensitivity that the
  naive evaluation may have been lucky to miss). Elements whose exact value is not finite or
  not representable, or whose naive evaluation is not finite, are skipped (overflow is tested
  elsewhere); shapes must be NumPy's and dtypes float64.
- gradients of ``backward`` and ``value_and_grad`` (for the default ``grad_output`` and a random
  one of the output's shape) against the finite-difference vector-Jacobian product, computed in
  mpmath; elements where the function is not smooth (a kink) or is ill-conditioned in float64
  (the perturbed function's gradient moves by more than 1e-3 relative) are skipped, and so are
  input sets whose naive evaluation overflows or meets an exception that reaches the output, or
  has an intermediate value beyond the square root of the largest float (a gradient formula's
  x**2 would overflow: overflow is tested elsewhere). The tolerance is the value's, with the
  terms' size ``|grad_output| * max(1, |value|)`` as the scale. Gradient shapes and dtypes must
  be the inputs'; backward and value_and_grad must agree.
- every code path: the NumPy path, the scalar path (Python floats, when every input is 0-d),
  the blocked path with blocks of 2 elements (when the module has ``_Blocks``) and float32 inputs
  (float32 results, looser tolerances against the same exact values: inputs are drawn as
  float32 numbers, so the exact reference is shared).
- the caller's arrays are not modified, and no RuntimeWarning is raised where the exact value
  (and gradient) is finite and no floating-point exception of the naive evaluation reaches the
  output (an exception in a where() branch that is not selected does not count: derivgen
  promises NaN-safe branches).

Failures are grouped by class (check, function, path); :func:`shrink` reduces a failing
program greedily while it fails with the same class, and :func:`regression_test` prints the
result as a test to paste into the suite.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import math
import random
import re
import signal
import string
import threading
import time
import traceback
import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import mpmath
import numpy as np

import derivgen
from derivgen import reference as R

# ---- the tree --------------------------------------------------------------------------------

UNARY = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh",
         "arctanh", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "square", "abs",
         "sign", "floor", "ceil", "erf", "sigmoid", "softplus", "relu", "cbrt",
         # torch.nn.functional's activations (their parameters: ACTIVATION_PARAMETERS)
         "gelu", "silu", "mish", "elu", "selu", "celu", "leaky_relu", "relu6", "hardtanh", "softsign", "logsigmoid",
         "hardsigmoid", "hardswish", "rsqrt", "tanhshrink", "softshrink", "hardshrink"]
# The constant parameters an activation may be given: (source text, values passed to its
# derivgen.reference kernel after x, the kernel's name if another); F.softplus always passes
# PyTorch's beta and threshold (1 and 20 when none are written: x above 20).
ACTIVATION_PARAMETERS = {
    "gelu": [("approximate='tanh'", (), "gelu_tanh"), ("approximate='none'", (), None)],
    "elu": [("alpha=0.5", (0.5,), None), ("2.0", (2.0,), None)],
    "celu": [("alpha=0.5", (0.5,), None), ("1.5", (1.5,), None)],
    "leaky_relu": [("negative_slope=0.2", (0.2,), None), ("0.05", (0.05,), None)],
    "hardtanh": [("-0.5, 2.0", (-0.5, 2.0), None), ("min_val=-2.0, max_val=0.25", (-2.0, 0.25), None)],
    "softplus": [("beta=2.0", (2.0, 20.0), None), ("beta=0.5, threshold=5.0", (0.5, 5.0), None),
                 ("threshold=1.0", (1.0, 1.0), None)],
    "softshrink": [("lambd=0.25", (0.25,), None), ("1.0", (1.0,), None)],
    "hardshrink": [("lambd=0.25", (0.25,), None), ("1.0", (1.0,), None)],
}
ACTIVATION_DEFAULTS = {"softplus": (1.0, 20.0)}
# Activations whose value is not monotonic, and the least value each takes.
ACTIVATION_MINIMA = {"gelu": -0.17, "silu": -0.2785, "mish": -0.3089, "hardswish": -0.375}
BINARY_FUNCTIONS = ["arctan2", "hypot", "maximum", "minimum", "logaddexp", "logaddexp2", "copysign", "heaviside"]
# scipy.stats' functions (op "distribution": args x, then df for t, then loc and scale where
# written; attrs dist, method, keys (the keyword each argument is written with, or None), prefix).
DISTRIBUTION_CALLS = [("norm", "logpdf"), ("norm", "pdf"), ("norm", "cdf"), ("norm", "logcdf"), ("norm", "sf"),
                      ("norm", "logsf"), ("t", "logpdf"), ("laplace", "logpdf"), ("logistic", "logpdf"),
                      ("cauchy", "logpdf")]
# SciPy's special functions: op -> (the interval of each operand it is given, the spellings:
# prefixes or names after them, "." a method). An operand is moved into its interval by
# lo + width * sigmoid(x) (lo + softplus(x) where the interval has no upper end) unless it lies
# there; polygamma's first operand is its order n, a whole number written in the source.
_SPECIAL_ANY = (-math.inf, math.inf)
SPECIAL_FUNCTIONS = {
    "gammaln": ([(0.05, math.inf)], ["", "scipy.special.", "special.", "torch.special.", "torch.lgamma", "math.lgamma",
                                     "lgamma", ".lgamma"]),
    "digamma": ([(0.05, math.inf)], ["", "scipy.special.", "special.", "torch.special.", "torch.", "psi",
                                     "scipy.special.psi", "torch.special.psi", ".digamma"]),
    "polygamma": ([None, (0.2, math.inf)], ["", "scipy.special.", "special.", "torch.special.", "torch."]),
    "gamma": ([(0.1, 6.0)], ["", "scipy.special.", "special.", "math."]),
    "beta": ([(0.1, 6.0), (0.1, 6.0)], ["", "scipy.special.", "special."]),
    "betaln": ([(0.1, math.inf), (0.1, math.inf)], ["", "scipy.special.", "special."]),
    "erfc": ([_SPECIAL_ANY], ["", "scipy.special.", "special.", "torch.special.", "torch.", "math.", ".erfc"]),
    "erfinv": ([(-0.95, 0.95)], ["", "scipy.special.", "torch.special.", "torch.", ".erfinv"]),
    "erfcx": ([(-5.0, math.inf)], ["", "scipy.special.", "special.", "torch.special."]),
    "log_ndtr": ([_SPECIAL_ANY], ["", "scipy.special.", "special.", "torch.special."]),
    "ndtri": ([(0.02, 0.98)], ["", "scipy.special.", "special.", "torch.special."]),
    "logit": ([(0.02, 0.98)], ["", "scipy.special.", "special.", "torch.special.", "torch.", ".logit"]),
    "i0": ([(-20.0, 20.0)], ["", "scipy.special.", "special.", "torch.special.", "torch.", ".i0"]),
    "i1": ([(-20.0, 20.0)], ["", "scipy.special.", "special.", "torch.special."]),
    "xlogy": ([_SPECIAL_ANY, (1e-3, math.inf)], ["", "scipy.special.", "special.", "torch.special.", "torch.",
                                                 ".xlogy"]),
    "xlog1py": ([_SPECIAL_ANY, (-0.999, math.inf)], ["", "scipy.special.", "special.", "torch.special."]),
}
OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
# The operators as NumPy's ufuncs by name (torch.add and kin too; torch has no true_divide method).
UFUNC_NAMES = {"add": ("add",), "sub": ("subtract",), "mul": ("multiply",), "div": ("divide", "true_divide")}
CONDITIONS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "eq": "==", "ne": "!="}
REDUCTIONS = ["sum", "mean", "logsumexp", "amax", "amin", "prod"]
# Ops that move elements; a node's attrs["static"] holds their static arguments as one tuple,
# in the order derivgen.reference's kernels take them (an index's items: int, None, Ellipsis,
# ("slice", start, stop, step), ("take", positions)).
LAYOUT = ["getitem", "reshape", "flatten", "squeeze", "expand_dims", "permute", "swapaxes", "moveaxis", "flip",
          "broadcast_to", "roll", "cumsum", "diagonal", "tril", "triu", "tile", "repeat", "pad", "rot90", "cumprod",
          "sort", "split_part", "diag"]
# The spellings of a sort's values ({a}: the axis, {d}: descending, {k}: topk's k; {r} the receiver).
SORT_FORMS = ("np.sort({x}, axis={a})", "np.sort({x}, {a}, kind='stable')", "torch.sort({x}, dim={a})[0]",
              "{r}.sort({a}).values", "torch.msort({x})", "{r}.msort()",
              "torch.sort({x}, dim={a}, descending={d})[0]", "{r}.sort({a}, {d})[0]",
              "torch.sort({x}, {a}, descending={d}, stable=True).values",
              "torch.topk({x}, {k}, dim={a}, largest={d})[0]", "{r}.topk({k}, {a}, {d}).values",
              "torch.topk({x}, k={k}, dim={a}, largest={d}, sorted=True).values")
# x[t], x[:, t], x[np.arange(len(t)), t]: an index reading an input of integer positions t (and
# np.arange of a size), op "gather_index"; args (x, t), attrs["static"] the index as the kernel
# takes it (("at", 1) is t, ("arange", j, what) np.arange of a size of operand j).
GATHER_FORMS = ("input", "column", "rows")
# np.take_along_axis(x, t, axis) and PyTorch's torch.gather(x, dim, t): op "take_along_axis", args
# (x, t), attrs["static"] = (axis, leading) (leading: PyTorch's, which reads the leading part of
# x's other axes); the spellings of each ({x}, {t}: operands, {r}: x as a receiver, {a}: axis).
TAKE_FORMS = {False: ("np.take_along_axis({x}, {t}, {a})", "np.take_along_axis({x}, {t}, axis={a})",
                      "torch.take_along_dim({x}, {t}, dim={a})", "take_along_axis({x}, indices={t}, axis={a})"),
              True: ("torch.gather({x}, {a}, {t})", "{r}.gather({a}, {t})", "{r}.gather(dim={a}, index={t})",
                     "torch.gather({x}, dim={a}, index={t})")}
# np.stack and np.concatenate of parts (op "stack" or "concatenate", args the parts, attrs
# static (axis,)), np.hstack and np.vstack (static (op,)): the spellings ({p}: the parts, {a}:
# the axis); np.array([...]) stacks along 0.
JOIN_FORMS = {"stack": ("np.stack([{p}], axis={a})", "torch.stack(({p},), dim={a})", "np.stack(({p},), {a})"),
              "concatenate": ("np.concatenate([{p}], axis={a})", "torch.cat([{p}], dim={a})", "torch.cat(({p},), {a})",
                              "np.concatenate(({p},), {a})"),
              "hstack": ("np.hstack([{p}])", "torch.hstack(({p},))", "np.hstack(({p},))"),
              "vstack": ("np.vstack([{p}])", "torch.vstack(({p},))", "np.vstack(tup=({p},))")}
# np.outer (op "outer", args a and b, read flattened) and np.ones_like (op "ones_like"): calls
# derivgen reads as other ops; their spellings ({a}, {b}: operands, {r}: a as a receiver).
OUTER_FORMS = ("np.outer({a}, {b})", "torch.outer({a}, {b})", "{r}.outer({b})", "outer({a}, {b})")
# Floor division and the remainders (op "floor_divide", "remainder" or "fmod", args a and b):
# their spellings ({a}, {b}: operands, {r}: a as a receiver); // and % first, as Python's operators.
DIVISION_FORMS = {"floor_divide": ("{a} // {b}", "np.floor_divide({a}, {b})", "torch.floor_divide({a}, {b})"),
                  "remainder": ("{a} % {b}", "np.remainder({a}, {b})", "np.mod({a}, {b})",
                                "torch.remainder({a}, {b})", "{r}.remainder({b})"),
                  "fmod": ("np.fmod({a}, {b})", "torch.fmod({a}, {b})", "{r}.fmod({b})")}
ONES_FORMS = ("np.ones_like({a})", "torch.ones_like({a})", "ones_like({a})", "np.ones_like({a}, dtype=float)")
# Contractions: op "einsum" (args the operands, attrs static (subscripts,) with the output
# written out, as derivgen.reference's kernel takes them; spell "text" the subscripts as the
# source writes them, implicit output or spaces), op "tensordot" (static (axes,): a count or a
# pair of tuples of axes), "kron" (static ()) and "inner" (none). Their spellings: {s} the subscripts'
# literal, {o} the operands; {a}, {b} the operands, {r} a as a receiver, {n} a count, {A}, {B}
# the axes of a and of b.
EINSUM_FORMS = ("np.einsum({s}, {o})", "torch.einsum({s}, {o})", "einsum({s}, {o})", "numpy.einsum({s}, {o})",
                "torch.einsum({s}, [{o}])", "torch.einsum({s}, ({o},))", "np.einsum({s}, {o}, optimize=True)")
TENSORDOT_FORMS = {"int": ("np.tensordot({a}, {b}, {n})", "np.tensordot({a}, {b}, axes={n})",
                           "torch.tensordot({a}, {b}, dims={n})", "tensordot({a}, {b}, {n})",
                           "torch.tensordot({a}, {b}, {n})", "np.tensordot({a}, {b})"),
                   "pairs": ("np.tensordot({a}, {b}, axes=({A}, {B}))", "torch.tensordot({a}, {b}, dims=({A}, {B}))",
                             "np.tensordot({a}, {b}, ({A}, {B}))", "torch.tensordot({a}, {b}, dims=[{A}, {B}])",
                             "numpy.tensordot({a}, {b}, axes=[{A}, {B}])")}
INNER_FORMS = ("np.inner({a}, {b})", "torch.inner({a}, {b})", "{r}.inner({b})", "inner({a}, {b})",
               "torch.inner(input={a}, other={b})")
KRON_FORMS = ("np.kron({a}, {b})", "torch.kron({a}, {b})", "{r}.kron({b})", "kron({a}, {b})",
              "torch.kron(input={a}, other={b})")
CONTRACTIONS = ("einsum", "tensordot", "inner", "kron")
# np.arange of a size, as sources write it ({x}: the array whose first axis it counts)
ARANGE_FORMS = ("np.arange(len({x}))", "np.arange({x}.shape[0])", "torch.arange(len({x}))",
                "numpy.arange({x}.shape[0])", "torch.arange({x}.size(0))")
# np.arange as numbers (op "arange", args () or the array a stop is read off, attrs static
# (start, stop, step) as the reference kernel takes it, stop ("of", ("shape", i, None)) for a
# size): the spellings by kind ({n} a constant stop, {s} {e} {t} start, stop and step, {x} the
# array, {r} it as a receiver, {i} the axis).
# np.var / np.std and PyTorch's, along axis {a} ({k}: keepdims), NumPy's ddof {d} or PyTorch's
# correction {d}: {f} is the function's name.
STATISTIC_FORMS = ("np.{f}({x}, axis={a}, ddof={d}, keepdims={k})", "torch.{f}({x}, dim={a}, correction={d}, keepdim={k})",
                   "{r}.{f}(axis={a}, ddof={d}, keepdims={k})", "{r}.{f}(dim={a}, correction={d}, keepdim={k})",
                   "torch.{f}({x}, {a}, {u}, {k})")
# The 2-norm along axis {a} ({k}: keepdims): tagged by what the form takes, "one" axis, "two", or
# "any" number of them (None too).
NORM_FORMS = (("np.linalg.norm({x}, axis={a}, keepdims={k})", "two"), ("torch.linalg.norm({x}, dim={a}, keepdim={k})", "two"),
              ("{r}.norm(dim={a}, keepdim={k})", "two"), ("torch.linalg.vector_norm({x}, 2, {a}, {k})", "any"),
              ("torch.norm({x}, p=2, dim={a}, keepdim={k})", "any"))
# np.argmax / np.argmin (and PyTorch's) of x along axis a, as numbers: {f} is the function's name.
POSITION_FORMS = ("np.{f}({x}, axis={a})", "np.{f}({x}, {a})", "{r}.{f}({a})", "torch.{f}({x}, dim={a})",
                  "{r}.{f}(dim={a})")
ARANGE_NUMBER_FORMS = {"count": ("np.arange({n})", "torch.arange({n})", "np.arange({n}.0)", "arange({n})"),
                       "step": ("np.arange({s}, {e}, {t})", "torch.arange({s}, {e}, step={t})",
                                "np.arange(start={s}, stop={e}, step={t})"),
                       "size": ("np.arange({x}.shape[{i}])", "torch.arange({r}.size({i}))",
                                "np.arange(0, {x}.shape[{i}], 1)")}
# Integers read off an input's shape (derivgen/ops/sizes.py): (what, forms) where a form is
# how the source reads it; "{x}" is the array, "{axis}" the axis.
SIZE_FORMS = {
    "shape": ("{x}.shape[{axis}]", "np.shape({x})[{axis}]", "{x}.size({axis})", "{x}.size(dim={axis})",
              "np.size({x}, {axis})", "{x}.size()[{axis}]"),
    "len": ("len({x})",),
    "size": ("{x}.size", "np.size({x})", "{x}.numel()", "torch.numel({x})", "{x}.nelement()"),
    "ndim": ("{x}.ndim", "np.ndim({x})", "{x}.dim()", "len({x}.shape)", "{x}.ndimension()"),
}
# torch.max(x, dim) and torch.min: (values, indices), the values read in each way PyTorch's
# users do ({x} the operand, {r} it as a receiver, {f} max or min, {d} the dim, {k} keepdim).
PAIR_FORMS = ("torch.{f}({x}, {d}{k})[0]", "torch.{f}({x}, dim={d}{k}).values", "{r}.{f}(dim={d}{k})[0]",
              "{r}.{f}(dim={d}{k}).values")
# np.diff and torch.diff: {x} the operand, {r} it as a receiver, {n} the order, {a} the axis.
DIFF_FORMS = ("np.diff({x}, {n}, {a})", "np.diff({x}, n={n}, axis={a})", "torch.diff({x}, n={n}, dim={a})",
              "{r}.diff(n={n}, dim={a})", "diff({x}, {n}, axis={a})")
# A condition as the numbers 1.0 and 0.0: bare beside a number in + - * / (the first form),
# or cast ("{c}" is the condition, parenthesised).
NUMBER_FORMS = ("{c}", "{c}.float()", "{c}.double()", "{c}.astype(float)", "{c}.astype(np.float32)",
                "{c}.astype('float64')")
ALIASES = {"arcsin": ["asin"], "arccos": ["acos"], "arctan": ["atan"], "arcsinh": ["asinh"],
           "arccosh": ["acosh"], "arctanh": ["atanh"], "abs": ["absolute", "fabs"], "sigmoid": ["expit"],
           "arctan2": ["atan2"], "pow": ["power", "pow"], "clamp": ["clip"], "transpose": ["t"]}
PREFIXES = ["", "np.", "torch.", "F.", "numpy.", "math.", "torch.nn.functional.", "torch.special.",
            "scipy.special."]
# Positive domains need operands at least this far from their edge (gradients stay moderate).
DOMAINS = {"log": (1e-3, math.inf), "log2": (1e-3, math.inf), "log10": (1e-3, math.inf),
           "sqrt": (1e-3, math.inf), "log1p": (-0.999, math.inf), "arcsin": (-0.999, 0.999),
           "arccos": (-0.999, 0.999), "arctanh": (-0.99, 0.99), "arccosh": (1.001, math.inf),
           "tan": (-1.4, 1.4), "exp": (-math.inf, 25.0), "exp2": (-math.inf, 35.0),
           "expm1": (-math.inf, 25.0), "sinh": (-25.0, 25.0), "cosh": (-25.0, 25.0), "rsqrt": (1e-3, math.inf)}
GUARDS = {"log": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos", "rsqrt": "pos", "log1p": "gt-1", "arcsin": "unit",
          "arccos": "unit", "arctanh": "unit", "arccosh": "gt1"}
MAGNITUDE = 1e6  # larger intermediate values are not generated (outside guarded branches)
SHAPES = [(), (2,), (3,), (5,), (2, 1), (1, 3), (2, 3), (3, 2), (4, 2), (2, 2), (2, 2, 3)]
BLOCK_SHAPES = [(5,), (4, 2), (2, 3), (3, 2)]
ANY_NAMES = ["x", "y", "z", "w", "v", "u", "a", "b", "g", "h"]
POS_NAMES = ["p", "q", "r", "s"]
POSITION_NAMES = ["idx", "label", "target", "j"]
GUARD_NAMES = ["c", "d", "k", "m"]


class ShapeError(ValueError):
    """An operation whose operands' shapes do not fit."""


@dataclass(eq=False)
class Node:
    """One operation of a program tree.

    ``op`` is a kernel name of :data:`derivgen.reference.KERNELS` (``add``, ``sin``, ``sum``,
    ``gt``, ``where``, ``clamp``, ``matmul``, ...) or ``var`` (attrs ``name``), ``const``
    (attrs ``value``, ``text``), ``bool`` (a constant condition), ``call`` (a helper; attrs
    ``helper`` and ``keywords``: per argument, the parameter it is passed as by keyword, or
    None). ``attrs`` also holds static operands (``axis``, ``keepdims``) and the spelling.
    ``shape``, ``lo`` and ``hi`` are known from generation (intervals: for inputs in their
    ordinary sampling ranges).
    """

    op: str
    args: tuple = ()
    attrs: dict = field(default_factory=dict)
    shape: tuple = ()
    lo: float = -math.inf
    hi: float = math.inf

    def children(self):
        return [a for a in self.args if a is not None]


@dataclass(eq=False)
class Helper:
    """A helper ``def`` inlined by derivgen: parameters (with constant defaults), body, return."""

    name: str
    params: list
    defaults: dict
    body: list
    ret: Node


@dataclass(eq=False)
class Stmt:
    """``target = expr`` or, with ``aug`` (an operator's kernel name), ``target <op>= expr``.

    ``form`` is how it is written, never what it computes: ``("loop", k)`` runs it k times
    (``for i in range(k):``), ``("if", condition text, taken)`` puts it in the branch of an
    if statement that a condition known at compile time takes (the other branch holds a
    statement that must never run), ``("pair",)`` writes it and the next statement as one
    tuple assignment (``a, b = e1, e2``: the next does not read this one's target).
    ``assertion``: the condition of an ``assert`` on the target's shape, true, written after it."""

    target: str
    expr: Node
    aug: str | None = None
    form: tuple = ()
    assertion: str | None = None  # an assert on the target's shape that holds, written after it


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple
    kind: str  # "any" (ordinary values), "pos" (positive), "guard" (a where() condition's input)
    # or "positions" (integers that index an axis of ``size`` elements, from ``low``: negative
    # ones count from the end, which PyTorch's gather does not allow)
    size: int = 0
    low: int = 0


@dataclass(eq=False)
class Program:
    inputs: list
    ret: Node
    body: list = field(default_factory=list)
    helpers: list = field(default_factory=list)
    constants: dict = field(default_factory=dict)  # module-level NAME = value
    style: str = "expr"  # "expr" (one expression) or "def"
    wrt: tuple | None = None
    imports: tuple = ()
    defaults: dict = field(default_factory=dict)  # input name -> the text of its default (the last input's)
    family: str = "general"
    seed: int | None = None

    @property
    def function(self) -> str | None:
        return "f" if self.style == "def" else None

    def source(self) -> str:
        return render(self)


def _shape_of(op, args, attrs):
    shapes = [a.shape for a in args if a is not None]
    try:
        if op in ("var",):
            return attrs["shape"]
        if op in ("const", "bool"):
            return ()
        if op in ("call",):
            return attrs["shape"]
        if op == "size":
            return ()
        if op == "diff":
            return np.diff(np.zeros(shapes[0]), attrs["n"], axis=attrs["axis"]).shape
        if op in REDUCTIONS:
            keepdims = attrs.get("keepdims", False)
            return np.sum(np.zeros(shapes[0]), axis=attrs.get("axis"), keepdims=keepdims).shape
        if op == "matmul":
            return np.matmul(np.zeros(shapes[0]), np.zeros(shapes[1])).shape
        if op == "dot":
            return np.dot(np.zeros(shapes[0]), np.zeros(shapes[1])).shape
        if op == "transpose":
            return tuple(reversed(shapes[0]))
        if op == "sort":  # the positions that sort x: x's shape, k along the axis for topk
            return np.shape(R.KERNELS["argsort"].naive(np.zeros(shapes[0]), args=attrs["static"]))
        if op in LAYOUT:
            return np.shape(R.KERNELS[op].naive(np.zeros(shapes[0]), args=attrs["static"]))
        if op == "gather_index":  # a mask as if it held everywhere: as many elements as it can select
            masks = {i[1] for i in attrs["static"][0] if isinstance(i, tuple) and i[0] == "mask"}
            arrays = [np.ones(s, dtype=bool) if j in masks else np.zeros(s, dtype=np.intp)
                      for j, s in enumerate(shapes[1:], start=1)]
            return np.shape(R.KERNELS[op].naive(np.zeros(shapes[0]), *arrays, args=attrs["static"]))
        if op in ("stack", "concatenate", "hstack", "vstack"):
            return np.shape(R.KERNELS[op].naive(*(np.zeros(s) for s in shapes), args=attrs["static"]))
        if op == "outer":
            return np.outer(np.zeros(shapes[0]), np.zeros(shapes[1])).shape
        if op == "ones_like":
            return shapes[0]
        if op == "arange":
            return np.shape(R.KERNELS[op].naive(*(np.zeros(s) for s in shapes), args=attrs["static"]))
        if op in ("argmax", "argmin"):
            return np.shape(R.KERNELS[op].naive(np.zeros(shapes[0]), args=attrs["static"]))
        if op in ("variance", "deviation", "norm"):
            return np.sum(np.zeros(shapes[0]), axis=attrs["axis"], keepdims=attrs["keepdims"]).shape
        if op in CONTRACTIONS:
            zeros = [np.zeros(s) for s in shapes]
            if op == "inner":
                return np.inner(*zeros).shape
            return np.shape(R.KERNELS[op].naive(*zeros, args=attrs.get("static", ())))
        if op == "take_along_axis":
            return np.shape(R.KERNELS[op].naive(np.zeros(shapes[0]), np.zeros(shapes[1], dtype=np.intp),
                                                args=attrs["static"]))
        if op == "ifexp":
            return shapes[0]
        return np.broadcast_shapes(*shapes)
    except (ValueError, np.exceptions.AxisError, IndexError) as exc:
        raise ShapeError(str(exc)) from None


# ---- intervals ---------------------------------------------------------------------------------

def _safe(fn, x):
    try:
        value = fn(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf
    except (ValueError, ZeroDivisionError):  # no value: no bound (mk makes it -inf, inf)
        return math.nan
    return value


def _mul_iv(a, b):
    products = []
    for x in a:
        for y in b:
            products.append(0.0 if (x == 0 or y == 0) else x * y)
    return min(products), max(products)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x > -700 else 0.0


def _softplus(x):
    return x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x)) if x > -700 else 0.0


_INCREASING = {"exp": math.exp, "exp2": lambda x: 2.0**x, "expm1": math.expm1, "log": math.log,
               "log2": math.log2, "log10": math.log10, "log1p": math.log1p, "sqrt": math.sqrt,
               "arcsin": math.asin, "arctan": math.atan, "sinh": math.sinh, "tanh": math.tanh,
               "arcsinh": math.asinh, "arccosh": math.acosh, "arctanh": math.atanh, "erf": math.erf,
               "sigmoid": _sigmoid, "softplus": _softplus, "relu": lambda x: max(x, 0.0),
               "floor": math.floor, "ceil": math.ceil, "tan": math.tan,
               "sign": lambda x: (x > 0) - (x < 0), "cbrt": lambda x: math.copysign(abs(x) ** (1 / 3), x)}


def _activation_interval(op, iv, attrs):
    """Bounds of an activation of values in ``iv``, from its naive kernel at the ends (rsqrt
    decreases, the others do not decrease but for gelu, silu, mish and hardswish, which have
    a least value and stay below max(x, 0))."""
    lo, hi = iv
    kernel = R.KERNELS[attrs.get("kernel") or op].naive
    params = attrs.get("params", ())

    def at(v):
        with np.errstate(all="ignore"):
            return float(kernel(np.float64(v), *params))
    if op == "rsqrt":
        return (at(hi) if hi < math.inf else 0.0), (at(lo) if lo > 0 else math.inf)
    if op in ACTIVATION_MINIMA:
        return ACTIVATION_MINIMA[op], max(hi, 0.0)
    return at(lo), at(hi)


def _special_interval(op, args, ivs):
    """Bounds of a special function of operands in its domain (SPECIAL_FUNCTIONS), from its
    monotonic pieces: gammaln and gamma have one minimum (at x = 1.4616), i0 is even."""
    from scipy import special

    def at(fn, *v):
        with np.errstate(all="ignore"):
            value = float(fn(*v))
        return value if not math.isnan(value) else (-math.inf if v[-1] < 0 else math.inf)
    if op == "polygamma":
        n, (lo, hi) = int(args[0].attrs["value"]), ivs[1]
        ends = (at(lambda v: special.polygamma(n, v), lo), at(lambda v: special.polygamma(n, v), hi))
        return min(ends), max(ends)
    if op in ("beta", "betaln"):  # decreasing in each argument on (0, inf)
        fn = getattr(special, op)
        return at(fn, ivs[0][1], ivs[1][1]), at(fn, ivs[0][0], ivs[1][0])
    if op in ("xlogy", "xlog1py"):
        log = math.log if op == "xlogy" else math.log1p
        return _mul_iv(ivs[0], (_safe(log, ivs[1][0]) if ivs[1][0] > (-1 if op == "xlog1py" else 0) else -math.inf,
                                _safe(log, ivs[1][1])))
    (lo, hi), fn = ivs[0], getattr(special, op)
    if op in ("gammaln", "gamma"):
        return at(fn, 1.4616321449683622), max(at(fn, lo), at(fn, hi))
    if op == "i0":
        small = 0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
        return at(fn, small), at(fn, max(abs(lo), abs(hi)))
    if op in ("erfc", "erfcx"):  # decreasing
        return at(fn, hi), at(fn, lo)
    return at(fn, lo), at(fn, hi)  # digamma, erfinv, log_ndtr, ndtri, logit, i1: increasing


def _power_iv(iv, low: int, high: int):
    """The values of products of ``low`` to ``high`` factors from the interval ``iv``."""
    lo, hi = iv
    if high == 0:
        return 1.0, 1.0
    def power(v, k):
        try:
            return v ** k
        except OverflowError:
            return math.inf if v > 0 or k % 2 == 0 else -math.inf
    big = max(power(max(abs(lo), abs(hi)), k) for k in {max(low, 1), high})
    if lo >= 0:
        ends = [power(lo, k) for k in {max(low, 1), high}] + [power(hi, k) for k in {max(low, 1), high}]
        return min(ends + ([1.0] if low == 0 else [])), max(ends + ([1.0] if low == 0 else []))
    return -big, big


def _interval(op, args, attrs, shape):
    """Bounds of a node's value, from its operands' bounds (inf where unknown)."""
    ivs = [(a.lo, a.hi) if a is not None else None for a in args]
    inf = math.inf
    if op in ("const", "size"):
        return attrs["value"], attrs["value"]
    if op in ("var", "call"):
        return attrs.get("lo", -inf), attrs.get("hi", inf)
    if op in ("bool", "number") or op in CONDITIONS or op in ("and", "or", "not"):
        return 0.0, 1.0
    if any(iv is not None and (math.isnan(iv[0]) or math.isnan(iv[1])) for iv in ivs):
        return -inf, inf
    if op in UNARY and op not in _INCREASING and op not in ("sin", "cos", "arccos", "abs", "square", "cosh"):
        return _activation_interval(op, ivs[0], attrs)
    if op in SPECIAL_FUNCTIONS:
        return _special_interval(op, args, ivs)
    if op == "distribution":  # z within +-40: log densities above -1000, probabilities in [0, 1]
        method = attrs["method"]
        return {"cdf": (0.0, 1.0), "sf": (0.0, 1.0), "pdf": (0.0, 1.0), "logcdf": (-1000.0, 0.0),
                "logsf": (-1000.0, 0.0)}.get(method, (-1000.0, 2.0))
    if op in _INCREASING:
        (lo, hi), fn = ivs[0], _INCREASING[op]
        low = _safe(fn, lo) if lo > -inf else fn_limit(op, -1)
        return low, _safe(fn, hi) if hi < inf else fn_limit(op, 1)
    if op == "arccos":
        lo, hi = ivs[0]
        return _safe(math.acos, min(hi, 1.0)), _safe(math.acos, max(lo, -1.0))
    if op in ("sin", "cos"):
        return -1.0, 1.0
    if op in ("abs", "square", "cosh"):
        lo, hi = ivs[0]
        small = 0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
        big = max(abs(lo), abs(hi))
        fn = {"abs": abs, "square": lambda v: v * v, "cosh": math.cosh}[op]
        return _safe(fn, small), _safe(fn, big)
    if op == "neg":
        return -ivs[0][1], -ivs[0][0]
    if op == "add":
        return ivs[0][0] + ivs[1][0], ivs[0][1] + ivs[1][1]
    if op == "sub":
        return ivs[0][0] - ivs[1][1], ivs[0][1] - ivs[1][0]
    if op == "mul":
        return _mul_iv(ivs[0], ivs[1])
    if op == "div":
        lo, hi = ivs[1]
        if lo > 0 or hi < 0:
            return _mul_iv(ivs[0], (1 / hi if hi != 0 else -inf, 1 / lo if lo != 0 else inf))
        return -inf, inf
    if op == "pow":
        return _pow_interval(args[0], args[1])
    if op in ("maximum", "minimum"):
        fn = max if op == "maximum" else min
        return fn(ivs[0][0], ivs[1][0]), fn(ivs[0][1], ivs[1][1])
    if op == "hypot":
        return 0.0, math.hypot(max(abs(v) for v in ivs[0]), max(abs(v) for v in ivs[1]))
    if op == "arctan2":
        return -math.pi, math.pi
    if op in ("logaddexp", "logaddexp2"):
        return max(ivs[0][0], ivs[1][0]), max(ivs[0][1], ivs[1][1]) + (math.log(2) if op == "logaddexp" else 1.0)
    if op == "copysign":  # |a| with b's sign
        (lo, hi), (blo, bhi) = ivs
        small = 0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
        big = max(abs(lo), abs(hi))
        return (small if blo > 0 else -big), (big if bhi >= 0 else -small)
    if op == "heaviside":
        return min(0.0, ivs[1][0]), max(1.0, ivs[1][1])
    if op in DIVISION_FORMS:
        (alo, ahi), (blo, bhi) = ivs
        if blo <= 0 <= bhi:
            return -inf, inf
        if op == "floor_divide":  # floor of the quotient's bounds
            lo, hi = _mul_iv((alo, ahi), (1 / bhi, 1 / blo))
            return (math.floor(lo) if math.isfinite(lo) else lo), (math.floor(hi) if math.isfinite(hi) else hi)
        big = max(abs(blo), abs(bhi))
        if op == "remainder":  # the sign of b
            return (0.0, big) if blo > 0 else (-big, 0.0)
        return (-big if alo < 0 else 0.0), (big if ahi > 0 else 0.0)  # fmod: the sign of a
    if op == "clamp":
        lo, hi = ivs[0]
        if ivs[1] is not None:
            lo, hi = max(lo, ivs[1][0]), max(hi, ivs[1][1])
        if ivs[2] is not None:
            lo, hi = min(lo, ivs[2][0]), min(hi, ivs[2][1])
        return lo, hi
    if op == "where":
        return min(ivs[1][0], ivs[2][0]), max(ivs[1][1], ivs[2][1])
    if op == "prod":  # products of n of the operand's values
        n = int(np.prod(args[0].shape)) // max(1, int(np.prod(shape))) if np.prod(shape) else 0
        return _power_iv(ivs[0], n, n)
    if op == "cumprod":  # products of 1 to n of them
        (axis,) = attrs["static"]
        n = math.prod(args[0].shape) if axis is None else args[0].shape[axis]
        return _power_iv(ivs[0], 1, n)
    if op in REDUCTIONS:
        n = max(1, int(np.prod(args[0].shape)) // max(1, int(np.prod(shape))))
        lo, hi = ivs[0]
        if op == "sum":
            return _mul_iv((lo, hi), (n, n))
        if op in ("mean", "amax", "amin"):
            return lo, hi
        return lo + math.log(n), hi + math.log(n)
    if op in ("matmul", "dot"):
        a, b = args
        k = a.shape[-1] if a.shape else 1
        if a is b or attrs.get("square"):
            big = max(abs(a.lo), abs(a.hi)) ** 2 * k
            small = k * (0.0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi)) ** 2)
            return small, big
        return _mul_iv(_mul_iv(ivs[0], ivs[1]), (k, k))
    if op == "cumsum":  # sums of up to n of the operand's values
        (axis,) = attrs["static"]
        n = math.prod(args[0].shape) if axis is None else args[0].shape[axis]
        lo, hi = ivs[0]
        return min(lo, n * lo), max(hi, n * hi)
    if op in ("tril", "triu"):  # the values moved, and zeros
        return min(ivs[0][0], 0.0), max(ivs[0][1], 0.0)
    if op == "pad":  # the values moved, and the border's
        value = attrs["static"][1]
        return min(ivs[0][0], value), max(ivs[0][1], value)
    if op in ("transpose", "ifexp", "gather_index", "take_along_axis") or op in LAYOUT:  # the same values, moved
        return ivs[0]
    if op in ("stack", "concatenate", "hstack", "vstack"):  # the parts' values
        return min(iv[0] for iv in ivs), max(iv[1] for iv in ivs)
    if op == "outer":
        return _mul_iv(ivs[0], ivs[1])
    if op in CONTRACTIONS:  # sums of ``terms`` products of one value of each operand
        product = ivs[0]
        for iv in ivs[1:]:
            product = _mul_iv(product, iv)
        terms = _contraction_terms(op, args, attrs)
        return _mul_iv(product, (terms, terms))
    if op == "ones_like":
        return 1.0, 1.0
    if op == "norm":  # at most the largest magnitude times the square root of the count
        src, axis = args[0].shape, attrs["axis"]
        axes = range(len(src)) if axis is None else (axis,) if isinstance(axis, int) else axis
        return 0.0, max(abs(ivs[0][0]), abs(ivs[0][1])) * math.sqrt(math.prod(src[a] for a in axes))
    if op in ("variance", "deviation"):  # at most the square of the operand's width (the width, for std)
        width = ivs[0][1] - ivs[0][0]
        return 0.0, (width * width if op == "variance" else width) * 2.0
    if op in ("argmax", "argmin"):  # a position along the axis
        return 0.0, float(args[0].shape[attrs["static"][0]] - 1)
    if op == "arange":  # start, then start + (count - 1) * step
        start, _, step = attrs["static"]
        last = start + (shape[0] - 1) * step if shape[0] else start
        return min(start, last), max(start, last)
    if op == "diff":  # differences of values in [lo, hi], n times
        width = (ivs[0][1] - ivs[0][0]) * 2 ** (attrs["n"] - 1)
        return -width, width
    return -inf, inf


def _contraction_terms(op, args, attrs) -> int:
    """How many products a contraction's element sums: the sizes of the axes summed out."""
    if op == "kron":
        return 1
    if op == "inner":
        a, b = (x.shape for x in args)
        return a[-1] if a and b else 1
    if op == "tensordot":
        (axes,) = attrs["static"]
        a = args[0].shape
        on_a = range(len(a) - axes, len(a)) if isinstance(axes, int) else axes[0]
        return math.prod(a[i] for i in on_a)
    inputs, output = attrs["static"][0].split("->")
    sizes: dict = {}
    for term, x in zip(inputs.split(","), args):
        before, _, after = term.partition("...")
        lettered = list(zip(before, x.shape)) + (list(zip(after, x.shape[len(x.shape) - len(after):])) if after else [])
        for letter, n in lettered:
            sizes[letter] = max(sizes.get(letter, 1), n)
    return math.prod(n for letter, n in sizes.items() if letter not in output)


def fn_limit(op, side):
    """The limit of an increasing function at -inf (side -1) or +inf (side 1)."""
    limits = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "erf": (-1.0, 1.0),
              "arctan": (-math.pi / 2, math.pi / 2), "exp": (0.0, math.inf), "exp2": (0.0, math.inf),
              "expm1": (-1.0, math.inf),
              "softplus": (0.0, math.inf), "relu": (0.0, math.inf), "sign": (-1.0, 1.0)}
    return limits.get(op, (-math.inf, math.inf))[0 if side < 0 else 1]


def _pow_interval(base, exponent):
    inf = math.inf
    if exponent.op == "const":
        e = exponent.attrs["value"]
        lo, hi = base.lo, base.hi
        if float(e).is_integer():
            e = int(e)
            if e < 0 and lo <= 0 <= hi:  # a negative power of values around 0: unbounded
                return -inf, inf
            if e % 2 == 0:
                small = 0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))
                ends = [_safe(lambda v: v**e, small), _safe(lambda v: v**e, max(abs(lo), abs(hi)))]
            else:
                ends = [_safe(lambda v: v**e, lo), _safe(lambda v: v**e, hi)]
            if any(math.isnan(v) for v in ends):
                return -inf, inf
            return min(ends), max(ends)  # a negative power decreases where a positive one grows
        if not (0 < lo <= hi):  # nan-safe: an unknown bound gives no interval
            return -inf, inf
        ends = [_safe(lambda v: v**e, lo), _safe(lambda v: v**e, hi)]
        return min(ends), max(ends)
    if not (0 < base.lo <= base.hi):
        return -inf, inf
    logs = (math.log(base.lo), _safe(math.log, base.hi))
    ends = [_safe(math.exp, v) for v in _mul_iv(logs, (exponent.lo, exponent.hi))]
    return min(ends), max(ends)


def mk(op, *args, **attrs) -> Node:
    """A node with its shape and interval computed (ShapeError where the shapes do not fit)."""
    shape = _shape_of(op, args, attrs)
    lo, hi = _interval(op, args, attrs, shape)
    if math.isnan(lo) or math.isnan(hi):
        lo, hi = -math.inf, math.inf
    return Node(op, tuple(args), attrs, shape, lo, hi)


def const(value, text=None) -> Node:
    text = text if text is not None else repr(value)
    return mk("const", value=value, text=text)


def var(name, shape, lo=-math.inf, hi=math.inf) -> Node:
    return mk("var", name=name, shape=tuple(shape), lo=lo, hi=hi)


# ---- evaluation of a tree -----------------------------------------------------------------------

def run(program: Program, arith, values: dict, memo: dict | None = None, trace: list | None = None):
    """The program's output in ``arith`` (a derivgen.reference arithmetic), given its inputs in
    that arithmetic; ``memo`` collects each top-level node's value (by id), ``trace`` every value."""
    memo = {} if memo is None else memo
    env = dict(values)
    for stmt in program.body:
        for _ in range(stmt.form[1] if stmt.form[:1] == ("loop",) else 1):
            value = _ev(stmt.expr, arith, env, memo, trace)
            env[stmt.target] = value if stmt.aug is None else arith.call(stmt.aug, env[stmt.target], value)
            if trace is not None:
                _traced(trace, stmt.aug or "assign", env[stmt.target])
            if isinstance(trace, Trace):
                trace.kinked_names[stmt.target] = (trace.kinked[id(stmt.expr)]
                                                   or stmt.aug is not None and trace.kinked_names.get(stmt.target, False))
    return _ev(program.ret, arith, env, memo, trace)


def _ev(node, arith, env, memo, trace):
    key = id(node)
    if key in memo:
        return memo[key]
    op = node.op
    if op == "var":
        value = env[node.attrs["name"]]
    elif op in ("const", "bool"):
        value = arith.constant(node.attrs["value"])
    elif op == "call":
        helper = node.attrs["helper"]
        local = {}
        for arg, keyword, param in zip(node.args, node.attrs["keywords"], helper.params):
            local[keyword or param] = _ev(arg, arith, env, memo, trace)
        for param in helper.params:
            if param not in local:
                local[param] = arith.constant(helper.defaults[param].attrs["value"])
        inner = Program([], helper.ret, helper.body)
        if isinstance(trace, Trace):
            outer = trace.kinked_names
            trace.kinked_names = {param: any(trace.kinked[id(arg)] for arg in node.args) for param in helper.params}
        value = run(inner, arith, local, {}, trace)
        if isinstance(trace, Trace):
            trace.kinked_names = outer
    elif op == "distribution":
        value = _distribution(node, [_ev(a, arith, env, memo, trace) for a in node.args], arith)
    elif op == "clamp":
        x, lo, hi = (None if a is None else _ev(a, arith, env, memo, trace) for a in node.args)
        value = arith.call("clamp", x, lo, hi)
    elif op in REDUCTIONS:
        operand = _ev(node.args[0], arith, env, memo, trace)
        value = arith.call(op, operand, axis=node.attrs.get("axis"), keepdims=node.attrs.get("keepdims", False))
        if isinstance(trace, Trace) and op == "mean" and np.size(getattr(operand, "value", operand)) == 0:
            trace.empty_mean = True
    elif op == "sort":  # x read at the positions that sort it, as derivgen reads it
        x = _ev(node.args[0], arith, env, memo, trace)
        positions = arith.call("argsort", x, args=node.attrs["static"])
        value = arith.call("take_along_axis", x, positions, args=(node.attrs["static"][0], False))
    elif op in LAYOUT:
        value = arith.call(op, _ev(node.args[0], arith, env, memo, trace), args=node.attrs["static"])
    elif op == "outer":  # ravel(a)[:, None] * ravel(b)[None, :]
        full = ("slice", None, None, None)
        a, b = (arith.call("flatten", _ev(n, arith, env, memo, trace), args=(0, -1)) for n in node.args)
        value = arith.call("mul", arith.call("getitem", a, args=((full, None),)),
                           arith.call("getitem", b, args=((None, full),)))
    elif op == "ones_like":
        value = arith.call("add", arith.call("zeros_like", _ev(node.args[0], arith, env, memo, trace)),
                           arith.constant(1.0))
    elif op == "arange":
        value = arith.call("arange", *(_ev(a, arith, env, memo, trace) for a in node.args), args=node.attrs["static"])
    elif op in ("argmax", "argmin"):
        value = arith.call(op, _ev(node.args[0], arith, env, memo, trace), args=node.attrs["static"])
    elif op == "norm":  # sqrt(sum(x**2)) along the axes
        x = _ev(node.args[0], arith, env, memo, trace)
        total = arith.call("sum", arith.call("mul", x, x), axis=node.attrs["axis"], keepdims=node.attrs["keepdims"])
        value = arith.call("sqrt", total)
    elif op in ("variance", "deviation"):  # np.var, np.std: squared deviations from the mean over n - ddof
        x = _ev(node.args[0], arith, env, memo, trace)
        axis, keepdims, ddof = node.attrs["axis"], node.attrs["keepdims"], node.attrs["ddof"]
        deviation = arith.call("sub", x, arith.call("mean", x, axis=axis, keepdims=True))
        total = arith.call("sum", arith.call("mul", deviation, deviation), axis=axis, keepdims=keepdims)
        value = arith.call("div", total, arith.constant(float(node.attrs["count"] - ddof)))
        if op == "deviation":
            value = arith.call("sqrt", value)
    elif op == "inner":
        value = arith.call("tensordot", *(_ev(a, arith, env, memo, trace) for a in node.args), args=("inner",))
    elif op in ("gather_index", "take_along_axis", "stack", "concatenate", "hstack", "vstack",
                "einsum", "tensordot", "kron"):
        value = arith.call(op, *(_ev(a, arith, env, memo, trace) for a in node.args), args=node.attrs["static"])
    elif op == "size":
        value = arith.call("size", _ev(node.args[0], arith, env, memo, trace), args=node.attrs["what"])
    elif op == "diff":  # x[1:] - x[:-1] along the axis, n times
        value = _ev(node.args[0], arith, env, memo, trace)
        for _ in range(node.attrs["n"]):
            later, earlier = (_along(node.attrs["axis"], item) for item in (("slice", 1, None, None),
                                                                           ("slice", None, -1, None)))
            value = arith.call("sub", arith.call("getitem", value, args=(later,)),
                               arith.call("getitem", value, args=(earlier,)))
    elif op == "number":  # a condition as the numbers 1.0 and 0.0
        value = arith.call("where", _ev(node.args[0], arith, env, memo, trace), arith.constant(1.0),
                           arith.constant(0.0))
    elif op == "ifexp":  # a if c else b with c known at compile time: the other is never evaluated
        value = _ev(node.args[0], arith, env, memo, trace)
    else:
        operands = [_ev(a, arith, env, memo, trace) for a in node.args]
        if node.attrs.get("params") or node.attrs.get("kernel"):  # an activation's constant parameters
            operands += [arith.constant(v) for v in node.attrs.get("params", ())]
            op = node.attrs.get("kernel") or op
        if isinstance(trace, Trace) and op in DOMAIN_EDGES:
            positions, _ = DOMAIN_EDGES[op]
            trace.edges.append((op, [operands[i] for i in positions if i < len(operands)]))
            trace.sources.append([_source_op(node.args[i]) for i in positions if i < len(operands)])
        if isinstance(trace, Trace) and op in STEEP and _reads_input(node.args[0]):  # a gradient may pass
            trace.steep.append((op, operands, _source_op(node.args[0])))
        if isinstance(trace, Trace) and op in PERIODIC:
            trace.periodic.append(operands[0])
        if isinstance(trace, Trace) and op in ("floor", "ceil"):
            trace.steps.append(operands[0])
        if isinstance(trace, Trace) and op in DIVISION_FORMS:  # the quotient whose floor (trunc) is taken
            trace.steps.append(_quotients(operands[0], operands[1]))
            trace.quotients.append(trace.steps[-1])
        if isinstance(trace, Trace) and op in ("eq", "ne") and node.args[0] is not node.args[1]:
            trace.equalities.append(operands)
        if isinstance(trace, Trace) and op == "pow" and _contains(node.args[1], {"var"}):
            trace.powers.append(operands[0])
        value = arith.call(op, *operands)
    memo[key] = value
    if trace is not None:
        _traced(trace, op, value)
    if isinstance(trace, Trace):
        _track_ties(node, value, trace)
    return value


def _distribution(node, values, arith):
    """scipy.stats' dist.method(x, [df,] loc, scale), from its textbook formula in the kernels."""
    dist, method = node.attrs["dist"], node.attrs["method"]
    c = arith.constant
    named = dict(zip(node.attrs["names"], values))
    x, df, loc, scale = (named.get(k) for k in ("x", "df", "loc", "scale"))
    z = x if loc is None else arith.call("sub", x, loc)
    z = z if scale is None else arith.call("div", z, scale)
    if method in ("cdf", "sf", "logcdf", "logsf"):
        arg = z if method in ("cdf", "logcdf") else arith.call("neg", z)
        return arith.call("log_ndtr" if method.startswith("log") else "ndtr", arg)
    if dist == "norm":
        value = arith.call("sub", arith.call("mul", c(-0.5), arith.call("mul", z, z)), c(0.5 * math.log(2 * math.pi)))
    elif dist == "laplace":
        value = arith.call("sub", arith.call("neg", arith.call("abs", z)), c(math.log(2)))
    elif dist == "logistic":  # -z - 2 log(1 + exp(-z))
        value = arith.call("sub", arith.call("neg", z), arith.call("mul", c(2), arith.call("softplus", arith.call("neg", z))))
    elif dist == "cauchy":
        value = arith.call("neg", arith.call("log", arith.call("mul", c(math.pi), arith.call("add", c(1), arith.call("mul", z, z)))))
    else:  # t
        half = arith.call("mul", c(0.5), arith.call("add", df, c(1)))
        value = arith.call("sub", arith.call("gammaln", half), arith.call("gammaln", arith.call("mul", c(0.5), df)))
        value = arith.call("sub", value, arith.call("mul", c(0.5), arith.call("log", arith.call("mul", c(math.pi), df))))
        value = arith.call("sub", value, arith.call("mul", half, arith.call("log1p", arith.call("div", arith.call("mul", z, z), df))))
    if scale is not None:
        value = arith.call("sub", value, arith.call("log", scale))
    return arith.call("exp", value) if method == "pdf" else value


def _track_ties(node, value, trace: Trace) -> None:
    """Marks ``node`` as kinked when its value depends on a tie of maximum or minimum (or of
    amax or amin, or a clamp's operand on a bound), and records a tie evaluated on kinked
    operands (``trace.nested_tie``).

    At one tie the ops' convention (split 0.5 / 0.5) is the mean of the two one-sided
    derivatives, which is what the reference's differences see; a tie whose operands' derivatives
    depend on another tie's choice composes the conventions (0.5 * 0.5) where the program may be
    smooth: minimum(p, maximum(x, p)) is p, derivative 0 in x, convention 0.25 (seed 20261220);
    clip(minimum(x, p), lo=x) is x, but at x == p the clamp passes its operand's 0.5 on to p
    (seed 20261236)."""
    op = node.op
    if op == "var":
        below = trace.kinked_names.get(node.attrs["name"], False)
    elif op == "call":
        below = trace.kinked.get(id(node.attrs["helper"].ret), False) or any(
            trace.kinked.get(id(a), False) for a in node.args if a is not None)
    else:
        below = any(trace.kinked.get(id(a), False) for a in node.args if a is not None)
    tied = False
    if op in ("maximum", "minimum") and len(node.args) == 2:
        a, b = (np.asarray(getattr(v, "value", v)) for v in (trace.operand_values[id(a)] for a in node.args))
        if a.dtype.kind in "fO" and b.dtype.kind in "fO" and a.size and b.size:
            a, b = np.broadcast_arrays(a, b)
            tied = bool(np.any(np.asarray(a == b, dtype=bool)))
    elif op == "clamp":  # an operand on a bound: clamp(m, lo=x) is maximum(m, x) there
        x = np.asarray(getattr(v := trace.operand_values[id(node.args[0])], "value", v))
        for bound in node.args[1:]:
            if bound is None:
                continue
            b = np.asarray(getattr(v := trace.operand_values[id(bound)], "value", v))
            if x.dtype.kind in "fO" and b.dtype.kind in "fO" and x.size and b.size:
                tied = tied or bool(np.any(np.asarray(np.equal(*np.broadcast_arrays(x, b)), dtype=bool)))
    elif op in ("amax", "amin"):
        x = trace.operand_values[id(node.args[0])]
        x, axis, peak = np.asarray(getattr(x, "value", x)), node.attrs.get("axis"), np.asarray(getattr(value, "value", value))
        if x.dtype.kind in "fO" and x.size:
            if axis is not None and not node.attrs.get("keepdims", False):
                peak = np.expand_dims(peak, axis)
            hits = np.asarray(x == peak, dtype=bool)
            tied = bool(np.any(hits.sum(axis=axis) > 1))
    elif op == "sort":  # equal elements: which one gets which output's gradient is a convention
        x = np.asarray(getattr(v := trace.operand_values[id(node.args[0])], "value", v))
        if x.dtype.kind in "fO" and x.size:
            lanes = np.moveaxis(x, node.attrs["static"][0], -1).reshape(-1, x.shape[node.attrs["static"][0]])
            tied = any(len(set(map(float, lane))) < len(lane) for lane in lanes)
    if tied and below:
        trace.nested_tie = True
    trace.kinked[id(node)] = below or tied
    trace.operand_values[id(node)] = value


# Import lines a rendered program may start with: each binds a prefix to what it already means
# (the programs spell np., torch., F., math. as written), through aliases of the same libraries.
IMPORTS = ("import numpy as np", "import torch", "import torch.nn.functional as F", "import math",
           "import autograd.numpy as np", "import jax.numpy as jnp", "from torch import nn",
           "from torch.nn import functional as F", "import numpy", "from math import pi")


# Ops whose derivative is infinite at an edge of their domain: (operand positions, edges).
DOMAIN_EDGES = {"sqrt": ((0,), (0.0,)), "rsqrt": ((0,), (0.0,)), "log": ((0,), (0.0,)), "log2": ((0,), (0.0,)), "log10": ((0,), (0.0,)),
                "div": ((1,), (0.0,)), "pow": ((0,), (0.0,)), "arcsin": ((0,), (-1.0, 1.0)),
                "arccos": ((0,), (-1.0, 1.0)), "arctanh": ((0,), (-1.0, 1.0)), "arccosh": ((0,), (1.0,)),
                # the origin, where a / (a**2 + b**2) and a / hypot(a, b) are 0/0
                "arctan2": ((0, 1), (0.0,)), "hypot": ((0, 1), (0.0,)),
                # a divisor of 0: no quotient (nan or inf)
                "floor_divide": ((1,), (0.0,)), "remainder": ((1,), (0.0,)), "fmod": ((1,), (0.0,))}


# Ops that tend to an edge of a domain (arccos's 1) without reaching it at any finite argument:
# an operand of theirs exactly on such an edge is there by rounding, at any precision the
# reference has (erf(-128) is -1 + 1e-7116).
SATURATING = ("erf", "tanh", "sigmoid")


def _source_op(node) -> str:
    """The op a value comes from, looking through negation and the ops that move elements."""
    while node.op in LAYOUT or node.op in ("neg", "gather_index", "take_along_axis"):
        node = node.args[0]
    return node.op


# Ops whose derivative is infinite at a point where their value is finite: sqrt's 0, arcsin's
# and arccos's +-1, arccosh's 1, the base 0 of a power with an exponent between 0 and 1 (a
# larger exponent has a finite derivative there, a smaller one an infinite value).
STEEP = {"cbrt": (0.0,), "sqrt": (0.0,), "rsqrt": (0.0,), "arcsin": (-1.0, 1.0), "arccos": (-1.0, 1.0), "arccosh": (1.0,), "pow": (0.0,)}

# Ops that pass no gradient where their value is a constant (relu(x) at x < 0, a where's branch
# not taken; the steps everywhere): derivgen computes a steep op's derivative there on a
# harmless operand (the README's sqrt(relu(x))) or not at all, so a steep point they make is
# checked.
GATED = ("relu", "clamp", "maximum", "minimum", "where", "sign", "floor", "ceil", "floor_divide", "heaviside", "relu6",
         "hardtanh",
         "hardsigmoid", "hardswish", "softshrink", "hardshrink")


# Periodic ops: their derivative at an argument of magnitude 10**k needs the argument to k more
# digits than its value does (see _beyond_precision).
PERIODIC = ("sin", "cos", "tan")


class Trace(list):
    """Every value of an evaluation, in order, and the op that computed each (``ops``); the
    operands of ops with an edge to their domain (``edges``) and of periodic ops (``periodic``),
    and the bases of powers whose exponent reads a variable (``powers``)."""

    def __init__(self):
        super().__init__()
        self.ops: list[str] = []
        self.edges: list[tuple[str, list]] = []
        self.sources: list[list[str]] = []  # for each of edges, the ops its operands come from
        self.periodic: list = []
        self.steep: list = []  # (op, operands, source op of the first) of the ops in STEEP
        self.powers: list = []
        self.steps: list = []  # the operands of floor and ceil
        self.quotients: list = []  # of //, % and fmod: a / b
        self.equalities: list = []  # the operands of == and != (of two different nodes)
        # for _track_ties: each node's value and whether it depends on a tie, by id; the same
        # for the names assigned in the scope being evaluated; whether a tie read a tie
        self.operand_values: dict[int, object] = {}
        self.kinked: dict[int, bool] = {}
        self.kinked_names: dict[str, bool] = {}
        self.nested_tie = False
        self.empty_mean = False  # a mean of no elements (of an empty mask): NumPy warns of it


def _traced(trace: list, op: str, value) -> None:
    trace.append(value)
    if isinstance(trace, Trace):
        trace.ops.append(op)


def _along(axis: int, item) -> tuple:
    """An index applying ``item`` to one axis (negative: after an ellipsis)."""
    full = ("slice", None, None, None)
    return (full,) * axis + (item,) if axis >= 0 else (Ellipsis, item) + (full,) * (-axis - 1)


def tree_function(program: Program) -> Callable:
    """``function(arith, values)`` for derivgen.reference.jacobian."""
    return lambda arith, values: run(program, arith, values)


# ---- rendering ----------------------------------------------------------------------------------

P_CMP, P_OR, P_AND, P_ADD, P_MUL, P_UNARY, P_POW, P_ATOM = 5, 6, 8, 10, 11, 12, 13, 15
P_IF = 1  # a if c else b: below every operator
_BINARY_PREC = {"add": P_ADD, "sub": P_ADD, "mul": P_MUL, "div": P_MUL, "matmul": P_MUL}


def _wrap(text_prec, minimum, strict=False, full=False):
    text, prec = text_prec
    if full and prec < P_ATOM or prec < minimum or (strict and prec == minimum):
        return f"({text})"
    return text


def _call_name(node, base):
    spell = node.attrs.get("spell", {})
    return spell.get("prefix", "") + spell.get("name", base)


def _r(node, full=False):
    """(text, precedence) of a node; ``full`` parenthesizes every operation."""
    op, a, spell = node.op, node.args, node.attrs.get("spell", {})

    def sub(n, minimum=P_CMP + 1, strict=False):
        if minimum == P_ATOM and n.op == "const":  # a method's receiver: (2).exp(), not 2.exp()
            return f"({_r(n, full)[0]})"
        return _wrap(_r(n, full), minimum, strict, full)

    def arg(n):
        return _r(n, full)[0]

    if op == "var":
        return node.attrs["name"], P_ATOM
    if op in ("const", "bool"):
        text = node.attrs["text"]
        return text, (P_UNARY if text.startswith("-") else P_ATOM)
    if op in OPERATORS and op != "pow" and not spell.get("function"):
        prec = _BINARY_PREC[op]
        return f"{sub(a[0], prec)} {OPERATORS[op]} {sub(a[1], prec, strict=True)}", prec
    if op == "pow" and not spell.get("function"):
        return f"{sub(a[0], P_POW, strict=True)}**{sub(a[1], P_UNARY)}", P_POW
    if op == "matmul" and spell.get("operator"):
        return f"{sub(a[0], P_MUL)} @ {sub(a[1], P_MUL, strict=True)}", P_MUL
    if op == "neg":
        inner = _r(a[0], full)
        text = f"({inner[0]})" if inner[1] <= P_UNARY or full else inner[0]
        return f"-{text}", P_UNARY
    if op == "not":
        return f"~{sub(a[0], P_ATOM)}", P_UNARY
    if op in ("and", "or"):
        prec = P_AND if op == "and" else P_OR
        return f"{sub(a[0], prec)} {'&' if op == 'and' else '|'} {sub(a[1], prec, strict=True)}", prec
    if op in CONDITIONS:
        return f"{sub(a[0], P_OR)} {CONDITIONS[op]} {sub(a[1], P_OR)}", P_CMP
    if op == "transpose" and spell.get("attribute", True) and _reads_input(a[0]):
        return f"{sub(a[0], P_ATOM)}.T", P_ATOM
    if op in LAYOUT:
        return _render_layout(node, sub(a[0], P_ATOM), arg(a[0])), P_ATOM
    if op == "gather_index":
        items = []
        for item in node.attrs["static"][0]:
            if isinstance(item, tuple) and item[0] in ("at", "mask"):
                items.append(arg(a[item[1]]))
            elif isinstance(item, tuple) and item[0] == "arange":
                items.append(ARANGE_FORMS[spell.get("arange", 0)].format(x=sub(a[item[1]], P_ATOM)))
            else:
                items.append(_index_item(item, "None"))
        return f"{sub(a[0], P_ATOM)}[{', '.join(items)}]", P_ATOM
    if op == "outer":
        return OUTER_FORMS[spell.get("form", 0)].format(a=arg(a[0]), b=arg(a[1]), r=sub(a[0], P_ATOM)), P_ATOM
    if op == "ones_like":
        return ONES_FORMS[spell.get("form", 0)].format(a=arg(a[0])), P_ATOM
    if op == "norm":
        form = NORM_FORMS[spell.get("form", 0)][0]
        return form.format(x=arg(a[0]), r=sub(a[0], P_ATOM), a=node.attrs["axis"], k=node.attrs["keepdims"]), P_ATOM
    if op in ("variance", "deviation"):
        form = STATISTIC_FORMS[spell.get("form", 0)]
        return form.format(f="var" if op == "variance" else "std", x=arg(a[0]), r=sub(a[0], P_ATOM), a=node.attrs["axis"], d=node.attrs["ddof"],
                           k=node.attrs["keepdims"], u=node.attrs["ddof"] == 1), P_ATOM
    if op in ("argmax", "argmin"):
        form = POSITION_FORMS[spell.get("form", 0)]
        return form.format(f=op, x=arg(a[0]), r=sub(a[0], P_ATOM), a=node.attrs["static"][0]), P_ATOM
    if op == "arange":
        start, stop, step = node.attrs["static"]
        # (a shrunk program's spelling may be plain: the kind follows from the arguments)
        kind = spell.get("kind") or ("size" if isinstance(stop, tuple) else "count" if (start, step) == (0, 1)
                                     else "step")
        form = ARANGE_NUMBER_FORMS[kind][spell.get("form", 0) if "kind" in spell else 0]
        return form.format(n=stop, s=start, e=stop, t=step, x=sub(a[0], P_ATOM) if a else "",
                           r=sub(a[0], P_ATOM) if a else "", i=stop[1][1] if isinstance(stop, tuple) else 0), P_ATOM
    if op in DIVISION_FORMS:
        form = DIVISION_FORMS[op][spell.get("form", 0)]
        if form.startswith("{a} "):  # // and %, which bind as * does
            return form.format(a=sub(a[0], P_MUL), b=sub(a[1], P_MUL, strict=True)), P_MUL
        return form.format(a=arg(a[0]), b=arg(a[1]), r=sub(a[0], P_ATOM)), P_ATOM
    if op == "einsum":
        text = repr(spell.get("text", node.attrs["static"][0]))
        return EINSUM_FORMS[spell.get("form", 0)].format(s=text, o=", ".join(arg(x) for x in a)), P_ATOM
    if op == "tensordot":
        (axes,) = node.attrs["static"]
        if isinstance(axes, int):
            form = TENSORDOT_FORMS["int"][spell.get("form", 0)]
            return form.format(a=arg(a[0]), b=arg(a[1]), n=axes), P_ATOM
        bare = spell.get("bare", False) and len(axes[0]) == 1  # np.tensordot(a, b, axes=(1, 0))
        sides = [str(side[0]) if bare else "[" + ", ".join(map(str, side)) + "]" for side in axes]
        form = TENSORDOT_FORMS["pairs"][spell.get("form", 0)]
        return form.format(a=arg(a[0]), b=arg(a[1]), A=sides[0], B=sides[1]), P_ATOM
    if op in ("inner", "kron"):
        form = (INNER_FORMS if op == "inner" else KRON_FORMS)[spell.get("form", 0)]
        return form.format(a=arg(a[0]), b=arg(a[1]), r=sub(a[0], P_ATOM)), P_ATOM
    if op in ("stack", "concatenate", "hstack", "vstack"):
        parts = ", ".join(arg(p) for p in a)
        if spell.get("array"):  # np.array([a, b]): a stack along axis 0
            return f"np.array([{parts}])", P_ATOM
        return JOIN_FORMS[op][spell.get("form", 0)].format(p=parts, a=node.attrs["static"][0]), P_ATOM
    if op == "take_along_axis":
        axis, leading = node.attrs["static"]
        form = TAKE_FORMS[leading][spell.get("form", 0)]
        return form.format(x=arg(a[0]), r=sub(a[0], P_ATOM), t=arg(a[1]), a=axis), P_ATOM
    if op == "diff":
        n, axis = node.attrs["n"], node.attrs["axis"]
        form = DIFF_FORMS[spell.get("form", 0)]
        return form.format(x=arg(a[0]), r=sub(a[0], P_ATOM), n=n, a=axis), P_ATOM
    if op == "number":
        return NUMBER_FORMS[spell.get("form", 0)].format(c=f"({arg(a[0])})"), P_ATOM
    if op == "size":
        what = node.attrs["what"]
        form = spell.get("form") or {"shape": "{x}.shape[{axis}]"}.get(what[0], "{x}." + what[0])  # (shrunk)
        return form.format(x=sub(a[0], P_ATOM), axis=what[1] if what[0] == "shape" else ""), P_ATOM
    if op == "ifexp":
        taken, other = sub(a[0], P_CMP), sub(a[1], P_CMP)
        cond = node.attrs["cond"]
        text = f"{taken} if {cond} else {other}" if node.attrs["taken"] else f"{other} if {cond} else {taken}"
        return text, P_IF
    if op == "call":
        helper = node.attrs["helper"]
        parts = [arg(x) if kw is None else f"{kw}={arg(x)}" for x, kw in zip(a, node.attrs["keywords"])]
        return f"{helper.name}({', '.join(parts)})", P_ATOM
    if op == "distribution":
        parts = [arg(x) if kw is None else f"{kw}={arg(x)}" for x, kw in zip(a, node.attrs["keys"])]
        return f"{node.attrs['prefix']}{node.attrs['dist']}.{node.attrs['method']}({', '.join(parts)})", P_ATOM
    base = {"pow": "power"}.get(op, op)
    name = _call_name(node, base)
    operands = list(a)
    # A method of a constant (np.pi.exp(), np.pi.T.clamp()) is no method: such a call is
    # written as a function.
    receiver = operands[0] if operands else None
    while receiver is not None and receiver.op == "transpose":
        receiver = receiver.args[0]
    method = (spell.get("method", False) and receiver is not None and receiver.op != "const"
              and _reads_input(receiver))
    keywords = spell.get("keywords", {})
    if op in REDUCTIONS:
        extra = []
        axis, keepdims = node.attrs.get("axis"), node.attrs.get("keepdims", False)
        style = spell.get("style", "numpy")
        if "pair" in spell and isinstance(axis, int) and _reads_input(operands[0]):
            form = PAIR_FORMS[spell["pair"]]
            keep = (", keepdim=True" if "dim=" in form else ", True") if keepdims else ""
            return form.format(x=arg(operands[0]), r=sub(operands[0], P_ATOM), f=op[1:], d=axis, k=keep), P_ATOM
        if axis is None or isinstance(axis, int):
            axis_text = None if axis is None else str(axis)
        else:
            axis_text = "(" + ", ".join(map(str, axis)) + ("," if len(axis) == 1 else "") + ")"
        if style == "positional" and axis_text is not None:
            extra.append(axis_text)
            if keepdims or spell.get("explicit"):
                extra.append(str(keepdims))
        else:
            axis_kw, keep_kw = ("dim", "keepdim") if style == "torch" else ("axis", "keepdims")
            if axis_text is not None:
                extra.append(f"{axis_kw}={axis_text}")
            if keepdims or spell.get("explicit"):
                extra.append(f"{keep_kw}={keepdims}")
        if method:
            return f"{sub(operands[0], P_ATOM)}.{spell.get('name', op)}({', '.join(extra)})", P_ATOM
        return f"{name}({', '.join([arg(operands[0])] + extra)})", P_ATOM
    if op == "clamp":
        x, lo, hi = operands
        style = spell.get("style", "positional")
        names = {"torch": ("min", "max"), "numpy": ("a_min", "a_max"), "lohi": ("lo", "hi")}.get(style)
        parts = []
        if names is None:  # positional, None where a bound is absent (trailing None dropped)
            bounds = [lo, hi] if hi is not None else [lo]
            parts = ["None" if b is None else arg(b) for b in bounds]
        else:
            parts = [f"{k}={arg(b)}" for k, b in zip(names, (lo, hi)) if b is not None]
        if method:
            return f"{sub(x, P_ATOM)}.{spell.get('name', 'clamp')}({', '.join(parts)})", P_ATOM
        return f"{name}({', '.join([arg(x)] + parts)})", P_ATOM
    texts = [arg(x) for x in operands]
    for i, kw in keywords.items():
        texts[i] = f"{kw}={texts[i]}"
    if node.attrs.get("params_text"):  # an activation's parameters, as written
        texts.append(node.attrs["params_text"])
    if method:
        return f"{sub(operands[0], P_ATOM)}.{spell.get('name', base)}({', '.join(texts[1:])})", P_ATOM
    return f"{name}({', '.join(texts)})", P_ATOM


def _index_item(item, newaxis: str) -> str:
    if item is None:
        return newaxis
    if item is Ellipsis:
        return "..."
    if isinstance(item, tuple) and item[0] == "slice":
        start, stop, step = ("" if v is None else str(v) for v in item[1:])
        return f"{start}:{stop}" + (f":{step}" if step else "")
    if isinstance(item, tuple):
        return "[" + ", ".join(map(str, item[1])) + "]"
    return str(item)


def _tuple(values) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def _render_layout(node, receiver: str, operand: str) -> str:
    """An op that moves elements, in the spelling chosen at generation (attrs["spell"]["form"])."""
    op, static, spell = node.op, node.attrs["static"], node.attrs.get("spell", {})
    form = spell.get("form", "np")
    if op == "getitem":
        if spell.get("unbind"):  # x[:, 2] as x.unbind(1)[2]: one slice of torch.unbind's
            axis, i = len(static[0]) - 1, static[0][-1]
            return (f"{receiver}.unbind({axis})[{i}]" if spell["unbind"] == "method"
                    else f"torch.unbind({operand}, dim={axis})[{i}]")
        items = [_index_item(i, spell.get("newaxis", "None")) for i in static[0]]
        return f"{receiver}[{', '.join(items)}]"
    if op == "reshape":
        # a size read off the operand as the source would write it: x.shape[0], len(x), x.size(0)
        sizes = [s if not isinstance(s, tuple) else f"len({operand})" if s[1] == 0 and form == "np"
                 else f"{receiver}.size({s[1]})" if form == "method" and spell.get("name") == "view"
                 else f"{receiver}.shape[{s[1]}]" for s in static[0]]
        if form == "method":
            return f"{receiver}.{spell.get('name', 'reshape')}({', '.join(map(str, sizes))})"
        if form == "method-tuple":
            return f"{receiver}.reshape({_tuple(sizes)})"
        return f"{spell.get('prefix', 'np.')}reshape({operand}, {_tuple(sizes)})"
    if op == "roll":
        shift, axis = static
        if form == "method":
            return f"{receiver}.roll({shift}{'' if axis is None else f', {axis}'})"
        if form == "torch":
            return f"torch.roll({operand}, shifts={shift}{'' if axis is None else f', dims={axis}'})"
        return f"np.roll({operand}, {shift}{'' if axis is None else f', axis={axis}'})"
    if op == "diagonal":
        offset, axis1, axis2 = static
        if form == "method":
            return f"{receiver}.diagonal({offset}, {axis1}, {axis2})"
        if form == "torch":
            return f"torch.diagonal({operand}, offset={offset}, dim1={axis1}, dim2={axis2})"
        return f"np.diagonal({operand}, {offset}, axis1={axis1}, axis2={axis2})"
    if op == "diag":
        (k,) = static
        if form == "method":
            return f"{receiver}.diag({k or ''})"
        if form == "torch":
            return f"torch.diag({operand}{f', diagonal={k}' if k else ''})"
        return f"np.diag({operand}{f', k={k}' if k else ''})"
    if op == "split_part":  # part i of np.split, np.array_split, torch.split (sizes), torch.chunk
        kind, arg, i, axis = static
        cut = list(arg) if isinstance(arg, tuple) else arg
        if kind == "sizes":
            return f"{receiver}.split({cut}, {axis})[{i}]" if form == "method" else f"torch.split({operand}, {cut}, dim={axis})[{i}]"
        if kind == "chunk":
            return f"{receiver}.chunk({cut}, {axis})[{i}]" if form == "method" else f"torch.chunk({operand}, {cut}, dim={axis})[{i}]"
        return f"np.{kind}({operand}, {cut}, axis={axis})[{i}]" if form == "np" else f"np.{kind}({operand}, {cut}, {axis})[{i}]"
    if op in ("tril", "triu"):
        (k,) = static
        if form == "method":
            return f"{receiver}.{op}({k or ''})"
        if form == "torch":
            return f"torch.{op}({operand}{f', diagonal={k}' if k else ''})"
        return f"np.{op}({operand}{f', k={k}' if k else ''})"
    if op == "tile":
        (reps,) = static
        if form == "method":
            return f"{receiver}.tile({_tuple(reps)})"
        if form == "torch":
            return f"torch.tile({operand}, dims={_tuple(reps)})"
        return f"np.tile({operand}, {reps[0] if len(reps) == 1 and form == 'np' else _tuple(reps)})"
    if op == "repeat":
        repeats, axis = static
        if form in ("method", "torch"):
            where = "" if axis is None else f", dim={axis}" if form == "torch" else f", {axis}"
            call = f"{receiver}.repeat_interleave(" if form == "method" else f"torch.repeat_interleave({operand}, "
            return f"{call}{repeats}{where})"
        return f"np.repeat({operand}, {repeats}{'' if axis is None else f', axis={axis}'})"
    if op == "pad":
        widths, value, last = static
        fill = "" if value == 0 else f", value={value}" if last else f", constant_values={value}"
        if last:
            return f"{spell.get('prefix', 'F.')}pad({operand}, {_tuple(widths)}{fill})"
        return f"np.pad({operand}, {widths!r}{fill})"
    if op == "rot90":
        k, axes = static
        if form == "method":
            return f"{receiver}.rot90({k}, {list(axes)})"
        if form == "torch":
            return f"torch.rot90({operand}, {k}, dims={list(axes)})"
        return f"np.rot90({operand}{'' if k == 1 else f', {k}'}{'' if axes == (0, 1) else f', axes={axes}'})"
    if op in ("cumsum", "cumprod"):
        (axis,) = static
        if form == "method":
            return f"{receiver}.{op}({'' if axis is None else axis})"
        if form == "torch" and axis is not None:
            return f"torch.{op}({operand}, dim={axis})"
        return f"np.{op}({operand}{'' if axis is None else f', axis={axis}'})"
    if op == "sort":
        return SORT_FORMS[node.attrs["spell"]["sort"]].format(x=operand, r=receiver, a=static[0], d=static[1],
                                                              k=static[2])
    if op == "broadcast_to":  # a size kept ("dim", axis, None) is -1 in expand, read off x in NumPy
        expand = form.startswith("method")
        sizes = [("-1" if expand else f"{receiver}.shape[{s[1]}]") if isinstance(s, tuple) else str(s)
                 for s in static[0]]
        if form == "method":
            return f"{receiver}.expand({', '.join(sizes)})"
        if form == "method-tuple":
            return f"{receiver}.expand({_tuple(sizes)})"
        return f"{'torch' if form == 'torch' else 'np'}.broadcast_to({operand}, {_tuple(sizes)})"
    if op == "flatten":
        start, end = static
        if (start, end) == (0, -1) and form != "torch":
            return {"np": f"np.ravel({operand})", "method": f"{receiver}.ravel()"}.get(form, f"{receiver}.flatten()")
        if form == "method":
            return f"{receiver}.flatten({start}, {end})"
        return f"torch.flatten({operand}, start_dim={start}, end_dim={end})"
    if op == "flip" and spell.get("fixed"):  # np.fliplr(x) = np.flip(x, 1), np.flipud(x) = np.flip(x, 0)
        name = spell["fixed"]
        return f"{receiver}.{name}()" if form == "method" else f"{'torch' if form == 'torch' else 'np'}.{name}({operand})"
    if op in ("squeeze", "flip") and static[0] is None:
        return f"{receiver}.{op}()" if form == "method" and op == "squeeze" else f"np.{op}({operand})"
    if op in ("squeeze", "expand_dims", "flip"):
        (axis,) = static
        if form == "method":
            return f"{receiver}.{'unsqueeze' if op == 'expand_dims' else op}({axis})"
        if form == "torch":
            name = "unsqueeze" if op == "expand_dims" else op
            return f"torch.{name}({operand}, {_tuple((axis,)) if op == 'flip' else axis})"
        return f"np.{op}({operand}, axis={axis})"
    if op == "permute":
        (order,) = static
        if form == "method":
            return f"{receiver}.{spell.get('name', 'permute')}({', '.join(map(str, order))})"
        return f"np.transpose({operand}, {_tuple(order)})"
    if op == "swapaxes":
        if form == "mT":
            return f"{receiver}.mT"
        if form == "method":
            return f"{receiver}.{spell.get('name', 'swapaxes')}({static[0]}, {static[1]})"
        return f"{'torch.transpose' if form == 'torch' else 'np.swapaxes'}({operand}, {static[0]}, {static[1]})"
    # moveaxis
    if form == "method":
        return f"{receiver}.movedim({static[0]}, {static[1]})"
    return f"{'torch.movedim' if form == 'torch' else 'np.moveaxis'}({operand}, {static[0]}, {static[1]})"


def render_expr(node, full=False) -> str:
    return _r(node, full)[0]


def _render_stmt(stmt, full=False):
    if stmt.aug is None:
        return f"{stmt.target} = {render_expr(stmt.expr, full)}"
    return f"{stmt.target} {OPERATORS[stmt.aug]}= {render_expr(stmt.expr, full)}"


def _render_body(body, full=False) -> list[str]:
    """A body's statements as lines (indented one level), in each statement's form."""
    lines, i = [], 0
    while i < len(body):
        stmt = body[i]
        kind = stmt.form[:1]
        if kind == ("pair",) and i + 1 < len(body) and body[i + 1].aug is None and stmt.aug is None:
            other = body[i + 1]
            lines.append(f"    {stmt.target}, {other.target} = {render_expr(stmt.expr, full)}, "
                         f"{render_expr(other.expr, full)}")
            lines += [f"    assert {s.assertion}" for s in (stmt, other) if s.assertion]
            i += 2
            continue
        if kind == ("loop",):
            lines += [f"    for i in range({stmt.form[1]}):", f"        {_render_stmt(stmt, full)}"]
        elif kind == ("if",):
            _, cond, taken = stmt.form
            dead = f"{stmt.target} = 2.0 * ({render_expr(stmt.expr, full)}) + 1.0"  # never run
            first, second = (_render_stmt(stmt, full), dead) if taken else (dead, _render_stmt(stmt, full))
            lines += [f"    if {cond}:", f"        {first}", "    else:", f"        {second}"]
        else:
            lines.append(f"    {_render_stmt(stmt, full)}")
        if stmt.assertion:
            lines.append(f"    assert {stmt.assertion}")
        i += 1
    return lines


def used_inputs(program: Program) -> list:
    """The program's inputs that its output can read, in the program's order."""
    names = set()
    for node in walk(program, live=True):
        if node.op == "var":
            names.add(node.attrs["name"])
    return [spec for spec in program.inputs if spec.name in names]


def render(program: Program, full=False) -> str:
    """The program's source text (``full``: every operation parenthesized, for tests)."""
    if program.style == "expr":
        return render_expr(program.ret, full)
    lines = list(program.imports)
    if program.imports:
        lines.append("")
    for name, value in program.constants.items():
        lines.append(f"{name} = {value!r}")
    if program.constants:
        lines.append("")
    for helper in program.helpers:
        params = [p if p not in helper.defaults else f"{p}={helper.defaults[p].attrs['text']}"
                  for p in helper.params]
        lines.append(f"def {helper.name}({', '.join(params)}):")
        lines.extend(_render_body(helper.body, full))
        lines.append(f"    return {render_expr(helper.ret, full)}")
        lines.append("")
        lines.append("")
    params = [spec.name for spec in program.inputs]
    if params and params[-1] in program.defaults:  # the oracle passes every input: the default is only read
        params[-1] += f"={program.defaults[params[-1]]}"
    lines.append(f"def f({', '.join(params)}):")
    lines.extend(_render_body(program.body, full))
    lines.append(f"    return {render_expr(program.ret, full)}")
    return "\n".join(lines) + "\n"


# ---- the generator ------------------------------------------------------------------------------

def _broadcast_pairs():
    table = {}
    for a in SHAPES:
        for b in SHAPES:
            try:
                table.setdefault(np.broadcast_shapes(a, b), []).append((a, b))
            except ValueError:
                pass
    return table


def _axis_options(ndim):
    options = [None]
    for i in range(ndim):
        options += [i, i - ndim]
    if ndim >= 2:
        for i in range(ndim):
            for j in range(ndim):
                if i != j:
                    options.append((i, j))
        options.append((0, -1))
    return options


def _reduction_table():
    table = {}
    for src in SHAPES:
        for axis in _axis_options(len(src)):
            for keepdims in (False, True):
                try:
                    out = np.sum(np.zeros(src), axis=axis, keepdims=keepdims).shape
                except (ValueError, np.exceptions.AxisError):
                    continue
                if isinstance(axis, tuple) and len({a % len(src) for a in axis}) < len(axis):
                    continue
                if out in SHAPES:
                    table.setdefault(out, []).append((src, axis, keepdims))
    return table


def _product_table(fn, allow_scalars):
    table = {}
    for a in SHAPES:
        for b in SHAPES:
            if not allow_scalars and (a == () or b == ()):
                continue
            try:
                out = fn(np.zeros(a), np.zeros(b)).shape
            except ValueError:
                continue
            if out in SHAPES:
                table.setdefault(out, []).append((a, b))
    return table


BROADCAST = _broadcast_pairs()
REDUCE = _reduction_table()
MATMUL = _product_table(np.matmul, False)
DOT = _product_table(np.dot, True)


def _sub_shapes(shape):
    """Shapes of SHAPES that broadcast to ``shape``."""
    return [s for s in SHAPES if _broadcasts(s, shape)]


def _broadcasts(small, big) -> bool:
    try:
        return np.broadcast_shapes(small, big) == tuple(big)
    except ValueError:
        return False


CONSTANTS = [(0.5, "0.5"), (1.0, "1.0"), (2.0, "2.0"), (2, "2"), (3, "3"), (0.1, "0.1"), (1.5, "1.5"),
             (0.25, "0.25"), (-1.0, "-1.0"), (-0.5, "-0.5"), (1e-3, "1e-3"), (math.pi, "np.pi"),
             (math.e, "math.e"), (4.0, "4.0"), (1, "1")]


@dataclass
class Scope:
    """What a subtree may read: variables (name, shape, lo, hi), whether it may create inputs,
    which shapes it may use, and whether it sits in a guarded where() branch."""

    vars: list
    create: bool = True
    shapes: tuple | None = None  # None: all of SHAPES
    elementwise: bool = False
    guarded: bool = False

    def allowed(self, shape) -> bool:
        return self.shapes is None or tuple(shape) in self.shapes

    def with_(self, **changes) -> Scope:
        return replace(self, **changes)


class Generator:
    """Random programs from one seed; ``program()`` draws the next one."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)

    # ---- the program -------------------------------------------------------------------
    def program(self) -> Program:
        for _ in range(50):
            try:
                prog = self._program()
            except (ShapeError, _Retry):
                continue
            if prog is not None and prog.inputs:
                prog.seed = self.seed
                return prog
        return Program([InputSpec("x", (), "any")], var("x", (), -2, 2))  # never reached in practice

    def _program(self) -> Program | None:
        rng = self.rng
        self.inputs: list[InputSpec] = []
        self.helpers: list[Helper] = []
        self.constants: dict = {}
        family = rng.choices(["general", "scalar", "loss", "softmax", "linalg"], [10, 3, 3, 1, 2])[0]
        style = "def" if rng.random() < 0.45 else "expr"
        depth = rng.choice([2, 3, 3, 4, 4])
        if family == "scalar":
            scope = Scope([], shapes=((),))
            out_shape = ()
        elif family == "loss":
            shape = rng.choice(BLOCK_SHAPES)
            scope = Scope([], shapes=(shape, ()), elementwise=True)
            out_shape = rng.choice([(), (), shape])
        else:
            scope = Scope([])
            out_shape = rng.choice([(), (), (3,), (2, 3), (2, 1), (2,), (2, 2), (4, 2)])
        body = []
        if style == "def":
            if rng.random() < 0.2:
                self.constants["EPS"] = rng.choice([1e-8, 1e-3, 0.5])
            for i in range(rng.choice([0, 1, 1, 2, 3])):
                stmt = self._statement(scope, body, depth - 1, i)
                if stmt is not None:
                    body.append(stmt)
            self._pair_up(body)
        if family == "loss" and out_shape == ():
            inner = self.gen(scope.shapes[0], depth, scope, top=True)
            ret = None if inner is None else self._reduce_all(inner)
        elif family == "softmax":
            ret = self.softmax(out_shape or (3,), depth, scope) or self.gen(out_shape, depth, scope)
        elif family == "linalg":
            ret = ((self.contraction(out_shape, depth, scope) if rng.random() < 0.35 else None)
                   or self.matmul(out_shape, depth, scope) or self.dot(out_shape, depth, scope)
                   or self.gen(out_shape, depth, scope))
        else:
            ret = self.gen(out_shape, depth, scope, top=True)
        if ret is None:
            return None
        prog = Program(self.inputs, ret, body, self.helpers, self.constants, style, family=family)
        if style == "expr" and (self.helpers or body):
            prog.style = "def"
        if prog.style == "def":
            rng.shuffle(prog.inputs)
            if rng.random() < 0.3:
                prog.imports = tuple(rng.sample(IMPORTS, 2))
            if rng.random() < 0.15 and prog.inputs:
                prog.defaults = {prog.inputs[-1].name: rng.choice(("0.5", "-1", "2.0", "1e-08", "EPS"))
                                 if self.constants else rng.choice(("0.5", "-1", "2.0", "1e-08"))}
        else:
            prog.inputs = used_inputs(prog)
            prog.constants = {}
        numbers = [s for s in prog.inputs if s.kind != "positions"]  # positions have no gradient
        if rng.random() < 0.3 and len(numbers) > 1:
            names = [s.name for s in used_inputs(prog) if s.kind != "positions"] or [s.name for s in numbers]
            prog.wrt = tuple(rng.sample(names, rng.randint(1, len(names))))
        return prog

    def _statement(self, scope, body, depth, i):
        rng = self.rng
        locals_ = [v for v in scope.vars if v[0].startswith("t")]
        roll = rng.random()
        if locals_ and roll < 0.25:  # augmented assignment: the shape stays
            name, shape, lo, hi = rng.choice(locals_)
            aug = rng.choice(["add", "sub", "mul", "add"])
            expr = self.gen(rng.choice(_sub_shapes(shape) if scope.shapes is None else [shape]), depth, scope)
            if expr is None:
                return None
            times = rng.choice([1, 1, 2, 3]) if aug != "mul" and not _reads(expr, name) else 1
            combined = var(name, shape, lo, hi)
            for _ in range(times):  # a loop adds the same term each time
                combined = mk(aug, combined, expr)
            if not _moderate(combined):
                return None
            self._bind(scope, name, combined)
            return self._written(Stmt(name, expr, aug, ("loop", times) if times > 1 else ()), combined)
        if locals_ and roll < 0.45:  # reassignment, reading the old value
            name, shape, lo, hi = rng.choice(locals_)
            expr = self.gen(shape, depth, scope)
            if expr is None:
                return None
            self._bind(scope, name, expr)
            return self._written(Stmt(name, expr), expr)
        shapes = scope.shapes or SHAPES
        shape = rng.choice(shapes)
        expr = self.gen(shape, depth, scope)
        if expr is None:
            return None
        name = f"t{i}"
        self._bind(scope, name, expr)
        return self._written(Stmt(name, expr), expr)

    def _written(self, stmt, value=None):
        """The statement, sometimes inside the branch of an if statement whose condition is
        known at compile time, sometimes followed by an assert on the shape of ``value``, the
        array its target then holds."""
        if value is not None and value.shape and _reads_input(value) and self.rng.random() < 0.2:
            stmt.assertion = self._assertion(stmt.target, value.shape)
        if not stmt.form and self.rng.random() < 0.15:
            taken = self.rng.random() < 0.6
            stmt.form = ("if", self._static_condition(taken), taken)
        return stmt

    def _assertion(self, name: str, shape: tuple) -> str:
        """The condition of an assert on ``name``'s shape that holds (sizes read when the module runs)."""
        size = math.prod(shape)
        options = [f"{name}.ndim == {len(shape)}", f"{name}.shape == {shape!r}", f"len({name}) == {shape[0]}",
                   f"{name}.shape[-1] == {shape[-1]} and {name}.dim() >= 1", f"0 < {name}.size <= {size}",
                   f"{name}.shape[1:] == {shape[1:]!r}", f"not {name}.ndim > {len(shape)}",
                   f"{name}.shape[0] * {name}.size >= {shape[0]}"]
        condition = self.rng.choice(options)
        return condition + (f", 'the shape of {name}'" if self.rng.random() < 0.3 else "")

    def _static_condition(self, value: bool) -> str:
        """The text of a condition known at compile time, true or false as asked."""
        true = ["True", "2 > 1", "not False", "1 == 1 and 3 >= 2", "0 or 1"]
        false = ["False", "1 > 2", "not True", "0 > 1 or 1 < 0", "1 and 0"]
        if "EPS" in self.constants:
            true.append("EPS > 0")
            false.append("EPS < 0")
        return self.rng.choice(true if value else false)

    def _pair_up(self, body):
        """Consecutive assignments written as one tuple assignment where that means the same
        (the second does not read the first's target)."""
        i = 0
        while i + 1 < len(body):
            a, b = body[i], body[i + 1]
            if (not a.form and not b.form and a.aug is None and b.aug is None and a.target != b.target
                    and not _reads(b.expr, a.target) and self.rng.random() < 0.4):
                a.form = ("pair",)
                i += 2
            else:
                i += 1

    def ifexp(self, shape, depth, scope):
        """a if c else b, c known at compile time: b is never evaluated (and reads no new input)."""
        chosen = self.gen(shape, depth - 1, scope)
        if chosen is None:
            return None
        other = self.gen(self.rng.choice(SHAPES), depth - 1, scope.with_(create=False)) or self.constant()
        taken = self.rng.random() < 0.5
        return mk("ifexp", chosen, other, cond=self._static_condition(taken), taken=taken)

    @staticmethod
    def _bind(scope, name, expr):
        scope.vars[:] = [v for v in scope.vars if v[0] != name] + [(name, expr.shape, expr.lo, expr.hi)]

    def _reduce_all(self, inner):
        op = self.rng.choice(["sum", "mean", "sum", "mean", "logsumexp"])
        return mk(op, inner, axis=None, keepdims=False, spell=self._reduction_spelling(op))

    # ---- expressions -------------------------------------------------------------------
    def gen(self, shape, depth, scope, top=False) -> Node | None:
        """A random expression of exactly ``shape`` (``top``: an operation, not a leaf)."""
        shape = tuple(shape)
        if not scope.allowed(shape):
            return None
        if not top and (depth <= 0 or self.rng.random() < 0.2):
            return self.leaf(shape, scope)
        builders = [(self.unary, 24), (self.binary, 24), (self.neg, 3), (self.power, 6), (self.as_number, 2),
                    (self.binary_function, 6), (self.where, 7), (self.guard, 8), (self.clamp, 4),
                    (self.constant_where, 2), (self.ifexp, 1.5), (self.division, 2), (self.special_function, 2),
                    (self.distribution, 1)]
        if not scope.elementwise:
            builders += [(self.reduce, 8), (self.matmul, 3), (self.dot, 3), (self.transpose, 3),
                         (self.softmax, 1.5), (self.layout, 8), (self.difference, 1.5)]
            if scope.create:
                builders += [(self.gather, 3), (self.take_along, 2)]
            builders += [(self.join, 3), (self.outer, 1.5), (self.ones_like, 1), (self.masked, 2), (self.arange, 1.5),
                         (self.position, 1), (self.statistic, 1.5)]
            # a contraction's operands have shapes of their own, mostly new inputs: drawn while few exist
            builders.append((self.contraction, 5 if len(self.inputs) < 3 else 1))
        if scope.create and not scope.guarded:
            builders.append((self.call, 3))
        funcs, weights = zip(*builders)
        for _ in range(8 if top else 4):
            builder = self.rng.choices(funcs, weights)[0]
            try:
                node = builder(shape, depth, scope)
            except ShapeError:
                node = None
            if node is not None and (scope.guarded or _moderate(node)):
                return node
        return None if top else self.leaf(shape, scope)

    def leaf(self, shape, scope) -> Node | None:
        rng = self.rng
        shape = tuple(shape)
        if shape == () and not scope.elementwise and rng.random() < 0.12 and self._arrays(scope):
            return self.size(scope)
        if shape == () and (rng.random() < 0.3 or not scope.create and not scope.vars):
            return self.constant()
        matches = [v for v in scope.vars if v[1] == shape]
        locals_ = [v for v in matches if not any(s.name == v[0] for s in self.inputs)]
        if locals_ and rng.random() < 0.6:
            return var(*rng.choice(locals_))
        if matches and (rng.random() < 0.6 or not scope.create or len(self.inputs) >= 4):
            return var(*rng.choice(matches))
        if scope.create and len(self.inputs) < 5:
            kind = "pos" if rng.random() < 0.3 else "any"
            return self._new_input(shape, kind, scope)
        if matches:
            return var(*rng.choice(matches))
        if shape == ():
            return self.constant()
        return None

    def _arrays(self, scope) -> list:
        """The inputs in scope: arrays (a local may hold a number, which has no shape)."""
        inputs = {s.name for s in self.inputs}
        return [v for v in scope.vars if v[0] in inputs]

    def size(self, scope) -> Node:
        """An integer read off the shape of an input: x.shape[-1], len(x), x.size, x.ndim."""
        rng = self.rng
        arrays = self._arrays(scope)
        shaped = [v for v in arrays if v[1]]
        name, shape, lo, hi = rng.choice(shaped if shaped and rng.random() < 0.7 else arrays)
        kinds = ["size", "ndim"] + (["shape"] * 4 + ["len"] if shape else [])
        kind = rng.choice(kinds)
        if kind in ("shape", "len"):
            axis = 0 if kind == "len" else rng.randrange(-len(shape), len(shape))
            what, value = ("shape", axis, None), shape[axis]
        else:
            what, value = (kind,), int(np.prod(shape)) if kind == "size" else len(shape)
        form = rng.choice(SIZE_FORMS[kind])
        return mk("size", var(name, shape, lo, hi), what=what, value=float(value), spell={"form": form})

    def _new_input(self, shape, kind, scope):
        pool = {"any": ANY_NAMES, "pos": POS_NAMES, "guard": GUARD_NAMES}[kind]
        taken = {s.name for s in self.inputs}
        names = [n for n in pool if n not in taken]
        if not names:
            raise _Retry()
        name = names[0]
        lo, hi = {"any": (-2.0, 2.0), "pos": (0.25, 2.0), "guard": (-2.0, 2.0)}[kind]
        self.inputs.append(InputSpec(name, tuple(shape), kind))
        scope.vars.append((name, tuple(shape), lo, hi))
        return var(name, shape, lo, hi)

    def constant(self) -> Node:
        value, text = self.rng.choice(CONSTANTS)
        if self.constants and self.rng.random() < 0.3:
            name = next(iter(self.constants))
            return const(self.constants[name], name)
        return const(value, text)

    def _spelling(self, op, method_ok=True):
        rng = self.rng
        spell = {}
        roll = rng.random()
        if roll < 0.35:
            spell["prefix"] = ""
        elif roll < 0.6:
            spell["prefix"] = "np."
        elif roll < 0.8:
            spell["prefix"] = "torch."
        elif roll < 0.88 and op in ("relu", "softplus", "sigmoid", "logsumexp", *UNARY[30:]):
            spell["prefix"] = rng.choice(["F.", "torch.nn.functional."])
        elif roll < 0.93:
            spell["prefix"] = rng.choice(PREFIXES[4:])
        elif method_ok:
            spell["method"] = True
        aliases = ALIASES.get(op)
        if aliases and rng.random() < 0.4:
            spell["name"] = rng.choice(aliases)
        return spell

    def _reduction_spelling(self, op):
        spell = self._spelling(op)
        spell["style"] = self.rng.choice(["numpy", "torch", "positional", "numpy"])
        spell["explicit"] = self.rng.random() < 0.2
        if op in ("amax", "amin") and self.rng.random() < 0.5:  # torch.max(x, dim): (values, indices)
            spell["pair"] = self.rng.randrange(len(PAIR_FORMS))
        return spell

    def unary(self, shape, depth, scope, op=None):
        rng = self.rng
        op = op or rng.choice(UNARY)
        x = self.gen(shape, depth - 1, scope)
        if x is None:
            return None
        # A guard keeps a branch's values in the domain, not a constant's: arctanh(np.pi) is no
        # number, and combined with a value it is an error (README: constants must be finite).
        if (not scope.guarded or not _reads_input(x)) and op in DOMAINS and not _inside(x, DOMAINS[op]):
            if op in GUARDS and rng.random() < 0.5:
                return self._guarded_op(op, x, shape, depth, scope)
            x = self._into_domain(x, op)
            if x is None:
                return None
        return mk(op, x, spell=self._spelling(op), **self._activation_parameters(op))

    def _activation_parameters(self, op) -> dict:
        """An activation's constant parameters, written (sometimes) and passed to its kernel."""
        options = ACTIVATION_PARAMETERS.get(op)
        if options and self.rng.random() < 0.4:
            text, values, kernel = self.rng.choice(options)
            return {"params": values, "params_text": text, "kernel": kernel}
        return {"params": ACTIVATION_DEFAULTS[op]} if op in ACTIVATION_DEFAULTS else {}

    def _into_domain(self, x, op):
        """x moved into op's domain by a harmless wrapping (None if that does not work)."""
        rng = self.rng
        lo, hi = DOMAINS[op]
        if op in ("exp", "exp2", "expm1", "sinh", "cosh", "tan"):
            options = [lambda: mk("sin", x), lambda: mk("tanh", x),
                       lambda: mk("mul", const(0.5), mk("sin", x))]
        elif lo >= 1:
            options = [lambda: mk("add", const(1.5), mk("pow", x, const(2))),
                       lambda: mk("add", const(1.0), mk("exp", _bounded(x)))]
        elif hi < 1:
            options = [lambda: mk("mul", const(0.5), mk("sin", x)), lambda: mk("tanh", _bounded(x)),
                       lambda: mk("mul", const(0.9), mk("erf", x)),
                       lambda: mk("sub", mk("sigmoid", x), const(0.5))]
        else:
            options = [lambda: mk("add", const(1), mk("pow", x, const(2))),
                       lambda: mk("add", mk("abs", x), const(0.5)), lambda: mk("exp", _bounded(x)),
                       lambda: mk("sigmoid", _bounded(x)), lambda: mk("add", mk("square", x), const(0.25))]
        node = rng.choice(options)()
        return node if _inside(node, DOMAINS[op]) and _moderate(node) else None

    def _guard_condition(self, kind, x):
        rng = self.rng
        if kind == "pos":
            return rng.choice([lambda: mk("gt", x, const(0)), lambda: mk("gt", x, const(0.0, "0.0")),
                               lambda: mk("ge", x, const(1e-3, "1e-3")), lambda: mk("lt", const(0), x)])()
        if kind == "gt-1":
            return mk("gt", x, const(-1.0, "-1.0"))
        if kind == "gt1":
            return mk("gt", x, const(1))
        if rng.random() < 0.5:
            return mk("lt", mk("abs", x, spell=self._spelling("abs")), const(1))
        return mk("and", mk("gt", x, const(-1)), mk("lt", x, const(1)))

    def _guarded_op(self, op, x, shape, depth, scope):
        """where(<x in op's domain>, op(x), alternative): NaN-safe selection."""
        rng = self.rng
        cond = self._guard_condition(GUARDS[op], x)
        value = mk(op, x, spell=self._spelling(op))
        alt = self._alternative(shape, depth, scope)
        if alt is None:
            return None
        if rng.random() < 0.25:
            return mk("where", mk("not", cond), alt, value, spell=self._where_spelling())
        return mk("where", cond, value, alt, spell=self._where_spelling())

    def _alternative(self, shape, depth, scope):
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return const(*rng.choice([(0, "0"), (0.0, "0.0"), (1.0, "1.0"), (-1.0, "-1.0")]))
        sub = rng.choice(_sub_shapes(shape)) if scope.shapes is None else rng.choice(scope.shapes)
        if not _broadcasts(sub, shape):
            sub = shape
        if roll < 0.6 and not scope.guarded:
            return self.guard(sub, depth - 1, scope) or self.gen(sub, depth - 2, scope)
        return self.gen(sub, depth - 2, scope)

    def _where_spelling(self):
        spell = {"prefix": self.rng.choice(["", "np.", "torch.", "", "numpy."])}
        if self.rng.random() < 0.1:
            spell["keywords"] = {1: "x", 2: "y"} if self.rng.random() < 0.5 else {1: "input", 2: "other"}
        return spell

    def binary(self, shape, depth, scope):
        rng = self.rng
        op = rng.choice(["add", "sub", "mul", "div", "add", "mul"])
        a_shape, b_shape = self._operand_shapes(shape, scope)
        a = self.gen(a_shape, depth - 1, scope)
        b = self.gen(b_shape, depth - 1, scope)
        if a is None or b is None:
            return None
        if op == "div" and not scope.guarded and not (b.lo > 0.05 or b.hi < -0.05):
            if rng.random() < 0.3 and not scope.elementwise:
                cond = mk("gt", mk("abs", b), const(0.1)) if rng.random() < 0.5 else mk("ne", b, const(0))
                alt = self._alternative(shape, depth, scope)
                if alt is None:
                    return None
                return mk("where", cond, mk("div", a, b), alt, spell=self._where_spelling())
            b = rng.choice([lambda: mk("add", const(1), mk("pow", b, const(2))),
                            lambda: mk("add", const(2.0), mk("sin", b)), lambda: mk("exp", _bounded(b)),
                            lambda: mk("add", mk("abs", b), const(0.5)),
                            lambda: mk("neg", mk("add", const(1), mk("square", b)))])()
        if op == "mul" and rng.random() < 0.3:  # a product of sums: (x + 1) * sin(x)
            term_shape = rng.choice(_sub_shapes(a.shape) if scope.shapes is None else [a.shape])
            a = mk(rng.choice(["add", "sub"]), a, self.gen(term_shape, depth - 2, scope) or self.constant())
        if rng.random() < 0.1:  # NumPy's ufunc by name: np.add(a, b), np.true_divide(a, b), x.add(y)
            name = rng.choice(UFUNC_NAMES[op])
            spell = {"function": True, "name": name, "prefix": rng.choice(["", "np.", "numpy.", "torch."])}
            if name == "add" and rng.random() < 0.3 and _reads_input(a):
                spell = {"function": True, "name": name, "method": True}
            return mk(op, a, b, spell=spell)
        return mk(op, a, b)

    def _operand_shapes(self, shape, scope):
        rng = self.rng
        if scope.shapes is not None:
            options = [(a, b) for a, b in BROADCAST.get(shape, []) if scope.allowed(a) and scope.allowed(b)]
        else:
            options = BROADCAST.get(shape, [])
        if rng.random() < 0.45 or not options:
            return shape, shape
        return rng.choice(options)

    def neg(self, shape, depth, scope):
        x = self.gen(shape, depth - 1, scope)
        return None if x is None else mk("neg", x)

    def power(self, shape, depth, scope):
        rng = self.rng
        roll = rng.random()
        spell = {}
        if rng.random() < 0.25:
            spell = self._spelling("pow")
            spell["function"] = True
            if spell.get("method"):
                spell["name"] = "pow"
        if roll < 0.4:  # x**2, x**3
            x = self.gen(shape, depth - 1, scope)
            if x is None:
                return None
            exponent = const(*rng.choice([(2, "2"), (3, "3"), (2.0, "2.0"), (2, "2")]))
            node = mk("pow", x, exponent, spell=spell)
            return node if scope.guarded or _moderate(node) else None
        if roll < 0.6:  # constant ** x
            x = self.gen(shape, depth - 1, scope)
            if x is None:
                return None
            if not scope.guarded and x.hi > 20:
                x = mk("sin", x)
            base = const(*rng.choice([(2.0, "2.0"), (0.5, "0.5"), (2, "2"), (3.0, "3.0"), (math.e, "np.e")]))
            return mk("pow", base, x, spell=spell)
        # x ** y on a positive base
        base_shape, exp_shape = self._operand_shapes(shape, scope)
        base = self.gen(base_shape, depth - 1, scope)
        if base is None:
            return None
        if roll < 0.8:
            exponent = const(*rng.choice([(0.5, "0.5"), (1.5, "1.5"), (-0.5, "-0.5"), (2.5, "2.5")]))
        else:
            exponent = self.gen(exp_shape, depth - 1, scope)
            if exponent is None:
                return None
            if not scope.guarded and max(abs(exponent.lo), abs(exponent.hi)) > 4:
                exponent = mk("tanh", exponent)
        if not scope.guarded and base.lo < 0.05:
            if rng.random() < 0.3 and not scope.elementwise:
                cond = mk("gt", base, const(0))
                alt = self._alternative(shape, depth, scope)
                if alt is None:
                    return None
                return mk("where", cond, mk("pow", base, exponent, spell=spell), alt)
            base = self._into_domain(base, "log")
            if base is None:
                return None
        return mk("pow", base, exponent, spell=spell)

    def binary_function(self, shape, depth, scope):
        rng = self.rng
        op = rng.choice(BINARY_FUNCTIONS)
        a_shape, b_shape = self._operand_shapes(shape, scope)
        a, b = self.gen(a_shape, depth - 1, scope), self.gen(b_shape, depth - 1, scope)
        if a is None or b is None:
            return None
        if op == "copysign":  # a zero sign is +0.0 (x + 0.25 rounds to +0): the reference has no -0
            b = mk("add", b, const(0.25, "0.25"))
        spell = self._spelling(op)
        if rng.random() < 0.1 and not spell.get("method"):
            spell["keywords"] = {1: "values" if op == "heaviside" else "other"}
        return mk(op, a, b, spell=spell)

    def special_function(self, shape, depth, scope):
        """A special function of SciPy's (SPECIAL_FUNCTIONS), its operands in its domain."""
        rng = self.rng
        op = rng.choice(sorted(SPECIAL_FUNCTIONS))
        domains, spellings = SPECIAL_FUNCTIONS[op]
        shapes = self._operand_shapes(shape, scope) if len(domains) == 2 and op != "polygamma" else (shape, shape)
        operands = []
        for domain, operand_shape in zip(domains, shapes):
            if domain is None:  # polygamma's order
                operands.append(const(*rng.choice([(0, "0"), (1, "1"), (2, "2")])))
                continue
            x = self.gen(operand_shape, depth - 1, scope)
            if x is None:
                return None
            if not _inside(x, domain):
                lo, hi = domain
                if hi == math.inf:
                    x = mk("add", const(lo, repr(lo)), mk("softplus", x))
                else:
                    x = mk("add", const(lo, repr(lo)), mk("mul", const(hi - lo, repr(hi - lo)), mk("sigmoid", x)))
            operands.append(x)
        spelling = rng.choice(spellings)
        if spelling.startswith("."):
            if not _reads_input(operands[0]):
                spelling = ""
            else:
                return mk(op, *operands, spell={"method": True, "name": spelling[1:]})
        prefix, _, name = spelling.rpartition(".") if not spelling.endswith(".") else (spelling[:-1], ".", "")
        spell = {"prefix": prefix + "." if prefix else ""}
        if name:
            spell["name"] = name
        return mk(op, *operands, spell=spell)

    def distribution(self, shape, depth, scope):
        """A scipy.stats log density or distribution function (DISTRIBUTION_FORMS) of bounded
        operands: x and loc within +-10 (tanh where they may not be), a scale in (0.5, 1.5)."""
        rng = self.rng
        dist, method = rng.choice(DISTRIBUTION_CALLS)
        x = self.gen(shape, depth - 1, scope)
        if x is None:
            return None
        args, names = [_bounded(x)], ["x"]
        if dist == "t":  # its degrees of freedom, in (0.5, 5.5)
            df = self.gen(shape, depth - 1, scope) if rng.random() < 0.4 else None
            args.append(const(3.0, "3.0") if df is None else
                        mk("add", const(0.5, "0.5"), mk("mul", const(5.0, "5.0"), mk("sigmoid", df))))
            names.append("df")
        for key in ("loc", "scale"):
            if rng.random() < 0.5:
                continue
            value = self.gen(shape, depth - 1, scope)
            if value is None:
                return None
            args.append(_bounded(value) if key == "loc" else mk("add", const(0.5, "0.5"), mk("sigmoid", value)))
            names.append(key)
        # Positional up to the first keyword (a scale without a loc is always one), keywords after it.
        keys, keyword = [None], False
        for i, name in enumerate(names[1:], start=1):
            keyword = keyword or rng.random() < 0.3 or (name == "scale" and names[i - 1] != "loc")
            keys.append(name if keyword else None)
        prefix = rng.choice(["scipy.stats.", "stats.", ""])
        return mk("distribution", *args, dist=dist, method=method, keys=tuple(keys), names=tuple(names), prefix=prefix)

    def division(self, shape, depth, scope):
        """a // b, a % b, np.fmod(a, b): a divisor away from 0, a constant mostly (x % 2.0), else
        a value kept between 0.5 and 1.5 in magnitude."""
        rng = self.rng
        op = rng.choice(sorted(DIVISION_FORMS))
        a_shape, b_shape = self._operand_shapes(shape, scope)
        a = self.gen(a_shape, depth - 1, scope)
        if a is None:
            return None
        if rng.random() < 0.6:
            b = const(*rng.choice([(2.0, "2.0"), (0.75, "0.75"), (-1.5, "-1.5"), (3, "3"), (0.5, "0.5")]))
        else:
            b = self.gen(b_shape, depth - 1, scope)
            if b is None:
                return None
            b = mk("add" if rng.random() < 0.7 else "sub", const(0.5), mk("sigmoid", b))
        forms = [i for i, form in enumerate(DIVISION_FORMS[op]) if _reads_input(a) or not form.startswith("{r}")]
        return mk(op, a, b, spell={"form": rng.choice(forms)})

    def where(self, shape, depth, scope):
        rng = self.rng
        c_shape, a_shape = self._operand_shapes(shape, scope)
        b_shape = rng.choice([s for s in (_sub_shapes(shape) if scope.shapes is None else scope.shapes)
                              if _broadcasts(s, shape)] or [shape])
        cond = self.condition(c_shape, depth - 1, scope)
        a, b = self.gen(a_shape, depth - 1, scope), self.gen(b_shape, depth - 1, scope)
        if cond is None or a is None or b is None:
            return None
        node = mk("where", cond, a, b, spell=self._where_spelling())
        return node if node.shape == shape else None

    def difference(self, shape, depth, scope):
        """np.diff(x, n, axis): an operand one or two longer along the axis."""
        rng = self.rng
        shape = tuple(shape)
        options = [(shape[:i] + (m + n,) + shape[i + 1:], n, i) for i, m in enumerate(shape) for n in (1, 2)]
        options = [o for o in options if o[0] in SHAPES and scope.allowed(o[0])]
        if not options:
            return None
        src, n, axis = rng.choice(options)
        x = self.gen(src, depth - 1, scope)
        if x is None or not _reads_input(x):
            return None
        axis = axis - len(src) if rng.random() < 0.5 else axis
        return mk("diff", x, n=n, axis=axis, spell={"form": rng.randrange(len(DIFF_FORMS))})

    def as_number(self, shape, depth, scope):
        """x * (x > 0), (c).float() + y, ...: a condition as 1.0 where it holds, 0.0 elsewhere."""
        rng = self.rng
        c_shape, x_shape = self._operand_shapes(shape, scope)
        cond, x = self.condition(c_shape, depth - 1, scope), self.gen(x_shape, depth - 1, scope)
        if cond is None or x is None:
            return None
        number = mk("number", cond, spell={"form": rng.randrange(len(NUMBER_FORMS))})
        op = rng.choice(["mul", "mul", "add", "sub", "div"])
        if op == "div":
            node = mk("div", x, mk("add", number, const(1.0)))  # 1 or 2: never a division by 0
        else:
            node = mk(op, *((number, x) if rng.random() < 0.5 else (x, number)))
        return node if node.shape == shape else None

    def condition(self, shape, depth, scope):
        rng = self.rng
        roll = rng.random()
        if roll < 0.15 and depth > 0:
            a_shape, b_shape = self._operand_shapes(shape, scope)
            left, right = self.condition(a_shape, depth - 1, scope), self.condition(b_shape, depth - 1, scope)
            if left is None or right is None:
                return None
            return mk(rng.choice(["and", "or"]), left, right)
        if roll < 0.2:
            inner = self.condition(shape, depth - 1, scope)
            return None if inner is None else mk("not", inner)
        if roll < 0.25:  # folded to a constant: (a < 0.5) & (1.0 < 0.5)
            inner = self.condition(shape, 0, scope)
            if inner is None:
                return None
            truth = rng.random() < 0.5
            constant = mk("bool", value=truth, text="(2 > 1)" if truth else "(1.0 < 0.5)")
            return mk("and" if not truth else "or", inner, constant)
        x = self.gen(shape, depth - 1, scope)
        if x is None:
            return None
        rare = rng.random() < 0.1
        op = rng.choice(["gt", "gt", "lt", "ge", "le", "ne", "eq"] if rare else ["gt", "lt", "ge", "le"])
        lo, hi = max(x.lo, -3.0), min(x.hi, 3.0)
        threshold = round(rng.uniform(lo, hi), 1) if lo < hi else 0.0
        if rng.random() < 0.15:
            other_shape = rng.choice(_sub_shapes(shape)) if scope.shapes is None else shape
            other = self.gen(other_shape, depth - 1, scope)
            if other is not None:
                node = mk(op, x, other)
                return node if node.shape == shape else mk(op, x, const(threshold))
        return mk(op, x, const(threshold, repr(threshold)))

    def constant_where(self, shape, depth, scope):
        """where(True/False, a, b), whose branches may broadcast against each other."""
        rng = self.rng
        a_shape, b_shape = self._operand_shapes(shape, scope)
        a, b = self.gen(a_shape, depth - 1, scope), self.gen(b_shape, depth - 1, scope)
        if a is None or b is None:
            return None
        truth = rng.random() < 0.5
        text = rng.choice(["True", "(3 > 2)"]) if truth else rng.choice(["False", "(1.0 < 0.5)"])
        return mk("where", mk("bool", value=truth, text=text), a, b, spell=self._where_spelling())

    def guard(self, shape, depth, scope):
        """where(c > 0, <anything>, alternative), c an input the sampler sets to select only the
        places where the branch is valid; or an op guarded by its own domain test."""
        rng = self.rng
        if scope.guarded or not scope.create or rng.random() < 0.35:
            op = rng.choice(list(GUARDS))
            x = self.gen(shape, depth - 1, scope.with_(guarded=False) if scope.guarded else scope)
            if x is None:
                return None
            return self._guarded_op(op, x, shape, depth, scope)
        c_shape = rng.choice([s for s in _sub_shapes(shape) if scope.allowed(s)] or [shape])
        guards = [s for s in self.inputs if s.kind == "guard" and s.shape == c_shape]
        c = var(guards[0].name, c_shape, -2, 2) if guards and rng.random() < 0.5 else \
            self._new_input(c_shape, "guard", scope)
        inner = scope.with_(guarded=True)
        branch = self._guarded_branch(shape, depth - 1, inner)
        if branch is None:
            return None
        alt = self._alternative(shape, depth, scope)
        if alt is None:
            return None
        cond = mk("gt", c, const(0)) if rng.random() < 0.8 else mk("lt", const(0.0, "0.0"), c)
        return mk("where", cond, branch, alt, spell=self._where_spelling())

    def _guarded_branch(self, shape, depth, scope):
        """An expression with domain ops on unrestricted operands (possibly through a
        reduction, a matrix product or a transpose)."""
        rng = self.rng
        op = rng.choice(list(GUARDS) + ["div", "pow"])
        roll = rng.random()
        if roll < 0.2 and not scope.elementwise:
            src = tuple(reversed(shape))
            if scope.allowed(src):
                inner = self._guarded_branch(src, depth, scope)
                return None if inner is None else mk("transpose", inner, spell=self._transpose_spelling())
        if roll < 0.4 and not scope.elementwise and shape in REDUCE:
            src, axis, keepdims = rng.choice(REDUCE[shape])
            inner = self._guarded_branch(src, depth, scope)
            if inner is None:
                return None
            op = rng.choice(["sum", "mean", "logsumexp"])
            return mk(op, inner, axis=axis, keepdims=keepdims, spell=self._reduction_spelling(op))
        if roll < 0.5 and not scope.elementwise and shape in MATMUL:
            a_shape, b_shape = rng.choice(MATMUL[shape])
            a = self._guarded_branch(a_shape, depth, scope)
            b = self.gen(b_shape, depth - 1, scope)
            if a is None or b is None:
                return None
            return mk("matmul", a, b, spell={"operator": rng.random() < 0.5})
        x = self.gen(shape, depth - 1, scope) if rng.random() < 0.5 else self.leaf(shape, scope)
        if x is None:
            return None
        if op == "div":
            return mk("div", const(1.0), x)
        if op == "pow":
            return mk("pow", x, const(0.5))
        node = mk(op, x, spell=self._spelling(op))
        if rng.random() < 0.3:
            node = mk(rng.choice(["mul", "add"]), node, self.gen(shape, depth - 1, scope) or const(2.0))
        return node

    def clamp(self, shape, depth, scope):
        rng = self.rng
        x = self.gen(shape, depth - 1, scope)
        if x is None:
            return None
        lo_b = hi_b = None
        kind = rng.choice(["const", "const", "tensor", "none-lo", "none-hi", "equal"])
        mid = (max(x.lo, -3) + min(x.hi, 3)) / 2 if x.lo < x.hi else 0.0
        if kind == "equal":
            lo_b = hi_b = const(round(mid, 1))
        elif kind == "tensor":
            subs = _sub_shapes(shape) if scope.shapes is None else scope.shapes
            lo_b = self.gen(rng.choice(subs), depth - 2, scope)
            hi_b = self.gen(rng.choice(subs), depth - 2, scope) if rng.random() < 0.5 else None
            if lo_b is None:
                return None
        else:
            lo_v = round(rng.uniform(max(x.lo, -3), mid), 1) if x.lo < mid else -1.0
            hi_v = round(rng.uniform(mid, min(x.hi, 3)), 1) if x.hi > mid else 1.0
            lo_b = None if kind == "none-lo" else const(lo_v)
            hi_b = None if kind == "none-hi" else const(hi_v)
            if lo_b is None and hi_b is None:
                hi_b = const(hi_v)
        spell = self._spelling("clamp")
        styles = ["positional", "torch"] + ([] if spell.get("method") else ["numpy", "lohi"])
        spell["style"] = rng.choice(styles)
        if spell["style"] == "positional" and lo_b is None and spell.get("method"):
            spell["style"] = "torch"
        node = mk("clamp", x, lo_b, hi_b, spell=spell)
        return node if node.shape == shape else None

    def reduce(self, shape, depth, scope):
        rng = self.rng
        options = [o for o in REDUCE.get(shape, []) if scope.allowed(o[0])]
        if not options:
            return None
        src, axis, keepdims = rng.choice(options)
        op = rng.choice(REDUCTIONS)
        x = self.gen(src, depth - 1, scope)
        if x is None:
            return None
        if op == "mean" and not x.shape and axis is not None:  # np.mean of a 0-d value along an axis is an AxisError
            op = "sum"
        if op == "logsumexp" and not scope.guarded and x.hi > 50:
            x = mk("tanh", x)
        return mk(op, x, axis=axis, keepdims=keepdims, spell=self._reduction_spelling(op))

    def matmul(self, shape, depth, scope):
        rng = self.rng
        options = [o for o in MATMUL.get(shape, []) if scope.allowed(o[0]) and scope.allowed(o[1])]
        if not options:
            return None
        a_shape, b_shape = rng.choice(options)
        a = self.gen(a_shape, depth - 1, scope)
        if a is None:
            return None
        if a_shape == b_shape and len(a_shape) == 1 and rng.random() < 0.5:
            b = a  # g @ g
        else:
            b = self.gen(b_shape, depth - 1, scope)
        if b is None:
            return None
        spell = {"operator": rng.random() < 0.5}
        if not spell["operator"]:
            spell.update(self._spelling("matmul"))
        node = mk("matmul", a, b, spell=spell)
        if shape == () and a is b and rng.random() < 0.5:
            return mk("div", const(rng.choice([-2.0, 1.0, 3.0]), None), node)
        return node

    def dot(self, shape, depth, scope):
        rng = self.rng
        options = [o for o in DOT.get(shape, []) if scope.allowed(o[0]) and scope.allowed(o[1])]
        if not options:
            return None
        deep = [o for o in options if max(len(o[0]), len(o[1])) >= 3]  # np.dot's own rules, beyond matmul's
        a_shape, b_shape = rng.choice(deep if deep and rng.random() < 0.3 else options)
        a, b = self.gen(a_shape, depth - 1, scope), self.gen(b_shape, depth - 1, scope)
        if a is None or b is None:
            return None
        return mk("dot", a, b, spell=self._spelling("dot"))

    def _transpose_spelling(self):
        if self.rng.random() < 0.75:
            return {"attribute": True}
        spell = self._spelling("transpose")
        spell["attribute"] = False
        if spell.get("prefix") in ("torch.", "F.", "torch.nn.functional.") or spell.get("method"):
            spell["name"] = "t"
        return spell

    def transpose(self, shape, depth, scope):
        src = tuple(reversed(shape))
        if not scope.allowed(src):
            return None
        x = self.gen(src, depth - 1, scope)
        if x is None:
            return None
        spell = self._transpose_spelling()
        if spell.get("name") == "t" and len(src) > 2:
            spell = {"attribute": True}
        return mk("transpose", x, spell=spell)

    def layout(self, shape, depth, scope):
        """An op that moves elements, from an operand of another shape (or order) than its own."""
        rng = self.rng
        # indexing most: it has most forms; flip has np.fliplr and np.flipud too, sort a dozen spellings;
        # the triangles and rotations only fit results of two axes or more, a new shape one of as many elements
        op = rng.choices(LAYOUT, [4 if name in ("getitem", "sort") else 3 if name == "flip"
                                  else 2 if name in ("reshape", "broadcast_to", "tril", "triu", "rot90", "diag") else 1
                                  for name in LAYOUT])[0]
        sources = [s for s in self._layout_sources(op, tuple(shape)) if scope.allowed(s)]
        if not sources:
            return None
        for _ in range(12):
            src = rng.choice(sources)
            static = ((self._index(src, tuple(shape)),) if op == "getitem"
                      else self._layout_static(op, src, shape))
            if static is None:
                continue
            try:
                result = _shape_of(op, (Node("var", shape=src),), {"static": static})
            except ShapeError:
                continue
            if result == tuple(shape):
                x = self.gen(src, depth - 1, scope)
                if x is None or _constant(x) or not _reads_input(x) or x.shape != tuple(src):
                    # a number cannot be indexed (nor moved: it has no axes); a value of a smaller
                    # shape than asked for (operands that broadcast to it) does not fit the static
                    return None
                return mk(op, x, static=static, spell=self._layout_spelling(op, src, static))
        return None

    def gather(self, shape, depth, scope):
        """x[t], x[:, t] or x[np.arange(len(t)), t] of a new input t of integer positions."""
        rng, shape = self.rng, tuple(shape)
        form = rng.choice(GATHER_FORMS if shape else GATHER_FORMS[:1])
        n = rng.randint(1, 4)  # the length of the axis the positions read
        if form == "input":  # x[t]: t's shape, then x's other axes
            k = rng.randrange(len(shape) + 1)
            src, positions, items = (n,) + shape[k:], shape[:k], (("at", 1),)
        elif form == "column":  # x[:, t]
            k = rng.randrange(len(shape))
            src, positions = (shape[0], n) + shape[1 + k:], shape[1:1 + k]
            items = (("slice", None, None, None), ("at", 1))
        else:  # x[np.arange(len(t)), t]: one position per row
            src, positions = (shape[0], n) + shape[1:], shape[:1]
            items = (("arange", rng.choice([0, 1]), ("shape", 0, None)), ("at", 1))
        if not scope.allowed(src):
            return None
        x = self.gen(src, depth - 1, scope)
        if x is None or _constant(x) or not _reads_input(x):
            return None
        t = self._positions_input(positions, n)
        spell = {"arange": rng.randrange(len(ARANGE_FORMS))}
        return mk("gather_index", x, t, static=(items,), spell=spell)

    def masked(self, shape, depth, scope):
        """sum(x[c]) or mean(x[c]) of a boolean mask c of x's shape (a condition on x or on
        another value): reduced at once, since its length is the mask's count."""
        rng = self.rng
        if tuple(shape) != ():
            return None
        src = rng.choice([s for s in SHAPES if s])
        if not scope.allowed(src):
            return None
        x = self.gen(src, depth - 1, scope)
        if x is None or not _reads_input(x):
            return None
        other = x if rng.random() < 0.5 else self.gen(src, depth - 1, scope)
        if other is None or not _reads_input(other):
            return None
        mask = mk(rng.choice(["gt", "lt", "ge", "le"]), other, const(rng.choice([0.0, 0.3, -0.5])))
        picked = mk("gather_index", x, mask, static=((("mask", 1),),))
        op = rng.choice(["sum", "mean"])
        return mk(op, picked, axis=None, keepdims=False, spell=self._reduction_spelling(op))

    def outer(self, shape, depth, scope):
        """np.outer(a, b) of operands whose element counts are the result's two sizes."""
        rng, shape = self.rng, tuple(shape)
        if len(shape) != 2:
            return None
        sources = [[s for s in SHAPES if math.prod(s) == n] or [(n,)] for n in shape]
        a = self.gen(rng.choice(sources[0]), depth - 1, scope)
        b = self.gen(rng.choice(sources[1]), depth - 1, scope)
        if a is None or b is None or not (_reads_input(a) or _reads_input(b)):
            return None
        forms = [i for i, form in enumerate(OUTER_FORMS) if _reads_input(a) or not form.startswith("{r}")]
        return mk("outer", a, b, spell={"form": rng.choice(forms)})  # a method of an array, not of a number

    def ones_like(self, shape, depth, scope):
        """np.ones_like(x) times something: ones of x's shape, no gradient through x."""
        x = self.gen(shape, depth - 1, scope)
        if x is None or not _reads_input(x):
            return None
        ones = mk("ones_like", x, spell={"form": self.rng.randrange(len(ONES_FORMS))})
        other = self.gen(shape, depth - 1, scope)
        return ones if other is None else mk("mul", ones, other)

    def statistic(self, shape, depth, scope):
        """np.var / np.std (and PyTorch's) along some axes, with ddof 0 or 1, more elements
        than ddof; std only of an input itself, which is nowhere constant along the axes (the
        gradient of std where every element is equal is nan, in NumPy and PyTorch alike; a
        local may be: a clamp's bound twice, found with seed 20261308)."""
        rng = self.rng
        options = [o for o in REDUCE.get(tuple(shape), []) if scope.allowed(o[0])]
        if not options:
            return None
        src, axis, keepdims = rng.choice(options)
        if not src:  # np.var of a 0-d array along an axis is an AxisError (np.sum's is not)
            return None
        axes = range(len(src)) if axis is None else (axis,) if isinstance(axis, int) else axis
        count = math.prod(src[a] for a in axes)
        ddof = rng.choice([0, 1])
        if count <= ddof:
            return None
        x = self.gen(src, depth - 1, scope)
        if x is None or not _reads_input(x) or tuple(x.shape) != tuple(src):
            return None
        if rng.random() < 0.35:  # the 2-norm instead
            axes_count = len(src) if axis is None else 1 if isinstance(axis, int) else len(axis)
            forms = [i for i, (_, takes) in enumerate(NORM_FORMS)
                     if takes == "any" or (axis is not None and axes_count <= 2)]
            return mk("norm", x, axis=axis, keepdims=keepdims, spell={"form": rng.choice(forms)})
        an_input = x.op == "var" and any(spec.name == x.attrs["name"] for spec in self.inputs)  # not a local
        op = "deviation" if an_input and tuple(x.shape) == tuple(src) and count > 1 and rng.random() < 0.5 else "variance"
        forms = [i for i, f in enumerate(STATISTIC_FORMS)
                 if (axis is None or isinstance(axis, int) or "{u}" not in f)]
        return mk(op, x, axis=axis, keepdims=keepdims, ddof=ddof, count=count,
                  spell={"form": rng.choice(forms)})

    def position(self, shape, depth, scope):
        """np.argmax or np.argmin of an array along its last axis (as a positive or a negative
        axis), as numbers times something: integers, no gradient."""
        rng, shape = self.rng, tuple(shape)
        source = shape + (rng.choice([2, 3, 4]),)
        if not scope.allowed(source):
            return None
        x = self.gen(source, depth - 1, scope)
        if x is None or not _reads_input(x) or tuple(x.shape) != source:
            return None
        axis = len(shape) if rng.random() < 0.5 else -1
        node = mk(rng.choice(["argmax", "argmin"]), x, static=(axis, False),
                  spell={"form": rng.randrange(len(POSITION_FORMS))})
        other = self.gen(shape, depth - 1, scope)
        return node if other is None else mk(rng.choice(["mul", "add"]), node, other)

    def arange(self, shape, depth, scope):
        """np.arange(n) as numbers times something (of a vector's shape): a constant count, a
        start, stop and step, or a size read off an array as the module runs."""
        rng, shape = self.rng, tuple(shape)
        if len(shape) != 1:
            return None
        n = shape[0]
        kind = rng.choice(["count", "step", "size"])
        args = ()
        if kind == "count":
            static = (0, n, 1)
        elif kind == "step":  # binary fractions: stop - start is n steps exactly
            start, step = rng.choice([0.5, -1.0, 0.25]), rng.choice([0.25, 0.5, -0.5, 1.5])
            static = (start, start + n * step, step)
        else:
            sources = [(s, i) for s in SHAPES for i, m in enumerate(s) if m == n and scope.allowed(s)]
            if not sources:
                return None
            source, axis = rng.choice(sources)
            x = self.gen(source, depth - 1, scope)
            # (a size read off one array: of a value reading two inputs, x[np.arange(len(t)), t],
            # derivgen refuses it, as the README says; found with seed 7, program 1710)
            if x is None or len(_inputs_read(x)) != 1:
                return None
            args, static = (x,), (0, ("of", ("shape", axis, None)), 1)
        node = mk("arange", *args, static=static,
                  spell={"kind": kind, "form": rng.randrange(len(ARANGE_NUMBER_FORMS[kind]))})
        other = self.gen(shape, depth - 1, scope)
        return node if other is None else mk(rng.choice(["mul", "add"]), node, other)

    def join(self, shape, depth, scope):
        """np.stack, np.concatenate or np.array of parts making up an array of ``shape``."""
        rng, shape = self.rng, tuple(shape)
        if not shape:
            return None
        op = rng.choice(["stack", "concatenate", "hstack", "vstack"])
        if op == "vstack" and len(shape) < 2:
            return None
        axis = {"hstack": 0 if len(shape) == 1 else 1, "vstack": 0}.get(op, rng.randrange(len(shape)))
        if op in ("hstack", "vstack"):  # parts cut along the axis the rank picks; a row of a matrix as a vector
            if shape[axis] < 2:
                return None
            cut = rng.randint(1, shape[axis] - 1)
            parts = [shape[:axis] + (n,) + shape[axis + 1:] for n in (cut, shape[axis] - cut)]
            if op == "vstack" and len(shape) == 2:
                parts = [p[1:] if p[0] == 1 and rng.random() < 0.6 else p for p in parts]
        elif op == "stack":
            if shape[axis] > 4:
                return None
            parts = [shape[:axis] + shape[axis + 1:]] * shape[axis]
        else:
            if shape[axis] < 2:
                return None
            cut = rng.randint(1, shape[axis] - 1)
            parts = [shape[:axis] + (n,) + shape[axis + 1:] for n in (cut, shape[axis] - cut)]
        if not all(scope.allowed(p) for p in parts):
            return None
        nodes = []
        for part in parts:  # sometimes the same part again
            node = nodes[-1] if nodes and nodes[-1].shape == part and rng.random() < 0.2 else self.gen(part, depth - 1, scope)
            if node is None or op in ("hstack", "vstack") and node.shape != part:
                return None
            nodes.append(node)
        if not any(_reads_input(n) for n in nodes):
            return None
        spell = {"form": rng.randrange(len(JOIN_FORMS[op])), "array": op == "stack" and axis == 0 and rng.random() < 0.3}
        if op in ("hstack", "vstack"):
            return mk(op, *nodes, static=(op,), spell=spell)
        if rng.random() < 0.3:
            axis -= len(shape)  # from the end of the result (a stack's has one more axis than its parts)
        return mk(op, *nodes, static=(axis,), spell=spell)

    def contraction(self, shape, depth, scope):
        """np.einsum, np.tensordot, np.inner or np.kron of operands making up ``shape``."""
        builder = self.rng.choices([self.einsum, self.tensordot, self.inner, self.kron], [10, 4, 2, 2])[0]
        return builder(shape, depth, scope)

    def _contraction_operands(self, shapes, depth, scope):
        """Operands of these shapes, each reading an input (a Python number is no tensor to
        torch.einsum); sometimes one twice (np.einsum('ij,ij->', x, x))."""
        if any(len(s) > 4 or math.prod(s) > 48 or not scope.allowed(s) for s in shapes):
            return None
        nodes = []
        for s in shapes:  # shallower where there are several (each of its own shape reads new inputs)
            same = [n for n in nodes if n.shape == s]
            node = (same[0] if same and self.rng.random() < 0.25
                    else self.gen(s, depth - (1 if len(shapes) == 1 else 2), scope))
            if node is None or node.shape != s or not _reads_input(node):
                return None
            nodes.append(node)
        return nodes

    def einsum(self, shape, depth, scope):
        """np.einsum of one to three operands: output letters (kept by one operand, or by
        several: batch letters), letters summed out (of one operand, or several), a letter
        repeated in one operand (a diagonal; a trace where it is summed), a letter of size 1 in
        one operand stretched to another's size, an ellipsis standing for some of the output's
        axes (each operand's own part of it, broadcast), an implicit output."""
        rng, shape = self.rng, tuple(shape)
        count = rng.choices([1, 2, 3], [3, 5, 2])[0]
        implicit = rng.random() < 0.3
        dots = rng.randint(min(1, len(shape)), len(shape)) if rng.random() < (0.4 if shape else 0.1) else None
        at = 0 if dots is None or implicit else rng.randint(0, len(shape) - dots)  # where the ellipsis is
        n_dots = dots or 0
        named, ell_shape = shape[:at] + shape[at + n_dots:], shape[at:at + n_dots]
        summed_sizes = [rng.choice([2, 3, 3, 4, 1]) for _ in range(rng.choice([0, 1, 1, 2]))]
        pool = string.ascii_lowercase + ("ABIJKN" if rng.random() < 0.15 else "")
        letters = rng.sample(pool, len(named) + len(summed_sizes))
        kept, summed = letters[:len(named)], letters[len(named):]
        if implicit:  # NumPy's implicit output: the letters used once, in alphabetical order
            kept.sort()
        sizes = dict(zip(kept, named)) | dict(zip(summed, summed_sizes))
        terms = [[] for _ in range(count)]  # each operand's letters, a repeated one twice
        for letter in kept + summed:
            is_kept = letter in kept
            if implicit and is_kept:
                where = [rng.randrange(count)]
            elif count > 1 and rng.random() < (0.4 if is_kept else 0.65):
                where = rng.sample(range(count), rng.randint(2, count))
            else:
                where = [rng.randrange(count)]
            if (implicit and not is_kept and len(where) == 1
                    or not (implicit and is_kept) and sizes[letter] > 1 and rng.random() < 0.2):
                where.append(where[0])  # a diagonal (a trace where the letter is summed)
            for o in where:
                terms[o].append(letter)
        stretched = set()  # (operand, letter): a size 1 where the letter's size is larger
        for letter in kept + summed:
            once = [o for o in range(count) if terms[o].count(letter) == 1]
            holders = {o for o in range(count) if letter in terms[o]}
            if sizes[letter] > 1 and len(holders) > 1 and once and rng.random() < 0.35:
                stretched.add((rng.choice(once), letter))
        ell = [None] * count  # each operand's part of the ellipsis (right-aligned), or None
        if dots is not None:
            carriers = [o for o in range(count) if rng.random() < 0.8] or [rng.randrange(count)]
            for o in carriers:
                r = rng.randint(0, n_dots) if rng.random() < 0.5 else n_dots
                ell[o] = [1 if n > 1 and rng.random() < 0.3 else n for n in ell_shape[n_dots - r:]]
            for j, n in enumerate(ell_shape):  # each size of the ellipsis is some operand's
                if n == 1 or any(e is not None and len(e) >= n_dots - j and e[j - n_dots] == n for e in ell):
                    continue
                e = ell[rng.choice(carriers)]
                e[:0] = ell_shape[j:max(j, n_dots - len(e))]
                e[j - n_dots] = n
        texts, shapes = [], []
        for o in range(count):
            order = terms[o][:]
            rng.shuffle(order)
            dims = [1 if (o, letter) in stretched else sizes[letter] for letter in order]
            text = "".join(order)
            if ell[o] is not None:
                k = 0 if rng.random() < 0.5 else rng.randint(0, len(order))
                text = text[:k] + "..." + text[k:]
                dims[k:k] = ell[o]
            texts.append(text)
            shapes.append(tuple(dims))
        output = "".join(kept[:at]) + ("..." if dots is not None else "") + "".join(kept[at:])
        space = math.prod(sizes.values()) * math.prod(ell_shape)
        if space > 400:
            return None
        subscripts = ",".join(texts) + "->" + output
        used = "".join(texts).replace("...", "")
        implied = ("..." if dots is not None else "") + "".join(sorted(c for c in set(used) if used.count(c) == 1))
        text = ",".join(texts) if implied == output and (implicit or rng.random() < 0.2) else subscripts
        if rng.random() < 0.1:
            text = text.replace(",", " , ").replace("->", " -> ")
        nodes = self._contraction_operands(shapes, depth, scope)
        if nodes is None:
            return None
        spell = {"form": rng.randrange(len(EINSUM_FORMS)), "text": text}
        return mk("einsum", *nodes, static=(subscripts,), spell=spell)

    def tensordot(self, shape, depth, scope):
        """np.tensordot(a, b, axes): a's last axes against b's first (a count), or the axes listed
        (a pair of lists, in any order, negative ones counted from the end)."""
        rng, shape = self.rng, tuple(shape)
        cut = rng.randint(0, len(shape))
        kept_a, kept_b = shape[:cut], shape[cut:]
        pairs = rng.random() < 0.5
        summed = [rng.choice([2, 3, 3, 4, 1]) for _ in range(rng.choice([1, 1, 2] if pairs else [0, 1, 1, 2, 2]))]
        if pairs:
            shapes, axes = [], []
            for kept in (kept_a, kept_b):
                rank = len(kept) + len(summed)
                at = rng.sample(range(rank), len(summed))  # where each summed axis is, in pairing order
                rest = iter(kept)
                shapes.append(tuple(summed[at.index(i)] if i in at else next(rest) for i in range(rank)))
                axes.append(tuple(i - rank if rng.random() < 0.3 else i for i in at))
            static, forms = (tuple(axes),), TENSORDOT_FORMS["pairs"]
        else:
            shapes = [kept_a + tuple(summed), tuple(summed) + kept_b]
            static, forms = (len(summed),), TENSORDOT_FORMS["int"][:None if len(summed) == 2 else -1]
        nodes = self._contraction_operands(shapes, depth, scope)
        if nodes is None:
            return None
        form = rng.randrange(len(forms))
        spell = {"form": form, "bare": pairs and "torch" not in forms[form] and rng.random() < 0.4}
        return mk("tensordot", *nodes, static=static, spell=spell)

    def inner(self, shape, depth, scope):
        """np.inner(a, b): a's last axis against b's (a product where one is a single number)."""
        rng, shape = self.rng, tuple(shape)
        if rng.random() < 0.1:
            shapes = [(), shape] if rng.random() < 0.5 else [shape, ()]
        else:
            cut, k = rng.randint(0, len(shape)), rng.choice([2, 3, 3, 4, 1])
            shapes = [shape[:cut] + (k,), shape[cut:] + (k,)]
        nodes = self._contraction_operands(shapes, depth, scope)
        if nodes is None:
            return None
        return mk("inner", *nodes, spell={"form": rng.randrange(len(INNER_FORMS))})

    def kron(self, shape, depth, scope):
        """np.kron(a, b): each size of the result a product of a's and b's (the operand of fewer
        axes padded with leading 1s)."""
        rng, shape = self.rng, tuple(shape)
        short = rng.randint(0, len(shape) - 1) if shape and rng.random() < 0.4 else len(shape)  # the shorter's rank
        a, b = [], []
        for i, n in enumerate(shape):
            if i < len(shape) - short:
                p, q = n, None  # only the longer operand has this axis
            else:
                p = rng.choice([d for d in range(1, n + 1) if n % d == 0])
                q = n // p
            a.append(p)
            if q is not None:
                b.append(q)
        shapes = [tuple(a), tuple(b)] if rng.random() < 0.5 else [tuple(b), tuple(a)]
        nodes = self._contraction_operands(shapes, depth, scope)
        if nodes is None:
            return None
        return mk("kron", *nodes, static=(), spell={"form": rng.randrange(len(KRON_FORMS))})

    def take_along(self, shape, depth, scope):
        """np.take_along_axis(x, t, axis) or torch.gather(x, dim, t) of a new input t of
        integer positions (of x's rank, or one axis less and unsqueezed: x.gather(1, t[:, None]))."""
        rng, shape = self.rng, tuple(shape)
        if not shape:
            return None
        leading = rng.random() < 0.5
        # one position per row, moved into a column (t[:, None], t.unsqueeze(1)), where the result is one
        rows = len(shape) == 2 and shape[1] == 1 and rng.random() < 0.7
        axis = 1 if rows else rng.randrange(len(shape))
        n = rng.randint(1, 4)
        # NumPy broadcasts an axis of size 1 of either against the other's; PyTorch's reads the
        # leading part of x's larger axes
        src = tuple(n if d == axis else (k + rng.randint(0, 1) if leading else k) for d, k in enumerate(shape))
        if not scope.allowed(src):
            return None
        x = self.gen(src, depth - 1, scope)
        if x is None or _constant(x) or not _reads_input(x):
            return None
        if rows:  # one position per row, moved into a column: t[:, None], t.unsqueeze(1)
            t = self._positions_input(shape[:1], n, low=0 if leading else -n)
            t = mk("expand_dims", t, static=(1,), spell={"form": rng.choice(["np", "method", "torch"])})
        else:
            t = self._positions_input(shape, n, low=0 if leading else -n)
        axis = axis - len(shape) if rng.random() < 0.3 else axis
        return mk("take_along_axis", x, t, static=(axis, leading), spell={"form": rng.randrange(4)})

    def _positions_input(self, shape, n, low=None):
        """A new input of integer positions along an axis of n elements (not a number in scope)."""
        taken = {s.name for s in self.inputs}
        names = [name for name in POSITION_NAMES if name not in taken]
        if not names:
            raise _Retry()
        self.inputs.append(InputSpec(names[0], tuple(shape), "positions", n, -n if low is None else low))
        return var(names[0], shape, -n if low is None else low, n - 1)

    def _layout_sources(self, op, shape):
        """Shapes an operand of ``op`` may have for a result of ``shape``."""
        rng = self.rng
        at = rng.randrange(len(shape) + 1)
        if op == "getitem":  # an axis read by an integer, or longer than the slice or list read
            grown = [shape[:i] + (shape[i] + rng.randint(0, 3),) + shape[i + 1:] for i in range(len(shape))]
            fewer = [shape[:i] + shape[i + 1:] for i, n in enumerate(shape) if n == 1]  # x[:, None]
            return [shape[:at] + (rng.randint(2, 3),) + shape[at:], *grown, *fewer, *fewer, shape]
        if op == "reshape":
            return [s for s in SHAPES if math.prod(s) == math.prod(shape) and s != shape] or [shape[::-1]]
        if op == "flatten":
            split = [shape[:i] + (a, n // a) + shape[i + 1:] for i, n in enumerate(shape) for a in (1, 2, 3)
                     if n % a == 0]
            return split or [shape]
        if op == "roll":
            return [shape]
        if op == "diagonal":  # two axes the diagonal runs along (the first offset up to 1), the rest kept
            if not shape:
                return []
            n = shape[-1]
            return [shape[:-1] + (n, n), shape[:-1] + (n, n + 1), (n + 1, n) + shape[:-1]]
        if op in ("cumsum", "cumprod"):  # along an axis, or of the flattened operand for a vector
            return [shape] + ([s for s in SHAPES if math.prod(s) == shape[0]] if len(shape) == 1 else [])
        if op == "diag":  # a vector onto a diagonal of a square matrix, or a matrix's diagonal
            if len(shape) == 2 and shape[0] == shape[1]:
                return [(shape[0] - k,) for k in (0, 1, 2) if shape[0] - k >= 1]
            if len(shape) == 1:
                n = shape[0]
                return [(n, n), (n, n + 1), (n + 1, n)]
            return []
        if op == "split_part":  # one axis longer (the other parts'), or the whole array as its one part
            return [shape] + [shape[:i] + (n + rng.randint(1, 4),) + shape[i + 1:] for i, n in enumerate(shape)]
        if op in ("tril", "triu"):  # of a matrix (of matrices), or NumPy's of a vector: a matrix
            return ([shape] if len(shape) >= 2 else []) + ([shape[1:]] if len(shape) == 2 and shape[0] == shape[1] else [])
        if op == "tile":  # axes that are whole multiples of the operand's, maybe one more in front
            cut = [shape[:i] + (n // k,) + shape[i + 1:] for i, n in enumerate(shape) for k in (2, 3) if n % k == 0]
            return [shape, *cut] + ([shape[1:]] if shape else [])
        if op == "repeat":  # an axis of whole multiples, or the flattened operand's
            cut = [shape[:i] + (n // k,) + shape[i + 1:] for i, n in enumerate(shape) for k in (2, 3) if n % k == 0]
            flat = [s for s in SHAPES if len(shape) == 1 and s and shape[0] % math.prod(s) == 0
                    and shape[0] // math.prod(s) in (1, 2, 3)]
            return cut + flat
        if op == "pad":  # each axis up to two shorter (and not empty)
            return [tuple(max(1, n - rng.randint(0, 2)) for n in shape) for _ in range(2)] if shape else []
        if op == "rot90":  # two axes exchanged (an odd k), or not
            return [shape, shape[::-1] if len(shape) == 2 else shape[1::-1] + shape[2:]] if len(shape) >= 2 else []
        if op == "sort":  # sorted along an axis, or its largest (or smallest) k: longer there
            return [shape] + [shape[:i] + (n + rng.randint(1, 2),) + shape[i + 1:] for i, n in enumerate(shape)]
        if op == "broadcast_to":  # fewer leading axes, or axes of size 1
            return [shape[k:] for k in range(1, len(shape) + 1)] + [
                shape[:i] + (1,) + shape[i + 1:] for i, n in enumerate(shape) if n != 1]
        if op == "squeeze":
            return [shape[:at] + (1,) + shape[at:]]
        if op == "expand_dims":
            return [shape[:i] + shape[i + 1:] for i, n in enumerate(shape) if n == 1]
        order = list(range(len(shape)))
        rng.shuffle(order)
        return [tuple(shape[i] for i in order), shape]

    def _layout_static(self, op, src, shape):
        """Random static arguments of ``op`` for an operand of shape ``src`` (None: none fit)."""
        rng, ndim = self.rng, len(src)
        if op == "reshape":
            if math.prod(src) != math.prod(shape) or src == tuple(shape):
                return None
            sizes = list(shape)
            if sizes and rng.random() < 0.5:
                sizes[rng.randrange(len(sizes))] = -1
            # a size read off the operand, x.reshape(x.shape[0], -1): ("dim", axis, None)
            same = [(i, a) for i, n in enumerate(sizes) for a, m in enumerate(src) if n == m]
            if same and rng.random() < 0.5:
                i, a = rng.choice(same)
                sizes[i] = ("dim", a - len(src) if rng.random() < 0.3 else a, None)
            return (tuple(sizes),)
        if op == "diagonal":  # the two axes added last or first, as _layout_sources made them
            n, rest = shape[-1], len(shape) - 1
            if src[:rest] == tuple(shape[:-1]):
                axes = [rest, rest + 1]
                offset = 0 if src[-1] == n or rng.random() < 0.5 else 1
            else:
                axes = [0, 1]
                offset = 0 if rng.random() < 0.5 else -1
            if rng.random() < 0.5:
                axes.reverse()
                offset = -offset
            return (offset, *(a - ndim if rng.random() < 0.3 else a for a in axes))
        if op == "roll":
            shift = rng.choice([rng.randint(-4, 4), tuple(rng.randint(-3, 3) for _ in range(min(ndim, 2)) or [1])])
            if isinstance(shift, tuple) and ndim:
                axis = tuple(rng.sample(range(-ndim, ndim), len(shift))) if len(shift) <= ndim else None
                axis = axis if axis is not None and len({a % ndim for a in axis}) == len(axis) else None
                return (shift if axis is not None else shift[0], axis)
            return (shift if not isinstance(shift, tuple) else shift[0], rng.choice([None] + list(range(-ndim, ndim))))
        if op in ("cumsum", "cumprod"):
            if tuple(src) != tuple(shape) or not ndim:
                return (None,)
            return (rng.randrange(-ndim, ndim),)
        if op == "diag":
            if ndim == 1:
                k = len(shape) == 2 and shape[0] - src[0]
                return (k if rng.random() < 0.5 else -k,) if len(shape) == 2 else None
            if ndim == 2 and len(shape) == 1:
                return (src[1] - src[0] if src[1] >= src[0] else -(src[0] - src[1]),)
            return None
        if op == "split_part":
            return self._split_static(src, shape)
        if op in ("tril", "triu"):
            return (rng.randint(-2, 2),) if ndim else None
        if op == "tile":  # reps counted from the last axis; a leading 1 left out at times
            lead = len(shape) - ndim
            if lead < 0 or any(n % m if m else n for n, m in zip(shape[lead:], src)):
                return None
            reps = tuple(shape[:lead]) + tuple(n // m if m else 1 for n, m in zip(shape[lead:], src))
            while len(reps) > 1 and reps[0] == 1 and len(reps) > ndim - rng.randint(0, 1):
                reps = reps[1:]
            return (reps,)
        if op == "repeat":
            if len(shape) == 1 and (ndim != 1 or rng.random() < 0.3) and math.prod(src) \
                    and shape[0] % math.prod(src) == 0:
                return (shape[0] // math.prod(src), None)
            if ndim != len(shape):
                return None
            differ = [i for i, (n, m) in enumerate(zip(shape, src)) if n != m]
            axis = differ[0] if differ else rng.randrange(ndim) if ndim else None
            if axis is None or (src[axis] and shape[axis] % src[axis]) or not src[axis]:
                return None
            return (shape[axis] // src[axis], axis - ndim if rng.random() < 0.3 else axis)
        if op == "pad":
            if len(src) != len(shape) or any(n < m for n, m in zip(shape, src)):
                return None
            pairs = []
            for n, m in zip(shape, src):
                before = rng.randint(0, n - m)
                pairs.append((before, n - m - before))
            value = rng.choice([0.0, 0.0, 1.5, -0.5])
            if rng.random() < 0.4 and all(p == (0, 0) for p in pairs[:-2]):  # PyTorch's pairs from the last axis
                tail = pairs[-2:] if len(pairs) >= 2 and pairs[-2] != (0, 0) else pairs[-1:]
                return (tuple(w for pair in tail[::-1] for w in pair), value, True)
            if len(set(pairs)) == 1:
                before, after = pairs[0]
                return (before if before == after and rng.random() < 0.5 else (before, after), value, False)
            return (tuple(pairs), value, False)
        if op == "rot90":
            odd = tuple(src) != tuple(shape) or (ndim >= 2 and src[0] == src[1] and rng.random() < 0.5)
            k = rng.choice([1, 3, -1, 5]) if odd else rng.choice([0, 2, -2, 4])
            axes = (0, 1) if rng.random() < 0.6 else (1, 0) if rng.random() < 0.5 else (-ndim, 1 - ndim)
            return (k, axes) if ndim >= 2 else None
        if op == "sort":  # (axis, descending, k): k for the one axis longer than the result's
            if not ndim or len(src) != len(shape):
                return None
            longer = [i for i, (n, m) in enumerate(zip(src, shape)) if n != m]
            if len(longer) > 1:
                return None
            axis = longer[0] if longer else rng.randrange(ndim)
            axis = axis - ndim if rng.random() < 0.4 else axis
            return (axis, rng.random() < 0.5 if not longer else rng.random() < 0.7, shape[longer[0]] if longer else None)
        if op == "broadcast_to":  # the result's shape; where x has the size already, maybe kept (-1)
            lead = len(shape) - ndim
            return (tuple(("dim", i - len(shape), None) if i >= lead and src[i - lead] == n and rng.random() < 0.4
                          else n for i, n in enumerate(shape)),)
        if op == "flatten":
            if ndim == 0:
                return (0, -1)
            start = rng.randrange(ndim)
            return (start, rng.choice([-1, rng.randrange(start, ndim)]))
        if op == "squeeze":
            ones = [i for i, n in enumerate(src) if n == 1]
            if not ones:
                return None
            return (rng.choice([None, rng.choice(ones), rng.choice(ones) - ndim]),)
        if op == "expand_dims":
            return (rng.randrange(-ndim - 1, ndim + 1),)
        if ndim == 0:
            return (None,) if op == "flip" else None
        if op == "permute":
            order = list(range(ndim))
            rng.shuffle(order)
            return (tuple(order),)
        if op == "swapaxes":
            return (rng.randrange(-ndim, ndim), rng.randrange(-ndim, ndim))
        if op == "moveaxis":
            return (rng.randrange(-ndim, ndim), rng.randrange(-ndim, ndim))
        if ndim >= 2 and rng.random() < 0.5:  # the axes np.flipud and np.fliplr flip
            return (rng.choice([0, 1]),)
        return (rng.choice([None, rng.randrange(-ndim, ndim)]),)  # flip

    def _index(self, src, shape):
        """A random index of an array of shape ``src`` aiming at a result of ``shape``:
        integers (negative too), slices with steps (negative too), a list of positions
        (repeating), None and an ellipsis."""
        rng = self.rng
        items, want = [], list(shape)
        axes = list(src)
        if axes and rng.random() < 0.2:  # an ellipsis for the leading axes, read whole
            keep = rng.randrange(len(axes) + 1)
            lead = len(axes) - keep
            items.append(Ellipsis)
            axes, want = axes[lead:], want[lead:] if len(want) >= lead else []
        for k, n in enumerate(axes):
            if want and want[0] == 1 and (len(want) > len(axes) - k or n != 1 and rng.random() < 0.5):
                items.append(None)  # a new axis where the result has one of size 1
                want.pop(0)
            m = want[0] if want else None
            roll = rng.random()
            if n and (m is None or len(want) < len(axes) - len([i for i in items if i not in (None, Ellipsis)]))\
                    and roll < 0.5:
                items.append(rng.randrange(-n, n))  # the axis is read away
                continue
            if m is not None and n and roll < 0.7 and not any(isinstance(i, tuple) and i[0] == "take" for i in items):
                items.append(("take", tuple(rng.randrange(-n, n) for _ in range(m))))
            else:
                items.append(self._slice(n, m))
            if want:
                want.pop(0)
        if want and all(n == 1 for n in want):  # new axes at the end: x[:, None] of (2, 1) from (2,)
            items += [None] * len(want)
        return tuple(items) if items else (("slice", None, None, None),)

    def _slice(self, n, m):
        """A slice of n elements that reads m of them (any slice where m is None)."""
        rng = self.rng
        options = [(start, stop, step) for step in (None, 1, 2, -1, -2) for start in (None, 0, 1, -1, -2)
                   for stop in (None, n, 1, -1, 2)]
        fits = [o for o in options if m is None or len(range(n)[slice(*o)]) == m]
        return ("slice", *rng.choice(fits or [(None, None, None)]))

    def _split_static(self, src, shape):
        """(kind, arg, i, axis) of a split of an operand of shape ``src`` whose part i has ``shape``."""
        rng, ndim = self.rng, len(src)
        if not ndim or len(shape) != ndim:
            return None
        longer = [a for a in range(ndim) if src[a] != shape[a]]
        axis = longer[0] if longer else rng.randrange(ndim)
        n, m = src[axis], shape[axis]
        if any(src[a] != shape[a] for a in range(ndim) if a != axis) or m > n:
            return None
        options = []
        start = rng.randint(0, n - m)  # indices or sizes cutting out [start, start + m)
        cuts = tuple(c for c in (start, start + m) if 0 < c < n)
        options.append(("split", cuts, int(start > 0 and start < n)) if cuts else ("split", 1, 0))
        sizes = tuple(k for k in (start, m, n - start - m) if k)
        if m:
            options.append(("sizes", sizes, int(start > 0)))
        if m and n % m == 0:
            options.append(("split", n // m, rng.randrange(n // m)))
        for k in range(1, n + 1):  # sections of np.array_split, chunks of torch.chunk with a part of m
            sections = [len(p) for p in np.array_split(np.arange(n), k)]
            options += [("array_split", k, i) for i, p in enumerate(sections) if p == m][:1]
            step = -(-n // k)
            chunks = [min(step, n - j) for j in range(0, n, step)]
            options += [("chunk", k, i) for i, p in enumerate(chunks) if p == m and len(chunks) == k][:1]
        if not options:
            return None
        kind, arg, i = rng.choice(options)
        return (kind, arg, i, axis - ndim if rng.random() < 0.3 else axis)

    def _layout_spelling(self, op, src, static):
        rng = self.rng
        spell = {"form": rng.choice(["np", "method", "torch", "method-tuple"])}
        if op == "getitem":
            spell["newaxis"] = rng.choice(["None", "np.newaxis"])
            items = static[0]
            if (items and isinstance(items[-1], int) and all(i == ("slice", None, None, None) for i in items[:-1])
                    and rng.random() < 0.6):
                spell["unbind"] = rng.choice(["method", "torch"])
        elif op == "reshape" and spell["form"] in ("method", "torch"):
            spell["name"] = rng.choice(["reshape", "view"])
            spell["prefix"] = "torch."
        elif op == "permute" and spell["form"] == "method" and len(src) != 2:
            spell["name"] = rng.choice(["permute", "transpose"])
        elif op == "flip" and static[0] is not None and len(src) >= 2 and static[0] % len(src) in (0, 1) \
                and rng.random() < 0.8:
            spell["fixed"] = ("flipud", "fliplr")[static[0] % len(src)]
        elif op == "pad" and static[2]:
            spell["prefix"] = rng.choice(["F.", "torch.nn.functional."])
        elif op == "sort":
            axis, descending, k = static
            forms = [i for i, f in enumerate(SORT_FORMS) if ("{k}" in f) == (k is not None)
                     and ("{d}" in f or "topk" in f or not descending) and ("msort" not in f or axis % len(src) == 0)]
            msort = [i for i in forms if "msort" in SORT_FORMS[i]]  # along axis 0 only: taken when it fits
            numpy = [i for i in forms if SORT_FORMS[i].startswith("np.")]  # NumPy's two, where they fit
            spell["sort"] = rng.choice(msort if msort and rng.random() < 0.6
                                       else numpy if numpy and rng.random() < 0.4 else forms)
        elif op == "swapaxes":
            if tuple(a % len(src) for a in static) == (len(src) - 2, len(src) - 1) and rng.random() < 0.5:
                spell["form"] = "mT"
            elif spell["form"] == "method":
                spell["name"] = rng.choice(["swapaxes", "transpose", "swapdims"])
        return spell

    def softmax(self, shape, depth, scope):
        """exp(u) / sum(exp(u)), over everything or the last axis."""
        if shape == ():
            return None
        u = self.gen(shape, depth - 1, scope)
        if u is None:
            return None
        if not scope.guarded and u.hi > 30:
            u = mk("tanh", u)
        e = mk("exp", u, spell=self._spelling("exp"))
        if len(shape) >= 1 and self.rng.random() < 0.5:
            total = mk("sum", e, axis=-1, keepdims=True, spell=self._reduction_spelling("sum"))
        else:
            total = mk("sum", e, axis=None, keepdims=False, spell=self._reduction_spelling("sum"))
        return mk("div", e, total)

    def call(self, shape, depth, scope):
        """A helper def, with a constant default, called (perhaps by keyword) here."""
        rng = self.rng
        a = self.gen(shape, depth - 1, scope)
        if a is None:
            return None
        params, args = ["a"], [a]
        if rng.random() < 0.5:
            b_shape = rng.choice(_sub_shapes(shape) if scope.shapes is None else [s for s in scope.shapes
                                                                                   if _broadcasts(s, shape)])
            b = self.gen(b_shape, depth - 2, scope)
            if b is not None:
                params.append("b")
                args.append(b)
        default = const(*rng.choice([(2.0, "2.0"), (0.5, "0.5"), (1, "1"), (3.0, "3.0")]))
        params.append("scale")
        defaults = {"scale": default}
        passed = None
        if rng.random() < 0.5:
            passed = const(*rng.choice([(1.5, "1.5"), (-1.0, "-1.0"), (0.25, "0.25")]))
            args.append(passed)
        mode = rng.choice(["positional", "trailing", "trailing", "all"])
        passed_params = [p for p in params if p != "scale" or passed is not None]
        keywords = [None if mode == "positional" or (mode == "trailing" and i == 0) else p
                    for i, p in enumerate(passed_params)]
        shapes = {"a": a.shape, "b": args[1].shape if "b" in params else None}
        scale = passed or default
        inner_vars = [("a", a.shape, a.lo, a.hi), ("scale", (), scale.attrs["value"], scale.attrs["value"])]
        if "b" in params:
            inner_vars.append(("b", shapes["b"], args[1].lo, args[1].hi))
        inner_shapes = {a.shape, ()} | ({shapes["b"]} if shapes["b"] else set())
        inner = Scope(inner_vars, create=False, shapes=tuple(inner_shapes), elementwise=True)
        body = []
        if rng.random() < 0.3:
            t = self.gen(shape, depth - 2, inner)
            if t is not None:
                body.append(Stmt("t", t))
                inner.vars.append(("t", t.shape, t.lo, t.hi))
        ret = self.gen(shape, depth - 1, inner)
        if ret is None or ret.shape != shape:
            return None
        helper = Helper(f"h{len(self.helpers)}", params, defaults, body, ret)
        self.helpers.append(helper)
        return mk("call", *args, helper=helper, keywords=tuple(keywords), shape=shape, lo=ret.lo, hi=ret.hi)


class _Retry(Exception):
    pass


def _inside(node, domain) -> bool:
    lo, hi = domain
    return node.lo >= lo and node.hi <= hi


def _reads(node, name: str) -> bool:
    """Whether the expression reads the variable ``name``."""
    return _contains(node, {"var"}, lambda n: n.attrs["name"] == name)


def _constant(node) -> bool:
    """Whether the node is one number whatever the inputs (a constant, a name bound to one)."""
    return node.lo == node.hi


def _moderate(node) -> bool:
    return max(abs(node.lo), abs(node.hi)) <= MAGNITUDE


def _bounded(x):
    return x if max(abs(x.lo), abs(x.hi)) <= 10 else mk("tanh", x)


# ---- walking and features ------------------------------------------------------------------------

def walk(program: Program, live: bool = False):
    """Every node of the program once (helpers' bodies included), parents before children;
    ``live``: not the branch of a conditional expression its condition never selects."""
    seen, out = set(), []
    roots = [s.expr for s in program.body] + [program.ret]
    for helper in program.helpers:
        roots += [s.expr for s in helper.body] + [helper.ret]
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        out.append(node)
        stack.extend(reversed(node.children()[:1] if live and node.op == "ifexp" else node.children()))
    return out


_CALLED = ("clamp", "where", "dot", "matmul", "transpose", "pow")  # ops spelled as calls (features)


def _contains(node, ops, where=lambda n: True) -> bool:
    """Whether the expression has a node of one of ``ops`` (that ``where`` says True of)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.op in ops and where(n):
            return True
        stack.extend(n.children())
    return False


def _inputs_read(node) -> set:
    """The names of the inputs a value reads, through their shapes too."""
    names, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n.op == "var":
            names.add(n.attrs["name"])
        stack.extend(c for c in n.children() if c is not None)
    return names


def _reads_input(node) -> bool:
    """Whether a value reads an input other than through its shape: otherwise it is a Python
    number (len(x) + 1), which has no methods, no .T and cannot be indexed."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.op == "var":
            return True
        if n.op != "size":
            stack.extend(c for c in n.children() if c is not None)
    return False


def _contraction_features(node) -> set:
    """The features of an einsum, a tensordot, an inner or a kron."""
    op, spell = node.op, node.attrs.get("spell", {})
    found = set()
    if op in ("inner", "kron"):
        found.add(f"{op}:" + (INNER_FORMS if op == "inner" else KRON_FORMS)[spell.get("form", 0)])
        if len({len(x.shape) for x in node.args}) > 1:
            found.add(f"{op}:ranks")
        return found
    if op == "tensordot":
        (axes,) = node.attrs["static"]
        kind = "int" if isinstance(axes, int) else "pairs"
        form = TENSORDOT_FORMS[kind][spell.get("form", 0)]
        found.add(f"tensordot:{kind}")
        if "dims=" in form:
            found.add("tensordot:dims")
        if kind == "int" and "{n}" not in form:
            found.add("tensordot:default")
        if kind == "int" and axes == 0:
            found.add("tensordot:outer")
        if kind == "pairs" and any(i < 0 for side in axes for i in side):
            found.add("tensordot:negative")
        if kind == "pairs" and len(axes[0]) > 1:
            found.add("tensordot:several-pairs")
        return found
    inputs, output = node.attrs["static"][0].split("->")
    terms = inputs.split(",")
    letters = [t.replace("...", "") for t in terms]
    found.add(f"einsum:operands-{len(terms)}")
    if "->" not in spell.get("text", "->"):
        found.add("einsum:implicit")
    if "..." in output:
        found.add("einsum:ellipsis")
        parts = {x.shape[t.index("..."):len(x.shape) - len(t) + t.index("...") + 3]
                 for t, x in zip(terms, node.args) if "..." in t}  # what each operand's ellipsis stands for
        if len(parts) > 1:
            found.add("einsum:ellipsis-broadcast")
    for term in letters:
        for c in set(term):
            if term.count(c) > 1:
                found.add("einsum:diagonal" if c in output else "einsum:trace")
    for c in set("".join(letters)):
        holders = sum(c in t for t in letters)
        if c not in output and holders == 1 and len(terms) > 1 and not any(t.count(c) > 1 for t in letters):
            found.add("einsum:summed-alone")
        if c in output and holders > 1:
            found.add("einsum:batch")
    sizes: dict = {}
    for term, x in zip(terms, node.args):
        before, _, after = term.partition("...")
        pairs = list(zip(before, x.shape)) + (list(zip(after, x.shape[len(x.shape) - len(after):])) if after else [])
        for c, n in pairs:
            sizes.setdefault(c, set()).add(n)
    if any(len(ns) > 1 for ns in sizes.values()):
        found.add("einsum:size-1")
    form = EINSUM_FORMS[spell.get("form", 0)]
    if "[{o}]" in form or "({o},)" in form:
        found.add("einsum:torch-list")
    return found


def features(program: Program) -> set:
    """The grammar features a program uses (for the coverage test)."""
    found = set()
    for node in walk(program):
        op, a, spell = node.op, node.args, node.attrs.get("spell", {})
        found.add(f"op:{op}")
        if op in ("amax", "amin") and "pair" in spell and isinstance(node.attrs.get("axis"), int):
            found.add("max-pair:" + PAIR_FORMS[spell["pair"]])
        if op in UFUNC_NAMES and spell.get("function"):
            found.add("ufunc-by-name")
        if op == "diff":
            found.add("diff:" + DIFF_FORMS[spell.get("form", 0)])
        if op == "sort":
            form = SORT_FORMS[spell["sort"]]
            found.add("sort:" + ("topk" if "topk" in form else "msort" if "msort" in form else "method" if "{r}" in form
                                 else "numpy" if form.startswith("np.") else "torch"))
            if node.attrs["static"][1]:
                found.add("sort:descending")
        if op == "number":
            found.add("condition-as-number:" + NUMBER_FORMS[spell.get("form", 0)].replace("{c}", "c"))
        if op == "reshape" and any(isinstance(s, tuple) for s in node.attrs["static"][0]):
            found.add("reshape-own-size")
        if op == "broadcast_to" and any(isinstance(s, tuple) for s in node.attrs["static"][0]):
            found.add("expand-keep")
        if op == "flip" and spell.get("fixed"):
            found.add("flip:" + spell["fixed"])
        if op == "gather_index":
            items = node.attrs["static"][0]
            found.add("gather:" + ("mask" if any(i[0] == "mask" for i in items if isinstance(i, tuple))
                                   else "rows" if any(i[0] == "arange" for i in items if isinstance(i, tuple))
                                   else "column" if len(items) > 1 else "input"))
        if op == "take_along_axis":
            found.add("take-along:" + ("torch" if node.attrs["static"][1] else "numpy"))
            if a[1].op == "expand_dims":
                found.add("take-along:moved-positions")
        if op == "stack" and spell.get("array"):
            found.add("join:np.array")
        if op in ("outer", "ones_like"):
            found.add(f"{op}:" + (OUTER_FORMS if op == "outer" else ONES_FORMS)[spell.get("form", 0)])
        if op == "arange":
            found.add(f"arange:{spell.get('kind', 'plain')}")
        if op in DIVISION_FORMS:
            form = DIVISION_FORMS[op][spell.get("form", 0)]
            found.add("division:" + ("operator" if form.startswith("{a} ") else "method" if "{r}" in form else "function"))
        if op in CONTRACTIONS:
            found.update(_contraction_features(node))
        if op == "size" and "form" in spell:
            found.add("size:" + spell["form"].replace("{x}", "x").replace("{axis}", "i"))
        if op == "mul" and any(c.op in ("add", "sub") for c in a):
            found.add("product-of-sums")
        if op == "neg":
            found.add("unary-minus")
        if op == "pow":
            if a[1].op == "const" and float(a[1].attrs["value"]).is_integer():
                found.add("pow-integer")
            elif a[0].op == "const":
                found.add("pow-constant-base")
            elif a[1].op == "const":
                found.add("pow-float-exponent")
            else:
                found.add("pow-tensor")
        if op == "div" and a[1].op in ("matmul", "dot"):
            found.add("division-by-matmul")
        if op == "div" and a[0].op == "exp" and a[1].op == "sum" and a[1].args[0] is a[0]:
            found.add("softmax")
        if op == "where":
            if a[0].op == "bool":
                found.add("constant-where")
                if a[1].shape != a[2].shape:
                    found.add("constant-where-broadcast")
            for branch in a[1:]:
                if branch.op == "where":
                    found.add("nested-where")
                if _contains(branch, set(REDUCTIONS)):
                    found.add("where-over-reduction")
                if _contains(branch, {"transpose"}):
                    found.add("where-over-transpose")
                if _contains(branch, {"matmul"}):
                    found.add("where-over-matmul")
            if a[0].op != "bool" and any(_contains(b, set(GUARDS)) for b in a[1:]):
                found.add("guarded-domain-op")
            if _guard_input(node) is not None:
                found.add("guard-input")
        if op in ("and", "or") and any(c.op == "bool" for c in a):
            found.add("folded-condition")
        if op in OPERATORS or op in BINARY_FUNCTIONS or op == "where":
            shapes = {c.shape for c in a if c is not None and c.op != "bool"}
            if len(shapes) > 1:
                found.add("broadcasting")
                if {(2, 1), (1, 3)} <= shapes or {(2, 1), (3,)} <= shapes:
                    found.add("broadcasting-outer")
        if op in REDUCTIONS:
            axis = node.attrs.get("axis")
            if axis is not None:
                found.add("reduction-axis")
                if isinstance(axis, tuple):
                    found.add("reduction-axis-tuple")
                elif axis < 0:
                    found.add("reduction-axis-negative")
            if node.attrs.get("keepdims"):
                found.add("reduction-keepdims")
            style = spell.get("style")
            if style == "torch" and axis is not None:
                found.add("keyword:dim")
            if style == "numpy" and axis is not None:
                found.add("keyword:axis")
            if style == "torch" and node.attrs.get("keepdims"):
                found.add("keyword:keepdim")
            if style == "numpy" and node.attrs.get("keepdims"):
                found.add("keyword:keepdims")
        if op == "clamp":
            bounds = a[1:]
            if any(b is None for b in bounds):
                found.add("clamp-none-bound")
            if any(b is not None and b.op == "const" for b in bounds):
                found.add("clamp-constant-bound")
            if any(b is not None and b.op != "const" for b in bounds):
                found.add("clamp-tensor-bound")
            both = [b for b in bounds if b is not None and b.op == "const"]
            if bounds[0] is bounds[1] or len(both) == 2 and both[0].attrs["value"] == both[1].attrs["value"]:
                found.add("clamp-equal-bounds")
        if op == "ifexp":
            found.add("conditional-expression")
        if op == "getitem":
            items = node.attrs["static"][0]
            kinds = {"int" if isinstance(i, int) else "newaxis" if i is None else "ellipsis" if i is Ellipsis
                     else i[0] for i in items}
            found.update(f"index-{k}" for k in kinds)
            if node.attrs.get("spell", {}).get("unbind"):
                found.add("unbind")
            if any(isinstance(i, tuple) and i[0] == "slice" and (i[3] or 1) < 0 for i in items):
                found.add("index-negative-step")
            if any(isinstance(i, tuple) and i[0] == "take" and len(set(i[1])) < len(i[1]) for i in items):
                found.add("index-repeated-positions")
        if op == "dot":
            found.add(f"dot-{min(3, max(len(c.shape) for c in a))}d")
        if op == "matmul":
            found.add("matmul-operator" if spell.get("operator") else "matmul-function")
            if any(len(c.shape) == 1 for c in a):
                found.add("matmul-vector")
            if any(len(c.shape) >= 3 for c in a):
                found.add("matmul-batch")
        if op == "call":
            found.add("helper")
            if len(node.args) < len(node.attrs["helper"].params):
                found.add("helper-default")
            if any(k is not None for k in node.attrs["keywords"]):
                found.add("helper-keyword")
        if op in SPECIAL_FUNCTIONS:
            found.add("special-function")
        if op == "distribution":
            found.add(f"distribution:{node.attrs['dist']}.{node.attrs['method']}")
        if op in UNARY or op in BINARY_FUNCTIONS or op in REDUCTIONS or op in _CALLED:
            if spell.get("method"):
                found.add("spelling:method")
            elif "prefix" in spell:
                found.add(f"spelling:{spell['prefix'] or 'bare'}")
            if op == "transpose" and spell.get("attribute", True):
                found.add("spelling:.T")
        if op == "const" and not re.match(r"^-?[0-9.e+-]+$", node.attrs["text"]):
            found.add("named-constant")
    if program.body:
        found.add("statements")
        if len(program.body) > 1:
            found.add("multi-statement")
        targets = [s.target for s in program.body]
        if len(set(targets)) < len(targets) and any(s.aug is None for s in program.body[1:]):
            found.add("reassignment")
        if any(s.aug for s in program.body):
            found.add("augmented-assignment")
        found.update({"loop": "for-loop", "if": "static-if", "pair": "tuple-assignment"}[s.form[0]]
                     for s in program.body if s.form)
        if any(s.assertion for s in program.body):
            found.add("assert")
    if program.constants:
        found.add("module-constant")
    if program.style == "def":
        found.add("def")
        if program.inputs and program.inputs[-1].name in program.defaults:
            found.add("entry-default")
        found.update(f"import:{line}" for line in program.imports)
    if all(s.shape == () for s in program.inputs):
        found.add("scalar-program")
    if program.family == "loss":
        found.add("blockable")
    return found


# ---- inputs -------------------------------------------------------------------------------------

SPECIAL_ANY = [0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 1e-8, -1e-8, 1.5]
SPECIAL_POS = [1.0, 0.5, 2.0, 0.25, 1.5]


def sample_inputs(program: Program, rng: np.random.Generator) -> dict:
    """Random float64 inputs (float32-representable values, so float32 runs share the exact
    reference): uniform in [-2, 2] (positive inputs in [0.25, 2]), sometimes with special points,
    ties between inputs, or scaled up; where() guard inputs are then set so that each guarded
    branch is selected only where it is valid."""
    values = {}
    large = rng.choice([30.0, 100.0]) if rng.random() < 0.08 else None
    for spec in program.inputs:
        if spec.kind == "positions":  # whole numbers, from the end of the axis too
            values[spec.name] = rng.integers(spec.low, spec.size, size=spec.shape).astype(np.float64)
            continue
        if spec.kind == "pos":
            v = rng.uniform(0.25, 2.0, size=spec.shape)
        else:
            v = rng.uniform(-2.0, 2.0, size=spec.shape)
        if rng.random() < 0.2:
            special = SPECIAL_POS if spec.kind == "pos" else SPECIAL_ANY
            mask = rng.random(size=spec.shape) < 0.4
            v = np.where(mask, rng.choice(special, size=spec.shape), v)
        if large and spec.kind != "guard":
            v = v * large
        values[spec.name] = np.asarray(v, dtype=np.float64)
    if rng.random() < 0.15 and len(values) > 1:  # ties: one input's values copied into another's
        names = [s.name for s in program.inputs if s.kind not in ("guard", "positions")]
        if len(names) > 1:
            a, b = rng.choice(names, size=2, replace=False)
            src, dst = values[a].reshape(-1), values[b].copy()
            flat = dst.reshape(-1)
            flat[: min(flat.size, src.size)] = src[: min(flat.size, src.size)]
            values[b] = dst
    values = {n: v.astype(np.float32).astype(np.float64) for n, v in values.items()}
    return repair_guards(program, values)


def repair_guards(program: Program, values: dict, rounds: int = 4) -> dict:
    """Set guard inputs (``c`` in ``where(c > 0, branch, alt)``) negative wherever the branch
    meets a floating-point exception in the naive evaluation, so the branch is selected only
    where it is valid."""
    guards = [n for n in walk(program) if n.op == "where" and _guard_input(n) is not None]
    if not guards:
        return values
    values = {n: np.array(v, dtype=np.float64) for n, v in values.items()}
    for _ in range(rounds):
        arith = R.Naive(np.float64, track=True)
        memo: dict = {}
        try:
            run(program, arith, {n: arith.input(v) for n, v in values.items()}, memo)
        except Exception:  # noqa: BLE001 - a program the shrinker made invalid: leave its inputs
            return values
        changed = False
        for node in guards:
            name = _guard_input(node)
            if id(node.args[1]) not in memo or name not in values:
                continue
            bad = np.broadcast_to(memo[id(node.args[1])].bad, np.shape(memo[id(node)].value))
            c = values[name]
            bad = _reduce_to(bad, c.shape)
            selected = bad & (c > 0)
            if selected.any():
                c[selected] = (-np.abs(c[selected]) - 0.25).astype(np.float32)  # float32 numbers, too
                changed = True
        if not changed:
            break
    return values


def _guard_input(where_node):
    cond = where_node.args[0]
    if cond.op == "gt" and cond.args[0].op == "var" and cond.args[1].op == "const" \
            and cond.args[0].attrs["name"] in GUARD_NAMES and cond.args[1].attrs["value"] == 0:
        return cond.args[0].attrs["name"]
    if cond.op == "lt" and cond.args[1].op == "var" and cond.args[0].op == "const" \
            and cond.args[1].attrs["name"] in GUARD_NAMES and cond.args[0].attrs["value"] == 0:
        return cond.args[1].attrs["name"]
    return None


def _reduce_to(mask, shape):
    """``mask`` (any over broadcast axes) reduced to ``shape``, which broadcasts to its shape."""
    extra = mask.ndim - len(shape)
    if extra:
        mask = mask.any(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and mask.shape[i] != 1)
    if axes:
        mask = mask.any(axis=axes, keepdims=True)
    return np.broadcast_to(mask, shape).copy()


# ---- the oracle ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tolerance:
    rel: float  # relative to each element's exact value
    floor: float  # relative to the largest exact element
    unit: float  # rounding unit, in float64 units (the perturbation spread is scaled by it)
    k: float  # how much worse than the naive evaluation (and the rounding spread) is accepted
    tiny: float  # absolute floor


F64 = Tolerance(1e-9, 1e-12, 1.0, 32.0, 1e-300)
# Gradients are not checked where an intermediate value is beyond the square root of the largest
# float: a product of two such values (a gradient formula's x**2) overflows, which is tested elsewhere.
# Forward values above these have gradients near overflow: 1/m's is -1/m**2, and a chain rule
# factor or two more (d/dx 1/(e @ e) with e = exp2(-x) has 2 ln 2 e / m**2) can overflow.
_PEAK = {np.float64: math.sqrt(np.finfo(np.float64).max) / 64, np.float32: math.sqrt(np.finfo(np.float32).max) / 64}
F32 = Tolerance(2e-3, 1e-4, 2.0**29, 32.0, 1e-37)
PRIORITY = ["compile", "crash", "exception", "parser", "shape", "dtype", "value", "gradient", "consistency",
            "warning", "mutation"]
PATHS = ["numpy", "scalar", "blocked", "float32"]


@dataclass
class Failure:
    key: str  # the failure class: check:function:path[:detail]
    message: str

    @property
    def rank(self):
        check, rest = self.key.split(":", 1) if ":" in self.key else (self.key, "")
        path = next((i for i, p in enumerate(PATHS) if f":{p}" in rest), 0)
        return PRIORITY.index(check) if check in PRIORITY else len(PRIORITY), path, self.key


@dataclass
class Outcome:
    """What one program on one input set gave: failures, checks made, skipped checks by reason."""

    source: str
    failures: list = field(default_factory=list)
    checks: int = 0
    skipped: Counter = field(default_factory=Counter)

    def fail(self, key, message):
        if not any(f.key == key for f in self.failures):
            self.failures.append(Failure(key, message))

    @property
    def primary(self) -> Failure | None:
        return min(self.failures, key=lambda f: f.rank) if self.failures else None

    def report(self) -> str:
        lines = [f"source:\n{self.source}"]
        lines += [f"{f.key}: {f.message}" for f in sorted(self.failures, key=lambda f: f.rank)]
        return "\n".join(lines)


@dataclass
class Reference:
    """Everything the oracle knows about one program at one input set."""

    exact: np.ndarray
    value: np.ndarray
    naive64: np.ndarray
    naive32: np.ndarray
    clean: bool  # no floating-point exception of the naive evaluation reaches the output
    clean32: bool
    spread: np.ndarray
    peak64: float
    peak32: float
    jac: R.Jacobian | None = None
    # dtype -> whether a condition of the program came out otherwise in that dtype than in
    # exact arithmetic ((3 + 1e-8) * p > 3 at p = 1 is False in float32): the gradient then
    # belongs to another branch than the exact one, as in the NumPy program itself.
    flips: dict = field(default_factory=dict)
    # dtype -> whether floor or ceil reads an exact argument within that dtype's rounding of an
    # integer (and not one): which side of it a float program lands on is rounding's choice.
    steps: dict = field(default_factory=dict)
    # dtype -> the output elements a floating-point exception of the naive evaluation reached
    # (exp(-157) is 0 in float32, so a softmax's 0 / 0 decides a where's condition)
    reached: dict = field(default_factory=dict)
    # () -> {input name: per element, the largest derivative of any intermediate value with
    # respect to it} (_chain_terms, computed where a gradient check needs it): the size of the
    # chain rule's terms, whose rounding a gradient that cancels to 0 keeps
    # (np.diff(maximum(p**3, x), 2) is 0, its terms 3 p**2)
    terms_of: Callable | None = None
    terms: dict | None = None

    def chain_terms(self) -> dict:
        if self.terms is None:
            self.terms = self.terms_of() if self.terms_of is not None else {}
        return self.terms


def _conditions_differ(exact_trace: Trace, naive_trace: Trace) -> bool:
    """Whether a condition, or a step of sign, floor or ceil, came out otherwise in the naive
    evaluation than in the exact one (sign(2**-200) is 0 in float32): both traces list the same
    values in the same order."""
    for op, e, n in zip(exact_trace.ops, exact_trace, naive_trace):
        e = np.asarray(e)
        n = np.asarray(getattr(n, "value", n))
        if e.dtype == bool and (n.dtype != bool or e.shape != n.shape or not np.array_equal(e, n)):
            return True
        if op in R.STEPWISE and e.shape == n.shape:
            exact = R.to_float(e)
            with np.errstate(invalid="ignore"):
                same = (exact == n) | (np.isnan(exact) & np.isnan(n))
            if not np.all(same):
                return True
    return _edge_by_rounding(exact_trace.edges, naive_trace.edges)


# The precision an operand found on a domain edge at the reference's own is checked at:
# enough for 1 - tanh(x) and sigmoid(-x) up to the float64 range of inputs a program's
# exp can take (x of about 710: 1 - tanh(x) is 1e-617).
EDGE_DPS = 700


def _on_edge(edges) -> bool:
    """Whether any operand of an op with a domain edge is exactly on one."""
    for op, operands in edges:
        for e in operands:
            e = np.asarray(e)
            if e.dtype.kind in "fO" and any(np.any(np.asarray(e == edge, dtype=bool)) for edge in DOMAIN_EDGES[op][1]):
                return True
    return False


def _reciprocal_overflows(edges, dtype) -> bool:
    """Whether an op whose derivative divides by its operand (log's g/x, a quotient's by its
    denominator, sqrt's by its value: their domain edge is 0) reads a value whose reciprocal
    is near overflow in ``dtype``: log10(exp(-96)) in float32 reads a subnormal 2e-42, and
    1/(x ln 10) overflows there, as in any float32 chain rule."""
    limit = float(np.finfo(dtype).max) / 64
    for op, operands in edges:
        if 0.0 not in DOMAIN_EDGES[op][1]:
            continue
        for x in operands:
            x = np.abs(np.asarray(getattr(x, "value", x)))
            if x.dtype.kind == "f" and np.any(np.isfinite(x) & (x > 0) & (x < 1.0 / limit)):
                return True
    return False


def _beyond_precision(periodic, dps: int) -> bool:
    """Whether a periodic op's argument is so large that the reference's finite differences
    at ``dps`` digits cannot resolve a change of it: sin(cosh(150) - s) at 50 digits holds
    cosh(150) ~ 1e65 to 1e15, so s's moves vanish and the difference quotient is 0 (in float64
    the value is noise already: its argument is known to 1e49)."""
    limit = mpmath.mpf(10) ** (dps - 25)
    for x in periodic:
        x = np.asarray(x)
        if x.dtype.kind == "O" and any(mpmath.isfinite(v) and abs(v) > limit for v in x.flat):
            return True
    return False


# A periodic op's argument beyond this in float32 is rounded by more than 2**-24 * 256 = 1.5e-5:
# sin and cos of it move by that much, which a gradient through cos(z) / cos(z)**2 turns into
# relative errors past float32's tolerance wherever cos is small. No float32 program does better.
PERIODIC_FLOAT32_LIMIT = 256.0


def _periodic_noise32(periodic) -> bool:
    """Whether a periodic op reads an argument that float32 rounds too coarsely for its
    derivative (x @ tan(sin(dot(p, y))) with dot(p, y) near 3e4: cos of it is known to 1e-3)."""
    for x in periodic:
        x = np.asarray(x)
        if x.dtype.kind in "fO" and any(abs(float(v)) > PERIODIC_FLOAT32_LIMIT for v in x.flat
                                        if np.isfinite(float(v))):
            return True
    return False


def _undefined(edges) -> bool:
    """Whether an op is evaluated exactly where it has no derivative: arctan2 at the origin,
    where it is not even continuous (its gradient there is a convention: nan, as PyTorch's;
    the program's derivative through it, atan2(x - x, 0) say, may still exist)."""
    for op, operands in edges:
        if op == "arctan2" and len(operands) == 2:
            a, b = (np.asarray(o) for o in operands)
            if a.dtype.kind in "fO" and b.dtype.kind in "fO":
                origin = np.asarray(a == 0, dtype=bool) & np.asarray(b == 0, dtype=bool)
                if np.any(origin):
                    return True
    return False


def _quotients(a, b):
    """a / b elementwise, of exact or float values; nan where b is 0."""
    a, b = (getattr(v, "value", v) for v in (a, b))
    with np.errstate(all="ignore"):
        return np.frompyfunc(lambda x, y: x / y if y != 0 else math.nan, 2, 1)(a, b)


def _unresolved_quotient(quotients, dps: int) -> bool:
    """Whether a quotient of //, % or fmod has more digits before its point than the reference
    carries (beyond 10**(dps - 10)): its remainder, and every difference of it, is then decided
    by the reference's own rounding (fmod(a, 0.5) of a = 2e75 has no digits left; found by
    fuzzing, seed 20261309: a slope 0 where PyTorch's and derivgen's is 1)."""
    limit = 10.0 ** (dps - 10)
    for q in quotients:
        for v in np.asarray(q).flat:
            try:
                f = abs(float(v))
            except (TypeError, ValueError, OverflowError):
                return True
            if math.isfinite(f) and f > limit or math.isinf(f):
                return True
    return False


def _near_step(arguments, dtype) -> bool:
    """Whether floor or ceil reads an exact argument, not an integer, within a few roundings of
    ``dtype`` of one: ceil(logsumexp(tanh(3.8**2))) reads 1 - 5.5e-13, which a float32 log(exp(1))
    rounds to 1.0000001 and ceil to 2 (found by fuzzing, seed 20261220)."""
    eps = float(np.finfo(dtype).eps)
    for x in arguments:
        for v in np.asarray(x).flat:
            try:
                f = float(v)
            except (TypeError, ValueError, OverflowError):
                continue
            if not math.isfinite(f) or abs(f) > 2.0 ** 52:
                continue
            nearest = round(f)
            if v != nearest and abs(f - nearest) <= 16 * eps * max(1.0, abs(f)):
                return True
    return False


def _equal_at(pairs) -> bool:
    """Whether a condition a == b or a != b holds with equality at some element: the branch
    a where takes there is taken on a set of measure zero, and the program's derivative is the
    other branch's where the two agree (where(p != q, p, q) is p, derivative 0 in q, while the
    branch taken at p == q gives 1; found by fuzzing, seed 20261230)."""
    for a, b in pairs:
        a, b = (np.asarray(getattr(v, "value", v)) for v in (a, b))
        if (a.dtype.kind in "fO" and b.dtype.kind in "fO" and a.size and b.size
                and np.any(np.asarray(np.equal(*np.broadcast_arrays(a, b)), dtype=bool))):
            return True
    return False


def _negative_base(bases) -> bool:
    """Whether a power whose exponent varies has a negative base: b**e is then real only at
    integer e, so it has no derivative in e, and the gradient through its exponent is nan
    (as PyTorch's and JAX's: g * out * log(b)) even where that exponent is locally constant
    and the program's derivative is 0 (b**(0 * x))."""
    for b in bases:
        b = np.asarray(b)
        if b.dtype.kind in "fO" and np.any(np.asarray(b < 0, dtype=bool)):
            return True
    return False


def _infinite_slope(trace: Trace) -> bool:
    """Whether an op is evaluated exactly where its derivative is infinite and its value finite
    (sqrt(0), arcsin(1)) on an operand that an op passing no gradient there did not make: its
    derivative is inf, and inf times the 0 the rest of the chain rule may bring is nan (as
    PyTorch's and JAX's), even where the program is locally constant (sqrt(x * c) at c = 0 is 0
    for every x: its derivative in x is 0, the chain rule's 0.5 / sqrt(0) * 0 is nan)."""
    for op, operands, source in trace.steep:
        if source in GATED:
            continue
        x = np.asarray(operands[0])
        if x.dtype.kind not in "fO" or not x.size:
            continue
        steep = np.zeros(x.shape, dtype=bool)
        for point in STEEP[op]:
            steep |= np.asarray(x == point, dtype=bool)
        if op == "pow":
            e = np.asarray(operands[1])
            if e.dtype.kind not in "fO":
                continue
            with np.errstate(invalid="ignore"):
                fractional = np.asarray((e > 0) & (e < 1), dtype=bool)
            steep, fractional = np.broadcast_arrays(steep, fractional)
            steep = steep & fractional
        if np.any(steep):
            return True
    return False


def _saturated(trace: Trace) -> bool:
    """Whether an operand on a domain edge of +-1 comes from an op that only tends to it
    (arccos(erf(-128))): its value is on the edge by the reference's own rounding, and so is
    its finite-difference gradient (0 where the float chain rule gives -inf * 0)."""
    for (op, operands), sources in zip(trace.edges, trace.sources):
        edges = [e for e in DOMAIN_EDGES[op][1] if e != 0.0]
        for e, source in zip(operands, sources):
            e = np.asarray(e)
            if source in SATURATING and e.dtype.kind in "fO" and any(
                    np.any(np.asarray(e == edge, dtype=bool)) for edge in edges):
                return True
    return False


def _edge_by_rounding(exact_edges, naive_edges) -> bool:
    """Whether an operand sits on an edge of its op's domain (sqrt's 0, arccos's 1) in the
    naive evaluation but not exactly: sqrt(sigmoid(-129)) in float32 is sqrt(0), whose
    derivative is infinite, where sigmoid(-129) is 1.3e-56 > 0."""
    for (op, exact_operands), (_, naive_operands) in zip(exact_edges, naive_edges):
        for e, n in zip(exact_operands, naive_operands):
            n = np.asarray(getattr(n, "value", n), dtype=np.float64)
            e = np.asarray(e)
            if e.dtype.kind not in "fO" or np.broadcast(e, n).shape != np.shape(n):
                continue
            on_edge = np.isin(n, DOMAIN_EDGES[op][1])
            # compared at the exact value's precision: tanh(57) is 1 - 1e-49, not 1.0
            moved = np.asarray(np.broadcast_to(e, n.shape) != n.astype(object), dtype=bool)
            if np.any(on_edge & moved):
                return True
    return False


def _normalize(message: str) -> str:
    message = re.sub(r"0x[0-9a-f]+", "ADDR", message)
    message = re.sub(r"'[^']*'", lambda m: m.group(0) if len(m.group(0)) < 24 else "'...'", message)
    message = re.sub(r"\d+(\.\d+)?", "N", message)
    return message.splitlines()[0][:80] if message else ""


class Oracle:
    """Runs a program's generated module on every path and compares it with the reference.

    ``compiler(source, function, wrt)`` makes the module (``derivgen.compile`` by default); a
    different compiler lets tests plant bugs to check that the oracle catches them.
    """

    def __init__(self, compiler: Callable | None = None, dps: int = R.DEFAULT_DPS):
        self.compiler = compiler or (lambda source, function, wrt: derivgen.compile(
            source, function=function, wrt=list(wrt) if wrt is not None else None))
        self.dps = dps
        self._cache: dict = {}

    def module(self, program: Program):
        source = render(program)
        key = (source, program.wrt)
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            try:
                self._cache[key] = (self.compiler(source, program.function, program.wrt), None)
            except derivgen.DerivgenError as exc:
                self._cache[key] = (None, Failure(f"compile:{type(exc).__name__}:{_normalize(str(exc))}",
                                                  str(exc)))
            except Exception as exc:  # noqa: BLE001 - a bug in derivgen itself, reported
                crash = f"crash:compile:{type(exc).__name__}:{_normalize(str(exc))}"
                trace = "".join(traceback.format_exception(exc))[-2000:]
                self._cache[key] = (None, Failure(crash, f"{type(exc).__name__}: {exc}\n{trace}"))
        return self._cache[key]

    def reference(self, program: Program, values: dict, gradients: bool = True, wrt=None) -> Reference:
        exact_arith = R.Exact(self.dps)
        exact_trace = Trace()
        exact = run(program, exact_arith, {n: exact_arith.input(v) for n, v in values.items()}, {}, exact_trace)
        if _on_edge(exact_trace.edges):
            # An operand on an edge at this precision may be there only by rounding (tanh(130)
            # is 1 - 1e-113): whether it is, and so whether the float programs' edge is one,
            # is read from an evaluation at a precision that tells them apart.
            fine = R.Exact(EDGE_DPS)
            exact_trace = Trace()
            run(program, fine, {n: fine.input(v) for n, v in values.items()}, {}, exact_trace)
        naive, flips = {}, {}
        for dtype in (np.float64, np.float32):
            arith = R.Naive(dtype, track=True)
            trace = Trace()
            out = run(program, arith, {n: arith.input(v) for n, v in values.items()}, {}, trace)
            flips[np.dtype(dtype).name] = (_conditions_differ(exact_trace, trace) or _undefined(exact_trace.edges)
                                           or _negative_base(exact_trace.powers) or _saturated(exact_trace)
                                           or _infinite_slope(exact_trace)
                                           or exact_trace.nested_tie or _equal_at(exact_trace.equalities)
                                           or _near_step(exact_trace.steps, dtype)
                                           or _unresolved_quotient(exact_trace.quotients, self.dps)
                                           or _beyond_precision(exact_trace.periodic, self.dps)
                                           or dtype == np.float32 and _periodic_noise32(exact_trace.periodic))
            peak = 0.0
            for t in trace:
                finite = np.abs(t.value[np.isfinite(t.value)]) if t.value.dtype.kind == "f" else ()
                if len(finite):
                    peak = max(peak, float(np.max(finite)))
            if _reciprocal_overflows(trace.edges, dtype):
                peak = math.inf  # a gradient term 1/x near overflow: as an intermediate near it
            # An exception at an element an index leaves out counts too: NumPy computed it, and so
            # does a mean of nothing (an empty mask's), in any branch: NumPy warns of it.
            naive[dtype] = (np.asarray(out.value, dtype=np.float64),
                            bool(np.any(out.bad)) or arith.dropped or trace.empty_mean, peak,
                            np.broadcast_to(np.asarray(out.bad, dtype=bool), np.shape(out.value)))
        # The rounding sensitivity: the largest move of three perturbed evaluations.
        exact_inputs = {n: exact_arith.input(v) for n, v in values.items()}
        spread = np.zeros(np.shape(exact))
        for seed in (1, 2, 3):
            moved = run(program, R.Exact(self.dps, R.Perturbation(seed)), exact_inputs)
            spread = np.fmax(spread, R.to_float(np.abs(R._obj(moved - exact))))
        perturbation = R.Perturbation(seed=1)
        ref = Reference(exact, R.to_float(exact), naive[np.float64][0], naive[np.float32][0],
                        not naive[np.float64][1], not naive[np.float32][1], spread,
                        naive[np.float64][2], naive[np.float32][2], flips=flips,
                        steps={np.dtype(t).name: _near_step(exact_trace.steps, t) for t in (np.float64, np.float32)},
                        reached={np.dtype(t).name: naive[t][3] for t in (np.float64, np.float32)})
        if gradients and wrt:
            ref.jac = R.jacobian(tree_function(program), values, list(wrt), dps=self.dps,
                                 perturbation=perturbation)
            ref.terms_of = lambda: _chain_terms(program, values, wrt)
        return ref

    def check(self, program: Program, values: dict, *, gradients: bool = True, module=None,
              paths=PATHS) -> Outcome:
        """Every check of one program at one input set."""
        source = render(program)
        outcome = Outcome(source)
        if module is None:
            module, failure = self.module(program)
            if failure is not None:
                outcome.failures.append(failure)
                return outcome
        if set(module.INPUTS) != {s.name for s in program.inputs}:
            outcome.fail("compile:inputs", f"module inputs {module.INPUTS}, program inputs "
                                           f"{tuple(s.name for s in program.inputs)}")
            return outcome
        values = {n: values[n] for n in module.INPUTS}
        wrt = list(module.WRT)
        try:
            ref = self.reference(program, values, gradients, wrt)
        except Exception as exc:  # noqa: BLE001 - counted, so a broken reference shows in the summary
            outcome.skipped["reference failed: " + type(exc).__name__] += 1
            return outcome
        self._check_parser(program, values, ref, outcome)
        shape = np.shape(ref.exact)
        rng = np.random.default_rng(zlib.crc32(source.encode()))
        grad_outputs = {"default": None, "random": np.round(rng.uniform(-1.5, 1.5, size=shape), 3)}
        vjps = {}
        if ref.jac is not None:
            for label, g in grad_outputs.items():
                vjps[label] = ref.jac.vjp(1.0 if g is None else g)
        for path in paths:
            inputs = self._path_inputs(module, path, values)
            if inputs is None:
                continue
            self._check_path(module, path, inputs, ref, grad_outputs, vjps, wrt, outcome, gradients)
        return outcome

    @staticmethod
    def _path_inputs(module, path, values):
        if path == "numpy":
            return {n: np.array(v) for n, v in values.items()}
        if path == "scalar":
            if any(np.shape(v) != () for v in values.values()):
                return None
            return {n: float(v) for n, v in values.items()}
        if path == "blocked":
            if not hasattr(module, "_Blocks"):
                return None
            return {n: np.array(v) for n, v in values.items()}
        return {n: np.array(v, dtype=np.float32) for n, v in values.items()}

    def _check_parser(self, program, values, ref, outcome):
        """derivgen's parsed graph, evaluated by the reference, is the tree's program."""
        from derivgen.frontend import parse
        try:
            graph = R.GraphProgram(parse(render(program), program.function))
            arith = R.Exact(self.dps)
            got = graph(arith, {n: arith.input(v) for n, v in values.items()})
        except derivgen.DerivgenError:
            return  # reported by compile
        except Exception as exc:  # noqa: BLE001 - counted, so it shows in the summary
            outcome.skipped[f"graph reference failed: {type(exc).__name__}"] += 1
            return
        outcome.checks += 1
        if np.shape(got) != np.shape(ref.exact):
            outcome.fail("parser:shape",
                         f"parsed program has shape {np.shape(got)}, the program {np.shape(ref.exact)}")
            return
        # Both are exact, but SymPy may rewrite constants (np.e**x is exp(x)): the parsed program
        # must be as close to the program as float64 evaluation needs, not identical.
        a, b = R.to_float(got), ref.value
        mask, allowed = value_tolerance(ref, np.float64)
        bad = _outside(a, b, allowed, mask)
        if bad.any():
            outcome.fail("parser:value", f"parsed program gives {a!r}, the program {b!r}")

    def _check_path(self, module, path, inputs, ref, grad_outputs, vjps, wrt, outcome, gradients):
        f32 = path == "float32"
        tol = F32 if f32 else F64
        dtype = np.float32 if f32 else np.float64
        clean = ref.clean32 if f32 else ref.clean
        originals = {n: copy.deepcopy(v) for n, v in inputs.items()}
        blocks = getattr(module, "_Blocks", None)
        saved = blocks.size if blocks is not None else None
        if path == "blocked":
            blocks.size = 2
        try:
            fwd = self._call(module.forward, "forward", path, inputs, None, originals, outcome, clean and
                             _finite(ref.exact) and not f32)
            if fwd is not None:
                self._check_value(fwd, "forward", path, ref, dtype, outcome)
            if not gradients:
                return
            grads_by = {}
            for label, g in grad_outputs.items():
                if g is not None:
                    # Python numbers on the scalar path, but for an output of more elements
                    # (np.stack of numbers, x.expand(2, 1))
                    g = float(g) if path == "scalar" and np.ndim(g) == 0 else np.asarray(g, dtype=dtype)
                g_max = 1.0 if g is None else float(np.max(np.abs(g), initial=0.0))
                grads_ok = self._gradients_clean(ref, vjps.get(label), wrt, g_max)
                quiet = clean and _finite(ref.exact) and not f32 and grads_ok
                b = self._call(module.backward, "backward", path, inputs, g, originals, outcome, quiet)
                vg = self._call(module.value_and_grad, "value_and_grad", path, inputs, g, originals, outcome,
                                quiet)
                if vg is not None:
                    if not (isinstance(vg, tuple) and len(vg) == 2):
                        outcome.fail(f"shape:value_and_grad:{path}",
                                     f"returned {type(vg).__name__}, not (value, grads)")
                        continue
                    self._check_value(vg[0], "value_and_grad", path, ref, dtype, outcome)
                    if fwd is not None:
                        # Both within the value check's allowance of the exact value: their
                        # difference within twice it (a sum that cancels to 1e-16, computed in
                        # blocks by one and whole by the other, differs by its terms' rounding).
                        _, allowed = value_tolerance(ref, dtype)
                        noise = np.where(np.isfinite(allowed), 2 * allowed, 0.0)
                        self._agree(fwd, vg[0], f"consistency:forward-value_and_grad:{path}", tol, outcome,
                                    noise=noise)
                results = {"backward": b, "value_and_grad": vg[1] if vg is not None else None}
                for fn, grads in results.items():
                    if grads is None:
                        continue
                    grads_by[(fn, label)] = grads
                    self._check_gradients(module, grads, fn, path, label, g_max, inputs, ref, vjps.get(label),
                                          wrt, dtype, outcome)
                if b is not None and vg is not None:
                    for name in wrt:
                        gb, gv = _field(module, b, name), _field(module, vg[1], name)
                        self._agree(gb, gv, f"consistency:backward-value_and_grad:{path}", tol, outcome, name)
        finally:
            if blocks is not None:
                blocks.size = saved

    def _call(self, fn, name, path, inputs, grad_output, originals, outcome, quiet):
        kwargs = dict(inputs)
        if grad_output is not None:
            kwargs["grad_output"] = grad_output
        g_before = copy.deepcopy(grad_output)
        outcome.checks += 1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
                    result = fn(**kwargs)
            except Exception as exc:  # noqa: BLE001 - any exception of a generated module is a failure
                trace = "".join(traceback.format_exception(exc))[-1500:]
                outcome.fail(f"exception:{name}:{path}:{type(exc).__name__}:{_normalize(str(exc))}",
                             f"{type(exc).__name__}: {exc}\n{trace}")
                return None
        runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        if runtime and quiet:
            outcome.fail(f"warning:{name}:{path}", f"RuntimeWarning: {runtime[0].message}")
        for n, original in originals.items():
            if not _same(inputs[n], original):
                outcome.fail(f"mutation:{name}:{path}", f"input {n} was modified")
                inputs[n] = copy.deepcopy(original)
        if grad_output is not None and not _same(grad_output, g_before):
            outcome.fail(f"mutation:{name}:{path}", "grad_output was modified")
        return result

    def _check_value(self, got, fn, path, ref, dtype, outcome):
        shape = np.shape(ref.exact)
        outcome.checks += 1
        if np.shape(got) != shape:
            outcome.fail(f"shape:{fn}:{path}", f"value shape {np.shape(got)}, NumPy gives {shape}")
            return
        got_dtype = np.asarray(got).dtype
        if got_dtype != np.dtype(dtype):
            outcome.fail(f"dtype:{fn}:{path}", f"value dtype {got_dtype}, expected {np.dtype(dtype)}")
        mask, allowed = value_tolerance(ref, dtype)
        if getattr(ref, "steps", {}).get(np.dtype(dtype).name):
            outcome.skipped["value: a step decided by rounding"] += int(mask.size)
            return
        skipped = int(mask.size - np.count_nonzero(mask))
        if skipped:
            outcome.skipped["value: exact or naive value not finite"] += skipped
        # Where an exception reached an element, the naive value is no measure of what rounding
        # allows: a where's condition of nan chose its branch, which an exact condition may not.
        reached = getattr(ref, "reached", {}).get(np.dtype(dtype).name)
        if reached is not None and reached.shape == shape and np.any(reached & mask):
            outcome.skipped["value: a floating-point exception reaches the element"] += int(np.count_nonzero(
                reached & mask))
            mask = mask & ~reached
        got64 = np.asarray(got, dtype=np.float64)
        bad = _outside(got64, ref.value, allowed, mask)
        if bad.any():
            outcome.fail(f"value:{fn}:{path}", _mismatch(got64, ref.value, bad))

    def _gradients_clean(self, ref, vjp, wrt, g_max) -> bool:
        """Whether every gradient element is checked (smooth, finite, well-conditioned in
        float64): then computing the gradients must raise no RuntimeWarning either."""
        if vjp is None or ref.peak64 > _PEAK[np.float64]:
            return False
        return all(np.all(gradient_tolerance(ref, vjp, n, g_max, np.float64)[0]) for n in wrt)

    def _check_gradients(self, module, grads, fn, path, label, g_max, inputs, ref, vjp, wrt, dtype, outcome):
        f32 = dtype == np.float32
        for name in wrt:
            got = _field(module, grads, name)
            outcome.checks += 1
            expected_shape = np.shape(inputs[name])
            if np.shape(got) != expected_shape:
                outcome.fail(f"shape:gradient:{fn}:{path}", f"gradient of {name} has shape {np.shape(got)}, "
                                                            f"the input {expected_shape}")
                continue
            got_dtype = np.asarray(got).dtype
            if got_dtype != np.dtype(dtype):
                outcome.fail(f"dtype:gradient:{fn}:{path}", f"gradient of {name} has dtype {got_dtype}, "
                                                            f"expected {np.dtype(dtype)}")
            if vjp is None:
                continue
            naive = ref.naive32 if f32 else ref.naive64
            if not np.all(np.isfinite(naive)):
                outcome.skipped["gradient: naive value not finite"] += 1
                continue
            if not (ref.clean32 if f32 else ref.clean):
                outcome.skipped["gradient: a floating-point exception reaches the output"] += 1
                continue
            if (ref.peak32 if f32 else ref.peak64) > _PEAK[dtype]:
                outcome.skipped["gradient: intermediate values near overflow"] += 1
                continue
            exact, smooth = vjp[0][name], vjp[1][name]
            mask, allowed = gradient_tolerance(ref, vjp, name, g_max, dtype, inputs[name])
            outcome.skipped["gradient: not smooth"] += int(np.count_nonzero(~smooth))
            outcome.skipped["gradient: ill-conditioned"] += int(np.count_nonzero(smooth & ~mask))
            got64 = np.asarray(got, dtype=np.float64)
            bad = _outside(got64, exact, allowed, mask)
            if bad.any():  # the chain rule's terms measured only where the gradient's scale is exceeded
                _, allowed = gradient_tolerance(ref, vjp, name, g_max, dtype, inputs[name], terms=True)
                bad = _outside(got64, exact, allowed, mask)
            if bad.any():
                outcome.fail(f"gradient:{fn}:{path}:{label}-grad_output",
                             f"d/d{name}: " + _mismatch(got64, exact, bad))

    @staticmethod
    def _agree(a, b, key, tol, outcome, name=None, noise=0.0):
        outcome.checks += 1
        try:
            a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
            a64, b64 = np.broadcast_arrays(a64, b64)
        except (ValueError, TypeError):
            outcome.fail(key, f"results of different shapes {np.shape(a)} and {np.shape(b)}")
            return
        both_nan = np.isnan(a64) & np.isnan(b64)
        equal = (a64 == b64) | both_nan
        scale = np.max(np.abs(a64[np.isfinite(a64)]), initial=0.0)
        with np.errstate(invalid="ignore"):
            close = np.abs(a64 - b64) <= tol.rel * np.abs(a64) + tol.floor * scale + tol.tiny + noise
        if not np.all(equal | close):
            what = f" (gradient of {name})" if name else ""
            outcome.fail(key, f"disagree{what}: {a64!r} vs {b64!r}")


def _field(module, grads, name):
    return getattr(grads, module.Gradients._fields[list(module.WRT).index(name)])


def _finite(exact) -> bool:
    value = R.to_float(exact)
    return bool(np.all(np.isfinite(value)))


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=True)))
    return a == b or (math.isnan(a) and math.isnan(b))


def _allowed(exact, naive_err, spread, mask, tol, scale=0.0) -> np.ndarray:
    """How far from ``exact`` a result may be: ``rel*|exact| + floor*scale + k*(naive_err +
    unit*spread)`` (``scale``: the size of the terms, at least the largest exact element)."""
    scale = max(scale, np.max(np.abs(exact[mask]), initial=0.0))
    with np.errstate(invalid="ignore", over="ignore"):
        return (tol.rel * np.abs(exact) + tol.floor * scale + tol.tiny
                + tol.k * (naive_err + tol.unit * spread))


def value_tolerance(ref: Reference, dtype) -> tuple:
    """(checked, allowed) for a value computed in ``dtype``: the elements whose exact value is
    representable and whose naive evaluation is finite, and each element's allowed error."""
    tol = F32 if dtype == np.float32 else F64
    naive = ref.naive32 if dtype == np.float32 else ref.naive64
    mask = (np.isfinite(ref.value) & (np.abs(ref.value) <= np.finfo(dtype).max) & np.isfinite(naive)
            & np.isfinite(ref.spread))
    return mask, _allowed(ref.value, np.abs(naive - ref.value), ref.spread, mask, tol)


def _chain_terms(program: Program, values: dict, wrt) -> dict:
    """For each input in ``wrt``, per element: the largest derivative of an intermediate value
    of the program with respect to it, by central differences in float64 (where the one-sided
    differences agree: a step or a kink is no term of a chain rule)."""
    def nodes(vals) -> dict:
        memo: dict = {}
        arith = R.Naive(np.float64)
        with np.errstate(all="ignore"):
            run(program, arith, {n: arith.input(v) for n, v in vals.items()}, memo)
        return {k: np.asarray(v, dtype=np.float64) for k, v in memo.items()
                if np.asarray(v).dtype.kind == "f"}

    center = nodes(values)
    terms = {}
    for name in wrt:
        x = np.asarray(values[name], dtype=np.float64)
        found = np.zeros(x.shape)
        for j in np.ndindex(x.shape):
            h = 1e-6 * max(1.0, abs(float(x[j])))
            sides = []
            for step in (h, -h):
                moved = x.copy()
                moved[j] += step
                sides.append(nodes({**values, name: moved}))
            for key, mid in center.items():
                up, down = sides[0].get(key), sides[1].get(key)
                if up is None or down is None or up.shape != mid.shape or down.shape != mid.shape:
                    continue
                with np.errstate(all="ignore"):
                    right, left = (up - mid) / h, (mid - down) / h
                    smooth = np.isfinite(right) & np.isfinite(left) & (
                        np.abs(right - left) <= 1e-3 * np.maximum(np.abs(right), np.abs(left)) + 1e-6)
                if smooth.any():
                    found[j] = max(found[j], float(np.max(np.abs((right + left) / 2)[smooth])))
        terms[name] = found
    return terms


def gradient_tolerance(ref: Reference, vjp, name: str, g_max: float, dtype, x=None, terms: bool = False) -> tuple:
    """(checked, allowed) for the gradient of ``name``: the elements where the function is smooth,
    the gradient representable and well-conditioned, and each element's allowed error. ``x``,
    the input's values: near 0 a gradient's terms grow like 1/x (d atan2(x, x)/dx is two terms
    of 1/(2x) that cancel), and so does the rounding noise they leave. ``terms``: allow the
    rounding of the chain rule's terms too (Reference.chain_terms)."""
    tol = F32 if dtype == np.float32 else F64
    exact, smooth, spread = (d[name] for d in vjp)
    # Gradient terms are of the size of grad_output * value (times 1/input): a gradient whose
    # terms cancel (softmax's, summed) is rounding noise of that size.
    value = ref.value[np.isfinite(ref.value)]
    scale = g_max * max(1.0, float(np.max(np.abs(value), initial=0.0)))
    with np.errstate(invalid="ignore"):
        conditioned = tol.k * tol.unit * spread <= 1e-3 * np.abs(exact) + tol.floor * scale
    if dtype == np.float32 and getattr(ref, "jac", None) is not None and ref.jac.smooth32 is not None:
        smooth = smooth & ref.jac.smooth_in_float32()[name]  # no kink within float32 rounding
    if getattr(ref, "flips", {}).get(np.dtype(dtype).name):  # a branch chosen by rounding
        smooth = np.zeros_like(smooth)
    mask = smooth & np.isfinite(exact) & (np.abs(exact) <= np.finfo(dtype).max) & conditioned
    allowed = _allowed(exact, 0.0, spread, mask, tol, scale)
    terms = ref.chain_terms().get(name) if terms else None
    if terms is not None and np.shape(terms) == np.shape(allowed):
        # a sum of chain-rule terms of that size, one per output element, each rounded
        outputs = max(1, int(np.size(ref.value)))
        allowed = allowed + tol.k * float(np.finfo(dtype).eps) * g_max * outputs * terms
    if x is not None:
        with np.errstate(divide="ignore"):
            inverse = np.minimum(1.0 / np.abs(np.asarray(x, dtype=np.float64)), 1e12)
        allowed = allowed + tol.floor * scale * np.maximum(inverse - 1.0, 0.0)
    return mask, allowed


def _outside(got, exact, allowed, mask) -> np.ndarray:
    """Elements (of ``mask``) where ``got`` is further from ``exact`` than ``allowed``."""
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.abs(got - exact) <= allowed
    return mask & ~ok


def _mismatch(got, exact, bad) -> str:
    index = tuple(np.argwhere(bad)[0]) if np.ndim(bad) else ()
    g = np.asarray(got)[index] if np.ndim(got) else got
    e = np.asarray(exact)[index] if np.ndim(exact) else exact
    return f"got {float(g)!r}, exact {float(e)!r} at {index} ({int(np.count_nonzero(bad))} elements)"


# ---- shrinking ----------------------------------------------------------------------------------

def size(program: Program) -> int:
    """A program's size: nodes, statements and helpers (what the shrinker minimises)."""
    return len(walk(program)) + 2 * len(program.body) + 3 * len(program.helpers) + len(program.inputs)


def _map(program: Program, fn) -> Program:
    """A copy of the program with each node n replaced by fn(n) (the replacement's own
    descendants are mapped too; shared nodes stay shared; unchanged parts are not copied)."""
    memo: dict = {}
    helper_map: dict = {}

    def rebuild(node):
        args = tuple(go(a) for a in node.args)
        attrs = node.attrs
        if node.op == "call" and id(attrs["helper"]) in helper_map:
            attrs = {**attrs, "helper": helper_map[id(attrs["helper"])]}
        if attrs is node.attrs and all(x is y for x, y in zip(args, node.args)):
            return node
        return Node(node.op, args, dict(attrs), node.shape, node.lo, node.hi)

    def go(node):
        if node is None:
            return None
        if id(node) not in memo:
            new = fn(node)
            memo[id(node)] = rebuild(node) if new is node else rebuild(new)
        return memo[id(node)]

    helpers = []
    for h in program.helpers:
        body = [Stmt(st.target, go(st.expr), st.aug, st.form) for st in h.body]
        ret = go(h.ret)
        if ret is h.ret and all(a.expr is b.expr for a, b in zip(body, h.body)):
            helpers.append(h)
        else:
            helpers.append(Helper(h.name, list(h.params), dict(h.defaults), body, ret))
            helper_map[id(h)] = helpers[-1]
    body = [Stmt(st.target, go(st.expr), st.aug, st.form) for st in program.body]
    return replace(program, body=body, ret=go(program.ret), helpers=helpers)


def _replace_node(program: Program, old: Node, new: Node) -> Program:
    return _restrict(_map(program, lambda n: new if n is old else n))


def _restrict(program: Program) -> Program:
    """An expression's inputs are its free names: drop those it no longer reads."""
    if program.style != "expr":
        return program
    inputs = used_inputs(program)
    names = {s.name for s in inputs}
    wrt = tuple(n for n in program.wrt if n in names) or None if program.wrt is not None else None
    return replace(program, inputs=inputs, wrt=wrt)


def inline(program: Program) -> Program:
    """The program as one expression: statements substituted and helper calls inlined."""
    env: dict = {}

    def subst(node, scope):
        memo: dict = {}

        def go(n):
            if n is None:
                return None
            if id(n) in memo:
                return memo[id(n)]
            if n.op == "var" and n.attrs["name"] in scope:
                out = scope[n.attrs["name"]]
            elif n.op == "call":
                helper = n.attrs["helper"]
                local = {}
                for arg, kw, param in zip(n.args, n.attrs["keywords"], helper.params):
                    local[kw or param] = go(arg)
                for param in helper.params:
                    if param not in local:
                        local[param] = helper.defaults[param]
                for s in helper.body:
                    value = subst(s.expr, local)
                    local[s.target] = value if s.aug is None else Node(s.aug, (local[s.target], value))
                out = subst(helper.ret, local)
            else:
                args = tuple(go(a) for a in n.args)
                same = all(x is y for x, y in zip(args, n.args))
                out = n if same else Node(n.op, args, dict(n.attrs), n.shape, n.lo, n.hi)
            memo[id(n)] = out
            return out
        return go(node)

    for stmt in program.body:
        value = subst(stmt.expr, env)
        env[stmt.target] = value if stmt.aug is None else Node(stmt.aug, (env[stmt.target], value))
    ret = subst(program.ret, env)
    new = replace(program, body=[], ret=ret, helpers=[], constants={}, imports=())
    new = _map(new, lambda n: const(n.attrs["value"])
               if n.op == "const" and n.attrs["text"] in program.constants else n)
    new.style = "expr"
    new.inputs = used_inputs(new)
    if new.wrt is not None:
        new.wrt = tuple(n for n in new.wrt if n in {s.name for s in new.inputs}) or None
    return new


def _valid(program: Program, values: dict) -> bool:
    try:
        ast.parse(render(program))
        arith = R.Naive(np.float64)
        run(program, arith, {s.name: arith.input(values[s.name]) for s in program.inputs})
    except Exception:  # noqa: BLE001 - any error means the candidate is not a valid program
        return False
    return bool(program.inputs)


def _candidates(program: Program, values: dict):
    """Simpler programs (and inputs), most promising first."""
    if program.style == "def":
        yield inline(program), values
        for i in range(len(program.body)):
            yield replace(program, body=program.body[:i] + program.body[i + 1:]), values
        used = used_inputs(program)
        if len(used) < len(program.inputs):
            yield replace(program, inputs=used, wrt=None), values
    if program.wrt is not None:
        yield replace(program, wrt=None), values
    numbers = [spec for spec in program.inputs if spec.kind != "positions"]  # positions: no gradient
    for spec in numbers:  # fewer gradients to compute: a smaller regression test
        if program.wrt is None or len(program.wrt) > 1:
            yield replace(program, wrt=(spec.name,)), values
    by_shape: dict = {}
    for spec in numbers:
        by_shape.setdefault(spec.shape, []).append(spec)
    for node in walk(program):
        if node.op in ("var", "const", "bool"):
            continue
        numeric = node.op not in CONDITIONS and node.op not in ("and", "or", "not")
        options = []
        for child in node.children():
            child_numeric = child.op not in CONDITIONS and child.op not in ("and", "or", "not", "bool")
            if child_numeric == numeric:
                options.append(child)
        if numeric:
            for spec in by_shape.get(node.shape, []):
                options.append(var(spec.name, spec.shape))
            options += [const(1.0), const(0.5)]
        else:
            options += [mk("bool", value=True, text="True"), mk("bool", value=False, text="False")]
        for option in options:
            yield _replace_node(program, node, option), values
        if node.attrs.get("spell"):
            spell = {"operator": node.attrs["spell"].get("operator", False)}
            plain = Node(node.op, node.args, {**node.attrs, "spell": spell}, node.shape, node.lo, node.hi)
            if node.op == "clamp":
                plain.attrs["spell"]["style"] = "positional"
            yield _replace_node(program, node, plain), values
    positions = {spec.name for spec in program.inputs if spec.kind == "positions"}
    for name, v in values.items():
        simplest = (np.zeros_like(v),) if name in positions else (np.round(v, 1), np.round(v, 2),
                                                                  np.ones_like(v) * 0.5, np.ones_like(v))
        for simpler in simplest:
            if not np.array_equal(simpler, v):
                yield program, {**values, name: np.array(simpler, dtype=np.float32).astype(np.float64)}
        if v.ndim:
            for shape in sorted({s for s in SHAPES if np.prod(s) < v.size}, key=lambda s: -np.prod(s)):
                yield _reshaped(program, name, shape), {**values, name: v.reshape(-1)[: int(np.prod(shape))]
                                                        .reshape(shape).copy()}


def _reshaped(program, name, shape):
    inputs = [replace(s, shape=tuple(shape)) if s.name == name else s for s in program.inputs]
    new = _map(program, lambda n: var(name, shape) if n.op == "var" and n.attrs["name"] == name else n)
    return replace(new, inputs=inputs)


def shrink(program: Program, values: dict, key: str, oracle: Oracle, budget: float = 30.0):
    """A smaller program and inputs that still fail with failure class ``key`` (greedy, within
    ``budget`` seconds); returns (program, values, outcome)."""
    deadline = time.monotonic() + budget
    gradients = any(word in key for word in ("backward", "value_and_grad", "gradient"))
    path = next((p for p in PATHS if f":{p}" in key), "numpy")
    paths = [path]

    def failing(p, v):
        try:
            outcome = oracle.check(p, v, gradients=gradients, paths=paths)
        except Exception:  # noqa: BLE001 - a candidate the oracle cannot run does not reproduce
            return None
        return outcome if any(f.key == key for f in outcome.failures) else None

    best = failing(program, values)
    if best is None:
        return program, values, oracle.check(program, values)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        current = _cost(program, values)
        for candidate, cvalues in _candidates(program, values):
            if time.monotonic() > deadline:
                break
            cvalues = {s.name: cvalues[s.name] for s in candidate.inputs if s.name in cvalues}
            if len(cvalues) < len(candidate.inputs) or _cost(candidate, cvalues) >= current:
                continue
            if not _valid(candidate, cvalues):
                continue
            cvalues = repair_guards(candidate, cvalues)
            outcome = failing(candidate, cvalues)
            if outcome is not None:
                program, values, best = candidate, cvalues, outcome
                improved = True
                break
    return program, values, best


def _cost(program: Program, values: dict) -> tuple:
    """What the shrinker minimises, most important first: program size, source length, the
    digits of the inputs, the number of gradients."""
    digits = sum(len(repr(float(x))) for v in values.values() for x in np.asarray(v).reshape(-1))
    gradients = len(program.wrt) if program.wrt is not None else len(program.inputs)
    return size(program), len(render(program)), digits, gradients


# ---- regression tests -------------------------------------------------------------------------------

def _array_text(v) -> str:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 0:
        return repr(float(v)) if np.isfinite(v) else "np.nan"
    return "np.array(" + repr(v.tolist()).replace("nan", "np.nan") + ")"


def regression_test(program: Program, values: dict, failure: Failure, oracle: Oracle | None = None) -> str:
    """A self-contained pytest function reproducing ``failure``: the module is called on the
    failing path and its results are compared with the reference's, written out (nan marks an
    element the oracle does not check), within the oracle's per-element tolerances."""
    oracle = oracle or Oracle()
    source = render(program)
    key = failure.key
    parts = key.split(":")
    check = parts[0]
    path = next((p for p in PATHS if p in parts), "numpy")
    fn = next((f for f in ("value_and_grad", "backward", "forward") if any(f in p for p in parts)), "forward")
    if check == "consistency":
        fn = "both" if "backward" in key else "values"
    module, _ = oracle.module(program)
    wrt = list(module.WRT) if module is not None else [s.name for s in program.inputs]
    ref = oracle.reference(program, values, gradients=fn != "forward", wrt=wrt)
    shape = np.shape(ref.exact)
    g = None
    if "random-grad_output" in key:
        g = np.round(np.random.default_rng(zlib.crc32(source.encode())).uniform(-1.5, 1.5, size=shape), 3)
    dtype = np.float32 if path == "float32" else np.float64
    dtype_text = "np.float32" if path == "float32" else "np.float64"
    name = re.sub(r"[^a-z0-9]+", "_", f"{check}_{fn}_{path}".lower()).strip("_")
    lines = [f"def test_fuzz_{name}():", f'    """{key}: {failure.message.splitlines()[0][:100]}"""',
             f"    source = {source!r}"]
    function = f'"{program.function}"' if program.function else "None"
    lines.append(f"    mod = derivgen.compile(source, function={function}, "
                 f"wrt={list(program.wrt) if program.wrt else None})")
    lines.append(f"    inputs = {{{', '.join(f'{n!r}: {_array_text(v)}' for n, v in values.items())}}}")
    if path == "scalar":
        lines.append("    inputs = {n: float(v) for n, v in inputs.items()}")
    else:
        lines.append(f"    inputs = {{n: np.asarray(v, dtype={dtype_text}) for n, v in inputs.items()}}")
    if path == "blocked":
        lines.append("    mod._Blocks.size = 2  # blocks of two elements; the default is 32768")
    if g is None:
        call = "**inputs"
    elif path == "scalar" and np.ndim(g) == 0:
        call = f"**inputs, grad_output={float(g)!r}"
    else:
        call = f"**inputs, grad_output=np.asarray({_array_text(g)}, dtype={dtype_text})"
    calls = {"forward": ["forward"], "backward": ["backward"], "value_and_grad": ["value_and_grad"],
             "both": ["backward", "value_and_grad"], "values": ["forward", "value_and_grad"]}[fn]
    indent = "    "
    if check == "warning":
        lines += ["    with warnings.catch_warnings():",
                  '        warnings.simplefilter("error", RuntimeWarning)']
        indent = "        "
    if check == "mutation":
        lines.append("    before = {n: np.copy(v) for n, v in inputs.items()}")
    for c in calls:
        lines.append(f"{indent}{c} = mod.{c}({call})")
    if check == "mutation":
        lines.append("    assert all(np.array_equal(inputs[n], before[n]) for n in inputs)")
    if check == "consistency":
        if fn == "both":
            for n in wrt:
                lines.append(f"    np.testing.assert_allclose(backward.{n}, value_and_grad[1].{n}, "
                             "rtol=1e-9)")
        else:
            lines.append("    np.testing.assert_allclose(forward, value_and_grad[0], rtol=1e-9)")
        return "\n".join(lines) + "\n"
    value_expr = {"forward": "forward", "value_and_grad": "value_and_grad[0]"}.get(calls[-1])
    grads_expr = {"backward": "backward", "value_and_grad": "value_and_grad[1]"}.get(calls[-1])

    def compare(got, expected, mask, allowed, what):
        shown = _array_text(np.where(mask, expected, np.nan))
        lines.append(f"    expected = {shown}  # {what}; nan: not checked")
        lines.append(f"    allowed = {_array_text(np.where(mask, allowed, np.nan))}")
        lines.append(f"    error = np.abs(np.asarray({got}, dtype=np.float64) - expected)")
        lines.append("    assert np.all((error <= allowed) | np.isnan(expected)), error")

    if value_expr:
        lines.append(f"    assert np.shape({value_expr}) == {shape!r}")
        lines.append(f"    assert np.asarray({value_expr}).dtype == {dtype_text}")
        mask, allowed = value_tolerance(ref, dtype)
        compare(value_expr, ref.value, mask, allowed, "the exact value, rounded")
    if grads_expr and ref.jac is not None:
        vjp = ref.jac.vjp(1.0 if g is None else g)
        g_max = 1.0 if g is None else float(np.max(np.abs(g), initial=0.0))
        for n in wrt:
            lines.append(f"    assert np.shape({grads_expr}.{n}) == {np.shape(values[n])!r}")
            lines.append(f"    assert np.asarray({grads_expr}.{n}).dtype == {dtype_text}")
            mask, allowed = gradient_tolerance(ref, vjp, n, g_max, dtype, values[n], terms=True)
            compare(f"{grads_expr}.{n}", vjp[0][n], mask, allowed, "finite differences")
    return "\n".join(lines) + "\n"


# ---- campaigns ----------------------------------------------------------------------------------

@dataclass
class Found:
    """The first program of one failure class, and how often the class was seen."""

    key: str
    program: Program
    values: dict
    failure: Failure
    count: int = 1
    shrunk: str | None = None  # the shrunk reproducer, as a regression test
    indices: list = field(default_factory=list)  # the campaign's index of each program of the class


@dataclass
class Summary:
    programs: int = 0
    samples: int = 0
    checks: int = 0
    skipped: Counter = field(default_factory=Counter)
    found: dict = field(default_factory=dict)  # key -> Found
    seconds: float = 0.0

    def add(self, other: Summary):
        self.programs += other.programs
        self.samples += other.samples
        self.checks += other.checks
        self.skipped.update(other.skipped)
        for key, found in other.found.items():
            if key in self.found:
                self.found[key].count += found.count
                self.found[key].indices.extend(found.indices)
            else:
                self.found[key] = found

    def report(self) -> str:
        lines = [(f"{self.programs} programs, {self.samples} input sets, {self.checks} checks "
                  f"in {self.seconds:.1f} s")]
        if self.skipped:
            lines.append("skipped:")
            lines += [f"  {count:8d}  {reason}" for reason, count in self.skipped.most_common() if count]
        if not self.found:
            lines.append("no failures")
        else:
            lines.append(f"{len(self.found)} failure classes:")
            for key, found in sorted(self.found.items(), key=lambda kv: kv[1].failure.rank):
                lines.append(f"  {found.count:6d}  {key}")
            for key, found in sorted(self.found.items(), key=lambda kv: kv[1].failure.rank):
                lines.append("")
                lines.append(f"=== {key} ({found.count} programs) ===")
                if found.indices:
                    shown = ", ".join(map(str, sorted(found.indices)[:20]))
                    lines.append(f"programs {shown}{' ...' if len(found.indices) > 20 else ''}")
                lines.append(found.failure.message.splitlines()[0][:300] if found.failure.message else "")
                if found.shrunk:
                    lines.append(found.shrunk)
                elif found.program is not None:
                    lines.append(render(found.program))
                    lines.append(f"inputs: {found.values!r}")
        return "\n".join(lines)


def program_seed(seed: int, index: int) -> int:
    return (seed * 1_000_003 + index * 7_919 + 12_345) % 2**62


class ProgramTimeout(BaseException):
    """A program took longer than its time limit to compile and check (a BaseException, so
    that the oracle's handlers for exceptions of generated code do not take it)."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Raise ProgramTimeout in the block after ``seconds`` (Unix main thread; else no limit)."""
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise ProgramTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_programs(seed: int, indices, *, input_sets: int = 1, oracle: Oracle | None = None,
                 deadline: float | None = None, program_timeout: float | None = None) -> Summary:
    """Generate and check the programs ``indices`` of campaign ``seed``; a program whose input
    set takes longer than ``program_timeout`` seconds is a failure of class timeout."""
    oracle = oracle or Oracle()
    summary = Summary()
    start = time.monotonic()
    for index in indices:
        if deadline is not None and time.monotonic() > deadline:
            break
        s = program_seed(seed, index)
        program = Generator(s).program()
        summary.programs += 1
        rng = np.random.default_rng(s)
        for _ in range(input_sets):
            values = sample_inputs(program, rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    with time_limit(program_timeout):
                        outcome = oracle.check(program, values)
                except ProgramTimeout:
                    outcome = Outcome(render(program))
                    outcome.fail("timeout:program", f"program {index} of seed {seed} took over "
                                                    f"{program_timeout:g} s to compile and check")
                except Exception as exc:  # noqa: BLE001 - a bug in the oracle must not stop the run
                    outcome = Outcome(render(program))
                    outcome.fail(f"crash:oracle:{type(exc).__name__}",
                                 "".join(traceback.format_exception(exc)))
            summary.samples += 1
            summary.checks += outcome.checks
            summary.skipped.update(outcome.skipped)
            primary = outcome.primary
            if primary is not None:
                if primary.key in summary.found:
                    summary.found[primary.key].count += 1
                    summary.found[primary.key].indices.append(index)
                else:
                    summary.found[primary.key] = Found(primary.key, program, values, primary, indices=[index])
                break
    summary.seconds = time.monotonic() - start
    return summary


def shrink_found(found: Found, budget: float = 30.0, oracle: Oracle | None = None) -> Found:
    """``found`` with its program shrunk and written out as a regression test."""
    oracle = oracle or Oracle()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program, values, outcome = shrink(found.program, found.values, found.key, oracle, budget)
        failure = next((f for f in outcome.failures if f.key == found.key), found.failure)
        try:
            test = regression_test(program, values, failure, oracle)
        except Exception as exc:  # noqa: BLE001 - the summary still shows the shrunk program
            test = f"# (no regression test: {type(exc).__name__}: {exc})\n"
    source = render(program)
    text = (f"shrunk program ({size(program)} nodes):\n{source}\n"
            f"inputs: {{{', '.join(f'{n!r}: {_array_text(v)}' for n, v in values.items())}}}"
            f"{'  wrt=' + repr(list(program.wrt)) if program.wrt else ''}\n"
            f"failure: {failure.message.splitlines()[0][:300]}\n\nregression test:\n{test}")
    return replace(found, program=program, values=values, failure=failure, shrunk=text)
