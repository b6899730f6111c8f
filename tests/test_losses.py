"""torch.nn.functional's losses and normalisations (derivgen/frontend/losses.py): PyTorch's
formulas and defaults, written out here in NumPy, their gradients against finite differences,
stability at extreme logits, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError

RNG = np.random.default_rng(5)
X, Y = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
P = RNG.uniform(0.05, 0.95, (4, 3))
T = np.array([0, 2, 1, 2])
W = np.array([0.5, 2.0, 1.5])


def _lse(z, axis):
    m = np.max(z, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def _logp(z):
    return z - _lse(z, 1)


def _module(body, args):
    return derivgen.compile(f"import numpy as np\nimport torch\nimport torch.nn.functional as F\nimport scipy.special\n"
                            f"def f({args}):\n    return {body}\n")


CASES = [
    ("F.softmax(x, dim=1)", "x", lambda x: np.exp(_logp(x))),
    ("torch.log_softmax(x, -1)", "x", _logp),
    ("x.softmax(0)", "x", lambda x: np.exp(x - _lse(x, 0))),
    ("scipy.special.softmax(x)", "x", lambda x: np.exp(x - _lse(x.reshape(-1), 0)[0])),
    ("F.mse_loss(x, y)", "x, y", lambda x, y: np.mean((x - y) ** 2)),
    ("F.l1_loss(x, y, reduction='sum')", "x, y", lambda x, y: np.sum(np.abs(x - y))),
    ("F.smooth_l1_loss(x, y, beta=0.5)", "x, y",
     lambda x, y: np.mean(np.where(np.abs(x - y) < 0.5, 0.5 * (x - y) ** 2 / 0.5, np.abs(x - y) - 0.25))),
    ("F.huber_loss(x, y, delta=0.7, reduction='none')", "x, y",
     lambda x, y: np.where(np.abs(x - y) < 0.7, 0.5 * (x - y) ** 2, 0.7 * (np.abs(x - y) - 0.35))),
    ("F.binary_cross_entropy(p, y * 0 + 0.3)", "p, y", lambda p, y: np.mean(-(0.3 * np.log(p) + 0.7 * np.log(1 - p)))),
    ("F.binary_cross_entropy_with_logits(x, p)", "x, p", lambda x, p: np.mean(np.logaddexp(0, x) - p * x)),
    ("F.binary_cross_entropy_with_logits(x, p, pos_weight=w)", "x, p, w",
     lambda x, p, w: np.mean((1 - p) * x + (1 + (w - 1) * p) * np.logaddexp(0, -x))),
    ("F.cross_entropy(x, t)", "x, t", lambda x, t: -np.mean(_logp(x)[np.arange(4), t])),
    ("F.cross_entropy(x, t, weight=w, label_smoothing=0.1)", "x, t, w",
     lambda x, t, w: (0.9 * np.sum(-w[t] * _logp(x)[np.arange(4), t]) + 0.1 / 3 * np.sum(-(w * _logp(x)).sum(1)))
     / np.sum(w[t])),
    ("F.cross_entropy(x, F.softmax(y, dim=1))", "x, y", lambda x, y: np.mean(-(np.exp(_logp(y)) * _logp(x)).sum(1))),
    ("F.nll_loss(F.log_softmax(x, dim=1), t, reduction='sum')", "x, t", lambda x, t: -np.sum(_logp(x)[np.arange(4), t])),
    ("F.kl_div(F.log_softmax(x, dim=1), p, reduction='batchmean')", "x, p",
     lambda x, p: np.sum(p * (np.log(p) - _logp(x))) / 4),
    ("F.gaussian_nll_loss(x, y, p)", "x, y, p", lambda x, y, p: np.mean(0.5 * (np.log(p) + (x - y) ** 2 / p))),
    ("F.poisson_nll_loss(x, p)", "x, p", lambda x, p: np.mean(np.exp(x) - p * x)),
    ("F.cosine_similarity(x, y)", "x, y",
     lambda x, y: (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))),
    ("F.normalize(x, p=1.0, dim=0)", "x", lambda x: x / np.abs(x).sum(0)),
    ("F.linear(x, y, w[0] + 0 * y[:, 0])", "x, y, w", lambda x, y, w: x @ y.T + w[0]),
    ("F.layer_norm(x, (3,), w, p[0])", "x, w, p",
     lambda x, w, p: (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * w + p[0]),
]
VALUES = {"x": X, "y": Y, "p": P, "t": T, "w": W}


@pytest.mark.parametrize("body, args, numpy", CASES, ids=[c[0] for c in CASES])
def test_values_are_pytorch_s_and_gradients_check(body, args, numpy):
    names = [a.strip() for a in args.split(",")]
    mod = _module(body, args)
    inputs = [VALUES[n] for n in names]
    np.testing.assert_allclose(mod.forward(*inputs), numpy(*inputs), rtol=1e-12, atol=1e-14)
    wrt = {n: VALUES[n] for n in names}
    assert derivgen.gradcheck(mod, wrt).ok


def test_logits_of_a_thousand_are_exact():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    mod = _module("F.cross_entropy(x, t)", "x, t")
    value, grads = mod.value_and_grad(x, np.array([0, 2]))
    assert value == pytest.approx((0.0 + 1.0 + np.log1p(np.exp(-1.0))) / 2, rel=1e-15)
    assert np.all(np.isfinite(grads.x))
    bce = _module("F.binary_cross_entropy_with_logits(x, p)", "x, p")
    assert bce.forward(np.array([1000.0, -1000.0]), np.array([1.0, 0.0])) == 0.0


@pytest.mark.parametrize("body, message", [
    ("F.softmax(x)", "needs dim="),
    ("F.mse_loss(x, y, reduction='avg')", "reduction must be 'mean', 'sum' or 'none'"),
    ("F.mse_loss(x, y, size_average=True)", "deprecated in PyTorch"),
    ("F.cross_entropy(x, t, ignore_index=0)", "ignore_index= is not supported"),
    ("F.huber_loss(x, y, delta=0)", "must be a positive number"),
    ("F.cross_entropy(x, t, label_smoothing=2.0)", "between 0 and 1"),
    ("F.mse_loss(x)", "missing its argument 'target'"),
    ("F.layer_norm(x, (y,))", "must list sizes"),
    ("F.normalize(x, out=y)", "out= is not supported"),
])
def test_bad_calls_are_errors_at_their_place(body, message):
    with pytest.raises(ParseError) as info:
        _module(body, "x, y, t")
    assert message in info.value.message
    assert info.value.line == 6
