"""The modules a source may name: the imports it may write and the prefixes they bind.

Nothing is ever imported. An import statement says which library a name stands for:
``import autograd.numpy as np`` or ``import numpy as onp`` makes ``onp.sin`` NumPy's sin, as
``np.sin`` is without any import. The libraries are the ones derivgen reads (NumPy, PyTorch,
math, SciPy's special functions) and the drop-in spellings of them (autograd's and JAX's NumPy).
"""

from __future__ import annotations

import ast
import sys

from .. import ops
from ..errors import UnsupportedError
from .distributions import DISTRIBUTIONS, METHODS
from .language import MODULE_ROOTS, short

# Each module a source may import, and the library whose functions it names.
MODULES = {
    "numpy": "numpy", "autograd.numpy": "numpy", "jax.numpy": "numpy",
    "math": "math",
    "torch": "torch", "torch.nn": "torch.nn", "torch.nn.functional": "torch.nn.functional",
    "torch.special": "torch.special",
    "scipy": "scipy", "scipy.special": "scipy.special", "autograd.scipy.special": "scipy.special",
    "jax.scipy.special": "scipy.special",
    "scipy.stats": "scipy.stats", "jax.scipy.stats": "scipy.stats",
    **{f"{root}scipy.stats.{name}": f"scipy.stats.{name}" for root in ("", "jax.") for name in DISTRIBUTIONS},
}
# What the prefixes mean without an import (derivgen/ops PREFIXES); an import cannot make
# one of them mean another library.
_ROOTS = {"np": "numpy", "numpy": "numpy", "torch": "torch", "math": "math", "F": "torch.nn.functional",
          "scipy": "scipy"}
# The packages a module above is reached from: `import autograd.numpy` binds `autograd`.
_PACKAGES = {name.split(".")[0] for name in MODULES}
_IMPORTS_HINT = ("import numpy, torch, torch.nn.functional, math, scipy.special or scipy.stats (aliases of them "
                 "too; from scipy.stats import norm)")


def canonical(path: str) -> str:
    """``path`` with the longest module it starts with replaced by its library:
    autograd.numpy.sin -> numpy.sin."""
    for module in sorted(MODULES, key=len, reverse=True):
        if path == module or path.startswith(module + "."):
            return MODULES[module] + path[len(module):]
    return path


class Modules:
    """The module names of one source: ``self.imports`` maps a local name to the module
    path it stands for (``onp`` -> ``numpy``, ``autograd`` -> ``autograd``)."""

    def module_path(self, dotted: str | None, env) -> str | None:
        """The library path a dotted name reads (``onp.sin`` -> ``numpy.sin``), or None where
        its root is not a module (an input, a constant, a local value)."""
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        if root in env or root in self.globals:
            return None
        if root in self.imports:
            return canonical(self.imports[root] + ("." + rest if rest else ""))
        return dotted if root in MODULE_ROOTS else None

    def call_path(self, dotted: str | None, env) -> str | None:
        """The library path of a called name: module_path's, and, without an import, SciPy's
        for ``special.gammaln(x)`` (a special function), ``stats.norm.logpdf(x)`` (a
        distribution) and ``norm.logpdf(x)`` (its own functions only) where that first name is
        no input, local or import: ``t.sum()`` of an input t stays the input's."""
        path = self.module_path(dotted, env)
        if path is not None or dotted is None:
            return path
        root, _, rest = dotted.partition(".")
        if root in env or root in self.globals or root in self.inputs or root in self.imports or not rest:
            return None
        if root == "special" and ops.lookup(f"scipy.special.{rest}") is not None:
            return f"scipy.{dotted}"
        dist, _, method = rest.partition(".") if root == "stats" else (root, ".", rest)
        if dist in DISTRIBUTIONS and (root == "stats" or method in METHODS[dist]) and method and "." not in method:
            return f"scipy.stats.{dist}.{method}"
        return None

    def read_import(self, stmt) -> None:
        """Record what an import statement binds, or raise where it names anything else."""
        if isinstance(stmt, ast.ImportFrom):
            if stmt.level or not any(m == stmt.module or m.startswith(f"{stmt.module}.") for m in MODULES):
                raise self._not_a_library(stmt, "." * stmt.level + (stmt.module or ""))
            for alias in stmt.names:
                path = f"{stmt.module}.{alias.name}"
                at = alias if hasattr(alias, "col_offset") else stmt  # alias positions: Python 3.10+
                known = ops.lookup(alias.name) is not None or alias.name in ops.CONSTANTS
                if path in MODULES:
                    self._bind(alias.asname or alias.name, path, at)
                elif stmt.module not in MODULES:  # from autograd import scipy
                    raise self._not_a_library(at, path)
                elif known and alias.asname not in (None, alias.name):
                    raise self.error(at, f"'{short(alias.name)}' cannot be imported under another name",
                                     f"import it as {alias.name}, or write {stmt.module}.{alias.name}")
                elif alias.name in ops.CONSTANTS:
                    self.globals[alias.name] = ops.CONSTANTS[alias.name]  # from math import pi
                elif known:
                    continue  # from numpy import exp: exp is understood bare already
                elif alias.name == "*":
                    raise self.error(at, "from ... import * is not supported",
                                     f"import {stmt.module} as a name, or name the functions used")
                else:
                    raise self.error(at, f"'{short(path)}' is not a module or function derivgen knows",
                                     _IMPORTS_HINT)
            return
        for alias in stmt.names:
            at = alias if hasattr(alias, "col_offset") else stmt
            if alias.name not in MODULES:
                raise self._not_a_library(at, alias.name)
            if alias.asname is None:  # import torch.nn.functional binds torch
                root = alias.name.split(".")[0]
                self._bind(root, root, at)
            else:
                self._bind(alias.asname, alias.name, at)

    def _bind(self, name: str, path: str, at) -> None:
        self._check_name(name, at)
        library = canonical(path)
        if name in _ROOTS and _ROOTS[name] != library:
            raise self.error(at, f"import statements cannot make '{name}' mean {library}: "
                                 f"'{name}' is always {_ROOTS[name]} here",
                             f"import {path} under another name")
        if name not in _PACKAGES and name not in _ROOTS and name in sys.stdlib_module_names:
            raise self.error(at, f"import statements cannot bind '{name}': it names another module",
                             f"import {path} under another name")
        if canonical(self.imports.get(name, path)) != library:  # numpy and autograd.numpy are one
            raise self.error(at, f"'{short(name)}' is bound twice, to two libraries",
                             "use one name for one library")
        self.imports[name] = path

    def _not_a_library(self, stmt, module: str) -> Exception:
        return self.error(stmt, f"import statements are accepted for the libraries derivgen reads, "
                                f"not '{short(module)}'", _IMPORTS_HINT, UnsupportedError)
