"""Single-use arithmetic written into its user (derivgen/fuse.py): products flatten, and
nothing SymPy would fold away or cancel is fused."""

import numpy as np
import pytest

import derivgen


def test_products_flatten_into_one_expression():
    text = derivgen.generate("sum(sin(a)*exp(-b**2) + log1p(a**2)*b)", wrt=["a", "b"])
    backward = text.split("def backward")[1].split("\ndef ")[0]
    assert "-2*b*" in backward and "2*b*(-" not in backward


def test_an_operand_sympy_would_fold_away_keeps_its_shape():
    mod = derivgen.compile("x ** 0 + 1.5 ** y", wrt=["x", "y"])
    x, y = np.ones((4, 3)), np.full(3, 0.5)
    assert mod.forward(x, y).shape == (4, 3)
    assert derivgen.gradcheck(mod, {"x": x, "y": y}).ok


def test_shared_operands_are_not_cancelled():
    # x*y - y*x is 0 in algebra but nan for an infinite x: fusing both would lose that.
    mod = derivgen.compile("x*y - y*x", wrt=["x"])
    with np.errstate(invalid="ignore"):
        value = mod.forward(np.array([np.inf, 1.0]), np.array([1.0, 2.0]))
    assert np.isnan(value[0]) and value[1] == 0


@pytest.mark.parametrize("source", ["sum((x + 1)*2*y)", "mean(-(y - x)*3)", "sum(x*y*z*w*v)"])
def test_fused_gradients_match_finite_differences(source):
    mod = derivgen.compile(source)
    assert derivgen.gradcheck(mod, shapes={n: (5,) for n in mod.INPUTS}).ok
