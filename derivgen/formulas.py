"""Formulas a person can read: the value of a program and each derivative.

    >>> from derivgen.formulas import formulas
    >>> print(formulas("sin(x**2)", wrt=["x"]).text())
    f = sin(x**2)
    df/dx = 2*x*cos(x**2)

The derivatives are read off the same differentiated graph the generated code is
printed from, so they show what the module computes. Each value's template is
made readable (the plumbing that only fixes shapes, such as unbroadcast, is
dropped; where() becomes a Piecewise) and the values are
substituted into their users in creation order, with grad_output set to 1.

A small program comes out as one simplified formula per derivative. In a larger
one, a value gets a name (t0, t1, ...) of its own, as a person would introduce
one, when it is longer than TERM_LIMIT operations or is long and used more than
once (``t0 = sigmoid(b + w*x)``): per-intermediate formulas, never one inlined
monster. Only small formulas are simplified; simplify is slow on big ones.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field

import sympy as sp

from . import naming, notation
from . import symbolic as S
from .compiler import resolve_wrt
from .errors import UsageError
from .graph import placeholder, placeholder_index
from .parse import Program, parse
from .reverse import Gradient, differentiate

TERM_LIMIT = 40  # operations: a longer subexpression gets a name of its own
SHARED_LENGTH = 12  # characters: a subexpression used twice and printed longer gets a name
SIMPLIFY_LIMIT = 30  # operations: only formulas this small are simplified

Term = tuple[str, sp.Basic]  # (name, formula)


@dataclass(frozen=True)
class Formulas:
    """The value of ``name`` and its derivative with respect to each input in ``wrt``.

    ``forward`` and each ``derivatives[input]`` are SymPy expressions over the
    inputs and the named intermediate terms, ``forward_terms`` and ``gradient_terms``
    (both empty for small programs), which are listed in evaluation order.
    """

    name: str  # the returned variable, else the function's name ("f" for expressions)
    inputs: tuple[str, ...]
    wrt: tuple[str, ...]
    forward: sp.Basic
    derivatives: dict = field(default_factory=dict)  # input name -> SymPy expression
    forward_terms: tuple[Term, ...] = ()
    gradient_terms: tuple[Term, ...] = ()

    def lines(self, latex: bool = False) -> list[str]:
        show = notation.latex if latex else notation.text
        name = notation.name_latex if latex else str

        def equation(lhs: str, rhs) -> str:
            return f"{lhs} = {show(rhs)}"

        lines = [equation(name(t), f) for t, f in self.forward_terms]
        lines.append(equation(name(self.name), self.forward))
        if self.forward_terms or self.gradient_terms:
            lines.append("")
        lines += [equation(name(t), f) for t, f in self.gradient_terms]
        for x in self.wrt:
            lhs = (rf"\frac{{\partial {name(self.name)}}}{{\partial {name(x)}}}" if latex
                   else f"d{self.name}/d{x}")
            lines.append(equation(lhs, self.derivatives[x]))
        return lines

    def text(self, latex: bool = False) -> str:
        return "\n".join(self.lines(latex))


def formulas(source: str, function: str | None = None, wrt=None, filename: str | None = None) -> Formulas:
    """Readable formulas for ``source`` (an expression or functions) and its derivatives."""
    if not isinstance(source, str):
        raise UsageError(f"source must be a string of Python code, not {type(source).__name__}")
    filename = filename or ("<expression>" if "def " not in source else "<source>")
    program = parse(source, function, filename)
    if program.kind == "expression" and function is not None:
        raise UsageError("function= applies only to sources with def statements")
    wrt = resolve_wrt(program, wrt)
    return _Writer(program, differentiate(program, wrt), wrt).formulas()


class _Writer:
    """Substitutes a differentiated graph into formulas, naming the terms worth a name."""

    def __init__(self, program: Program, grad: Gradient, wrt: tuple[str, ...]):
        self.program = program
        self.grad = grad
        self.graph = grad.graph
        self.wrt = wrt
        self.name = output_name(program)
        self.roots = {grad.output, *(grad.grads[n] for n in wrt)}
        self.needed = sorted(self.graph.ancestors(self.roots))

    def formulas(self) -> Formulas:
        graph, output = self.graph, self.grad.output
        uses = Counter(a for vid in self.needed for a in graph[vid].args)
        namer = naming.Namer(set(self.program.inputs) | {self.name})
        refs = {self.program.input_ids[n]: sp.Symbol(n) for n in self.program.inputs}
        refs[self.grad.seed] = sp.Integer(1)  # the derivative of the output itself
        gradient_side = {self.grad.seed} | self.grad.terms
        full = {}  # roots: the formula, also when users see the value by its name
        forward_terms, gradient_terms = [], []
        named: set[int] = set()
        for vid in self.needed:
            value = graph[vid]
            if value.template is None:
                continue
            if any(a in gradient_side for a in value.args):
                gradient_side.add(vid)
            expr = self._substitute(value, refs)
            if sp.count_ops(expr) > TERM_LIMIT and value.op != "shape":
                # Too long with its operands written in: the longer operands get names first
                # (a long sum of gradient contributions reads as a few partial sums).
                for a in value.args:
                    if a in full and a not in named and sp.count_ops(refs[a]) > TERM_LIMIT // 4:
                        term = namer.claim(f"t{len(forward_terms) + len(gradient_terms)}")
                        (gradient_terms if a in gradient_side else forward_terms).append((term, _tidy(refs[a])))
                        refs[a] = sp.Symbol(term)
                        named.add(a)
                expr = self._substitute(value, refs)
            full[vid] = expr
            if value.op == "shape" or not self._worth_a_name(expr, uses[vid]):  # shapes: plumbing
                refs[vid] = expr
            elif vid == output:
                refs[vid] = sp.Symbol(self.name)  # defined by the forward formula itself
            else:
                name = namer.claim(f"t{len(forward_terms) + len(gradient_terms)}")
                (gradient_terms if vid in gradient_side else forward_terms).append((name, _tidy(expr)))
                refs[vid] = sp.Symbol(name)
                named.add(vid)
        derivatives = {n: _simplified(_tidy(full.get(self.grad.grads[n], refs[self.grad.grads[n]])))
                       for n in self.wrt}
        return Formulas(self.name, self.program.inputs, self.wrt, _tidy(full.get(output, refs[output])),
                        derivatives, tuple(forward_terms), tuple(gradient_terms))

    @staticmethod
    def _worth_a_name(expr, uses: int) -> bool:
        if uses == 0 or expr.is_Atom:
            return False
        if uses > 1 and len(notation.text(expr)) > SHARED_LENGTH:
            return True
        return sp.count_ops(expr) > TERM_LIMIT

    def _substitute(self, value, refs) -> sp.Basic:
        def size(arg: sp.Symbol) -> sp.Basic:
            if not isinstance(arg, sp.Symbol):  # () : the shape of a single number
                return sp.Integer(1)
            shape = self.graph[value.args[placeholder_index(arg)]]  # a shape_of value
            return notation.size(refs[self._same_shape(shape.args[0])]) if shape.args else sp.Integer(1)

        template = readable(value.template)
        if template.has(S.size_ratio):  # size(a) / size(b): the count a mean divides by
            template = template.replace(S.size_ratio, lambda a, b: size(a) / size(b))
        return template.xreplace({placeholder(i): refs[a] for i, a in enumerate(value.args)})

    def _same_shape(self, vid: int) -> int:
        """The earliest value known to have ``vid``'s shape: size(x**2) is size(x)."""
        graph = self.graph
        while graph[vid].exact:
            same = [a for a in graph[vid].args if graph[a].exact and graph[a].lo == graph[vid].lo]
            if not same:
                break
            vid = same[0]
        return vid


