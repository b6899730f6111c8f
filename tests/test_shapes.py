"""Shapes and dtypes: broadcasting, reductions, matrix products, grad_output and float32.

Every gradient has exactly its input's shape (broadcast dimensions summed back) and
dtype; an input the output does not depend on gets zeros; grad_output defaults to
1 (the gradient of the sum of the output) or is an array of the output's shape;
float32 inputs give float32 values and gradients, with no float64 sneaking in.
"""

from __future__ import annotations

import numpy as np
import pytest

import derivgen


def assert_gradcheck(module, inputs=None, **kwargs):
    report = derivgen.gradcheck(module, inputs, **kwargs)
    assert report.ok, f"\n{report}"


def shape_id(shape) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


# ---- broadcasting ----------------------------------------------------------------------

BROADCAST_SOURCES = [
    "x + y", "x - y", "x * y", "x / y", "x ** y", "-x * y", "arctan2(x, y)", "hypot(x, y)", "maximum(x, y)",
    "minimum(x, y)", "logaddexp(x, y)", "where(x > y, x * y, y)", "clamp(x, y, None)", "clamp(x, max=y)",
    "sin(x) * y + x",
]
SHAPE_PAIRS = [((4, 3), (3,)), ((4, 1), (3,)), ((4, 3), ()), ((), (4, 3)), ((2, 4, 3), (4, 1)),
               ((2, 1, 3), (4, 1)), ((1,), (2, 3)), ((3,), (2, 4, 3)), ((), ())]
PAIR_IDS = [f"{shape_id(a)}-{shape_id(b)}" for a, b in SHAPE_PAIRS]


