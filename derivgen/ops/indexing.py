"""Indexes of ``x[...]`` as static operands: one encoding, read by the shape rules, the printers
and the reference evaluator.

An index is a tuple of items: an int, ``None`` (a new axis), ``Ellipsis``, ``("slice",
start, stop, step)`` (each an int or None) or ``("take", ints)``, a constant list of
positions along one axis (``x[[0, 2]]``), which may name a position more than once.

An index of ``gather`` (``x[np.arange(n), t]``) also reads arrays known only when the module
runs, its operands (x is the first, 0): ``("at", j)`` is the integer array operand j holds (an
input of positions), ``("mask", j)`` the boolean array operand j holds (a condition: the
elements where it holds, in order), ``("arange", j, what)`` is ``np.arange`` of the size ``what`` of operand
j (derivgen/ops/sizes.py: ``("shape", axis, rank)``, ``("size",)``). Their positions may
repeat, as a list's may; NumPy's rules of advanced indexing apply (the arrays broadcast
together).
"""

from __future__ import annotations

import numpy as np

RUN_TIME = ("at", "mask", "arange")  # the kinds of items an index reads off its operands


def as_index(items: tuple, arrays=(), size=None) -> tuple:
    """A Static index as the index NumPy takes (slices, arrays of positions); ``arrays`` are
    the operands a gather's index reads, ``size(array, what)`` the integer a size reads."""
    out = []
    for item in items:
        if isinstance(item, tuple) and item[0] == "slice":
            out.append(slice(*item[1:]))
        elif isinstance(item, tuple) and item[0] == "take":
            out.append(np.array(item[1], dtype=np.intp))
        elif isinstance(item, tuple) and item[0] in ("at", "mask"):
            out.append(arrays[item[1]])
        elif isinstance(item, tuple) and item[0] == "arange":
            out.append(np.arange(size(arrays[item[1]], item[2])))
        else:
            out.append(item)
    return tuple(out)


def index_text(items: tuple, run_time=None) -> str:
    """A Static index as the text between the brackets of a subscript: ``1:, None, ::2``;
    ``run_time(item)`` writes the items a gather's index reads off its operands."""
    if not items:
        return "()"
    parts = []
    for item in items:
        if isinstance(item, tuple) and item[0] in RUN_TIME:
            parts.append(run_time(item))
        elif item is None:
            parts.append("None")
        elif item is Ellipsis:
            parts.append("...")
        elif isinstance(item, tuple) and item[0] == "slice":
            start, stop, step = ("" if v is None else str(v) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif isinstance(item, tuple) and item[0] == "take":
            parts.append("[" + ", ".join(str(i) for i in item[1]) + "]")
        else:
            parts.append(str(item))
    return ", ".join(parts)  # one item is that item (x[[0, 2]] reads the list as positions)


def repeats(items: tuple) -> bool:
    """Whether an index can select one element more than once (a list of positions)."""
    return any(isinstance(i, tuple) and i[0] in ("take", *RUN_TIME) for i in items)


