"""Imports: a source may say which library a name stands for (nothing is ever imported)."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import ParseError

X = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])


def _same(aliased: str, plain: str):
    """The aliased source computes exactly what the one spelled with the default prefixes does."""
    a, b = derivgen.compile(aliased), derivgen.compile(plain)
    va, ga = a.value_and_grad(X)
    vb, gb = b.value_and_grad(X)
    np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(ga.x, gb.x)


@pytest.mark.parametrize("imports, call, plain", [
    ("import autograd.numpy as np", "np.sum(np.tanh(x) * np.pi)", "np.sum(np.tanh(x) * np.pi)"),
    ("import numpy as onp", "onp.sum(onp.sin(x) ** 2)", "np.sum(np.sin(x) ** 2)"),
    ("import jax.numpy as jnp", "jnp.mean(jnp.exp(x))", "np.mean(np.exp(x))"),
    ("from autograd import numpy as anp", "anp.sum(anp.log1p(x * x))", "np.sum(np.log1p(x * x))"),
    ("import autograd.numpy", "autograd.numpy.sum(autograd.numpy.cos(x))", "np.sum(np.cos(x))"),
    ("from torch import nn", "nn.functional.softplus(x).sum()", "F.softplus(x).sum()"),
    ("import torch.nn as nn", "nn.functional.relu(x).sum()", "F.relu(x).sum()"),
    ("import torch.nn.functional as fn", "fn.sigmoid(x).sum()", "F.sigmoid(x).sum()"),
    ("from torch.nn import functional as F", "F.softplus(x).sum()", "F.softplus(x).sum()"),
    ("import torch", "torch.transpose(x, 0, 1).sum()", "torch.transpose(x, 0, 1).sum()"),
    ("from scipy import special", "special.expit(x).sum()", "np.sum(scipy.special.expit(x))"),
    ("import autograd.scipy.special as sps", "sps.logsumexp(x)", "scipy.special.logsumexp(x)"),
    ("from math import pi", "np.sum(x * pi)", "np.sum(x * np.pi)"),
    ("from numpy import exp, sin", "np.sum(exp(sin(x)))", "np.sum(np.exp(np.sin(x)))"),
    ("import numpy as onp", "x[onp.newaxis].sum()", "x[np.newaxis].sum()"),
    ("import numpy as onp\nimport numpy as onp", "onp.sum(x)", "np.sum(x)"),
    ("import autograd.numpy as np\nimport numpy as np", "np.sum(np.sin(x))", "np.sum(np.sin(x))"),
])
def test_an_imported_name_means_its_library(imports, call, plain):
    _same(f"{imports}\n\ndef f(x):\n    return {call}\n", f"def f(x):\n    return {plain}\n")


def test_an_input_named_like_an_import_is_the_input():
    mod = derivgen.compile("import numpy as onp\n\ndef f(onp):\n    return (onp * 2.0).sum()\n")
    np.testing.assert_array_equal(mod.backward(X).onp, np.full_like(X, 2.0))


@pytest.mark.parametrize("source, words, line, col", [
    ("import numpy as os\ndef f(x):\n    return x", "cannot bind 'os': it names another module", 1, 8),
    ("import torch as np\ndef f(x):\n    return x", "cannot make 'np' mean torch", 1, 8),
    ("import math as F\ndef f(x):\n    return x", "cannot make 'F' mean math", 1, 8),
    ("import pandas as pd\ndef f(x):\n    return x", "not 'pandas'", 1, 8),
    ("import numpy, pandas\ndef f(x):\n    return x", "not 'pandas'", 1, 15),
    ("from os import path\ndef f(x):\n    return x", "not 'os'", 1, 1),
    ("from autograd import scipy\ndef f(x):\n    return x", "not 'autograd.scipy'", 1, 22),
    ("from . import np\ndef f(x):\n    return x", "not '.'", 1, 1),
    ("from numpy import *\ndef f(x):\n    return x", "import * is not supported", 1, 19),
    ("from numpy import exp as e\ndef f(x):\n    return x", "'exp' cannot be imported under another name", 1, 19),
    ("from numpy import linalgx\ndef f(x):\n    return x", "'numpy.linalgx' is not a module or function", 1, 19),
    ("import numpy as onp\nimport torch as onp\ndef f(x):\n    return x", "'onp' is bound twice", 2, 8),
    ("import numpy as onp\ndef onp(x):\n    return x", "both a function and an imported", 2, 1),
    ("from math import pi\ndef pi(x):\n    return x", "both a function and an imported", 2, 1),
    ("import numpy as __np\ndef f(x):\n    return x", "names starting with '__'", 1, 8),
    ("import numpy as onp\ndef f(x):\n    return onp.sine(x)", "unknown function 'onp.sine'", 3, 12),
])
def test_an_import_of_anything_else_is_an_error_at_its_name(source, words, line, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert words in info.value.message, info.value.message
    assert (info.value.line, info.value.col) == (line, col), str(info.value)
    assert info.value.hint


def test_an_import_inside_a_function_is_still_refused():
    with pytest.raises(ParseError, match="import statements"):
        derivgen.compile("def f(x):\n    import numpy as onp\n    return onp.sin(x)")
