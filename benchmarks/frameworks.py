"""PyTorch and JAX versions of the timed workloads, used only when those packages import.

Neither is a dependency: `available()` returns the frameworks that import, and run.py adds a
column for each. Everything runs in float64 on the CPU, and each function returns Python floats
or NumPy arrays, so its results are checked against derivgen like any baseline. The timed calls
include turning the workload's inputs (Python floats, NumPy arrays) into the framework's
tensors and the results back, as a caller holding NumPy data would have to.
"""

from __future__ import annotations

import importlib
import importlib.util

EPS = 1e-8  # the programs' clamp


def available() -> dict[str, str]:
    """{column name: version} of the frameworks that import."""
    found = {}
    for column, module in (("PyTorch", "torch"), ("JAX", "jax")):
        version = _version(module)
        if version is not None:
            found[column] = version
    return found


def _version(module: str) -> str | None:
    """The module's version if it imports; a missing or broken install counts as absent."""
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return str(importlib.import_module(module).__version__)
    except (ImportError, OSError, RuntimeError, AttributeError):
        return None


def implementations(name: str) -> dict[str, object]:
    """{workload key: function} for framework `name` ("PyTorch" or "JAX")."""
    return _torch() if name == "PyTorch" else _jax()


def _torch() -> dict[str, object]:
    import torch

    f64 = torch.float64

    def scalar(x):
        return torch.tensor(x, dtype=f64, requires_grad=True)

    def square_backward(x):
        xt = scalar(x)
        (xt**2).backward()
        return xt.grad.item()

    def sin_square_backward(x):
        xt = scalar(x)
        torch.sin(xt**2).backward()
        return xt.grad.item()

    def bce(x, y, p):
        p = torch.clamp(p, EPS, 1 - EPS)
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))

    def seed_bce(x, y, w, b):
        wt, bt = scalar(w), scalar(b)
        xt, yt = torch.tensor(x, dtype=f64), torch.tensor(y, dtype=f64)
        loss = bce(xt, yt, torch.sigmoid(wt * xt + bt))
        loss.backward()
        return loss.item(), (wt.grad.item(), bt.grad.item())

    def mean_square(x):
        xt = torch.from_numpy(x).requires_grad_(True)
        loss = torch.mean(xt**2)
        loss.backward()
        return loss.item(), (xt.grad.numpy(),)

    def bce_mean(x, y, w, b):
        wt, bt = scalar(w), scalar(b)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss = torch.mean(bce(xt, yt, torch.sigmoid(wt * xt + bt)))
        loss.backward()
        return loss.item(), (wt.grad.item(), bt.grad.item())

    def elementwise(a, b):
        at = torch.from_numpy(a).requires_grad_(True)
        bt = torch.from_numpy(b).requires_grad_(True)
        value = torch.sum(torch.sin(at) * torch.exp(-bt**2) + torch.log1p(at**2) * bt)
        value.backward()
        return value.item(), (at.grad.numpy(), bt.grad.numpy())

    return {
        "square": square_backward,
        "sin_square": sin_square_backward,
        "seed_bce": seed_bce,
        "mean_square": mean_square,
        "bce_mean": bce_mean,
        "elementwise": elementwise,
    }


def _jax() -> dict[str, object]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np

    def bce(x, y, w, b):
        p = jnp.clip(jax.nn.sigmoid(w * x + b), EPS, 1 - EPS)
        return -(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))

    square_grad = jax.jit(jax.grad(lambda x: x**2))
    sin_square_grad = jax.jit(jax.grad(lambda x: jnp.sin(x**2)))
    seed_bce_vg = jax.jit(jax.value_and_grad(bce, argnums=(2, 3)))
    mean_square_vg = jax.jit(jax.value_and_grad(lambda x: jnp.mean(x**2)))
    bce_mean_vg = jax.jit(jax.value_and_grad(lambda x, y, w, b: jnp.mean(bce(x, y, w, b)), argnums=(2, 3)))
    elementwise_vg = jax.jit(jax.value_and_grad(
        lambda a, b: jnp.sum(jnp.sin(a) * jnp.exp(-b**2) + jnp.log1p(a**2) * b), argnums=(0, 1)))

    def scalars(value, grads):
        return float(value), tuple(float(g) for g in grads)

    def arrays(value, grads):
        return float(value), tuple(np.asarray(g) for g in grads)

    return {
        "square": lambda x: float(square_grad(x)),
        "sin_square": lambda x: float(sin_square_grad(x)),
        "seed_bce": lambda x, y, w, b: scalars(*seed_bce_vg(x, y, w, b)),
        "mean_square": lambda x: (float((r := mean_square_vg(x))[0]), (np.asarray(r[1]),)),
        "bce_mean": lambda x, y, w, b: scalars(*bce_mean_vg(x, y, w, b)),
        "elementwise": lambda a, b: arrays(*elementwise_vg(a, b)),
    }