@pytest.mark.parametrize("x_shape, y_shape", SHAPE_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("source", BROADCAST_SOURCES)
def test_broadcast_output_has_the_broadcast_shape(compiled, make_inputs, source, x_shape, y_shape):
    module = compiled(source)
    inputs = make_inputs(module, {"x": x_shape, "y": y_shape}, 0.5, 1.5)
    assert np.shape(module.forward(**inputs)) == np.broadcast_shapes(x_shape, y_shape)


@pytest.mark.parametrize("x_shape, y_shape", SHAPE_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("source", BROADCAST_SOURCES)
def test_broadcast_gradients_have_their_inputs_shapes(compiled, make_inputs, grads, source, x_shape, y_shape):
    module = compiled(source)
    got = grads(module, **make_inputs(module, {"x": x_shape, "y": y_shape}, 0.5, 1.5))
    assert {name: g.shape for name, g in got.items()} == {"x": x_shape, "y": y_shape}


@pytest.mark.parametrize("x_shape, y_shape", SHAPE_PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("source", BROADCAST_SOURCES)
def test_broadcast_gradients_match_finite_differences(compiled, make_inputs, source, x_shape, y_shape):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, {"x": x_shape, "y": y_shape}, 0.5, 1.5))


def test_broadcast_gradient_sums_over_stretched_and_added_axes(compiled):
    module = compiled("x * y")
    x, y = np.arange(24.0).reshape(2, 4, 3), np.ones((4, 1))
    got = module.backward(x, y)
    np.testing.assert_array_equal(got.x, np.ones((2, 4, 3)))
    np.testing.assert_array_equal(got.y, x.sum(axis=(0, 2)).reshape(4, 1))


def test_where_broadcasts_condition_and_branches_together(compiled, make_inputs, grads):
    module = compiled("where(c > 0.5, a * 2, b)")
    inputs = make_inputs(module, {"c": (2, 1, 1), "a": (4, 1), "b": (3,)}, 0.0, 1.0)
    inputs["c"][:] = [[[0.0]], [[1.0]]]  # one slab selects b, the other a
    got = grads(module, **inputs)
    np.testing.assert_array_equal(got["c"], np.zeros((2, 1, 1)))
    np.testing.assert_array_equal(got["a"], np.full((4, 1), 2.0 * 3))
    np.testing.assert_array_equal(got["b"], np.full((3,), 4.0))
    assert_gradcheck(module, inputs)


def test_clamp_with_crossing_broadcast_bounds_matches_finite_differences(compiled):
    # lo and hi drawn from the same range, so lo > hi in about half the elements.
    module = compiled("clamp(x, lo, hi)")
    rng = np.random.default_rng(5)
    inputs = {"x": rng.uniform(-2, 2, (2, 4, 3)), "lo": rng.uniform(-1, 1, (3,)), "hi": rng.uniform(-1, 1, (4, 1))}
    assert (inputs["lo"] > inputs["hi"]).any() and (inputs["lo"] < inputs["hi"]).any()
    np.testing.assert_array_equal(module.forward(**inputs), np.clip(inputs["x"], inputs["lo"], inputs["hi"]))
    assert_gradcheck(module, inputs)


# ---- reductions --------------------------------------------------------------------------

def _logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {"sum": np.sum, "mean": np.mean, "logsumexp": _logsumexp}
AXES = [  # (arguments, axis, keepdims), over an input of shape (4, 3, 2)
    ("", None, False),
    (", axis=0", 0, False),
    (", axis=-1", -1, False),
    (", dim=1", 1, False),
    (", axis=(0, 2)", (0, 2), False),
    (", axis=(-1, 0)", (-1, 0), False),
    (", axis=(0, 1, 2)", (0, 1, 2), False),
    (", axis=1, keepdims=True", 1, True),
    (", dim=-2, keepdim=True", -2, True),
    (", axis=(2, 0), keepdims=True", (2, 0), True),
    (", keepdims=True", None, True),
]
AXIS_IDS = [a.lstrip(", ") or "all" for a, _, _ in AXES]
X3 = (4, 3, 2)


@pytest.mark.parametrize("arguments, axis, keepdims", AXES, ids=AXIS_IDS)
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reduction_value_and_shape_match_numpy(compiled, make_inputs, op, arguments, axis, keepdims):
    module = compiled(f"{op}(x{arguments})")
    inputs = make_inputs(module, {"x": X3})
    got = module.forward(**inputs)
    expected = REDUCTIONS[op](inputs["x"], axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("arguments, axis, keepdims", AXES, ids=AXIS_IDS)
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reduction_gradient_matches_finite_differences(compiled, make_inputs, op, arguments, axis, keepdims):
    module = compiled(f"{op}(x{arguments})")
    assert_gradcheck(module, make_inputs(module, {"x": X3}))


@pytest.mark.parametrize("arguments, axis, keepdims", AXES, ids=AXIS_IDS)
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reduction_of_a_broadcast_product_sums_gradients_back(compiled, make_inputs, grads, op, arguments, axis,
                                                              keepdims):
    module = compiled(f"{op}(x * y{arguments})")
    inputs = make_inputs(module, {"x": X3, "y": (3, 1)}, 0.5, 1.5)
    got = grads(module, **inputs)
    assert {name: g.shape for name, g in got.items()} == {name: v.shape for name, v in inputs.items()}
    assert_gradcheck(module, inputs)


@pytest.mark.parametrize("source, expected", [
    ("sum(x, axis=(0, 2))", 1.0),
    ("mean(x)", 1 / 24),
    ("mean(x, axis=1)", 1 / 3),
    ("mean(x, axis=(0, -1), keepdims=True)", 1 / 8),
    ("x.mean(dim=-1)", 1 / 2),
])
def test_sum_and_mean_spread_the_gradient_evenly(compiled, source, expected):
    got = compiled(source).backward(np.arange(24.0).reshape(X3)).x
    np.testing.assert_allclose(got, np.full(X3, expected), rtol=1e-15)


@pytest.mark.parametrize("arguments, axis", [(", axis=1", 1), (", axis=(0, 2)", (0, 2)), ("", None)])
def test_logsumexp_gradient_is_the_softmax_over_the_reduced_axes(compiled, make_inputs, arguments, axis):
    module = compiled(f"logsumexp(x{arguments})")
    x = make_inputs(module, {"x": X3})["x"]
    softmax = np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)
    np.testing.assert_allclose(module.backward(x).x, softmax, rtol=1e-12)


# ---- matrix products and transpose -------------------------------------------------------

MATMUL_SHAPES = [
    pytest.param((3,), (3, 2), id="1-D@2-D"),
    pytest.param((4, 3), (3,), id="2-D@1-D"),
    pytest.param((3,), (3,), id="1-D@1-D"),
    pytest.param((4, 3), (3, 2), id="2-D@2-D"),
    pytest.param((5, 4, 3), (3, 2), id="3-D@2-D"),
    pytest.param((5, 4, 3), (3,), id="3-D@1-D"),
    pytest.param((3,), (5, 3, 2), id="1-D@3-D"),
    pytest.param((5, 4, 3), (5, 3, 2), id="3-D@3-D"),
    pytest.param((5, 1, 4, 3), (2, 3, 2), id="4-D@3-D broadcast batch"),
]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
@pytest.mark.parametrize("source", ["a @ b", "matmul(a, b)", "torch.matmul(a, b)"])
def test_matmul_value_and_shape_match_numpy(compiled, make_inputs, source, a_shape, b_shape):
    module = compiled(source)
    inputs = make_inputs(module, {"a": a_shape, "b": b_shape})
    expected = np.matmul(inputs["a"], inputs["b"])
    got = module.forward(**inputs)
    assert np.shape(got) == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
@pytest.mark.parametrize("source", ["a @ b", "matmul(a, b)", "sin(a @ b) * 2"])
def test_matmul_gradient_matches_finite_differences(compiled, make_inputs, source, a_shape, b_shape):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, {"a": a_shape, "b": b_shape}))


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_matmul_gradients_have_their_operands_shapes(compiled, make_inputs, grads, a_shape, b_shape):
    module = compiled("a @ b")
    got = grads(module, **make_inputs(module, {"a": a_shape, "b": b_shape}))
    assert (got["a"].shape, got["b"].shape) == (a_shape, b_shape)