_READABLE = (
    # Shape plumbing: the gradient of a broadcast or reduced value is the same number.
    (S.unbroadcast, lambda g, *shapes: g),
    (S.scaled, lambda x, g: x * g),
    (S.sech2, lambda x: sp.sech(x) ** 2),
    (S.expand_reduced, lambda g, *static: g),
    (S.zeros_like, lambda x: sp.Integer(0)),
    (S.where, lambda cond, a, b: sp.Piecewise((a, cond), (b, True))),
    (S.matmul_grad_a, lambda g, a, b: S.matmul(g, S.transpose(b))),
    (S.matmul_grad_b, lambda g, a, b: S.matmul(S.transpose(a), g)),
)


def readable(expr: sp.Basic) -> sp.Basic:
    """``expr`` without shape plumbing: ``unbroadcast(g, ...)`` -> ``g``, ``where`` -> Piecewise."""
    for head, rewrite in _READABLE:
        if expr.has(head):
            expr = expr.replace(head, rewrite)
    return expr


def _tidy(expr: sp.Basic) -> sp.Basic:
    """``x.T.T`` -> ``x``, which substitution creates from matmul gradients."""
    return expr.replace(lambda e: isinstance(e, S.transpose) and isinstance(e.args[0], S.transpose),
                        lambda e: e.args[0].args[0])


def _simplified(expr: sp.Basic) -> sp.Basic:
    """``expr`` simplified if it is small (and the result is no longer), else as it is."""
    ops = sp.count_ops(expr)
    if ops > SIMPLIFY_LIMIT:
        return expr
    simpler = sp.simplify(expr)
    return simpler if sp.count_ops(simpler) <= ops else expr


def output_name(program: Program) -> str:
    """What the output is called: the variable the entry function returns, else its name."""
    if program.kind != "function":
        return program.name
    try:
        tree = ast.parse(program.text)
    except SyntaxError:
        return program.name
    entry = tree.body[0] if tree.body else None
    if isinstance(entry, ast.FunctionDef) and isinstance(entry.body[-1], ast.Return):
        returned = entry.body[-1].value
        if isinstance(returned, ast.Name) and returned.id not in program.inputs:
            return returned.id
    return program.name
