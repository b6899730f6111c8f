"""From a differentiated graph to module text.

The compiler side builds a frozen :class:`ModuleDesc` (every statement already
printed, every name chosen, the run-time helpers it calls copied from
``derivgen/backends`` under its names); the Jinja templates in ``templates/`` only loop
and format it. Single-use values are inlined into their user's expression when the
result stays short, so the code reads like hand-written NumPy; every other value
gets a numbered temporary. Nothing here depends on dict or set iteration order
of hashed objects, so the text is identical across runs and PYTHONHASHSEED values.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import jinja2
import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from . import naming, ops
from . import symbolic as S
from .backends import definitions, targets
from .backends.code import enclosed, printed_precedence
from .blocking import BLOCK_SIZE, Blocked, split
from .graph import Program, placeholder, placeholder_index
from .ops import NEW_ARRAY_HEADS
from .optimize import computed_values
from .reverse import Gradient

INLINE_LIMIT = 60  # longest expression text inlined into its single user
LINE_LIMIT = 78  # longest expression a statement is allowed to grow to by inlining


@dataclass(frozen=True)
class Statement:
    target: str
    expr: str
    comments: tuple[str, ...] = ()
    release: tuple[str, ...] = ()  # temporaries last used here, deleted after it
    where: str = ""  # in a blocked function: "before", "loop" or "after" the loop over blocks
    reads: frozenset = frozenset()  # the names expr reads, from the graph (never parsed from text)


@dataclass(frozen=True)
class Section:
    title: str
    statements: tuple[Statement, ...]
    part: str = ""  # in a blocked function: "before", "loop" or "after" the loop over blocks
    checks: tuple[str, ...] = ()  # lines that test the arguments before the statements


@dataclass(frozen=True)
class FunctionDesc:
    name: str
    params: tuple[str, ...]
    signature: str
    docstring: tuple[str, ...]
    convert: tuple[str, ...]  # the lines turning inputs into arrays (and positions)
    sections: tuple[Section, ...]
    returns: str
    blocks: tuple[str, ...] = ()  # in a blocked function, the lines that start the loop
    seed_check: tuple[str, ...] = ()  # the test that grad_output has the output's shape
    # The scalar path (Python numbers, math module), when the program allows one.
    scalar_check: tuple[str, ...] = ()  # the condition, as lines
    scalar_sections: tuple[Section, ...] = ()
    finite_check: str = ""
    scalar_returns: str = ""


@dataclass(frozen=True)
class ModuleDesc:
    docstring: tuple[str, ...]
    header: str
    array_type: str  # the type of the arrays the functions return
    scalar_types: str  # the input types that take the scalar path
    imports: tuple[tuple[str, ...], tuple[str, ...]]  # import lines: the standard library's, then others
    inputs: tuple[str, ...]
    wrt: tuple[str, ...]
    positions: tuple[str, ...]  # the inputs holding integer positions (x[t]), in input order
    fields: tuple[str, ...]
    gradients_alias: str | None
    functions: tuple[FunctionDesc, ...]
    helpers: dict  # helper key -> emitted name, for those used
    aliases: dict
    builtin_aliases: tuple = ()  # (alias, builtin) for builtins an input shadows
    runtime: str = ""  # the run-time helpers' definitions the module needs, copied under its names


def fingerprint(source: str, options: dict, version: str) -> str:
    """The hash in the header: source, options and derivgen version."""
    text = "\0".join([version, source] + [f"{k}={options[k]!r}" for k in sorted(options)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4096)
def _op_count(template) -> int:
    return int(sp.count_ops(template)) if template is not None else 0


class _Placing:
    """The statements of one function as its values are placed, in order: each value is
    written into its users (inlined) or named by a statement of its own."""

    def __init__(self, builder, namer: naming.Namer, values: dict):
        self.builder, self.namer, self.values = builder, namer, values
        self.root_names: dict[int, str] = {}
        for name, vid in builder.roots:
            self.root_names.setdefault(vid, name)
        self.text: dict[int, tuple[str, int]] = {}
        self.reads: dict[int, frozenset] = {}  # the names each value's text reads
        self.notes: dict[int, tuple[str, ...]] = {}  # inlined values -> the notes they carry
        self.gradient_side: set[int] = {builder.seed} | builder.terms
        self.forward: list[Statement] = []
        self.backward: list[Statement] = []
        self.ops = 0
        self.claimed: list[str] = []  # temporaries' names, in the order they were decided

    def value(self, vid: int):
        return self.values.get(vid) or self.builder.graph[vid]

    def temporary(self) -> str:
        """A new temporary's token: it gets its name once every statement is placed, so
        that names number up in reading order (see _renumber)."""
        self.claimed.append(naming.temporary(self.namer, len(self.claimed)))
        return _temporary_token(len(self.claimed) - 1)

    def emit(self, vid: int, target: str, expr: str, comments=None) -> None:
        builder = self.builder
        if comments is None:
            comments = self.notes.pop(vid)
        # A value named now is held by every use: no longer one to write over (it may
        # have been inlined as a cheap recomputation, each copy a new array, until now).
        builder.fresh.discard(vid)
        self.text[vid] = (target, PRECEDENCE["Atom"])
        where = builder.where.get(vid, "") if builder.where is not None else ""
        # The names expr reads: recorded when it was printed, for a value inlined then and
        # named now (its operands may have been named since: -_t2 printed, then _t3 = -_t2).
        reads = self.reads.get(vid)
        if reads is None:
            reads = frozenset().union(*(self.reads[a] for a in self.value(vid).args))
        statement = Statement(target, _unwrapped(expr), comments, where=where, reads=reads)
        self.reads[vid] = frozenset({target})
        (self.backward if vid in self.gradient_side else self.forward).append(statement)

    def place(self, vid: int, uses) -> None:
        builder, text, notes = self.builder, self.text, self.notes
        value = self.value(vid)
        if value.template is None:  # inputs and grad_output
            text[vid] = (builder.leaf_names[vid], PRECEDENCE["Atom"])
            self.reads[vid] = frozenset({builder.leaf_names[vid]})
            return
        self.ops += _op_count(value.template)
        expr, prec = builder._print(value, text)
        # A line grown too long by inlining gets its longest inlined operand named.
        while len(expr) > LINE_LIMIT and value.op != "check":  # an assert's message makes it long
            inlined = [a for a in value.args if a in notes]
            if not inlined:
                break
            longest = max(inlined, key=lambda a: (len(text[a][0]), a))
            self.emit(longest, self.temporary(), text[longest][0])
            expr, prec = builder._print(value, text)
        merged = tuple(dict.fromkeys(
            ((value.note,) if value.note else ()) + sum((notes.get(a, ()) for a in value.args), ())))
        if any(a in self.gradient_side for a in value.args):
            self.gradient_side.add(vid)
        same = [a for a in value.args if text[a][0] == expr and text[a][1] == PRECEDENCE["Atom"]]
        if same and vid not in self.root_names:  # an identity here (a shape fix-up on the scalar path)
            text[vid] = text[same[0]]
            self.reads[vid] = self.reads[same[0]]
            notes[vid] = merged
            return
        if (vid not in self.root_names and vid not in builder.named
                and builder._inline(value, expr, uses.get(vid, 0), text)):
            text[vid] = (expr, prec)
            self.reads[vid] = frozenset().union(*(self.reads[a] for a in value.args))
            if _new_array(value.template):
                builder.fresh.add(vid)
            notes[vid] = merged
            return
        self.emit(vid, self.root_names[vid] if vid in self.root_names else self.temporary(), expr, merged)


class FunctionBuilder:
    """Decides which values of one generated function are inlined or named, and prints them."""

    def __init__(self, grad: Gradient, aliases: dict, names: dict[int, str], roots: list[tuple[str, int]],
                 backend: targets.Backend = targets.NUMPY, cache: dict | None = None,
                 where: dict | None = None, named: frozenset = frozenset()):
        self.backend = backend
        self.cache = {} if cache is None else cache  # printed templates, shared by a module's builders
        self.graph = grad.graph
        self.seed = grad.seed
        self.terms = grad.terms
        self.aliases = aliases
        self.leaf_names = names
        self.roots = roots
        self.used: set[str] = set()
        self.fresh: set[int] = set()  # inlined values that are new arrays, used only where inlined
        self.where = where  # building a blocked function: value id -> part of it
        self.named = named  # values computed before the loop over blocks and read in it
        self.takes: dict[int, bool] = {}  # Graph.takes_input's memo

    def build(self, namer: naming.Namer, computed=None) -> tuple[list[Section], dict[int, str], int]:
        """The function's sections, the names of its roots and its operation count.
        ``computed``: the values it computes (optimize.computed_values), where known."""
        graph = self.graph
        needed, uses, values = computed or computed_values(graph, [vid for _, vid in self.roots])
        state = _Placing(self, namer, values)
        for vid in needed:
            state.place(vid, uses)
        for name, vid in self.roots:
            if graph[vid].template is None:  # the output is an input itself
                state.forward.append(Statement(name, state.text[vid][0], reads=state.reads[vid],
                                               where="after" if self.where is not None else ""))
                state.text[vid] = (name, PRECEDENCE["Atom"])
        if self.where is not None:
            return self._blocked_sections(state.forward, state.backward, state.claimed, state.text, state.ops)
        return self._sections(state)

    def _sections(self, state) -> tuple[list[Section], dict[int, str], int]:
        """The statements placed, ordered, named and explained, as the function's sections."""
        backward = _schedule(state.backward, _tokens(state.claimed))
        forward, backward, renamed = _renumber(state.forward, backward, state.claimed)
        if self.backend.arrays:
            released = _released(forward + backward, set(state.claimed))
            forward, backward = released[:len(forward)], released[len(forward):]
            forward, backward = (self._explained(forward), self._explained(backward))
        text = {vid: (renamed.get(t, t), p) for vid, (t, p) in state.text.items()}
        sections = []
        if forward:
            sections.append(Section(f"Forward terms ({len(forward)})", tuple(forward)))
        if backward:
            sections.append(Section(f"Gradient terms ({len(backward)})", tuple(backward)))
        names = {vid: text[vid][0] for _, vid in self.roots}
        return sections, names, state.ops

    def _blocked_sections(self, forward, backward, claimed, text, ops):
        """Sections of a blocked function: before the loop, in it (forward and gradient
        terms), after it."""
        before = [s for s in forward + backward if s.where == "before"]
        loop_forward = [s for s in forward if s.where == "loop"]
        loop_backward = _schedule([s for s in backward if s.where == "loop"], _tokens(claimed))
        after = [s for s in forward + backward if s.where == "after"]
        ordered, _, renamed = _renumber(before + loop_forward + loop_backward + after, [], claimed)
        ordered = self._explained(_released(ordered, set(claimed)))
        # Statements in the loop are indented once more: long comments are wrapped.
        ordered = [replace(s, comments=_wrapped(s.comments, LOOP_COMMENT_WIDTH))
                   if s.where == "loop" and any(len(c) > LOOP_COMMENT_WIDTH for c in s.comments) else s
                   for s in ordered]
        sizes = [len(before), len(loop_forward), len(loop_backward), len(after)]
        titles = [("before", "Before the blocks"), ("loop", "Forward terms"),
                  ("loop", "Gradient terms"), ("after", "After the blocks: from the totals")]
        sections, start = [], 0
        for size, (part, title) in zip(sizes, titles):
            if size:
                sections.append(Section(f"{title} ({size})", tuple(ordered[start:start + size]), part))
            start += size
        text = {vid: (renamed.get(t, t), p) for vid, (t, p) in text.items()}
        names = {vid: text[vid][0] for _, vid in self.roots}
        return sections, names, ops

    def _explained(self, statements):
        """Statements with a comment where memory is saved: readers see why the code differs
        from the expression it computes."""
        marks = (
            (f"{self.aliases['in_place']}(", "buffer reuse: written over a new array used only here"),
            ("in_place=True", "buffer reuse: written over a new array used only here"),
            (f"{self.aliases['sum_product']}(", "a sum of products as a dot product: no array for the product"),
            (f"{self.aliases['mean_product']}(", "a mean of products as a dot product: no array for the product"),
            (f"{self.aliases['unbroadcast_product']}(", "summed to a single number, a product is a dot product"),
        )
        out = []
        for st in statements:
            extra = tuple(dict.fromkeys(note for mark, note in marks if mark in st.expr))
            out.append(replace(st, comments=st.comments + extra) if extra else st)
        return out

    def _inline(self, value, expr: str, uses: int, text) -> bool:
        """Whether a (non-root) value is written into its users' expressions rather than
        named: used once and short, a constant, a shape of () or cheap to recompute."""
        return ((uses == 1 and len(expr) <= INLINE_LIMIT) or not value.args or expr == "()"
                or _NUMBER.fullmatch(expr) is not None
                or self._rematerialize(value, text))

    def _rematerialize(self, value, text) -> bool:
        """Whether to recompute a value at each use instead of keeping it: on arrays, a
        negation, square or constant shift of a named value (-x, x**2, 1 - y) costs one cheap pass,
        while keeping it holds one more array alive until its last use."""
        if not self.backend.arrays or len(value.args) != 1:
            return False
        if text[value.args[0]][1] != PRECEDENCE["Atom"]:
            return False
        t = value.template
        a0 = placeholder(0)
        return t in (-a0, a0**2) or (isinstance(t, sp.Add) and len(t.args) == 2 and
                                     any(arg.is_number for arg in t.args) and (a0 in t.args or -a0 in t.args))

    def _print(self, value, text) -> tuple[str, int]:
        """The value's expression, its operands spelled as ``text`` says, and the precedence
        of that code (read off Python's parse of the printed template, so an inlined copy is
        parenthesised by what was actually printed, not by what the template was).

        Templates repeat (every step of a chain has the same ones), so each template is
        printed once per printer and operand precedences, with numbered tokens for the
        operands, and the operands' text is substituted into it. An operand text starting
        with "-" keeps that sign visible, so sums print as ``a - b``, not ``a + -b``."""
        args = [text[a] for a in value.args]
        if any(spelled == "1" for spelled, _ in args):
            # An operand that is the number 1 here (a mean's count, for a single number) is
            # written into the template, where SymPy folds it away.
            ones = {placeholder(i): sp.Integer(1) for i, (spelled, _) in enumerate(args) if spelled == "1"}
            value = replace(value, template=value.template.xreplace(ones))
        shape = tuple((prec, spelled.startswith("-")) for spelled, prec in args)
        # Operands that may be single numbers (no input decides their least shape): products
        # group them first, so 2*x*(g/n) is computed as (2*(g/n))*x, one pass over x instead
        # of two. Reordering a product changes nothing but rounding.
        scalars = frozenset(i for i, a in enumerate(value.args)
                            if self.backend.arrays and not self.graph[a].lo
                            and self.graph[a].template is not None)
        # Operands that are Python numbers computed when the module runs (len(x), 1/len(x)):
        # a NumPy function of them is a float64 scalar, which NumPy would let decide the
        # dtype of arrays it meets, so such a call is made a Python float (derivgen/ops/sizes.py).
        plain = frozenset(i for i, a in enumerate(value.args)
                          if self.backend.arrays and self.graph[a].template is not None and not self.graph[a].hi
                          and not self.graph.takes_input(a, self.takes))
        fresh = frozenset(i for i, a in enumerate(value.args)
                          if self.backend.arrays and a in self.fresh)
        arrays = frozenset(i for i, a in enumerate(value.args)
                           if self.backend.arrays and self.graph[a].op in ("input", "grad_output"))
        key = (value.template, self.backend.name, shape, scalars, fresh, arrays, plain)
        cached = self.cache.get(key)
        if cached is None:
            tokens = {placeholder(i): (("-" if negative else "") + f"\0{i}\0", prec)
                      for i, (prec, negative) in enumerate(shape)}
            printer = self.backend.printer(tokens, self.aliases, scalars={placeholder(i) for i in scalars},
                                           fresh={placeholder(i) for i in fresh},
                                           arrays={placeholder(i) for i in arrays},
                                           plain={placeholder(i) for i in plain})
            code = printer.doprint(value.template)
            cached = self.cache[key] = (code, frozenset(printer.used), printed_precedence(code))
        expr, used, prec = cached
        if prec is None:  # the code is its operand: an identity here (a shape fit on the scalar path)
            prec = args[0][1]
        self.used |= used
        for i, (spelled, _) in enumerate(args):  # "(" + "(a*b)" + ")": one pair is enough
            if "(\0" in expr and enclosed(spelled) and spelled != "()":  # () is an empty tuple
                expr = expr.replace(f"(\0{i}\0)", f"\0{i}\0")
        return _TOKEN.sub(lambda m: _operand(args[int(m.group(1))][0]), expr), prec


