"""Special-function calls whose arguments are not the op's operands as written: PyTorch's
``torch.logit(x, eps)`` (``x.logit(eps)``), which is ``logit(clamp(x, eps, 1 - eps))``, and the
method ``x.polygamma(n)``, whose receiver is the second argument of ``polygamma(n, x)``.
Every other call of a special function is its op's (derivgen/ops/special.py).
"""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops
from .language import short

SPECIAL_CALLS = ("logit",)  # after torch. and torch.special. (SciPy's logit has no eps)
SPECIAL_METHODS = ("logit", "polygamma")
_EPS = ops.Param("eps", "number", 1e-6)
_N = ops.Param("n", "number", 1.0)


class SpecialCalls:
    """torch.logit's eps and x.polygamma(n)."""

    def special_call(self, name: str, node: ast.Call, env, receiver: ast.expr | None = None):
        what = f"x.{name}()" if receiver is not None else f"torch.{name}()"
        positional = ([receiver] if receiver is not None else []) + list(node.args)
        first, second = ("input", "n") if name == "polygamma" else ("input", "eps")
        bound = dict(zip((first, second), positional))
        if len(positional) > 2:
            raise self.error(node, f"{what} takes at most {2 - (receiver is not None)} argument"
                                   f"{'s' if receiver is None else ''}, got {len(node.args)}",
                             f"write {'x.polygamma(n)' if name == 'polygamma' else what[:-1] + 'eps)'}")
        for kw in node.keywords:
            key = {"x": "input", "self": "input"}.get(kw.arg, kw.arg)
            if key not in (first, second) or (key == first and receiver is not None):
                raise self.error(kw.value, f"{what} got an unexpected keyword '{short(kw.arg)}'",
                                 f"signature: {'polygamma(n)' if name == 'polygamma' else 'logit(input, eps=None)'}")
            if key in bound:
                raise self.error(kw.value, f"{what} got '{key}' twice")
            bound[key] = kw.value
        if first not in bound:
            raise self.error(node, f"{what} is missing its argument '{first}'")
        x = self.expr(bound[first], env)
        self.require_tensor(x, bound[first])
        if name == "polygamma":
            if second not in bound:
                raise self.error(node, "x.polygamma(n) is missing its argument 'n'", "write x.polygamma(1)")
            n = self.constant_parameter(ops.OPS["polygamma"], _N, bound[second], env)
            return self.apply_op(ops.OPS["polygamma"], [n, x], {}, node)
        eps = bound.get(second)
        if eps is not None and not (isinstance(eps, ast.Constant) and eps.value is None):
            value = self.constant_parameter(ops.OPS["logit"], _EPS, eps, env)
            if not 0 <= float(value) <= 0.5:
                raise self.error(eps, f"{what}'s eps must be between 0 and 0.5, not {float(value)!r}",
                                 "x is clamped to [eps, 1 - eps] before the logit")
            x = self.apply_op(ops.OPS["clamp"], [x, value, sp.Float(1 - float(value))], {}, node)
        return self.apply_op(ops.OPS["logit"], [x], {}, node)
