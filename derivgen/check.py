"""Torch-free gradient checks: a generated module against central finite differences.

    >>> import derivgen
    >>> mod = derivgen.compile("sin(x) * y")
    >>> derivgen.gradcheck(mod, shapes={"x": (3,), "y": (3,)}).ok
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import CheckFailed, UsageError


@dataclass(frozen=True)
class CheckRow:
    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    ok: bool
    problem: str = ""  # a wrong shape or dtype, described


@dataclass(frozen=True)
class CheckReport:
    rows: tuple[CheckRow, ...]
    dtype: str

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def __str__(self) -> str:
        head = f"{'input':<16} {'shape':<12} {'max abs error':>14} {'max rel error':>14}  status"
        lines = [head]
        for r in self.rows:
            status = "ok" if r.ok else "MISMATCH" + (f" ({r.problem})" if r.problem else "")
            lines.append(f"{r.name:<16} {r.shape!s:<12} {r.max_abs_error:>14.3e} "
                         f"{r.max_rel_error:>14.3e}  {status}")
        return "\n".join(lines)

    def raise_if_failed(self) -> CheckReport:
        if not self.ok:
            raise CheckFailed("gradients disagree with finite differences:\n" + str(self))
        return self


def random_inputs(names, shapes=None, *, seed=0, low=0.25, high=0.75) -> dict:
    """Uniform random float64 inputs of the given shapes (scalars by default)."""
    shapes = dict(shapes or {})
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise UsageError(f"shapes given for unknown inputs: {', '.join(unknown)}; inputs: {', '.join(names)}")
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(low, high, size=tuple(shapes.get(n, ()))) for n in names}


def gradcheck(module, inputs: dict | None = None, *, shapes: dict | None = None, seed: int = 0,
              dtype: str = "float64", low: float = 0.25, high: float = 0.75,
              rtol: float | None = None, atol: float | None = None) -> CheckReport:
    """Compare ``module.backward`` with central differences of ``module.forward``.

    Inputs are ``inputs`` (name -> value) or random in [low, high) with ``shapes``.
    The output is contracted with a random ``grad_output``, so every output element
    is checked. Differences are taken in float64 whatever ``dtype`` the module is
    run in; tolerances default to 1e-6 (float64) or 2e-3 (float32).
    """
    names = tuple(module.INPUTS)
    if inputs is None:
        inputs = random_inputs(names, shapes, seed=seed, low=low, high=high)
    missing = [n for n in names if n not in inputs]
    if missing:
        raise UsageError(f"gradcheck needs a value for every input; missing: {', '.join(missing)}")
    work = np.dtype(dtype)
    if work.kind != "f":
        raise UsageError(f"dtype must be a floating type, got {dtype}")
    rtol = rtol if rtol is not None else (1e-6 if work.itemsize >= 8 else 2e-3)
    atol = atol if atol is not None else (1e-6 if work.itemsize >= 8 else 2e-3)
    exact = {n: np.asarray(inputs[n], dtype=np.float64) for n in names}
    rng = np.random.default_rng(seed + 1)
    out_shape = np.shape(module.forward(*(exact[n] for n in names)))
    grad_output = rng.uniform(0.5, 1.5, size=out_shape)

    def objective(values) -> float:
        value = module.forward(*(values[n] for n in names))
        return float(np.sum(np.asarray(value, dtype=np.float64) * grad_output))

    cast = {n: exact[n].astype(work) for n in names}
    # Positional: an input may itself be named grad_output (the module then renames its own).
    analytic = module.backward(*(cast[n] for n in names), grad_output.astype(work))
    rows = []
    for name in module.WRT:
        got = getattr(analytic, _field(module, name))
        problem = ""
        if np.shape(got) != exact[name].shape:
            problem = f"shape {np.shape(got)}, expected {exact[name].shape}"
        elif np.asarray(got).dtype != work:
            problem = f"dtype {np.asarray(got).dtype}, expected {work}"
        numeric = _central_difference(objective, exact, name)
        got64 = np.broadcast_to(np.asarray(got, dtype=np.float64), numeric.shape) if not problem else numeric
        diff = np.abs(got64 - numeric)
        abs_err = float(diff.max()) if diff.size else 0.0
        rel = diff / np.maximum(np.abs(numeric), 1e-12)
        rel_err = float(rel.max()) if rel.size else 0.0
        ok = not problem and bool(np.all(diff <= atol + rtol * np.abs(numeric)))
        rows.append(CheckRow(name, exact[name].shape, abs_err, rel_err, ok, problem))
    return CheckReport(tuple(rows), work.name)


def _field(module, name: str) -> str:
    fields = module.Gradients._fields
    return fields[list(module.WRT).index(name)]


def _central_difference(objective, values: dict, name: str) -> np.ndarray:
    base = values[name]
    grad = np.zeros_like(base)
    flat = grad.reshape(-1)
    for i in range(base.size):
        x0 = base.reshape(-1)[i]
        h = 6e-6 * max(1.0, abs(x0))  # ~ cbrt(machine epsilon), scaled to the input
        plus, minus = base.copy(), base.copy()
        plus.reshape(-1)[i] = x0 + h
        minus.reshape(-1)[i] = x0 - h
        f_plus = objective({**values, name: plus})
        f_minus = objective({**values, name: minus})
        flat[i] = (f_plus - f_minus) / ((x0 + h) - (x0 - h))
    return grad
