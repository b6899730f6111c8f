"""The op registry: everything derivgen knows about each op, in one entry per op.

An :class:`OpSpec` says how the front end spells and calls the op (spellings, parameters,
the SymPy expression it builds), how it is differentiated (its vector-Jacobian rule and the
note the generated code repeats at a kink), which operands can make it fail where a NaN-safe
``where`` must guard them, and how backends print it (a NumPy function, a ``math`` function
for constants and the scalar path, or a run-time helper), with the facts the passes need:
whether it works element by element (and so can be computed in blocks), whether its result
is a new array, whether the scalar path can express it.

Passes and printers ask the registry; none keeps a list of op names. The tables below
(``NUMPY``, ``HAZARDS``, ``RULES``, ...) are views kept up to date by :func:`register`: they
are the same objects wherever they are imported, so an op registered at run time is known
everywhere at once. Built-in ops are in ``catalog.py`` (those that move elements in
``layout.py``, joins in ``joins.py``, contractions (np.einsum and its kin) in
``contractions.py``, arrays of constants in ``constants.py``, running sums and products,
``np.prod`` and the positions that sort an array in ``scans.py``); the heads the passes
introduce (helpers that share work, gradient plumbing) in ``internal.py``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp

from .. import symbolic as S
from . import shapes as _shapes

# Module prefixes a call may carry; longest first so "torch.nn.functional." wins over "torch.".
PREFIXES = (
    "torch.nn.functional.",
    "torch.special.",
    "scipy.special.",
    "numpy.",
    "torch.",
    "math.",
    "np.",
    "F.",
)
# Named constants reachable through a prefix (never bare: a bare `e` or `pi` is an input).
# Their float64 values, as in the NumPy program the source is: np.sin(np.pi) is 1.2e-16, not 0.
CONSTANTS = {"pi": sp.Float(math.pi), "e": sp.Float(math.e), "inf": sp.oo}

REQUIRED = object()

# The symbols a rule's terms are written in: the op's value, its adjoint, and the shapes of
# the operand a term is for and of the op's value.
OUT = sp.Symbol("_out")
G = sp.Symbol("_g")
SHAPE = sp.Symbol("_shape")
OUT_SHAPE = sp.Symbol("_out_shape")

KINDS = ("elementwise", "reduction", "linalg", "internal")
# How a rule's terms relate to the shape of the operand they are for: "elementwise" terms
# broadcast like the op (and are summed back to the operand's shape), "shaped" ones have it
# already (a matrix product's), "expanded" ones have the reduced axes restored as size 1.
GRADIENT_SHAPES = ("elementwise", "shaped", "expanded")


@dataclass(frozen=True)
class Param:
    """One parameter of an op.

    kind: "tensor" (differentiable operand), "cond" (a boolean condition),
    "bound" (a tensor or None), "positions" (an operand holding integer positions, no
    gradient: derivgen/frontend/positions.py), "arrays" (a list or tuple of operands, each one
    of the op's operands: np.stack's), "axis" (a reduction's: None, an int or a tuple of ints),
    "flag" (bool); and the static arguments of an op that moves elements, written into its
    Static operand in the order of its parameters: "int", "axis1" (None or an int), "axes"
    (None, an int or a tuple), "order" (every axis, in a new order: a tuple), "shifts" (an
    int or a tuple of ints), "shape" (a tuple of sizes), "sizes" (a tuple of sizes, -1
    keeping the operand's size there: PyTorch's expand), "index" (of a subscript,
    derivgen/ops/indexing.py), "subscripts" (np.einsum's, normalised: derivgen/ops/contractions.py),
    "contraction" (np.tensordot's axes: a count, or a pair of tuples of axes). The last
    parameter of kind "shape", "sizes", "axes" or "order" may be given as several positional
    arguments. Constants of an elementwise op, written into its template as numbers: "number"
    (a finite real known when compiling: F.elu's alpha) and "choice" (a string literal among
    ``choices``, (string, op name) pairs, that picks the op: F.gelu's approximate).
    """

    name: str
    kind: str = "tensor"
    default: object = REQUIRED
    aliases: tuple[str, ...] = ()
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OpSpec:
    """One op. ``rule(operands, static)`` returns one term per operand (``None`` where no
    gradient flows), written in the operands, :data:`OUT`, :data:`G` and the shape symbols.

    Printing: ``numpy`` and ``math`` are a function's name (``"arctan2"``) or a format of the
    printed operands ``{0}``, ``{1}`` and the modules ``{np}``, ``{math}``
    (``"{np}.power({0}, 3)"``); ``helper`` is the key of a run-time helper the NumPy path calls
    instead, ``scalar_helper`` the scalar path's. An op without any of them is printed by a
    method of the printer (``_print_<head>``), for spellings that take more than a call.
    """

    name: str
    params: tuple[Param, ...] = ()
    kind: str = "elementwise"
    build: Callable[..., sp.Basic] | None = None
    spellings: tuple[str, ...] = ()
    head: type | None = None  # the SymPy function its template is built from, if any
    rule: Callable | None = None
    note: str | None = None
    hazards: tuple[tuple[int, float], ...] = ()  # (operand index, a value where it is harmless)
    numpy: str | None = None
    math: str | None = None
    helper: str | None = None
    scalar_helper: str | None = None
    ufunc: bool = False  # one operand, its dtype kept: may be written over a new operand array
    new_array: bool = False  # the result is a new array (never an operand or a view of one)
    scalar: bool = True  # the scalar path (Python floats) can compute it
    blockable: bool | None = None  # computed block by block; default: elementwise ops
    gradient: str = "elementwise"  # see GRADIENT_SHAPES
    parts: type | None = None  # the helper head computing it with its gradient's weights
    # gate(operands) -> one condition per operand (or None): where it is false, the op passes
    # no gradient to that operand (relu: x > 0; where: its condition), in the operands'
    # placeholders and OUT. The sweep computes a hazardous user's term for this op's value on
    # harmless values there: sqrt(relu(x)) at x < 0 needs no 1/sqrt(0).
    gate: Callable | None = None
    # shape(operand shapes, static) -> the result's shape (derivgen/ops/shapes.py); default:
    # the operands broadcast together, or a reduction's over its axes.
    shape: Callable | None = None
    axes: bool = False  # its static operands are keepdims, then axes (a reduction's, a helper's)
    # (the open interval where the op and its derivative are finite, the range `derivgen check`
    # draws an input it reads from when the default range is not inside that interval)
    domain: tuple[tuple[float, float], tuple[float, float]] | None = None
    # operand 0 raised to operand 1: a whole constant exponent has no domain and no kink note
    power: bool = False
    results: int = 1  # a helper computing several results at once: its users pick one (S.part)
    # A sum over every element (of its operands' product, or summed to a shape): the head
    # whose blocks add up to its total (derivgen/blocking.py), itself for a sum, the sum a
    # mean divides by its count for a mean.
    summed: type | None = None
    # Its NumPy function is not a ufunc: a Python number among its first ``promotes`` operands
    # (-1: all but the last, a join's arrays before its Static operand) comes out a float64
    # array (np.dot(x, 2), np.mean(-0.5), np.stack((0.5, x))), whatever the inputs' dtype.
    promotes: int = 0
    # Its NumPy function makes a float64 array whatever the inputs' dtype (np.zeros, np.eye):
    # a result it reaches is cast to the inputs' dtype.
    float64: bool = False
    shape_operands: Callable | None = None  # (operand count) -> the positions that are shapes
    # Of 0-d operands, its result is a 0-d array (a view, or an array a helper made), where
    # NumPy's arithmetic gives a NumPy scalar: a result it computes is cast to one.
    zero_d: bool = False
    # Its value is an integer read off its operand's shape (len(x), x.shape[0]), or a check
    # of such integers (an assert): no gradient flows through it, and it is a plain number,
    # as a constant is (no dtype of its own).
    sizes: bool = False
    doc: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"op {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.gradient not in GRADIENT_SHAPES:
            raise ValueError(f"op {self.name!r}: gradient must be one of {GRADIENT_SHAPES}")

    @property
    def head_name(self) -> str | None:
        return None if self.head is None else self.head.__name__

    @property
    def elementwise(self) -> bool:
        return self.kind == "elementwise"

    @property
    def blocks(self) -> bool:
        return self.elementwise if self.blockable is None else self.blockable

    def result_shape(self, shapes, static=()) -> tuple:
        """The shape of its result for operands of these shapes (ValueError: they do not fit)."""
        if self.shape is not None:
            return self.shape(shapes, static)
        return _shapes.reduction(shapes, static) if self.kind == "reduction" else _shapes.broadcast(shapes)

    def signature(self) -> str:
        parts = []
        for p in self.params:
            names = "/".join((p.name,) + p.aliases)
            parts.append(names if p.default is REQUIRED else f"{names}={p.default!r}")
        return f"{self.name}({', '.join(parts)})"


# ---- the views ------------------------------------------------------------------------------
OPS: dict[str, OpSpec] = {}  # op name -> spec (every op, internal ones too)
SPELLINGS: dict[str, OpSpec] = {}  # a name the input language may call -> spec
OPERATORS: dict[str, Callable] = {}  # operators of the language (add, neg, ...) -> build
HEADS: dict[str, OpSpec] = {}  # SymPy head name -> the spec printing it
NUMPY: dict[str, str] = {}  # head -> NumPy spelling
MATH: dict[str, str] = {}  # head -> math spelling (constant operands, the scalar path)
HELPERS: dict[str, str] = {}  # head -> run-time helper key (NumPy path)
SCALAR_HELPERS: dict[str, str] = {}  # head -> run-time helper key (scalar path)
UNARY_UFUNCS: set[str] = set()  # heads
NEW_ARRAY_HEADS: set[str] = set()  # heads
ARRAY_ONLY: set[str] = set()  # op and head names the scalar path cannot compute
BLOCKABLE: set[str] = set()  # heads (and op names) computed element by element
ELEMENTWISE: set[str] = set()  # op names
HAZARDS: dict[str, dict[int, float]] = {}  # op name -> operand index -> harmless value
RULES: dict[str, Callable] = {}  # op name -> rule
NOTES: dict[str, str] = {}  # op name -> the note at its kink
SHAPED: set[str] = set()  # op names whose rule terms have their operand's shape
EXPANDED: set[str] = set()  # op names whose rule terms come with reduced axes restored
PARTS: dict[str, type] = {}  # op name -> the helper head computing it with its weights
AXES: set[str] = set()  # op names whose static operands are keepdims, then axes
DOMAINS: dict[str, tuple] = {}  # op name -> its domain (OpSpec.domain)
POWERS: set[str] = set()  # op names of powers (OpSpec.power)
SUMMED: dict[type, type] = {}  # head -> the head its blocks add up with (OpSpec.summed)
SHAPE_OPERANDS: dict[type, Callable] = {}  # head -> OpSpec.shape_operands
PROMOTES: dict[str, int] = {}  # head -> OpSpec.promotes
FLOAT64: set[str] = set()  # heads of OpSpec.float64
SEVERAL: set[str] = set()  # op names of helpers with several results (OpSpec.results)
STRUCTURAL: set[str] = set()  # reductions and linear algebra: results not shaped like their operands
SIZES: set[str] = set()  # op names of integers read off shapes (OpSpec.sizes)

_VIEWS = (OPS, SPELLINGS, OPERATORS, HEADS, NUMPY, MATH, HELPERS, SCALAR_HELPERS, UNARY_UFUNCS, NEW_ARRAY_HEADS,
          ARRAY_ONLY, BLOCKABLE, ELEMENTWISE, HAZARDS, RULES, NOTES, SHAPED, EXPANDED, PARTS, AXES, DOMAINS,
          POWERS, SEVERAL, STRUCTURAL, SUMMED, SHAPE_OPERANDS,
          PROMOTES, SIZES)


def register(spec: OpSpec, *, operator: bool = False) -> OpSpec:
    """Add ``spec`` to the registry (every view); an ``operator`` is built by the parser
    from Python's operators (``+``, unary ``-``) rather than called by name."""
    if spec.name in OPS:
        raise ValueError(f"op {spec.name!r} is registered already")
    taken = [s for s in spec.spellings if s in SPELLINGS]
    if taken:
        raise ValueError(f"op {spec.name!r}: {', '.join(taken)} already name another op")
    OPS[spec.name] = spec
    for spelling in spec.spellings:
        SPELLINGS[spelling] = spec
    if operator:
        OPERATORS[spec.name] = spec.build
        _OPERATOR_NAMES.add(spec.name)
    names = [spec.name] + ([spec.head_name] if spec.head is not None else [])
    if spec.head is not None:
        head = spec.head_name
        HEADS.setdefault(head, spec)
        for table, entry in ((NUMPY, spec.numpy), (MATH, spec.math), (HELPERS, spec.helper),
                             (SCALAR_HELPERS, spec.scalar_helper)):
            if entry is not None:
                table[head] = entry
        if spec.ufunc:
            UNARY_UFUNCS.add(head)
        if spec.ufunc or spec.new_array:
            NEW_ARRAY_HEADS.add(head)
    if not spec.scalar:
        ARRAY_ONLY.update(names)
    if spec.blocks:
        BLOCKABLE.update(names)
    if spec.elementwise:
        ELEMENTWISE.add(spec.name)
    if spec.hazards:
        HAZARDS[spec.name] = dict(spec.hazards)
    if spec.rule is not None:
        RULES[spec.name] = spec.rule
    if spec.note is not None:
        NOTES[spec.name] = spec.note
    {"shaped": SHAPED, "expanded": EXPANDED}.get(spec.gradient, set()).add(spec.name)
    if spec.parts is not None:
        PARTS[spec.name] = spec.parts
    if spec.axes or spec.kind == "reduction":
        AXES.add(spec.name)
    if spec.domain is not None:
        DOMAINS[spec.name] = spec.domain
    if spec.power:
        POWERS.add(spec.name)
    if spec.summed is not None:
        SUMMED[spec.head] = spec.summed
    if spec.shape_operands is not None:
        SHAPE_OPERANDS[spec.head] = spec.shape_operands
    if spec.promotes and spec.head is not None:
        PROMOTES[spec.head_name] = spec.promotes
    if spec.float64 and spec.head is not None:
        FLOAT64.add(spec.head_name)
    if spec.results > 1:
        SEVERAL.add(spec.name)
    if spec.kind in ("reduction", "linalg"):
        STRUCTURAL.add(spec.name)
    if spec.sizes:
        SIZES.add(spec.name)
    return spec


def unregister(name: str) -> None:
    """Remove the op ``name`` (registered at run time, by a test say) from every view."""
    if name not in OPS:
        raise KeyError(f"no op {name!r} is registered")
    keep = [s for s in OPS.values() if s.name != name]
    operators = set(_OPERATOR_NAMES)
    for view in _VIEWS:
        view.clear()
    _OPERATOR_NAMES.clear()
    for other in keep:
        register(other, operator=other.name in operators)


_OPERATOR_NAMES: set[str] = set()


# ---- building entries -----------------------------------------------------------------------
_X = (Param("x", aliases=("input", "a")),)
_XY = (Param("x1", aliases=("input", "a")), Param("x2", aliases=("other", "b", "exponent")))


def elementwise(name: str, arity: int, head: type | None = None, d: Callable | None = None, *,
                build: Callable | None = None, spellings: tuple[str, ...] = (),
                params: tuple[Param, ...] | None = None, hazards: Mapping[int, float] | None = None,
                **facts) -> OpSpec:
    """An elementwise op of ``arity`` tensor operands. ``d(*operands, out, g)`` gives the
    gradient terms (one expression for one operand, a tuple for two); without a ``head`` one
    is made (an opaque SymPy function named after the op) unless ``build`` makes the
    expression from others."""
    if head is None and build is None:
        head = S._opaque(name, arity, facts.get("doc") or f"the elementwise op {name}")
    if params is None:
        params = _X if arity == 1 else _XY if arity == 2 else tuple(Param(f"x{i}") for i in range(arity))
    rule = None
    if d is not None:
        if arity == 1:
            def rule(ops, static, d=d):
                return (d(ops[0], OUT, G),)
        else:
            def rule(ops, static, d=d):
                return tuple(d(*ops[:arity], OUT, G))
    return OpSpec(name, params, "elementwise", build or head, (name, *spellings), head=head, rule=rule,
                  hazards=tuple(sorted((hazards or {}).items())), **facts)


from . import (  # the built-in entries register themselves (after the above)
    catalog,
    constants,
    contractions,
    internal,
    joins,
    layout,
    scans,
    sizes,
    special,
)

__all__ = [
    "CONSTANTS",
    "OPS",
    "OUT",
    "OUT_SHAPE",
    "PREFIXES",
    "REQUIRED",
    "SHAPE",
    "SPELLINGS",
    "G",
    "OpSpec",
    "Param",
    "catalog",
    "constants",
    "contractions",
    "elementwise",
    "internal",
    "joins",
    "layout",
    "lookup",
    "register",
    "scans",
    "sizes",
    "special",
    "strip_prefix",
    "suggest",
    "unregister",
]


def strip_prefix(dotted: str) -> tuple[str, str]:
    """Split ``torch.nn.functional.relu`` into (prefix, "relu"); prefix "" when bare."""
    for prefix in PREFIXES:
        if dotted.startswith(prefix):
            return prefix, dotted[len(prefix):]
    return "", dotted


def lookup(dotted: str) -> OpSpec | None:
    _, name = strip_prefix(dotted)
    if "." in name:
        return None
    return SPELLINGS.get(name)


def suggest(dotted: str) -> str | None:
    """The closest known spelling, for "did you mean" messages."""
    prefix, name = strip_prefix(dotted)
    close = difflib.get_close_matches(name, sorted(SPELLINGS), n=1, cutoff=0.6)
    return prefix + close[0] if close else None

