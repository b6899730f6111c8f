"""Graph rewrites applied before differentiation: numerical stability and NaN safety.

A symbolic compiler sees the whole formula, so it can replace forms that overflow,
cancel or divide 0/0 with forms that stay exact; the derivative rules of the new
ops are then stable too. Each rewrite is an identity of real analysis, checked in
``tests/test_numerics.py`` symbolically and at extreme points against mpmath:

    log(sigmoid(z))          -> -softplus(-z)
    log(1 - sigmoid(z))      -> -softplus(z)
    log(1 + exp(z))          -> softplus(z)
    log(exp(a) + exp(b))     -> logaddexp(a, b)
    log(sum(exp(x)))         -> logsumexp(x) = log(sum(exp(x - m))) + m, m = max(x)
    1 / (1 + exp(-z))        -> sigmoid(z)
    1 - sigmoid(z)           -> sigmoid(-z)
    exp(a) / (exp(a) + exp(b)) -> sigmoid(a - b)
    exp(x) / sum(exp(x))     -> exp(x - m) / sum(exp(x - m))   (softmax, max-shifted)
    log(1 + x)               -> log1p(x)
    log(1 - x)               -> log1p(-x)
    exp(x) - 1               -> expm1(x)

Clamps are never looked through: a clamp is part of the user's math.

NaN safety: inside a branch of ``where(c, a, b)``, an op that can fail for
inputs the branch never selects (log, sqrt, division, exp overflow, ...) gets its
argument replaced by a harmless value where the branch is not selected. The
value and gradient are unchanged where selected, and no nan, inf or warning can
come from the positions that are not.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from . import ops
from . import symbolic as S
from .graph import Graph, Value, placeholder
from .parse import Program

A0, A1 = placeholder(0), placeholder(1)
# Ops computed by a helper that also returns the weights of their gradient.
PARTS = {"sigmoid": S.sigmoid_parts, "softplus": S.softplus_parts, "logaddexp": S.logaddexp_parts}
ONE = sp.Integer(1)

# Ops that can raise a warning or produce nan/inf for some inputs, and an input
# value for which they are finite and smooth (with finite derivatives).
HAZARDS = {
    "log": 1.0, "log2": 1.0, "log10": 1.0, "log1p": 0.0, "sqrt": 1.0, "arccosh": 2.0,
    "arctanh": 0.0, "arcsin": 0.0, "arccos": 0.0, "exp": 0.0, "exp2": 0.0, "expm1": 0.0,
    "sinh": 0.0, "cosh": 0.0, "tan": 0.0,
}
# Binary ops: operand index -> safe value.
BINARY_HAZARDS = {"div": {1: 1.0}, "pow": {0: 1.0, 1: 1.0}, "power": {0: 1.0, 1: 1.0},
                  "hypot": {0: 1.0, 1: 1.0}}  # hypot's gradient a / hypot(a, b) is 0/0 at (0, 0)


class Rewriter:
    """Replays a graph into a new one, rewriting values as they are added."""

    def __init__(self, old: Graph):
        self.old = old
        self.new = Graph()
        self.map: dict[int, int] = {}

    # ---- building values in the new graph -----------------------------------------
    def value(self, vid: int) -> Value:
        return self.new[vid]

    def unary(self, op: str, head, arg: int) -> int:
        if op in PARTS:
            return self.shared(op, head(A0), (arg,), (A0,))
        return self.new.add(op, head(A0), (arg,), operands=(A0,))

    def neg(self, arg: int) -> int:
        if self.is_op(arg, "neg"):  # -(-z) is z, exactly
            return self.value(arg).args[0]
        return self.new.add("neg", -A0, (arg,), operands=(A0,))

    def binary(self, op: str, template, a: int, b: int) -> int:
        if op in PARTS:
            return self.shared(op, template, (a, b), (A0, A1))
        return self.new.add(op, template, (a, b), operands=(A0, A1))

    def shared(self, op: str, template, args: tuple[int, ...], operands: tuple) -> int:
        """``op`` as a pick from its *_parts helper, which computes the value together with
        the weights its gradient needs, from the same exp: a separate gradient would
        compute exp again (the parts helper is exact everywhere, as the op's own is)."""
        parts = self.new.add(f"{op}_parts", PARTS[op](*template.args), args, operands=operands)
        slot = placeholder(len(args))
        return self.new.add(op, S.part(slot, 0), (*args, parts), operands=(*operands, slot))

    def is_op(self, vid: int, op: str) -> bool:
        return self.new[vid].op == op

    # ---- the rewrites ---------------------------------------------------------------
    def template(self, vid: int):
        """The template with whole-number floats as integers, so 1.0 matches 1."""
        t = self.new[vid].template
        floats = {f: sp.Integer(int(f)) for f in t.atoms(sp.Float) if float(f).is_integer()} if t is not None else {}
        return t.xreplace(floats) if floats else t

    def rewrite(self, value: Value, args: tuple[int, ...]) -> int | None:
        op, t = value.op, value.template
        floats = {f: sp.Integer(int(f)) for f in t.atoms(sp.Float) if float(f).is_integer()}
        t = t.xreplace(floats) if floats else t
        if op == "log" and t == sp.log(A0):
            return self.rewrite_log(args[0])
        if op == "div" and t == 1 / A0:
            return self.rewrite_reciprocal(args[0])
        if op == "div" and t == A0 / A1:
            return self.rewrite_ratio(args[0], args[1])
        if t == A0 - 1 and self.is_op(args[0], "exp"):  # exp(x) - 1 = expm1(x)
            return self.unary("expm1", S.expm1, self.value(args[0]).args[0])
        if t == 1 - A0 and self.is_op(args[0], "sigmoid"):  # 1 - sigmoid(z) = sigmoid(-z)
            return self.unary("sigmoid", S.sigmoid, self.neg(self.value(args[0]).args[0]))
        return None

    def rewrite_log(self, arg: int) -> int | None:
        inner = self.value(arg)
        if inner.op == "sigmoid":  # log(sigmoid(z)) = -softplus(-z)
            return self.neg(self.unary("softplus", S.softplus, self.neg(inner.args[0])))
        t = self.template(arg)
        if t == A0 + 1:
            x = self.value(inner.args[0])
            if x.op == "exp":  # log(1 + exp(z)) = softplus(z)
                return self.unary("softplus", S.softplus, x.args[0])
            return self.unary("log1p", S.log1p, inner.args[0])
        if t == 1 - A0:
            x = self.value(inner.args[0])
            if x.op == "sigmoid":  # log(1 - sigmoid(z)) = -softplus(z)
                return self.neg(self.unary("softplus", S.softplus, x.args[0]))
            return self.unary("log1p", S.log1p, self.neg(inner.args[0]))
        if t == A0 + A1:
            a, b = (self.value(i) for i in inner.args)
            if a.op == "exp" and b.op == "exp":  # log(exp(a) + exp(b)) = logaddexp(a, b)
                return self.binary("logaddexp", S.logaddexp(A0, A1), a.args[0], b.args[0])
        if inner.op == "sum" and self.is_op(inner.args[0], "exp"):
            x = self.value(inner.args[0]).args[0]  # log(sum(exp(x))) = logsumexp(x)
            return self.logsumexp(x, inner.static, inner.lo)
        return None

    def fresh_label(self) -> frozenset:
        """A shape label for a new reduction. Copied values keep the labels the parser gave
        them ("#<id>" of the parsed graph), so new ones take a namespace of their own."""
        return frozenset({f"#r{len(self.new.values)}"})

    def max_shift(self, x: int, static: tuple) -> int:
        """max(x) over the reduced axes (0 where not finite): subtracted before exp, it keeps
        exp from overflowing and cancels exactly, so no gradient flows through it."""
        labels = frozenset() if len(static) == 1 and not static[0] else self.fresh_label()
        return self.new.add("max_shift", S.max_shift(A0, *static), (x,), labels=labels, operands=(A0,),
                            static=static)

    def shifted_exp(self, x: int, static: tuple) -> tuple[int, int]:
        """exp(x - m) and the exp_shift value holding m, a shift over the axes of a sum with
        this static (keepdims, *axes). m is 0 where exp(x) is already exact, which spares a
        pass over x; no gradient flows through m, since it cancels exactly."""
        parts = self.new.add("exp_shift", S.exp_shift(A0, *static), (x,), operands=(A0,), static=static)
        return self.new.add("exp_shifted", S.part(A1, 0), (x, parts), operands=(A0, A1)), parts

    def logsumexp(self, x: int, static: tuple, labels) -> int:
        """log(sum(exp(x - m))) + m: the exp(x - m) it computes is reused by the gradient,
        softmax(x) = exp(x - m) / sum(exp(x - m))."""
        shifted, parts = self.shifted_exp(x, static)
        total = self.new.add("sum", S.reduce_sum(A0, *static), (shifted,), labels=labels,
                             operands=(A0,), static=static)
        # m has the shape of the sum: the same labels.
        shift = self.new.add("max_shift", S.part(A0, 1), (parts,), labels=labels, operands=(A0,))
        return self.binary("add", A0 + A1, self.unary("log", sp.log, total), shift)

    def rewrite_reciprocal(self, arg: int) -> int | None:
        inner = self.value(arg)
        if self.template(arg) == A0 + 1 and self.is_op(inner.args[0], "exp"):
            u = self.value(inner.args[0]).args[0]  # 1 / (1 + exp(u)) = sigmoid(-u)
            z = self.value(u).args[0] if self.is_op(u, "neg") else self.neg(u)
            return self.unary("sigmoid", S.sigmoid, z)
        return None

    def rewrite_ratio(self, num: int, den: int) -> int | None:
        top, bottom = self.value(num), self.value(den)
        if top.op != "exp":
            return None
        if self.template(den) == A0 + A1 and num in bottom.args:
            other = self.value(bottom.args[1] if bottom.args[0] == num else bottom.args[0])
            if other.op == "exp":  # exp(a) / (exp(a) + exp(b)) = sigmoid(a - b)
                diff = self.binary("sub", A0 - A1, top.args[0], other.args[0])
                return self.unary("sigmoid", S.sigmoid, diff)
        if bottom.op == "sum" and bottom.args[0] == num:
            keepdims, *axes = bottom.static
            if axes and not keepdims:
                return None  # not a softmax: the shapes would not line up
            # softmax: exp(x) / sum(exp(x)) = exp(x - m) / sum(exp(x - m)), m = max(x)
            shifted, _ = self.shifted_exp(top.args[0], bottom.static)
            total = self.new.add("sum", S.reduce_sum(A0, *bottom.static), (shifted,), labels=bottom.lo,
                                 operands=(A0,), static=bottom.static)
            return self.binary("div", A0 / A1, shifted, total)
        return None

    # ---- replay ------------------------------------------------------------------------
    def copy(self, value: Value, args: tuple[int, ...]) -> int:
        if value.template is None:
            return self.new.leaf(value.op, value.name, value.lo, value.hi)
        if value.op in PARTS and all(isinstance(o, sp.Symbol) for o in value.operands):
            return self.shared(value.op, value.template, args, value.operands)
        structural = value.op in ("sum", "mean", "logsumexp", "matmul", "dot", "transpose", "const")
        return self.new.add(value.op, value.template, args, labels=value.lo if structural else None,
                            operands=value.operands, static=value.static, zero_safe=value.zero_safe)

    def run(self, guards: dict[int, dict[int, list[tuple[int | None, bool, float]]]],
            zero_safe: set[int] = frozenset()) -> dict[int, int]:
        for value in self.old.values:
            args = tuple(self.map[a] for a in value.args)
            if value.id in zero_safe:  # its rule's terms are 0 where its adjoint is (rules.py)
                value = replace(value, zero_safe=True)
            for position, conditions in sorted(guards.get(value.id, {}).items()):
                guarded = args[position]
                for cond, selected, safe in conditions:  # innermost where first
                    guarded = self._guard(guarded, None if cond is None else self.map[cond], selected, safe)
                args = args[:position] + (guarded,) + args[position + 1:]
            first = len(self.new.values)
            if value.op == "logsumexp":
                replaced = self.logsumexp(args[0], value.static, value.lo)
            else:
                replaced = self.rewrite(value, args) if value.template is not None else None
            self.map[value.id] = replaced if replaced is not None else self.copy(value, args)
            if value.zero_safe:  # so are the values a rewrite made of it
                for new in self.new.values[first:]:
                    if new.op not in ("matmul", "dot") and new.template is not None:
                        self.new.values[new.id] = replace(new, zero_safe=True)
        return self.map

    def _guard(self, arg: int, cond: int | None, selected: bool, safe: float) -> int:
        """``arg`` where the branch is selected, ``safe`` elsewhere (everywhere, in its shape,
        for the branch a constant condition never takes)."""
        if cond is None:
            return self.new.add("where", S.where(sp.false, A0, sp.Float(safe), evaluate=False), (arg,),
                                operands=(sp.false, A0, sp.Float(safe)))
        a, b = (A1, sp.Float(safe)) if selected else (sp.Float(safe), A1)
        return self.new.add("where", S.where(A0, a, b), (cond, arg),
                            operands=(A0, A1, sp.Float(safe)) if selected else (A0, sp.Float(safe), A1))


def branch_guards(graph: Graph, output: int):
    """For each hazardous op used only inside branches of where: which argument to guard,
    and for each where it is inside (innermost first), with which condition (None for a
    constant one), whether the branch is the selected (True) one, and the harmless value to
    use where it is not; and the hazardous ops whose gradient must be zero where none
    arrives.

    Only elementwise values are guarded by a condition: a position of the where's condition
    is a position of its branch, and of every elementwise value the branch is computed from
    (broadcasting aside), but not of the operand of a reduction, a matrix product or a
    transpose. Those are computed as written, and their gradient is zero wherever the
    adjoint that reaches them is (0 * inf would be nan). A branch a constant condition never
    selects is needed only for its shape: every hazard in it is guarded everywhere."""
    users: dict[int, set[int]] = {}
    for value in graph.values:
        for a in value.args:
            users.setdefault(a, set()).add(value.id)
    guards: dict[int, dict[int, list[tuple[int | None, bool, float]]]] = {}
    zero_safe: set[int] = set()
    for value in graph.values:
        if value.op != "where":
            continue
        condition = value.operands[0]
        constant = not isinstance(condition, sp.Symbol)
        cond = None if constant else value.args[0]
        branches = [value.args[int(o.name[2:])] if isinstance(o, sp.Symbol) else o for o in value.operands[1:]]
        if branches[0] == branches[1]:
            continue  # where(c, a, a): a is selected everywhere
        for branch_symbol, selected in ((value.operands[1], True), (value.operands[2], False)):
            if not isinstance(branch_symbol, sp.Symbol) or (constant and bool(condition) == selected):
                continue  # a number, or the branch a constant condition takes: computed as written
            root = value.args[int(branch_symbol.name[2:])]
            aligned = set() if constant else set(_exclusive(graph, users, root, value.id, output, True))
            for vid in _exclusive(graph, users, root, value.id, output, False):
                for position, safe in _hazard_positions(graph[vid]):
                    if constant or (vid in aligned and cond < vid):  # a guard needs its condition first
                        guards.setdefault(vid, {}).setdefault(position, []).append((cond, selected, safe))
                if not constant and vid not in aligned and graph[vid].op not in ("matmul", "dot"):
                    zero_safe.add(vid)
    return guards, zero_safe


def _hazard_positions(value: Value) -> list[tuple[int, float]]:
    """(argument position, safe value) for each operand of ``value`` that needs a guard."""
    if value.op in HAZARDS and isinstance(value.operands[0], sp.Symbol):
        return [(0, HAZARDS[value.op])]
    positions = []
    for index, safe in BINARY_HAZARDS.get(value.op, {}).items():
        operand = value.operands[index]
        if isinstance(operand, sp.Symbol):
            positions.append((int(operand.name[2:]), safe))
    return positions


def _exclusive(graph: Graph, users, root: int, where_id: int, output: int, elementwise: bool) -> list[int]:
    """Values computed only for ``root``, the branch of one where (walked iteratively);
    with ``elementwise``, only through elementwise values."""
    inside = {root}
    if root == output or any(u != where_id for u in users.get(root, ())) or (
            elementwise and not _elementwise(graph[root])):
        return []
    stack = list(graph[root].args)
    while stack:
        vid = stack.pop()
        if vid in inside or graph[vid].template is None or (elementwise and not _elementwise(graph[vid])):
            continue
        if vid != output and users.get(vid, set()) <= inside:
            inside.add(vid)
            stack.extend(graph[vid].args)
    return sorted(inside)


ELEMENTWISE = frozenset(name for name, spec in ops.OPS.items() if spec.kind == "elementwise") | frozenset(
    ops.OPERATORS)


def _elementwise(value: Value) -> bool:
    """Whether each element of ``value`` is computed from the same position of its operands."""
    return value.op in ELEMENTWISE


def optimize(program: Program) -> Program:
    """The program with stability rewrites and NaN-safe where branches applied."""
    rewriter = Rewriter(program.graph)
    mapping = rewriter.run(*branch_guards(program.graph, program.output))
    return Program(rewriter.new, program.inputs, {n: mapping[v] for n, v in program.input_ids.items()},
                   mapping[program.output], program.name, program.kind, program.source,
                   program.filename, program.text)
