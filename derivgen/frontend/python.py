"""Python evaluated at compile time: tuples, conditions known now, loops unrolled.

Nothing here reaches the generated code as control flow. A tuple is a Python tuple of
values (``a, b = x, y`` unpacks it; a helper may return one); ``if``, ``a if c else b``,
``and``, ``or`` and ``not`` need a condition known at compile time (a constant, a comparison
of constants) and keep only the branch it selects, as Python would run it; ``for`` over
``range(...)`` of compile-time integers, or over a tuple (``zip`` and ``enumerate`` of them
too), runs its body once per item, each time building more of the graph.
"""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder
from .language import Poison, Slices
from .limits import MAX_UNROLL
from .sizes import Shape
from .sugar import along

_LOOP_HINT = "loop over range(K) with K known at compile time, or over a tuple of values"
_RUNTIME_CONDITION = "for a condition on values, write where(condition, a, b)"
_CONNECTIVES = "combine conditions on values with & and |, e.g. where((x > 0) & (x < 1), a, b)"


class CompileTime:
    """Tuples, conditions known at compile time and loops, as Python itself would run them."""

    # ---- tuples ---------------------------------------------------------------------
    def visit_Tuple(self, node, env):
        return tuple(self.expr(e, env) for e in node.elts)

    def assign(self, target, value, env, node) -> None:
        """``target = value``: a name, or a tuple (list) of targets ``value`` unpacks into."""
        if isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(e, ast.Starred) for e in target.elts):
                raise self.unsupported(next(e for e in target.elts if isinstance(e, ast.Starred)))
            if isinstance(value, Shape):  # n, d = x.shape: as many sizes as names, checked when it runs
                value = self.unpack_shape(value, len(target.elts))
            if isinstance(value, int) and not self.plain(value) and not self.is_cond(value):
                value = Slices(value, 0, "an array's rows")  # a, b = x: Python iterates over its first axis
            if isinstance(value, Slices):  # as many as names, checked when it runs
                value = self.unpack_slices(value, len(target.elts), node)
            if not isinstance(value, tuple):
                raise self.error(node, f"cannot unpack {self.describe(value)} into {len(target.elts)} names",
                                 "only a tuple (a, b or a helper's return a, b) unpacks")
            if len(value) != len(target.elts):
                raise self.error(node, f"cannot unpack {len(value)} values into {len(target.elts)} names")
            for t, v in zip(target.elts, value):
                self.assign(t, v, env, node)
            return
        env[self._target(target)] = value

    def unpack_slices(self, slices: Slices, count: int, node) -> tuple:
        """``a, b = x`` or ``a, b = x.unbind(1)``: x's slices along the axis, one per name; the
        module checks that there are that many, raising ValueError as Python's unpacking does."""
        static = symbolic.Static(("shape", slices.axis, None))
        message = (f"cannot unpack {slices.what} into {count} names: the size of axis {slices.axis} "
                   f"must be {count}")
        self.add_check("==", symbolic.size_of(placeholder(0), static), sp.Integer(count), [slices.of], message,
                       "ValueError")
        return tuple(self.slice_of(slices, i, node) for i in range(count))

    def slice_of(self, slices: Slices, i: int, node) -> int:
        """The i-th of ``slices`` (negative: from the end): x[i] along their axis."""
        return self.apply_op(ops.OPS["getitem"], [slices.of], {"index": along(slices.axis, i)}, node)

    def describe(self, item) -> str:
        if isinstance(item, Shape):
            return "a shape"
        if isinstance(item, Slices):
            return item.what
        if isinstance(item, tuple):
            return f"a tuple of {len(item)}"
        if isinstance(item, int):
            return "a condition" if self.is_cond(item) else "an array"
        return "a number"

    def tuple_item(self, items: tuple, node, env):
        """``t[i]`` or ``t[a:b]`` of a tuple, with a compile-time index."""
        if isinstance(node, ast.Slice):
            bounds = [None if part is None else self.static_int(part, env, "a slice bound")
                      for part in (node.lower, node.upper, node.step)]
            if bounds[2] == 0:
                raise self.error(node.step, "a slice step cannot be zero")
            return items[slice(*bounds)]
        i = self.static_int(node, env, "a tuple's index")
        if not -len(items) <= i < len(items):
            raise self.error(node, f"index {i} is out of range for a tuple of {len(items)}")
        return items[i]

    # ---- conditions known at compile time ---------------------------------------------
    def static_truth(self, node, env, what: str) -> bool:
        """Whether the condition at ``node`` holds; it must be known at compile time."""
        return self.truth(self.expr(node, env), node, what)

    def truth(self, value, node, what: str, hint: str = _RUNTIME_CONDITION) -> bool:
        if isinstance(value, Poison):
            raise value.error
        if isinstance(value, tuple):
            return bool(value)
        if isinstance(value, Shape):  # true where the array has dimensions: known when the module runs
            raise self.error(node, f"the condition of {what} must be known at compile time",
                             "a shape's truth is whether x.ndim > 0, known only when the module runs")
        if isinstance(value, int):  # a value of the program (an array, a condition on arrays)
            raise self.error(node, f"the condition of {what} must be known at compile time", hint)
        if isinstance(value, sp.logic.boolalg.BooleanAtom):
            return bool(value)
        return bool(value != 0)

    def visit_IfExp(self, node, env):
        taken = self.static_truth(node.test, env, "a conditional expression (a if c else b)")
        return self.expr(node.body if taken else node.orelse, env)

    def visit_BoolOp(self, node, env):
        # Python's: the first operand that decides, the others not evaluated.
        want = isinstance(node.op, ast.Or)
        for value_node in node.values[:-1]:
            value = self.expr(value_node, env)
            if self.truth(value, value_node, "'and' / 'or'", _CONNECTIVES) == want:
                return value
        last = self.expr(node.values[-1], env)
        if isinstance(last, int):
            raise self.error(node.values[-1], "the condition of 'and' / 'or' must be known at compile time",
                             _CONNECTIVES)
        return last

    def logical_not(self, node, env):
        value = self.expr(node.operand, env)
        if isinstance(value, int):
            raise self.error(node, "'not' needs a condition known at compile time",
                             "negate a condition on values with ~, as in where(~(x > 0), a, b)")
        return sp.false if self.truth(value, node.operand, "'not'") else sp.true

    # ---- loops ------------------------------------------------------------------------
    def loop_items(self, node, env) -> list:
        """What a for loop runs over: range() of compile-time integers, or a tuple (a list
        of values, zip() and enumerate() of them)."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in env:
            name = node.func.id
            if name in ("range", "zip", "enumerate") and node.keywords:
                raise self.error(node.keywords[0].value, f"{name}() takes positional arguments only here")
            if name == "range":
                if not 1 <= len(node.args) <= 3:
                    raise self.error(node, f"range() takes 1 to 3 arguments, got {len(node.args)}")
                bounds = [self.static_int(a, env, "range()'s argument") for a in node.args]
                if len(bounds) == 3 and bounds[2] == 0:
                    raise self.error(node.args[2], "range()'s step cannot be zero")
                return self._bounded(range(*bounds), node)
            if name == "zip":
                sequences = [self._sequence(a, env) for a in node.args]
                return self._bounded(list(zip(*sequences)), node)
            if name == "enumerate":
                if len(node.args) != 1:
                    raise self.error(node, "enumerate() takes one argument here")
                return self._bounded([(sp.Integer(i), v) for i, v in enumerate(self._sequence(node.args[0], env))],
                                     node)
        return list(self._sequence(node, env))

    def _sequence(self, node, env) -> tuple:
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in env
                and node.func.id in ("range", "zip", "enumerate")):
            return tuple(self.loop_items(node, env))
        if isinstance(node, ast.List):
            return tuple(self.expr(e, env) for e in node.elts)
        value = self.expr(node, env)
        if isinstance(value, tuple):
            return value
        raise self.error(node, f"cannot loop over {self.describe(value)}", _LOOP_HINT)

    def _bounded(self, items, node) -> list:
        if len(items) > MAX_UNROLL:
            raise self.error(node, f"this loop runs {len(items):,} times; loops are unrolled, at most "
                                   f"{MAX_UNROLL:,} times", "derivgen.frontend.limits.MAX_UNROLL sets the bound; "
                                                            "a reduction over an axis needs no loop")
        return [sp.Integer(i) if isinstance(i, int) else i for i in items]

