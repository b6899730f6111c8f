"""np.prod, np.cumprod and the sorts (np.sort, torch.sort, torch.msort, torch.topk).

A product's gradient at zeros is the product of the other factors (never prod(x) / x, which is
0 / 0 there); a running product's likewise. A sort's gradient goes to the element each output
came from, equal elements in NumPy's stable argsort order. The spellings and their ordinary
gradients are in tests/opdb.py; here are the zeros, the ties, the errors and the generated code.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import derivgen
from derivgen.errors import ParseError

RNG = np.random.default_rng(11)


def _others(x, axes):
    """The product of the other elements over ``axes`` (a tuple; () for every axis) at each
    element: the derivative of np.prod, one element at a time."""
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if not axes else tuple(a % x.ndim for a in axes)
    out = np.empty_like(x)
    for at in np.ndindex(x.shape):
        group = [j for j in np.ndindex(x.shape) if all(j[d] == at[d] for d in range(x.ndim) if d not in axes)]
        out[at] = np.prod([x[j] for j in group if j != at])
    return out


def _with_zeros(shape, count, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, shape)
    x.reshape(-1)[rng.choice(x.size, count, replace=False)] = 0.0
    return x


@pytest.mark.parametrize(("source", "axes"), [
    ("np.prod(x)", ()), ("x.prod()", ()), ("np.prod(x, keepdims=True)", ()), ("np.prod(x, axis=1)", (1,)),
    ("torch.prod(x, dim=-1, keepdim=True)", (-1,)), ("np.prod(x, axis=(0, 2))", (0, 2)),
    ("np.prod(x, axis=(2, 0, 1))", (0, 1, 2)),
])
@pytest.mark.parametrize("zeros", [1, 2, 3])
def test_the_gradient_of_a_product_at_zeros_is_the_product_of_the_other_factors(source, axes, zeros):
    mod = derivgen.compile(source)
    x = _with_zeros((2, 3, 2), zeros, zeros)
    if zeros == 3:
        x[0, :, 0] = 0.0  # a whole group of zeros: every gradient there is 0
    with np.errstate(all="raise"):  # no 0 / 0 anywhere
        grad = mod.backward(x).x
    expected = _others(x, axes)
    np.testing.assert_allclose(grad, expected, rtol=1e-14, atol=0)
    assert np.all((grad == 0) == (expected == 0))  # exact zeros where two factors are 0
    g = RNG.normal(size=np.shape(mod.forward(x)))
    weights = g if "keep" in source or not axes else np.expand_dims(g, tuple(a % 3 for a in axes))
    np.testing.assert_allclose(mod.backward(x, grad_output=g).x, np.broadcast_to(weights, x.shape) * expected,
                               rtol=1e-13, atol=1e-15)


def _cumprod_grad(x, g, axis):
    """d sum(g * cumprod(x)) / dx along an axis, by its definition: at j, the sum over i >= j of
    g[i] times the product of x[:i + 1] other than x[j]."""
    x, g = np.moveaxis(x, axis, -1), np.moveaxis(g, axis, -1)
    out = np.zeros_like(x)
    for lane in np.ndindex(x.shape[:-1]):
        n = x.shape[-1]
        for j, i in itertools.product(range(n), range(n)):
            if i >= j:
                out[lane + (j,)] += g[lane + (i,)] * np.prod([x[lane + (k,)] for k in range(i + 1) if k != j])
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize(("source", "axis"), [("np.cumprod(x, axis=1)", 1), ("torch.cumprod(x, dim=0)", 0),
                                              ("x.cumprod(-1)", -1), ("np.cumprod(x)", None)])
@pytest.mark.parametrize("zeros", [1, 2, 4])
def test_the_gradient_of_a_running_product_at_zeros_never_divides(source, axis, zeros):
    mod = derivgen.compile(source)
    x = _with_zeros((3, 4), zeros, 10 + zeros)
    value = mod.forward(x)
    np.testing.assert_array_equal(value, np.cumprod(x, axis))
    g = RNG.normal(size=value.shape)
    with np.errstate(all="raise"):
        grad = mod.backward(x, grad_output=g).x
    if axis is None:
        expected = _cumprod_grad(x.reshape(-1), g, 0).reshape(x.shape)
    else:
        expected = _cumprod_grad(x, g, axis)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-14)


def test_a_product_of_no_elements_is_one_and_a_number_stays_a_number():
    mod = derivgen.compile("np.prod(x, axis=1)")
    np.testing.assert_array_equal(mod.forward(np.zeros((2, 0))), [1.0, 1.0])
    assert mod.backward(np.zeros((2, 0))).x.shape == (2, 0)
    value, grads = derivgen.compile("np.prod(x) * 3").value_and_grad(2.5)
    assert value == 7.5 and isinstance(grads.x, float) and grads.x == 3.0
    grad = derivgen.compile("np.prod(x)").backward(2.5).x  # grad_output 1: still a number
    assert isinstance(grad, float) and not isinstance(grad, np.ndarray) and grad == 1.0


# ---- sorting ---------------------------------------------------------------------------------

def _sort_grad(x, g, axis, descending=False, k=None):
    """The gradient derivgen documents: g[i] to the element np.argsort(kind="stable") puts at
    output i (descending: equal elements still in their order in x)."""
    order = np.argsort(-x if descending else x, axis=axis, kind="stable")
    if k is not None:
        order = np.take(order, np.arange(k), axis=axis)
    out = np.zeros_like(x)
    np.put_along_axis(out, order, g, axis=axis)
    return out


TIES = np.array([[2.0, 1.0, 2.0, 1.0, 3.0], [0.0, -0.0, 5.0, 0.0, 5.0], [4.0, 4.0, 4.0, 4.0, 4.0]])


@pytest.mark.parametrize(("source", "axis", "descending", "k"), [
    ("np.sort(x)", -1, False, None), ("np.sort(x, axis=0)", 0, False, None), ("torch.sort(x).values", -1, False, None),
    ("torch.sort(x, dim=-1, descending=True)[0]", -1, True, None), ("x.sort(0, True)[0]", 0, True, None),
    ("torch.msort(x)", 0, False, None), ("torch.topk(x, 2)[0]", -1, True, 2), ("x.topk(3, largest=False).values", -1, False, 3),
    ("torch.topk(x, 2, dim=0).values", 0, True, 2),
])
def test_at_ties_the_gradient_goes_where_a_stable_argsort_puts_each_element(source, axis, descending, k):
    mod = derivgen.compile(source)
    value = mod.forward(TIES)
    expected_value = np.take_along_axis(TIES, np.argsort(-TIES if descending else TIES, axis=axis, kind="stable"), axis)
    if k is not None:
        expected_value = np.take(expected_value, np.arange(k), axis=axis)
    np.testing.assert_array_equal(value, expected_value)
    g = np.arange(1.0, value.size + 1).reshape(value.shape)  # every output's gradient its own
    np.testing.assert_array_equal(mod.backward(TIES, grad_output=g).x, _sort_grad(TIES, g, axis, descending, k))


def test_ties_in_words():
    # ascending: of two equal elements the earlier gets the earlier output's gradient
    x = np.array([3.0, 1.0, 3.0])
    grad = derivgen.compile("np.sort(x)").backward(x, grad_output=np.array([10.0, 20.0, 30.0])).x
    np.testing.assert_array_equal(grad, [20.0, 10.0, 30.0])
    # descending and topk: the first of the equal largest values comes first
    grad = derivgen.compile("torch.topk(x, 1)[0]").backward(x, grad_output=np.array([1.0])).x
    np.testing.assert_array_equal(grad, [1.0, 0.0, 0.0])
    grad = derivgen.compile("torch.sort(x, descending=True)[0]").backward(x, grad_output=np.array([10.0, 20.0, 30.0])).x
    np.testing.assert_array_equal(grad, [10.0, 30.0, 20.0])


def test_nan_sorts_last_ascending_and_first_descending():
    x = np.array([1.0, np.nan, -1.0])
    np.testing.assert_array_equal(derivgen.compile("np.sort(x)").forward(x), [-1.0, 1.0, np.nan])
    np.testing.assert_array_equal(derivgen.compile("torch.sort(x, descending=True)[0]").forward(x), [np.nan, 1.0, -1.0])
    np.testing.assert_array_equal(derivgen.compile("torch.topk(x, 1)[0]").backward(x, grad_output=np.ones(1)).x,
                                  [0.0, 1.0, 0.0])


def test_sorted_values_unpacked_and_the_flattened_sort():
    source = """