def test_matmul_of_vectors_has_the_other_vector_as_gradient(compiled):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    value, got = compiled("a @ b").value_and_grad(a, b, grad_output=2.0)
    assert value == 32.0
    np.testing.assert_array_equal(got.a, 2 * b)
    np.testing.assert_array_equal(got.b, 2 * a)


DOT_SHAPES = [
    pytest.param((3,), (3,), id="1-D.1-D"),
    pytest.param((4, 3), (3,), id="2-D.1-D"),
    pytest.param((3,), (3, 2), id="1-D.2-D"),
    pytest.param((4, 3), (3, 2), id="2-D.2-D"),
    pytest.param((), (3,), id="scalar.1-D"),
    pytest.param((4, 3), (), id="2-D.scalar"),
]


@pytest.mark.parametrize("a_shape, b_shape", DOT_SHAPES)
@pytest.mark.parametrize("source", ["dot(a, b)", "np.dot(a, b)", "a.dot(b)"])
def test_dot_value_matches_numpy_and_gradient_matches_finite_differences(compiled, make_inputs, source,
                                                                          a_shape, b_shape):
    module = compiled(source)
    inputs = make_inputs(module, {"a": a_shape, "b": b_shape})
    expected = np.dot(inputs["a"], inputs["b"])
    got = module.forward(**inputs)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert_gradcheck(module, inputs)


def test_dot_of_a_matrix_and_a_3d_array_matches_finite_differences(compiled, make_inputs):
    module = compiled("dot(a, b)")
    inputs = make_inputs(module, {"a": (4, 3), "b": (2, 3, 5)})
    assert np.shape(module.forward(**inputs)) == (4, 2, 5)
    assert_gradcheck(module, inputs)


@pytest.mark.parametrize("shape", [(4, 3), (3,), (1, 3), ()], ids=shape_id)
@pytest.mark.parametrize("source", ["x.T", "sin(x).T * 2", "transpose(x)", "x.t()"])
def test_transpose_value_and_gradient(compiled, make_inputs, source, shape):
    module = compiled(source)
    inputs = make_inputs(module, {"x": shape})
    got = module.forward(**inputs)
    assert np.shape(got) == np.shape(inputs["x"].T)
    assert_gradcheck(module, inputs)


@pytest.mark.parametrize("source, shapes", [
    ("x.T @ y", {"x": (4, 3), "y": (4,)}),
    ("(a @ b).T @ c", {"a": (4, 3), "b": (3, 2), "c": (4,)}),
    ("sum(x @ w.T + b, axis=1)", {"x": (5, 3), "w": (2, 3), "b": (2,)}),
    ("mean(logsumexp(x @ w, axis=-1, keepdims=True) - x @ w)", {"x": (5, 3), "w": (3, 4)}),
])
def test_products_composed_with_broadcasting_and_reductions_match_finite_differences(compiled, make_inputs,
                                                                                     source, shapes):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, shapes))


