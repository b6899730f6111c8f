"""The input language's tables: its constructs, operators, module prefixes and messages."""

from __future__ import annotations

import ast
import math

import sympy as sp

from ..errors import ParseError

# How constructs are named in "... is not supported" messages.
CONSTRUCTS = {
    "For": "for loops are", "AsyncFor": "for loops are", "While": "while loops are",
    "If": "if statements are", "With": "with statements are", "AsyncWith": "with statements are",
    "Import": "import statements are", "ImportFrom": "import statements are",
    "Global": "global statements are", "Nonlocal": "nonlocal statements are",
    "ClassDef": "class definitions are", "FunctionDef": "nested function definitions are",
    "AsyncFunctionDef": "async functions are", "Try": "try statements are", "TryStar": "try statements are",
    "Raise": "raise statements are", "Assert": "assert statements are", "Delete": "del statements are",
    "Match": "match statements are", "Break": "break statements are", "Continue": "continue statements are",
    "Lambda": "lambda functions are", "ListComp": "list comprehensions are",
    "SetComp": "set comprehensions are", "DictComp": "dict comprehensions are",
    "GeneratorExp": "generator expressions are", "NamedExpr": "assignment expressions (:=) are",
    "JoinedStr": "f-strings are", "FormattedValue": "f-strings are", "Subscript": "subscripts (indexing) are",
    "Slice": "slices are", "Starred": "starred arguments (*args) are", "Await": "await is",
    "Yield": "yield is", "YieldFrom": "yield is", "Dict": "dict literals are", "Set": "set literals are",
    "List": "list literals are", "Tuple": "tuples are", "IfExp": "conditional expressions (a if c else b) are",
    "BoolOp": "'and' / 'or' are", "Expr": "expression statements are",
    "AnnAssign": "annotated assignments outside functions are",
    "AugAssign": "augmented assignments (+= and friends) outside functions are",
    "Assign": "assignments other than NAME = <constant> outside functions are",
    "TypeAlias": "type alias statements are", "Return": "return outside a function is",
}


HINTS = {
    "While": "loop with for over range(K), K known at compile time (loops are unrolled)",
    "Import": "imports are not needed: np., torch., math. and F. prefixes are understood as written",
    "ImportFrom": "imports are not needed: np., torch., math. and F. prefixes are understood as written",
    "Lambda": "define a helper function with def instead",
}


BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
          ast.MatMult: "matmul", ast.FloorDiv: "floor_divide", ast.Mod: "remainder"}


BINOP_HINTS = {ast.LShift: "shifts are not supported",
               ast.RShift: "shifts are not supported", ast.BitXor: "^ is not supported"}


COMPARE = {ast.Lt: sp.StrictLessThan, ast.LtE: sp.LessThan, ast.Gt: sp.StrictGreaterThan,
           ast.GtE: sp.GreaterThan, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}


MODULE_ROOTS = {"np", "numpy", "torch", "math", "F", "scipy"}


OP_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitXor: "^",
            ast.BitAnd: "&", ast.BitOr: "|", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
            ast.NotIn: "not in"}


class MaxResult(tuple):
    """torch.max(x, dim) and torch.min(x, dim), torch.sort(x) and torch.topk(x, k): (values,
    indices), also read as ``.values`` and ``.indices``; the indices are a Poison (integers,
    not computed). ``what`` names the call in messages."""

    def __new__(cls, items, what: str = "torch.max(x, dim) or torch.min(x, dim)"):
        pair = super().__new__(cls, items)
        pair.what = what
        return pair


class Slices:
    """An array's slices along an axis, as many as its size there (known only when the module
    runs): ``a, b = x`` (its rows, as Python iterates over them) and ``torch.unbind(x, dim)``.
    They are unpacked into names (the module checks the count, as Python would) or indexed
    with an integer known now. ``what`` names them in messages."""

    def __init__(self, of: int, axis: int, what: str):
        self.of, self.axis, self.what = of, axis, what


class Poison:
    """A constant that has no finite real value (sqrt(-2), log(0)), kept unevaluated: it
    is an error only where it is used. A constant where() condition may drop it, as a
    guarded branch such as where(b > 0, sqrt(b), 1.0) with a constant b = -2 does."""

    def __init__(self, error: ParseError):
        self.error = error


def is_const(item) -> bool:
    return isinstance(item, sp.Basic) and not isinstance(item, sp.Symbol) and not item.free_symbols


def short(text: str, limit: int = 60) -> str:
    """Text for a message, shortened in the middle when it is very long."""
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-(limit // 4):]}"


def is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def dotted_name(node, limit: int = 8) -> str | None:
    """``a.b.c`` as text; None unless it is a name followed by at most ``limit`` attributes
    (module paths are short, and a long x.T.T.T... chain must not cost its length per link)."""
    parts = []
    while isinstance(node, ast.Attribute):
        if len(parts) == limit:
            return None
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def int_literal(node) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_literal(node.operand)
        return -inner if inner is not None else None
    return None


def to_float(value) -> float:
    """float(value), or a signed inf where it overflows (nan where undefined)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan
