"""The safe parser: Python source -> SSA graph, through an allowlist of AST nodes.

Nothing in the source is ever executed or imported. Each accepted AST node type
has one ``visit_*`` method; every other node is rejected with a ParseError that
names the construct and points at its line and column. Helper functions are
inlined at their call sites; re-assignment becomes a new SSA value.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
import sys
from contextlib import contextmanager

import sympy as sp

from . import ops, symbolic
from .errors import ParseError, UnsupportedError, UsageError
from .graph import Graph, Program, placeholder
from .nesting import parse_deep

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
    "If": "write the branches as where(condition, a, b)",
    "IfExp": "write it as where(condition, a, b)",
    "BoolOp": "combine conditions with & and |, e.g. where((x > 0) & (x < 1), a, b)",
    "For": "unroll the loop, or express it with sum()/mean() over an axis",
    "While": "unroll the loop",
    "Subscript": "use reductions (sum, mean) or matmul instead of indexing",
    "Import": "imports are not needed: np., torch., math. and F. prefixes are understood as written",
    "ImportFrom": "imports are not needed: np., torch., math. and F. prefixes are understood as written",
    "Lambda": "define a helper function with def instead",
}
BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
          ast.MatMult: "matmul"}
BINOP_HINTS = {ast.FloorDiv: "floor division has no useful gradient; write floor(a / b)",
               ast.Mod: "% is not supported", ast.LShift: "shifts are not supported",
               ast.RShift: "shifts are not supported", ast.BitXor: "^ is not supported"}
COMPARE = {ast.Lt: sp.StrictLessThan, ast.LtE: sp.LessThan, ast.Gt: sp.StrictGreaterThan,
           ast.GtE: sp.GreaterThan, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}
MODULE_ROOTS = {"np", "numpy", "torch", "math", "F", "scipy"}
# Top-level imports of these modules are accepted (and ignored: nothing is imported).
KNOWN_IMPORTS = {"numpy", "torch", "math", "torch.nn.functional", "torch.nn", "scipy.special",
                 "torch.special", "scipy"}
MAX_INLINE_DEPTH = 100
RECURSION_LIMIT = 60000
# Expression nodes read, counting each inlined helper body once per call: the bound on
# the work (and graph size) any source can cause. A 5,000-step chain is about 50,000.
MAX_NODES = 100_000
MAX_AXES = 64  # NumPy arrays have at most 64 dimensions


class Poison:
    """A constant that has no finite real value (sqrt(-2), log(0)), kept unevaluated: it
    is an error only where it is used. A constant where() condition may drop it, as a
    guarded branch such as where(b > 0, sqrt(b), 1.0) with a constant b = -2 does."""

    def __init__(self, error: ParseError):
        self.error = error


_NUL = re.compile("\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _syntax_message(msg: str) -> tuple[str, str | None]:
    """A SyntaxError's message as derivgen reports it, with a hint where one helps."""
    digits = re.match(r"Exceeds the limit \((\d+) digits\)", msg)
    if digits:
        return (f"an integer literal with more than {digits.group(1)} digits is too long to read",
                "constants must fit in a float64 (|x| < 1.8e308)")
    if msg.startswith("brackets are nested"):
        return msg, "split deeply nested expressions into several assignments"
    if msg.startswith("too many nested parentheses"):
        return f"invalid syntax: {msg}", "split deeply nested expressions into several assignments"
    if msg == "invalid syntax":
        return msg, None
    return f"invalid syntax: {msg}", None


def _is_const(item) -> bool:
    return isinstance(item, sp.Basic) and not isinstance(item, sp.Symbol) and not item.free_symbols


