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
from .graph import Graph, Program, Value, placeholder
from .ops.constants import CONSTANT_ARRAYS

A0, A1 = placeholder(0), placeholder(1)
# From the op registry: the ops computed by a helper that also returns the weights of their
# gradient (op -> that helper's head), and the operands that can make an op fail (a
# warning, nan or inf, for it or its derivative), with a value for which it is finite and
# smooth: the NaN-safe branches of where guard them.
PARTS = ops.PARTS
HAZARDS = ops.HAZARDS
ONE = sp.Integer(1)


class Rewriter:
    """Replays a graph into a new one, rewriting values as they are added."""

    def __init__(self, old: Graph):
        self.old = old
        self.new = Graph()
        self.map: dict[int, int] = {}
        self.takes: dict[int, bool] = {}  # Graph.takes_input's memo over the new graph

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
        if op in PARTS and self.new.takes_input(a, self.takes) == self.new.takes_input(b, self.takes):
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
        value = self.binary("add", A0 + A1, self.unary("log", sp.log, total), shift)
        # Near 0 the log of a sum near 1 has lost digits the value needs: recomputed there.
        return self.new.add("lse_refine", S.lse_refine(A0, A1, *static), (value, x), labels=labels,
                            operands=(A0, A1), static=static)

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
        # (Not of a Python number computed at run time, len(x): the helper's exp of it would
        # be a float64 NumPy scalar, which makes a float32 operand's result float64.)
        if (value.op in PARTS and all(isinstance(o, sp.Symbol) for o in value.operands)
                and all(self.new.takes_input(a, self.takes) for a in args)):
            return self.shared(value.op, value.template, args, value.operands)
        structural = value.op in ops.STRUCTURAL or value.op == "const"
        return self.new.add(value.op, value.template, args, labels=value.lo if structural else None,
                            operands=value.operands, static=value.static, zero_safe=value.zero_safe)

    def run(self, guards: dict[int, dict[int, tuple[list[list[tuple[int, bool]]], float]]],
            zero_safe: set[int] = frozenset(), own_shape: set[int] = frozenset()) -> dict[int, int]:
        self.own_shape = own_shape
        for value in self.old.values:
            if value.id not in self.map:
                self._replay_guarded(value, guards, zero_safe)
        return self.map

    def _replay_guarded(self, value: Value, guards, zero_safe) -> None:
        """Replay ``value``, the conditions of its guards first where they come later."""
        conds = {c for alternatives, _ in guards.get(value.id, {}).values()
                 for alternative in alternatives for c, _ in alternative}
        for cond in sorted(conds):
            self._replay_closure(cond, guards, zero_safe)
        self._replay(value, guards, zero_safe)

    def _replay_closure(self, vid: int, guards, zero_safe) -> None:
        """Replay ``vid`` and what it is computed from, in order, each with the conditions of
        its own guards first (none of it reads the value being guarded: branch_guards checked)."""
        needed, stack = set(), [vid]
        while stack:
            v = stack.pop()
            if v not in self.map and v not in needed:
                needed.add(v)
                stack.extend(self.old[v].args)
        for v in sorted(needed):
            if v not in self.map:  # a guard's condition replayed for an earlier one may hold it
                self._replay_guarded(self.old[v], guards, zero_safe)

    def _replay(self, value: Value, guards, zero_safe) -> None:
        args = tuple(self.map[a] for a in value.args)
        if value.id in zero_safe:  # its rule's terms are 0 where its adjoint is (rules.py)
            value = replace(value, zero_safe=True)
        for position, (alternatives, safe) in sorted(guards.get(value.id, {}).items()):
            guarded = self._guarded(args[position], alternatives, safe, value.id in self.own_shape)
            args = args[:position] + (guarded,) + args[position + 1:]
        first = len(self.new.values)
        if value.op == "logsumexp":
            replaced = self.logsumexp(args[0], value.static, value.lo)
        else:
            replaced = self.rewrite(value, args) if value.template is not None else None
        self.map[value.id] = replaced if replaced is not None else self.copy(value, args)
        if value.zero_safe:  # so are the values a rewrite made of it
            for new in self.new.values[first:]:
                if new.op not in ops.SHAPED and new.template is not None:
                    self.new.values[new.id] = replace(new, zero_safe=True)

    def _guarded(self, arg: int, alternatives: list[list[tuple[int, bool]]], safe: float,
                 own_shape: bool = False) -> int:
        """``arg`` where it is live, ``safe`` elsewhere: nowhere without alternatives, one
        where per condition (innermost first) with one, their disjunction with several.
        ``own_shape``: the value is read by an op that is not elementwise (a transpose, a
        reduction), so its shape must stay its own: conditions that may have axes the
        argument has not are taken down to its shape below."""
        if not alternatives:
            return self._guard(arg, None, False, safe)
        within = self.new[arg].lo
        if len(alternatives) == 1 and (not own_shape or all(self.new[self.map[c]].hi <= within
                                                              for c, _ in alternatives[0])):
            for cond, selected in alternatives[0]:
                arg = self._guard(arg, self.map[cond], selected, safe)
            return arg
        conds = sorted({self.map[c] for alternative in alternatives for c, _ in alternative})
        if len({self.new[c].hi for c in conds}) > 1:
            return self._guard(arg, self._live_apart(arg, alternatives), True, safe)
        symbol = {c: placeholder(i) for i, c in enumerate(conds)}
        live = sp.Or(*(sp.And(*(symbol[self.map[c]] if selected else sp.Not(symbol[self.map[c]])
                                for c, selected in alternative)) for alternative in alternatives))
        if live is sp.true:
            return arg
        if live is sp.false:
            return self._guard(arg, None, False, safe)
        used = sorted(live.free_symbols, key=lambda s: int(s.name[2:]))
        renamed = {s: placeholder(i) for i, s in enumerate(used)}
        cond = self.new.add("cond", live.xreplace(renamed), tuple(conds[int(s.name[2:])] for s in used),
                            operands=tuple(placeholder(i) for i in range(len(used))))
        # The conditions may have shapes that the argument does not (the alternatives come from
        # different wheres, or a where broadcasts the argument): the disjunction is taken down
        # to the argument's own shape (a position is live where any position it is broadcast
        # to is), which guarding keeps.
        shape = self.new[arg]
        cond = self.new.add("live", S.live(A0, A1), (cond, arg), labels=(shape.lo, shape.hi), operands=(A0, A1))
        return self._guard(arg, cond, True, safe)

    def _live_apart(self, arg: int, alternatives) -> int:
        """Where ``arg`` is live, for conditions of shapes that may not broadcast together (two
        wheres of other shapes use one value): each condition taken down to the argument's own
        shape first, then combined. That is live on a few more positions than the disjunction
        taken down at once (a position may see one condition hold and another, of the same
        alternative, elsewhere): branch_guards makes such a value's gradient zero where no
        adjoint arrives."""
        shape = self.new[arg]
        live = {}
        for alternative in alternatives:
            for c, selected in alternative:
                if (c, selected) not in live:
                    cond = self.map[c]
                    if not selected:
                        cond = self.new.add("cond", sp.Not(A0), (cond,), operands=(A0,))
                    live[(c, selected)] = self.new.add("live", S.live(A0, A1), (cond, arg),
                                                       labels=(shape.lo, shape.hi), operands=(A0, A1))
        parts = sorted(set(live.values()))
        symbol = {v: placeholder(i) for i, v in enumerate(parts)}
        either = sp.Or(*(sp.And(*(symbol[live[step]] for step in alternative)) for alternative in alternatives))
        return self.new.add("cond", either, tuple(parts), operands=tuple(symbol.values()))

    def _guard(self, arg: int, cond: int | None, selected: bool, safe: float) -> int:
        """``arg`` where the branch is selected, ``safe`` elsewhere (everywhere, in its shape,
        for the branch a constant condition never takes)."""
        if cond is None:
            return self.new.add("where", S.where(sp.false, A0, sp.Float(safe), evaluate=False), (arg,),
                                operands=(sp.false, A0, sp.Float(safe)))
        a, b = (A1, sp.Float(safe)) if selected else (sp.Float(safe), A1)
        return self.new.add("where", S.where(A0, a, b), (cond, arg),
                            operands=(A0, A1, sp.Float(safe)) if selected else (A0, sp.Float(safe), A1))


