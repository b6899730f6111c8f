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

    def __repr__(self) -> str:
        return f"Backend({self.name!r})"


NUMPY = Backend("numpy", NumPyPrinter, arrays=True, runtime="derivgen.backends.numpy",
                computes=lambda graph, ids: True)
# Python floats, math and builtins: about six times faster than NumPy on single numbers;
# programs with matrix products or reductions along axes stay on NumPy.
SCALAR = Backend("scalar", MathPrinter, arrays=False, runtime="derivgen.backends.scalar",
                 computes=scalar_path_possible)
