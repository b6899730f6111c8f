"""SSA values: the one intermediate representation from parsing to emission.

Every value is a small SymPy *template* over positional placeholders ``_a0``,
``_a1``, ... that stand for earlier values (``args``), so a node never inlines its
inputs' expressions: building and differentiating stay linear in program size.
Identical (template, args) pairs are shared (common subexpression elimination),
and ids grow in creation order, which is therefore a topological order.

Shapes are not known until run time, so each value carries *shape labels*: the
set of inputs (or fresh reduction results) whose broadcast gives its shape. ``lo``
and ``hi`` bound it; they differ only for the caller's ``grad_output``, which may
be a scalar or have the output's shape. Where labels prove a gradient already has
its target's shape, no unbroadcast is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .ops import SIZES

_PLACEHOLDERS: list[sp.Symbol] = []


def placeholder(i: int) -> sp.Symbol:
    while len(_PLACEHOLDERS) <= i:
        _PLACEHOLDERS.append(sp.Symbol(f"_a{len(_PLACEHOLDERS)}"))
    return _PLACEHOLDERS[i]


def placeholder_index(sym: sp.Symbol) -> int:
    return int(sym.name[2:])


Labels = frozenset


@dataclass(frozen=True)
class Value:
    """One SSA value. Where it has ``operands``, its template is its op (a registry entry)
    applied to them, and the op's rule differentiates it. A value without them is defined
    by its template alone: a gradient term, or a value a late pass rewrote (fused
    arithmetic, a sum contracted into dot products); its op then says what it computes
    ("sum", "unbroadcast": its shape follows) or where it comes from ("fused", "d<op>")."""

    id: int
    op: str  # an op name, "input", "grad_output", "const" or a gradient step
    template: sp.Basic | None  # None for leaves (inputs, grad_output)
    args: tuple[int, ...]
    lo: Labels
    hi: Labels
    name: str | None = None  # inputs only
    note: str | None = None  # why this gradient term looks the way it does
    operands: tuple = ()  # the op's operands: placeholders or SymPy numbers
    static: tuple = ()  # static operands: keepdims, axes
    zero_safe: bool = False  # its gradient terms are 0 where its adjoint is (optimize.branch_guards)

    @property
    def exact(self) -> bool:
        return self.lo == self.hi


@dataclass
class Graph:
    values: list[Value] = field(default_factory=list)
    _interned: dict = field(default_factory=dict)

    def copy(self) -> Graph:
        """A graph with the same values that a pass may change without changing this one."""
        return Graph(list(self.values), dict(self._interned))

    def __getitem__(self, vid: int) -> Value:
        return self.values[vid]

    def leaf(self, op: str, name: str | None, lo: Labels, hi: Labels) -> int:
        vid = len(self.values)
        self.values.append(Value(vid, op, None, (), lo, hi, name=name))
        return vid

    def add(self, op: str, template: sp.Basic, args: tuple[int, ...], *, labels=None,
            note: str | None = None, operands: tuple = (), static: tuple = (), zero_safe: bool = False) -> int:
        """The value computing ``template`` over ``args``, shared if it exists already."""
        if labels is None and len(args) == 1 and template == placeholder(0):
            return args[0]  # an identity: the value itself
        # Constants and terms standing for larger arrays differ by their labels.
        key = (template, args) if args and not isinstance(labels, tuple) else (template, args, labels)
        found = self._interned.get(key)
        if found is not None:
            return found
        if labels is None:
            lo = Labels().union(*(self.values[a].lo for a in args))
            hi = Labels().union(*(self.values[a].hi for a in args))
        elif isinstance(labels, tuple):  # (lo, hi): a shape known only up to broadcasting
            lo, hi = labels
        else:
            lo = hi = labels
        vid = len(self.values)
        self.values.append(Value(vid, op, template, args, lo, hi, note=note,
                                 operands=operands, static=static, zero_safe=zero_safe))
        self._interned[key] = vid
        return vid

    def bind(self, op: str, template: sp.Basic, binding: dict[sp.Symbol, int], *,
             labels=None, note: str | None = None) -> int:
        """Add ``template`` whose free symbols are bound to values by ``binding``.

        The symbols are renumbered to placeholders in a fixed order (the binding's
        order), so equal terms intern to the same value whatever their origin.
        """
        used = template.free_symbols
        subs, args = {}, []
        for sym, vid in binding.items():
            if sym in used:
                subs[sym] = placeholder(len(args))
                args.append(vid)
        return self.add(op, template.xreplace(subs), tuple(args), labels=labels, note=note)

    def uses(self, roots) -> tuple[list[int], dict[int, int]]:
        """The values the roots depend on, in creation order, and how often each is an
        operand of one of them."""
        needed = sorted(self.ancestors(roots))
        counts: dict[int, int] = {}
        for vid in needed:
            for a in self.values[vid].args:
                counts[a] = counts.get(a, 0) + 1
        return needed, counts

    def reaches(self, vid: int, memo: dict, terminal) -> bool:
        """Whether a value ``terminal`` says True of reaches ``vid`` through operands
        (``terminal`` gives None for values to look through); memoized in ``memo``,
        iterative (graphs can be deep)."""
        stack = [vid]
        while stack:
            v = self.values[stack[-1]]
            if v.id not in memo:
                known = terminal(v)
                pending = [] if known is not None else [a for a in v.args if a not in memo]
                if pending:
                    stack.extend(pending)
                    continue
                memo[v.id] = known if known is not None else any(memo[a] for a in v.args)
            stack.pop()
        return memo[vid]

    def takes_input(self, vid: int, memo: dict) -> bool:
        """Whether an input (or grad_output) reaches ``vid``, shapes aside: if not, the
        value is a plain number whatever the inputs (a mean's 1/n, len(x)), with no dtype of its own."""
        return self.reaches(vid, memo, lambda v: True if v.template is None
                            else False if v.op == "shape" or v.op in SIZES else None)

    def ancestors(self, roots) -> set[int]:
        """Every value the roots depend on, roots included (iterative: graphs can be deep)."""
        seen: set[int] = set()
        stack = list(roots)
        while stack:
            vid = stack.pop()
            if vid in seen:
                continue
            seen.add(vid)
            stack.extend(self.values[vid].args)
        return seen


@dataclass
class Program:
    """A parsed source: the forward graph, its inputs and its output value (the front end
    makes it; every later stage reads it, none needs the parser)."""

    graph: Graph
    inputs: tuple[str, ...]
    input_ids: dict[str, int]
    output: int
    name: str
    kind: str  # "expression" or "function"
    source: str
    filename: str
    text: str  # the expression or the entry function's source, for docstrings
    defaults: dict = field(default_factory=dict)  # input name -> its default, an int or a float
    # the inputs holding positions (integers an index reads, x[t]): no gradient, no float dtype
    positions: frozenset = frozenset()
    # the asserts of the source on sizes (op "check"), in source order: every generated
    # function computes them, as it computes its results
    checks: tuple = ()
