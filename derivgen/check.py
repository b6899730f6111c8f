"""Torch-free gradient checks: a generated module against central finite differences.

    >>> import derivgen
    >>> mod = derivgen.compile("sin(x) * y")
    >>> derivgen.gradcheck(mod, shapes={"x": (3,), "y": (3,)}).ok
    True

Random inputs are drawn inside the domain of the ops that read them. The module's
docstring holds its source; an input that arccosh reads there is drawn from [1.1, 3),
one that log or sqrt reads from positive numbers, and so on (``DOMAINS``); the others
from the default range. ``ranges`` sets an input's range by hand. Where the module's
value or the finite differences are not finite at the inputs, the report says the
inputs are outside the domain, instead of blaming the gradient.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from . import ops
from .errors import CheckFailed, DerivgenError, UsageError
from .frontend import parse
from .graph import placeholder_index

# op -> (the open interval where the op and its derivative are finite, the range an input
# it reads is drawn from when the default range is not inside that interval): the registry's.
DOMAINS = ops.DOMAINS
OUTSIDE = "input outside the domain"


@dataclass(frozen=True)
class InputRange:
    """The range an input's random values are drawn from, and why (empty: the default)."""

    low: float
    high: float
    why: str = ""

    def __str__(self) -> str:
        return f"[{self.low:g}, {self.high:g})" + (f", {self.why}" if self.why else "")


@dataclass(frozen=True)
class CheckRow:
    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    ok: bool
    problem: str = ""  # a wrong shape or dtype, described
    outside_domain: bool = False  # the value or the finite differences are not finite here

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        if self.outside_domain and not self.problem:
            return OUTSIDE
        return "MISMATCH" + (f" ({self.problem})" if self.problem else "")


@dataclass(frozen=True)
class CheckReport:
    rows: tuple[CheckRow, ...]
    dtype: str
    ranges: dict = field(default_factory=dict)  # input name -> InputRange, for random inputs

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def mismatched(self) -> tuple[str, ...]:
        """The inputs whose gradient disagrees with the finite differences."""
        return tuple(r.name for r in self.rows if not r.ok and r.status != OUTSIDE)

    @property
    def outside_domain(self) -> tuple[str, ...]:
        """The inputs whose check could not be made: the module is not finite around them."""
        return tuple(r.name for r in self.rows if r.status == OUTSIDE)

    def __str__(self) -> str:
        head = f"{'input':<16} {'shape':<12} {'max abs error':>14} {'max rel error':>14}  status"
        lines = [head]
        for r in self.rows:
            lines.append(f"{r.name:<16} {r.shape!s:<12} {r.max_abs_error:>14.3e} "
                         f"{r.max_rel_error:>14.3e}  {r.status}")
        return "\n".join(lines)

    def raise_if_failed(self) -> CheckReport:
        if self.mismatched:
            raise CheckFailed("gradients disagree with finite differences:\n" + str(self))
        if self.outside_domain:
            example = self.outside_domain[0]
            raise CheckFailed("the module's value or its finite differences are not finite at the inputs: "
                              f"they are outside its domain:\n{self}\n"
                              f"  hint: give inputs inside the domain, or ranges={{'{example}': (low, high)}}")
        return self


def random_inputs(names, shapes=None, *, seed=0, low=0.25, high=0.75, ranges=None, positions=()) -> dict:
    """Uniform random float64 inputs of the given shapes (scalars by default), in [low, high)
    or in ``ranges[name]`` = (low, high). The inputs in ``positions`` (they index an array:
    ``x[t]``) are integers in their range, by default below the smallest size of the other
    inputs' shapes (so they index an axis of any of those sizes)."""
    shapes = dict(shapes or {})
    unknown = sorted(set(shapes) - set(names))
    if unknown:
        raise UsageError(f"shapes given for unknown inputs: {', '.join(unknown)}; inputs: {', '.join(names)}")
    ranges = _checked_ranges(names, ranges)
    rng = np.random.default_rng(seed)
    result = {}
    for n in names:
        size = tuple(shapes.get(n, ()))
        if n in positions:
            lo, hi = ranges.get(n, (0, positions_top(shapes, positions)))
            first, end = math.ceil(lo), math.ceil(hi)
            if first >= end:
                raise UsageError(f"ranges: the range of {n} holds no whole number, and {n} holds positions "
                                 "(it indexes an array)")
            result[n] = rng.integers(first, end, size=size)
        else:
            result[n] = rng.uniform(*ranges.get(n, (low, high)), size=size)
    return result


