"""derivgen: compile math written in Python into standalone NumPy gradient code.

    >>> import derivgen
    >>> mod = derivgen.compile("sin(x**2)", wrt=["x"])
    >>> round(float(mod.backward(x=4.0).x), 6)
    -7.661276
"""

__version__ = "0.1.0"

from .errors import CheckFailed, DerivgenError, ParseError, UnsupportedError, UsageError  # noqa: E402
from .compiler import compile, generate, load  # noqa: E402
from .check import gradcheck  # noqa: E402
from . import formulas

__all__ = [
    "__version__", "generate", "compile", "load", "gradcheck",
    "DerivgenError", "ParseError", "UnsupportedError", "UsageError", "CheckFailed",
    "formulas",
]
