"""Formulas a person can read: the value of a program and each derivative.

    >>> from derivgen.formulas import formulas
    >>> print(formulas("sin(x**2)", wrt=["x"]).text())
    f = sin(x**2)
    df/dx = 2*x*cos(x**2)
    >>> print(formulas("mean(x + b)", wrt=["b"], shapes={"x": (5,)}).text())
    f = mean(b + x)
    df/db = 1

The formulas are read off the graph the generated code is printed from: the program
after the stability rewrites of ``optimize.py``, differentiated, simplified, contracted
and fused by the same passes as in ``compiler.py``. So they show what the module
computes: ``log(1 + exp(x))`` is ``softplus(x)``, with derivative ``sigmoid(x)``.

Each value's template is made readable (the helpers that share work become the formulas
they stand for; where() becomes a Piecewise, without the harmless arguments that NaN-safe
branches give an op where it is not selected) and the values are substituted into their
users in creation order, with grad_output set to 1.

Shapes are part of the formula. A gradient that broadcasting stretched is summed back
to its input's shape: ``sum_to(g, b.shape)`` (g summed over the axes broadcasting added
or stretched, down to b's shape), and a number standing for a larger array counts its
elements (the gradient of ``mean(x + b)`` with respect to b is ``1/size(b)``: 1 for a
single number b, 1/n for a b of x's shape). With ``shapes`` (input name -> shape; the
other inputs are single numbers, as in ``gradcheck``), every such sum is written with its
axes (``sum(g)``, ``sum(g, axis=0)``), every count is a number, and matrix products of
vectors take NumPy's forms (``outer(g, b)``), so each formula evaluates, with NumPy, to
exactly the array the module returns for inputs of those shapes.

A small program comes out as one simplified formula per derivative. In a larger
one, a value gets a name (t0, t1, ...) of its own, as a person would introduce
one, when it is longer than TERM_LIMIT operations or is long and used more than
once (``t0 = sigmoid(b + w*x)``): per-intermediate formulas, never one inlined
monster. Only small formulas are simplified; simplify is slow on big ones.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from . import naming, notation, ops
from . import symbolic as S
from .compiler import compiled
from .errors import UsageError
from .graph import Graph, Program, placeholder, placeholder_index
from .ops import shapes
from .reverse import Gradient
from .rules import SHAPED

TERM_LIMIT = 40  # operations: a longer subexpression gets a name of its own
SHARED_LENGTH = 12  # characters: a subexpression used twice and printed longer gets a name
SIMPLIFY_LIMIT = 30  # operations: only formulas this small are simplified


def _plumbing(value) -> bool:
    """Whether a value is plumbing, never a term of its own: a shape, or a helper computing
    several results at once (its users pick one, which is the formula)."""
    return value.op == "shape" or value.op in ops.SEVERAL

_REDUCTIONS = (S.reduce_sum, S.reduce_mean, S.reduce_logsumexp, S.reduce_max, S.reduce_min, S.reduce_max_first,
               S.reduce_min_first, S.reduce_prod, S.max_shift)
# Gradients of matrix products with respect to a and b (np.dot's: no batches).
_DOT_GRADS = (S.dot_grad_a, S.dot_grad_b)
_PRODUCT_GRADS = (S.matmul_grad_a, S.matmul_grad_b, *_DOT_GRADS)
_FIRST_GRADS = (S.matmul_grad_a, S.dot_grad_a)
# Arrays of constants: a formula of no symbols that is not one number.
_CONSTANT_ARRAYS = (S.filled, S.eye, S.linspace, S.arange)
# Heads that are not elementwise: a where's condition must not be moved out of them.
# Ops that move elements (their last operand is Static), and their gradients' plumbing.
_MOVED = (S.getitem, S.reshape, S.expand_to, S.roll, S.diagonal, S.diagonal_grad, S.flatten, S.squeeze, S.new_axes, S.permute, S.swapaxes, S.moveaxis, S.flip,
          S.index_grad, S.reshape_to, notation.reshape_like, S.gather, S.gather_grad, S.take_along,
          S.take_along_grad, S.stack, S.concatenate, S.unstack, S.concat_part, S.cumsum, S.tril, S.triu, S.tri_grad,
          S.tile, S.tile_grad, S.repeat, S.repeat_grad, S.pad, S.unpad, S.filled, S.eye, S.linspace, S.arange,
          S.joined, S.join_part, S.cumprod, S.shift, S.linrec, S.argsort, S.argmax, S.argmin,
          S.split_part, S.split_grad, S.diag, S.diag_grad)
# Contractions (derivgen/ops/contractions.py) and their gradients: (g, *operands, (..., k)),
# of operand k's shape.
_CONTRACTION_GRADS = (S.einsum_grad, S.tensordot_grad, S.kron_grad)
_CONTRACTIONS = (S.einsum, S.tensordot, S.kron, *_CONTRACTION_GRADS)
_WHOLE = (*_REDUCTIONS, S.matmul, S.dot, S.transpose, notation.sum_to, notation.expand_dims,
          notation.broadcast_to, notation.outer, notation.matrix_transpose, notation.size, *_MOVED, *_CONTRACTIONS)

Term = tuple[str, sp.Basic]  # (name, formula)


@dataclass(frozen=True)
class Formulas:
    """The value of ``name`` and its derivative with respect to each input in ``wrt``.

    ``forward`` and each ``derivatives[input]`` are SymPy expressions over the
    inputs and the named intermediate terms, ``forward_terms`` and ``gradient_terms``
    (both empty for small programs), which are listed in evaluation order.
    ``shapes`` are the input shapes the formulas are written for (None: any shapes).
    """

    name: str  # the returned variable, else the function's name ("f" for expressions)
    inputs: tuple[str, ...]
    wrt: tuple[str, ...]
    forward: sp.Basic
    derivatives: dict = field(default_factory=dict)  # input name -> SymPy expression
    forward_terms: tuple[Term, ...] = ()
    gradient_terms: tuple[Term, ...] = ()
    shapes: dict | None = None  # input name -> shape

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


def formulas(source: str, function: str | None = None, wrt=None, filename: str | None = None,
             shapes: dict | None = None) -> Formulas:
    """Readable formulas for ``source`` (an expression or functions) and its derivatives.

    ``shapes`` (input name -> shape, the other inputs single numbers) writes them for
    arrays of those shapes; by default they hold for any shapes that broadcast."""
    if not isinstance(source, str):
        raise UsageError(f"source must be a string of Python code, not {type(source).__name__}")
    filename = filename or ("<expression>" if "def " not in source else "<source>")
    program, grad, wrt = compiled(source, function, wrt, filename)
    layout = _Labels(grad.graph) if shapes is None else _Shapes(program, grad, shapes)
    return _Writer(program, grad, wrt, layout).formulas()


# ---- shapes ------------------------------------------------------------------------------
class _Labels:
    """Shapes before run time, as the graph's labels know them: the set of inputs (and of
    reduction or matrix product results, "#...") whose shapes broadcast together. None
    where a shape is no such broadcast (an axis restored by expand_dims)."""

    concrete = False
    scalar = frozenset()

    def __init__(self, graph: Graph):
        self.graph = graph

    def forward(self, vid: int):
        return self.graph[vid].lo

    def broadcast(self, shapes):
        return None if any(s is None for s in shapes) else frozenset().union(*shapes)

    def reduced(self, shape, keepdims: int, axes: list[int]):
        return self.scalar if not axes and not keepdims else None

    def expanded(self, shape, axes: list[int]):
        return shape if shape == self.scalar else None

    def matmul(self, a, b):
        return None

    dot = outer = matmul

    def transpose(self, shape):
        return None

    matrix_transpose = transpose


class _Shapes:
    """The shapes of every forward value, for input arrays of given shapes (single numbers
    where none is given)."""

    concrete = True
    scalar = ()

    def __init__(self, program: Program, grad: Gradient, shapes: dict):
        try:
            shapes = dict(shapes)
        except (TypeError, ValueError):
            raise UsageError(f"shapes must map input names to shapes, not {type(shapes).__name__}") from None
        unknown = sorted(str(n) for n in set(shapes) - set(program.inputs))
        if unknown:
            raise UsageError(f"shapes given for unknown inputs: {', '.join(unknown)}; "
                             f"inputs: {', '.join(program.inputs)}")
        self.given = {n: _as_shape(n, shapes.get(n, ())) for n in program.inputs}
        self.graph = grad.graph
        live = self.graph.ancestors([program.output])
        self.values: dict[int, tuple | None] = {}
        for vid in range(grad.seed):  # the forward values, in creation order
            value = self.graph[vid]
            try:
                self.values[vid] = self._forward(value)
            except ValueError as exc:
                if vid not in live:
                    self.values[vid] = None  # unused: its shape does not matter
                    continue
                given = ", ".join(f"{n} {s}" for n, s in self.given.items())
                raise UsageError(f"the shapes {given} do not fit the program: {value.op} of "
                                 f"{', '.join(str(self.values[a]) for a in value.args)}: {exc}") from None

    def _forward(self, value) -> tuple | None:
        if value.template is None:
            return self.given[value.name] if value.op == "input" else ()
        args = [self.values[a] for a in value.args]
        if any(a is None for a in args):
            return None
        static = _static(value.static)
        if isinstance(value.template, S.part):  # one result of a helper (m of an exp_shift: reduced)
            helper = self.graph[value.args[placeholder_index(value.template.args[0])]]
            args, static = [self.values[a] for a in helper.args], _static(helper.static)
        spec = ops.OPS.get(value.op)
        return spec.result_shape(args, static) if spec is not None else self.broadcast(args)

    def forward(self, vid: int):
        return self.values[vid]

    def broadcast(self, shapes):
        return tuple(np.broadcast_shapes(*shapes))

    def reduced(self, shape, keepdims: int, axes: list[int]):
        return shapes.reduced(shape, keepdims, axes)

    def expanded(self, shape, axes: list[int]):
        ndim = len(shape) + len(axes)
        inserted = {a % ndim for a in axes}
        rest = iter(shape)
        return tuple(1 if i in inserted else next(rest) for i in range(ndim))

    def matmul(self, a, b):
        return shapes.matmul((a, b))

    def dot(self, a, b):
        return shapes.dot((a, b))

    def outer(self, a, b):
        return (math.prod(a), math.prod(b))

    def transpose(self, shape):
        return shape[::-1]

    def matrix_transpose(self, shape):
        return (*shape[:-2], shape[-1], shape[-2])


def _static(static: tuple) -> tuple:
    """A value's static operands as its op's shape rule takes them."""
    return tuple(s.value if isinstance(s, S.Static) else int(s) for s in static)


def _as_shape(name: str, shape) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
        ok = all(d >= 0 and int(d) == d for d in shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UsageError(f"shapes: the shape of {name} must be a tuple of sizes, such as (3, 4), not {shape!r}")
    return dims


# ---- the formulas ------------------------------------------------------------------------
class _Writer:
    """Substitutes a differentiated graph into formulas, naming the terms worth a name."""

    def __init__(self, program: Program, grad: Gradient, wrt: tuple[str, ...], layout):
        self.program = program
        self.grad = grad
        self.graph = grad.graph
        self.wrt = wrt
        self.layout = layout
        self.name = output_name(program)
        self.roots = {grad.output, *(grad.grads[n] for n in wrt)}
        self.needed = sorted(self.graph.ancestors(self.roots))
        self.shapes: dict[int, object] = {}  # value id -> the shape of its formula, in the layout's terms
        self.reps: dict[frozenset, int] = {}  # labels -> the first forward value of that shape
        self.refs: dict[int, sp.Basic] = {}
        # Matrix products by their operands: the gradient of each has the product's shape.
        self.products = {v.args: v.id for v in self.graph.values[:grad.seed]
                         if v.op in ops.STRUCTURAL and len(v.args) == 2}  # of two operands: products
        self.symbol_shapes: dict[sp.Symbol, object] = {}  # inputs and named terms -> shape
        self.lost: dict[int, sp.Basic] = {}  # values whose formula SymPy made smaller -> their shape
        self.value = None  # the value being written, and the shapes of the stand-ins in its template
        self.stand_ins: dict[sp.Symbol, tuple[sp.Basic, object]] = {}

    def formulas(self) -> Formulas:
        self._start()
        for vid in self.needed:
            value = self.graph[vid]
            if value.template is not None and value.op != "shape":  # shapes are written into their users
                self._write(value)
        refs, full, output = self.refs, self.full, self.grad.output
        derivatives = {n: _simplified(_tidy(full.get(self.grad.grads[n], refs[self.grad.grads[n]])))
                       for n in self.wrt}
        shapes = self.layout.given if self.layout.concrete else None
        return Formulas(self.name, self.program.inputs, self.wrt, _tidy(full.get(output, refs[output])),
                        derivatives, tuple(self.forward_terms), tuple(self.gradient_terms), shapes)

    def _start(self) -> None:
        """The inputs and grad_output as symbols, and the terms not yet written."""
        graph, seed = self.graph, self.grad.seed
        self.uses = Counter(a for vid in self.needed if graph[vid].op != "shape" for a in graph[vid].args)
        self.namer = naming.Namer(set(self.program.inputs) | {self.name})
        for name, vid in self.program.input_ids.items():
            self.refs[vid] = sp.Symbol(name)
            self.shapes[vid] = self.symbol_shapes[self.refs[vid]] = self.layout.forward(vid)
            self.reps.setdefault(graph[vid].hi, vid)
        self.refs[seed] = sp.Integer(1)  # the derivative of the output itself
        self.shapes[seed] = self.layout.scalar
        self.gradient_side = {seed} | self.grad.terms
        self.full = {}  # roots: the formula, also when users see the value by its name
        self.forward_terms, self.gradient_terms = [], []
        self.named: set[int] = set()

    def _give_name(self, vid: int, formula: sp.Basic) -> None:
        """``t<k> = formula``, a term of its own for ``vid``."""
        term = self.namer.claim(f"t{len(self.forward_terms) + len(self.gradient_terms)}")
        like = self.lost.pop(vid, None)
        formula = formula if like is None else notation.broadcast_to(formula, like)
        (self.gradient_terms if vid in self.gradient_side else self.forward_terms).append((term, _tidy(formula)))
        self.refs[vid] = sp.Symbol(term)
        self.symbol_shapes[self.refs[vid]] = self.shapes[vid]
        self.named.add(vid)

    def _write(self, value) -> None:
        """The formula of one value: written into its users, or a term of its own."""
        vid, refs, full = value.id, self.refs, self.full
        if any(a in self.gradient_side for a in value.args):
            self.gradient_side.add(vid)
        expr = self._substitute(value)
        if sp.count_ops(expr) > TERM_LIMIT and not _plumbing(value):
            # Too long with its operands written in: the longer operands get names first
            # (a long sum of gradient contributions reads as a few partial sums).
            for a in value.args:
                if (a in full and a not in self.named and sp.count_ops(refs[a]) > TERM_LIMIT // 4
                        and not _has_guard(refs[a])):
                    self._give_name(a, refs[a])
            expr = self._substitute(value)
        like = self._full_size(vid, expr) if not _plumbing(value) else None
        if like is not None:
            if vid == self.grad.output:
                expr = notation.broadcast_to(expr, like)
            else:
                self.lost[vid] = like
        full[vid] = expr
        if (_plumbing(value) or _is_guard(value) or _has_guard(expr)
                or not self._worth_a_name(expr, self.uses[vid])):
            refs[vid] = expr
        elif vid == self.grad.output:
            refs[vid] = sp.Symbol(self.name)  # defined by the forward formula itself
            self.symbol_shapes[refs[vid]] = self.shapes[vid]
        else:
            self._give_name(vid, expr)
        if (vid < self.grad.seed and value.exact and not _plumbing(value) and vid not in self.lost
                and not _has_guard(refs[vid])):
            self.reps.setdefault(value.hi, vid)

    @staticmethod
    def _worth_a_name(expr, uses: int) -> bool:
        if uses == 0 or expr.is_Atom:
            return False
        if uses > 1 and len(notation.text(expr)) > SHARED_LENGTH:
            return True
        return sp.count_ops(expr) > TERM_LIMIT

    def _substitute(self, value) -> sp.Basic:
        """The value's formula: its template with shapes written out, operands substituted."""
        self.value, self.stand_ins = value, {}
        template = self._rewrite(readable(value.template))
        if value.id < self.grad.seed:
            self.shapes[value.id] = self.layout.forward(value.id)
        else:
            shape = self._shape(template)
            if shape is None and value.op[1:] in SHAPED:  # a matrix product's gradient: its operand's shape
                shape = value.lo
            self.shapes[value.id] = shape
        mapping = {placeholder(i): self.refs[a] for i, a in enumerate(value.args) if a in self.refs}
        inside = _under_whole(template)
        for i, a in enumerate(value.args):
            if a in self.lost and placeholder(i) in inside:
                # An operand whose formula SymPy made smaller than its value (where(c, z, z)
                # is z), inside a sum or product that counts its elements: as large as it is.
                mapping[placeholder(i)] = notation.broadcast_to(mapping[placeholder(i)], self.lost[a])
        mapping.update({d: expr for d, (expr, _) in self.stand_ins.items()})
        return _resolved(template.xreplace(mapping))

    def _full_size(self, vid: int, expr: sp.Basic) -> sp.Basic | None:
        """What ``expr``, the formula of ``vid``, broadcasts to where SymPy's evaluation made it
        smaller than the value (where(c, z, z) is z, x - x is 0): None where it did not."""
        shape = self.shapes[vid]
        final = self._shape(expr, self.symbol_shapes.get)
        if shape is None or final is None or final == shape:
            return None
        return sp.Tuple(*shape) if self.layout.concrete else self._like(shape)

    # ---- templates with their shapes written out ----------------------------------------
    def _rewrite(self, expr: sp.Basic) -> sp.Basic:
        """``expr`` with the heads that depend on shapes written for this layout (innermost first)."""
        if expr.is_Atom:
            return expr
        args = [self._rewrite(a) for a in expr.args]
        if any(a is not b for a, b in zip(args, expr.args)):
            expr = expr.func(*args)
        if isinstance(expr, S.size_ratio):  # the count a mean divides by
            a, b = expr.args
            return self._size(self._shape_value(a)) / self._size(self._shape_value(b))
        if isinstance(expr, S.unbroadcast):
            g, target, *rest = expr.args
            return self._sum_to(g, target, rest[0] if len(rest) == 2 else None)
        if isinstance(expr, S.unbroadcast_product):
            a, b, target, *rest = expr.args
            return self._sum_to(a * b, target, rest[0] if len(rest) == 2 else None)
        if isinstance(expr, S.expand_reduced):
            g, keepdims, *axes = expr.args
            if axes and not keepdims and self._shape(g) != self.layout.scalar:
                return notation.expand_dims(g, *axes)
            return g
        if isinstance(expr, _PRODUCT_GRADS):
            return self._matmul_grad(type(expr), *expr.args)
        if isinstance(expr, S.reshape_to):  # a reshape's gradient: g reshaped back
            g, target = expr.args
            shape = self._shape_value(target)
            return notation.reshape_like(g, sp.Tuple(*shape) if self.layout.concrete else self._shaped_like(shape))
        return expr

    def _arg(self, symbol: sp.Symbol) -> int:
        return self.value.args[placeholder_index(symbol)]

    def _shape_value(self, expr):
        """The shape a shape_of value stands for (the broadcast of its members' shapes)."""
        if not isinstance(expr, sp.Symbol):  # () : the shape of a single number
            return self.layout.scalar
        members = self.graph[self._arg(expr)].args
        if self.layout.concrete:
            return self.layout.broadcast([self.layout.forward(m) for m in members])
        return frozenset().union(*(self.graph[m].hi for m in members))

    def _template_symbol(self, symbol: sp.Symbol):
        if symbol in self.stand_ins:
            return self.stand_ins[symbol][1]
        return self.shapes.get(self._arg(symbol))

    def _shape(self, expr, leaf=None):
        """The shape of a formula (None: not known in these terms): of a rewritten template,
        or with ``leaf`` (symbol -> shape) of any formula."""
        layout = self.layout
        if isinstance(expr, sp.Symbol):
            return (leaf or self._template_symbol)(expr)
        if (not expr.free_symbols and not expr.atoms(*_CONSTANT_ARRAYS)) \
                or isinstance(expr, (notation.size, S.size_of, S.sum_product, S.mean_product)):
            return layout.scalar
        if isinstance(expr, (notation.sum_to, notation.broadcast_to)):
            like = expr.args[1]
            return tuple(int(n) for n in like) if isinstance(like, sp.Tuple) else self._shape(like, leaf)
        if isinstance(expr, notation.expand_dims):
            inner = self._shape(expr.args[0], leaf)
            return None if inner is None else layout.expanded(inner, [int(a) for a in expr.args[1:]])
        if isinstance(expr, _PRODUCT_GRADS):  # (g, a, b): the shape of a, or of b
            return self._shape(expr.args[1 if isinstance(expr, _FIRST_GRADS) else 2], leaf)
        if isinstance(expr, _REDUCTIONS):
            inner = self._shape(expr.args[0], leaf)
            keepdims, *axes = (int(a) for a in expr.args[1:])
            return None if inner is None else layout.reduced(inner, keepdims, axes)
        if isinstance(expr, notation.reshape_like):
            like = expr.args[1]
            return tuple(int(n) for n in like) if isinstance(like, sp.Tuple) else self._shape(like, leaf)
        if isinstance(expr, _CONTRACTIONS):
            return self._contraction_shape(expr, leaf)
        if isinstance(expr, _MOVED):
            return self._moved_shape(expr, leaf)
        shapes = [self._shape(a, leaf) for a in expr.args]
        for head, method in ((S.matmul, layout.matmul), (S.dot, layout.dot), (notation.outer, layout.outer),
                             (S.transpose, layout.transpose),
                             (notation.matrix_transpose, layout.matrix_transpose)):
            if isinstance(expr, head):
                return None if None in shapes else method(*shapes)
        return layout.broadcast(shapes)

    def _contraction_shape(self, expr, leaf):
        """A contraction's shape, for known shapes (its gradient's: its operand k's, in any terms)."""
        if isinstance(expr, _CONTRACTION_GRADS):
            return self._shape(expr.args[1 + expr.args[-1].value[-1]], leaf)
        static = expr.args[-1] if isinstance(expr.args[-1], S.Static) else None
        shapes = [self._shape(a, leaf) for a in (expr.args[:-1] if static is not None else expr.args)]
        if None in shapes or not self.layout.concrete:
            return None
        return ops.HEADS[type(expr).__name__].result_shape(shapes, (static.value,) if static is not None else ())

    def _moved_shape(self, expr, leaf):
        """The shape of an op that moves elements: its own rule's, for known shapes; the
        gradient of an index has its operand's shape in any terms."""
        *operands, static = expr.args
        shapes = [self._shape(a, leaf) for a in operands]
        if isinstance(expr, (S.index_grad, S.gather_grad, S.take_along_grad, S.diagonal_grad, S.tri_grad, S.tile_grad, S.split_grad, S.diag_grad,
                             S.repeat_grad)):
            return shapes[1]
        if None in shapes or not self.layout.concrete:
            return None
        return ops.HEADS[type(expr).__name__].result_shape(shapes, (static.value,))

    def _stand_in(self, expr: sp.Basic, shape) -> sp.Symbol:
        """A symbol for ``expr``, a formula of this shape, in the template (replaced by the
        formula with the operands, so it cannot be mistaken for one of them)."""
        symbol = sp.Dummy("like")
        self.stand_ins[symbol] = (expr, shape)
        return symbol

    def _shaped_like(self, labels: frozenset) -> sp.Symbol:
        return self._stand_in(self._like(labels), labels)

    def _like(self, labels: frozenset) -> sp.Basic:
        """The formula of the first value with these labels, or the broadcast of such values."""
        if labels in self.reps:
            return self.refs[self.reps[labels]]
        order = {n: i for i, n in enumerate(self.program.inputs)}
        members = sorted(labels, key=lambda label: (label not in order, order.get(label, 0), label))
        return notation.broadcast(*(self.refs[self.reps[frozenset({m})]] if frozenset({m}) in self.reps
                                    else sp.Symbol(m) for m in members))

    def _size(self, shape) -> sp.Basic:
        if self.layout.concrete:
            return sp.Integer(math.prod(shape))
        return sp.Integer(1) if not shape else notation.size(self._shaped_like(shape))

    def _sum_to(self, g: sp.Basic, target: sp.Basic, full: sp.Basic | None) -> sp.Basic:
        """``g`` summed over the axes broadcasting added or stretched, down to ``target``'s shape.

        ``g`` stands for an array of ``full``'s shape where given (it may be smaller: a mean's
        1/n is one number), so each element counts once per element it stands for."""
        target = self._shape_value(target)
        full = self._shape_value(full) if full is not None else None
        own = self._shape(g)
        if self.layout.concrete:
            return self._summed_axes(g, own, target, own if full is None else full)
        if own is None:  # g's shape is no broadcast of labels: written with the shape it stands for
            if full is None:
                full = frozenset().union(*(self.graph[self._arg(s)].hi for s in g.free_symbols
                                           if s not in self.stand_ins))
            return notation.sum_to(g, self._shaped_like(target), self._shaped_like(full))
        full = own if full is None else full
        if own <= target:
            core = g
        elif not target:
            core = S.reduce_sum(g, sp.Integer(0))
        else:
            core = notation.sum_to(g, self._shaped_like(target))
        whole, counted = full | target, own | target
        return core if whole == counted else core * self._size(whole) / self._size(counted)

    def _summed_axes(self, g: sp.Basic, own: tuple, target: tuple, full: tuple) -> sp.Basic:
        """``_sum_to`` for known shapes: the sums over ``g``'s own axes, and a count for each
        axis it is broadcast along, so the result broadcasts to ``target``."""
        stretched = self.layout.broadcast([full, target])
        lead = len(stretched) - len(target)
        summed = [*range(lead), *(lead + i for i, n in enumerate(target) if n == 1 and stretched[lead + i] != 1)]
        offset = len(stretched) - len(own)
        count, drop, keep = 1, [], []
        for axis in summed:
            i = axis - offset  # the same axis of g, if g has it
            if i < 0 or own[i] == 1:
                count *= stretched[axis]  # g is broadcast along it
            if i >= 0 and axis < lead:
                drop.append(i)  # leading axes go; a size-1 one is summed away too
            elif i >= 0 and own[i] != 1:
                keep.append(i)
        expr = g
        if len(drop) == len(own) and not keep and isinstance(g, notation.expand_dims):
            expr = g.args[0]  # summed over everything: the restored axes do not matter
        if drop:
            expr = S.reduce_sum(expr, sp.Integer(0), *(() if len(drop) == len(own) else map(sp.Integer, drop)))
        if keep:
            expr = S.reduce_sum(expr, sp.Integer(1), *(sp.Integer(i - len(drop)) for i in keep))
        return expr * count

    def _matmul_grad(self, head, g: sp.Basic, a: sp.Basic, b: sp.Basic) -> sp.Basic:
        """The gradient of a @ b or np.dot(a, b) (``head``) with respect to a or b: ``g @ b.T``,
        ``a.T @ g``, and where shapes are known NumPy's forms for vectors, single numbers and
        batches (np.dot of more than two dimensions keeps its head: ``dot_grad_a(g, a, b)``)."""
        first = issubclass(head, _FIRST_GRADS)
        product = self.products.get((self._arg(a), self._arg(b)))
        if product is not None and self._shape(g) != self.shapes[product]:
            # A number, or an array smaller than the product it is the gradient of: as large.
            g = notation.broadcast_to(g, self._stand_in(self.refs[product], self.shapes[product]))
        generic = S.matmul(g, S.transpose(b)) if first else S.matmul(S.transpose(a), g)
        if not self.layout.concrete:
            return generic
        shape_a, shape_b = self._shape(a), self._shape(b)
        mine, other = (shape_a, b) if first else (shape_b, a)
        if not shape_a or not shape_b:  # np.dot with a single number is a product
            term = g * other
            return self._summed_axes(term, self._shape(term), mine, self._shape(term))
        if len(shape_a) <= 2 and len(shape_b) <= 2:
            vector = len(shape_b) == 1 if first else len(shape_a) == 1
            if vector:  # the other operand is a vector: an outer product (a plain one for two vectors)
                if len(mine) == 1:
                    return g * other
                return notation.outer(g, b) if first else notation.outer(a, g)
            return generic
        if not issubclass(head, _DOT_GRADS) and len(shape_a) >= 2 and len(shape_b) >= 2:
            # Batches of matrices, summed over the batches broadcasting added.
            term = S.matmul(g, notation.matrix_transpose(b)) if first else S.matmul(notation.matrix_transpose(a), g)
            return self._summed_axes(term, self._shape(term), mine, self._shape(term))
        return head(g, a, b)