def _unwrapped(expr: str) -> str:
    """A statement's expression without parentheses around the whole of it (which an
    operand needs, an assignment does not); a tuple keeps them."""
    if len(expr) <= 2 or not enclosed(expr):
        return expr
    depth = 0
    for c in expr[1:-1]:
        depth += (c in "([{") - (c in ")]}")
        if c == "," and depth == 0:
            return expr
    return expr[1:-1]


def _new_array(template) -> bool:
    """Whether a value computed by ``template`` is a new array of its own (never an operand
    or a view of one): arithmetic and elementwise functions."""
    if isinstance(template, (sp.Add, sp.Mul, sp.Pow)):
        return True
    return isinstance(template, sp.Function) and type(template).__name__ in NEW_ARRAY_HEADS


_TOKEN = re.compile("\0(\\d+)\0")
def _operand(spelled: str) -> str:
    # A leading "-" was printed (or turned into a subtraction) by the template itself.
    return spelled.removeprefix("-")


_NUMBER = re.compile(r"\(?-?\d+(\.\d*)?\)?")  # a literal, as a count of 1 prints on the scalar path


def _temporary_token(index: int) -> str:
    """The stand-in for the index-th temporary until statements are placed: no printed code
    contains \x01, so substituting it can touch nothing else."""
    return f"\x01{index}\x01"