def positions_top(shapes, positions) -> int:
    """The default end of the range of an input holding positions: the smallest size of the
    other inputs' shapes (1 where they are all single numbers)."""
    sizes = [int(d) for n, shape in dict(shapes or {}).items() if n not in positions for d in shape]
    return max(1, min(sizes)) if sizes else 1


def input_ranges(module, ranges: dict | None = None, *, low: float = 0.25, high: float = 0.75,
                 shapes: dict | None = None) -> dict:
    """The range each input of ``module`` is drawn from (name -> InputRange): ``ranges[name]``
    where given, else inside the domain of the ops that read it, else [low, high); an input
    holding positions (the module's POSITIONS) draws whole numbers, by default in
    [0, the smallest size of the other inputs' ``shapes``)."""
    names = tuple(module.INPUTS)
    positions = tuple(getattr(module, "POSITIONS", ()))
    given = _checked_ranges(names, ranges)
    reads = domain_ops(module)
    result = {}
    for name in names:
        if name in given:
            result[name] = InputRange(*given[name], "as given" + (", whole numbers" if name in positions else ""))
        elif name in positions:
            result[name] = InputRange(0, positions_top(shapes, positions),
                                      "whole numbers (positions), below the smallest size of the other inputs")
        else:
            result[name] = _inside_domains(reads.get(name, set()), low, high)
    return result