# ---- readable forms ----------------------------------------------------------------------
_READABLE = (
    (S.scaled, lambda x, g: x * g),
    (S.sech2, lambda x: sp.sech(x) ** 2),
    (S.zeros_like, lambda x: sp.Integer(0)),
    (S.nan_like, lambda x: sp.nan),
    (S.sum_product, lambda a, b: S.reduce_sum(a * b, sp.Integer(0))),
    (S.mean_product, lambda a, b: S.reduce_mean(a * b, sp.Integer(0))),
    (S.lse_refine, lambda value, x, *static: value),
    (S.live, lambda cond, x: cond),
)

# part(helper(...), k): the k-th result of a helper that shares work, as a formula.
_PARTS = {
    S.sigmoid_parts: lambda z: (S.sigmoid(z), S.sigmoid(-z)),
    S.softplus_parts: lambda z: (S.softplus(z), S.sigmoid(z)),
    S.logaddexp_parts: lambda a, b: (S.logaddexp(a, b), S.sigmoid(a - b), S.sigmoid(b - a)),
    # exp(x - m) and m: the shift cancels exactly in every formula that uses it.
    S.exp_shift: lambda x, *static: (sp.exp(x), sp.Integer(0)),
}


def readable(expr: sp.Basic) -> sp.Basic:
    """``expr`` without the heads that only organise the work: ``scaled(x, g)`` -> ``x*g``,
    ``sum_product(a, b)`` -> ``sum(a*b)``, ``sech2(x)`` -> ``sech(x)**2``."""
    for head, rewrite in _READABLE:
        if expr.has(head):
            expr = expr.replace(head, rewrite)
    return expr