def _tokens(claimed) -> set[str]:
    return {_temporary_token(i) for i in range(len(claimed))}


_TEMPORARY = re.compile("\x01(\\d+)\x01")


def _renumber(forward, backward, claimed):
    """Temporaries named so they number up in reading order (_t0, _t1, ...): they are
    decided in another order (a forward term can be decided after a gradient term, and
    gradient statements are scheduled afterwards), so statements hold tokens until now."""
    order = [int(_TEMPORARY.fullmatch(s.target).group(1)) for s in forward + backward
             if _TEMPORARY.fullmatch(s.target)]
    mapping = {_temporary_token(k): claimed[i] for i, k in enumerate(order)}

    def statements(items):
        # One substitution over all the text (\x02 occurs in no code): a call per statement
        # costs more than the matching on long programs.
        texts = _TEMPORARY.sub(lambda m: mapping[m.group(0)],
                               "\x02".join(t for s in items for t in (s.target, s.expr))).split("\x02")
        return [Statement(texts[2 * i], texts[2 * i + 1], s.comments, s.release, s.where,
                          frozenset(mapping.get(n, n) for n in s.reads)) for i, s in enumerate(items)]

    return statements(forward), statements(backward), mapping


SCHEDULE_LIMIT = 200  # gradient statements reordered for memory, at most (the greedy choice is quadratic)


