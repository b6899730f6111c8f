"""PyTorch's losses and normalisations, read as the ops they are made of: ``F.softmax``,
``F.log_softmax`` (and ``torch.``, methods, ``scipy.special.``), ``F.mse_loss``, ``F.l1_loss``,
``F.smooth_l1_loss``, ``F.huber_loss``, ``F.binary_cross_entropy``,
``F.binary_cross_entropy_with_logits``, ``F.cross_entropy``, ``F.nll_loss``, ``F.kl_div``,
``F.gaussian_nll_loss``, ``F.poisson_nll_loss``, ``F.cosine_similarity``, ``F.normalize``,
``F.linear`` and ``F.layer_norm``.

Each follows PyTorch's formula and defaults (``reduction="mean"``, ``beta=1.0``, ``eps``...),
in its stable form: a log-softmax is ``x - logsumexp(x)``, exact at logits of +-1000; the loss
with logits is ``softplus(x) - t * x``. The target of ``F.cross_entropy`` and ``F.nll_loss``
is read as PyTorch reads a long tensor, class indices, where it is an input (an input of
positions: it has no gradient, derivgen/frontend/positions.py), and as class probabilities
where the program computes it. Their class axis is 1, of logits of two or more dimensions.
"""

from __future__ import annotations

import ast
import math

import sympy as sp

from .. import ops, symbolic

# The calls read here, by name after F. or torch.nn.functional. (softmax and log_softmax also
# after torch. and scipy.special., and as methods).
LOSSES = ("softmax", "log_softmax", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
          "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "gaussian_nll_loss",
          "poisson_nll_loss", "cosine_similarity", "normalize", "linear", "layer_norm")
LOSS_PREFIXES = ("F.", "torch.nn.functional.")
SOFTMAX_PREFIXES = ("torch.", "torch.special.", "scipy.special.")
_REDUCTIONS = ("mean", "sum", "none")
_LEGACY = ("size_average", "reduce")  # PyTorch's deprecated reduction flags