# ---- grad_output -------------------------------------------------------------------------

VECTOR_OUTPUTS = [  # (source, input shapes): sources whose output is not a scalar
    ("sin(x) * y", {"x": (4, 3), "y": (3,)}),
    ("sum(x, axis=0)", {"x": (4, 3)}),
    ("logsumexp(x, dim=1, keepdim=True)", {"x": (4, 3)}),
    ("x @ w", {"x": (4, 3), "w": (3,)}),
    ("x.T", {"x": (4, 3)}),
    ("where(x > 0, x, y)", {"x": (4, 3), "y": (3,)}),
]


@pytest.mark.parametrize("source, shapes", VECTOR_OUTPUTS, ids=[s for s, _ in VECTOR_OUTPUTS])
def test_default_grad_output_is_ones_of_the_output_shape(compiled, make_inputs, source, shapes):
    module = compiled(source)
    inputs = make_inputs(module, shapes)
    ones = np.ones(np.shape(module.forward(**inputs)))
    for default, explicit in zip(module.backward(**inputs), module.backward(**inputs, grad_output=ones)):
        np.testing.assert_allclose(default, explicit, rtol=1e-15)


@pytest.mark.parametrize("source, shapes", VECTOR_OUTPUTS, ids=[s for s, _ in VECTOR_OUTPUTS])
def test_scalar_grad_output_scales_every_gradient(compiled, make_inputs, source, shapes):
    module = compiled(source)
    inputs = make_inputs(module, shapes)
    for once, scaled in zip(module.backward(**inputs), module.backward(**inputs, grad_output=2.5)):
        np.testing.assert_allclose(scaled, 2.5 * np.asarray(once), rtol=1e-15)


@pytest.mark.parametrize("source, shapes", VECTOR_OUTPUTS, ids=[s for s, _ in VECTOR_OUTPUTS])
def test_grad_output_array_matches_finite_differences(compiled, make_inputs, source, shapes):
    # gradcheck contracts the output with a random grad_output of the output's shape.
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, shapes))


def test_grad_output_weights_each_output_element_of_a_product(compiled):
    x, w = np.arange(12.0).reshape(4, 3), np.array([1.0, -2.0, 0.5])
    go = np.array([1.0, 0.0, -1.0, 2.0])
    got = compiled("x @ w").backward(x, w, grad_output=go)
    np.testing.assert_array_equal(got.x, np.outer(go, w))
    np.testing.assert_array_equal(got.w, x.T @ go)


def test_grad_output_of_a_reduction_is_spread_over_the_reduced_axis(compiled):
    go = np.array([1.0, 2.0, 3.0])
    got = compiled("sum(x, axis=0)").backward(np.zeros((4, 3)), grad_output=go)
    np.testing.assert_array_equal(got.x, np.tile(go, (4, 1)))


def test_grad_output_of_a_transpose_is_transposed_back(compiled):
    go = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(compiled("x.T").backward(np.zeros((4, 3)), grad_output=go).x, go.T)


# ---- inputs that do not influence the output, calling conventions --------------------

UNUSED = [  # (source, the input whose gradient is zero)
    ("def f(x, y):\n    return sin(y)\n", "x"),
    ("floor(x) + y", "x"),
    ("sign(x) * y", "x"),
    ("where(x > 0, y, 2.0)", "x"),
    ("x * 0 + y", "x"),
    ("x + y - x", None),  # x cancels, but still receives 1 - 1 = 0
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("source, unused", UNUSED, ids=[s.splitlines()[-1].strip() for s, _ in UNUSED])
def test_an_input_that_does_not_influence_the_output_gets_zeros_of_its_shape(compiled, make_inputs, grads,
                                                                             source, unused, dtype):
    module = compiled(source)
    inputs = make_inputs(module, {"x": (4, 3), "y": (3,)}, dtype=dtype)
    got = grads(module, **inputs)["x"]
    assert got.shape == (4, 3) and got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.zeros((4, 3)))


@pytest.mark.parametrize("source", ["x * 1", "x ** 1", "+x", "def f(x, y):\n    return x\n"],
                         ids=["x * 1", "x ** 1", "+x", "return x"])