def _schedule(statements, temporaries):
    """Gradient statements in an order that frees arrays early: of the statements whose
    operands are computed, the one that is the last use of the most temporaries comes
    first (ties keep the original order). Fewer arrays alive at once means less memory to
    fault in; any order the operands allow computes the same values."""
    if len(statements) > SCHEDULE_LIMIT:
        return statements
    defined = {s.target: i for i, s in enumerate(statements)}
    names = [set(s.reads) for s in statements]
    after = [{defined[n] for n in used if n in defined} - {i} for i, used in enumerate(names)]  # total(_s0, ...)
    remaining: dict[str, int] = {}
    for used in names:
        for n in used & temporaries:
            remaining[n] = remaining.get(n, 0) + 1
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(statements):
        ready = [i for i in range(len(statements)) if i not in done and after[i] <= done]
        pick = min(ready, key=lambda i: (-sum(remaining[n] == 1 for n in names[i] & temporaries), i))
        for n in names[pick] & temporaries:
            remaining[n] -= 1
        order.append(pick)
        done.add(pick)
    return [statements[i] for i in order]


LOOP_COMMENT_WIDTH = 90  # comment text in the loop over blocks: lines of at most 100 characters


def _wrapped(comments, width):
    return tuple(line for c in comments for line in textwrap.wrap(c, width, break_long_words=False))