def _checked_ranges(names, ranges) -> dict[str, tuple[float, float]]:
    checked = {}
    for name, bounds in dict(ranges or {}).items():
        if name not in names:
            raise UsageError(f"ranges given for an unknown input: {name}; inputs: {', '.join(names)}")
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise UsageError(f"ranges: the range of {name} must be two numbers (low, high), "
                             f"not {bounds!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise UsageError(f"ranges: the range of {name} must be finite with low < high, not {bounds!r}")
        checked[name] = (lo, hi)
    return checked


def _inside_domains(ops: set[str], low: float, high: float) -> InputRange:
    """[low, high) where it lies inside every op's domain, else the ops' own range."""
    if not ops:
        return InputRange(low, high)
    inside = max(DOMAINS[op][0][0] for op in ops), min(DOMAINS[op][0][1] for op in ops)
    if inside[0] < low and high < inside[1]:
        return InputRange(low, high)
    lo, hi = max(DOMAINS[op][1][0] for op in ops), min(DOMAINS[op][1][1] for op in ops)
    if lo >= hi:  # domains that do not meet: the check will say the inputs are outside
        return InputRange(low, high)
    return InputRange(lo, hi, f"inside the domain of {', '.join(sorted(ops))}")


def domain_ops(module) -> dict[str, set[str]]:
    """For each input, the ops with a restricted domain (``DOMAINS``) that read it directly, from
    the source in the module's docstring; {} where the docstring holds no source to read."""
    program = _source_program(module)
    if program is None:
        return {}
    graph = program.graph
    names = {vid: name for name, vid in program.input_ids.items()}
    reads: dict[str, set[str]] = {}
    for value in graph.values:
        if value.op not in DOMAINS:
            continue
        # the operand the domain is of: the first array (polygamma(n, x)'s x, after its order)
        first = next((i for i, p in enumerate(ops.OPS[value.op].params) if p.kind == "tensor"), 0)
        if len(value.operands) <= first or not isinstance(value.operands[first], sp.Symbol):
            continue
        if value.op in ops.POWERS:
            exponent = value.operands[1]
            if not isinstance(exponent, sp.Number) or float(exponent).is_integer():
                continue  # x**2 or x**y: any real x (or a base that a where guards) is fine
        arg = value.args[placeholder_index(value.operands[first])]
        if arg in names:
            reads.setdefault(names[arg], set()).add(value.op)
    return reads


def _source_program(module):
    """The program in the module's docstring, parsed (None where there is none, or it does
    not have the module's inputs)."""
    source = _docstring_source(getattr(module, "__doc__", None) or "")
    if source is None:
        return None
    inputs = tuple(getattr(module, "INPUTS", ()))
    candidates = [None]
    if "def " in source:
        candidates += re.findall(r"^def\s+(\w+)\s*\(", source, re.MULTILINE)
    for function in candidates:
        try:
            program = parse(source, function, "<docstring>")
        except DerivgenError:
            continue
        if program.inputs == inputs:
            return program
    return None


def _docstring_source(doc: str) -> str | None:
    """The source compiler.py writes into a module's docstring: ``f(x) = <expression>`` or
    the lines after ``Compiled from <file>:``, indented by four spaces."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        expression = re.match(r"^    \w+\([^)]*\) = (.*)$", line)
        if expression and i <= 2:
            return "\n".join([expression.group(1), *_indented(lines[i + 1:])]).strip()
        if line.startswith("Compiled from ") and line.endswith(":"):
            return textwrap.dedent("\n".join(_indented(lines[i + 1:])))
    return None


def _indented(lines: list[str]) -> list[str]:
    """The source's lines: up to the first unindented line after them (a note such as
    "Calls scipy.special")."""
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("    "):
            return lines[:i]
    return lines


def gradcheck(module, inputs: dict | None = None, *, shapes: dict | None = None, seed: int = 0,
              dtype: str = "float64", low: float = 0.25, high: float = 0.75,
              rtol: float | None = None, atol: float | None = None, ranges: dict | None = None) -> CheckReport:
    """Compare ``module.backward`` with central differences of ``module.forward``.

    Inputs are ``inputs`` (name -> value) or random with ``shapes``: in ``ranges[name]`` =
    (low, high) where given, else inside the domain of the ops that read them, else in
    [low, high). The output is contracted with a random ``grad_output``, so every output
    element is checked. Differences are taken in float64 whatever ``dtype`` the module is
    run in; tolerances default to 1e-6 (float64) or 2e-3 (float32). Where the value or
    the differences are not finite, the row says the input is outside the domain.
    """
    names = tuple(module.INPUTS)
    positions = tuple(getattr(module, "POSITIONS", ()))
    sampled = {}
    if inputs is None:
        sampled = input_ranges(module, ranges, low=low, high=high, shapes=shapes)
        inputs = random_inputs(names, shapes, seed=seed, ranges={n: (r.low, r.high) for n, r in sampled.items()},
                               positions=positions)
    elif ranges is not None:
        raise UsageError("ranges= applies to random inputs: give inputs= or ranges=, not both")
    missing = [n for n in names if n not in inputs]
    if missing:
        raise UsageError(f"gradcheck needs a value for every input; missing: {', '.join(missing)}")
    work = np.dtype(dtype)
    if work.kind != "f":
        raise UsageError(f"dtype must be a floating type, got {dtype}")
    rtol = rtol if rtol is not None else (1e-6 if work.itemsize >= 8 else 2e-3)
    atol = atol if atol is not None else (1e-6 if work.itemsize >= 8 else 2e-3)
    # positions are passed as they are (integers); the numbers in float64, then in dtype
    exact = {n: np.asarray(inputs[n]) if n in positions else np.asarray(inputs[n], dtype=np.float64) for n in names}
    rng = np.random.default_rng(seed + 1)
    with np.errstate(all="ignore"):  # outside the domain the report says so, without warnings
        value = module.forward(*(exact[n] for n in names))
        finite = bool(np.all(np.isfinite(value)))
        grad_output = rng.uniform(0.5, 1.5, size=np.shape(value))

        def objective(values) -> float:
            value = module.forward(*(values[n] for n in names))
            return float(np.sum(np.asarray(value, dtype=np.float64) * grad_output))

        cast = {n: exact[n] if n in positions else exact[n].astype(work) for n in names}
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
            outside = not ok and not (finite and bool(np.all(np.isfinite(numeric))))
            rows.append(CheckRow(name, exact[name].shape, abs_err, rel_err, ok, problem, outside))
    return CheckReport(tuple(rows), work.name, sampled)


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
