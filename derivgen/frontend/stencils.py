"""Finite-difference stencils: ``np.gradient(f, *spacing, axis=..., edge_order=1)`` and
PyTorch's ``torch.gradient(f, spacing=1, dim=..., edge_order=1)``, read as the slices,
differences and joins NumPy computes them with, so their own gradients follow from those ops.

Along each axis, with a uniform spacing h: the interior is the central difference
(f[2:] - f[:-2]) / (2h); the ends are one-sided, (f[1] - f[0]) / h and (f[-1] - f[-2]) / h
for ``edge_order=1``, and (-3 f[0] + 4 f[1] - f[2]) / (2h) and (3 f[-1] - 4 f[-2] + f[-3]) / (2h)
for ``edge_order=2``, each written as NumPy writes it, so that they round alike. One axis gives
one array (NumPy's ``axis=0``; PyTorch's ``dim=0`` gives a tuple of one), several a tuple to
unpack (``gy, gx = np.gradient(f, axis=(0, 1))``). The axes must be given: how many an array
has is known only when the module runs, and NumPy's result (an array, or a list of arrays)
depends on it. A spacing is a number known now (one for all axes or one per axis); spacings
given as coordinates (an array per axis) are refused.
"""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops
from .sugar import along

GRADIENT = "gradient"  # the function's name after a prefix (np., numpy., torch.)
_AXES_HINT = ("give the axes: np.gradient(f, axis=0) for a vector, np.gradient(f, axis=(0, 1)) for one array "
              "per axis of a matrix (torch.gradient(f, dim=0))")


class Stencils:
    """np.gradient and torch.gradient."""

    def gradient_call(self, node: ast.Call, env, torch: bool):
        name = "torch.gradient()" if torch else "np.gradient()"
        bound, spacing_nodes = self._gradient_args(node, torch, name)
        axes_node = bound.get("dim" if torch else "axis")
        if axes_node is None or isinstance(axes_node, ast.Constant) and axes_node.value is None:
            raise self.error(node, f"{name} without {'dim' if torch else 'axis'} depends on how many axes its "
                                   "array has, which is known only when the module runs", _AXES_HINT)
        axes = self.static_axes(axes_node, env, none=False)
        single = isinstance(axes, int)
        axes = (axes,) if single else tuple(axes)
        if not axes:
            raise self.error(axes_node, f"{name} needs at least one axis", _AXES_HINT)
        order_node = bound.get("edge_order")
        order = 1 if order_node is None else self.static_int(order_node, env, f"{name}'s edge_order")
        if order not in (1, 2):
            raise self.error(order_node, f"{name}'s edge_order must be 1 or 2, not {order}")
        steps = self._spacings(spacing_nodes, env, len(axes), name)
        f = self.expr(bound["f"], env)
        self.require_tensor(f, bound["f"])
        if not isinstance(f, int) or self.plain(f):
            raise self.error(bound["f"], f"{name} of a single number is not defined",
                             "it takes an array of one dimension or more")
        parts = tuple(self._stencil(f, axis, step, order, node) for axis, step in zip(axes, steps))
        return parts[0] if single and not torch else parts

    def _gradient_args(self, node: ast.Call, torch: bool, name: str):
        """The call's arguments by name, and the spacing arguments as written."""
        if torch:
            signature = "torch.gradient(input, spacing=1, dim=None, edge_order=1)"
            params, aliases = ("f", "spacing", "dim", "edge_order"), {"input": "f"}
            if len(node.args) > 1:
                raise self.error(node.args[1], f"{name} takes only its input by position", f"signature: {signature}")
        else:
            signature = "np.gradient(f, *varargs, axis=None, edge_order=1)"
            params, aliases = ("f", "axis", "edge_order"), {}
        bound = dict(zip(params, node.args[:1]))
        for kw in node.keywords:
            key = aliases.get(kw.arg, kw.arg)
            if key not in params or key in bound:
                raise self.error(kw.value, f"{name} got an unexpected or repeated keyword '{kw.arg}'",
                                 f"signature: {signature}")
            bound[key] = kw.value
        if "f" not in bound:
            raise self.error(node, f"{name} is missing its array", f"signature: {signature}")
        if torch:
            spacing = bound.get("spacing")
            if spacing is None:
                return bound, []
            return bound, list(spacing.elts) if isinstance(spacing, (ast.Tuple, ast.List)) else [spacing]
        return bound, list(node.args[1:])

    def _spacings(self, nodes: list, env, count: int, name: str) -> list:
        """One uniform spacing per axis: none given is 1, one is every axis's."""
        if len(nodes) not in (0, 1, count):
            raise self.error(nodes[0], f"{name} got {len(nodes)} spacings for {count} axes",
                             "give one spacing for all axes, or one per axis")
        steps = []
        for item in nodes:
            value = self.expr(item, env)
            if not isinstance(value, sp.Number) or not value.is_finite or value.is_zero:
                raise self.error(item, f"{name}'s spacing must be a nonzero number known now",
                                 "spacings given as coordinates (an array per axis) are not supported: "
                                 "scale the result, or differentiate on a uniform grid")
            steps.append(value)
        if not steps:
            steps = [sp.Integer(1)]
        return steps * count if len(steps) == 1 else steps

    def _stencil(self, f: int, axis: int, h, order: int, node):
        """The derivative of f along one axis: one-sided ends, central differences between."""
        def at(start, stop=None):
            index = along(axis, ("slice", start, stop, None))
            return self.apply_op(ops.OPS["getitem"], [f], {"index": index}, node)

        def op(name, a, b):
            return self.apply(name, ops.OPERATORS[name], [a, b], node)

        two_h = sp.Float(2.0) * h  # NumPy's 2. * dx: a float, whatever the spacing's type
        interior = op("div", op("sub", at(2, None), at(None, -2)), two_h)
        if order == 1:
            first = op("div", op("sub", at(1, 2), at(0, 1)), h)
            last = op("div", op("sub", at(-1, None), at(-2, -1)), h)
        else:  # NumPy's coefficients: a * f[0] + b * f[1] + c * f[2], each over the spacing
            def weighted(coefficients, starts):
                terms = [op("mul", sp.Float(c) / h, at(s, s + 1 if s != -1 else None))
                         for c, s in zip(coefficients, starts)]
                return op("add", op("add", terms[0], terms[1]), terms[2])
            first = weighted((-1.5, 2.0, -0.5), (0, 1, 2))
            last = weighted((0.5, -2.0, 1.5), (-3, -2, -1))
        return self.apply_op(ops.OPS["concatenate"], [first, interior, last], {"axis": axis}, node)


__all__ = ["GRADIENT", "Stencils"]
