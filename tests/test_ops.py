"""Op conformance: every op, in every spelling, against NumPy values and finite differences.

Each op is compiled bare and with each module prefix (np., numpy., torch., math., F.,
torch.nn.functional.), as a method where Python code would write one, and with the
keyword spellings of both NumPy and PyTorch. Its forward value is compared with a
NumPy reference and its backward with central differences of the forward
(``derivgen.gradcheck``, which contracts the output with a random grad_output).
Inputs are drawn from each op's domain and stay clear of kinks; the conventions at
kinks are pinned down in test_kinks.py, shapes and dtypes in test_shapes.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import derivgen

PREFIXES = ("", "np.", "numpy.", "torch.", "math.", "F.", "torch.nn.functional.")
SHAPE = (4, 3)


def _erf(x):
    return np.vectorize(math.erf, otypes=[float])(x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def assert_values_match(module, inputs, expected):
    got = module.forward(**inputs)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def assert_gradcheck(module, inputs=None, **kwargs):
    report = derivgen.gradcheck(module, inputs, **kwargs)
    assert report.ok, f"\n{report}"


# ---- one-argument elementwise ops ----------------------------------------------------

# op: (spellings, NumPy reference, input domain [low, high) clear of poles and kinks)
UNARY = {
    "sin": (("sin",), np.sin, (-2.0, 2.0)),
    "cos": (("cos",), np.cos, (-2.0, 2.0)),
    "tan": (("tan",), np.tan, (-1.2, 1.2)),
    "arcsin": (("arcsin", "asin"), np.arcsin, (-0.9, 0.9)),
    "arccos": (("arccos", "acos"), np.arccos, (-0.9, 0.9)),
    "arctan": (("arctan", "atan"), np.arctan, (-2.0, 2.0)),
    "sinh": (("sinh",), np.sinh, (-2.0, 2.0)),
    "cosh": (("cosh",), np.cosh, (-2.0, 2.0)),
    "tanh": (("tanh",), np.tanh, (-2.0, 2.0)),
    "arcsinh": (("arcsinh", "asinh"), np.arcsinh, (-2.0, 2.0)),
    "arccosh": (("arccosh", "acosh"), np.arccosh, (1.2, 3.0)),
    "arctanh": (("arctanh", "atanh"), np.arctanh, (-0.9, 0.9)),
    "exp": (("exp",), np.exp, (-2.0, 2.0)),
    "exp2": (("exp2",), np.exp2, (-2.0, 2.0)),
    "expm1": (("expm1",), np.expm1, (-2.0, 2.0)),
    "log": (("log",), np.log, (0.2, 3.0)),
    "log2": (("log2",), np.log2, (0.2, 3.0)),
    "log10": (("log10",), np.log10, (0.2, 3.0)),
    "log1p": (("log1p",), np.log1p, (-0.8, 3.0)),
    "sqrt": (("sqrt",), np.sqrt, (0.2, 3.0)),
    "square": (("square",), np.square, (-2.0, 2.0)),
    "abs": (("abs", "absolute", "fabs"), np.abs, (-2.0, 2.0)),
    "sign": (("sign",), np.sign, (-2.0, 2.0)),
    "floor": (("floor",), np.floor, (-2.0, 2.0)),
    "ceil": (("ceil",), np.ceil, (-2.0, 2.0)),
    "erf": (("erf",), _erf, (-2.0, 2.0)),
    "sigmoid": (("sigmoid", "expit"), _sigmoid, (-2.0, 2.0)),
    "softplus": (("softplus",), lambda x: np.log1p(np.exp(x)), (-2.0, 2.0)),
    "relu": (("relu",), lambda x: np.maximum(x, 0.0), (-2.0, 2.0)),
}
UNARY_CALLS = [pytest.param(prefix + spelling, op, id=prefix + spelling)
               for op, (spellings, _, _) in UNARY.items() for spelling in spellings for prefix in PREFIXES]
UNARY_METHODS = [pytest.param(spelling, op, id=f"x.{spelling}()")
                 for op, (spellings, _, _) in UNARY.items() for spelling in spellings]


@pytest.fixture
def unary_input(make_inputs):
    def make(module, op, dtype="float64"):
        low, high = UNARY[op][2]
        return make_inputs(module, {"x": SHAPE}, low, high, dtype)
    return make


@pytest.mark.parametrize("call, op", UNARY_CALLS)
def test_unary_value_matches_numpy(compiled, unary_input, call, op):
    module = compiled(f"{call}(x)")
    inputs = unary_input(module, op)
    assert_values_match(module, inputs, UNARY[op][1](inputs["x"]))


@pytest.mark.parametrize("call, op", UNARY_CALLS)
def test_unary_gradient_matches_finite_differences(compiled, unary_input, call, op):
    module = compiled(f"{call}(x)")
    assert_gradcheck(module, unary_input(module, op))


@pytest.mark.parametrize("method, op", UNARY_METHODS)
def test_unary_method_value_matches_numpy(compiled, unary_input, method, op):
    module = compiled(f"x.{method}()")
    inputs = unary_input(module, op)
    assert_values_match(module, inputs, UNARY[op][1](inputs["x"]))


@pytest.mark.parametrize("method, op", UNARY_METHODS)
def test_unary_method_gradient_matches_finite_differences(compiled, unary_input, method, op):
    module = compiled(f"x.{method}()")
    assert_gradcheck(module, unary_input(module, op))


@pytest.mark.parametrize("op", UNARY)
def test_unary_of_a_composite_argument_applies_the_chain_rule(compiled, op):
    # x is chosen so that the inner value 0.5 * x + 0.1 lies in the op's domain.
    module = compiled(f"{op}(0.5 * x + 0.1) * 3")
    low, high = UNARY[op][2]
    x = np.random.default_rng(3).uniform(low, high, SHAPE)
    inputs = {"x": (x - 0.1) / 0.5}
    assert_values_match(module, inputs, 3 * UNARY[op][1](x))
    assert_gradcheck(module, inputs)


METHOD_CHAINS = [
    ("(x * y).sum(dim=0)", lambda x, y: (x * y).sum(axis=0)),
    ("sin(x).clamp(min=0)", lambda x, y: np.maximum(np.sin(x), 0.0)),
    ("(x @ y).exp()", lambda x, y: np.exp(x @ y)),
    ("x.T.sum(1)", lambda x, y: x.T.sum(axis=1)),
    ("(x - y).abs().mean()", lambda x, y: np.abs(x - y).mean()),
    ("(x + 3).pow(2).sqrt().log()", lambda x, y: np.log(x + 3)),
]


@pytest.mark.parametrize("source, reference", METHOD_CHAINS, ids=[s for s, _ in METHOD_CHAINS])
def test_methods_on_expressions_chain_like_function_calls(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]})
    assert_values_match(module, inputs, reference(inputs["x"], inputs.get("y")))
    assert_gradcheck(module, inputs)


EXTREMES = [
    ("sigmoid(x)", [-1000.0, 0.0, 1000.0], [0.0, 0.5, 1.0]),
    ("softplus(x)", [-1000.0, 0.0, 1000.0], [0.0, math.log(2.0), 1000.0]),
    ("logaddexp(x, x)", [-1000.0, 0.0, 1000.0], [-1000.0 + math.log(2.0), math.log(2.0), 1000.0 + math.log(2.0)]),
    ("logsumexp(x)", [1000.0, 1000.0, -1000.0], 1000.0 + math.log(2.0)),
]


@pytest.mark.parametrize("source, x, expected", EXTREMES, ids=[s for s, _, _ in EXTREMES])
def test_saturating_ops_do_not_overflow_at_extreme_inputs(compiled, source, x, expected):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert_values_match(compiled(source), {"x": np.array(x)}, np.array(expected))


def test_gradcheck_detects_a_wrong_gradient(compiled):
    # The oracle every test above relies on: a backward off by a factor must be caught.
    module = compiled("sin(x) * y")

    class Wrong:
        INPUTS, WRT, Gradients, forward = module.INPUTS, module.WRT, module.Gradients, module.forward

        @staticmethod
        def backward(*args, **kwargs):
            right = module.backward(*args, **kwargs)
            return module.Gradients(right.x, 1.01 * right.y)

    report = derivgen.gradcheck(Wrong, shapes={"x": SHAPE, "y": SHAPE[-1:]})
    assert [row.ok for row in report.rows] == [True, False]


# ---- two-argument elementwise ops ----------------------------------------------------

BINARY = {
    "arctan2": (("arctan2", "atan2"), np.arctan2, (-2.0, 2.0)),
    "hypot": (("hypot",), np.hypot, (-2.0, 2.0)),
    "maximum": (("maximum",), np.maximum, (-2.0, 2.0)),
    "minimum": (("minimum",), np.minimum, (-2.0, 2.0)),
    "logaddexp": (("logaddexp",), np.logaddexp, (-2.0, 2.0)),
    "power": (("power", "pow"), np.power, (0.5, 2.0)),  # a positive base keeps x ** y real
}
BINARY_CALLS = [pytest.param(prefix + spelling, op, id=prefix + spelling)
                for op, (spellings, _, _) in BINARY.items() for spelling in spellings for prefix in PREFIXES]


@pytest.fixture
def binary_inputs(make_inputs):
    def make(module, op):
        low, high = BINARY[op][2]
        return make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]}, low, high)
    return make


@pytest.mark.parametrize("call, op", BINARY_CALLS)
def test_binary_value_matches_numpy(compiled, binary_inputs, call, op):
    module = compiled(f"{call}(x, y)")
    inputs = binary_inputs(module, op)
    assert_values_match(module, inputs, BINARY[op][1](inputs["x"], inputs["y"]))


@pytest.mark.parametrize("call, op", BINARY_CALLS)
def test_binary_gradient_matches_finite_differences(compiled, binary_inputs, call, op):
    module = compiled(f"{call}(x, y)")
    assert_gradcheck(module, binary_inputs(module, op))


# Forms where an operand is a constant, or both operands share an input: (template, reference).
BINARY_FORMS = [
    ("{op}(x, 1.25)", lambda f, x: f(x, 1.25)),
    ("{op}(1.25, x)", lambda f, x: f(1.25, x)),
    ("{op}(x, x * 0.75)", lambda f, x: f(x, x * 0.75)),
    ("{op}(x.{op}(1.25), x)", lambda f, x: f(f(x, 1.25), x)),
]


@pytest.mark.parametrize("template, reference", BINARY_FORMS, ids=[t for t, _ in BINARY_FORMS])
@pytest.mark.parametrize("op", BINARY)
def test_binary_with_a_constant_or_shared_operand_matches_numpy_and_finite_differences(
        compiled, make_inputs, op, template, reference):
    module = compiled(template.format(op=op))
    low, high = BINARY[op][2]
    inputs = make_inputs(module, {"x": SHAPE}, low, high)
    assert_values_match(module, inputs, reference(BINARY[op][1], inputs["x"]))
    assert_gradcheck(module, inputs)


TORCH_KEYWORDS = [
    ("torch.atan2(input=x, other=y)", np.arctan2),
    ("torch.arctan2(x, other=y)", np.arctan2),
    ("torch.hypot(input=x, other=y)", np.hypot),
    ("torch.maximum(input=x, other=y)", np.maximum),
    ("torch.minimum(other=y, input=x)", np.minimum),
    ("torch.logaddexp(x, other=y)", np.logaddexp),
    ("torch.pow(x, exponent=y)", np.power),
    ("torch.pow(input=x, exponent=y)", np.power),
    ("x.pow(y)", np.power),
    ("x.maximum(y)", np.maximum),
    ("x.atan2(y)", np.arctan2),
]


@pytest.mark.parametrize("source, reference", TORCH_KEYWORDS, ids=[s for s, _ in TORCH_KEYWORDS])
def test_binary_keyword_and_method_spellings_match_numpy_and_finite_differences(
        compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]}, 0.5, 2.0)
    assert_values_match(module, inputs, reference(inputs["x"], inputs["y"]))
    assert_gradcheck(module, inputs)


# ---- operators -------------------------------------------------------------------------

OPERATORS = [
    ("x + y", lambda x, y: x + y),
    ("x - y", lambda x, y: x - y),
    ("x * y", lambda x, y: x * y),
    ("x / y", lambda x, y: x / y),
    ("x ** y", lambda x, y: x**y),
    ("-x", lambda x, y: -x),
    ("-x * y", lambda x, y: -x * y),
    ("x - -y", lambda x, y: x + y),
    ("2.5 - x", lambda x, y: 2.5 - x),
    ("x / 4", lambda x, y: x / 4),
    ("3 / x", lambda x, y: 3 / x),
    ("x ** 3", lambda x, y: x**3),
    ("x ** -1.5", lambda x, y: x**-1.5),
    ("x ** 0.5", lambda x, y: np.sqrt(x)),
    ("2 ** x", lambda x, y: 2.0**x),
    ("-x ** 2", lambda x, y: -(x**2)),
    ("(x - y) ** 2 / (x * y)", lambda x, y: (x - y) ** 2 / (x * y)),
    ("x / y / x", lambda x, y: x / y / x),  # keeps the broadcast shape though x cancels
    ("x ** y ** 2", lambda x, y: x ** (y**2)),
]


@pytest.mark.parametrize("source, reference", OPERATORS, ids=[s for s, _ in OPERATORS])
def test_operator_value_matches_numpy(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]}, 0.5, 2.0)
    assert_values_match(module, inputs, reference(inputs["x"], inputs.get("y")))


@pytest.mark.parametrize("source, reference", OPERATORS, ids=[s for s, _ in OPERATORS])
def test_operator_gradient_matches_finite_differences(compiled, make_inputs, source, reference):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]}, 0.5, 2.0))


CONSTANTS = [
    ("x * np.pi", lambda x: x * math.pi),
    ("math.pi * x", lambda x: math.pi * x),
    ("torch.pi + x", lambda x: math.pi + x),
    ("x * numpy.e", lambda x: x * math.e),
    ("math.e ** x", np.exp),
    ("sin(x + np.pi / 2)", np.cos),
]


@pytest.mark.parametrize("source, reference", CONSTANTS, ids=[s for s, _ in CONSTANTS])
def test_named_constants_match_numpy_and_finite_differences(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, reference(inputs["x"]))
    assert_gradcheck(module, inputs)


# ---- clamp / clip ----------------------------------------------------------------------

CLAMP_FORMS = [
    ("{f}(x, -0.5, 0.5)", lambda x: np.clip(x, -0.5, 0.5)),
    ("{f}(x, None, 0.5)", lambda x: np.minimum(x, 0.5)),
    ("{f}(x, -0.5, None)", lambda x: np.maximum(x, -0.5)),
    ("{f}(x, min=-0.5)", lambda x: np.maximum(x, -0.5)),
    ("{f}(x, max=0.5)", lambda x: np.minimum(x, 0.5)),
    ("{f}(x, min=-0.5, max=0.5)", lambda x: np.clip(x, -0.5, 0.5)),
]
CLAMP_CALLS = [pytest.param(form.format(f=prefix + spelling), reference, id=form.format(f=prefix + spelling))
               for spelling in ("clamp", "clip") for prefix in PREFIXES for form, reference in CLAMP_FORMS]
CLAMP_CALLS += [pytest.param(source, reference, id=source) for source, reference in [
    ("np.clip(x, a_min=-0.5, a_max=0.5)", lambda x: np.clip(x, -0.5, 0.5)),
    ("clamp(x, lo=-0.5, hi=0.5)", lambda x: np.clip(x, -0.5, 0.5)),
    ("torch.clamp(input=x, min=-0.5)", lambda x: np.maximum(x, -0.5)),
    ("x.clamp(min=0)", lambda x: np.maximum(x, 0.0)),
    ("x.clamp(max=0)", lambda x: np.minimum(x, 0.0)),
    ("x.clamp(-0.5, 0.5)", lambda x: np.clip(x, -0.5, 0.5)),
    ("x.clip(-0.5, None)", lambda x: np.maximum(x, -0.5)),
    ("x.clip(max=0.5)", lambda x: np.minimum(x, 0.5)),
    ("x.clamp(min=-1, max=1)", lambda x: np.clip(x, -1.0, 1.0)),
]]


@pytest.mark.parametrize("source, reference", CLAMP_CALLS)
def test_clamp_value_matches_numpy(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, reference(inputs["x"]))


@pytest.mark.parametrize("source, reference", CLAMP_CALLS)
def test_clamp_gradient_matches_finite_differences(compiled, make_inputs, source, reference):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, {"x": SHAPE}))


@pytest.mark.parametrize("source", ["clamp(x, lo, hi)", "np.clip(x, lo, hi)", "torch.clamp(x, min=lo, max=hi)",
                                    "x.clamp(lo, hi)", "x.clip(min=lo, max=hi)"])
def test_clamp_with_array_bounds_matches_numpy_and_finite_differences(compiled, source):
    module = compiled(source)
    rng = np.random.default_rng(7)
    inputs = {"x": rng.uniform(-2, 2, SHAPE), "lo": rng.uniform(-1.5, -0.5, SHAPE[-1:]),
              "hi": rng.uniform(0.5, 1.5, (SHAPE[0], 1))}
    assert_values_match(module, inputs, np.clip(inputs["x"], inputs["lo"], inputs["hi"]))
    assert_gradcheck(module, inputs)


# ---- where -------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", PREFIXES, ids=[p + "where" for p in PREFIXES])
def test_where_value_and_gradient_match_numpy_and_finite_differences(compiled, make_inputs, prefix):
    module = compiled(f"{prefix}where(x > y, sin(x) * y, y ** 2)")
    inputs = make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]})
    x, y = inputs["x"], inputs["y"]
    assert_values_match(module, inputs, np.where(x > y, np.sin(x) * y, y**2))
    assert_gradcheck(module, inputs)


WHERE_CONDITIONS = [
    ("x > y", lambda x, y: x > y),
    ("x >= y", lambda x, y: x >= y),
    ("x < y", lambda x, y: x < y),
    ("x <= y", lambda x, y: x <= y),
    ("x == y", lambda x, y: x == y),
    ("x != y", lambda x, y: x != y),
    ("0.5 < x", lambda x, y: 0.5 < x),
    ("x ** 2 > y + 1", lambda x, y: x**2 > y + 1),
    ("(x > 0) & (y > 0)", lambda x, y: (x > 0) & (y > 0)),
    ("(x > 0) | (y > 0)", lambda x, y: (x > 0) | (y > 0)),
    ("~(x > y)", lambda x, y: ~(x > y)),
    ("~((x > 0) & (y < 0)) | (x < -1)", lambda x, y: ~((x > 0) & (y < 0)) | (x < -1)),
]


@pytest.mark.parametrize("condition, reference", WHERE_CONDITIONS, ids=[c for c, _ in WHERE_CONDITIONS])
def test_where_condition_selects_like_numpy(compiled, make_inputs, condition, reference):
    module = compiled(f"where({condition}, 2 * x, 3 * y)")
    inputs = make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]})
    inputs["y"][0] = inputs["x"][0, 0]  # an exact tie, so == and != select something
    x, y = inputs["x"], inputs["y"]
    assert_values_match(module, inputs, np.where(reference(x, y), 2 * x, 3 * y))


@pytest.mark.parametrize("source", ["torch.where(x > y, input=x, other=y)", "np.where(x > y, x=x, y=y)",
                                    "torch.where(condition=x > y, input=x, other=y)"])
def test_where_keyword_spellings_match_numpy(compiled, make_inputs, source):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE, "y": SHAPE[-1:]})
    assert_values_match(module, inputs, np.where(inputs["x"] > inputs["y"], inputs["x"], inputs["y"]))
    assert_gradcheck(module, inputs)


# ---- reductions --------------------------------------------------------------------------

REDUCTIONS = {"sum": np.sum, "mean": np.mean, "logsumexp": _logsumexp}
REDUCTION_CALLS = [pytest.param(prefix + op, op, id=prefix + op) for op in REDUCTIONS for prefix in PREFIXES]


@pytest.mark.parametrize("args, axis", [("", None), (", axis=-1", -1)], ids=["all", "axis=-1"])
@pytest.mark.parametrize("call, op", REDUCTION_CALLS)
def test_reduction_value_matches_numpy(compiled, make_inputs, call, op, args, axis):
    module = compiled(f"{call}(x{args})")
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, REDUCTIONS[op](inputs["x"], axis=axis))


@pytest.mark.parametrize("args", ["", ", axis=-1"], ids=["all", "axis=-1"])
@pytest.mark.parametrize("call, op", REDUCTION_CALLS)
def test_reduction_gradient_matches_finite_differences(compiled, make_inputs, call, op, args):
    module = compiled(f"{call}(x{args})")
    assert_gradcheck(module, make_inputs(module, {"x": SHAPE}))


# How each spelling family passes axis and keepdims: (arguments, axis, keepdims).
REDUCTION_ARGUMENTS = [
    ("x, axis=1", 1, False),
    ("x, dim=1", 1, False),
    ("x, axis=1, keepdims=True", 1, True),
    ("x, dim=1, keepdim=True", 1, True),
    ("x, 0", 0, False),
    ("x, 0, True", 0, True),
    ("x, dim=-2, keepdim=False", -2, False),
    ("x, axis=(0, 1)", (0, 1), False),
    ("x, dim=(1, 0), keepdim=True", (1, 0), True),
    ("x, axis=None, keepdims=True", None, True),
    ("input=x, dim=1", 1, False),
    ("a=x, axis=0", 0, False),
]


@pytest.mark.parametrize("arguments, axis, keepdims", REDUCTION_ARGUMENTS, ids=[a for a, _, _ in REDUCTION_ARGUMENTS])
@pytest.mark.parametrize("op", REDUCTIONS)
def test_reduction_keyword_spellings_match_numpy_and_finite_differences(
        compiled, make_inputs, op, arguments, axis, keepdims):
    module = compiled(f"{op}({arguments})")
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, REDUCTIONS[op](inputs["x"], axis=axis, keepdims=keepdims))
    assert_gradcheck(module, inputs)


REDUCTION_METHODS = [
    ("x.sum()", lambda x: np.sum(x)),
    ("x.sum(0)", lambda x: np.sum(x, axis=0)),
    ("x.sum(dim=1, keepdim=True)", lambda x: np.sum(x, axis=1, keepdims=True)),
    ("x.mean()", lambda x: np.mean(x)),
    ("x.mean(axis=-1)", lambda x: np.mean(x, axis=-1)),
    ("x.mean(dim=(0, 1), keepdim=True)", lambda x: np.mean(x, axis=(0, 1), keepdims=True)),
    ("x.logsumexp(dim=1)", lambda x: _logsumexp(x, axis=1)),
    ("x.logsumexp(-2, True)", lambda x: _logsumexp(x, axis=-2, keepdims=True)),
]


@pytest.mark.parametrize("source, reference", REDUCTION_METHODS, ids=[s for s, _ in REDUCTION_METHODS])
def test_reduction_method_spellings_match_numpy_and_finite_differences(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, reference(inputs["x"]))
    assert_gradcheck(module, inputs)


def test_logsumexp_value_does_not_overflow_for_large_inputs(compiled):
    module = compiled("logsumexp(x, axis=1)")
    x = np.array([[1000.0, 1000.0], [-1000.0, -1001.0]])
    assert_values_match(module, {"x": x}, np.array([1000 + math.log(2), -1000 + math.log1p(math.exp(-1))]))
    np.testing.assert_allclose(module.backward(x).x, [[0.5, 0.5], [_sigmoid(1.0), _sigmoid(-1.0)]], rtol=1e-12)


# ---- linear algebra ----------------------------------------------------------------------

LINALG_CALLS = (
    [pytest.param("a @ b", np.matmul, id="a @ b")]
    + [pytest.param(f"{p}matmul(a, b)", np.matmul, id=f"{p}matmul") for p in PREFIXES]
    + [pytest.param(f"{p}dot(a, b)", np.dot, id=f"{p}dot") for p in PREFIXES]
    + [pytest.param(s, np.matmul, id=s) for s in ("a.matmul(b)", "a.dot(b)", "torch.matmul(input=a, other=b)",
                                                  "np.dot(a=a, b=b)")]
)


@pytest.mark.parametrize("source, reference", LINALG_CALLS)
def test_matrix_product_value_matches_numpy(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"a": (4, 3), "b": (3, 2)})
    assert_values_match(module, inputs, reference(inputs["a"], inputs["b"]))


@pytest.mark.parametrize("source, reference", LINALG_CALLS)
def test_matrix_product_gradient_matches_finite_differences(compiled, make_inputs, source, reference):
    module = compiled(source)
    assert_gradcheck(module, make_inputs(module, {"a": (4, 3), "b": (3, 2)}))


TRANSPOSES = ["x.T", "x.t()", "x.transpose()"] + [f"{p}transpose(x)" for p in PREFIXES] + ["torch.t(x)"]


@pytest.mark.parametrize("source", TRANSPOSES)
def test_transpose_value_matches_numpy_and_gradient_matches_finite_differences(compiled, make_inputs, source):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, inputs["x"].T)
    assert_gradcheck(module, inputs)


# ---- other prefixes the table knows ----------------------------------------------------

@pytest.mark.parametrize("source, reference", [
    ("scipy.special.expit(x)", _sigmoid),
    ("torch.special.expit(x)", _sigmoid),
    ("scipy.special.logsumexp(x, axis=0)", lambda x: _logsumexp(x, axis=0)),
    ("torch.special.erf(x)", _erf),
], ids=["scipy.special.expit", "torch.special.expit", "scipy.special.logsumexp", "torch.special.erf"])
def test_special_module_spellings_match_numpy_and_finite_differences(compiled, make_inputs, source, reference):
    module = compiled(source)
    inputs = make_inputs(module, {"x": SHAPE})
    assert_values_match(module, inputs, reference(inputs["x"]))
    assert_gradcheck(module, inputs)


# ---- Python numbers -------------------------------------------------------------------------

SCALAR_SOURCES = (
    [pytest.param(f"{op}(x)", domain, id=f"{op}(x)") for op, (_, _, domain) in UNARY.items()]
    + [pytest.param(f"{op}(x, y)", domain, id=f"{op}(x, y)") for op, (_, _, domain) in BINARY.items()]
    + [pytest.param(source, (0.5, 2.0), id=source) for source, _ in OPERATORS]
    + [pytest.param(source, (-2.0, 2.0), id=source) for source in (
        "clamp(x, -0.5, 0.5)", "clamp(x, min=y)", "clamp(x, y, 1.0)", "where(x > y, sin(x), y ** 2)",
        "sum(x) * mean(y) + logsumexp(x)", "x * np.pi")]
)


@pytest.mark.parametrize("source, domain", SCALAR_SOURCES)
def test_python_numbers_give_the_values_and_gradients_of_0d_arrays(compiled, source, domain):
    module = compiled(source)
    points = np.random.default_rng(11).uniform(*domain, size=(5, len(module.INPUTS)))
    for point in points:
        value, grads = module.value_and_grad(*map(float, point))
        array_value, array_grads = module.value_and_grad(*map(np.array, point))
        assert np.ndim(value) == 0 and all(np.ndim(g) == 0 for g in grads)
        np.testing.assert_allclose(value, array_value, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(np.array(grads), np.array(array_grads), rtol=1e-13, atol=1e-15)
