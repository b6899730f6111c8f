"""Casts to a floating dtype: ``c.float()``, ``c.double()``, ``c.astype(np.float32)`` and
``float(n)``.

A module computes in its inputs' floating dtype (float32 in, float32 out), so a cast to a
floating dtype changes no value it computes: of a condition it is the numbers 1.0 where the
condition holds and 0.0 elsewhere (``(x > 0).float()``, as PyTorch and NumPy compute it), of an
array the array itself, of a size or a constant that number. A cast to integers or booleans
would have no gradient and is refused with a hint.
"""

from __future__ import annotations

import ast

import sympy as sp

from .language import Poison, dotted_name, short
from .sizes import SHAPE_HINT, Shape

# Methods that cast to a floating dtype with no argument (PyTorch's).
METHODS = ("float", "double")
CAST_METHODS = (*METHODS, "astype")
# The floating dtypes astype() and .to() may name, as the source spells them (after the prefix).
_FLOAT_DTYPES = {"float", "float32", "float64", "double", "single", "float_", "float16", "half"}


class Casts:
    """Casts of values to a floating dtype."""

    def cast_method(self, node: ast.Call, env, receiver: ast.expr):
        """``x.float()``, ``x.double()``, ``x.astype(dtype)`` (``x.to(dtype)``)."""
        name = node.func.attr
        if name in METHODS:
            if node.args or node.keywords:
                raise self.error(node, f".{name}() takes no arguments")
        else:
            arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
            if arg is None:
                keyword = "dtype"
                found = [kw.value for kw in node.keywords if kw.arg == keyword]
                if node.args or len(found) != 1 or len(node.keywords) != 1:
                    raise self.error(node, f".{name}() takes one argument, the floating dtype",
                                     f"write x.{name}(np.float64)")
                arg = found[0]
            self._check_float_dtype(arg, env, name)
        return self.as_float(self.expr(receiver, env), receiver, f".{name}()")

    def float_call(self, node: ast.Call, env):
        """Python's ``float(n)`` of a size or a constant: that number."""
        if len(node.args) != 1 or node.keywords:
            raise self.error(node, "float() takes exactly one argument")
        item = self.expr(node.args[0], env)
        if isinstance(item, int) and not self.plain(item) and not self.is_cond(item):
            raise self.error(node, "float() of an array is a Python float only for one element",
                             "use the array itself: the module computes in its inputs' floating dtype")
        return self.as_float(item, node.args[0], "float()")

    def as_float(self, item, node, what: str):
        if isinstance(item, Poison):
            raise item.error
        if isinstance(item, Shape):
            raise self.error(node, f"{what} of a shape is not supported", SHAPE_HINT)
        if isinstance(item, tuple):
            raise self.error(node, f"{what} of a tuple of {len(item)} values is not supported",
                             "unpack it (a, b = ...) or index it (t[0])")
        if isinstance(item, sp.Integer):  # float(3) is 3.0
            return sp.Float(int(item))
        return self.as_number(item, node)

    def _check_float_dtype(self, node, env, method: str) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled = node.value
        elif isinstance(node, ast.Name) and node.id in ("float", "int", "bool"):
            spelled = node.id
        else:
            path = self.module_path(dotted_name(node), env) if isinstance(node, ast.Attribute) else None
            spelled = path.split(".", 1)[1] if path and path.startswith(("numpy.", "torch.", "np.")) else None
            if spelled is None:
                raise self.error(node, f".{method}() needs a dtype such as np.float64, float or 'float32'")
        if spelled not in _FLOAT_DTYPES:
            raise self.error(node, f"a cast to {short(spelled)} has no gradient and is not supported",
                             "cast to a floating dtype (float, np.float32, torch.float64), or use "
                             "floor() or where() for the values")
