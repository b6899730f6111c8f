"""Every name the generated code uses, chosen so no user input can shadow it."""

from __future__ import annotations

# Module-level names referenced inside function bodies, where a parameter of the
# same name would shadow them, and their preferred spellings.
# Builtins the scalar path calls: an input of the same name gets them under an alias.
BUILTINS = ("type", "abs", "min", "max", "float")

INTERNAL = {
    **{name: name for name in BUILTINS},
    "np": "np",
    "math": "math",
    "Gradients": "Gradients",
    "as_arrays": "_as_arrays",
    "as_real": "_as_real",
    "bad_grad_output": "_bad_grad_output",
    "unbroadcast": "_unbroadcast",
    "sigmoid": "_sigmoid",
    "softplus": "_softplus",
    "logaddexp": "_logaddexp",
    "sigmoid_parts": "_sigmoid_parts",
    "softplus_parts": "_softplus_parts",
    "logaddexp_parts": "_logaddexp_parts",
    "exp_shift": "_exp_shift",
    "masked": "_masked",
    "in_place": "_in_place",
    "scaled": "_scaled",
    "sech2": "_sech2",
    "sech2_scalar": "_sech2_scalar",
    "sum_product": "_sum_product",
    "mean_product": "_mean_product",
    "unbroadcast_product": "_unbroadcast_product",
    "erf": "_erf",
    "logsumexp": "_logsumexp",
    "max_shift": "_max_shift",
    "lse_refine": "_lse_refine",
    "matmul_grad_a": "_matmul_grad_a",
    "matmul_grad_b": "_matmul_grad_b",
    "as_matrices": "_as_matrices",
    "typed": "_typed",
    "reduced_count": "_reduced_count",
    "dot_grad_a": "_dot_grad_a",
    "dot_grad_b": "_dot_grad_b",
    "logaddexp_scalar": "_logaddexp_scalar",
    "sigmoid_parts_scalar": "_sigmoid_parts_scalar",
    "softplus_parts_scalar": "_softplus_parts_scalar",
    "logaddexp_parts_scalar": "_logaddexp_parts_scalar",
    "exp_shift_scalar": "_exp_shift_scalar",
    "scalar_types": "_SCALAR",
    "new_tuple": "_new_tuple",
    "Blocks": "_Blocks",
    "per_element": "_per_element",
    "blocks": "_blocks",  # the _Blocks of one call, a local variable
}


# Helpers that call other helpers or modules.
REQUIRES = {
    "erf": ("math",),
    "logaddexp_scalar": ("math",),
    # The *_parts helpers fall back to the always-exact helpers on extreme inputs.
    "sigmoid": ("math",),
    "sigmoid_parts": ("sigmoid",),
    "softplus_parts": ("softplus", "sigmoid"),
    "logaddexp_parts": ("logaddexp", "sigmoid"),
    "sigmoid_parts_scalar": ("math",),
    "softplus_parts_scalar": ("math",),
    "logaddexp_parts_scalar": ("math", "logaddexp_scalar"),
    "exp_shift_scalar": ("math",),
    "exp_shift": ("math",),
    "logsumexp": ("lse_refine",),
    "reduced_count": ("math",),
    "as_arrays": ("as_real",),
    "sech2_scalar": ("math",),
    "matmul_grad_a": ("unbroadcast", "as_matrices"),
    "matmul_grad_b": ("unbroadcast", "as_matrices"),
    "dot_grad_a": ("unbroadcast",),
    "dot_grad_b": ("unbroadcast",),
    "unbroadcast_product": ("unbroadcast",),
    "blocks": ("Blocks",),
    "per_element": ("math",),
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
