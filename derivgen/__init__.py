"""derivgen: compile math written in Python into standalone NumPy gradient code.

    >>> import derivgen
    >>> mod = derivgen.compile("sin(x**2)", wrt=["x"])
    >>> round(float(mod.backward(x=4.0).x), 6)
    -7.661276
"""

__version__ = "0.1.0"

from . import formulas
from .check import gradcheck
from .compiler import compile, generate, load
from .errors import CheckFailed, DerivgenError, ParseError, UnsupportedError, UsageError

__all__ = [
    "CheckFailed",
    "DerivgenError",
    "ParseError",
    "UnsupportedError",
    "UsageError",
    "__version__",
    "compile",
    "formulas",
    "generate",
    "gradcheck",
    "load",
]