def _released(statements, temporaries):
    """Each temporary deleted after its last use, so its array is freed there rather than
    when the function returns: fewer arrays alive at once, less memory to fault in. In a
    blocked function, a temporary of the loop is deleted inside it (each block computes it
    anew); one computed before the loop and read in it (a count) is kept."""
    last_use, defined = {}, {}
    for index, statement in enumerate(statements):
        defined.setdefault(statement.target, statement.where)
        for name in statement.reads & temporaries:
            last_use[name] = index
    released: dict[int, list[str]] = {}
    for name, index in last_use.items():
        if defined.get(name) == "before" and statements[index].where == "loop":
            continue
        released.setdefault(index, []).append(name)
    return [replace(st, release=tuple(sorted(released[i], key=_natural)))
            if i in released else st for i, st in enumerate(statements)]


def _natural(name: str):
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else -1, name)


@dataclass
class _Module:
    """What the functions of one module share while they are described."""

    program: Program
    grad: Gradient
    wrt: tuple[str, ...]
    aliases: dict
    leaf_names: dict
    seed_param: str
    used: set
    printed: dict  # printed templates, shared by the module's builders
    typing: _Typing

    @property
    def signature(self) -> str:
        defaults = self.program.defaults
        return ", ".join(f"{n}={defaults[n]!r}" if n in defaults else n for n in self.program.inputs)


def describe(program: Program, grad: Gradient, wrt: tuple[str, ...], header: str,
             module_doc: tuple[str, ...]) -> ModuleDesc:
    inputs = program.inputs
    aliases = naming.module_aliases(inputs)
    seed_param = naming.Namer(inputs).claim("grad_output")
    leaf_names = {program.input_ids[n]: n for n in inputs}
    leaf_names[grad.seed] = seed_param
    used: set[str] = {"np", "as_arrays"}
    module = _Module(program, grad, wrt, aliases, leaf_names, seed_param, used, {},
                     _Typing(grad.graph, aliases, used))
    call_doc = f"{program.name}({module.signature})"
    specs = [
        ("forward", (), True, (f"The value of {call_doc}.",)),
        ("backward", wrt, False,
         (f"Gradients of {program.name} with respect to {', '.join(wrt)}.", "",
          "grad_output is the gradient flowing into the output (default 1.0, i.e. the gradient",
          "of the sum of the output); each gradient has its input's shape and dtype.")),
        ("value_and_grad", wrt, True,
         (f"(value, Gradients) of {call_doc}, computing the shared terms once.",)),
    ]
    functions = tuple(_function(module, *spec) for spec in specs)
    return _module_desc(module, functions, header, module_doc)


def _function(module: _Module, fname: str, grads, with_value: bool, doc: tuple[str, ...]) -> FunctionDesc:
    """One generated function: its NumPy path, and its scalar path where one is possible."""
    grad, aliases, used, inputs = module.grad, module.aliases, module.used, module.program.inputs
    namer = naming.Namer(set(inputs) | set(aliases.values()) | {module.seed_param})
    roots = []
    if with_value:
        roots.append((namer.claim("value"), grad.output))
    for n in grads:
        roots.append((naming.gradient_variable(namer, n), grad.grads[n]))
    # The asserts of the source: statements of their own (no name), kept as results are.
    roots.extend(("", vid) for vid in grad.checks)
    leaves = tuple(module.program.input_ids[n] for n in inputs) + ((grad.seed,) if grads else ())
    sections, names, ops, blocks = _body(module, roots, leaves, namer.child())
    scalar = _scalar_path(module, roots, namer, grads)
    params = inputs + ((module.seed_param,) if grads else ())
    sig = module.signature + (f", {module.seed_param}=1.0" if grads else "")
    convert = _conversion(params, module.program.positions, aliases)
    if module.program.positions:
        used.add("as_positions")
    returns, scalar_returns = _returns(module, fname, grads, with_value, names)
    if scalar:
        scalar["scalar_returns"] = scalar_returns
        if grads:
            used.add("new_tuple")
    doc = doc + ("", f"Cost: {ops} operations.") if ops else doc
    seed_check = (_seed_check(grad.graph[grad.output], module.program, module.seed_param, aliases, used)
                  if grads else ())
    if grads and with_value and not seed_check and not blocks:
        # The output's shape is known once it is computed: grad_output is tested then.
        sections = _checked_gradients(sections, module.seed_param, names[grad.output], aliases, used)
    return FunctionDesc(fname, params, sig, doc, convert, tuple(sections), returns,
                        blocks=blocks, seed_check=seed_check, **scalar)


