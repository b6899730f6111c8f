"""Statements of a function body: one visitor per accepted statement type."""

from __future__ import annotations

import ast

from .language import is_docstring

# The statements a function body may hold; any other is not supported.
STATEMENTS = frozenset({"Return", "Assign", "AnnAssign", "AugAssign", "Pass", "Expr", "For", "If", "Assert"})


class _Returned:
    """What a return statement gives back, told apart from a statement that gives nothing."""

    def __init__(self, value):
        self.value = value


class Statements:
    """A body's statements in order, each through its visitor, until the return."""

    def run_body(self, fdef: ast.FunctionDef, env: dict):
        returned = self.block(fdef.body, env, docstring=True)
        if returned is not None:
            return returned.value
        raise self.error(fdef, f"function '{fdef.name}' has no return statement",
                         "end the function with return <expression>")

    def block(self, body: list, env: dict, docstring: bool = False) -> _Returned | None:
        """Run statements until one returns (an if or a loop whose body returned, too)."""
        for i, stmt in enumerate(body):
            if i == 0 and docstring and is_docstring(stmt):
                continue
            kind = type(stmt).__name__
            if kind not in STATEMENTS:
                raise self.unsupported(stmt)
            if isinstance(stmt, ast.Return) and stmt.value is not None and i != len(body) - 1:
                raise self.error(body[i + 1], "unreachable code after return")
            returned = getattr(self, f"visit_{kind}")(stmt, env)
            if returned is not None:
                return returned
        return None

    def visit_Return(self, stmt: ast.Return, env: dict) -> _Returned:
        if stmt.value is None:
            raise self.error(stmt, "return needs a value")
        value = self.expr(stmt.value, env)
        self.returned_at = stmt.value  # where an error about the returned value points
        return _Returned(value)

    def visit_Assign(self, stmt: ast.Assign, env: dict) -> None:
        if len(stmt.targets) != 1:
            raise self.error(stmt, "chained assignment (a = b = ...) is not supported")
        self.assign(stmt.targets[0], self.expr(stmt.value, env), env, stmt)

    def visit_AnnAssign(self, stmt: ast.AnnAssign, env: dict) -> None:
        if stmt.value is None:
            raise self.error(stmt, "an annotation needs a value here")
        env[self._target(stmt.target)] = self.expr(stmt.value, env)

    def visit_AugAssign(self, stmt: ast.AugAssign, env: dict) -> None:
        name = self._target(stmt.target)
        current = self.name(ast.Name(id=name, lineno=stmt.lineno, col_offset=stmt.col_offset), env)
        env[name] = self.binop(stmt.op, current, self.expr(stmt.value, env), stmt)

    def visit_Pass(self, stmt: ast.Pass, env: dict) -> None:
        return None

    def visit_Expr(self, stmt: ast.Expr, env: dict) -> None:
        if isinstance(stmt.value, (ast.Yield, ast.YieldFrom, ast.Await)):
            raise self.unsupported(stmt.value)
        raise self.error(stmt, "this statement has no effect", "assign the value or return it")

    def visit_If(self, stmt: ast.If, env: dict) -> _Returned | None:
        # The condition is known now: only the branch it selects is read, as Python runs it.
        taken = self.static_truth(stmt.test, env, "an if statement")
        return self.block(stmt.body if taken else stmt.orelse, env)

    def visit_For(self, stmt: ast.For, env: dict) -> _Returned | None:
        # Unrolled: the body is read once per item, each time adding to the graph.
        if stmt.orelse:
            raise self.error(stmt.orelse[0], "for ... else is not supported")
        for item in self.loop_items(stmt.iter, env):
            self.assign(stmt.target, item, env, stmt)
            returned = self.block(stmt.body, env)
            if returned is not None:
                return returned
        return None