def test_an_output_that_is_an_input_passes_the_gradient_straight_through(compiled, source):
    module = compiled(source)
    x = np.array([0.0, 2.0])
    np.testing.assert_array_equal(module.forward(*[x] * len(module.INPUTS)), x)
    np.testing.assert_array_equal(module.backward(*[x] * len(module.INPUTS))[0], [1.0, 1.0])


def test_a_source_without_inputs_is_rejected_cleanly_or_compiles():
    try:
        module = derivgen.compile("sin(0.5) * 2")
    except derivgen.DerivgenError:
        return
    assert module.forward() == pytest.approx(2 * np.sin(0.5))


def test_arguments_may_be_passed_by_position_or_keyword(compiled, make_inputs):
    module = compiled("sin(x) * y ** 2")
    inputs = make_inputs(module, {"x": (4, 3), "y": (3,)})
    x, y = inputs["x"], inputs["y"]
    by_position = module.backward(x, y)
    for other in (module.backward(y=y, x=x), module.backward(x, y=y), module.backward(x, y, 1.0),
                  module.backward(x=x, y=y, grad_output=1.0)):
        for a, b in zip(by_position, other):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(module.forward(x, y), module.forward(y=y, x=x))


@pytest.mark.parametrize("wrt", [("x",), ("y",), ("y", "x")], ids=",".join)
def test_wrt_selects_which_gradients_are_returned_without_changing_them(compiled, make_inputs, grads, wrt):
    full = compiled("sin(x) * y ** 2")
    inputs = make_inputs(full, {"x": (4, 3), "y": (3,)})
    part = compiled("sin(x) * y ** 2", wrt=wrt)
    assert part.WRT == wrt
    expected = grads(full, **inputs)
    for name, got in grads(part, **inputs).items():
        np.testing.assert_allclose(got, expected[name], rtol=1e-15)


