"""Sizes: the integers a source reads off an array's shape (derivgen/ops/sizes.py).

``x.shape`` is a :class:`Shape`, a tuple whose length is known only when the module runs:
it can be indexed with an integer known now (``x.shape[0]``, ``x.shape[-1]``), unpacked
(``n, d = x.shape``: the module checks the count) or measured (``len(x.shape)``). Each size
is a value of the program, usable in arithmetic (``np.sum(x) / len(x)``); ``x.size``,
``x.ndim``, ``len(x)`` and PyTorch's ``x.size(0)``, ``x.size()``, ``x.numel()``, ``x.dim()``
read the same integers. NumPy's functions ``np.shape``, ``np.size`` and ``np.ndim`` and
``torch.numel`` too.
"""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops, symbolic
from ..graph import placeholder
from .language import Poison

# Methods of an array that read its shape: PyTorch's spellings.
METHODS = ("size", "numel", "nelement", "dim", "ndimension")
# Functions that do: their names, by the prefixes that reach them (derivgen/ops PREFIXES).
FUNCTIONS = {"np.": ("shape", "size", "ndim"), "numpy.": ("shape", "size", "ndim"), "torch.": ("numel",)}


def size_function(path: str | None) -> str | None:
    """The size function a library path names (``np.size`` and ``numpy.size`` are "size"), or None."""
    if path is None:
        return None
    prefix, name = ops.strip_prefix(path)
    return name if name in FUNCTIONS.get(prefix, ()) else None


SHAPE_HINT = "index it with an integer, as in x.shape[0], or unpack it: n, d = x.shape"


class Shape:
    """``x.shape`` of an array value: its sizes, as many as x has dimensions."""

    def __init__(self, of: int):
        self.of = of


class Sizes:
    """Sizes read off shapes: attributes, methods and functions."""

    def size(self, base: int, what: tuple) -> int:
        """The integer ``what`` (ops/sizes.py) of the array value ``base``: 0-d, no dtype."""
        static = symbolic.Static(what)
        return self.graph.add("size", symbolic.size_of(placeholder(0), static), (base,),
                              operands=(placeholder(0),), static=(static,), labels=frozenset())

    def array_of(self, item, node, what: str) -> int:
        """The array value whose shape ``what`` reads; a clear error for anything else."""
        if isinstance(item, Poison):
            raise item.error
        if isinstance(item, Shape):
            raise self.error(node, f"{what} of a shape is not supported", SHAPE_HINT)
        if isinstance(item, tuple):
            raise self.error(node, f"a tuple of {len(item)} values has no {what}",
                             "unpack it (a, b = ...) or index it (t[0])")
        if self.is_cond(item):
            raise self.error(node, f"{what} of a condition is not supported", "read it off an array")
        if not isinstance(item, int) or self.plain(item):  # a constant, or a size itself
            raise self.error(node, f"a number has no {what}",
                             "sizes are read off arrays: the inputs and the values computed from them")
        return item

    def size_attribute(self, node: ast.Attribute, base):
        """``x.shape``, ``x.size``, ``x.ndim``."""
        what = f".{node.attr}"
        base = self.array_of(base, node.value, what)
        if node.attr == "shape":
            return Shape(base)
        return self.size(base, (node.attr,))

    def shape_item(self, shape: Shape, index, env):
        """``x.shape[i]``: an integer known now, negative counting from the end."""
        if isinstance(index, ast.Slice):
            raise self.error(index, "a slice of a shape has a length known only when the module runs",
                             SHAPE_HINT)
        axis = self.static_int(index, env, "the index of a shape")
        return self.size(shape.of, ("shape", axis, None))

    def unpack_shape(self, shape: Shape, count: int) -> tuple:
        """``n, d = x.shape``: one size per name, each checking that x has ``count`` axes."""
        return tuple(self.size(shape.of, ("shape", axis, count)) for axis in range(count))

    def size_method(self, node: ast.Call, env, receiver: ast.expr):
        """``x.size()``, ``x.size(i)``, ``x.size(dim=i)``, ``x.numel()``, ``x.dim()``."""
        name = node.func.attr
        base = self.array_of(self.expr(receiver, env), receiver, f".{name}()")
        if name != "size":
            if node.args or node.keywords:
                raise self.error(node, f".{name}() takes no arguments")
            return self.size(base, ("size",) if name in ("numel", "nelement") else ("ndim",))
        axis = self._size_axis(node, env, "dim", ".size()")
        return Shape(base) if axis is None else self.size(base, ("shape", axis, None))

    def size_function(self, name: str, node: ast.Call, env):
        """``len(x)``, ``np.shape(x)``, ``np.size(x[, axis])``, ``np.ndim(x)``, ``torch.numel(x)``
        (``name``: len, shape, size, ndim or numel)."""

        shown = "len()" if name == "len" else f"np.{name}()" if name != "numel" else "torch.numel()"
        if not node.args:
            raise self.error(node, f"{shown} needs the array whose shape it reads")
        item = self.expr(node.args[0], env)
        if name == "len" and isinstance(item, tuple):  # a tuple's length is known now
            if len(node.args) > 1 or node.keywords:
                raise self.error(node, "len() takes exactly one argument")
            return sp.Integer(len(item))
        if name == "len" and isinstance(item, Shape):  # len(x.shape) is x.ndim
            if len(node.args) > 1 or node.keywords:
                raise self.error(node, "len() takes exactly one argument")
            return self.size(item.of, ("ndim",))
        base = self.array_of(item, node.args[0], shown)
        if name == "size":
            axis = self._size_axis(node, env, "axis", shown, first=1)
            return self.size(base, ("size",) if axis is None else ("shape", axis, None))
        if len(node.args) > 1 or node.keywords:
            raise self.error(node, f"{shown} takes exactly one argument")
        if name == "len":  # the first size; a 0-d array has no len, as in NumPy
            return self.size(base, ("shape", 0, None))
        if name == "shape":
            return Shape(base)
        return self.size(base, ("size",) if name == "numel" else ("ndim",))

    def _size_axis(self, node: ast.Call, env, keyword: str, shown: str, first: int = 0):
        """The one optional axis argument of a size call, given by position or by name."""
        args = node.args[first:]
        keywords = [kw for kw in node.keywords if kw.arg == keyword]
        if len(args) + len(node.keywords) > 1 or len(keywords) != len(node.keywords):
            raise self.error(node, f"{shown} takes at most one argument, the axis ('{keyword}')")
        arg = args[0] if args else keywords[0].value if keywords else None
        if arg is None or (isinstance(arg, ast.Constant) and arg.value is None):
            return None
        return self.static_int(arg, env, "an axis")