def f(x, w):
    values, indices = torch.sort(x, dim=1, descending=True)
    top = torch.topk(x, 2).values
    return (values * w).sum() + top.sum() + np.sum(np.sort(x, axis=None)[-1])
"""
    mod = derivgen.compile(source, function="f")
    x, w = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    expected = (np.sum(-np.sort(-x, 1) * w) + np.sum(-np.sort(-x, 1)[:, :2]) + np.sort(x, None)[-1])
    np.testing.assert_allclose(mod.forward(x, w), expected, rtol=1e-14)
    grad = mod.backward(x, w).x
    manual = _sort_grad(x, w, 1, True) + _sort_grad(x, np.ones((3, 2)), -1, True, 2)
    manual.reshape(-1)[np.argmax(x)] += 1.0
    np.testing.assert_allclose(grad, manual, rtol=1e-14)


def test_topk_of_more_elements_than_there_are_is_an_error_when_the_module_runs():
    mod = derivgen.compile("torch.topk(x, 4)[0]")
    with pytest.raises(ValueError, match="k = 4 is out of range"):
        mod.forward(np.ones((2, 3)))
    np.testing.assert_array_equal(derivgen.compile("torch.topk(x, 0)[0]").forward(np.ones((2, 3))).shape, (2, 0))


# ---- what is refused, and where ----------------------------------------------------------------

@pytest.mark.parametrize(("source", "message", "col"), [
    ("np.prod(x, initial=2.0)", "prod()'s initial= is not supported", 20),
    ("np.prod(x, where=x > 0)", "prod()'s where= is not supported", 18),
    ("torch.topk(x, k)", "torch.topk()'s k must be an integer known at compile time", 15),
    ("torch.topk(x, 2.5)[0]", "torch.topk()'s k must be an integer", 15),
    ("torch.topk(x, True)[0]", "torch.topk()'s k must be an integer, not True", 15),
    ("torch.topk(x, -1)[0]", "k must be 0 or more, not -1", 15),
    ("torch.topk(x)[0]", "torch.topk() is missing its argument 'k'", 1),
    ("torch.topk(x, 2, sorted=False)[0]", "torch.topk(sorted=False) leaves the order", 25),
    ("torch.topk(x, 2, largest=y > 0)[0]", "torch.topk()'s largest must be a constant True or False", 26),
    ("torch.sort(x, descending=d)[0]", "torch.sort()'s descending must be a constant True or False", 26),
    ("torch.sort(x, stable=1)[0]", "torch.sort()'s stable must be a constant True or False", 22),
    ("torch.sort(x, 0, False, True)[0]", "torch.sort() takes at most 3 positional arguments, got 4", 1),
    ("x.sort(0, True, True)[0]", "x.sort() takes at most 2 positional arguments, got 3", 1),
    ("np.sort(x, order='f')", "np.sort()'s order= sorts the fields of a structured array", 18),
    ("np.sort(x, kind='fast')", "np.sort()'s kind must be a constant", 17),
    ("np.sort(x, descending=True)", "np.sort() got an unexpected keyword 'descending'", 23),
    ("np.sort(x, axis=(0, 1))", "a single axis is needed here, not a tuple", 17),
    ("np.sort(2.0)", "np.sort() of a single number is not defined here", 9),
    ("np.topk(x, 2)", "NumPy has no topk()", 1),
    ("torch.sort(x) + 1", "torch.sort() returns (values, indices), not an array", 1),
    ("np.cumprod(x, axis=(0, 1))", "a single axis is needed here, not a tuple", 20),
])
def test_what_a_module_cannot_compute_is_refused_at_its_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in info.value.message and info.value.col == col, (info.value.message, info.value.col)
    assert info.value.line == 1


def test_the_indices_are_the_positions_that_sort():
    # (they were refused before positions were computed; now they are read as numbers)
    source = """