class Losses:
    """Losses, softmax and normalisations of torch.nn.functional."""

    def loss_call(self, name: str, node: ast.Call, env, prefix: str = "F.", receiver: ast.expr | None = None):
        self._loss_node = node
        return getattr(self, f"_{name}")(node, env, prefix, receiver)

    # ---- building blocks (each an op of the registry) ------------------------------------
    def _op(self, name: str, *items, **static):
        return self.apply_op(ops.OPS[name], list(items), static, self._loss_node)

    def _bin(self, name: str, a, b):
        return self.apply(name, ops.OPERATORS[name], [a, b], self._loss_node)

    def _softplus(self, x):
        """log(1 + exp(x)) itself, without PyTorch's threshold (as F.binary_cross_entropy_with_logits)."""
        return self.apply("softplus", symbolic.softplus, [x], self._loss_node)

    def _reduce(self, name: str, x, axis=None, keepdims: bool = False):
        axes = () if axis is None else (axis,)
        return self._op(name, x, axes=axes, keepdims=keepdims)

    def _number(self, value) -> sp.Float:
        return sp.Float(float(value))

    def _args(self, name, node, receiver, params, aliases=None, required=1) -> dict:
        for kw in node.keywords:
            if kw.arg in _LEGACY:
                raise self.error(kw.value, f"{name}()'s {kw.arg}= is deprecated in PyTorch and not supported",
                                 "write reduction='mean', 'sum' or 'none'")
        return self._sugar_args(name, node, receiver, params, aliases or {}, required)

    def _tensor_arg(self, bound, key, env):
        value = self.expr(bound[key], env)
        self.require_tensor(value, bound[key])
        return value

    def _constant(self, bound, key, default, what: str, positive: bool = False, zero: bool = True) -> float:
        if key not in bound:
            return default
        value = self.expr(bound[key], self._env)
        if not isinstance(value, sp.Number) or not value.is_finite or (positive and value < 0) or (not zero and value == 0):
            need = "a positive" if positive and not zero else "a non-negative" if positive else "a finite"
            raise self.error(bound[key], f"{what} must be {need} number known now")
        return float(value)

    def _reduction(self, bound) -> str:
        node = bound.get("reduction")
        if node is None:
            return "mean"
        if not (isinstance(node, ast.Constant) and node.value in _REDUCTIONS):
            raise self.error(node, "reduction must be 'mean', 'sum' or 'none'")
        return node.value

    def _reduced(self, loss, reduction: str):
        if reduction == "none":
            return loss
        return self._reduce("sum" if reduction == "sum" else "mean", loss)

    def _flag(self, bound, key, default: bool) -> bool:
        node = bound.get(key)
        if node is None:
            return default
        if not (isinstance(node, ast.Constant) and isinstance(node.value, bool)):
            raise self.error(node, f"{key} must be True or False")
        return node.value

    def _dim(self, bound, key, name, default=None):
        node = bound.get(key)
        if node is None or isinstance(node, ast.Constant) and node.value is None:
            if default is None:
                raise self.error(self._loss_node, f"{name}() needs {key}=, the axis it normalises along",
                                 f"write {name}(x, {key}=-1); PyTorch's implicit choice is deprecated")
            return default
        return self.static_axes(node, self._env, none=False, single=True)

    # ---- softmax ---------------------------------------------------------------------
    def _log_softmax_of(self, x, axis):
        """x - logsumexp(x) along an axis: exact where x is far from 0 (logits of +-1000)."""
        return self._bin("sub", x, self._reduce("logsumexp", x, axis, keepdims=True))

    def _softmax_args(self, name, node, env, prefix, receiver):
        self._env = env
        scipy = prefix == "scipy.special."
        if scipy:
            bound = self._args(name, node, receiver, ("x", "axis"), {})
            x = self._tensor_arg(bound, "x", env)
            axis = bound.get("axis")
            if axis is None or isinstance(axis, ast.Constant) and axis.value is None:
                return x, None  # scipy's default: over every element
            return x, self.static_axes(axis, env, none=False, single=True)
        bound = self._args(name, node, receiver, ("input", "dim", "_stacklevel", "dtype"), {"x": "input"})
        if "dtype" in bound and not (isinstance(bound["dtype"], ast.Constant) and bound["dtype"].value is None):
            self._check_float_dtype(bound["dtype"], env, name)
        return self._tensor_arg(bound, "input", env), self._dim(bound, "dim", name)

    def _softmax(self, node, env, prefix, receiver):
        x, axis = self._softmax_args("softmax", node, env, prefix, receiver)
        return self._op("exp", self._log_softmax_of(x, axis))

    def _log_softmax(self, node, env, prefix, receiver):
        x, axis = self._softmax_args("log_softmax", node, env, prefix, receiver)
        return self._log_softmax_of(x, axis)

    # ---- regression losses ----------------------------------------------------------
    def _pair(self, name, node, env, params=(), aliases=None):
        self._env = env
        bound = self._args(name, node, None, ("input", "target", *params, "reduction"), aliases, 2)
        return bound, self._tensor_arg(bound, "input", env), self._tensor_arg(bound, "target", env)

    def _mse_loss(self, node, env, prefix, receiver):
        bound, x, y = self._pair("mse_loss", node, env, ("size_average", "reduce"))
        d = self._bin("sub", x, y)
        return self._reduced(self._bin("mul", d, d), self._reduction(bound))

    def _l1_loss(self, node, env, prefix, receiver):
        bound, x, y = self._pair("l1_loss", node, env, ("size_average", "reduce"))
        return self._reduced(self._op("abs", self._bin("sub", x, y)), self._reduction(bound))

    def _smooth_l1_loss(self, node, env, prefix, receiver):
        # 0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (beta = 0: the l1 loss)
        bound, x, y = self._pair("smooth_l1_loss", node, env, ("size_average", "reduce", "beta"))
        beta = self._constant(bound, "beta", 1.0, "smooth_l1_loss()'s beta", positive=True)
        return self._reduced(self._huber(x, y, beta, 1.0 / beta if beta else 0.0), self._reduction(bound))

    def _huber_loss(self, node, env, prefix, receiver):
        # 0.5 d**2 where |d| < delta, delta * (|d| - 0.5 delta) elsewhere
        bound, x, y = self._pair("huber_loss", node, env, ("delta",))
        delta = self._constant(bound, "delta", 1.0, "huber_loss()'s delta", positive=True, zero=False)
        return self._reduced(self._huber(x, y, delta, 1.0, scale=delta), self._reduction(bound))

    def _huber(self, x, y, width: float, curvature: float, scale: float = 1.0):
        """0.5 * curvature * d**2 where |d| < width, scale * (|d| - 0.5 * width) elsewhere."""
        d = self._bin("sub", x, y)
        a = self._op("abs", d)
        outer = self._bin("mul", self._number(scale), self._bin("sub", a, self._number(0.5 * width)))
        if width == 0:
            return outer
        inner = self._bin("mul", self._number(0.5 * curvature), self._bin("mul", d, d))
        return self._op("where", self.cond(sp.StrictLessThan, [a, self._number(width)], self._loss_node), inner, outer)

    def _gaussian_nll_loss(self, node, env, prefix, receiver):
        # 0.5 * (log(max(var, eps)) + (input - target)**2 / max(var, eps)) (+ 0.5 log(2 pi) if full)
        self._env = env
        bound = self._args("gaussian_nll_loss", node, None, ("input", "target", "var", "full", "eps", "reduction"),
                           {}, 3)
        x, y, var = (self._tensor_arg(bound, k, env) for k in ("input", "target", "var"))
        eps = self._constant(bound, "eps", 1e-6, "gaussian_nll_loss()'s eps", positive=True)
        var = self._op("clamp", var, self._number(eps), sp.oo)
        d = self._bin("sub", x, y)
        loss = self._bin("mul", self._number(0.5),
                         self._bin("add", self._op("log", var), self._bin("div", self._bin("mul", d, d), var)))
        if self._flag(bound, "full", False):
            loss = self._bin("add", loss, self._number(0.5 * math.log(2 * math.pi)))
        return self._reduced(loss, self._reduction(bound))

    def _poisson_nll_loss(self, node, env, prefix, receiver):
        # exp(input) - target * input (log_input), input - target * log(input + eps) otherwise;
        # full adds Stirling's target * log(target) - target + 0.5 log(2 pi target) where target > 1
        self._env = env
        bound = self._args("poisson_nll_loss", node, None,
                           ("input", "target", "log_input", "full", "size_average", "eps", "reduce", "reduction"), {}, 2)
        x, y = self._tensor_arg(bound, "input", env), self._tensor_arg(bound, "target", env)
        eps = self._constant(bound, "eps", 1e-8, "poisson_nll_loss()'s eps", positive=True)
        if self._flag(bound, "log_input", True):
            loss = self._bin("sub", self._op("exp", x), self._bin("mul", y, x))
        else:
            loss = self._bin("sub", x, self._bin("mul", y, self._op("log", self._bin("add", x, self._number(eps)))))
        if self._flag(bound, "full", False):
            safe = self._op("where", self.cond(sp.StrictGreaterThan, [y, sp.Integer(1)], node), y, sp.Float(1.0))
            stirling = self._bin("add", self._bin("sub", self._bin("mul", y, self._op("log", safe)), y),
                                 self._bin("mul", self._number(0.5),
                                           self._op("log", self._bin("mul", self._number(2 * math.pi), safe))))
            loss = self._bin("add", loss, self._op("where", self.cond(sp.StrictGreaterThan, [y, sp.Integer(1)], node),
                                                   stirling, sp.Float(0.0)))
        return self._reduced(loss, self._reduction(bound))

    # ---- classification losses ---------------------------------------------------------
    def _binary_cross_entropy(self, node, env, prefix, receiver):
        # -(t log p + (1 - t) log(1 - p)), each log at least -100 (PyTorch's clamp)
        self._env = env
        bound = self._args("binary_cross_entropy", node, None,
                           ("input", "target", "weight", "size_average", "reduce", "reduction"), {}, 2)
        p, t = self._tensor_arg(bound, "input", env), self._tensor_arg(bound, "target", env)
        floor = self._number(-100.0)

        def clamped_log(v):
            return self._op("maximum", self._op("log", v), floor)

        one = sp.Float(1.0)
        loss = self._op("neg", self._bin("add", self._bin("mul", t, clamped_log(p)),
                                         self._bin("mul", self._bin("sub", one, t), clamped_log(self._bin("sub", one, p)))))
        return self._reduced(self._weighted(loss, bound, env), self._reduction(bound))

    def _binary_cross_entropy_with_logits(self, node, env, prefix, receiver):
        # softplus(x) - t x, exact at logits of +-1000; with pos_weight w:
        # (1 - t) x + (1 + (w - 1) t) softplus(-x)
        self._env = env
        bound = self._args("binary_cross_entropy_with_logits", node, None,
                           ("input", "target", "weight", "size_average", "reduce", "reduction", "pos_weight"), {}, 2)
        x, t = self._tensor_arg(bound, "input", env), self._tensor_arg(bound, "target", env)
        if "pos_weight" in bound and not (isinstance(bound["pos_weight"], ast.Constant) and bound["pos_weight"].value is None):
            w = self._tensor_arg(bound, "pos_weight", env)
            one = sp.Float(1.0)
            loss = self._bin("add", self._bin("mul", self._bin("sub", one, t), x),
                             self._bin("mul", self._bin("add", one, self._bin("mul", self._bin("sub", w, one), t)),
                                       self._softplus(self._op("neg", x))))
        else:
            loss = self._bin("sub", self._softplus(x), self._bin("mul", t, x))
        return self._reduced(self._weighted(loss, bound, env), self._reduction(bound))

    def _weighted(self, loss, bound, env):
        """loss times weight= (broadcast against it), as PyTorch's binary losses take it."""
        node = bound.get("weight")
        if node is None or isinstance(node, ast.Constant) and node.value is None:
            return loss
        return self._bin("mul", loss, self._tensor_arg(bound, "weight", env))

    def _cross_entropy(self, node, env, prefix, receiver):
        return self._class_loss("cross_entropy", node, env, log_softmax=True)

    def _nll_loss(self, node, env, prefix, receiver):
        return self._class_loss("nll_loss", node, env, log_softmax=False)

    def _class_loss(self, name: str, node, env, log_softmax: bool):
        """-log p of each example's class (indices), or -sum(p_target * log p) (probabilities):
        PyTorch's weights, label smoothing and reductions; the class axis is 1."""
        self._env = env
        params = ("input", "target", "weight", "size_average", "ignore_index", "reduce", "reduction")
        if log_softmax:
            params += ("label_smoothing",)
        bound = self._args(name, node, None, params, {}, 2)
        if "ignore_index" in bound:
            raise self.error(bound["ignore_index"], f"{name}()'s ignore_index= is not supported",
                             "select the examples to keep first: loss[mask] with mask = target != k, "
                             "or pass them alone")
        logits = self._tensor_arg(bound, "input", env)
        target = self.expr(bound["target"], env)
        self.require_tensor(target, bound["target"])
        if not isinstance(logits, int) or self.plain(logits):
            raise self.error(bound["input"], f"{name}()'s input must be an array of scores, (N, C) or (N, C, d...)")
        smoothing = self._constant(bound, "label_smoothing", 0.0, f"{name}()'s label_smoothing", positive=True)
        if smoothing > 1:
            raise self.error(bound["label_smoothing"], f"{name}()'s label_smoothing must be between 0 and 1")
        weight_node = bound.get("weight")
        weight = None
        if weight_node is not None and not (isinstance(weight_node, ast.Constant) and weight_node.value is None):
            weight = self._tensor_arg(bound, "weight", env)
        reduction = self._reduction(bound)
        # the classes last, where a weight of C numbers broadcasts: (N, d..., C)
        z = self._op("moveaxis", logits, source=1, destination=-1)
        logp = self._log_softmax_of(z, -1) if log_softmax else z
        classes = self.size(logits, ("shape", 1, None))
        weighted = logp if weight is None else self._bin("mul", logp, weight)
        if isinstance(target, int) and self.graph[target].op == "input":
            return self._class_indices(name, logp, weighted, target, weight, classes, smoothing, reduction, bound)
        # class probabilities (a target the program computes): -sum_c w_c p'_c log p_c, p' smoothed
        probabilities = self._op("moveaxis", target, source=1, destination=-1)
        if smoothing:
            probabilities = self._bin("add", self._bin("mul", self._number(1 - smoothing), probabilities),
                                      self._bin("div", self._number(smoothing), classes))
        loss = self._op("neg", self._reduce("sum", self._bin("mul", probabilities, weighted), -1))
        return self._reduced(loss, reduction)

    def _class_indices(self, name, logp, weighted, target, weight, classes, smoothing, reduction, bound):
        node = bound["target"]
        at = self.positions_operand(self._op("expand_dims", target, axis=-1), node, f"{name}()'s target")
        picked = self._op("take_along_axis", weighted, at, axis=-1)
        nll = self._op("neg", self._op("squeeze", picked, axis=-1))
        loss = nll
        if smoothing:  # (1 - e) * nll + e / C * -sum_c w_c log p_c
            smooth = self._op("neg", self._reduce("sum", weighted, -1))
            loss = self._bin("add", self._bin("mul", self._number(1 - smoothing), nll),
                             self._bin("div", self._bin("mul", self._number(smoothing), smooth), classes))
        if reduction != "mean" or weight is None:
            return self._reduced(loss, reduction)
        # the weighted mean divides by the weights of the examples' classes
        taken = self.gather(weight, (self.run_time_item(target, node),), node)
        return self._bin("div", self._reduce("sum", loss), self._reduce("sum", taken))

    def _kl_div(self, node, env, prefix, receiver):
        # target * (log(target) - input), 0 where target is 0; exp(t) * (t - input) for log targets
        self._env = env
        bound = self._args("kl_div", node, None,
                           ("input", "target", "size_average", "reduce", "reduction", "log_target"), {}, 2)
        x, t = self._tensor_arg(bound, "input", env), self._tensor_arg(bound, "target", env)
        if self._flag(bound, "log_target", False):
            loss = self._bin("mul", self._op("exp", t), self._bin("sub", t, x))
        else:
            positive = self.cond(sp.StrictGreaterThan, [t, sp.Integer(0)], node)
            safe = self._op("where", positive, t, sp.Float(1.0))
            loss = self._op("where", positive, self._bin("mul", t, self._bin("sub", self._op("log", safe), x)),
                            self._op("neg", self._bin("mul", t, x)))
        reduction = bound.get("reduction")
        if isinstance(reduction, ast.Constant) and reduction.value == "batchmean":  # the sum over the batch size
            return self._bin("div", self._reduce("sum", loss), self.size(x, ("shape", 0, None)))
        return self._reduced(loss, self._reduction(bound))

    # ---- similarities and normalisations ------------------------------------------------
    def _norm(self, x, axis, keepdims: bool):
        return self._op("sqrt", self._reduce("sum", self._bin("mul", x, x), axis, keepdims))

    def _cosine_similarity(self, node, env, prefix, receiver):
        # x1 . x2 / (max(|x1|, eps) * max(|x2|, eps)) along dim
        self._env = env
        bound = self._args("cosine_similarity", node, None, ("x1", "x2", "dim", "eps"), {}, 2)
        a, b = self._tensor_arg(bound, "x1", env), self._tensor_arg(bound, "x2", env)
        axis = self._dim(bound, "dim", "cosine_similarity", default=1)
        eps = self._number(self._constant(bound, "eps", 1e-8, "cosine_similarity()'s eps", positive=True))
        dot = self._reduce("sum", self._bin("mul", a, b), axis)
        na, nb = (self._op("maximum", self._norm(v, axis, False), eps) for v in (a, b))
        return self._bin("div", dot, self._bin("mul", na, nb))

    def _normalize(self, node, env, prefix, receiver):
        # x / max(|x|_p, eps) along dim, the norm kept as an axis of size 1
        self._env = env
        bound = self._args("normalize", node, None, ("input", "p", "dim", "eps", "out"), {}, 1)
        if "out" in bound:
            raise self.error(bound["out"], "normalize()'s out= is not supported", "assign the result")
        x = self._tensor_arg(bound, "input", env)
        p = self._constant(bound, "p", 2.0, "normalize()'s p", positive=True, zero=False)
        axis = self._dim(bound, "dim", "normalize", default=1)
        eps = self._number(self._constant(bound, "eps", 1e-12, "normalize()'s eps", positive=True))
        if p == 2.0:
            norm = self._norm(x, axis, True)
        else:
            powered = self._bin("pow", self._op("abs", x), self._number(p))
            norm = self._bin("pow", self._reduce("sum", powered, axis, True), self._number(1.0 / p))
        return self._bin("div", x, self._op("maximum", norm, eps))

    def _linear(self, node, env, prefix, receiver):
        # input @ weight.T + bias
        self._env = env
        bound = self._args("linear", node, None, ("input", "weight", "bias"), {}, 2)
        x, w = self._tensor_arg(bound, "input", env), self._tensor_arg(bound, "weight", env)
        out = self._op("matmul", x, self._op("transpose", w))  # weight: (out_features, in_features)
        if "bias" in bound and not (isinstance(bound["bias"], ast.Constant) and bound["bias"].value is None):
            out = self._bin("add", out, self._tensor_arg(bound, "bias", env))
        return out

    def _layer_norm(self, node, env, prefix, receiver):
        # (x - mean) / sqrt(var + eps) over the last len(normalized_shape) axes, then * weight + bias
        self._env = env
        bound = self._args("layer_norm", node, None, ("input", "normalized_shape", "weight", "bias", "eps"), {}, 2)
        x = self._tensor_arg(bound, "input", env)
        shape_node = bound["normalized_shape"]
        sizes = shape_node.elts if isinstance(shape_node, (ast.Tuple, ast.List)) else [shape_node]
        if not sizes:
            raise self.error(shape_node, "layer_norm()'s normalized_shape needs at least one size")
        for item in sizes:  # how many trailing axes it names is what counts; each must be a size
            size = self.expr(item, env)
            if not (isinstance(size, sp.Integer) or isinstance(size, int) and self.plain(size)):
                raise self.error(item, "layer_norm()'s normalized_shape must list sizes: integers or sizes "
                                       "read off arrays", "write (d,) or (x.shape[-1],)")
        count = len(sizes)
        eps = self._number(self._constant(bound, "eps", 1e-5, "layer_norm()'s eps", positive=True))
        axes = tuple(range(-count, 0))
        mean = self._op("mean", x, axes=axes, keepdims=True)
        centred = self._bin("sub", x, mean)
        var = self._op("mean", self._bin("mul", centred, centred), axes=axes, keepdims=True)
        out = self._bin("div", centred, self._op("sqrt", self._bin("add", var, eps)))
        for key, name in (("weight", "mul"), ("bias", "add")):
            if key in bound and not (isinstance(bound[key], ast.Constant) and bound[key].value is None):
                out = self._bin(name, out, self._tensor_arg(bound, key, env))
        return out


__all__ = ["LOSSES", "LOSS_PREFIXES", "SOFTMAX_PREFIXES", "Losses"]
