"""Blocked evaluation: a function's elementwise work done a block of rows at a time.

NumPy code over a million examples makes one pass over memory per operation, each
through an array of its own. Those arrays do not fit in the processor's cache, so every
pass waits on main memory (and, for memory touched the first time, on the kernel). Where
a function is elementwise up to its sums over every element (a loss over examples, and
its gradients), the same work can be done a block of rows at a time: one block's
temporaries stay in cache, their memory is reused block after block, and each sum adds
up over the blocks.

``split`` rewrites the values of one generated function into a new graph in three parts,
which the emitter prints around a loop over the ``_Blocks`` helper:

- before the loop, values computed from the whole inputs' shapes (a mean's 1/n);
- in the loop, elementwise values over each block's inputs, and an accumulation per sum
  (``_s0 = _blocks.total(_s0, _sum_product(y_, np.log(p)))``) and per array result;
- after the loop, what is computed from the totals (``value = -_s0*_t0 - ...``).

A mean becomes a sum times 1/n, n counted on the whole inputs, so its totals add up.
Whether to cut blocks is decided at run time (see ``_Blocks``: every input with more
than one element has one shape, and there are two blocks or more); otherwise the loop
runs once, over the whole inputs, and computes what the unblocked code computes.

A function is left unblocked where its values are not of that form (matrix products,
reductions along some axes, elementwise work reading a sum of other work, a value needed
both per block and on the whole inputs), or where its elementwise work is too small to pay
for the loop's calls and copies (``MIN_OPS``, ``WORK_PER_COPY``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from . import symbolic as S
from .backends.numpy.runtime import _Blocks
from .graph import Graph, Value, placeholder
from .ops import AXES, BLOCKABLE, HEADS, SHAPE_OPERANDS, SIZES, SUMMED
from .reverse import Gradient

# Elements per block, set where the generated code reads it (the run-time _Blocks.size): four
# float64 arrays of a block fill a core's 1 MiB L2 cache. Measured on the benchmarks' BCE mean,
# 16,384 elements ran 15% slower (twice the calls per element) and 65,536 about as fast; the
# elementwise workload was within noise of 16,384 at 32,768.
BLOCK_SIZE = _Blocks.size
MIN_OPS = 4  # elementwise operations in the loop, at least, for blocks to pay for their calls
# Elementwise operations in the loop, at least, per result that may be an array put together
# from blocks: copying a block into the whole costs about as much as a few operations save.
WORK_PER_COPY = 6

# Elementwise heads (the result's element i depends on element i of each operand only),
# from the op registry.
ELEMENTWISE = BLOCKABLE
_ATOMS = (sp.Symbol, sp.Number, sp.NumberSymbol, sp.logic.boolalg.BooleanAtom, sp.Tuple)
_ARITHMETIC = (sp.Add, sp.Mul, sp.Pow, sp.core.relational.Relational, sp.And, sp.Or, sp.Not)


@dataclass(frozen=True)
class Blocked:
    """One function's values split around the loop, over a new graph."""

    grad: Gradient  # the new graph; seed: the whole grad_output; terms: the gradient side
    roots: tuple  # (name, value id) of the function's results
    leaves: dict  # leaf id -> its name: whole inputs, block inputs, totals
    where: dict  # value id -> "before", "loop" or "after"
    named: frozenset  # values computed before the loop and used in it: named, not inlined
    inputs: tuple  # (whole name, block name) of each input the loop reads, in parameter order
    totals: tuple  # the accumulators' names, in order
    steps: tuple  # (total's name, value id) of the accumulations of sums: computed in the loop
    over: tuple | None  # inputs one of which must be cut for blocks to be taken (None: any)


class _Refuse(Exception):
    """The function is not elementwise up to its sums: it stays unblocked."""


@lru_cache(maxsize=4096)
def _elementwise(template) -> bool:
    for node in sp.preorder_traversal(template):
        if isinstance(node, (_ATOMS, _ARITHMETIC)):
            continue
        name = type(node).__name__
        if name == "expand_reduced" and len(node.args) == 2:  # no axes: the value itself
            continue
        if name not in ELEMENTWISE:
            return False
    return True


