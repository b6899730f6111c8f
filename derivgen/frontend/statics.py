"""Static arguments: integers known at compile time, axes, shapes and indexes.

They are written into the program (the generated code reads ``x[1:, None]`` as it was
written), so each must be an integer the front end can compute now: a literal, a constant
name, or arithmetic of them (``n - 1`` with ``n = 3`` at the top level).
"""

from __future__ import annotations

import ast

import sympy as sp

from .language import Poison, dotted_name, short
from .limits import MAX_AXES
from .positions import POSITIONS_HINT
from .sizes import SHAPE_HINT, Shape

# Items of an index that add an axis: None and np.newaxis.
_NEW_AXIS = {"np.newaxis", "numpy.newaxis", "None"}


class Statics:
    """Compile-time integers and the static arguments made of them."""

    def static_int(self, node, env, what: str = "this argument") -> int:
        """An integer known at compile time (a literal, a constant, constant arithmetic)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise self.error(node, f"{what} must be an integer, not {node.value}")
        return self.int_of(self.expr(node, env), node, what)

    def int_of(self, value, node, what: str) -> int:
        """``value``, which ``node`` evaluated to, as an integer known at compile time."""
        if isinstance(value, Poison):
            raise value.error
        if isinstance(value, sp.Integer):
            number = int(value)
            if abs(number) >= 2**31:
                raise self.error(node, f"{what} is too large ({short(str(number))})")
            return number
        if isinstance(value, int) and self.plain(value):  # read off a shape: len(x), 2 * x.shape[0]
            raise self.error(node, f"{what} must be known at compile time, and "
                                   f"{short(self.segment(node)) or 'this size'} is known only when the module runs",
                             "write the integer, or -1 for the size that is left; a reshape may read "
                             "sizes off the array it reshapes as they are: x.reshape(x.shape[0], -1)")
        if isinstance(value, int):  # a value of the program, known only at run time
            raise self.error(node, f"{what} must be an integer known at compile time",
                             "write an integer literal, or a name assigned one at the top level")
        if isinstance(value, Shape):
            raise self.error(node, f"{what} must be an integer known at compile time, not a shape "
                                   "(known only when the module runs)", SHAPE_HINT)
        raise self.error(node, f"{what} must be an integer", "write an integer literal such as 1 or -1")

    def static_axes(self, node, env, *, none: bool = True, single: bool = False):
        """None, an int, or a tuple of ints (no axis repeated): axes as NumPy takes them."""
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            if none:
                return None
            raise self.error(node, "axes are needed here")
        if isinstance(node, (ast.Tuple, ast.List)):
            if single:
                raise self.error(node, "a single axis is needed here, not a tuple")
            if len(node.elts) > MAX_AXES:
                raise self.error(node, f"at most {MAX_AXES} axes can be listed, got {len(node.elts)}",
                                 f"NumPy arrays have at most {MAX_AXES} dimensions")
            axes = tuple(self._axis(e, env) for e in node.elts)
            for i, a in enumerate(axes):
                if a in axes[:i]:
                    raise self.error(node.elts[i], f"axis {a} is repeated")
            return axes
        return self._axis(node, env)

    def _axis(self, node, env) -> int:
        value = self.static_int(node, env, "an axis")
        if not -MAX_AXES <= value < MAX_AXES:
            raise self.error(node, f"axis {value} is out of range", f"NumPy arrays have at most {MAX_AXES} dimensions")
        return value

    def static_shape(self, node, env, own=None) -> tuple:
        """A shape: a tuple of sizes, at most one of them -1 (what is left). A size read off
        ``own``, the array being reshaped (``x.reshape(x.shape[0], -1)``), is ("dim", axis)."""
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        if len(items) > MAX_AXES:
            raise self.error(node, f"a shape has at most {MAX_AXES} sizes, got {len(items)}")
        sizes = tuple(self._own_size(item, env, own) or self.static_int(item, env, "a size") for item in items)
        for item, size in zip(items, sizes):
            if isinstance(size, tuple):
                continue
            if size < -1:
                raise self.error(item, f"a size cannot be {size}", "sizes are >= 0, or -1 for what is left")
        if sizes.count(-1) > 1:
            raise self.error(node, "only one size can be -1")
        return sizes

    def static_sizes(self, node, env, own=None) -> tuple:
        """The sizes of PyTorch's x.expand(...) (and np.broadcast_to's shape): -1 keeps own's
        size there, ("dim", axis, None) counted from the end, as expand aligns the axes."""
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        if len(items) > MAX_AXES:
            raise self.error(node, f"a shape has at most {MAX_AXES} sizes, got {len(items)}")
        sizes = []
        for i, item in enumerate(items):
            size = self._own_size(item, env, own) or self.static_int(item, env, "a size")
            if size == -1:
                size = ("dim", i - len(items), None)
            elif not isinstance(size, tuple) and size < 0:
                raise self.error(item, f"a size cannot be {size}", "sizes are >= 0, or -1 to keep the array's size")
            sizes.append(size)
        return tuple(sizes)

    def _own_size(self, node, env, own) -> tuple | None:
        """("dim", axis, rank) where ``node`` reads own.shape[axis] (or len(own); rank: the
        number of sizes it was unpacked with, or None), else None."""
        if own is None or not isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
            return None
        value = self.expr(node, env)
        if isinstance(value, int) and self.graph[value].op == "size" and self.graph[value].args == (own,):
            kind, *rest = self.graph[value].static[0].value
            if kind == "shape":
                return ("dim", *rest)
        return None

    def static_index(self, node, env) -> tuple:
        """The index of ``x[...]`` (derivgen/ops/indexing.py); items holding positions known
        only when the module runs are left as derivgen/frontend/positions.py reads them."""
        items = node.elts if isinstance(node, ast.Tuple) else [node]
        index = tuple(self._index_item(item, env) for item in items)
        if index.count(Ellipsis) > 1:
            raise self.error(node, "an index can only have a single ellipsis (...)")
        if sum(1 for i in index if i is not None and i is not Ellipsis) > MAX_AXES:
            raise self.error(node, f"an index reads at most {MAX_AXES} axes")
        return index

    def _index_item(self, node, env):
        if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis):
            return node.value
        if isinstance(node, ast.Attribute) and self.module_path(dotted_name(node), env) in _NEW_AXIS:
            return None
        if isinstance(node, ast.Slice):
            start, stop, step = (None if part is None or (isinstance(part, ast.Constant) and part.value is None)
                                 else self.static_int(part, env, "a slice bound")
                                 for part in (node.lower, node.upper, node.step))
            if step == 0:
                raise self.error(node.step, "a slice step cannot be zero")
            return ("slice", start, stop, step)
        if isinstance(node, (ast.List, ast.Tuple)):
            if not node.elts:
                raise self.error(node, "an empty list of positions selects nothing",
                                 "list the positions to read, as in x[[0, 2]]")
            if any(isinstance(e, (ast.List, ast.Tuple)) for e in node.elts):
                raise self.error(node, "a list of positions must be flat, as in x[[0, 2]]",
                                 "index each axis with its own list: x[[0, 1], [2, 0]]")
            return ("take", tuple(self.static_int(e, env, "a position") for e in node.elts))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise self.error(node, f"an index must be an integer, not {node.value}")
        value = self.expr(node, env)
        positions = self.run_time_item(value, node)
        if positions is not None:
            return positions
        if isinstance(value, int) and not self.plain(value):  # computed from the numbers of an input
            raise self.error(node, "an index computed when the module runs must be an input holding integers "
                                   "or np.arange(n) of a size", POSITIONS_HINT)
        return self.int_of(value, node, "an index")
