"""Building SSA values: operands, constants folded at compile time, conditions."""

from __future__ import annotations

import math
import operator

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder
from ..ops.layout import MOVES
from .language import MaxResult, Poison, Slices, is_const, short, to_float
from .positions import TAKES
from .sizes import SHAPE_HINT, Shape

# Kinds of parameters (derivgen.ops.Param) written into an op's Static operand.
STATIC_KINDS = ("index", "shape", "sizes", "shifts", "count", "counts", "pad", "split", "int", "axis1", "axes", "order",
                "subscripts", "contraction")


SLICES_HINT = ("their number is known only when the module runs: unpack them into names "
               "(a, b = x.unbind(0)) or index them (x.unbind(0)[1])")

class Values:
    """Values added to the graph: an op over its operands, constants folded, conditions."""

    def is_cond(self, item) -> bool:
        if isinstance(item, int):
            return self.graph[item].op == "cond"
        return isinstance(item, sp.logic.boolalg.BooleanAtom)

    def plain(self, item) -> bool:
        """Whether ``item`` is a value no input reaches but through its shape: a Python number
        when the module runs (len(x), 1 / x.shape[0]), as a constant is one now; an array of
        constants (np.eye(n), np.array([1.0, 2.0])) has a shape of its own, and is none."""
        return isinstance(item, int) and not self.graph.takes_input(item, self.takes) and not self.graph[item].hi

    def require_tensor(self, item, node):
        if isinstance(item, MaxResult):
            raise self.error(node, f"{item.what.replace(' or ', ' and ')} return{'' if ' or ' in item.what else 's'} "
                                   "(values, indices), not an array", "take the values: .values or [0]")
        if isinstance(item, Shape):
            raise self.error(node, "a shape is a tuple of sizes, not an array", SHAPE_HINT)
        if isinstance(item, Slices):
            raise self.error(node, f"{item.what} is a tuple of arrays, not an array", SLICES_HINT)
        if isinstance(item, tuple):
            raise self.error(node, f"a tuple of {len(item)} values is not an array",
                             "unpack it (a, b = ...) or index it (t[0])")
        if self.is_cond(item):
            raise self.error(node, "a condition can only be the first argument of where()",
                             "write where(condition, a, b)")

    def poisoned(self, items):
        """The Poison among constant ``items`` (the result is one too), or None; a Poison
        combined with a value is used, so its error is raised (with a size, a number known when
        the module runs, it is still a number with no value)."""
        poison = next((i for i in items if isinstance(i, Poison)), None)
        if poison is not None and any(isinstance(i, int) and not self.plain(i) for i in items):
            raise poison.error  # (with a size, len(x), it stays a number that is no number)
        return poison

    def as_value(self, item, node, what) -> int:
        if isinstance(item, Poison):
            raise item.error
        if isinstance(item, Shape):
            raise self.error(node, f"{what} returns a shape, a tuple of sizes, not an array", SHAPE_HINT)
        if isinstance(item, Slices):
            raise self.error(node, f"{what} returns {item.what}, a tuple of arrays, not an array", SLICES_HINT)
        if isinstance(item, MaxResult):
            raise self.error(node, f"{what} returns (values, indices) of {item.what}, not an array",
                             "take the values: .values or [0]")
        if isinstance(item, tuple):
            raise self.error(node, f"{what} returns a tuple of {len(item)} values, not an array",
                             "derivgen differentiates one output: return a single array")
        if self.is_cond(item):
            raise self.error(node, f"{what} returns a condition, not a number")
        if isinstance(item, int):
            return item
        if isinstance(item, sp.Integer):  # an array of it is a float array, as np.sum(2.0) would be
            item = sp.Float(int(item))
        return self.graph.add("const", item, ())

    def operands(self, items, numbers: bool = True):
        """Placeholders for the values among ``items`` and the values themselves; positions
        the module computes (np.argmax) are read as floating-point numbers unless ``numbers``
        is False (an op that moves them: t[:, None] is still positions)."""
        syms, args = [], []
        for item in items:
            if isinstance(item, int) and numbers and self.computed_positions(item):
                item = self.graph.add("as_numbers", symbolic.as_numbers(placeholder(0)), (item,),
                                      operands=(placeholder(0),))
            if isinstance(item, int):
                syms.append(placeholder(len(args)))
                args.append(item)
            else:
                syms.append(item)
        return syms, tuple(args)

    def apply(self, op: str, build, items, node, static=()):
        """An elementwise value; constant operands are folded into its template."""
        poisoned = self.poisoned(items)
        if poisoned is not None:
            return poisoned
        syms, args = self.operands(items)
        if not args:
            if op == "pow" and _huge_power(*syms):
                try:  # a float power: OverflowError instead of computing a giant integer
                    value = float(syms[0]) ** float(syms[1])
                except (OverflowError, ZeroDivisionError):
                    return Poison(self.error(node, "this constant power is too large for a float64"))
                if isinstance(value, complex) or not math.isfinite(value):
                    # (-2.0)**0.5 is no real number: an error only where it is used, as sqrt(-2.0)
                    return Poison(self.error(node, f"the constant {short(self.segment(node))} is not a finite "
                                                   "real number", "constants are evaluated in real float64 "
                                                                  "arithmetic"))
                return self.number(value, node)
            if op in _DIVISIONS:
                return self.divide_constants(op, *syms, node=node)
            try:
                folded = build(*syms)
            except (TypeError, ValueError, ArithmeticError):
                raise self.error(node, f"the constant expression {short(self.segment(node))} "
                                       "cannot be evaluated") from None
            return self.fold(folded, node)
        try:
            template = build(*syms)
            if len(template.free_symbols) < len(args):
                # SymPy simplified an operand away (x * 0, x ** 0): keep it as written so
                # the result keeps the operand's shape and nan/inf behaviour.
                with sp.evaluate(False):
                    template = build(*syms)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise self.error(node, f"cannot build this expression: {exc}") from None
        return self.graph.add(op, template, args, operands=tuple(syms))

    def divide_constants(self, op: str, a, b, node):
        """``7 // 2``, ``7.5 % 2``, ``np.fmod(-7, 2)`` of constants: Python's arithmetic, which
        NumPy's agrees with (integers stay integers, as Python and NumPy keep them)."""
        whole = isinstance(a, sp.Integer) and isinstance(b, sp.Integer)
        x, y = (int(a), int(b)) if whole else (to_float(a), to_float(b))
        try:
            value = _DIVISIONS[op](x, y)
        except (ZeroDivisionError, ValueError):  # fmod(1, 0), fmod(inf, 2): nan in NumPy
            return Poison(self.error(node, f"the constant expression {short(self.segment(node))} is not "
                                           "a finite real number", "constants are evaluated in real float64 "
                                                                   "arithmetic"))
        return self.fold(sp.Integer(int(value)), node) if whole else self.number(float(value), node)

    def apply_op(self, spec: ops.OpSpec, items, static, node):
        if spec.kind == "elementwise":
            if spec.name == "where":
                cond = items[0]
                if isinstance(cond, Poison):
                    raise cond.error
                if isinstance(cond, int):  # a branch with no value of its own is nan where selected, as in NumPy
                    items = [items[0], *(sp.nan if isinstance(i, Poison) else i for i in items[1:])]
                if not isinstance(cond, int):  # a constant condition selects a branch now
                    chosen, other = (items[1], items[2]) if bool(cond) else (items[2], items[1])
                    if not isinstance(other, int) or isinstance(chosen, Poison):
                        return chosen  # nothing to broadcast against (or a Poison, raised where used)
                    # The result still has the broadcast shape of both branches, as in NumPy:
                    # the where stays, with its condition written in.
                    syms, args = self.operands([cond, *items[1:]])
                    template = symbolic.where(*syms, evaluate=False)
                    return self.graph.add("where", template, args, operands=tuple(syms))
            return self.apply(spec.name, spec.build, items, node)
        syms, args = self.operands(items, numbers=spec.name not in MOVES and spec.name not in TAKES)
        if spec.name == "transpose" and (not args or self.plain(items[0])):
            return items[0]  # constants and sizes are scalars: their transpose is themselves
        if spec.kind == "reduction" and not static.get("axes") and len(items) == 1 and self.plain(items[0]):
            # over every element of a number known when the module runs (len(x)): that number, a
            # Python float with no .T (found by fuzzing, seed 20261308: amax(x.size, keepdims=True).T)
            return items[0]
        if spec.kind == "reduction" and not args and not static.get("axes") and is_const(items[0]):
            # over every element of one number: that number (logsumexp(0.1) is 0.1 exactly, as
            # scipy's max-shifted form gives; computed at run time it rounds to 0.10000000000000007)
            return items[0] if not isinstance(items[0], sp.Integer) else sp.Float(int(items[0]))
        # np.dot and np.kron of numbers are numbers (a Python float at run time, as a size is;
        # found by fuzzing, seeds 20261303 and 20261307: np.transpose(np.dot(0.25, 3.0)) and
        # kron(3, 3).T printed float(...).T)
        numbers = spec.name in ("dot", "kron") and all(is_const(i) or self.plain(i) for i in items)
        if len(args) < len(items):  # reductions and linear algebra work on values, not constants
            items = [self.as_value(i, node, spec.name) for i in items]
            syms, args = self.operands(items, numbers=spec.name not in MOVES and spec.name not in TAKES)
        if spec.kind == "reduction":
            axes = static.get("axes", ())
            keepdims = static.get("keepdims", False)
            template = spec.build(syms[0], keepdims, [sp.Integer(a) for a in axes])
            labels = frozenset() if not axes and not keepdims else None
            statics = (sp.Integer(int(keepdims)),) + tuple(sp.Integer(a) for a in axes)
            vid = self.graph.add(spec.name, template, args, operands=tuple(syms), static=statics,
                                 labels=labels if labels is not None else frozenset({f"#{len(self.graph.values)}"}))
            return vid
        statics = ()
        moved = [p.name for p in spec.params if p.kind in STATIC_KINDS]
        if moved:  # an op that moves elements: its static arguments are one operand
            statics = (symbolic.Static(tuple(static[name] for name in moved)),)
        template = spec.build(*syms, *statics)
        if template.args and isinstance(template.args[-1], symbolic.Static):  # as the op wrote it (its own facts)
            statics = (template.args[-1],)
        return self.graph.add(spec.name, template, args, operands=tuple(syms), static=statics,
                              labels=frozenset() if numbers else frozenset({f"#{len(self.graph.values)}"}))

    def cond(self, cls, items, node):
        poisoned = self.poisoned(items)
        if poisoned is not None:
            return poisoned
        syms, args = self.operands(items)
        if not args:
            try:
                return sp.true if bool(cls(*syms)) else sp.false
            except TypeError:
                raise self.error(node, "cannot decide this constant condition") from None
        template = cls(*syms)
        if isinstance(template, sp.logic.boolalg.BooleanAtom):
            # It reads values, so it has their broadcast shape: where() broadcasts against it
            # as NumPy does. (x == x folds to True, but is False where x is nan: as written.)
            if cls in (sp.Eq, sp.Ne):
                template = cls(*syms, evaluate=False)
            else:
                template = symbolic.shaped_condition(sp.Integer(bool(template)),
                                                     *(s for s in syms if isinstance(s, sp.Symbol)))
        return self.graph.add("cond", template, args, operands=tuple(syms))

    def fold(self, expr, node):
        """Evaluate a constant expression at compile time, without unbounded work.

        The result is a float64 (or an integer below 2**53); written infinities
        (np.inf, -np.inf, exp(np.inf)) stay infinite, anything else non-finite is an error.
        """
        if expr == sp.oo or expr == -sp.oo:
            return expr
        if isinstance(expr, sp.Integer) and abs(expr) < 2**53:
            return expr
        if isinstance(expr, (sp.Integer, sp.Float)):
            return self.number(to_float(expr), node)
        try:
            value = _evalf(expr)
        except (TypeError, ValueError, ArithmeticError, RecursionError):
            raise self.error(node, f"the constant expression {short(self.segment(node))} "
                                   "cannot be evaluated") from None
        if value.imag != 0 or not math.isfinite(value.real):
            return Poison(self.error(node, f"the constant expression {short(self.segment(node))} "
                                           "is not a finite real number",
                                     "constants are evaluated in real float64 arithmetic"))
        return self.number(value.real, node)