def _body(module: _Module, roots, leaves, namer: naming.Namer):
    """The NumPy path's sections, its roots' names, its operation count and the lines that
    start its loop over blocks (none where it is not blocked). What it computes is decided
    first (optimize.computed_values, then blocking.split), then printed."""
    grad = module.grad
    computed = computed_values(grad.graph, [vid for _, vid in roots])
    values = computed[2]
    blocked = split(grad.graph, lambda v: values.get(v) or grad.graph[v], roots, module.leaf_names,
                    leaves, namer, grad.seed, grad.terms)
    if blocked is None:
        builder = FunctionBuilder(grad, module.aliases, module.leaf_names, roots, cache=module.printed)
        sections, names, ops = builder.build(namer, computed)
        module.used |= builder.used
        return sections, names, ops, ()
    builder = FunctionBuilder(blocked.grad, module.aliases, blocked.leaves, list(blocked.roots + blocked.steps),
                              cache=module.printed, where=blocked.where, named=blocked.named)
    sections, inner_names, ops = builder.build(namer)
    module.used |= builder.used | {"blocks"}
    names = {vid: inner_names[new] for (_, vid), (_, new) in zip(roots, blocked.roots)}
    return sections, names, ops, _loop_start(blocked, module.aliases)


def _loop_start(blocked: Blocked, aliases: dict) -> tuple[str, ...]:
    """The lines starting a blocked function's loop: the blocks, the totals, the for."""
    wholes = ", ".join(whole for whole, _ in blocked.inputs)
    over = f", over=({', '.join(blocked.over)}{',' if len(blocked.over) == 1 else ''})" if blocked.over else ""
    names = ", ".join(block for _, block in blocked.inputs)
    if len(blocked.inputs) == 1:
        names = f"({names},)"
    blocks = aliases["blocks"]
    return (
        f"{blocks} = {aliases['Blocks']}({wholes}{over})",
        f"{' = '.join(blocked.totals)} = None",
        f"for {names} in {blocks}:",
    )


def _scalar_path(module: _Module, roots, namer, grads) -> dict:
    """The scalar path's sections and checks, or {} where the program needs arrays."""
    graph = module.grad.graph
    if not targets.SCALAR.computes(graph, graph.ancestors([vid for _, vid in roots])):
        return {}
    aliases = module.aliases
    scalar_builder = FunctionBuilder(module.grad, aliases, module.leaf_names, roots, targets.SCALAR,
                                     cache=module.printed)
    scalar_sections, scalar_names, _ = scalar_builder.build(namer.child())
    module.used |= scalar_builder.used | {"scalar_types", "float"}
    params_checked = module.program.inputs + ((module.seed_param,) if grads else ())
    # Each result once, by the name it was computed under (a gradient may be the value itself).
    results = list(dict.fromkeys(scalar_names[vid] for _, vid in roots))
    # Python floats, the common case, in one chained comparison; then any mix of
    # the scalar types, one membership test each.
    types = [f"{aliases['type']}({p})" for p in params_checked]
    return {
        "scalar_check": _wrap_condition(types + [aliases["float"]], " is ")
        + _wrap_condition([f"{t} in {aliases['scalar_types']}" for t in types], " and ", "or "),
        "scalar_sections": tuple(scalar_sections),
        # One test for all results: a sum of finite numbers times 0.0 is 0.0; an inf or
        # nan anywhere (or a sum that overflows) makes it nan.
        "finite_check": (f"({' + '.join(results)})*0.0 == 0.0" if len(results) > 1
                         else f"{results[0]}*0.0 == 0.0"),
    }