def f(x):
    values, indices = x.sort(1)
    return values[:, 0] + indices[:, 0]
"""
    mod = derivgen.compile(source, function="f")
    x = np.array([[3.0, 1.0, 2.0], [0.5, 0.5, -1.0]])
    order = np.argsort(x, axis=1, kind="stable")
    np.testing.assert_array_equal(mod.forward(x), np.take_along_axis(x, order, 1)[:, 0] + order[:, 0])
    np.testing.assert_array_equal(mod.backward(x).x, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


# ---- the generated code ----------------------------------------------------------------------

SOURCE = ("np.sum(np.prod(x, axis=(0, 1)) * w) + np.sum(np.cumprod(x, 1) * np.sort(x, 0)) "
          "+ torch.topk(x.ravel(), 2).values.sum() + np.prod(x)")


def test_the_generated_module_is_lint_clean_and_the_same_every_time(tmp_path):
    text = derivgen.generate(SOURCE)
    path = tmp_path / "products.py"
    path.write_text(text)
    ruff = os.path.join(os.path.dirname(sys.executable), "ruff")
    command = [ruff] if os.path.exists(ruff) else [sys.executable, "-m", "ruff"]
    out = subprocess.run([*command, "check", "--no-cache", "--isolated", "--select", "E,F,W", "--ignore", "E501",
                          str(path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    script = "import sys, derivgen\nprint(derivgen.generate(sys.stdin.read()), end='')\n"
    for seed in ("0", "7"):
        again = subprocess.run([sys.executable, "-c", script], input=SOURCE, capture_output=True, text=True,
                               env=dict(os.environ, PYTHONHASHSEED=seed), check=True).stdout
        assert again == text
    for helper in ("def _shift(", "def _linrec(", "def _argsort("):
        assert helper in text