VALUE_AND_GRAD = [
    ("sin(x) * y", {"x": (4, 3), "y": (3,)}),
    ("logsumexp(x * y, axis=0)", {"x": (4, 3), "y": (3,)}),
    ("where(x > y, clamp(x, -0.5, 0.5), maximum(x, y) ** 2)", {"x": (4, 3), "y": (3,)}),
    ("mean(relu(x @ y.T))", {"x": (4, 3), "y": (2, 3)}),
    ("def f(x, y):\n    h = tanh(x @ y)\n    return sum(h * h)\n", {"x": (4, 3), "y": (3, 2)}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("source, shapes", VALUE_AND_GRAD, ids=[s.splitlines()[-1].strip() for s, _ in VALUE_AND_GRAD])
def test_value_and_grad_equals_forward_and_backward(compiled, make_inputs, source, shapes, dtype):
    module = compiled(source)
    inputs = make_inputs(module, shapes, dtype=dtype)
    value, gradients = module.value_and_grad(**inputs)
    np.testing.assert_array_equal(value, module.forward(**inputs))
    for a, b in zip(gradients, module.backward(**inputs)):
        np.testing.assert_array_equal(a, b)


# ---- float32 -----------------------------------------------------------------------------

# Between them these sources use every op; (source, input shapes, domain).
FLOAT32_SOURCES = [
    ("sin(x) + cos(x) + tan(x)", {"x": (4, 3)}, (-1.2, 1.2)),
    ("arcsin(x) + arccos(x) + arctan(x) + arctanh(x)", {"x": (4, 3)}, (-0.9, 0.9)),
    ("sinh(x) + cosh(x) + tanh(x) + arcsinh(x)", {"x": (4, 3)}, (-2.0, 2.0)),
    ("arccosh(x + 1.5)", {"x": (4, 3)}, (-0.3, 1.5)),
    ("exp(x) + exp2(x) + expm1(x)", {"x": (4, 3)}, (-2.0, 2.0)),
    ("log(x) + log2(x) + log10(x) + log1p(x) + sqrt(x)", {"x": (4, 3)}, (0.2, 3.0)),
    ("square(x) + abs(x) + sign(x) + floor(x) + ceil(x)", {"x": (4, 3)}, (-2.0, 2.0)),
    ("erf(x) + sigmoid(x) + softplus(x) + relu(x)", {"x": (4, 3)}, (-2.0, 2.0)),
    ("arctan2(x, y) + hypot(x, y) + logaddexp(x, y)", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("maximum(x, y) * minimum(x, y)", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("x ** y + pow(y, x) + x ** 2 + 2 ** y", {"x": (4, 3), "y": (3,)}, (0.5, 2.0)),
    ("(x - y) / (x + 3) * -x", {"x": (4, 3), "y": (3,)}, (0.5, 2.0)),
    ("clamp(x, -0.5, 0.5) + clamp(x, min=y) + x.clamp(max=0)", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("clamp(x, lo, hi)", {"x": (4, 3), "lo": (3,), "hi": (4, 1)}, (-1.0, 1.0)),
    ("where(x > y, x * y, y / 2)", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("sum(x * y, axis=0) + mean(x, 0) + logsumexp(x, dim=0)", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("mean(x, axis=(0, 1), keepdims=True) * logsumexp(x)", {"x": (4, 3)}, (-2.0, 2.0)),
    ("x @ y + dot(x, y)", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("x @ w + y @ y", {"x": (5, 4, 3), "w": (3, 2), "y": (3,)}, (-2.0, 2.0)),
    ("x.T * np.pi + math.e", {"x": (4, 3)}, (-2.0, 2.0)),
    ("def f(x, y):\n    return sin(y)\n", {"x": (4, 3), "y": (3,)}, (-2.0, 2.0)),
    ("x ** 0 + 1.5 ** y", {"x": (4, 3), "y": (3,)}, (0.5, 2.0)),
]
FLOAT32_IDS = [s.splitlines()[-1].strip() for s, _, _ in FLOAT32_SOURCES]


@pytest.mark.parametrize("source, shapes, domain", FLOAT32_SOURCES, ids=FLOAT32_IDS)
def test_float32_gradients_match_finite_differences(compiled, make_inputs, source, shapes, domain):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, shapes, *domain), dtype="float32")


@pytest.mark.parametrize("source, shapes, domain", FLOAT32_SOURCES, ids=FLOAT32_IDS)
def test_float32_inputs_give_float32_values_and_gradients(compiled, make_inputs, source, shapes, domain):
    module = compiled(source)
    inputs = make_inputs(module, shapes, *domain, dtype="float32")
    value, gradients = module.value_and_grad(**inputs)
    dtypes = {"forward": np.asarray(module.forward(**inputs)).dtype, "value_and_grad": np.asarray(value).dtype}
    dtypes.update({f"backward {name}": np.asarray(g).dtype for name, g in zip(module.WRT, module.backward(**inputs))})
    dtypes.update({f"value_and_grad {name}": np.asarray(g).dtype for name, g in zip(module.WRT, gradients)})
    assert dtypes == dict.fromkeys(dtypes, np.dtype("float32"))


def test_float32_inputs_with_python_number_grad_output_stay_float32(compiled):
    x = np.linspace(-1, 1, 6, dtype=np.float32)
    got = compiled("sigmoid(x) * 3").backward(x, grad_output=2.0).x
    assert got.dtype == np.float32


def test_float32_where_with_constant_branches_gives_float32(compiled):
    x = np.linspace(-1, 1, 6, dtype=np.float32)
    assert compiled("where(x > 0, 1.0, 2.0)").forward(x).dtype == np.float32


def test_matmul_keeps_the_parentheses_of_its_right_operand():
    module = derivgen.compile("X @ (w * v)", wrt=["w"])
    X, w, v = np.arange(9.0).reshape(3, 3), np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    np.testing.assert_array_equal(module.forward(X, w, v), X @ (w * v))
    assert derivgen.gradcheck(module, shapes={"X": (3, 3), "w": (3,), "v": (3,)}).ok


def test_module_names_cannot_be_keywords():
    with pytest.raises(derivgen.UsageError, match="keyword"):
        derivgen.generate("x", name="class")


def test_mean_of_a_single_number_has_gradients(compiled):
    """mean(sum(...)) divides by the count of one number, 1: its shape is the empty tuple,
    which the printer must keep as an argument (math.prod(()), not math.prod())."""
    module = compiled("mean(sum(x*y)) + mean(x)", ["x", "y"])
    x, y = np.arange(1.0, 4.0), np.array([0.5, -1.0, 2.0])
    value, grads = module.value_and_grad(x, y)
    assert value == pytest.approx(np.sum(x * y) + np.mean(x))
    np.testing.assert_allclose(grads.x, y + 1 / 3)
    np.testing.assert_allclose(grads.y, x)
