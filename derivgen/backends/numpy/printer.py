"""Prints SymPy templates as NumPy code.

One ``_print_<Type>`` method per expression type; function spellings are data.
Numbers are printed as Python literals (or ``math.`` constants) so they stay
"weak" under NumPy's promotion rules and float32 inputs give float32 results.
Symbols print as the text the emitter assigned them: a variable name, or the
inlined expression of a single-use value, parenthesised by its precedence.
"""

from __future__ import annotations

import re
from typing import ClassVar

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from ... import symbolic as S

# Spellings per SymPy head, from the op registry (derivgen/ops): NumPy functions for array
# operands, math functions for constant ones, run-time helpers, and the elementwise functions
# of one array whose result has the operand's dtype (written over the operand where that is a
# new array nothing else holds).
from ...ops import AXES, HEADS, HELPERS, MATH, NUMPY, UNARY_UFUNCS
from ...ops.constants import arange_arguments
from ...ops.indexing import index_text
from ..code import enclosed

__all__ = ["HELPERS", "MATH", "NUMPY", "UNARY_UFUNCS", "NumPyPrinter", "floats"]

# Keyed by SymPy class name (sp.pi is of class Pi, sp.E of class Exp1).
NUMBER_SYMBOLS = {"Pi": "pi", "Exp1": "e"}


def _is_name(spelling: str) -> bool:
    """Whether a registry spelling is a function's name (else a format of the operands)."""
    return spelling.isidentifier()


_CALL = re.compile(r"[A-Za-z_][\w.]*\(.*\)\Z", re.DOTALL)  # a call (of NumPy or a helper), not Python's arithmetic


def _one_number(head: str) -> bool:
    """Whether a call of this head on single numbers is a single number (not a tuple of
    results, a shape or an integer read off one)."""
    spec = HEADS.get(head)
    if head == "part":
        return True
    # not a size, a shape, a condition, an op that moves elements or a helper of several results
    return (spec is not None and spec.results == 1 and not spec.sizes and not spec.zero_d
            and spec.shape_operands is None and head not in ("shape_of", "shaped_condition", "live", "first_hit"))


