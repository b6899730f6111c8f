"""The top level of a source: an expression, or functions (one of them the entry) with constants."""

from __future__ import annotations

import ast
import difflib
import math

from ..errors import UnsupportedError, UsageError
from ..graph import Program
from .language import Poison, is_const, is_docstring, short, to_float


class Definitions:
    """The top level: what a source defines, and the entry function's inputs."""

    def _expression(self, tree: ast.Expression) -> Program:
        self.free_inputs = True
        result = self.expr(tree.body, {})
        out = self.as_value(result, tree.body, "the expression")
        if not self.inputs:
            raise self.error(tree.body, "the expression has no inputs: nothing to differentiate",
                             "use a name such as x for each input")
        name = "f"
        return Program(self.graph, tuple(self.inputs), dict(self.inputs), out, name, "expression",
                       self.source, self.filename, self.source.strip(), positions=self.check_positions(out))

    def _module(self, tree: ast.Module, function: str | None) -> Program:
        for i, stmt in enumerate(tree.body):
            if isinstance(stmt, ast.FunctionDef):
                if stmt.name in self.functions:
                    raise self.error(stmt, f"function '{stmt.name}' is defined twice")
                self.functions[stmt.name] = stmt
            elif i == 0 and is_docstring(stmt):
                continue
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self.read_import(stmt)  # what a name stands for; nothing is imported
            elif isinstance(stmt, ast.Pass):
                continue
            elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                  or isinstance(stmt, ast.AnnAssign) and stmt.value is not None
                  and isinstance(stmt.target, ast.Name)):
                value = self.expr(stmt.value, {})
                if not is_const(value):
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
        for name, fdef in self.functions.items():
            if name in self.imports or name in self.globals:
                raise self.error(fdef, f"'{short(name)}' is both a function and an imported or constant name",
                                 "rename the function")
        entry = self._entry(function)
        return self._function(entry)

    def _entry(self, function: str | None) -> ast.FunctionDef:
        names = sorted(self.functions)
        if function is not None and not isinstance(function, str):
            raise UsageError(f"function must be a function name (a str), not {type(function).__name__}")
        if function is not None:
            if function not in self.functions:
                close = difflib.get_close_matches(function, names, n=1)
                hint = f"did you mean '{short(close[0])}'?" if close else None
                raise UsageError(f"no function named '{short(function)}' in {self.filename}; "
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
        defaults = self._defaults(fdef)
        self.call_stack.append(fdef.name)
        result = self.run_body(fdef, env)
        out = self.as_value(result, self.returned_at or fdef, f"function '{fdef.name}'")
        text = ast.get_source_segment(self.source, fdef) or fdef.name
        return Program(self.graph, tuple(self.inputs), dict(self.inputs), out, fdef.name, "function",
                       self.source, self.filename, text, defaults, self.check_positions(out),
                       tuple(dict.fromkeys(self.checks)))

    def _defaults(self, fdef) -> dict:
        """The entry function's defaults: each a number known at compile time (it becomes
        the default of the generated functions' parameter, which is still an input)."""
        args = fdef.args.args
        defaults = {}
        for a, node in zip(args[len(args) - len(fdef.args.defaults):], fdef.args.defaults):
            if isinstance(node, ast.Constant) and node.value is None:
                raise self.error(node, f"the default of '{a.arg}' cannot be None: every parameter is an input",
                                 "pass it always, or make it a number (an optional input is not supported)")
            value = self.expr(node, {})
            if isinstance(value, Poison):
                raise value.error
            if not is_const(value) or not (value.is_Integer or value.is_Float or value.is_Rational):
                raise self.error(node, f"the default of '{a.arg}' must be a number known at compile time",
                                 "write a literal such as 0.1, or a constant (EPS = 1e-8); "
                                 "an optional array input is not supported: pass it always")
            number = int(value) if value.is_Integer else to_float(value)
            if not math.isfinite(number):
                raise self.error(node, f"the default of '{a.arg}' is not a finite number")
            defaults[a.arg] = number
        return defaults

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
            raise self.error(node, f"names starting with '__' are not allowed: '{short(name)}'",
                             "choose a name without the leading '__'")
        return name

    def _target(self, node) -> str:
        if not isinstance(node, ast.Name):
            raise self.error(node, "only assignment to a plain name is supported",
                             "write one assignment per name: a = ...", UnsupportedError)
        return self._check_name(node.id, node)
