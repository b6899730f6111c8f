"""Indexes of ``x[...]`` as static operands: one encoding, read by the shape rules, the printers
and the reference evaluator.

An index is a tuple of items: an int, ``None`` (a new axis), ``Ellipsis``, ``("slice",
start, stop, step)`` (each an int or None) or ``("take", ints)``, a constant list of
positions along one axis (``x[[0, 2]]``), which may name a position more than once.
"""

from __future__ import annotations

import numpy as np


def as_index(items: tuple) -> tuple:
    """A Static index as the index NumPy takes (slices, arrays of positions)."""
    out = []
    for item in items:
        if isinstance(item, tuple) and item[0] == "slice":
            out.append(slice(*item[1:]))
        elif isinstance(item, tuple) and item[0] == "take":
            out.append(np.array(item[1], dtype=np.intp))
        else:
            out.append(item)
    return tuple(out)


def index_text(items: tuple) -> str:
    """A Static index as the text between the brackets of a subscript: ``1:, None, ::2``."""
    if not items:
        return "()"
    parts = []
    for item in items:
        if item is None:
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
    return any(isinstance(i, tuple) and i[0] == "take" for i in items)