def _resolved(expr: sp.Basic) -> sp.Basic:
    """A substituted formula as a person writes it: helpers' results picked, ``where`` as a
    Piecewise without NaN-safe guards, ``log(sum(exp(x)))`` as ``logsumexp(x)``."""
    if expr.has(S.part):
        expr = expr.replace(lambda e: isinstance(e, S.part) and type(e.args[0]) in _PARTS,
                            lambda e: _PARTS[type(e.args[0])](*e.args[0].args)[int(e.args[1])])
    if expr.has(S.where):
        expr = expr.replace(S.where, lambda c, a, b: sp.Piecewise((a, c), (b, True)))
    if expr.has(sp.Piecewise):
        expr = _unguarded(expr)
    if expr.has(S.reduce_sum):
        expr = expr.replace(
            lambda e: isinstance(e, sp.log) and isinstance(e.args[0], S.reduce_sum)
            and isinstance(e.args[0].args[0], sp.exp),
            lambda e: S.reduce_logsumexp(e.args[0].args[0].args[0], *e.args[0].args[1:]))
    return expr


def _is_guard(value) -> bool:
    """Whether ``value`` is a NaN-safe guard of optimize.py, where(c, x, safe) or where(c, safe, x):
    written into the branch that uses it, where it is x itself."""
    t = value.template
    return (value.op == "where" and len(value.args) == 2 and isinstance(t, S.where)
            and sum(isinstance(a, sp.Float) for a in t.args[1:]) == 1)


