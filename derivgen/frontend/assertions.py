"""``assert`` statements: conditions on sizes, checked when the module runs, as Python would.

A condition known at compile time (on constants, a tuple's length) is checked now, and one
that fails is an error at the assert. A condition on sizes becomes a check in every
generated function (derivgen/ops/sizes.py), computed where the source computes it, which
raises AssertionError with the source's message (or, without one, the assert's text and
line). Each side of a comparison is a size (``x.ndim``, ``len(x)``, ``x.shape[-1]``,
arithmetic of them), a number, a shape (``x.shape``, a slice ``x.shape[1:]``) or a tuple of
sizes and numbers (``(n, 3)``); shapes are compared with ``==`` and ``!=``. ``a and b`` asserts
each; ``not`` turns a comparison around; a chained comparison (``0 < n <= 10``) is each of its
pairs.

Conditions on the values in arrays (``np.all(x > 0)``) and on Python types
(``isinstance(x, np.ndarray)``) are refused with an error saying why: the first would need a
pass over the data that the source may not want in a gradient, the second has no meaning for
a module that converts its inputs to arrays.
"""

from __future__ import annotations

import ast
import operator

import sympy as sp

from .. import symbolic
from ..graph import placeholder
from .language import Poison
from .sizes import Shape

_RELATIONS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_OPPOSITE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_PYTHON = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
_TYPES = ("isinstance", "issubclass", "callable", "hasattr", "type")
MESSAGE_LIMIT = 200  # characters of an assert's text quoted in its message, at most
_VALUES_HINT = ("an assert may read sizes only (x.ndim == 2, x.shape == y.shape, len(x) == len(y)); "
                "check the values before calling the module")