def _returns(module: _Module, fname: str, grads, with_value: bool, names) -> tuple[str, str]:
    """What the function returns on the NumPy path and on the scalar path."""
    grad, aliases, typing = module.grad, module.aliases, module.typing
    grads_text = ", ".join(names[grad.grads[n]] for n in grads)  # positional: the cheapest call
    # Results that could come out in another dtype than the inputs' (a where between
    # numbers, a constant) are cast on the NumPy path; the scalar path's are floats.
    typed_text = ", ".join(typing.cast(grad.grads[n], names[grad.grads[n]], (n,), gradient=True)
                           for n in grads)
    gradients = f"{aliases['Gradients']}({typed_text})"
    # The scalar path builds Gradients with tuple.__new__, half the cost of the call.
    fast = f"{aliases['new_tuple']}({aliases['Gradients']}, ({grads_text}{',' if len(grads) == 1 else ''}))"
    numbers = tuple(n for n in module.program.inputs if n not in module.program.positions)  # positions: integers
    value_text = typing.cast(grad.output, names[grad.output], numbers) if with_value else ""
    # On the scalar path a constant result (an integer literal) is made a float.
    scalar_value = typing.scalar(grad.output, names[grad.output]) if with_value else ""
    if fname == "forward":
        return value_text, scalar_value
    if fname == "backward":
        return gradients, fast
    return f"{value_text}, {gradients}", f"{scalar_value}, {fast}"


# A module calling SciPy's special functions says so in its header and docstring.
SPECIAL_IMPORT = "from scipy import special"
SPECIAL_NOTE = "# Calls scipy.special: needs SciPy besides NumPy."


def _module_desc(module: _Module, functions, header: str, module_doc) -> ModuleDesc:
    aliases = module.aliases
    used = naming.required(module.used)
    if scalar_used := any(f.scalar_check for f in functions):
        used.add("type")
    helpers = {key: aliases[key] for key in naming.INTERNAL
               if key in used and key not in ("np", "math", "special", "Gradients") + naming.BUILTINS}
    # Builtins shadowed by an input are reached through a module-level alias.
    builtin_aliases = tuple((aliases[b], b) for b in naming.BUILTINS
                            if b in used and aliases[b] != b and scalar_used)
    # Each backend's module, where its code is used; the NumPy path's always is.
    backends = [b for b in (targets.SCALAR, targets.NUMPY) if b.alias in used or b is targets.NUMPY]
    imports = [[b.import_line(aliases) for b in backends if b.standard is standard] for standard in (True, False)]
    if "special" in used:  # SciPy's special functions (derivgen/ops/special.py): only where they are called
        imports[1].append(SPECIAL_IMPORT if aliases["special"] == "special" else f"{SPECIAL_IMPORT} as {aliases['special']}")
        header += "\n" + SPECIAL_NOTE
        module_doc = (*module_doc, "", SPECIAL_NOTE.lstrip("# "))
    return ModuleDesc(
        docstring=module_doc,
        header=header,
        array_type=targets.NUMPY.types.format(**aliases),
        scalar_types=targets.SCALAR.types.format(**aliases),
        imports=tuple(tuple(lines) for lines in imports),
        inputs=module.program.inputs,
        wrt=module.wrt,
        positions=tuple(n for n in module.program.inputs if n in module.program.positions),
        fields=naming.gradient_fields(module.wrt),
        gradients_alias=aliases["Gradients"] if aliases["Gradients"] != "Gradients" else None,
        functions=functions,
        helpers=helpers,
        aliases=aliases,
        builtin_aliases=builtin_aliases,
        runtime=definitions.copied(used, aliases),
    )


def _checked_gradients(sections, seed: str, value: str, aliases: dict, used: set):
    """``sections`` with the test of grad_output's shape against the value's at the start of
    the gradient terms."""
    used.add("bad_grad_output")
    shape = f"{aliases['np']}.shape({value})"
    checks = (f"if {seed}.ndim and {seed}.shape != {shape}:", f"    {aliases['bad_grad_output']}({seed}, {shape})")
    return [replace(s, checks=checks) if s.title.startswith("Gradient terms") else s for s in sections]


def _seed_check(output, program: Program, seed: str, aliases: dict, used: set) -> tuple[str, ...]:
    """The test that grad_output is a single number or has the output's shape, where that
    shape is known from the inputs' alone (a single number, or their broadcast); a wrong
    shape would broadcast into gradients of another function, or fail deep in NumPy."""
    if output.lo != output.hi or any(label.startswith("#") for label in output.hi):
        return ()
    members = [name for name in program.inputs if name in output.hi]
    if not members:
        shape = "()"
    elif len(members) == 1:
        shape = f"{members[0]}.shape"
    elif len(members) <= 32:
        shape = f"{aliases['np']}.broadcast({', '.join(members)}).shape"
    else:
        shape = f"{aliases['np']}.broadcast_shapes({', '.join(m + '.shape' for m in members)})"
    used.add("bad_grad_output")
    test = f"{seed}.ndim" if shape == "()" else f"{seed}.ndim and {seed}.shape != {shape}"
    return (f"if {test}:", f"    {aliases['bad_grad_output']}({seed}, {shape})")


