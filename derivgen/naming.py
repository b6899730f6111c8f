"""Every name the generated code uses, chosen so no user input can shadow it."""

from __future__ import annotations

from .backends import definitions

# Module-level names referenced inside function bodies, where a parameter of the
# same name would shadow them, and their preferred spellings.
# Builtins the scalar path calls: an input of the same name gets them under an alias.
BUILTINS = ("type", "abs", "min", "max", "float")

# Names of the module's own making: imports, and names its template defines.
MODULE_NAMES = {"np": "np", "math": "math", "special": "special", "Gradients": "Gradients"}
TEMPLATE_NAMES = {
    "scalar_types": "_SCALAR",
    "new_tuple": "_new_tuple",
    "blocks": "_blocks",  # the _Blocks of one call, a local variable
}


def _internal() -> dict[str, str]:
    """Key -> preferred name of everything above and of every run-time helper
    (derivgen/backends/*/runtime.py: ``_sigmoid`` is key "sigmoid"), helpers in copying order."""
    fixed = {**{name: name for name in BUILTINS}, **MODULE_NAMES}
    helpers = {d.key: d.name for d in definitions.definitions()}
    taken = (fixed.keys() | TEMPLATE_NAMES.keys()) & helpers.keys()
    if taken:
        raise ValueError(f"run-time helper keys taken by other names: {sorted(taken)}")
    return {**fixed, **helpers, **TEMPLATE_NAMES}


INTERNAL = _internal()


# What each name needs besides itself, transitively through required(): for the helpers,
# the helpers they call and math where they use it, read from their code.
REQUIRES = {
    **{d.key: d.needs for d in definitions.definitions() if d.needs},
    "blocks": ("Blocks",),
}


def required(keys) -> set[str]:
    """``keys`` and everything they need, transitively (a helper calling a helper that
    needs math needs math)."""
    needed, stack = set(), list(keys)
    while stack:
        key = stack.pop()
        if key not in needed:
            needed.add(key)
            stack.extend(REQUIRES.get(key, ()))
    return needed


class Namer:
    """Hands out names that collide neither with the taken ones nor with each other."""

    def __init__(self, taken):
        self.taken = set(taken)

    def claim(self, preferred: str) -> str:
        name = preferred
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def child(self) -> Namer:
        return Namer(self.taken)


def module_aliases(inputs) -> dict[str, str]:
    namer = Namer(inputs)
    return {key: namer.claim(preferred) for key, preferred in INTERNAL.items()}


def gradient_fields(wrt) -> tuple[str, ...]:
    """The Gradients field of each input: its own name, except that NamedTuple
    fields cannot start with '_', so ``_w`` becomes ``grad_w`` (kept unique)."""
    namer = Namer(n for n in wrt if not n.startswith("_"))
    return tuple(n if not n.startswith("_") else namer.claim("grad" + n) for n in wrt)


def temporary(namer: Namer, index: int) -> str:
    return namer.claim(f"_t{index}")


def gradient_variable(namer: Namer, name: str) -> str:
    return namer.claim(f"grad_{name}")