class NumPyPrinter(StrPrinter):
    """Prints one template; ``names`` maps each free symbol to (text, precedence)."""

    def __init__(self, names: dict, aliases: dict, scalars=frozenset(), fresh=frozenset(), arrays=frozenset(),
                 plain=frozenset()):
        super().__init__({"order": "none"})
        self.names = names
        self.aliases = aliases  # "np", "math" and helper names -> collision-free spellings
        self.scalars = scalars  # symbols known to stand for single numbers, not arrays
        self.fresh = fresh  # symbols standing for new arrays that nothing else holds
        self.arrays = arrays  # symbols standing for NumPy arrays (the inputs, converted)
        self.plain = plain  # symbols standing for Python numbers computed at run time (len(x))
        self._as_float = False  # printing a call of plain numbers that is made a float
        self.used: set[str] = set()  # which of the aliases the printed code needs

    def _print(self, expr, **kwargs):
        if (self.plain and not self._as_float and isinstance(expr, (sp.Function, sp.Pow)) and expr.free_symbols
                and expr.free_symbols <= self.plain and (isinstance(expr, sp.Pow) or _one_number(type(expr).__name__))):
            # NumPy's function of Python numbers (len(x)) is a float64 NumPy scalar, which
            # would make the arrays it meets float64: as a Python float it takes their dtype.
            self._as_float = True
            try:
                text = super()._print(expr, **kwargs)
            finally:
                self._as_float = False
            # NumPy's functions and the helpers (of arrays, NumPy scalars); not the Python numbers
            # a mean's count is made of (_per_element)
            head = type(expr).__name__
            numpy_call = (text.startswith((self.aliases["np"] + ".", self.aliases["special"] + ".",
                                           self.aliases["in_place"] + "("))
                          or head in HELPERS or head == "part")
            if numpy_call and _CALL.match(text):
                return f"{self.alias('float')}({text})"
            if text.startswith("1/" + self.aliases["np"] + ".") and _CALL.match(text[2:]):
                # n**-0.5 printed 1/np.sqrt(n): the call made a float (found by fuzzing, seed 20261304)
                return f"1/{self.alias('float')}({text[2:]})"
            # Python's arithmetic (n**2): its operands are made floats where they are calls
        return super()._print(expr, **kwargs)

    def _print_Add(self, expr, order=None):
        # NumPy evaluates left to right and writes each sum into the running temporary, so
        # the term that needs the most new arrays goes first (the Sethi-Ullman order): the
        # others are computed while only the running sum is held. It also keeps a - b*c
        # from needing an array for the difference (NumPy writes a sum into a temporary on
        # either side, a difference only into the left one): -b*c + a.
        terms = self._as_ordered_terms(expr, order=None)
        negative = [t.could_extract_minus_sign() for t in terms]
        # A negative term after the first is a subtraction of its positive part.
        needs = [self._need(-t if neg else t) for t, neg in zip(terms, negative)]
        first = max(range(len(terms)), key=lambda i: (self._need(terms[i]), -i))
        moved = [first] + [i for i in range(len(terms)) if i != first]
        moved_needs = [self._need(terms[first])] + [needs[i] for i in moved[1:]]
        if _peak(moved_needs, [negative[i] for i in moved]) < _peak([self._need(terms[0])] + needs[1:], negative):
            terms = [terms[i] for i in moved]
        return self._sum(terms)

    def _sum(self, terms) -> str:
        """The terms added left to right. An operand that is itself a sum, written in by the
        emitter, keeps its parentheses after the first term: y + (w - a) is not y + w - a,
        which loses y where w = a = 1e24 (floating-point addition is not associative)."""
        parts = []
        for i, term in enumerate(terms):
            inlined_sum = isinstance(term, sp.Symbol) and term in self.names and self.names[term][1] <= PRECEDENCE["Add"]
            if inlined_sum:
                text = self.names[term][0]
                parts.append(text if i == 0 else f"+ ({text})")
                continue
            text = self._print(term)
            negative = text.startswith("-") and not term.is_Add
            if negative:
                text = text[1:]
            if precedence(term) < PRECEDENCE["Add"] or term.is_Add:
                text = f"({text})"
            parts.append(("-" if negative else "") + text if i == 0 else f"{'-' if negative else '+'} {text}")
        return " ".join(parts)

    def _need(self, expr) -> int:
        """How many new arrays evaluating ``expr`` holds at once, at most (names and numbers
        none; an operand written in by the emitter at least one)."""
        if expr.is_number:
            return 0
        if isinstance(expr, sp.Symbol):
            return 0 if self.names.get(expr, ("", PRECEDENCE["Atom"]))[1] >= PRECEDENCE["Atom"] else 1
        if isinstance(expr, (sp.Add, sp.Mul)):
            # Operands in printed order; after the first operation, its result is held.
            args = self._as_ordered_terms(expr, order=None) if isinstance(expr, sp.Add) else expr.args
            return _peak([self._need(a) for a in args])
        return max([1] + [self._need(a) for a in expr.args])  # a function or power: a new array

    def _print_Mul(self, expr):
        if expr.could_extract_minus_sign():
            # SymPy prints the factors of a negative product at the precedence of a sum,
            # which leaves an operand printed as a product unparenthesised (-2*x*a @ b reads
            # as (-2*x*a) @ b): the sign goes in front of the positive product instead.
            positive = -expr
            if isinstance(positive, sp.Mul) and not positive.could_extract_minus_sign():
                return "-" + self._print_Mul(positive)
            if not isinstance(positive, sp.Mul):
                return "-" + self.parenthesize(positive, PRECEDENCE["Mul"], strict=False)
        # Factors that are single numbers are multiplied together first: NumPy evaluates
        # left to right, and each product with an array is a pass over it.
        if self.scalars:
            small = [a for a in expr.args if a.is_number or (a.free_symbols and a.free_symbols <= self.scalars)]
            large = [a for a in expr.args if a not in small]
            if len(small) >= 2 and large and any(not a.is_number for a in small):
                first = self.parenthesize(sp.Mul(*small), PRECEDENCE["Atom"], strict=True)
                rest = sp.Mul(*large)
                # A product prints its factors parenthesised as it needs; a single factor
                # printed as a product or matmul must be parenthesised after "*".
                rest = self._print(rest) if isinstance(rest, sp.Mul) else self.parenthesize(
                    rest, PRECEDENCE["Mul"], strict=False)
                return f"{first}*{rest}"
        return super()._print_Mul(expr)

    def _is_fresh(self, expr) -> bool:
        """Whether ``expr`` evaluates to a new array nothing else holds: arithmetic written
        here, or an operand the emitter says is one."""
        return expr in self.fresh or isinstance(expr, (sp.Add, sp.Mul, sp.Pow))

    def alias(self, key: str) -> str:
        self.used.add(key)
        return self.aliases[key]

    def np(self, fn: str) -> str:
        return f"{self.alias('np')}.{fn}"

    def math(self, fn: str) -> str:
        return f"{self.alias('math')}.{fn}"

    def parenthesize(self, item, level, strict=False):
        if isinstance(item, sp.Symbol) and item in self.names:
            text, prec = self.names[item]
            if (prec < level or (not strict and prec <= level)) and not enclosed(text):
                return f"({text})"
            return text
        if _per_element(item):
            return self._print(item)  # a call
        return super().parenthesize(item, level, strict)

    # ---- atoms ---------------------------------------------------------------------
    def _print_Symbol(self, expr):
        return self.names[expr][0]

    def _print_Integer(self, expr):
        return str(expr.p)

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Rational(self, expr):
        return f"{expr.p}/{expr.q}"

    def _print_NumberSymbol(self, expr):
        return self.math(NUMBER_SYMBOLS[type(expr).__name__])

    _print_Pi = _print_NumberSymbol
    _print_Exp1 = _print_NumberSymbol

    def _print_Infinity(self, expr):
        return self.math("inf")

    def _print_NegativeInfinity(self, expr):
        return "-" + self.math("inf")

    def _print_NaN(self, expr):
        return self.math("nan")

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    # ---- arithmetic ------------------------------------------------------------------
    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        sqrt = self.math("sqrt") if base.is_number else self.np("sqrt")
        if exp == sp.S.Half:
            return f"{sqrt}({self._print(base)})"
        if exp == -sp.S.Half:
            return f"1/{sqrt}({self._print(base)})"
        if _per_element(expr):
            # 1/n of a mean over every element: inf, not ZeroDivisionError, for no elements.
            return f"{self.alias('per_element')}({self._print(base.args[0])})"
        if exp.is_number and exp.is_negative:
            denominator = base if exp == -1 else sp.Pow(base, -exp, evaluate=False)
            # 1/(a*b), 1/(a @ b): / groups left to right, so a product is parenthesised.
            return "1/" + self.parenthesize(denominator, PRECEDENCE["Mul"], strict=False)
        prec = PRECEDENCE["Pow"]
        return f"{self.parenthesize(base, prec, strict=False)}**{self.parenthesize(exp, prec, strict=False)}"

    def _print_Function(self, expr):
        head = type(expr).__name__
        args = ", ".join(self._print(a) for a in expr.args)
        if expr.is_number and head in MATH:
            return self._spelled(MATH[head], expr, "math")
        spec = HEADS.get(head)
        if spec is not None and spec.name in AXES:  # a reduction: its operand, then axes and keepdims
            if head in HELPERS:
                return self._reduction(self.alias(HELPERS[head]), expr)
            if head in NUMPY:
                return self._reduction(self.np(NUMPY[head]), expr)
        if head == "sigmoid" and self._is_fresh(expr.args[0]):
            return f"{self.alias('sigmoid')}({args}, in_place=True)"
        if head in HELPERS:
            return f"{self.alias(HELPERS[head])}({args})"
        if head in UNARY_UFUNCS and self._is_fresh(expr.args[0]) and _is_name(NUMPY[head]):
            # Its operand is a new array used only here: the result is written over it.
            return f"{self.alias('in_place')}({self.np(NUMPY[head])}, {args})"
        if head == "reshape" and any(isinstance(s, tuple) for s in expr.args[1].value[0]):
            return self._print_reshape(expr)
        if head in NUMPY:
            return self._spelled(NUMPY[head], expr, "np")
        return getattr(self, f"_print_{head}")(expr)

    def _spelled(self, spelling: str, expr, module: str) -> str:
        """A registry spelling applied to the printed operands: a function of ``module``
        (``"arctan2"``), or a format of the operands (``"{np}.power({0}, 3)"``), each of which
        is parenthesised unless it is a whole argument of a call there."""
        if _is_name(spelling):
            args = [text for text in (self._print(a) for a in expr.args) if text]  # an empty Static
            return f"{self.alias(module)}.{spelling}({', '.join(args)})"
        whole = {int(i) for i in re.findall(r"[(,]\s*\{(\d+)\}\s*(?=[,)])", spelling)}
        operands = [self._print(a) if i in whole else self.parenthesize(a, PRECEDENCE["Pow"] + 1, strict=True)
                    for i, a in enumerate(expr.args)]
        modules = {m: self.alias(m) for m in ("np", "math", "special") if "{" + m + "}" in spelling}
        return spelling.format(*operands, **modules)

    def _print_nan_like(self, expr):
        return f"{self.np('full_like')}({self._print(expr.args[0])}, {self.math('nan')})"

    def _print_where(self, expr):
        cond, a, b = expr.args
        # Selecting between a value and 0 is a product with the mask: np.where costs ten
        # times more on an unpredictable mask (the helper falls back to it for inf/nan).
        if b.is_zero and not a.is_number:
            # A new array used only here is multiplied by the mask in place.
            in_place = ", in_place=True" if self._is_fresh(a) else ""
            return f"{self.alias('masked')}({self._print(a)}, {self._print(cond)}{in_place})"
        if a.is_zero and not b.is_number:
            return f"{self.alias('masked')}({self._print(b)}, {self.np('logical_not')}({self._print(cond)}))"
        # Integer branches as floats: np.where(c, 1, 0) is an int64 array.
        return f"{self.np('where')}({', '.join(self._print(x) for x in floats(expr.args))})"

    def _print_relu(self, expr):
        return f"{self.np('maximum')}({self._print(expr.args[0])}, 0)"

    def _print_shaped_condition(self, expr):
        value, *operands = expr.args
        shape = self._print(S.shape_of(*operands))
        return f"{self.np('full')}({shape}, {bool(value)})"

    def _print_clip(self, expr):
        x, lo, hi = (self._print(a) for a in expr.args)
        if expr.args[1] == -sp.oo:
            return f"{self.np('minimum')}({x}, {hi})"
        if expr.args[2] == sp.oo:
            return f"{self.np('maximum')}({x}, {lo})"
        return f"{self.np('clip')}({x}, {lo}, {hi})"

    def _reduction(self, fn: str, expr) -> str:
        x, keepdims, *axes = expr.args
        text = f"{fn}({self._print(x)}"
        if axes:
            text += f", axis={self._axes(axes)}"
        if keepdims:
            text += ", keepdims=True"
        return text + ")"

    @staticmethod
    def _axes(axes) -> str:
        return str(int(axes[0])) if len(axes) == 1 else "(" + ", ".join(str(int(a)) for a in axes) + ")"

    def _print_lse_refine(self, expr):
        value, x, keepdims, *axes = expr.args
        text = f"{self.alias('lse_refine')}({self._print(value)}, {self._print(x)}"
        if axes:
            text += f", axis={self._axes(axes)}"
        if keepdims:
            text += ", keepdims=True"
        return text + ")"

    def _print_part(self, expr):
        parts, index = expr.args
        return f"{self.parenthesize(parts, PRECEDENCE['Func'], strict=True)}[{int(index)}]"

    def _print_matmul(self, expr):
        # @ binds like * and groups left to right: a right operand of that precedence
        # needs parentheses (a @ (b * c)), a left one does not.
        prec = PRECEDENCE["Mul"]
        a, b = expr.args
        return f"{self.parenthesize(a, prec, strict=True)} @ {self.parenthesize(b, prec, strict=False)}"

    def _print_transpose(self, expr):
        return f"{self.parenthesize(expr.args[0], PRECEDENCE['Atom'], strict=True)}.T"

    # ---- contractions (derivgen/ops/contractions.py): their last operand is Static ----------
    def _print_einsum(self, expr):
        *operands, static = expr.args
        return f"{self.np('einsum')}({static.value[0]!r}, {', '.join(self._print(a) for a in operands)})"

    def _print_einsum_grad(self, expr):
        g, *operands, static = expr.args
        subscripts, k = static.value
        texts = ", ".join(self._print(a) for a in operands)
        return f"{self.alias('einsum_grad')}({self._print(g)}, {subscripts!r}, {k}, {texts})"

    def _print_tensordot(self, expr):
        a, b, static = expr.args
        (axes,) = static.value
        if axes == "inner":
            return f"{self.np('inner')}({self._print(a)}, {self._print(b)})"
        return f"{self.np('tensordot')}({self._print(a)}, {self._print(b)}, axes={axes!r})"

    def _print_tensordot_grad(self, expr):
        g, a, b, static = expr.args
        axes, k = static.value
        return f"{self.alias('tensordot_grad')}({self._print(g)}, {self._print(a)}, {self._print(b)}, {axes!r}, {k})"

    def _print_kron_grad(self, expr):
        g, a, b, static = expr.args
        return f"{self.alias('kron_grad')}({self._print(g)}, {self._print(a)}, {self._print(b)}, {static.value[0]})"

    # ---- ops that move elements: their last operand is Static (derivgen/ops/layout.py) ----
    def _print_getitem(self, expr):
        x, static = expr.args
        return f"{self.parenthesize(x, PRECEDENCE['Atom'], strict=True)}[{index_text(static.value[0])}]"

    def _print_index_grad(self, expr):
        g, x, static = expr.args
        index = f"{self.np('s_')}[{index_text(static.value[0])}]"
        return f"{self.alias('index_grad')}({self._print(g)}, {self._print(x)}, {index})"

    def _print_gather(self, expr):
        # An index reading arrays known when the module runs (x[np.arange(n), t]): as written.
        *arrays, static = expr.args
        return f"{self.parenthesize(arrays[0], PRECEDENCE['Atom'], strict=True)}[{self._run_time_index(arrays, static)}]"

    def _print_gather_grad(self, expr):
        g, *arrays, static = expr.args
        index = f"{self.np('s_')}[{self._run_time_index(arrays, static)}]"
        return f"{self.alias('index_grad')}({self._print(g)}, {self._print(arrays[0])}, {index})"

    def _print_stack(self, expr, fn="stack"):  # np.stack((a, b), 0), np.concatenate((a, b), 1)
        *arrays, static = expr.args
        texts = [self._print(a) for a in arrays]
        joined = f"({texts[0]},)" if len(texts) == 1 else f"({', '.join(texts)})"
        return f"{self.np(fn)}({joined}, {static.value[0]})"

    def _print_joined(self, expr):  # np.hstack((a, b)) and its kin
        *arrays, static = expr.args
        texts = [self._print(a) for a in arrays]
        joined = f"({texts[0]},)" if len(texts) == 1 else f"({', '.join(texts)})"
        return f"{self.np(static.value[0])}({joined})"

    def _print_concatenate(self, expr):
        return self._print_stack(expr, "concatenate")

    def _print_unstack(self, expr):  # part i of a stack's adjoint
        g, static = expr.args
        axis, i, _ = static.value
        return f"{self.np('take')}({self._print(g)}, {i}, {axis})"

    def _print_join_part(self, expr):
        g, *arrays, static = expr.args
        how, i = static.value
        parts = ", ".join(self._print(a) for a in arrays)
        return f"{self.alias('join_part')}({self._print(g)}, {how!r}, {i}, {parts})"

    def _print_concat_part(self, expr):
        g, *arrays, static = expr.args
        axis, i = static.value
        parts = ", ".join(self._print(a) for a in arrays)
        return f"{self.alias('concat_part')}({self._print(g)}, {axis}, {i}, {parts})"

    # ---- arrays of constants (derivgen/ops/constants.py): sizes may be read off an operand ----
    def _constant_sizes(self, expr, sizes) -> list:
        return [self._size_text(expr.args[0], s[1]) if isinstance(s, tuple) else repr(s) for s in sizes]

    def _print_filled(self, expr):
        shape, value = expr.args[-1].value
        if shape == "like":
            text = f"{self.np('shape')}({self._print(expr.args[0])})"
        else:
            sizes = self._constant_sizes(expr, shape)
            text = f"({sizes[0]},)" if len(sizes) == 1 else f"({', '.join(sizes)})"
        if value == 0:
            return f"{self.np('zeros')}({text})"
        if value == 1:
            return f"{self.np('ones')}({text})"
        return f"{self.np('full')}({text}, {value!r})"

    def _print_eye(self, expr):
        n, m, k = expr.args[-1].value
        sizes = self._constant_sizes(expr, (n,) if m is None else (n, m))
        return f"{self.np('eye')}({', '.join(sizes)}{f', k={k}' if k else ''})"

    def _print_linspace(self, expr):
        start, stop, num, endpoint = expr.args[-1].value
        (count,) = self._constant_sizes(expr, (num,))
        return f"{self.np('linspace')}({start!r}, {stop!r}, {count}{'' if endpoint else ', endpoint=False'})"

    def _print_arange(self, expr):
        # float64 numbers whatever the arguments' types (np.arange(5) is int64): as np.linspace's
        start, stop, step = expr.args[-1].value
        (stop,) = self._constant_sizes(expr, (stop,))
        args = arange_arguments(start, stop, step)
        return f"{self.np('arange')}({', '.join(args)}, dtype={self.np('float64')})"

    def _print_split_part(self, expr):  # np.split(x, 3, 1)[0]; PyTorch's splits by a helper
        x, static = expr.args
        kind, arg, i, axis = static.value
        if kind in ("split", "array_split"):
            cut = list(arg) if isinstance(arg, tuple) else arg
            return f"{self.np(kind)}({self._print(x)}, {cut!r}, {axis})[{i}]"
        return f"{self.alias('split_part')}({self._print(x)}, {kind!r}, {arg!r}, {i}, {axis})"

    def _print_pad(self, expr):  # np.pad(x, widths, constant_values=v); F.pad's pairs from the last axis
        x, static = expr.args
        widths, value, last = static.value
        fill = "" if value == 0 else f", {value!r}" if last else f", constant_values={value!r}"
        if last:
            return f"{self.alias('pad_last')}({self._print(x)}, {widths!r}{fill})"
        return f"{self.np('pad')}({self._print(x)}, {widths!r}{fill})"

    def _print_take_along(self, expr):
        # np.take_along_axis; PyTorch's gather reads the leading part of the other axes
        x, indices, static = expr.args
        axis, leading = static.value
        fn = self.alias("gather_leading") if leading else self.np("take_along_axis")
        return f"{fn}({self._print(x)}, {self._print(indices)}, {axis})"

    def _print_take_along_grad(self, expr):
        g, x, indices, static = expr.args
        axis, leading = static.value
        return (f"{self.alias('take_along_grad')}({self._print(g)}, {self._print(x)}, {self._print(indices)}, "
                f"{axis}{', leading=True' if leading else ''})")

    def _run_time_index(self, arrays, static) -> str:
        def item(it):
            if it[0] in ("at", "mask"):
                return self._print(arrays[it[1]])
            return f"{self.np('arange')}({self._size_text(arrays[it[1]], it[2])})"
        return index_text(static.value[0], item)

    def _print_reshape(self, expr, fn="reshape"):
        # A shape with sizes read off the operand (x.reshape(x.shape[0], -1)): each is read
        # when the module runs, as the source does.
        x, static = expr.args
        sizes = [self._size_text(x, ("shape", *s[1:])) if isinstance(s, tuple) else repr(s) for s in static.value[0]]
        shape = f"({sizes[0]},)" if len(sizes) == 1 else f"({', '.join(sizes)})"
        return f"{self.np(fn)}({self._print(x)}, {shape})"

    def _print_expand_to(self, expr):  # a size -1 of x.expand(...) is read off x, as reshape's are
        return self._print_reshape(expr, "broadcast_to")

    def _print_size_of(self, expr):
        # An integer read off a shape (derivgen/ops/sizes.py), as a Python float: it takes
        # the dtype of the arrays it meets, as NumPy's int does, and helpers that compute in
        # their operand's dtype (erf, logsumexp) compute it as a float.
        x, static = expr.args
        return f"{self.alias('float')}({self._size_text(x, static.value)})"

    def _size_text(self, x, what: tuple) -> str:
        """The int ``what`` (ops/sizes.py) of ``x``: x.shape[axis], x.size or x.ndim."""
        kind, *rest = what
        operand = self._print(x)
        if kind != "shape":
            return f"{self.np(kind)}({operand})"
        axis, rank = rest
        if rank is None:
            return f"{self.np('shape')}({operand})[{axis}]"
        return f"{self.alias('sizes')}({operand}, {rank})[{axis}]"

    def _print_argmax(self, expr):
        return self._arg_extreme("argmax", expr)

    def _print_argmin(self, expr):
        return self._arg_extreme("argmin", expr)

    def _arg_extreme(self, name: str, expr) -> str:  # np.argmax(x, axis=1, keepdims=True)
        x, static = expr.args
        axis, keepdims = static.value
        options = ("" if axis is None else f", axis={axis}") + (", keepdims=True" if keepdims else "")
        return f"{self.np(name)}({self._print(x)}{options})"

    def _print_check(self, expr):
        # An assert of the source (derivgen/ops/sizes.py): the comparison, then the message.
        static, left, right = expr.args
        relation, message, error = static.value
        raised = "" if error == "AssertionError" else f", {error}"  # ValueError, TypeError: Python's or NumPy's
        return f"{self.alias('check')}({self._side(left)} {relation} {self._side(right)}, {message!r}{raised})"

    def _side(self, side) -> str:
        """One side of a checked comparison: a size, a number, a shape or a tuple of sizes."""
        if isinstance(side, sp.Tuple):
            items = [self._side(item) for item in side.args]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(side, (S.shape_of, S.shape_part)):
            return self._print(side)
        if isinstance(side, S.size_of):  # the integer itself: no float needed in a comparison
            return self._size_text(*side.args[0:1], side.args[1].value)
        return self.parenthesize(side, PRECEDENCE["Relational"] + 1)

    def _print_shape_part(self, expr):  # x.shape[1:]
        x, static = expr.args
        start, stop, step = static.value
        text = f"{self.np('shape')}({self._print(x)})"
        bounds = ":".join("" if b is None else str(b) for b in (start, stop))
        return f"{text}[{bounds}{'' if step is None else f':{step}'}]"

    def _print_Static(self, expr):
        # The static arguments of an op that moves elements, as the last arguments of its
        # NumPy call; an absent axis (None, the last argument) is left out.
        values = list(expr.value)
        while values and values[-1] is None:
            values.pop()
        return ", ".join(repr(v) for v in values)

    def _print_flatten(self, expr):
        if expr.args[1].value == (0, -1):
            return f"{self.np('ravel')}({self._print(expr.args[0])})"
        return f"{self.alias('flatten')}({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_expand_reduced(self, expr):
        # The reduced axes come back as size 1; broadcasting in the terms that use the
        # result stretches them, with no full-size copy.
        g, keepdims, *axes = expr.args
        if axes and not keepdims:
            return f"{self.np('expand_dims')}({self._print(g)}, {self._axes(axes)})"
        # g itself, standing where a call would: parenthesised unless it is an atom.
        return self.parenthesize(g, PRECEDENCE["Atom"], strict=True)

    def _print_unbroadcast(self, expr):
        *args, owned = expr.args
        text = ", ".join(self._print(a) for a in args)
        return f"{self.alias('unbroadcast')}({text}{', owned=True' if owned else ''})"

    def _print_unbroadcast_product(self, expr):
        *args, owned = expr.args
        text = ", ".join(self._print(a) for a in args)
        return f"{self.alias('unbroadcast_product')}({text}{', owned=True' if owned else ''})"

    def _print_accumulate(self, expr):
        total, part = (self._print(a) for a in expr.args)
        return f"{self.alias('blocks')}.total({total}, {part})"

    def _print_shape_of(self, expr):
        # An input is an array by now: its .shape is np.shape's answer, without the dispatch.
        shapes = [f"{self._print(a)}.shape" if a in self.arrays else f"{self.np('shape')}({self._print(a)})"
                  for a in expr.args]
        if len(shapes) == 1:
            return shapes[0]
        if shapes and len(shapes) <= 32:  # np.broadcast takes at most 32 arrays in older NumPy
            # The broadcast shape of the values themselves: a C call, np.broadcast_shapes is Python.
            return f"{self.np('broadcast')}({', '.join(self._print(a) for a in expr.args)}).shape"
        return f"{self.np('broadcast_shapes')}({', '.join(shapes)})" if shapes else "()"

    def _print_size_ratio(self, expr):
        # The count a mean divides by: size of its operand over size of its value.
        if expr.args[1] == sp.Tuple():  # a mean over every element
            return f"{self.math('prod')}({self._print(expr.args[0])})"
        inner, outer = (self._print(a) for a in expr.args)
        return f"{self.alias('reduced_count')}({inner}, {outer})"

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        prec = PRECEDENCE["Relational"]
        return f"{self.parenthesize(expr.lhs, prec)} {op} {self.parenthesize(expr.rhs, prec)}"

    # Connectives of conditions: elementwise operators on arrays (Python's words on scalars).
    CONNECTIVES: ClassVar[dict] = {"And": " & ", "Or": " | "}

    def _print_And(self, expr):
        return self.CONNECTIVES["And"].join(f"({self._print(a)})" for a in expr.args)

    def _print_Or(self, expr):
        return self.CONNECTIVES["Or"].join(f"({self._print(a)})" for a in expr.args)

    def _print_Not(self, expr):
        # np.logical_not, not ~: a condition of Python numbers (len(x) > 2, or a mean of such
        # numbers) is a Python bool, whose ~ is -2, which is true
        return f"{self.np('logical_not')}({self._print(expr.args[0])})"