# Floor division and the remainders, of constants (Python's: NumPy's for floats and integers).
_DIVISIONS = {"floor_divide": operator.floordiv, "remainder": operator.mod, "fmod": math.fmod}


def _evalf(expr: sp.Basic):
    """Numeric value of a constant expression, with opaque heads spelled out first."""
    elementary = {
        symbolic.sigmoid: lambda x: 1 / (1 + sp.exp(-x)),
        symbolic.softplus: lambda x: sp.log(1 + sp.exp(x)),
        symbolic.relu: lambda x: sp.Max(x, 0),
        symbolic.logaddexp: lambda x, y: sp.log(sp.exp(x) + sp.exp(y)),
        symbolic.maximum: sp.Max,
        symbolic.minimum: sp.Min,
        symbolic.clip: lambda x, lo, hi: sp.Min(sp.Max(x, lo), hi),
        symbolic.hardtanh: lambda x, lo, hi: sp.Min(sp.Max(x, lo), hi),
        symbolic.tanhshrink: lambda x: x - sp.tanh(x),
        symbolic.ndtr: lambda x: sp.erfc(-x / sp.sqrt(2)) / 2,
        symbolic.expm1: lambda x: sp.exp(x) - 1,
        symbolic.cbrt: lambda x: sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3),
        symbolic.logaddexp2: lambda x, y: sp.log(2**x + 2**y, 2),
        symbolic.copysign: lambda x, y: sp.Abs(x) * sp.Integer(1 if math.copysign(1.0, float(y)) > 0 else -1),
        symbolic.heaviside: lambda x, h: sp.Integer(0) if float(x) < 0 else h if float(x) == 0 else sp.Integer(1),
        symbolic.gammaln: lambda x: sp.log(sp.Abs(sp.gamma(x))),
        symbolic.digamma: sp.digamma,
        symbolic.polygamma: sp.polygamma,
        symbolic.gamma: sp.gamma,
        symbolic.beta: sp.beta,
        symbolic.betaln: lambda a, b: sp.log(sp.Abs(sp.beta(a, b))),
        symbolic.erfc: sp.erfc,
        symbolic.erfinv: sp.erfinv,
        symbolic.erfcx: lambda x: sp.exp(x**2) * sp.erfc(x),
        symbolic.logit: lambda x: sp.log(x / (1 - x)),
        symbolic.log_ndtr: lambda x: sp.log(sp.erfc(-x / sp.sqrt(2)) / 2),
        symbolic.ndtri: lambda x: sp.sqrt(2) * sp.erfinv(2 * x - 1),
        symbolic.i0: lambda x: sp.besseli(0, x),
        symbolic.i1: lambda x: sp.besseli(1, x),
        symbolic.xlogy: lambda x, y: x * sp.log(y),
        symbolic.xlog1py: lambda x, y: x * sp.log(1 + y),
    }
    expr = expr.replace(lambda e: type(e) in elementary, lambda e: elementary[type(e)](*e.args))
    return complex(expr.evalf(30))


def _huge_power(base, exponent) -> bool:
    """Whether base ** exponent would be a giant number (or needs float semantics)."""
    b, e = to_float(base), to_float(exponent)
    if not (math.isfinite(b) and math.isfinite(e)):
        return True  # float arithmetic decides; number() rejects what is not finite
    return abs(b) > 1 and abs(e) * math.log10(abs(b)) > 300 or (e != int(e) and b < 0)