def _under_whole(expr: sp.Basic) -> set:
    """The symbols of ``expr`` inside a sum, matrix product or other whole-array operation."""
    return set().union(*(e.free_symbols for e in sp.preorder_traversal(expr) if isinstance(e, _WHOLE)))


def _has_guard(expr: sp.Basic) -> bool:
    """Whether a guard is left in ``expr``: it is written into the branch that uses it instead."""
    return any(_two_way(p) and sum(isinstance(c.expr, sp.Float) for c in p.args) == 1
               for p in expr.atoms(sp.Piecewise))


def _two_way(e) -> bool:
    return isinstance(e, sp.Piecewise) and len(e.args) == 2 and e.args[1].cond == sp.true


def _unguarded(expr: sp.Basic) -> sp.Basic:
    """Inside a branch of where(c, a, b), the guard where(c, x, safe) that optimize.py gives
    an op there is x itself (the branch is used only where c holds), and so is
    where(c, safe, x) inside b: the formula without them. Where every where has one
    condition, products and quotients of them are folded into one."""
    if len({p.args[0].cond for p in expr.atoms(sp.Piecewise)}) == 1:
        expr = _elementwise(expr, sp.piecewise_fold)

    def strip(e: sp.Basic, cond, taken: int) -> sp.Basic:
        if e.is_Atom or isinstance(e, _WHOLE):  # a sum covers elements the branch does not
            return e
        if _two_way(e) and e.args[0].cond == cond:
            return strip(e.args[taken].expr, cond, taken)
        if _two_way(e) and e.args[0].cond == sp.Not(cond):  # a guard where(~c, x, safe) in b
            return strip(e.args[1 - taken].expr, cond, taken)
        return e.func(*(strip(a, cond, taken) for a in e.args))

    return expr.replace(_two_way, lambda e: sp.Piecewise(
        (strip(e.args[0].expr, e.args[0].cond, 0), e.args[0].cond),
        (strip(e.args[1].expr, e.args[0].cond, 1), True)))