@contextmanager
def _deep_recursion():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _short(text: str, limit: int = 60) -> str:
    """Text for a message, shortened in the middle when it is very long."""
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-(limit // 4):]}"


def normalize(source: str) -> str:
    """The source with a leading byte order mark dropped and line ends as Python reads them."""
    source = source.removeprefix("\ufeff")
    return source.replace("\r\n", "\n").replace("\r", "\n")


class Parser:
    def __init__(self, source: str, filename: str):
        source = normalize(source)
        self.source = source
        self.filename = filename
        self.lines = source.split("\n")
        self.graph = Graph()
        self.functions: dict[str, ast.FunctionDef] = {}
        self.globals: dict[str, object] = {}
        self.inputs: dict[str, int] = {}
        self.free_inputs = False  # expression mode: unknown names become inputs
        self.call_stack: list[str] = []
        self.inlined: dict[tuple, object] = {}  # (helper, arguments) -> its value
        self.nodes = 0  # expression nodes read so far, against MAX_NODES

    # ---- errors -------------------------------------------------------------------
    def error(self, node, message: str, hint: str | None = None, cls=ParseError) -> ParseError:
        line = getattr(node, "lineno", 1) or 1
        col = getattr(node, "col_offset", 0) or 0
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        # ast columns count UTF-8 bytes; report characters.
        col = len(text.encode("utf-8")[:col].decode("utf-8", "replace")) + 1
        return cls(message, line, col, text, self.filename, hint)

    def unsupported(self, node, what: str | None = None) -> ParseError:
        """``what`` names the construct with its verb: "for loops are", "strings are"."""
        kind = type(node).__name__
        what = what or CONSTRUCTS.get(kind, f"{kind} nodes are")
        return self.error(node, f"{what} not supported", HINTS.get(kind), UnsupportedError)

    # ---- entry points ---------------------------------------------------------------
    def parse(self, function: str | None) -> Program:
        if not self.source.strip():
            raise ParseError("empty source", 1, 1, "", self.filename,
                             "write an expression such as sin(x**2), or a def with a return")
        self._check_characters()
        with _deep_recursion():
            try:
                tree = self._ast(function)
                if isinstance(tree, ast.Expression):
                    return self._expression(tree)
                return self._module(tree, function)
            except (RecursionError, MemoryError):
                raise self.too_deep() from None

    def too_deep(self) -> ParseError:
        return ParseError("the source is nested too deeply (or is too large) to compile", 1, 1,
                          self.lines[0], self.filename,
                          "split deeply nested expressions into several assignments")

    def _check_characters(self):
        """Characters no Python source may hold, pointed at before parsing."""
        for pattern, what in ((_NUL, "a null byte (\\x00)"), (_SURROGATE, "an unpaired surrogate")):
            found = pattern.search(self.source)
            if found:
                line = self.source.count("\n", 0, found.start()) + 1
                col = found.start() - (self.source.rfind("\n", 0, found.start()) + 1) + 1
                code = f"U+{ord(found.group()):04X}"
                raise ParseError(f"the source contains {what} ({code}), which is not valid in Python source",
                                 line, col, self.lines[line - 1], self.filename)

    def _ast(self, function):
        try:
            return parse_deep(self.source, self.filename, "eval")
        except SyntaxError as expr_error:
            first = expr_error
        except (ValueError, OverflowError) as exc:  # e.g. an integer literal too long to read
            raise ParseError(f"cannot read the source: {exc}", 1, 1, "", self.filename) from None
        try:
            return parse_deep(self.source, self.filename, "exec")
        except SyntaxError as exc:
            # Report the error of the reading the source was most likely meant as.
            err = exc if ("def " in self.source or "\n" in self.source.strip()) else first
            line, col = err.lineno or 1, err.offset or 1
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else (err.text or "")
            message, hint = _syntax_message(str(err.msg))
            raise ParseError(message, line, max(col, 1), text, self.filename, hint) from None
        except (ValueError, OverflowError) as exc:
            raise ParseError(f"cannot read the source: {exc}", 1, 1, "", self.filename) from None

    def _expression(self, tree: ast.Expression) -> Program:
        self.free_inputs = True
        result = self.expr(tree.body, {})
        out = self.as_value(result, tree.body, "the expression")
        if not self.inputs:
            raise self.error(tree.body, "the expression has no inputs: nothing to differentiate",
                             "use a name such as x for each input")
        name = "f"
        return Program(self.graph, tuple(self.inputs), dict(self.inputs), out, name, "expression",
                       self.source, self.filename, self.source.strip())

    def _module(self, tree: ast.Module, function: str | None) -> Program:
        for i, stmt in enumerate(tree.body):
            if isinstance(stmt, ast.FunctionDef):
                if stmt.name in self.functions:
                    raise self.error(stmt, f"function '{stmt.name}' is defined twice")
                self.functions[stmt.name] = stmt
            elif i == 0 and _is_docstring(stmt):
                continue
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)) and self._known_import(stmt):
                continue  # accepted as documentation of the prefixes; nothing is imported
            elif isinstance(stmt, ast.Pass):
                continue
            elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                  or isinstance(stmt, ast.AnnAssign) and stmt.value is not None
                  and isinstance(stmt.target, ast.Name)):
                value = self.expr(stmt.value, {})
                if not _is_const(value):
                    raise self.error(stmt.value, "module-level assignments must be constants")
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                self.globals[self._target(target)] = value
            elif isinstance(stmt, ast.Expr) and any(isinstance(s, ast.FunctionDef) for s in tree.body):
                raise self.error(stmt, "a top-level expression cannot be mixed with def statements",
                                 "put the expression in a function's return statement")
            elif isinstance(stmt, ast.Expr) and i > 0:
                raise self.error(stmt, "an expression source must be a single expression; "
                                       "here a second statement starts",
                                 "wrap a multi-line expression in parentheses, or write a def with a return")
            elif not isinstance(stmt, ast.Expr):
                raise self.unsupported(stmt)
        if not self.functions:
            raise self.error(tree.body[0] if tree.body else None,
                             "the source has no function definition and is not a single expression")
        entry = self._entry(function)
        return self._function(entry)

    def _known_import(self, stmt) -> bool:
        if isinstance(stmt, ast.Import):
            return all(a.name in KNOWN_IMPORTS and (a.asname or a.name.split(".")[0]) in MODULE_ROOTS
                       for a in stmt.names)
        return (stmt.module in KNOWN_IMPORTS and stmt.level == 0
                and all(f"{stmt.module}.{a.name}" in KNOWN_IMPORTS or a.name == "functional"
                        for a in stmt.names)
                and all((a.asname or a.name) in MODULE_ROOTS for a in stmt.names))

    def _entry(self, function: str | None) -> ast.FunctionDef:
        names = sorted(self.functions)
        if function is not None and not isinstance(function, str):
            raise UsageError(f"function must be a function name (a str), not {type(function).__name__}")
        if function is not None:
            if function not in self.functions:
                close = difflib.get_close_matches(function, names, n=1)
                hint = f"did you mean '{_short(close[0])}'?" if close else None
                raise UsageError(f"no function named '{_short(function)}' in {self.filename}; "
                                 f"defined: {', '.join(names)}" + (f" ({hint})" if hint else ""))
            return self.functions[function]
        called = set()
        for fdef in self.functions.values():
            for node in ast.walk(fdef):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    called.add(node.func.id)
        roots = [n for n in names if n not in called]
        if len(names) == 1:
            return self.functions[names[0]]
        if len(roots) == 1:
            return self.functions[roots[0]]
        candidates = roots or names
        raise UsageError(f"{self.filename} defines several functions; choose one with "
                         f"function=... (candidates: {', '.join(candidates)})")

    def _function(self, fdef: ast.FunctionDef) -> Program:
        args = fdef.args
        if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            bad = args.vararg or args.kwarg or (args.kwonlyargs or args.posonlyargs)[0]
            bad = bad[0] if isinstance(bad, list) else bad
            raise self.error(bad, "the entry function takes plain positional parameters only "
                                  "(no *args, **kwargs, keyword-only or positional-only)")
        if args.defaults:
            raise self.error(args.defaults[0], "the entry function's parameters cannot have defaults",
                             "every parameter is an input; move constants into the body")
        if not args.args:
            raise self.error(fdef, f"function '{fdef.name}' has no parameters: nothing to differentiate")
        env = {}
        self._check_parameters(fdef)
        for a in args.args:
            name = self._check_name(a.arg, a)
            vid = self.graph.leaf("input", name, frozenset({name}), frozenset({name}))
            self.inputs[name] = vid
            env[name] = vid
        self._check_decorators(fdef)
        self.call_stack.append(fdef.name)
        result = self.run_body(fdef, env)
        out = self.as_value(result, fdef, f"function '{fdef.name}'")
        text = ast.get_source_segment(self.source, fdef) or fdef.name
        return Program(self.graph, tuple(self.inputs), dict(self.inputs), out, fdef.name, "function",
                       self.source, self.filename, text)

    def _check_parameters(self, fdef):
        seen = set()
        for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs:
            if a.arg in seen:
                raise self.error(a, f"duplicate parameter '{a.arg}' in function '{fdef.name}'")
            seen.add(a.arg)

    def _check_decorators(self, fdef):
        if fdef.decorator_list:
            raise self.error(fdef.decorator_list[0], "decorators are not supported")

    def _check_name(self, name: str, node) -> str:
        if name.startswith("__"):
            raise self.error(node, f"names starting with '__' are not allowed: '{_short(name)}'")
        return name

    def _target(self, node) -> str:
        if not isinstance(node, ast.Name):
            raise self.error(node, "only assignment to a plain name is supported",
                             "write one assignment per name: a = ...", UnsupportedError)
        return self._check_name(node.id, node)

    # ---- statements ---------------------------------------------------------------
    def run_body(self, fdef: ast.FunctionDef, env: dict):
        body = fdef.body
        for i, stmt in enumerate(body):
            if isinstance(stmt, ast.Return):
                if stmt.value is None:
                    raise self.error(stmt, "return needs a value")
                if i != len(body) - 1:
                    raise self.error(body[i + 1], "unreachable code after return")
                return self.expr(stmt.value, env)
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1:
                    raise self.error(stmt, "chained assignment (a = b = ...) is not supported")
                name = self._target(stmt.targets[0])
                env[name] = self.expr(stmt.value, env)
            elif isinstance(stmt, ast.AnnAssign):
                if stmt.value is None:
                    raise self.error(stmt, "an annotation needs a value here")
                env[self._target(stmt.target)] = self.expr(stmt.value, env)
            elif isinstance(stmt, ast.AugAssign):
                name = self._target(stmt.target)
                current = self.name(ast.Name(id=name, lineno=stmt.lineno, col_offset=stmt.col_offset), env)
                env[name] = self.binop(stmt.op, current, self.expr(stmt.value, env), stmt)
            elif isinstance(stmt, ast.Pass) or (i == 0 and _is_docstring(stmt)):
                continue
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Yield, ast.YieldFrom, ast.Await)):
                raise self.unsupported(stmt.value)
            elif isinstance(stmt, ast.Expr):
                raise self.error(stmt, "this statement has no effect", "assign the value or return it")
            else:
                raise self.unsupported(stmt)
        raise self.error(fdef, f"function '{fdef.name}' has no return statement",
                         "end the function with return <expression>")

    # ---- expressions ----------------------------------------------------------------
    def count(self, node, nodes: int = 1):
        """Count expression nodes read (inlined helpers once per call) against MAX_NODES."""
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise self.error(node, f"the program is too large to compile: more than {MAX_NODES:,} "
                                   "operations once helper functions are inlined",
                             "split it into smaller programs; derivgen.parse.MAX_NODES sets the bound")

    def expr(self, node, env):
        self.count(node)
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(node)
        return method(node, env)

    def visit_Constant(self, node, env):
        value = node.value
        if isinstance(value, bool):
            return sp.true if value else sp.false
        if isinstance(value, int):
            if abs(value) < 2**53:
                return sp.Integer(value)
            value = _to_float(value)  # inf when it overflows
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(node, f"the literal {_short(self.segment(node))} overflows a float64",
                                 "constants must fit in a float64 (|x| < 1.8e308)")
            return self.number(value, node)
        if value is None:
            raise self.error(node, "None is only allowed as an axis or a clamp bound")
        kind = {str: "strings are", bytes: "bytes literals are", complex: "complex numbers are",
                type(...): "Ellipsis (...) is"}.get(type(value), "this constant is")
        raise self.unsupported(node, kind)

    def segment(self, node) -> str:
        """The source text of a node, for messages (empty when unknown); costs only its length."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if None in (first, last, start, end) or not 1 <= first <= last <= len(self.lines):
            return ""
        if first == last:
            return self.lines[first - 1].encode("utf-8")[start:end].decode("utf-8", "replace")
        return "\n".join([self.lines[first - 1].encode("utf-8")[start:].decode("utf-8", "replace"),
                          *self.lines[first:last - 1],
                          self.lines[last - 1].encode("utf-8")[:end].decode("utf-8", "replace")])

    def number(self, value, node) -> sp.Basic:
        """A float64 constant; anything else (inf, nan, complex) is an error at ``node``."""
        if isinstance(value, complex):
            raise self.error(node, f"the constant {_short(self.segment(node))} is not a real number",
                             "constants are evaluated in real float64 arithmetic")
        if not math.isfinite(value):
            raise self.error(node, f"the constant {_short(self.segment(node))} is not a finite float64 "
                                   f"({value!r})", "constants must fit in a float64 (|x| < 1.8e308)")
        return sp.Float(value)

    def visit_Name(self, node, env):
        return self.name(node, env)

    def name(self, node, env):
        ident = node.id
        if ident in env:
            return env[ident]
        if ident in self.globals:
            return self.globals[ident]
        if self.free_inputs:
            self._check_name(ident, node)
            if ops.lookup(ident) or ident in MODULE_ROOTS:
                pass  # a function name used as a value: still a legal input name
            vid = self.graph.leaf("input", ident, frozenset({ident}), frozenset({ident}))
            self.inputs[ident] = vid
            env[ident] = vid
            return vid
        known = sorted(set(env) | set(self.globals))
        close = difflib.get_close_matches(ident, known, n=1)
        hint = f"did you mean '{_short(close[0])}'?" if close else None
        if ops.lookup(ident) or ident in self.functions:
            hint = f"'{ident}' is a function; call it with arguments"
        raise self.error(node, f"name '{_short(ident)}' is not defined", hint)

    def visit_UnaryOp(self, node, env):
        operand = self.expr(node.operand, env)
        if isinstance(node.op, ast.USub):
            self.require_tensor(operand, node.operand)
            return self.apply("neg", ops.OPERATORS["neg"], [operand], node)
        if isinstance(node.op, ast.UAdd):
            self.require_tensor(operand, node.operand)
            return operand
        if isinstance(node.op, ast.Invert):
            if self.is_cond(operand):
                return self.cond(sp.Not, [operand], node)
            raise self.error(node, "~ applies only to conditions", "use it as ~(x > 0) inside where()")
        raise self.unsupported(node, "'not' is")

    def visit_BinOp(self, node, env):
        # a + b + c + ... nests to the left: walk that spine in a loop, not by recursion
        spine = [node]
        while isinstance(spine[-1].left, ast.BinOp):
            spine.append(spine[-1].left)
        self.count(node, len(spine) - 1)
        value = self.expr(spine[-1].left, env)
        for item in reversed(spine):
            value = self.binop(item.op, value, self.expr(item.right, env), item)
        return value

    def binop(self, op, left, right, node):
        if isinstance(op, (ast.BitAnd, ast.BitOr)) and (self.is_cond(left) or self.is_cond(right)):
            for item, side in ((left, node), (right, node)):
                if not self.is_cond(item):
                    raise self.error(side, "& and | combine conditions such as (x > 0)")
            return self.cond(sp.And if isinstance(op, ast.BitAnd) else sp.Or, [left, right], node)
        name = BINOPS.get(type(op))
        if name is None:
            hint = BINOP_HINTS.get(type(op))
            raise self.error(node, f"the operator {_OP_TEXT.get(type(op), type(op).__name__)} is not supported",
                             hint, UnsupportedError)
        self.require_tensor(left, node)
        self.require_tensor(right, node)
        if name == "matmul":
            return self.apply_op(ops.OPS["matmul"], [left, right], {}, node)
        if name == "div" and _is_const(right) and right.is_zero:
            raise self.error(node, "division by a zero constant")
        return self.apply(name, ops.OPERATORS[name], [left, right], node)

    def visit_Compare(self, node, env):
        if len(node.ops) != 1:
            raise self.error(node, "chained comparisons are not supported",
                             "write (a < x) & (x < b)")
        left = self.expr(node.left, env)
        right = self.expr(node.comparators[0], env)
        cls = COMPARE.get(type(node.ops[0]))
        if cls is None:
            raise self.unsupported(node, f"'{_OP_TEXT.get(type(node.ops[0]), 'this comparison')}' is")
        self.require_tensor(left, node)
        self.require_tensor(right, node)
        return self.cond(cls, [left, right], node)

    def visit_Attribute(self, node, env):
        if node.attr.startswith("__"):
            raise self.error(node, f"dunder attributes such as .{_short(node.attr)} are never accessed")
        dotted = _dotted(node)
        if dotted is not None and dotted.split(".")[0] in MODULE_ROOTS and dotted.split(".")[0] not in env:
            prefix, rest = ops.strip_prefix(dotted)
            if rest in ops.CONSTANTS and prefix:
                return ops.CONSTANTS[rest]
            if prefix and rest.endswith(".T") and rest[:-2] in ops.CONSTANTS:
                return ops.CONSTANTS[rest[:-2]]  # np.pi.T: a scalar's transpose is itself
            raise self.error(node, f"'{_short(dotted)}' is not a supported constant",
                             "known constants: np.pi, np.e, math.pi, math.e, torch.pi")
        base = self.expr(node.value, env)
        if node.attr == "T":
            self.require_tensor(base, node.value)
            return self.apply_op(ops.OPS["transpose"], [base], {}, node)
        raise self.error(node, f"attribute .{_short(node.attr)} is not supported",
                         "only .T and method calls such as x.sum() are understood")

    def visit_Call(self, node, env):
        func = node.func
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.unsupported(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise self.error(kw.value, "**kwargs in calls are not supported")
        if isinstance(func, ast.Name):
            name = func.id
            if name in env or name in self.globals:
                raise self.error(func, f"'{_short(name)}' is a value, not a function")
            if name in self.functions:
                return self.inline(self.functions[name], node, env)
            spec = ops.lookup(name)
            if spec is None:
                raise self.unknown_function(func, name)
            return self.call(spec, node, env, None)
        if isinstance(func, ast.Attribute):
            if func.attr.startswith("__"):
                raise self.error(func, f"dunder attributes such as .{_short(func.attr)} are never accessed")
            dotted = _dotted(func)
            root = dotted.split(".")[0] if dotted else None
            if dotted and root in MODULE_ROOTS and root not in env and root not in self.globals:
                spec = ops.lookup(dotted)
                if spec is None:
                    raise self.unknown_function(func, dotted)
                return self.call(spec, node, env, None)
            spec = ops.lookup(func.attr)
            if spec is None or spec.params[0].kind != "tensor":
                self.expr(func.value, env)  # an error in the receiver comes first, as it is read first
                raise self.unknown_function(func, func.attr, method=True)
            return self.call(spec, node, env, func.value)
        raise self.error(node, "only named functions can be called")

    def unknown_function(self, node, name, method=False) -> ParseError:
        guess = ops.suggest(name)
        candidates = sorted(self.functions)
        close = difflib.get_close_matches(name, candidates, n=1)
        guess = close[0] if close else guess
        hint = f"did you mean '{_short(guess)}'?" if guess else "see the README for the supported functions"
        what = f"method .{_short(name)}()" if method else f"function '{_short(name)}'"
        return self.error(node, f"unknown {what}", hint, UnsupportedError)

    # ---- calls ---------------------------------------------------------------------
    def call(self, spec: ops.OpSpec, node: ast.Call, env, self_node):
        bound = self.bind_arguments(spec, node, self_node)
        operands, static = [], {}
        for param in spec.params:
            arg = bound.get(param.name)
            if param.kind in ("tensor", "cond"):
                if arg is None:
                    raise self.error(node, f"{spec.name}() is missing its argument '{param.name}'",
                                     f"signature: {spec.signature()}")
                item = self.expr(arg, env)
                if param.kind == "cond":
                    if isinstance(item, Poison):
                        raise item.error
                    if not self.is_cond(item):
                        raise self.error(arg, f"the first argument of {spec.name}() must be a condition "
                                              "such as x > 0")
                else:
                    self.require_tensor(item, arg)
                operands.append(item)
            elif param.kind == "bound":
                if arg is None or (isinstance(arg, ast.Constant) and arg.value is None):
                    operands.append(-sp.oo if param.name == "min" else sp.oo)
                else:
                    item = self.expr(arg, env)
                    self.require_tensor(item, arg)
                    operands.append(item)
            elif param.kind == "axis":
                static["axes"] = self.axis(arg)
            elif param.kind == "flag":
                static["keepdims"] = self.flag(arg, param)
        return self.apply_op(spec, operands, static, node)

    def bind_arguments(self, spec, node, self_node) -> dict:
        params = spec.params
        positional = ([self_node] if self_node is not None else []) + list(node.args)
        if len(positional) > len(params):
            raise self.error(node, f"{spec.name}() takes at most {len(params)} arguments, "
                                   f"got {len(positional)}", f"signature: {spec.signature()}")
        bound = {p.name: a for p, a in zip(params, positional)}
        for kw in node.keywords:
            param = next((p for p in params if kw.arg == p.name or kw.arg in p.aliases), None)
            if param is None:
                raise self.error(kw.value, f"{spec.name}() got an unexpected keyword '{_short(kw.arg)}'",
                                 f"signature: {spec.signature()}")
            if param.name in bound:
                raise self.error(kw.value, f"{spec.name}() got '{param.name}' twice",
                                 f"signature: {spec.signature()}")
            bound[param.name] = kw.value
        return bound

    def axis(self, node) -> tuple[int, ...]:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return ()
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        if len(items) > MAX_AXES:
            raise self.error(node, f"an axis tuple lists at most {MAX_AXES} axes, got {len(items)}",
                             f"NumPy arrays have at most {MAX_AXES} dimensions")
        axes, seen = [], set()
        for item in items:
            value = _int_literal(item)
            if value is None:
                raise self.error(item, "an axis must be an integer literal (negative allowed), "
                                       "a tuple of them, or None")
            if not -MAX_AXES <= value < MAX_AXES:
                shown = str(value) if abs(value) < 10**20 else "this large"
                raise self.error(item, f"axis {shown} is out of range",
                                 f"NumPy arrays have at most {MAX_AXES} dimensions")
            if value in seen:
                raise self.error(item, f"axis {value} is repeated")
            seen.add(value)
            axes.append(value)
        if not axes:
            raise self.error(node, "an empty axis tuple is not supported; use axis=None")
        return tuple(axes)

    def flag(self, node, param) -> bool:
        if node is None:
            return bool(param.default)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        raise self.error(node, f"{param.name} must be True or False")

    def inline(self, fdef: ast.FunctionDef, node: ast.Call, env):
        if fdef.name in self.call_stack:
            raise self.error(node, f"recursive call to '{fdef.name}'",
                             "helper functions are inlined, so they cannot call themselves")
        if len(self.call_stack) >= MAX_INLINE_DEPTH:
            raise self.error(node, "helper functions are nested too deeply")
        self._check_decorators(fdef)
        self._check_parameters(fdef)
        args = fdef.args
        if args.vararg or args.kwarg or args.posonlyargs:
            raise self.error(fdef, f"'{fdef.name}' uses *args, **kwargs or positional-only parameters, "
                                   "which are not supported")
        params = [a.arg for a in args.args + args.kwonlyargs]
        defaults = dict(zip([a.arg for a in args.args][len(args.args) - len(args.defaults):], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        signature = f"{fdef.name}({', '.join(params)})"
        if len(node.args) > len(args.args):
            raise self.error(node, f"{fdef.name}() takes {len(args.args)} positional arguments, "
                                   f"got {len(node.args)}", f"signature: {signature}")
        local: dict = {}
        for a, value in zip(args.args, node.args):
            local[a.arg] = self.expr(value, env)
        for kw in node.keywords:
            if kw.arg not in params:
                raise self.error(kw.value, f"{fdef.name}() got an unexpected keyword '{_short(kw.arg)}'",
                                 f"signature: {signature}")
            if kw.arg in local:
                raise self.error(kw.value, f"{fdef.name}() got '{kw.arg}' twice", f"signature: {signature}")
            local[kw.arg] = self.expr(kw.value, env)
        for p in params:
            if p not in local:
                if p not in defaults:
                    raise self.error(node, f"{fdef.name}() is missing its argument '{p}'",
                                     f"signature: {signature}")
                local[p] = self.expr(defaults[p], {})
        # A helper's value depends only on its arguments: the same call is inlined once.
        key = (fdef.name,) + tuple((type(local[p]).__name__, local[p]) for p in params)
        if key in self.inlined:
            return self.inlined[key]
        self.call_stack.append(fdef.name)
        try:
            result = self.run_body(fdef, local)
        finally:
            self.call_stack.pop()
        self.inlined[key] = result
        return result

    # ---- building values ------------------------------------------------------------
    def is_cond(self, item) -> bool:
        if isinstance(item, int):
            return self.graph[item].op == "cond"
        return isinstance(item, sp.logic.boolalg.BooleanAtom)

    def require_tensor(self, item, node):
        if self.is_cond(item):
            raise self.error(node, "a condition can only be the first argument of where()",
                             "write where(condition, a, b)")

    def poisoned(self, items):
        """The Poison among constant ``items`` (the result is one too), or None; a Poison
        combined with a value is used, so its error is raised."""
        poison = next((i for i in items if isinstance(i, Poison)), None)
        if poison is not None and any(isinstance(i, int) for i in items):
            raise poison.error
        return poison

    def as_value(self, item, node, what) -> int:
        if isinstance(item, Poison):
            raise item.error
        if self.is_cond(item):
            raise self.error(node, f"{what} returns a condition, not a number")
        if isinstance(item, int):
            return item
        if isinstance(item, sp.Integer):  # an array of it is a float array, as np.sum(2.0) would be
            item = sp.Float(int(item))
        return self.graph.add("const", item, ())

    def operands(self, items):
        syms, args = [], []
        for item in items:
            if isinstance(item, int):
                syms.append(placeholder(len(args)))
                args.append(item)
            else:
                syms.append(item)
        return syms, tuple(args)

    def apply(self, op: str, build, items, node, static=()):
        """An elementwise value; constant operands are folded into its template."""
        poisoned = self.poisoned(items)
        if poisoned is not None:
            return poisoned
        syms, args = self.operands(items)
        if not args:
            if op == "pow" and _huge_power(*syms):
                try:  # a float power: OverflowError instead of computing a giant integer
                    value = float(syms[0]) ** float(syms[1])
                except (OverflowError, ZeroDivisionError):
                    raise self.error(node, "this constant power is too large for a float64") from None
                return self.number(value, node)
            try:
                folded = build(*syms)
            except (TypeError, ValueError, ArithmeticError):
                raise self.error(node, f"the constant expression {_short(self.segment(node))} "
                                       "cannot be evaluated") from None
            return self.fold(folded, node)
        try:
            template = build(*syms)
            if len(template.free_symbols) < len(args):
                # SymPy simplified an operand away (x * 0, x ** 0): keep it as written so
                # the result keeps the operand's shape and nan/inf behaviour.
                with sp.evaluate(False):
                    template = build(*syms)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.error(node, f"cannot build this expression: {exc}") from None
        return self.graph.add(op, template, args, operands=tuple(syms))

    def apply_op(self, spec: ops.OpSpec, items, static, node):
        if spec.kind == "elementwise":
            if spec.name == "where":
                cond = items[0]
                if isinstance(cond, Poison):
                    raise cond.error
                if isinstance(cond, int):  # a branch with no value of its own is nan where selected, as in NumPy
                    items = [items[0], *(sp.nan if isinstance(i, Poison) else i for i in items[1:])]
                if not isinstance(cond, int):  # a constant condition selects a branch now
                    chosen, other = (items[1], items[2]) if bool(cond) else (items[2], items[1])
                    if not isinstance(other, int) or isinstance(chosen, Poison):
                        return chosen  # nothing to broadcast against (or a Poison, raised where used)
                    # The result still has the broadcast shape of both branches, as in NumPy:
                    # the where stays, with its condition written in.
                    syms, args = self.operands([cond, *items[1:]])
                    template = symbolic.where(*syms, evaluate=False)
                    return self.graph.add("where", template, args, operands=tuple(syms))
            return self.apply(spec.name, spec.build, items, node)
        syms, args = self.operands(items)
        if spec.name == "transpose" and not args:
            return items[0]  # constants are scalars: their transpose is themselves
        if len(args) < len(items):  # reductions and linear algebra work on values, not constants
            items = [self.as_value(i, node, spec.name) for i in items]
            syms, args = self.operands(items)
        if spec.kind == "reduction":
            axes = static.get("axes", ())
            keepdims = static.get("keepdims", False)
            template = spec.build(syms[0], keepdims, [sp.Integer(a) for a in axes])
            labels = frozenset() if not axes and not keepdims else None
            statics = (sp.Integer(int(keepdims)),) + tuple(sp.Integer(a) for a in axes)
            vid = self.graph.add(spec.name, template, args, operands=tuple(syms), static=statics,
                                 labels=labels if labels is not None else frozenset({f"#{len(self.graph.values)}"}))
            return vid
        template = spec.build(*syms)
        return self.graph.add(spec.name, template, args, operands=tuple(syms),
                              labels=frozenset({f"#{len(self.graph.values)}"}))

    def cond(self, cls, items, node):
        poisoned = self.poisoned(items)
        if poisoned is not None:
            return poisoned
        syms, args = self.operands(items)
        if not args:
            try:
                return sp.true if bool(cls(*syms)) else sp.false
            except TypeError:
                raise self.error(node, "cannot decide this constant condition") from None
        template = cls(*syms)
        if isinstance(template, sp.logic.boolalg.BooleanAtom):
            # It reads values, so it has their broadcast shape: where() broadcasts against it
            # as NumPy does. (x == x folds to True, but is False where x is nan: as written.)
            if cls in (sp.Eq, sp.Ne):
                template = cls(*syms, evaluate=False)
            else:
                template = symbolic.shaped_condition(sp.Integer(bool(template)),
                                                     *(s for s in syms if isinstance(s, sp.Symbol)))
        return self.graph.add("cond", template, args, operands=tuple(syms))

    def fold(self, expr, node):
        """Evaluate a constant expression at compile time, without unbounded work.

        The result is a float64 (or an integer below 2**53); written infinities
        (np.inf, -np.inf, exp(np.inf)) stay infinite, anything else non-finite is an error.
        """
        if expr == sp.oo or expr == -sp.oo:
            return expr
        if isinstance(expr, sp.Integer) and abs(expr) < 2**53:
            return expr
        if isinstance(expr, (sp.Integer, sp.Float)):
            return self.number(_to_float(expr), node)
        try:
            value = _evalf(expr)
        except (TypeError, ValueError, ArithmeticError, RecursionError):
            raise self.error(node, f"the constant expression {_short(self.segment(node))} "
                                   "cannot be evaluated") from None
        if value.imag != 0 or not math.isfinite(value.real):
            return Poison(self.error(node, f"the constant expression {_short(self.segment(node))} "
                                           "is not a finite real number",
                                     "constants are evaluated in real float64 arithmetic"))
        return self.number(value.real, node)


def _evalf(expr: sp.Basic):
    """Numeric value of a constant expression, with opaque heads spelled out first."""
    elementary = {
        symbolic.sigmoid: lambda x: 1 / (1 + sp.exp(-x)),
        symbolic.softplus: lambda x: sp.log(1 + sp.exp(x)),
        symbolic.relu: lambda x: sp.Max(x, 0),
        symbolic.logaddexp: lambda x, y: sp.log(sp.exp(x) + sp.exp(y)),
        symbolic.maximum: sp.Max,
        symbolic.minimum: sp.Min,
        symbolic.clip: lambda x, lo, hi: sp.Min(sp.Max(x, lo), hi),
    }
    expr = expr.replace(lambda e: type(e) in elementary, lambda e: elementary[type(e)](*e.args))
    return complex(expr.evalf(30))


def _huge_power(base, exponent) -> bool:
    """Whether base ** exponent would be a giant number (or needs float semantics)."""
    b, e = _to_float(base), _to_float(exponent)
    if not (math.isfinite(b) and math.isfinite(e)):
        return True  # float arithmetic decides; number() rejects what is not finite
    return abs(b) > 1 and abs(e) * math.log10(abs(b)) > 300 or (e != int(e) and b < 0)


def _to_float(value) -> float:
    """float(value), or a signed inf where it overflows (nan where undefined)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return math.nan


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _dotted(node, limit: int = 8) -> str | None:
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


def _int_literal(node) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return -inner if inner is not None else None
    return None


_OP_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitXor: "^",
            ast.BitAnd: "&", ast.BitOr: "|", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
            ast.NotIn: "not in"}


def parse(source: str, function: str | None = None, filename: str = "<source>") -> Program:
    return Parser(source, filename).parse(function)
