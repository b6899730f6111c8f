"""Gradients at kinks and undefined points follow PyTorch, point for point.

Finite differences cannot see these conventions, so every expected value here is
written out by hand: relu'(0) = 0, abs'(0) = 0, sign/floor/ceil have gradient 0,
clamp passes the gradient on lo <= x <= hi (both ends inclusive), maximum/minimum
split ties 0.5/0.5, hypot'(0, 0) = 0 (as abs'(0); PyTorch's a / hypot(a, b) is nan
there), arctan2'(0, 0) is nan (as PyTorch's: atan2 is not continuous there), where() sends the gradient to the selected branch only, and the
pow conventions at a zero base or exponent. Each case runs on float64 and float32
arrays, and point by point on Python floats (the generated code's scalar path).
Expected zeros must be exactly zero (atol=0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

DTYPES = ["float64", "float32", "python float"]


def check_gradients(module, inputs: dict, expected: dict, dtype: str):
    assert set(module.WRT) == set(expected)
    if dtype == "python float":
        got = _pointwise_gradients(module, inputs)
        dtype = "float64"
    else:
        arrays = {name: np.asarray(value, dtype=dtype) for name, value in inputs.items()}
        with np.errstate(divide="ignore", invalid="ignore"):  # e.g. 0 ** -1 in the unselected branch
            got = module.backward(**arrays)._asdict()
    for name in module.WRT:
        grad = np.asarray(got[name])
        assert grad.dtype == np.dtype(dtype), name
        np.testing.assert_allclose(grad, np.asarray(expected[name], dtype=dtype), rtol=1e-6, atol=0,
                                   err_msg=f"gradient with respect to {name}")


def _pointwise_gradients(module, inputs: dict) -> dict:
    """backward called once per element with Python floats; a scalar input's gradients are summed."""
    n = max(np.size(v) for v in inputs.values())
    columns = {name: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for name, v in inputs.items()}
    per_point = []
    for i in range(n):
        with np.errstate(divide="ignore", invalid="ignore"):
            grads = module.backward(**{name: float(column[i]) for name, column in columns.items()})
        assert all(np.ndim(g) == 0 for g in grads)
        per_point.append(grads._asdict())
    return {name: np.array([p[name] for p in per_point], dtype=float).reshape(-1) if np.ndim(inputs[name])
            else np.sum([float(p[name]) for p in per_point]) for name in module.WRT}


def cases(spellings, inputs, expected):
    return [pytest.param(s, inputs, expected, id=s) for s in spellings]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", cases(
    ["relu(x)", "F.relu(x)", "torch.relu(x)", "torch.nn.functional.relu(x)", "x.relu()"],
    {"x": [-1.0, 0.0, 2.0]}, {"x": [0.0, 0.0, 1.0]}))
def test_relu_gradient_at_zero_is_zero(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", cases(
    ["abs(x)", "np.absolute(x)", "torch.abs(x)", "math.fabs(x)", "x.abs()"],
    {"x": [-2.0, 0.0, 3.0]}, {"x": [-1.0, 0.0, 1.0]}))
def test_abs_gradient_at_zero_is_zero(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", cases(
    ["hypot(a, b)", "np.hypot(a, b)", "torch.hypot(a, b)", "math.hypot(a, b)"],
    {"a": [0.0, 0.0, 3.0, -3.0], "b": [0.0, -2.0, 4.0, 0.0]},
    {"a": [0.0, 0.0, 0.6, -1.0], "b": [0.0, -1.0, 0.8, 0.0]}))
def test_hypot_gradient_at_the_origin_is_zero_as_abs(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", cases(
    ["arctan2(a, b)", "np.arctan2(a, b)", "torch.atan2(a, b)", "math.atan2(a, b)"],
    {"a": [0.0, 0.0, 3.0, -3.0], "b": [0.0, -2.0, 4.0, 0.0]},
    {"a": [math.nan, -0.5, 0.16, 0.0], "b": [math.nan, 0.0, -0.12, 1 / 3]}))
def test_arctan2_gradient_at_the_origin_is_nan_as_in_pytorch(compiled, source, inputs, expected, dtype):
    # atan2 is not continuous at the origin: no convention would be a derivative there.
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source", ["sign(x)", "floor(x)", "ceil(x)", "torch.sign(x)", "np.floor(x)",
                                    "math.ceil(x)", "x.floor()"])