# A path from a value to the output, as the analysis below sees it: the non-constant where
# conditions it passes through at the value's own positions, outermost first, as
# (condition id, whether the branch is the selected one); and whether it also passes through
# a where beyond an op that moves elements (a reduction, a matrix product, a transpose),
# where positions are no longer the value's.
Path = tuple[tuple[tuple[int, bool], ...], bool]
EVERYWHERE: Path = ((), False)
# More paths than this to one value: it is treated as live wherever a where is (correct,
# only less precise), so the analysis stays linear in the size of the graph.
MAX_PATHS = 16


def branch_paths(graph: Graph, output: int, shape_only: tuple = ()) -> dict[int, set[Path]]:
    """For each value the output depends on, the paths by which it does (walked once,
    from the output back). A value reached only through branches a constant condition never
    selects has no paths: it is computed for its shape only; so is one only sizes and arrays
    of constants read (x.shape[1], np.zeros(x.shape)), or the values ``shape_only`` (an assert's checks, which read shapes alone)."""
    paths: dict[int, set[Path]] = {output: {EVERYWHERE}}
    for vid in shape_only:
        paths.setdefault(vid, set())
    for value in reversed(graph.values[:max((output, *shape_only)) + 1]):
        mine = paths.get(value.id)
        if mine is None or value.template is None:
            continue
        if _reads_shapes(value):
            uses = [(a, set()) for a in value.args]
        elif value.op == "where":
            uses = _where_uses(value, mine)
        elif _elementwise(value) or value.op == "cond":
            uses = [(a, mine) for a in value.args]
        else:  # positions move: only whether a where was passed survives
            moved = {((), opaque or bool(conds)) for conds, opaque in mine}
            uses = [(a, moved) for a in value.args]
        for arg, more in uses:
            known = paths.setdefault(arg, set())
            known |= more
            if len(known) > MAX_PATHS:
                paths[arg] = {((), True)} if EVERYWHERE not in known else {EVERYWHERE}
    return paths


