"""The op table: every function the input language knows, its spellings and signature.

A call resolves here by name (after stripping a module prefix such as ``np.`` or
``torch.nn.functional.``) to an :class:`OpSpec`. The spec says which parameters
are differentiable operands and which are static (axis, keepdims), and builds the
op's SymPy expression from its operands. Derivative rules live in ``rules.py``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from . import symbolic as S

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


@dataclass(frozen=True)
class Param:
    """One parameter of an op.

    kind: "tensor" (differentiable operand), "cond" (a boolean condition),
    "bound" (a tensor or None), "axis" (None, an int or a tuple of ints), "flag" (bool).
    """

    name: str
    kind: str = "tensor"
    default: object = REQUIRED
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpSpec:
    name: str
    params: tuple[Param, ...]
    kind: str  # "elementwise", "reduction" or "linalg"
    build: Callable[..., sp.Basic]
    spellings: tuple[str, ...] = ()

    def signature(self) -> str:
        parts = []
        for p in self.params:
            names = "/".join((p.name,) + p.aliases)
            parts.append(names if p.default is REQUIRED else f"{names}={p.default!r}")
        return f"{self.name}({', '.join(parts)})"


_X = (Param("x", aliases=("input", "a")),)
_XY = (Param("x1", aliases=("input", "a")), Param("x2", aliases=("other", "b", "exponent")))
_REDUCE = (
    Param("x", aliases=("input", "a")),
    Param("axis", "axis", None, ("dim",)),
    Param("keepdims", "flag", False, ("keepdim",)),
)


def _unary(build, *spellings):
    return (_X, "elementwise", build, spellings)


def _reduction(head):
    return (_REDUCE, "reduction", lambda x, keepdims, axes: head(x, sp.Integer(int(keepdims)), *axes), ())


_TABLE = {
    "sin": _unary(sp.sin),
    "cos": _unary(sp.cos),
    "tan": _unary(sp.tan),
    "arcsin": _unary(sp.asin, "asin"),
    "arccos": _unary(sp.acos, "acos"),
    "arctan": _unary(sp.atan, "atan"),
    "sinh": _unary(sp.sinh),
    "cosh": _unary(sp.cosh),
    "tanh": _unary(sp.tanh),
    "arcsinh": _unary(sp.asinh, "asinh"),
    "arccosh": _unary(sp.acosh, "acosh"),
    "arctanh": _unary(sp.atanh, "atanh"),
    "exp": _unary(sp.exp),
    "exp2": _unary(S.exp2),
    "expm1": _unary(S.expm1),
    "log": _unary(sp.log),
    "log2": _unary(S.log2),
    "log10": _unary(S.log10),
    "log1p": _unary(S.log1p),
    "sqrt": _unary(sp.sqrt),
    "square": _unary(lambda x: x**2),
    "abs": _unary(sp.Abs, "absolute", "fabs"),
    "sign": _unary(sp.sign),
    "floor": _unary(sp.floor),
    "ceil": _unary(sp.ceiling),
    "erf": _unary(sp.erf),
    "sigmoid": _unary(S.sigmoid, "expit"),
    "softplus": _unary(S.softplus),
    "relu": _unary(S.relu),
    "arctan2": (_XY, "elementwise", sp.atan2, ("atan2",)),
    "hypot": (_XY, "elementwise", S.hypot, ()),
    "maximum": (_XY, "elementwise", S.maximum, ()),
    "minimum": (_XY, "elementwise", S.minimum, ()),
    "logaddexp": (_XY, "elementwise", S.logaddexp, ()),
    "power": (_XY, "elementwise", lambda a, b: a**b, ("pow",)),
    "clamp": (
        (
            Param("x", aliases=("input", "a")),
            Param("min", "bound", None, ("a_min", "lo")),
            Param("max", "bound", None, ("a_max", "hi")),
        ),
        "elementwise",
        S.clip,
        ("clip",),
    ),
    "where": (
        (Param("condition", "cond"), Param("x", aliases=("input",)), Param("y", aliases=("other",))),
        "elementwise",
        S.where,
        (),
    ),
    "sum": _reduction(S.reduce_sum),
    "mean": _reduction(S.reduce_mean),
    "logsumexp": _reduction(S.reduce_logsumexp),
    "matmul": (_XY, "linalg", S.matmul, ()),
    "dot": (_XY, "linalg", S.dot, ()),
    "transpose": (_X, "linalg", S.transpose, ("t",)),
}

OPS: dict[str, OpSpec] = {}
SPELLINGS: dict[str, OpSpec] = {}
for _name, (_params, _kind, _build, _aliases) in _TABLE.items():
    OPS[_name] = OpSpec(_name, _params, _kind, _build, (_name,) + _aliases)
    for _spelling in OPS[_name].spellings:
        SPELLINGS[_spelling] = OPS[_name]

# Operators of the language map onto elementwise ops of their own.
OPERATORS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "neg": lambda a: -a,
}


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
