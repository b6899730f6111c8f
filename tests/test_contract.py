"""Reductions of products as dot products (derivgen/contract.py): where they apply, they
give the value and gradients of the product written out; where shapes differ at run
time, the helpers fall back to the product."""

import re

import numpy as np
import pytest

import derivgen


def module(source, wrt, **kw):
    return derivgen.compile(source, wrt=wrt, **kw), derivgen.generate(source, wrt=wrt, **kw)


def reference(x, y):
    """Value and gradients of mean(-(y*log(x) + (1 - y)*log1p(-x))) by hand."""
    value = np.mean(-(y * np.log(x) + (1 - y) * np.log1p(-x)))
    n = np.broadcast(x, y).size
    gx = np.broadcast_to((-(y / x) + (1 - y) / (1 - x)) / n, np.broadcast(x, y).shape)
    gx = gx.sum(axis=tuple(range(gx.ndim - x.ndim))) if gx.ndim > x.ndim else gx
    return value, gx


def test_sum_of_products_is_printed_as_dot_products():
    _, text = module("sum(sin(a)*exp(-b**2) + log1p(a**2)*b)", ["a", "b"])
    body = text.split("def value_and_grad")[1].split("\ndef ")[0]
    assert "_sum_product(" in body and "np.sum(" not in body


@pytest.mark.parametrize("shapes", [((5,), (5,)), ((3, 4), (3, 4)), ((4,), (3, 4)), ((3, 1), (1, 4)), ((), (6,))])
def test_sum_of_products_matches_the_product_written_out(shapes):
    mod, _ = module("sum(a*b + 2*a*c)", ["a", "b", "c"])
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=s) for s in (shapes[0], shapes[1], shapes[1]))
    value, grads = mod.value_and_grad(a, b, c)
    assert value == pytest.approx(np.sum(a * b + 2 * a * c), rel=1e-12)
    expected_a = np.sum(np.broadcast_to(b + 2 * c, np.broadcast(a, b).shape),
                        axis=tuple(range(len(np.broadcast(a, b).shape) - np.ndim(a))))
    if np.ndim(a) and np.shape(a) != np.broadcast(a, b).shape:  # a stretched along axes of size 1
        axes = tuple(i for i, n in enumerate(np.shape(a)) if n == 1)
        expected_a = expected_a.sum(axis=axes, keepdims=True)
    np.testing.assert_allclose(grads.a, expected_a, rtol=1e-12)
    assert np.shape(grads.a) == np.shape(a)


@pytest.mark.parametrize("shapes", [((8,), (8,)), ((2, 8), (8,)), ((8,), (2, 8)), ((), (8,))])
def test_mean_of_products_matches_the_product_written_out(shapes):
    mod, text = module("mean(-(y*log(x) + (1 - y)*log1p(-x)))", ["x"])
    # A dot product over the whole inputs, or in blocks (sums, then one 1/n).
    assert "_mean_product(" in text or ("_sum_product(" in text and "_per_element(" in text)
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, size=shapes[0])
    y = (rng.random(size=shapes[1]) < 0.5).astype(float)
    value, grads = mod.value_and_grad(x=x, y=y)
    expected_value, expected_grad = reference(x, y)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grads.x, expected_grad, rtol=1e-10)


def test_a_sum_of_terms_of_different_shapes_is_not_split():
    # a*b is (n,) while c is a single number: sum(a*b + c) counts c n times.
    mod, text = module("sum(a*b + c)", ["a", "b", "c"])
    assert "_sum_product" not in text
    a, b = np.arange(4.0), np.ones(4)
    assert mod.forward(a, b, 2.0) == pytest.approx(np.sum(a * b + 2.0))
    assert mod.backward(a, b, 2.0).c == pytest.approx(4.0)


def test_gradient_summed_to_a_number_is_a_dot_product():
    mod, text = module("sum(w*x*y)", ["w"])
    assert "_unbroadcast_product(" in text
    x, y = np.arange(5.0), np.linspace(1, 2, 5)
    assert float(mod.backward(1.5, x, y).w) == pytest.approx(np.dot(x, y))
    grads = mod.backward(np.ones((2, 5)), x, y)  # w an array: the product, summed to w's shape
    np.testing.assert_allclose(grads.w, np.broadcast_to(x * y, (2, 5)))
    assert float(mod.backward(1.5, x, y, grad_output=2.0).w) == pytest.approx(2 * np.dot(x, y))


def test_float32_stays_float32():
    mod, _ = module("sum(a*b)", ["a", "b"])
    a = np.ones(6, dtype=np.float32)
    value, grads = mod.value_and_grad(a, a)
    assert value.dtype == np.float32 and grads.a.dtype == np.float32


def test_scalar_path_is_the_plain_product():
    mod, _ = module("mean(-(y*log(x) + (1 - y)*log1p(-x)))", ["x"])
    value, grads = mod.value_and_grad(x=0.25, y=1.0)
    assert value == pytest.approx(-np.log(0.25)) and grads.x == pytest.approx(-4.0)


BCE = """\
def loss(x, y, w, b):
    p = torch.clamp(torch.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
    return torch.mean(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)))
"""


def test_a_mean_count_multiplies_the_sums_not_the_array():
    text = derivgen.generate(BCE, function="loss", wrt=["w", "b"])
    array_path = text.split("def value_and_grad")[1].split("_as_arrays(")[1]
    assert re.search(r"_masked\(_t\d+ - y_?,", array_path)  # no 1/n pass over the array
    mod = derivgen.compile(BCE, function="loss", wrt=["w", "b"])
    rng = np.random.default_rng(4)
    for w_shape in [(), (6,), (3, 6)]:  # the count is hoisted through sums to any shape
        inputs = {"x": rng.normal(size=6), "y": (rng.random(6) < 0.5) * 1.0,
                  "w": rng.normal(size=w_shape), "b": 0.3}
        assert derivgen.gradcheck(mod, inputs).ok


@pytest.mark.parametrize("shape", [(), (3,), (4, 5)])
def test_a_mean_of_squares_is_a_dot_product(shape):
    mod, text = module("mean(x**2)", ["x"])
    assert "_mean_product(x, x)" in text
    x = np.random.default_rng(5).normal(size=shape)
    value, grads = mod.value_and_grad(x)
    assert value == pytest.approx(np.mean(x**2), rel=1e-12)
    np.testing.assert_allclose(grads.x, 2 * x / max(x.size, 1), rtol=1e-12)
