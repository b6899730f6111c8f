"""Hand-written baselines: what a person writes by hand for each benchmark program.

Each one computes the same value and gradients as the derivgen module for its workload; run.py
checks that (allclose) before it times anything. They are meant to be the code a NumPy expert
writes, not straw men: scalar code uses `math` with constants inlined, array code reuses
buffers in place, reduces with np.dot, and writes the gradient out with the shared terms
computed once.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-8
# clamp(sigmoid(z), EPS, 1 - EPS) == sigmoid(clip(z, Z_LO, Z_HI)): the clamp in logit space.
Z_HI = math.log1p(-EPS) - math.log(EPS)
Z_LO = -Z_HI


# --- Workload 1: the seed's scalar examples, on Python floats -----------------------------

def square_value_math(x):
    return x * x


def square_backward_math(x):
    return 2.0 * x


def square_value_numpy(x):
    return np.square(x)


def square_backward_numpy(x):
    return np.multiply(2.0, x)


def sin_square_value_math(x):
    return math.sin(x * x)


def sin_square_backward_math(x):
    return 2.0 * x * math.cos(x * x)


def sin_square_value_numpy(x):
    return np.sin(np.square(x))


def sin_square_backward_numpy(x):
    return 2.0 * x * np.cos(np.square(x))


def bce_value_and_grad_math(x, y, w, b):
    """Binary cross-entropy of sigmoid(w x + b) against y, clamped to [1e-8, 1 - 1e-8]."""
    p = 1.0 / (1.0 + math.exp(-(w * x + b)))
    if 1e-8 <= p <= 0.99999999:
        loss = -(y * math.log(p) + (1.0 - y) * math.log(1.0 - p))
        dz = p - y  # dL/dp * dp/dz = (p - y) / (p (1 - p)) * p (1 - p)
    else:  # the clamp holds p at a bound and passes no gradient
        pc = 1e-8 if p < 1e-8 else 0.99999999
        loss = -(y * math.log(pc) + (1.0 - y) * math.log(1.0 - pc))
        dz = 0.0
    return loss, (dz * x, dz)


def bce_value_and_grad_numpy(x, y, w, b):
    p = 1.0 / (1.0 + np.exp(-(w * x + b)))
    pc = np.minimum(np.maximum(p, 1e-8), 0.99999999)  # np.clip costs microseconds on scalars
    loss = -(y * np.log(pc) + (1.0 - y) * np.log(1.0 - pc))
    dz = p - y if pc == p else 0.0
    return loss, (dz * x, dz)


# --- Workload 2: mean(x**2) ----------------------------------------------------------------

def mean_square_value_and_grad(x):
    n = x.size
    return np.dot(x, x) / n, x * (2.0 / n)


# --- Workload 3: mean binary cross-entropy, gradients for w and b -------------------------

def bce_mean_fused(x, y, w, b):
    """The program as written (sigmoid, clamp, two logs) fused by hand.

    Buffers are reused in place, sums are dot products, and the gradient is the chain rule
    written out: dL/dz = dL/dp * p (1 - p), zero where the clamp is active.
    """
    n = x.size
    p = np.multiply(x, -w)
    p -= b
    with np.errstate(over="ignore"):  # exp(-z) = inf for z < -709 gives p = 0, as it should
        np.exp(p, out=p)
    p += 1.0
    np.reciprocal(p, out=p)  # p = sigmoid(w x + b)
    pc = np.clip(p, EPS, 1.0 - EPS)
    clamped = pc != p
    t = np.log(pc)
    y_log_p = np.dot(y, t)
    q = np.subtract(1.0, pc)
    np.log(q, out=t)
    loss = -(y_log_p + t.sum() - np.dot(y, t)) / n
    # n dL/dpc = (1 - y) / (1 - pc) - y / pc = (pc - y) / (pc (1 - pc))
    g = np.subtract(pc, y, out=t)
    pc *= q
    g /= pc
    # dpc/dz = p (1 - p) where the clamp passes the gradient, 0 where it is active
    np.subtract(1.0, p, out=q)
    q *= p
    g *= q
    np.copyto(g, 0.0, where=clamped)
    return loss, (np.dot(g, x) / n, g.sum() / n)


def bce_mean_algebraic(x, y, w, b):
    """The same function through its algebra.

    clamp(sigmoid(z), eps, 1 - eps) = sigmoid(zc) with zc = clip(z, logit(eps), logit(1 - eps)),
    the loss is softplus(zc) - y zc, and dL/dz = (sigmoid(z) - y) / n where the clamp is
    inactive. |zc| <= 18.5, so exp(zc) cannot overflow and no stable forms are needed.
    """
    n = x.size
    z = np.multiply(x, w)
    z += b
    zc = np.clip(z, Z_LO, Z_HI)
    clamped = zc != z
    y_z = np.dot(y, zc)
    e = np.exp(zc, out=z)
    loss = (np.log1p(e, out=zc).sum() - y_z) / n  # softplus(zc) = log1p(exp(zc))
    np.add(e, 1.0, out=zc)
    g = np.divide(e, zc, out=e)  # sigmoid(zc)
    g -= y
    np.copyto(g, 0.0, where=clamped)
    return loss, (np.dot(g, x) / n, g.sum() / n)


# --- Workload 4: sum(sin(a) exp(-b^2) + log1p(a^2) b), gradients for a and b --------------

def elementwise_fused(a, b):
    """Value and both gradients, computing sin(a), exp(-b^2) and log1p(a^2) once each."""
    sin_a = np.sin(a)
    exp_b = np.multiply(b, b)
    np.negative(exp_b, out=exp_b)
    np.exp(exp_b, out=exp_b)  # exp(-b^2)
    a2 = np.multiply(a, a)
    log_a = np.log1p(a2)
    value = np.dot(sin_a, exp_b) + np.dot(log_a, b)
    # d/db = log1p(a^2) - 2 b sin(a) exp(-b^2)
    grad_b = np.multiply(sin_a, exp_b, out=sin_a)
    grad_b *= b
    grad_b *= -2.0
    grad_b += log_a
    # d/da = cos(a) exp(-b^2) + 2 a b / (1 + a^2)
    grad_a = np.multiply(a, b, out=log_a)
    grad_a *= 2.0
    a2 += 1.0
    grad_a /= a2
    cos_a = np.cos(a, out=a2)
    cos_a *= exp_b
    grad_a += cos_a
    return value, (grad_a, grad_b)