def _reads_shapes(value: Value) -> bool:
    """Whether ``value`` reads its operands' shapes alone: a size (x.shape[1]), an array of
    constants (np.zeros(x.shape), np.zeros_like(x)), a shape."""
    return value.op in ops.SIZES or value.op in CONSTANT_ARRAYS or value.op in ("shape", "zeros_like", "nan_like")


def _where_uses(value: Value, mine: set[Path]) -> list[tuple[int, set[Path]]]:
    condition, *branches = value.operands
    constant = not isinstance(condition, sp.Symbol)
    uses = [] if constant else [(value.args[int(condition.name[2:])], mine)]
    symbols = [b for b in branches if isinstance(b, sp.Symbol)]
    if len(symbols) == 2 and symbols[0] == symbols[1]:  # where(c, a, a): a is selected everywhere
        return [*uses, (value.args[int(symbols[0].name[2:])], mine)]
    for branch, selected in zip(branches, (True, False)):
        if not isinstance(branch, sp.Symbol):
            continue
        arg = value.args[int(branch.name[2:])]
        if constant:  # the branch it takes is computed as written; the other one nowhere
            uses.append((arg, mine if bool(condition) == selected else set()))
        else:
            cond = value.args[int(condition.name[2:])]
            uses.append((arg, {(conds + ((cond, selected),), opaque) for conds, opaque in mine}))
    return uses