def _tidy(expr: sp.Basic) -> sp.Basic:
    """``x.T.T`` -> ``x``, which substitution creates from matmul gradients."""
    return expr.replace(lambda e: isinstance(e, S.transpose) and isinstance(e.args[0], S.transpose),
                        lambda e: e.args[0].args[0])


def _simplified(expr: sp.Basic) -> sp.Basic:
    """``expr`` simplified if it is small (and the result is no longer), else as it is."""
    ops = sp.count_ops(expr)
    if ops > SIMPLIFY_LIMIT:
        return expr
    simpler = _elementwise(expr, sp.simplify)
    return simpler if sp.count_ops(simpler) <= ops else expr


def _elementwise(expr: sp.Basic, rewrite) -> sp.Basic:
    """``rewrite(expr)`` with each sum, matrix product and other whole-array operation that
    holds a where kept as it is: SymPy folds a Piecewise out of any function, which would
    move an elementwise condition out of a sum."""
    held: dict[sp.Symbol, sp.Basic] = {}

    def hold(e: sp.Basic) -> sp.Basic:
        if e.is_Atom or not e.has(sp.Piecewise):
            return e
        if isinstance(e, _WHOLE):
            symbol = sp.Dummy("held")
            held[symbol] = e
            return symbol
        return e.func(*(hold(a) for a in e.args))

    return rewrite(hold(expr)).xreplace(held)


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