class Assertions:
    """``assert`` statements: each comparison checked now, or when the module runs."""

    def visit_Assert(self, stmt: ast.Assert, env: dict) -> None:
        message = self._assert_message(stmt)
        self._assertion(stmt.test, env, message, negated=False)

    def _assert_message(self, stmt: ast.Assert) -> str:
        """The AssertionError's message: the source's own string, or the assert and its line."""
        if isinstance(stmt.msg, ast.Constant) and isinstance(stmt.msg.value, str):
            return stmt.msg.value
        text = " ".join(self.segment(stmt.test).split())
        if len(text) > MESSAGE_LIMIT:
            text = text[:MESSAGE_LIMIT - 3] + "..."
        place = self.filename.replace("\\", "/")
        return f"assert {text} failed ({place}, line {stmt.lineno})"

    def _assertion(self, node, env, message: str, negated: bool) -> None:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) and not negated:
            for value in node.values:  # each must hold
                self._assertion(value, env, message, negated)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._assertion(node.operand, env, message, not negated)
            return
        if isinstance(node, ast.Compare) and all(type(op) in _RELATIONS for op in node.ops):
            if negated and len(node.ops) > 1:
                raise self.error(node, "'not' of a chained comparison is not supported in an assert",
                                 "write the comparisons it negates one by one")
            sides = [self._assert_side(n, env) for n in (node.left, *node.comparators)]
            for k, op in enumerate(node.ops):
                relation = _RELATIONS[type(op)]
                self._assert_compare(_OPPOSITE[relation] if negated else relation, sides[k], sides[k + 1],
                              node, message)
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _TYPES \
                and node.func.id not in env:
            raise self.error(node, f"an assert on Python types ({node.func.id}(...)) is not supported",
                             "the module converts its inputs to arrays; remove the assert")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("all", "any"):
            raise self.error(node, "an assert on the values of arrays is not supported", _VALUES_HINT)
        value = self.expr(node, env)
        if isinstance(value, Poison):
            raise value.error
        if isinstance(value, int):
            raise self.error(node, "an assert on the values of arrays is not supported", _VALUES_HINT)
        holds = self.truth(value, node, "an assert")
        if holds == negated:
            raise self.error(node, "this assert fails for every input", "correct the condition or remove it")

    def _assert_side(self, node, env):
        """One side of a comparison: (kind, expression, arrays read); kind is "number" (a
        size, or a number known now) or "shape" (a shape, a slice of one, or a tuple)."""
        reads: list[int] = []
        if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)
                and isinstance(node.value, ast.Attribute) and node.value.attr == "shape"):
            base = self.array_of(self.expr(node.value.value, env), node.value.value, ".shape")
            bounds = tuple(None if part is None else self.static_int(part, env, "a slice bound")
                           for part in (node.slice.lower, node.slice.upper, node.slice.step))
            if bounds[2] == 0:
                raise self.error(node.slice.step, "a slice step cannot be zero")
            return "shape", symbolic.shape_part(self._assert_read(base, reads), symbolic.Static(bounds)), reads
        value = self.expr(node, env)
        if isinstance(value, Shape):
            return "shape", symbolic.shape_of(self._assert_read(value.of, reads)), reads
        if isinstance(value, tuple):  # (n, 3), compared with a shape
            elements = node.elts if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == len(value) \
                else [node] * len(value)
            items = [self._assert_number(item, element, reads) for item, element in zip(value, elements)]
            return "shape", sp.Tuple(*items), reads
        return "number", self._assert_number(value, node, reads), reads

    def _assert_number(self, value, node, reads: list):
        """A size (a value of the program no input reaches but through its shape) or a number."""
        if isinstance(value, Poison):
            raise value.error
        if isinstance(value, Shape):
            raise self.error(node, "a shape inside a tuple is not supported in an assert",
                             "compare the shapes themselves: x.shape == y.shape")
        if isinstance(value, tuple):
            raise self.error(node, "a tuple inside a tuple is not supported in an assert")
        if isinstance(value, int):
            if not self.plain(value):
                raise self.error(node, "an assert on the values of arrays is not supported", _VALUES_HINT)
            size = self.graph[value]
            if size.op == "size":  # read off its array in the check itself: an integer, as in Python
                return size.template.xreplace({placeholder(0): self._assert_read(size.args[0], reads)})
            return self._assert_read(value, reads)
        if isinstance(value, sp.logic.boolalg.BooleanAtom) or not value.is_number:
            raise self.error(node, "this side of the comparison is not a number or a size")
        return value

    @staticmethod
    def _assert_read(vid: int, reads: list) -> sp.Symbol:
        if vid not in reads:
            reads.append(vid)
        return placeholder(reads.index(vid))

    def _assert_compare(self, relation: str, left, right, node, message: str) -> None:
        (lkind, lexpr, lreads), (rkind, rexpr, rreads) = left, right
        if lkind != rkind:
            raise self.error(node, "a shape compared with a number is never equal to it",
                             "compare a size (x.shape[0] == 3) or a tuple (x.shape == (3,))")
        if lkind == "shape" and relation not in ("==", "!="):
            raise self.error(node, f"shapes are compared with == and != only, not {relation}",
                             "compare their sizes: x.shape[0] <= y.shape[0]")
        reads = list(lreads)
        shifted = {placeholder(i): self._assert_read(vid, reads) for i, vid in enumerate(rreads)}
        rexpr = rexpr.xreplace(shifted) if shifted else rexpr
        if not reads:  # numbers (and tuples of them) known now
            as_python = (lambda e: tuple(e.args)) if lkind == "shape" else (lambda e: e)
            if not bool(_PYTHON[relation](as_python(lexpr), as_python(rexpr))):
                raise self.error(node, "this assert fails for every input", "correct the condition or remove it")
            return
        self.add_check(relation, lexpr, rexpr, reads, message)

    def add_check(self, relation: str, left, right, reads: list, message: str, error: str = "AssertionError"):
        """A check every generated function makes (derivgen/ops/sizes.py): ``left relation
        right`` over the values ``reads`` (their placeholders), raising ``error`` otherwise."""
        template = symbolic.check(symbolic.Static((relation, message, error)), left, right)
        self.checks.append(self.graph.add("check", template, tuple(reads), labels=frozenset()))