def branch_guards(graph: Graph, output: int, checks: tuple = ()):
    """For each hazardous op used only inside branches of where: which argument to guard,
    and where it is live (a list of alternatives, each a list of (condition id, selected)
    innermost first; no alternatives: nowhere) with the harmless value to use elsewhere; and
    the ops whose gradient must be zero where none arrives.

    A value is guarded by the conditions of the wheres it is used in, at its own positions:
    a position of a where's condition is a position of its branch and of every elementwise
    value the branch is computed from (broadcasting aside), but not of the operand of a
    reduction, a matrix product or a transpose. A value used by several branches is live
    where any of them is selected. A value some branch reaches only through a reduction is
    computed as written, and its gradient is zero wherever the adjoint that reaches it is
    (0 * inf would be nan). A branch a constant condition never selects is needed only for
    its shape, as is a value only the ``checks`` (asserts) read: every hazard in it is
    guarded everywhere."""
    guards: dict[int, dict[int, tuple[list[list[tuple[int, bool]]], float]]] = {}
    zero_safe: set[int] = set()
    for vid, paths in branch_paths(graph, output, checks).items():
        value = graph[vid]
        if value.template is None or EVERYWHERE in paths:
            continue
        # A guard is computed before the value: conditions that read the value are left out
        # (the value is then live on more positions than it needs to be, which is safe).
        usable = set()
        for conds, opaque in paths:
            kept = tuple(c for c in conds if not _reads(graph, c[0], vid))
            usable.add((kept, opaque or len(kept) < len(conds)))
        if all(conds for conds, _ in usable):
            alternatives = sorted({conds for conds, _ in usable})
            for position, safe in _hazard_positions(value):
                guards.setdefault(vid, {})[position] = ([list(reversed(c)) for c in alternatives], safe)
            if len({graph[c].hi for conds in alternatives for c, _ in conds}) > 1 and value.op not in ops.SHAPED:
                zero_safe.add(vid)  # its conditions are taken down to its shape apart (_live_apart)
        # Positions the guards do not reach: those of a value reached through a reduction
        # (its adjoint is zero where no branch is selected), and the operands of a value
        # that moves elements (its rule reads them at other positions).
        unguarded = any(opaque for _, opaque in usable) or not _elementwise(value)
        if unguarded and value.op not in ops.SHAPED:
            zero_safe.add(vid)
    _break_cycles(graph, guards, zero_safe)
    # An index that leaves elements out sends them no gradient: an op computed from them whose
    # rule is infinite there (arccos at -1) has 0, not 0 * inf, for its term where none arrives.
    indexed = [v.id for v in graph.values if v.op in ("getitem", "gather_index", "take_along_axis", "gather")]
    if indexed:
        zero_safe.update(v for v in graph.ancestors(indexed)
                         if graph[v].op in ops.HAZARDS and graph[v].template is not None
                         and graph[v].op not in ops.SHAPED)
    return guards, zero_safe, _shape_read(graph, guards)


def _shape_read(graph: Graph, guards) -> set[int]:
    """The guarded values whose shape an op that is not elementwise reads, through the
    elementwise values computed from them: x / x of shape () transposed, where a guard by a
    condition of shape (2, 1) would make it (2, 1) and its transpose (1, 2)."""
    users: dict[int, list[int]] = {}
    for value in graph.values:
        for a in set(value.args):
            users.setdefault(a, []).append(value.id)
    shaped = set()
    for vid in guards:
        seen, stack = set(), [vid]
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            if v != vid and not _elementwise(graph[v]):
                shaped.add(vid)
                break
            stack.extend(users.get(v, ()))
    return shaped