class _Typing:
    """Which results need a cast to the inputs' floating dtype on the NumPy path.

    Arithmetic keeps the inputs' dtype (Python numbers are weak under NumPy's promotion
    rules), but ``np.where(c, 1, 0)`` between numbers is an int64 or float64 array whatever
    the inputs (a relu's gradient for a single-number output is one), it promotes what it
    meets, and a result no input reaches (a constant) has no dtype at all."""

    def __init__(self, graph, aliases: dict, used: set):
        self.graph, self.aliases, self.used = graph, aliases, used
        self.strong: dict[int, bool] = {}
        self.typed: dict[int, bool] = {}
        self.reduced: dict[int, bool] = {}

    def cast(self, vid: int, text: str, like, gradient: bool = False) -> str:
        # A transpose (an index, a reshape) of a 0-d array is a 0-d array, where every other
        # result of a single number is a NumPy scalar (OpSpec.zero_d).
        value = self.graph[vid]
        # grad_output applied last (scaled), or a gradient summed to its shape: of a 0-d array,
        # the 0-d array itself where grad_output is 1 (or nothing was summed)
        while (isinstance(value.template, (S.scaled, S.unbroadcast)) and value.template.args
               and value.template.args[0] == placeholder(0)):
            value = self.graph[value.args[0]]
        spec = ops.HEADS.get(type(value.template).__name__)
        zero_d = spec is not None and spec.zero_d
        # A reduction along axis -1 or 0 of a 0-d input (NumPy allows it) gives its gradient
        # a dimension of size 1 back: a gradient of such a program is reshaped if it must be.
        shaped = gradient and self._reduced_along_axes(vid)
        if not like or (self.graph.takes_input(vid, self.typed) and not self._strong(vid) and not zero_d
                        and not shaped):
            return text
        self.used.add("typed")
        return f"{self.aliases['typed']}({text}, {', '.join(like)}{', shaped=True' if shaped else ''})"

    def _reduced_along_axes(self, vid: int) -> bool:
        def terminal(v):
            if v.template is None:
                return False
            return True if v.op in ops.AXES and len(v.static) > 1 else None
        return self.graph.reaches(vid, self.reduced, terminal)

    def scalar(self, vid: int, text: str) -> str:
        """A result on the scalar path: a float already, but where no input reaches it."""
        if self.graph.takes_input(vid, self.typed):
            return text
        self.used.add("float")
        return f"{self.aliases['float']}({text})"

    def _strong(self, vid: int) -> bool:
        def terminal(v):
            if v.template is None or v.op == "shape":
                return False
            if any(not self._typed(v, a) and not self._typed(v, b)
                   for _, a, b in (w.args for w in _wheres(v.template))):
                return True
            # NumPy functions that are not ufuncs make a Python number a float64 array:
            # np.dot(x, 2), np.clip(-1.0, 1, y), np.mean(-0.5), scipy.special.beta(x, 2.0).
            # np.zeros(3), np.eye(n), scipy.special.polygamma: float64 arrays. Inside a template too.
            for f in _functions(v.template):
                name = type(f).__name__
                promotes = ops.PROMOTES.get(name, 0)
                if name in ops.FLOAT64 or any(a.is_number or not self._typed(v, a) for a in f.args[:promotes]):
                    return True
            return None
        return self.graph.reaches(vid, self.strong, terminal)

    def _typed(self, value, branch) -> bool:
        """Whether a branch of a where in ``value``'s template reads an input (a number, or
        a mean's 1/n, does not)."""
        return any(self.graph.takes_input(value.args[placeholder_index(s)], self.typed)
                   for s in branch.free_symbols)




@lru_cache(maxsize=4096)
def _wheres(template) -> tuple:
    return tuple(template.atoms(S.where))


@lru_cache(maxsize=4096)
def _functions(template) -> tuple:
    return tuple(template.atoms(sp.Function))


def _wrap_condition(terms: list[str], joiner: str = " and ", first: str = "",
                    width: int = 88) -> tuple[str, ...]:
    """``first`` + ``a and b and ...`` (or another joiner) as lines of at most ``width``
    characters, each continuation starting with the joiner."""
    lines, current = [], first
    for term in terms:
        piece = term if current in ("", first) else f"{joiner}{term}"
        if current not in ("", first) and len(current) + len(piece) > width:
            lines.append(current)
            current = f"{joiner.strip()} {term}"
        else:
            current += piece
    lines.append(current)
    return tuple(lines)


def _conversion(params: tuple[str, ...], positions, aliases) -> tuple[str, ...]:
    """The inputs as arrays of the floating dtype; inputs holding positions (x[t]) as arrays
    of integers, each checked."""
    numbers = tuple(p for p in params if p not in positions)
    targets = f"({numbers[0]},)" if len(numbers) == 1 else ", ".join(numbers)
    lines = [f"{targets} = {aliases['as_arrays']}({', '.join(numbers)})"] if numbers else []
    lines += [f"{p} = {aliases['as_positions']}({p}, {p!r})" for p in params if p in positions]
    return tuple(lines)


def templates_dir() -> Path:
    """templates/ inside an installed wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "module.py.jinja").is_file():
            return candidate
    raise FileNotFoundError("derivgen's templates folder is missing from this installation")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(desc: ModuleDesc) -> str:
    text = environment().get_template("module.py.jinja").render(m=desc, block_size=BLOCK_SIZE)
    return text.rstrip() + "\n"