def floats(args) -> list:
    """Integer constants as floats: a result selected from them is a float, as it would be
    from the arrays they stand beside (np.where(c, 1, 0) is an int64 array)."""
    return [sp.Float(a) if isinstance(a, sp.Integer) else a for a in args]


def _per_element(expr) -> bool:
    """Whether ``expr`` is 1/n of a mean over every element (printed as a helper call)."""
    return (isinstance(expr, sp.Pow) and expr.exp == -1 and isinstance(expr.base, S.size_ratio)
            and expr.base.args[1] == sp.Tuple())


def _peak(needs: list[int], negative=None) -> int:
    """New arrays held at once evaluating operands with these needs left to right: the
    first is held (if it made one) while the next is evaluated, and after that one result,
    which NumPy writes each further operation into; a name minus a new array is the one
    case it cannot (a difference goes into its left operand only)."""
    negative = negative or [False] * len(needs)
    peak, held = needs[0], int(needs[0] > 0)
    for n, neg in zip(needs[1:], negative[1:]):
        peak = max(peak, held + n + int(neg and n > 0 and not held))
        held = 1
    return max(1, peak)


def precedence_of(template) -> int:
    """The precedence an inlined copy of ``template`` must be parenthesised by."""
    if isinstance(template, S.matmul):
        return PRECEDENCE["Mul"]
    if isinstance(template, sp.core.relational.Relational):
        return PRECEDENCE["Relational"]
    if isinstance(template, (sp.And, sp.Or)):
        return PRECEDENCE["Atom"]  # printed fully parenthesised
    if isinstance(template, sp.Rational) and not isinstance(template, sp.Integer):
        return PRECEDENCE["Mul"]
    if isinstance(template, sp.Number) and template.is_negative:
        return PRECEDENCE["Add"]
    if isinstance(template, sp.Pow) and template.exp.is_number and template.exp.is_negative:
        return PRECEDENCE["Mul"]
    return precedence(template)