def _break_cycles(graph: Graph, guards, zero_safe: set[int]) -> None:
    """Leave out the conditions a value's guard cannot wait for: a condition computed from
    another guarded value whose own guard's condition is computed from the first (each
    would have to be replayed before the other). The value is then live on more positions
    than it needs to be, and its gradient zero where none arrives, as for a condition
    that reads the value itself. Values are taken in order and a condition is kept only
    where its replay does not come back to the value: what is left has no cycle."""
    for vid in sorted(guards):
        positions = guards[vid]
        alternatives, _ = next(iter(positions.values()))
        conds = {c for alternative in alternatives for c, _ in alternative}
        cyclic = {c for c in conds if _replay_reaches(graph, guards, c, vid)}
        if not cyclic:
            continue
        kept = sorted({tuple(step for step in alternative if step[0] not in cyclic) for alternative in alternatives})
        if any(not alternative for alternative in kept):
            del guards[vid]  # live everywhere: nothing left to guard with
        else:
            for position, (_, safe) in positions.items():
                positions[position] = ([list(alternative) for alternative in kept], safe)
        if graph[vid].op not in ops.SHAPED:
            zero_safe.add(vid)


def _replay_reaches(graph: Graph, guards, start: int, vid: int) -> bool:
    """Whether replaying ``start`` replays ``vid`` first: through the values it is computed
    from and the conditions of their guards."""
    seen, stack = set(), [start]
    while stack:
        v = stack.pop()
        if v == vid:
            return True
        if v in seen:
            continue
        seen.add(v)
        stack.extend(graph[v].args)
        for alternatives, _ in guards.get(v, {}).values():
            stack.extend(c for alternative in alternatives for c, _ in alternative)
    return False


def _reads(graph: Graph, cond: int, vid: int) -> bool:
    """Whether computing ``cond`` reads ``vid`` (only values after ``vid`` can)."""
    if cond <= vid:
        return cond == vid
    seen, stack = set(), [cond]
    while stack:
        v = stack.pop()
        if v == vid:
            return True
        if v > vid and v not in seen:
            seen.add(v)
            stack.extend(graph[v].args)
    return False


def _hazard_positions(value: Value) -> list[tuple[int, float]]:
    """(argument position, safe value) for each operand of ``value`` that needs a guard."""
    positions = []
    for index, safe in HAZARDS.get(value.op, {}).items():
        operand = value.operands[index]
        if isinstance(operand, sp.Symbol):
            positions.append((int(operand.name[2:]), safe))
    return positions


ELEMENTWISE = ops.ELEMENTWISE  # op names, the operators of the language included


def _elementwise(value: Value) -> bool:
    """Whether each element of ``value`` is computed from the same position of its operands."""
    return value.op in ELEMENTWISE


def computed_values(graph: Graph, roots: list[int]):
    """The values a function computing ``roots`` needs (in order), their use counts, and the
    values it computes otherwise than the graph: an op that a *_parts helper computes with
    its gradient's weights is computed alone where the function needs no weight (forward())."""
    changed: dict = {}
    while True:
        needed, stack = set(), list(roots)
        while stack:
            vid = stack.pop()
            if vid not in needed:
                needed.add(vid)
                stack.extend((changed.get(vid) or graph[vid]).args)
        needed = sorted(needed)
        uses: dict[int, int] = {}
        for vid in needed:
            for a in (changed.get(vid) or graph[vid]).args:
                uses[a] = uses.get(a, 0) + 1
        alone = {vid: _alone(graph[vid]) for vid in needed if vid not in changed
                 and graph[vid].op in PARTS and uses.get(graph[vid].args[-1]) == 1}
        alone = {vid: v for vid, v in alone.items() if v is not None}
        if not alone:
            return needed, uses, changed
        changed.update(alone)


def _alone(value):
    """``value``, a pick of part 0 from its *_parts helper, as the op computed alone."""
    n = len(value.args) - 1
    if value.template != S.part(placeholder(n), 0):
        return None
    head = ops.OPS[value.op].head
    return replace(value, template=head(*(placeholder(i) for i in range(n))), args=value.args[:n])


def optimize(program: Program) -> Program:
    """The program with stability rewrites and NaN-safe where branches applied."""
    rewriter = Rewriter(program.graph)
    mapping = rewriter.run(*branch_guards(program.graph, program.output, program.checks))
    return replace(program, graph=rewriter.new, input_ids={n: mapping[v] for n, v in program.input_ids.items()},
                   output=mapping[program.output], checks=tuple(mapping[c] for c in program.checks))
