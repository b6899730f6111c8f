"""How formulas are written for people: plain text (``2*x*cos(x**2)``) or LaTeX.

These printers show the SymPy heads of ``symbolic.py`` in the vocabulary of the
source (``X @ w``, ``X.T``, ``mean(x)``, ``where(c, a, b)``); they produce text to
read, never code to run (that is the backends' printers' job). The heads defined here say, in
NumPy's words, what the generated code does with shapes: ``size(x)``,
``sum_to(g, b.shape)`` (a gradient summed back over the axes broadcasting stretched),
``expand_dims(g, axis=1)``, ``broadcast_to(g, x.shape)``, ``outer(a, b)``, ``x.mT``,
``reshape(g, x.shape)`` and ``scatter(g, x.shape, [index])`` (zeros of that shape with g
added in at the index: the gradient of ``x[index]``). Sizes a source reads are written as
it reads them: ``x.shape[0]``, ``x.size``, ``x.ndim``.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from . import symbolic as S
from .ops.constants import arange_arguments
from .ops.indexing import index_text


def _head(name: str, nargs, doc: str) -> type:
    return type(name, (S.Opaque,), {"nargs": nargs, "__doc__": doc, "__module__": __name__})


# Display-only heads, for what the generated code does with shapes.
size = _head("size", 1, "the number of elements of x (a count a mean divides by)")
broadcast = _head("broadcast", None, "the arguments broadcast together; only its shape or size is shown")
sum_to = _head("sum_to", (2, 3), "g (broadcast to full's shape first, if given) summed over the axes that "
                                 "broadcasting added or stretched, down to like's shape: (g, like[, full])")
broadcast_to = _head("broadcast_to", 2, "g broadcast to like's shape: (g, like)")
outer = _head("outer", 2, "the outer product of two vectors, np.outer(a, b)")
matrix_transpose = _head("matrix_transpose", 1, "x with its last two axes swapped, x.mT")
reshape_like = _head("reshape_like", 2, "g reshaped to like's shape (a reshape's gradient): (g, like)")


class expand_dims(S.Opaque):
    """g with size-1 axes inserted where a reduction removed them: (g, *axes); a number stays one."""

    nargs = None

    @classmethod
    def eval(cls, g, *axes):
        return g if g.is_Number else None


_REDUCTIONS = {"reduce_sum": "sum", "reduce_mean": "mean", "reduce_logsumexp": "logsumexp", "reduce_max": "max",
               "reduce_min": "min", "reduce_max_first": "max", "reduce_min_first": "min", "reduce_prod": "prod"}


def _precedence(expr) -> int:
    # A @ b binds like *, so it is parenthesised as a product, not as an atom.
    if isinstance(expr, S.matmul):
        return PRECEDENCE["Mul"]
    return precedence(expr)


# Heads printed as Python's operators // and %.
_OPERATOR_HEADS = (S.floor_divide, S.remainder)


def _is_atomic(expr) -> bool:
    """Whether ``expr`` needs no parentheses before ``.T``: a name or a function call."""
    return isinstance(expr, (sp.Symbol, sp.Function)) and not isinstance(expr, S.matmul)


def _axes(axes) -> str:
    return str(axes[0]) if len(axes) == 1 else "(" + ", ".join(str(a) for a in axes) + ")"


def _reduction_options(expr) -> tuple[str, ...]:
    """``axis=...`` and ``keepdims=True`` of a reduction head, as written in NumPy."""
    _, keepdims, *axes = expr.args
    options = []
    if axes:
        options.append(f"axis={_axes(axes)}")
    if keepdims:
        options.append("keepdims=True")
    return tuple(options)


class TextPrinter(StrPrinter):
    """``2*x*cos(x**2)``: SymPy's plain notation with NumPy's words for array ops."""

    _factor = False  # printing the factors of a product

    def parenthesize(self, item, level, strict=False):
        prec = _precedence(item)
        if prec < level or (not strict and prec <= level) or (self._factor and isinstance(item, _OPERATOR_HEADS)):
            return f"({self._print(item)})"
        return self._print(item)

    def _print_Mul(self, expr):
        # SymPy parenthesises the factors of -a*b as the terms of a sum: a // b and a % b,
        # which bind as * does, need their parentheses there too (-t*(y // x)).
        outer, self._factor = self._factor, True
        try:
            return super()._print_Mul(expr)
        finally:
            self._factor = outer

    def _print_matmul(self, expr):
        # Operands that are products are parenthesised on both sides: a*b @ c reads badly.
        a, b = (self.parenthesize(x, PRECEDENCE["Mul"]) for x in expr.args)
        return f"{a} @ {b}"

    def _print_transpose(self, expr):
        (x,) = expr.args
        text = self._print(x)
        return f"{text}.T" if _is_atomic(x) else f"({text}).T"

    def _print_matrix_transpose(self, expr):
        (x,) = expr.args
        text = self._print(x)
        return f"{text}.mT" if _is_atomic(x) else f"({text}).mT"

    def _print_floor_divide(self, expr):
        a, b = (self.parenthesize(x, PRECEDENCE["Mul"], strict=True) for x in expr.args)
        return f"{a} // {b}"

    def _print_remainder(self, expr):
        a, b = (self.parenthesize(x, PRECEDENCE["Mul"], strict=True) for x in expr.args)
        return f"{a} % {b}"

    def _shape(self, like) -> str:
        return f"{self._print(like)}.shape" if _is_atomic(like) else f"({self._print(like)}).shape"

    def _print_sum_to(self, expr):
        g, *shapes = expr.args
        return f"sum_to({', '.join([self._print(g), *(self._shape(s) for s in shapes)])})"

    def _print_broadcast_to(self, expr):
        g, like = expr.args
        shape = self._print(tuple(like)) if isinstance(like, sp.Tuple) else self._shape(like)
        return f"broadcast_to({self._print(g)}, {shape})"

    def _print_expand_dims(self, expr):
        g, *axes = expr.args
        return f"expand_dims({self._print(g)}, axis={_axes(axes)})"

    def _print_reshape_like(self, expr):
        g, like = expr.args
        shape = self._print(tuple(like)) if isinstance(like, sp.Tuple) else self._shape(like)
        return f"reshape({self._print(g)}, {shape})"

    # ---- ops that move elements, in NumPy's words (their last operand is Static) ------------
    def _print_getitem(self, expr):
        x, static = expr.args
        text = self._print(x)
        return f"{text if _is_atomic(x) else f'({text})'}[{index_text(static.value[0])}]"

    def _print_index_grad(self, expr):
        g, like, static = expr.args
        return f"scatter({self._print(g)}, {self._shape(like)}, [{index_text(static.value[0])}])"

    def _print_stack(self, expr, name="stack"):  # stack((a, b), axis=0)
        *arrays, static = expr.args
        return f"{name}(({', '.join(self._print(a) for a in arrays)}{',' if len(arrays) == 1 else ''}), " \
               f"axis={static.value[0]})"

    def _print_concatenate(self, expr):
        return self._print_stack(expr, "concatenate")

    def _print_unstack(self, expr):  # part i of a stack's adjoint
        g, static = expr.args
        axis, i, _ = static.value
        return f"take({self._print(g)}, {i}, axis={axis})"

    def _print_concat_part(self, expr):
        g, *arrays, static = expr.args
        axis, i = static.value
        return f"part({self._print(g)}, {self._print(arrays[i])}, axis={axis})"

    # arrays of constants, their sizes read off an operand as x.shape[i]
    def _constant_sizes(self, expr, sizes) -> list:
        return [self._print(S.size_of(expr.args[0], S.Static(s[1]))) if isinstance(s, tuple) else repr(s)
                for s in sizes]

    def _print_filled(self, expr):
        shape, value = expr.args[-1].value
        text = (f"{self._print(expr.args[0])}.shape" if shape == "like"
                else "(" + ", ".join(self._constant_sizes(expr, shape)) + ("," if len(shape) == 1 else "") + ")")
        return f"zeros({text})" if value == 0 else f"ones({text})" if value == 1 else f"full({text}, {value!r})"

    def _print_eye(self, expr):
        n, m, k = expr.args[-1].value
        sizes = self._constant_sizes(expr, (n,) if m is None else (n, m))
        return f"eye({', '.join(sizes)}{f', k={k}' if k else ''})"

    def _print_linspace(self, expr):
        start, stop, num, endpoint = expr.args[-1].value
        (count,) = self._constant_sizes(expr, (num,))
        return f"linspace({start!r}, {stop!r}, {count}{'' if endpoint else ', endpoint=False'})"

    def _print_arange(self, expr):
        start, stop, step = expr.args[-1].value
        (stop,) = self._constant_sizes(expr, (stop,))
        args = arange_arguments(start, stop, step)
        return f"arange({', '.join(args)})"

    def _print_tile_grad(self, expr):  # g's blocks (np.tile) or each element's copies (np.repeat) added up
        g, x, static = expr.args
        name = "sum_blocks" if type(expr).__name__ == "tile_grad" else "sum_copies"
        return f"{name}({self._print(g)}, {self._shape(x)}, {self._print(static)})"

    _print_repeat_grad = _print_tile_grad

    def _print_diagonal_grad(self, expr):  # g written on the diagonal of zeros like x
        g, x, static = expr.args
        offset, axis1, axis2 = static.value
        return f"scatter_diagonal({self._print(g)}, {self._shape(x)}, {offset}, {axis1}, {axis2})"

    # ---- contractions, as NumPy writes them; a gradient with respect to operand k as k=... ----
    def _print_einsum(self, expr):
        *operands, static = expr.args
        return f"einsum({static.value[0]!r}, {', '.join(self._print(a) for a in operands)})"

    def _print_einsum_grad(self, expr):
        g, *operands, static = expr.args
        subscripts, k = static.value
        return f"einsum_grad({self._print(g)}, {subscripts!r}, {', '.join(self._print(a) for a in operands)}, k={k})"

    def _print_tensordot(self, expr):
        a, b, static = expr.args
        (axes,) = static.value
        if axes == "inner":
            return f"inner({self._print(a)}, {self._print(b)})"
        return f"tensordot({self._print(a)}, {self._print(b)}, axes={axes!r})"

    def _print_tensordot_grad(self, expr):
        g, a, b, static = expr.args
        axes, k = static.value
        options = "" if axes == "inner" else f", axes={axes!r}"
        name = "inner" if axes == "inner" else "tensordot"
        return f"{name}_grad({self._print(g)}, {self._print(a)}, {self._print(b)}{options}, k={k})"

    def _print_kron_grad(self, expr):
        g, a, b, static = expr.args
        return f"kron_grad({self._print(g)}, {self._print(a)}, {self._print(b)}, k={static.value[0]})"

    def _print_split_part(self, expr):  # np.split(x, 3, axis=1)[0], torch.chunk(x, 3, dim)[0]
        x, static = expr.args
        kind, arg, i, axis = static.value
        name = {"sizes": "split", "chunk": "chunk"}.get(kind, kind)
        return f"{name}({self._print(x)}, {list(arg) if isinstance(arg, tuple) else arg}, axis={axis})[{i}]"

    def _print_split_grad(self, expr):  # g written where part i of x was
        g, x, static = expr.args
        kind, arg, i, axis = static.value
        name = {"sizes": "split", "chunk": "chunk"}.get(kind, kind)
        return f"scatter_part({self._print(g)}, {self._shape(x)}, {name}, {list(arg) if isinstance(arg, tuple) else arg}, " \
               f"{i}, axis={axis})"

    def _print_joined(self, expr):  # np.hstack(a, b) and its kin
        *arrays, static = expr.args
        return f"{static.value[0]}({', '.join(self._print(a) for a in arrays)})"

    def _print_join_part(self, expr):  # array i's part of g
        g, *arrays, static = expr.args
        how, i = static.value
        return f"part({self._print(g)}, {self._print(arrays[i])}, {how})"
    def _print_shift(self, expr):  # x moved along an axis, fill coming in (a running product's plumbing)
        x, static = expr.args
        axis, step, fill = static.value
        return f"shift({self._print(x)}, {step}, axis={axis}, fill={fill})"

    def _print_linrec(self, expr):  # y[j] = a[j] * y[j -+ 1] + b[j]
        a, b, static = expr.args
        axis, reverse = static.value
        return f"linrec({self._print(a)}, {self._print(b)}, axis={axis}{', reverse=True' if reverse else ''})"

    def _print_as_numbers(self, expr):  # positions as numbers: the same values
        return self._print(expr.args[0])

    def _print_argmax(self, expr):
        return self._arg_extreme("argmax", expr)

    def _print_argmin(self, expr):
        return self._arg_extreme("argmin", expr)

    def _arg_extreme(self, name: str, expr) -> str:
        x, static = expr.args
        axis, keepdims = static.value
        options = ("" if axis is None else f", axis={axis}") + (", keepdims=True" if keepdims else "")
        return f"{name}({self._print(x)}{options})"

    def _print_argsort(self, expr):
        x, static = expr.args
        axis, descending, k = static.value
        options = f"axis={axis}" + (", descending=True" if descending else "") + ("" if k is None else f", k={k}")
        return f"argsort({self._print(x)}, {options})"

    def _print_take_along(self, expr):  # NumPy's name; PyTorch's gather as gather(x, dim, index)
        x, indices, static = expr.args
        axis, leading = static.value
        if leading:
            return f"gather({self._print(x)}, {axis}, {self._print(indices)})"
        return f"take_along_axis({self._print(x)}, {self._print(indices)}, axis={axis})"

    def _print_take_along_grad(self, expr):
        g, x, indices, static = expr.args
        return f"scatter_add({self._print(g)}, {self._shape(x)}, {self._print(indices)}, axis={static.value[0]})"

    def _print_gather(self, expr):  # x[arange(x.shape[0]), t]: the positions' arrays by name
        *arrays, static = expr.args
        base = self._print(arrays[0])
        return f"{base if _is_atomic(arrays[0]) else f'({base})'}[{self._run_time_index(arrays, static)}]"

    def _print_gather_grad(self, expr):
        g, *arrays, static = expr.args
        return f"scatter({self._print(g)}, {self._shape(arrays[0])}, [{self._run_time_index(arrays, static)}])"

    def _run_time_index(self, arrays, static) -> str:
        def item(it):
            if it[0] in ("at", "mask"):
                return self._print(arrays[it[1]])
            return f"arange({self._print(S.size_of(arrays[it[1]], S.Static(it[2])))})"
        return index_text(static.value[0], item)

    def _print_reshape(self, expr, name="reshape"):  # a size read off x as x.shape[0]
        x, static = expr.args
        text = self._print(x)
        base = text if _is_atomic(x) else f"({text})"
        sizes = [f"{base}.shape[{s[1]}]" if isinstance(s, tuple) else repr(s) for s in static.value[0]]
        return f"{name}({text}, ({sizes[0]},))" if len(sizes) == 1 else f"{name}({text}, ({', '.join(sizes)}))"

    def _print_expand_to(self, expr):
        return self._print_reshape(expr, "broadcast_to")

    def _print_first_hit(self, expr):  # where torch.max(x, dim) sends the gradient
        hit, _, *axes = expr.args
        return f"first({self._print(hit)}, axis={_axes(axes)})"

    def _print_size_of(self, expr):  # x.shape[0], x.size, x.ndim
        x, static = expr.args
        text = self._print(x) if _is_atomic(x) else f"({self._print(x)})"
        kind, *rest = static.value
        return f"{text}.shape[{rest[0]}]" if kind == "shape" else f"{text}.{kind}"

    def _print_Static(self, expr):  # an op's static arguments, as its call takes them
        return ", ".join(repr(v) for v in expr.value)

    def _print_new_axes(self, expr):  # NumPy's names (the others are the heads' own)
        return f"expand_dims({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_permute(self, expr):
        return f"transpose({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Equality(self, expr):  # x == y rather than SymPy's Eq(x, y)
        return self._relation(expr, "==")

    def _print_Unequality(self, expr):
        return self._relation(expr, "!=")

    def _relation(self, expr, op: str) -> str:
        level = PRECEDENCE["Relational"]
        return f"{self.parenthesize(expr.lhs, level)} {op} {self.parenthesize(expr.rhs, level)}"

    def _print_reduction(self, expr):
        args = (self._print(expr.args[0]), *_reduction_options(expr))
        return f"{_REDUCTIONS[type(expr).__name__]}({', '.join(args)})"

    _print_reduce_sum = _print_reduce_mean = _print_reduce_logsumexp = _print_reduction
    _print_reduce_max = _print_reduce_min = _print_reduce_max_first = _print_reduce_min_first = _print_reduction
    _print_reduce_prod = _print_reduction

    def _print_Piecewise(self, expr):
        *pieces, (last, cond) = expr.args
        text = self._print(last)
        if cond != sp.true:  # undefined elsewhere
            text = f"where({self._print(cond)}, {text}, nan)"
        for value, condition in reversed(pieces):
            text = f"where({self._print(condition)}, {self._print(value)}, {text})"
        return text


class LatexFormulaPrinter(LatexPrinter):
    """The same formulas in LaTeX; ``@`` marks a matrix product, juxtaposition an elementwise one."""

    def parenthesize(self, item, level, is_neg=False, strict=False):
        if isinstance(item, S.matmul) and level >= PRECEDENCE["Mul"]:
            return rf"\left({self._print(item)}\right)"
        return super().parenthesize(item, level, is_neg=is_neg, strict=strict)

    def _needs_mul_brackets(self, expr, first=False, last=False) -> bool:
        return isinstance(expr, S.matmul) or super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_matmul(self, expr, exp=None):
        a, b = (self.parenthesize(x, PRECEDENCE["Mul"]) for x in expr.args)
        text = rf"{a} \mathbin{{@}} {b}"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_transpose(self, expr, exp=None):
        (x,) = expr.args
        base = self._print(x) if _is_atomic(x) else rf"\left({self._print(x)}\right)"
        text = rf"{base}^{{\mathsf{{T}}}}"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_reduction(self, expr, exp=None):
        options = "".join(rf", \text{{{o}}}" for o in _reduction_options(expr))
        name = _REDUCTIONS[type(expr).__name__]
        text = rf"\operatorname{{{name}}}\left({self._print(expr.args[0])}{options}\right)"
        return rf"{text}^{{{exp}}}" if exp else text

    _print_reduce_sum = _print_reduce_mean = _print_reduce_logsumexp = _print_reduction
    _print_reduce_max = _print_reduce_min = _print_reduce_max_first = _print_reduce_min_first = _print_reduction
    _print_reduce_prod = _print_reduction

    _print_matrix_transpose = _print_transpose

    def _print_floor_divide(self, expr, exp=None):
        a, b = (self._print(x) for x in expr.args)
        text = rf"\left\lfloor \frac{{{a}}}{{{b}}} \right\rfloor"
        return rf"{text}^{{{exp}}}" if exp else text

    def _print_remainder(self, expr, exp=None):
        a, b = (self.parenthesize(x, PRECEDENCE["Mul"], strict=True) for x in expr.args)
        text = rf"\left({a} \bmod {b}\right)"  # delimited: it binds as a product does
        return rf"{text}^{{{exp}}}" if exp else text

    def _print_sum_to(self, expr, exp=None):
        g, *shapes = expr.args
        args = [self._print(g), *(rf"\operatorname{{shape}}\left({self._print(s)}\right)" for s in shapes)]
        text = rf"\operatorname{{sum\_to}}\left({', '.join(args)}\right)"
        return rf"{text}^{{{exp}}}" if exp else text

    def _print_broadcast_to(self, expr, exp=None):
        g, like = expr.args
        shape = (self._print(like) if isinstance(like, sp.Tuple)
                 else rf"\operatorname{{shape}}\left({self._print(like)}\right)")
        text = rf"\operatorname{{broadcast\_to}}\left({self._print(g)}, {shape}\right)"
        return rf"{text}^{{{exp}}}" if exp else text

    def _print_expand_dims(self, expr, exp=None):
        g, *axes = expr.args
        text = rf"\operatorname{{expand\_dims}}\left({self._print(g)}, \text{{axis={_axes(axes)}}}\right)"
        return rf"{text}^{{{exp}}}" if exp else text

    # ---- ops that move elements: NumPy's words, the static arguments as code ---------------
    @staticmethod
    def _code(text: str) -> str:
        return r"\texttt{" + text.replace("_", r"\_") + "}"

    def _call(self, name: str, args, exp=None) -> str:
        text = rf"\operatorname{{{name}}}\left({', '.join(args)}\right)"
        return rf"{text}^{{{exp}}}" if exp else text

    def _print_getitem(self, expr, exp=None):
        x, static = expr.args
        base = self._print(x) if _is_atomic(x) else rf"\left({self._print(x)}\right)"
        text = rf"{base}\left[{self._code(index_text(static.value[0]))}\right]"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_index_grad(self, expr, exp=None):
        g, like, static = expr.args
        shape = rf"\operatorname{{shape}}\left({self._print(like)}\right)"
        return self._call("scatter", [self._print(g), shape, self._code(f"[{index_text(static.value[0])}]")], exp)

    def _print_stack(self, expr, exp=None, name="stack"):
        *arrays, static = expr.args
        joined = rf"\left({', '.join(self._print(a) for a in arrays)}\right)"
        return self._call(name, [joined, self._code(f"axis={static.value[0]}")], exp)

    def _print_concatenate(self, expr, exp=None):
        return self._print_stack(expr, exp, "concatenate")

    def _print_unstack(self, expr, exp=None):
        g, static = expr.args
        axis, i, _ = static.value
        return self._call("take", [self._print(g), self._code(str(i)), self._code(f"axis={axis}")], exp)

    def _print_concat_part(self, expr, exp=None):
        g, *arrays, static = expr.args
        axis, i = static.value
        return self._call("part", [self._print(g), self._print(arrays[i]), self._code(f"axis={axis}")], exp)

    def _print_joined(self, expr, exp=None):
        *arrays, static = expr.args
        joined = rf"\left({', '.join(self._print(a) for a in arrays)}\right)"
        return self._call(static.value[0].replace("_", r"\_"), [joined], exp)

    def _print_join_part(self, expr, exp=None):
        g, *arrays, static = expr.args
        how, i = static.value
        return self._call("part", [self._print(g), self._print(arrays[i]), self._code(how)], exp)

    def _print_take_along(self, expr, exp=None):
        x, indices, static = expr.args
        axis, leading = static.value
        if leading:
            return self._call("gather", [self._print(x), self._code(str(axis)), self._print(indices)], exp)
        return self._call("take\\_along\\_axis", [self._print(x), self._print(indices), self._code(f"axis={axis}")],
                          exp)

    def _print_shift(self, expr, exp=None):
        x, static = expr.args
        axis, step, fill = static.value
        return self._call("shift", [self._print(x), self._code(str(step)), self._code(f"axis={axis}"),
                                    self._code(f"fill={fill}")], exp)

    def _print_linrec(self, expr, exp=None):
        a, b, static = expr.args
        axis, reverse = static.value
        options = [self._code(f"axis={axis}")] + ([self._code("reverse=True")] if reverse else [])
        return self._call("linrec", [self._print(a), self._print(b), *options], exp)

    def _print_as_numbers(self, expr, exp=None):  # positions as numbers: the same values
        return self._print(expr.args[0]) if exp is None else f"{{{self._print(expr.args[0])}}}^{{{exp}}}"

    def _print_argmax(self, expr, exp=None):
        return self._arg_extreme("argmax", expr, exp)

    def _print_argmin(self, expr, exp=None):
        return self._arg_extreme("argmin", expr, exp)

    def _arg_extreme(self, name: str, expr, exp=None) -> str:
        x, static = expr.args
        axis, keepdims = static.value
        options = ([] if axis is None else [self._code(f"axis={axis}")]) + ([self._code("keepdims=True")] if keepdims else [])
        return self._call(name, [self._print(x), *options], exp)

    def _print_argsort(self, expr, exp=None):
        x, static = expr.args
        axis, descending, k = static.value
        options = ([self._code(f"axis={axis}")] + ([self._code("descending=True")] if descending else [])
                   + ([] if k is None else [self._code(f"k={k}")]))
        return self._call("argsort", [self._print(x), *options], exp)

    def _print_take_along_grad(self, expr, exp=None):
        g, x, indices, static = expr.args
        shape = rf"\operatorname{{shape}}\left({self._print(x)}\right)"
        axis = self._code(f"axis={static.value[0]}")
        return self._call("scatter\\_add", [self._print(g), shape, self._print(indices), axis], exp)

    def _print_gather(self, expr, exp=None):
        *arrays, static = expr.args
        base = self._print(arrays[0]) if _is_atomic(arrays[0]) else rf"\left({self._print(arrays[0])}\right)"
        text = rf"{base}\left[{self._run_time_index(arrays, static)}\right]"
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_gather_grad(self, expr, exp=None):
        g, *arrays, static = expr.args
        shape = rf"\operatorname{{shape}}\left({self._print(arrays[0])}\right)"
        return self._call("scatter", [self._print(g), shape, rf"\left[{self._run_time_index(arrays, static)}\right]"],
                          exp)

    def _run_time_index(self, arrays, static) -> str:
        """A gather's index: the arrays of positions in math, the other items as code."""
        parts = []
        for item in static.value[0]:
            if isinstance(item, tuple) and item[0] in ("at", "mask"):
                parts.append(self._print(arrays[item[1]]))
            elif isinstance(item, tuple) and item[0] == "arange":
                parts.append(self._call("arange", [self._print(S.size_of(arrays[item[1]], S.Static(item[2])))]))
            else:
                parts.append(self._code(index_text((item,))))
        return ", ".join(parts)

    def _print_reshape_like(self, expr, exp=None):
        g, like = expr.args
        shape = (self._print(like) if isinstance(like, sp.Tuple)
                 else rf"\operatorname{{shape}}\left({self._print(like)}\right)")
        return self._call("reshape", [self._print(g), shape], exp)

    def _print_first_hit(self, expr, exp=None):
        hit, _, *axes = expr.args
        return self._call("first", [self._print(hit), rf"\text{{axis={_axes(axes)}}}"], exp)

    def _print_size_of(self, expr, exp=None):  # x.shape[0] as shape(x)[0], x.size, x.ndim
        x, static = expr.args
        kind, *rest = static.value
        text = self._call("shape" if kind == "shape" else kind, [self._print(x)])
        text = rf"{text}_{{{rest[0]}}}" if kind == "shape" else text
        return rf"\left({text}\right)^{{{exp}}}" if exp else text

    def _print_Static(self, expr):
        return ", ".join(self._code(repr(v)) for v in expr.value)

    def _moved(self, expr, exp=None) -> str:
        name = {"new_axes": "expand_dims", "permute": "transpose", "expand_to": "broadcast_to"}.get(
            type(expr).__name__, type(expr).__name__)
        return self._call(name.replace("_", r"\_"), [self._print(a) for a in expr.args], exp)

    def _print_reshape(self, expr, exp=None):
        x, static = expr.args
        if not any(isinstance(s, tuple) for s in static.value[0]):
            return self._moved(expr, exp)
        sizes = [self._call("shape", [self._print(x)]) + f"_{{{s[1]}}}" if isinstance(s, tuple) else self._code(repr(s))
                 for s in static.value[0]]
        name = "broadcast\\_to" if type(expr).__name__ == "expand_to" else "reshape"
        return self._call(name, [self._print(x), rf"\left({', '.join(sizes)}\right)"], exp)

    _print_expand_to = _print_reshape

    _print_flatten = _print_squeeze = _print_new_axes = _print_roll = _print_cumsum = _print_diagonal = _moved
    _print_cumprod = _moved

    def _print_diagonal_grad(self, expr, exp=None):
        g, x, static = expr.args
        shape = rf"\operatorname{{shape}}\left({self._print(x)}\right)"
        return self._call("scatter\\_diagonal", [self._print(g), shape, self._print(static)], exp)
    _print_permute = _print_swapaxes = _print_moveaxis = _print_flip = _moved
    _print_tril = _print_triu = _print_tile = _print_repeat = _print_pad = _print_unpad = _moved
    _print_tri_grad = _print_split_part = _print_split_grad = _print_diag = _print_diag_grad = _moved

    def _print_filled(self, expr, exp=None):  # zeros, ones, full, eye, linspace: as the text printer writes them
        return self._code(TextPrinter().doprint(expr))

    _print_eye = _print_linspace = _print_arange = _print_filled

    def _print_tile_grad(self, expr, exp=None):  # g's blocks (copies) added up, of x's shape
        g, x, static = expr.args
        shape = rf"\operatorname{{shape}}\left({self._print(x)}\right)"
        name = "sum\\_blocks" if type(expr).__name__ == "tile_grad" else "sum\\_copies"
        return self._call(name, [self._print(g), shape, self._print(static)], exp)

    _print_repeat_grad = _print_tile_grad

    def _print_einsum(self, expr, exp=None):
        *operands, static = expr.args
        return self._call("einsum", [self._code(repr(static.value[0])), *(self._print(a) for a in operands)], exp)

    def _print_einsum_grad(self, expr, exp=None):
        g, *operands, static = expr.args
        subscripts, k = static.value
        return self._call("einsum\\_grad", [self._print(g), self._code(repr(subscripts)),
                                            *(self._print(a) for a in operands), self._code(f"k={k}")], exp)

    def _print_tensordot(self, expr, exp=None):
        a, b, static = expr.args
        (axes,) = static.value
        if axes == "inner":
            return self._call("inner", [self._print(a), self._print(b)], exp)
        return self._call("tensordot", [self._print(a), self._print(b), self._code(f"axes={axes!r}")], exp)

    def _print_tensordot_grad(self, expr, exp=None):
        g, a, b, static = expr.args
        axes, k = static.value
        name = "inner\\_grad" if axes == "inner" else "tensordot\\_grad"
        options = [] if axes == "inner" else [self._code(f"axes={axes!r}")]
        return self._call(name, [self._print(g), self._print(a), self._print(b), *options, self._code(f"k={k}")], exp)

    def _print_kron(self, expr, exp=None):
        return self._call("kron", [self._print(a) for a in expr.args], exp)

    def _print_kron_grad(self, expr, exp=None):
        g, a, b, static = expr.args
        return self._call("kron\\_grad", [self._print(g), self._print(a), self._print(b),
                                          self._code(f"k={static.value[0]}")], exp)

    def _print_sigmoid(self, expr, exp=None):
        text = rf"\sigma\left({self._print(expr.args[0])}\right)"
        return rf"{text}^{{{exp}}}" if exp else text


def text(expr) -> str:
    return TextPrinter().doprint(expr)


def latex(expr) -> str:
    return LatexFormulaPrinter().doprint(expr)


def name_latex(name: str) -> str:
    """A variable name in LaTeX: ``W1`` -> ``W_{1}``, as SymPy writes symbols."""
    return LatexPrinter().doprint(sp.Symbol(name))
