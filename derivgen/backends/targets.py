"""The backends a generated function is written for, each as one unit.

A :class:`Backend` is what the emitter needs to know about a target: the printer that spells
templates for it, whether its values are arrays (then the emitter may split work into blocks,
write results over new arrays nothing else holds, recompute cheap values at each use rather
than keep them, release arrays after their last use and explain those choices in comments),
which programs it can compute at all, and the runtime file its helpers come from. The
emitter asks the backend; it never tests which printer it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .numpy.printer import NumPyPrinter
from .scalar.printer import MathPrinter, scalar_path_possible


@dataclass(frozen=True)
class Backend:
    name: str
    printer: type
    arrays: bool
    runtime: str  # the package whose runtime.py holds its helpers
    computes: Callable  # (graph, value ids) -> whether this backend can compute them all
    module: str  # the module its code calls, imported by every module using the backend
    alias: str  # the key of the name the module is imported under (naming.module_aliases)
    standard: bool  # the module is in Python's standard library (imported in that group)
    # What its values are, formatted with the module aliases: the arrays' type (the Gradients
    # fields' annotation) or the input types a function takes this backend for.
    types: str

    def import_line(self, aliases: dict) -> str:
        name = aliases[self.alias]
        return f"import {self.module}" if name == self.module else f"import {self.module} as {name}"

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


NUMPY = Backend("numpy", NumPyPrinter, arrays=True, runtime="derivgen.backends.numpy",
                computes=lambda graph, ids: True, module="numpy", alias="np", standard=False,
                types="{np}.ndarray")
# Python floats, math and builtins: about six times faster than NumPy on single numbers;
# programs with matrix products or reductions along axes stay on NumPy.
SCALAR = Backend("scalar", MathPrinter, arrays=False, runtime="derivgen.backends.scalar",
                 computes=scalar_path_possible, module="math", alias="math", standard=True,
                 types="float, int, {np}.float64")
