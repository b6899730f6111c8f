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
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import sympy as sp

from . import ops, symbolic
from .errors import ParseError, UnsupportedError, UsageError
from .graph import Graph, placeholder
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


@dataclass
class Program:
    """A parsed source: the forward graph, its inputs and its output value."""

    graph: Graph
    inputs: tuple[str, ...]
    input_ids: dict[str, int]
    output: int
    name: str
    kind: str  # "expression" or "function"
    source: str
    filename: str
    text: str  # the expression or the entry function's source, for docstrings


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


class Parser:
    def __init__(self, source: str, filename: str):
        self.source = source
        self.filename = filename
        self.lines = source.splitlines()
        self.graph = Graph()
        self.functions: dict[str, ast.FunctionDef] = {}
        self.globals: dict[str, object] = {}
        self.inputs: dict[str, int] = {}
        self.free_inputs = False  # expression mode: unknown names become inputs
        self.call_stack: list[str] = []

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
        with _deep_recursion():
            try:
                tree = self._ast(function)
                if isinstance(tree, ast.Expression):
                    return self._expression(tree)
                return self._module(tree, function)
            except RecursionError:
                raise ParseError("the source is nested too deeply to compile", 1, 1,
                                 self.lines[0] if self.lines else "", self.filename,
                                 "split the expression into several assignments") from None
            except MemoryError:
                raise ParseError("the source is too large to compile", 1, 1, "", self.filename) from None

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
            raise ParseError(f"invalid syntax: {err.msg}", line, max(col, 1), text,
                             self.filename) from None
        except (ValueError, OverflowError, MemoryError) as exc:
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
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                value = self.expr(stmt.value, {})
                if not _is_const(value):
                    raise self.error(stmt.value, "module-level assignments must be constants")
                self.globals[self._target(stmt.targets[0])] = value
            elif isinstance(stmt, ast.Expr):
                raise self.error(stmt, "a top-level expression cannot be mixed with def statements",
                                 "put the expression in a function's return statement")
            else:
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
        if function is not None:
            if function not in self.functions:
                close = difflib.get_close_matches(function, names, n=1)
                hint = f"did you mean '{close[0]}'?" if close else None
                raise UsageError(f"no function named '{function}' in {self.filename}; "
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
            raise self.error(node, f"names starting with '__' are not allowed: '{name}'")
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
            elif isinstance(stmt, ast.Expr):
                raise self.error(stmt, "this statement has no effect", "assign the value or return it")
            else:
                raise self.unsupported(stmt)
        raise self.error(fdef, f"function '{fdef.name}' has no return statement",
                         "end the function with return <expression>")

    # ---- expressions ----------------------------------------------------------------
    def expr(self, node, env):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.unsupported(node)
        return method(node, env)

    def visit_Constant(self, node, env):
        value = node.value
        if isinstance(value, bool):
            return sp.true if value else sp.false
        if isinstance(value, int):
            if abs(value) >= 2**53:
                return self.number(float(value), node)
            return sp.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                literal = ast.get_source_segment(self.source, node) or repr(value)
                raise self.error(node, f"the literal {literal} overflows a float64",
                                 "constants must fit in a float64 (|x| < 1.8e308)")
            return self.number(value, node)
        if value is None:
            raise self.error(node, "None is only allowed as an axis or a clamp bound")
        kind = {str: "strings are", bytes: "bytes literals are", complex: "complex numbers are"}.get(
            type(value), "this constant is")
        raise self.unsupported(node, kind)

    def number(self, value: float, node) -> sp.Basic:
        if not math.isfinite(value):
            raise self.error(node, f"the constant {value!r} is not a finite number",
                             "constants must fit in a float64 (|x| < 1.8e308)")
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
        hint = f"did you mean '{close[0]}'?" if close else None
        if ops.lookup(ident) or ident in self.functions:
            hint = f"'{ident}' is a function; call it with arguments"
        raise self.error(node, f"name '{ident}' is not defined", hint)

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
        left = self.expr(node.left, env)
        right = self.expr(node.right, env)
        return self.binop(node.op, left, right, node)

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
        if name == "div" and _is_const(right) and right == 0:
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
            raise self.error(node, f"dunder attributes such as .{node.attr} are never accessed")
        dotted = _dotted(node)
        if dotted is not None and dotted.split(".")[0] in MODULE_ROOTS and dotted.split(".")[0] not in env:
            prefix, rest = ops.strip_prefix(dotted + "")
            if rest in ops.CONSTANTS and prefix:
                return ops.CONSTANTS[rest]
            raise self.error(node, f"'{dotted}' is not a supported constant",
                             "known constants: np.pi, np.e, math.pi, math.e, torch.pi")
        base = self.expr(node.value, env)
        if node.attr == "T":
            self.require_tensor(base, node.value)
            return self.apply_op(ops.OPS["transpose"], [base], {}, node)
        raise self.error(node, f"attribute .{node.attr} is not supported",
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
                raise self.error(func, f"'{name}' is a value, not a function")
            if name in self.functions:
                return self.inline(self.functions[name], node, env)
            spec = ops.lookup(name)
            if spec is None:
                raise self.unknown_function(func, name)
            return self.call(spec, node, env, None)
        if isinstance(func, ast.Attribute):
            if func.attr.startswith("__"):
                raise self.error(func, f"dunder attributes such as .{func.attr} are never accessed")
            dotted = _dotted(func)
            root = dotted.split(".")[0] if dotted else None
            if dotted and root in MODULE_ROOTS and root not in env and root not in self.globals:
                spec = ops.lookup(dotted)
                if spec is None:
                    raise self.unknown_function(func, dotted)
                return self.call(spec, node, env, None)
            spec = ops.lookup(func.attr)
            if spec is None or spec.params[0].kind != "tensor":
                raise self.unknown_function(func, func.attr, method=True)
            return self.call(spec, node, env, func.value)
        raise self.error(node, "only named functions can be called")

    def unknown_function(self, node, name, method=False) -> ParseError:
        guess = ops.suggest(name)
        candidates = sorted(self.functions)
        close = difflib.get_close_matches(name, candidates, n=1)
        guess = close[0] if close else guess
        hint = f"did you mean '{guess}'?" if guess else "see the README for the supported functions"
        what = f"method .{name}()" if method else f"function '{name}'"
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
                raise self.error(kw.value, f"{spec.name}() got an unexpected keyword '{kw.arg}'",
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
        axes = []
        for item in items:
            value = _int_literal(item)
            if value is None:
                raise self.error(item, "an axis must be an integer literal (negative allowed), "
                                       "a tuple of them, or None")
            if value in axes:
                raise self.error(item, f"axis {value} is repeated")
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
                raise self.error(kw.value, f"{fdef.name}() got an unexpected keyword '{kw.arg}'",
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
        self.call_stack.append(fdef.name)
        try:
            return self.run_body(fdef, local)
        finally:
            self.call_stack.pop()

    # ---- building values ------------------------------------------------------------
    def is_cond(self, item) -> bool:
        if isinstance(item, int):
            return self.graph[item].op == "cond"
        return isinstance(item, sp.logic.boolalg.BooleanAtom)

    def require_tensor(self, item, node):
        if self.is_cond(item):
            raise self.error(node, "a condition can only be the first argument of where()",
                             "write where(condition, a, b)")

    def as_value(self, item, node, what) -> int:
        if self.is_cond(item):
            raise self.error(node, f"{what} returns a condition, not a number")
        if isinstance(item, int):
            return item
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
        syms, args = self.operands(items)
        if not args:
            if op == "pow" and _huge_power(*syms):
                try:  # a float power: OverflowError instead of computing a giant integer
                    return self.number(float(syms[0]) ** float(syms[1]), node)
                except (OverflowError, ZeroDivisionError):
                    raise self.error(node, "this constant power is too large for a float64") from None
            return self.fold(build(*syms), node)
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
                if not isinstance(cond, int):  # a constant condition selects a branch now
                    return items[1] if bool(cond) else items[2]
            return self.apply(spec.name, spec.build, items, node)
        syms, args = self.operands(items)
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
        syms, args = self.operands(items)
        if not args:
            try:
                return sp.true if bool(cls(*syms)) else sp.false
            except TypeError:
                raise self.error(node, "cannot decide this constant condition") from None
        template = cls(*syms)
        if isinstance(template, sp.logic.boolalg.BooleanAtom):
            return template
        return self.graph.add("cond", template, args, operands=tuple(syms))

    def fold(self, expr, node):
        """Evaluate a constant expression at compile time, without unbounded work."""
        if isinstance(expr, (sp.Integer, sp.Float)):
            if isinstance(expr, sp.Integer) and abs(expr) >= 2**53:
                return self.number(float(expr), node)
            return expr
        try:
            value = _evalf(expr)
        except (TypeError, ValueError, ArithmeticError, RecursionError):
            raise self.error(node, "this constant expression cannot be evaluated") from None
        if value.imag != 0 or not math.isfinite(value.real):
            raise self.error(node, "this constant expression is not a finite real number")
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
    b, e = abs(float(base)), float(exponent)
    return b > 1 and abs(e) * math.log10(b) > 300 or (e != int(e) and float(base) < 0)


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
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