@lru_cache(maxsize=4096)
def _reductions(template) -> tuple:
    """The sums over every element in ``template`` (the registry's ``summed`` heads)."""
    return tuple(node for node in sp.preorder_traversal(template) if type(node) in SUMMED)


def _shape_positions(head, n: int) -> range:
    """Which operands of a sum are shapes (an unbroadcast's shape to sum to, ...)."""
    positions = SHAPE_OPERANDS.get(head)
    return positions(n) if positions is not None else range(0)


def split(graph: Graph, value_of, roots, leaf_names: dict, params: tuple, namer,
          seed: int, terms: frozenset) -> Blocked | None:
    """The function computing ``roots`` in blocks, or None where it stays as it is.

    ``value_of`` gives the value the function computes for an id (the emitter computes
    some ops alone); ``params`` are the leaf ids in parameter order."""
    try:
        return _Splitter(graph, value_of, leaf_names, params, namer, seed, terms).run(roots)
    except _Refuse:
        return None


class _Splitter:
    def __init__(self, graph, value_of, leaf_names, params, namer, seed, terms):
        self.graph = graph
        self.value_of = value_of
        self.leaf_names = leaf_names
        self.params = params
        self.namer = namer
        self.seed = seed
        self.terms = terms
        self.takes: dict = {}
        self.consts: dict[int, bool] = {}
        self.fits: dict[int, bool] = {}
        self.pre: set[int] = set()  # sums of inputs alone, computed whole before the loop
        self.early: set[int] = set()  # those and the constants
        # The new graph starts as a copy of the old one: a value computed in the loop from
        # the same operands keeps its id (the inputs' ids stand for their blocks there), so
        # only values before and after the loop are added.
        self.new = graph.copy()
        self.where: dict[int, str] = {}
        self.leaves: dict[int, str] = {}
        self.memo: dict[tuple[int, str], int] = {}
        self.whole: dict[int, int] = {}
        self.block: dict[int, None] = {}  # inputs read in the loop (their ids stand for their blocks)
        self.totals: list[str] = []
        self.deps: list[frozenset] = []  # inputs each accumulation (or fit) must read for blocks
        self.reads: list[tuple] = []  # the loop values each accumulation reads
        self.sum_steps: list[tuple[str, int]] = []
        self.root_names: dict[int, str] = {}
        self.direct: dict[int, int] = {}  # a result that is one sum -> its accumulation
        self.part_ops = 0  # elementwise operations inside the sums
        self.copies = 0  # results that may be arrays put together from blocks, a copy each
        self.counts: set[int] = set()  # 1/n of each mean: named, as several totals are scaled by it
        self.last_step = -1

    def before(self, vid: int) -> bool:
        """A value computed before the loop: a constant, or a sum of inputs alone."""
        return vid in self.early

    def const(self, vid: int) -> bool:
        """A value no input reaches but through its shape: computed before the loop."""
        known = self.consts.get(vid)
        if known is None:
            known = self.consts[vid] = (self.value_of(vid).template is not None
                                        and not self.graph.takes_input(vid, self.takes))
        return known

    def run(self, roots):
        graph = self.graph
        needed = sorted(graph.ancestors([vid for _, vid in roots]))
        values = {vid: self.value_of(vid) for vid in needed}
        self.value_of = values.__getitem__
        for vid, value in values.items():
            if value is not graph[vid]:  # computed differently by this function
                self.new.values[vid] = value
        self.loopable = self._loopable(needed, values)
        root_context = self._root_contexts(roots)
        ops = self._contexts(needed)
        if any({"loop", "outer"} <= c and vid not in self.early and values[vid].template is not None
               for vid, c in self.contexts.items()):
            raise _Refuse  # array work both in the loop and after it, on the whole inputs
        # Build the new graph in topological order.
        for vid in needed:
            for ctx in sorted(self.contexts.get(vid, ())):
                self.build(vid, ctx)
        out_roots = [(name, self.accumulate(vid, name) if root_context[vid] == "loop"
                      else self.direct.get(vid, self.memo[vid, "outer"])) for name, vid in roots]
        work = ops + self.part_ops
        if not self.totals or work < MIN_OPS or work < WORK_PER_COPY * self.copies:
            raise _Refuse  # too little work in the loop to pay for the calls and copies blocks cost
        self.deps += self._inputs_read()
        over = frozenset.intersection(*self.deps)
        if not over:
            raise _Refuse  # some sum reads no input that blocks cut: it would count once per block
        return self._blocked(out_roots, over)

    def _loopable(self, needed, values) -> dict[int, bool]:
        """For each value, whether it can be computed block by block; values computed before
        the loop (constants, numbers from sums of inputs alone) are collected in ``early``."""
        early = self.early
        loopable: dict[int, bool] = {}
        for vid in needed:
            value = values[vid]
            if value.template is None:
                loopable[vid] = True
                continue
            if self.const(vid) or (value.args and all(a in early for a in value.args)):
                # A constant, or a number computed from sums of inputs alone (1 + sum(x)**2):
                # computed before the loop.
                early.add(vid)
                loopable[vid] = True
                continue
            if (_reductions(value.template) and not value.hi
                    and all(values[a].template is None or a in early for a in value.args)):
                # A sum of inputs alone to a single number (of grad_output, to the output's
                # shape): computed whole before the loop, which reads it as a constant.
                self.pre.add(vid)
                early.add(vid)
                loopable[vid] = True
                continue
            if not _elementwise(value.template) and not _reductions(value.template):
                raise _Refuse  # matmul, transpose, reductions along axes, ...
            if self._fit(value):
                loopable[vid] = loopable[value.args[0]]
                continue
            loopable[vid] = not _reductions(value.template) and all(loopable[a] for a in value.args)
        return loopable

    def _root_contexts(self, roots) -> dict[int, str]:
        """Where each result is computed: in the loop, or outside it ("outer")."""
        self.contexts: dict[int, set] = {}
        root_context = {}
        for name, vid in roots:
            value = self.value_of(vid)
            in_loop = value.template is not None and not self.before(vid) and self.loopable[vid]
            ctx = "loop" if in_loop else "outer"
            root_context[vid] = ctx
            self.root_names.setdefault(vid, name)
            self.contexts.setdefault(vid, set()).add(ctx)
        return root_context

    def _contexts(self, needed) -> int:
        """The contexts each value is needed in, from the roots down (ids are a topological
        order); returns the count of elementwise operations in the loop."""
        contexts, ops = self.contexts, 0
        for vid in reversed(needed):
            value = self.value_of(vid)
            for ctx in contexts.get(vid, ()):
                if value.template is None:
                    continue
                if ctx == "loop" and not self.before(vid):
                    ops += _op_count(value.template)
                    fit = self._fit(value)
                    for i, a in enumerate(value.args):
                        sub = "shape" if fit and i > 0 else "outer" if self.before(a) else "loop"
                        contexts.setdefault(a, set()).add(sub)
                    continue
                if vid in self.pre or not _reductions(value.template):  # computed whole
                    for a in value.args:
                        contexts.setdefault(a, set()).add("outer")
                    continue
                inside, shapes, outside = self._slots(value)
                for i, a in enumerate(value.args):
                    subs = contexts.setdefault(a, set())
                    if i in inside:
                        subs.add("outer" if self.before(a) else "loop")
                    if i in shapes:
                        subs.add("shape")
                    if i in outside:
                        subs.add("outer")
        return ops

    def _blocked(self, out_roots, over) -> Blocked:
        cut = [p for p in self.params if p in self.block]
        new_terms = frozenset(n for (vid, _), n in self.memo.items() if vid in self.terms)
        read_in_loop = {a for u in self.new.values if self.where.get(u.id) == "loop" for a in u.args}
        named = frozenset(n for n, w in self.where.items() if w == "before" and n in read_in_loop)
        named |= self.counts
        return Blocked(
            grad=Gradient(self.new, out_roots[0][1], self.whole_leaf(self.seed), {}, new_terms),
            roots=tuple(out_roots),
            leaves=dict(self.leaves),
            where=dict(self.where),
            named=named,
            inputs=tuple((self.leaf_names[p], self.leaves[p]) for p in cut),
            totals=tuple(self.totals),
            steps=tuple(self.sum_steps),
            over=None if set(cut) <= over else tuple(self.leaf_names[p] for p in self.params if p in over),
        )

    # -- contexts -----------------------------------------------------------------------

    @staticmethod
    @lru_cache(maxsize=4096)
    def _slots(value: Value) -> tuple[set, set, set]:
        """Operand positions of ``value``: read inside its sums (computed per block), as the
        shape an unbroadcast sums to, and outside any sum (after the loop)."""
        inside, shapes = set(), set()
        reductions = _reductions(value.template)
        for r in reductions:
            positions = _shape_positions(type(r), len(r.args))
            for k, a in enumerate(r.args):
                for p in a.atoms(sp.Symbol):
                    (shapes if k in positions else inside).add(int(p.name[2:]))
        rest = value.template.xreplace({r: sp.Dummy() for r in reductions})
        outside = {int(p.name[2:]) for p in rest.atoms(sp.Symbol) if p.name.startswith("_a")}
        return inside, shapes, outside

    def _fit(self, value: Value) -> bool:
        """Whether ``value`` sums a term to the shape of some inputs' broadcast, which it may
        be read at: ``unbroadcast(g, shape_of(x, w), ...)``, not owned."""
        known = self.fits.get(value.id)
        if known is None:
            known = self.fits[value.id] = self._is_fit(value)
        return known

    def _is_fit(self, value: Value) -> bool:
        t = value.template
        if not isinstance(t, S.unbroadcast) or t.args[-1] != 0:
            return False
        if t.args[:-1] != tuple(placeholder(i) for i in range(len(t.args) - 1)):
            return False
        shapes = [self.value_of(a) for a in value.args[1:]]
        return all(v.op == "shape" and v.args and all(self.value_of(a).template is None for a in v.args)
                   for v in shapes)

    def whole_leaf(self, vid: int) -> int:
        if vid not in self.whole:
            v = self.graph[vid]
            new = self.whole[vid] = self.new.leaf(v.op, v.name, v.lo, v.hi)
            self.leaves[new] = self.leaf_names[vid]
            self.where[new] = "before"
        return self.whole[vid]

    def block_leaf(self, vid: int) -> int:
        """An input in the loop: its own id, named for its block."""
        if vid not in self.block:
            self.block[vid] = None
            self.leaves[vid] = self.namer.claim(self.leaf_names[vid] + "_")
            self.where[vid] = "loop"
        return vid

    def build(self, vid: int, ctx: str) -> None:
        value = self.value_of(vid)
        if value.template is None:
            self.memo[vid, ctx] = self.block_leaf(vid) if ctx == "loop" else self.whole_leaf(vid)
            return
        if ctx == "shape":  # the shape an unbroadcast sums to: of the block inputs
            if value.op != "shape" or not all(self.value_of(a).template is None for a in value.args):
                raise _Refuse
            args = tuple(self.block_leaf(a) for a in value.args)
            self.memo[vid, ctx] = self._add(value, value.template, args, "loop")
            return
        if ctx == "loop" and not self.before(vid):
            if self._fit(value):
                args = (self.memo[value.args[0], "loop"],) + tuple(self.memo[a, "shape"] for a in value.args[1:])
                # Blocks are cut only where the shape fitted to is a block's (see run): an identity.
                self.deps.append(frozenset(self.value_of(value.args[1]).args))
            else:
                args = tuple(self.memo[a, "outer" if self.before(a) else "loop"] for a in value.args)
            self.memo[vid, ctx] = self._add(value, value.template, args, "loop")
            return
        if ctx == "loop":  # a constant read in the loop is computed before it
            ctx = "outer"
            if (vid, ctx) in self.memo:
                self.memo[vid, "loop"] = self.memo[vid, ctx]
                return
        if (value.op == "shape" or value.op in SIZES) and self.const(vid) and not all(
                self.value_of(a).template is None for a in value.args):
            raise _Refuse  # a shape read off a computed value: it would be computed whole
        reductions = _reductions(value.template) if vid not in self.pre else []
        if not reductions:
            args = tuple(self.memo[a, "outer"] for a in value.args)
            where = "after" if any(self.where[a] == "after" for a in args) else "before"
            self.memo[vid, "outer"] = self._add(value, value.template, args, where)
        else:
            self.memo[vid, "outer"] = self._split(value, reductions)
        if (vid, "loop") not in self.memo and "loop" in self.contexts.get(vid, ()):
            self.memo[vid, "loop"] = self.memo[vid, "outer"]

    def _add(self, value: Value, template, args, where: str) -> int:
        if where == "loop" and args == value.args and template is value.template:
            self.where[value.id] = "loop"  # the same operands: the same value
            return value.id
        labels = (value.lo, value.hi)
        if where == "before" and self.const(value.id):
            # A number: the labels of the terms it scales say nothing of it, and a mean's 1/n
            # is one value, however many terms use it.
            labels = (value.lo, value.lo)
            if isinstance(template, S.expand_reduced) and len(template.args) == 2:
                template = template.args[0]
        new = self.new.add(value.op, template, args, labels=labels, note=value.note,
                           operands=value.operands, static=value.static)
        if self.where.setdefault(new, where) != where:
            raise _Refuse  # one value wanted both in the loop and outside it: leave it unblocked
        return new

    # -- sums ---------------------------------------------------------------------------

    def _split(self, value: Value, reductions) -> int:
        """``value`` computed after the loop, each of its sums accumulated in the loop."""
        binding: dict[sp.Symbol, int] = {}
        replaced = {}
        symbols = {}

        def bound(vid: int) -> sp.Symbol:
            if vid not in symbols:
                symbols[vid] = sp.Dummy(f"v{vid}")
                binding[symbols[vid]] = vid
            return symbols[vid]

        for r in reductions:
            if r in replaced:
                continue
            if any(_reductions(a) for a in r.args):
                raise _Refuse  # a sum inside a sum
            head, args = type(r), r.args
            if HEADS[head.__name__].name in AXES and len(args) > 2:
                raise _Refuse  # along some axes: not a sum over every element
            scale = sp.Integer(1)
            if SUMMED[head] is not head:  # a mean: the sum, times 1/n
                scale = bound(self._count(value, r))
                head = SUMMED[head]
            part_args, loop_binding = self._block_operands(value, head, args)
            part = head(*part_args)
            whole = r == value.template and scale == 1 and value.id in self.root_names
            # A result that is a sum and nothing more is accumulated under its own name.
            name = self.root_names[value.id] if whole else self.namer.claim(f"_s{len(self.totals)}")
            total = self._accumulation(part, loop_binding, name, value)
            if whole:
                self.direct[value.id] = self.last_step
                return total
            self.sum_steps.append((name, self.last_step))
            replaced[r] = bound(total) * scale
        template = value.template.xreplace(replaced)
        factored = sp.factor_terms(template)  # -n*_s0 - n*_s1 as -n*(_s0 + _s1): one product
        if sp.count_ops(factored) < sp.count_ops(template):
            template = factored
        for p in sorted((p for p in template.atoms(sp.Symbol) if p.name.startswith("_a")), key=_index):
            template = template.xreplace({p: bound(self.memo[value.args[_index(p)], "outer"])})
        new = self.new.bind(value.op, template, binding, labels=(value.lo, value.hi), note=value.note)
        self.where.setdefault(new, "after")
        return new

    def _block_operands(self, value: Value, head, args) -> tuple[list, dict]:
        """A sum's operands as one block computes them, and the values they read there: its
        shapes are the whole inputs', values before the loop are read whole, the others per
        block (each must be computed in the loop, not from another sum)."""
        shapes = _shape_positions(head, len(args))
        loop_binding: dict[sp.Symbol, int] = {}
        part_args = []
        for k, a in enumerate(args):
            subs = {}
            for p in sorted(a.atoms(sp.Symbol), key=_index):
                vid = value.args[_index(p)]
                if k in shapes:
                    new = self.memo.get((vid, "shape"))
                    if new is None:
                        raise _Refuse
                elif self.before(vid):
                    new = self.memo[vid, "outer"]
                else:
                    if not self.loopable[vid]:
                        raise _Refuse  # the sum reads a value computed from another sum
                    new = self.memo[vid, "loop"]
                d = sp.Dummy(p.name)
                loop_binding[d] = new
                subs[p] = d
            part_args.append(a.xreplace(subs))
        return part_args, loop_binding

    def _count(self, value: Value, r) -> int:
        """1/n for a mean: n elements of its operands' broadcast shape, on the whole inputs."""
        labels = set()
        for p in r.atoms(sp.Symbol):
            v = self.graph[value.args[int(p.name[2:])]]
            if v.lo != v.hi:
                raise _Refuse  # a shape known only up to broadcasting
            labels |= v.lo
        by_name = {self.leaf_names[p]: p for p in self.params}
        if not labels <= by_name.keys():
            raise _Refuse  # a shape of a reduction's result
        leaves = tuple(self.whole_leaf(p) for p in self.params if self.leaf_names[p] in labels)
        none = (frozenset(), frozenset())  # labels of a shape value, as the sweep gives them
        shape = self.new.add("shape", S.shape_of(*(placeholder(i) for i in range(len(leaves)))), leaves,
                             labels=none)
        self.where.setdefault(shape, "before")
        count = self.new.add("dmean", 1 / S.size_ratio(placeholder(0), sp.Tuple()), (shape,), labels=none)
        self.where.setdefault(count, "before")
        self.counts.add(count)
        return count

    def _accumulation(self, part, binding: dict, name: str, origin: Value) -> int:
        """The total ``name``: a leaf after the loop, ``name = total(name, part)`` in it."""
        leaf = self.new.leaf("total", None, frozenset(), frozenset())
        self.leaves[leaf] = name
        self.where[leaf] = "after"
        acc = sp.Dummy("acc")
        full = {acc: leaf, **binding}
        step = self.new.bind("accumulate", S.accumulate(acc, part), full, labels=(origin.lo, origin.hi))
        self.where[step] = "loop"
        self.totals.append(name)
        self.last_step = step
        self.part_ops += max(0, _op_count(part) - 1)  # the sum itself aside
        if isinstance(part, sp.Dummy):
            self.copies += 1  # an array result: a copy into the whole
        elif isinstance(part, (S.unbroadcast, S.unbroadcast_product)):
            # A gradient summed to an input's shape is a copy where that input is cut into
            # blocks (data), a sum where it is not (a parameter): counted as half a copy.
            self.copies += 0.5
        self.reads.append(tuple(binding.values()))
        return leaf

    def accumulate(self, vid: int, name: str) -> int:
        """A result computed in the loop, put together from its blocks under its own name."""
        value = self.value_of(vid)
        new = self.memo[vid, "loop"]
        d = sp.Dummy("part")
        self._accumulation(d, {d: new}, name, value)
        return self.last_step

    def _inputs_read(self) -> list[frozenset]:
        """The inputs each accumulation reads through the loop (one pass over the loop's
        values, in id order, a bit per input)."""
        bit = {vid: 1 << i for i, vid in enumerate(self.block)}
        mask: dict[int, int] = dict(bit)
        for vid in sorted(n for n, w in self.where.items() if w == "loop" and n not in bit):
            m = 0
            for a in self.new[vid].args:
                m |= mask.get(a, 0)
            mask[vid] = m
        out = []
        for reads in self.reads:
            m = 0
            for n in reads:
                m |= mask.get(n, 0)
            out.append(frozenset(vid for vid, b in bit.items() if m & b))
        return out


def _index(p: sp.Symbol) -> int:
    """The operand a placeholder stands for (sets of symbols are walked in this order, so
    the output does not depend on hashing)."""
    return int(p.name[2:])


@lru_cache(maxsize=4096)
def _op_count(template) -> int:
    return int(sp.count_ops(template))