def test_piecewise_constant_ops_have_zero_gradient_even_at_their_jumps(compiled, source, dtype):
    x = [-1.5, -1.0, 0.0, 0.5, 1.0, 2.0]
    check_gradients(compiled(source), {"x": x}, {"x": [0.0] * len(x)}, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", [
    pytest.param("sign(x) * x", {"x": [-2.0, 0.0, 3.0]}, {"x": [-1.0, 0.0, 1.0]}, id="sign(x) * x"),
    pytest.param("floor(x) * x", {"x": [-1.5, 1.0, 2.5]}, {"x": [-2.0, 1.0, 2.0]}, id="floor(x) * x"),
    pytest.param("ceil(x) + x", {"x": [-1.5, 1.0, 2.5]}, {"x": [1.0, 1.0, 1.0]}, id="ceil(x) + x"),
])
def test_piecewise_constant_ops_contribute_nothing_to_a_product_rule(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


CLAMP_1_2 = {"x": [0.5, 1.0, 1.5, 2.0, 2.5]}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", [
    *cases(["clamp(x, 1, 2)", "np.clip(x, 1.0, 2.0)", "torch.clamp(x, min=1, max=2)", "x.clamp(1, 2)",
            "x.clip(min=1, max=2)", "np.clip(x, a_min=1, a_max=2)"],
           CLAMP_1_2, {"x": [0.0, 1.0, 1.0, 1.0, 0.0]}),
    *cases(["clamp(x, min=1)", "clamp(x, 1, None)", "x.clamp(min=1)"], CLAMP_1_2, {"x": [0.0, 1.0, 1.0, 1.0, 1.0]}),
    *cases(["clamp(x, max=2)", "np.clip(x, None, 2)", "x.clamp(max=2)"], CLAMP_1_2, {"x": [1.0, 1.0, 1.0, 1.0, 0.0]}),
])
def test_clamp_passes_the_gradient_on_the_closed_interval(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_min_zero_passes_the_gradient_at_zero_unlike_relu(compiled, dtype):
    check_gradients(compiled("x.clamp(min=0)"), {"x": [-1.0, 0.0, 1.0]}, {"x": [0.0, 1.0, 1.0]}, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_array_bounds_receive_the_gradient_where_they_are_selected(compiled, dtype):
    # At x == lo or x == hi the gradient goes to x (inclusive interval), not to the bound.
    inputs = {**CLAMP_1_2, "lo": [1.0] * 5, "hi": [2.0] * 5}
    expected = {"x": [0.0, 1.0, 1.0, 1.0, 0.0], "lo": [1.0, 0.0, 0.0, 0.0, 0.0], "hi": [0.0, 0.0, 0.0, 0.0, 1.0]}
    check_gradients(compiled("clamp(x, lo, hi)"), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_scalar_bounds_collect_the_gradient_of_every_clamped_element(compiled, dtype):
    inputs = {"x": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0], "lo": 1.0, "hi": 2.0}
    check_gradients(compiled("torch.clamp(x, min=lo, max=hi)"), inputs,
                    {"x": [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0], "lo": 2.0, "hi": 2.0}, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_with_lo_above_hi_is_hi_and_sends_it_the_whole_gradient(compiled, dtype):
    # min(max(x, lo), hi) == hi everywhere when lo > hi (NumPy and PyTorch agree).
    inputs = {"x": [0.0, 1.5, 3.0], "lo": [2.0, 2.0, 2.0], "hi": [1.0, 1.0, 1.0]}
    module = compiled("clamp(x, lo, hi)")
    np.testing.assert_array_equal(module.forward(**{k: np.asarray(v) for k, v in inputs.items()}), [1.0, 1.0, 1.0])
    check_gradients(module, inputs, {"x": [0.0, 0.0, 0.0], "lo": [0.0, 0.0, 0.0], "hi": [1.0, 1.0, 1.0]}, dtype)


TIES = {"x": [1.0, 2.0, 3.0], "y": [2.0, 2.0, 2.0]}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", [
    *cases(["maximum(x, y)", "np.maximum(x, y)", "torch.maximum(x, y)", "x.maximum(y)"],
           TIES, {"x": [0.0, 0.5, 1.0], "y": [1.0, 0.5, 0.0]}),
    *cases(["minimum(x, y)", "np.minimum(x, y)", "torch.minimum(input=x, other=y)", "x.minimum(y)"],
           TIES, {"x": [1.0, 0.5, 0.0], "y": [0.0, 0.5, 1.0]}),
    pytest.param("maximum(x, 2.0)", {"x": [1.0, 2.0, 3.0]}, {"x": [0.0, 0.5, 1.0]}, id="maximum(x, 2.0)"),
    pytest.param("minimum(2, x)", {"x": [1.0, 2.0, 3.0]}, {"x": [1.0, 0.5, 0.0]}, id="minimum(2, x)"),
    pytest.param("maximum(x, 0)", {"x": [-1.0, 0.0, 1.0]}, {"x": [0.0, 0.5, 1.0]}, id="maximum(x, 0) unlike relu"),
    pytest.param("maximum(x, y)", {"x": [1.0, 2.0, 3.0], "y": 2.0}, {"x": [0.0, 0.5, 1.0], "y": 1.5},
                 id="maximum(x, y) with scalar y sums its shares"),
    pytest.param("maximum(x, x)", {"x": [-1.0, 2.0]}, {"x": [1.0, 1.0]}, id="maximum(x, x) halves add up"),
])
def test_maximum_and_minimum_split_the_gradient_evenly_on_ties(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", [
    pytest.param("where(x > 0, 3 * x, -5 * x)", {"x": [-1.0, 0.0, 2.0]}, {"x": [-5.0, -5.0, 3.0]},
                 id="where(x > 0) at 0 takes the else branch"),
    pytest.param("np.where(x >= 0, 3 * x, -5 * x)", {"x": [-1.0, 0.0, 2.0]}, {"x": [-5.0, 3.0, 3.0]},
                 id="where(x >= 0) at 0 takes the then branch"),
    pytest.param("torch.where(c > 0, a, b)", {"c": [-1.0, 0.0, 1.0], "a": [5.0, 6.0, 7.0], "b": [8.0, 9.0, 10.0]},
                 {"c": [0.0, 0.0, 0.0], "a": [0.0, 0.0, 1.0], "b": [1.0, 1.0, 0.0]},
                 id="branches get the gradient where selected, the condition none"),
    pytest.param("where(x > 0, x, 0.0)", {"x": [-1.0, 0.0, 1.0]}, {"x": [0.0, 0.0, 1.0]},
                 id="a constant branch passes nothing"),
    pytest.param("where(x > 0, x ** 2, x ** -1)", {"x": [-2.0, 2.0]}, {"x": [-0.25, 4.0]},
                 id="each element differentiates only its own branch"),
])
def test_where_sends_the_gradient_to_the_selected_branch_only(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", [
    pytest.param("x ** 2", {"x": [0.0, -3.0]}, {"x": [0.0, -6.0]}, id="x ** 2 at 0"),
    pytest.param("x ** 0", {"x": [0.0, 2.0]}, {"x": [0.0, 0.0]}, id="x ** 0 is flat, even at 0"),
    pytest.param("pow(x, 0.0)", {"x": [0.0, 2.0]}, {"x": [0.0, 0.0]}, id="pow(x, 0.0) is flat, even at 0"),
    pytest.param("x ** 1.0", {"x": [0.0, 2.0]}, {"x": [1.0, 1.0]}, id="x ** 1.0 at 0"),
    pytest.param("x ** y", {"x": [0.0, 0.0, 0.0, 4.0], "y": [0.0, 2.0, 0.5, 0.0]},
                 {"x": [0.0, 0.0, math.inf, 0.0], "y": [0.0, 0.0, 0.0, math.log(4.0)]},
                 id="x ** y: no gradient to x where y == 0, none to y where x == 0 and y >= 0"),
    pytest.param("torch.pow(x, y)", {"x": [0.0], "y": [-1.0]}, {"x": [-math.inf], "y": [-math.inf]},
                 id="pow(0, -1): both gradients are -inf"),
    pytest.param("0.0 ** y", {"y": [0.0, 1.0, -1.0]}, {"y": [0.0, 0.0, -math.inf]},
                 id="constant base 0: no gradient where y >= 0"),
    pytest.param("(-2.0) ** y", {"y": [2.0]}, {"y": [math.nan]}, id="negative constant base: nan like log(-2)"),
])
def test_power_follows_pytorch_at_a_zero_base_or_exponent(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("source, inputs, expected", [
    pytest.param("sqrt(x)", {"x": [0.0, 4.0]}, {"x": [math.inf, 0.25]}, id="sqrt'(0) = inf"),
    pytest.param("log(x)", {"x": [0.0, 4.0]}, {"x": [math.inf, 0.25]}, id="log'(0) = inf"),
    pytest.param("sqrt(x * c)", {"x": [0.5, 2.0], "c": [0.0, 2.0]}, {"x": [math.nan, 0.5], "c": [math.inf, 0.5]},
                 id="sqrt'(0) = inf times the factor 0: nan, as in PyTorch"),
    pytest.param("logaddexp(x, y)", {"x": [1.5, -3.0], "y": [1.5, -3.0]}, {"x": [0.5, 0.5], "y": [0.5, 0.5]},
                 id="logaddexp splits ties exactly in half"),
    pytest.param("logaddexp(x, y)", {"x": [math.inf, -math.inf], "y": [0.0, 0.0]},
                 {"x": [1.0, 0.0], "y": [0.0, 1.0]}, id="logaddexp with an infinite operand"),
    pytest.param("sigmoid(x)", {"x": [-1000.0, 0.0, 1000.0]}, {"x": [0.0, 0.25, 0.0]},
                 id="sigmoid saturates without overflow"),
    pytest.param("softplus(x)", {"x": [-1000.0, 0.0, 1000.0]}, {"x": [0.0, 0.5, 1.0]},
                 id="softplus saturates without overflow"),
])
def test_edge_values_follow_pytorch(compiled, source, inputs, expected, dtype):
    check_gradients(compiled(source), inputs, expected, dtype)
