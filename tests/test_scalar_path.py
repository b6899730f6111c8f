"""The scalar path (Python numbers, math module) agrees with the NumPy path."""

import warnings

import numpy as np
import pytest

import derivgen

PROGRAMS = [
    ("sin(x**2)", {"x": 4.0}),
    ("x * y + exp(x) / (1 + y**2)", {"x": 0.3, "y": -1.2}),
    ("tanh(x) + sigmoid(y) * softplus(x - y) - log1p(x**2)", {"x": 0.7, "y": -0.4}),
    ("relu(x) + abs(y) + maximum(x, y) + minimum(x, y) + clamp(x, -0.5, 0.5)", {"x": 0.7, "y": -0.4}),
    ("where((x > 0) & ~(y > 1), sqrt(x), y) + sign(y) * floor(x) + ceil(y)", {"x": 2.5, "y": 0.5}),
    ("x ** y + power(y, 3) + 2 ** x + exp2(y) + hypot(x, y) + arctan2(y, x)", {"x": 1.5, "y": 0.5}),
    ("logaddexp(x, y) + erf(x) + arcsinh(y) + arctanh(y / 2) + log2(x) + log10(x) + expm1(y)",
     {"x": 1.5, "y": 0.5}),
    ("mean(x**2) + sum(y) + logsumexp(x)", {"x": 2.0, "y": 3.0}),
    ("clamp(x, min=y)", {"x": 0.2, "y": 0.5}),
]


def both_paths(mod, values):
    scalar = mod.value_and_grad(**values)
    array = mod.value_and_grad(**{k: np.asarray(v) for k, v in values.items()})
    return scalar, array


@pytest.mark.parametrize("source, values", PROGRAMS)
def test_scalar_path_matches_the_array_path(source, values):
    mod = derivgen.compile(source)
    (sv, sg), (av, ag) = both_paths(mod, values)
    assert type(sv) in (float, int), "the scalar path was not taken"
    assert sv == pytest.approx(float(av), rel=1e-14, abs=1e-300)
    for s, a in zip(sg, ag):
        assert float(s) == pytest.approx(float(a), rel=1e-13, abs=1e-300)


@pytest.mark.parametrize("source, x, expected", [
    ("relu(x)", 0.0, 0.0),
    ("abs(x)", 0.0, 0.0),
    ("clamp(x, 1.0, 2.0)", 1.0, 1.0),
    ("clamp(x, 1.0, 2.0)", 2.0, 1.0),
    ("clamp(x, 1.0, 2.0)", 2.5, 0.0),
    ("maximum(x, 1.0)", 1.0, 0.5),
    ("minimum(x, 1.0)", 1.0, 0.5),
    ("where(x > 0, x * 3, x * 5)", 0.0, 5.0),
    ("sign(x) + floor(x) + ceil(x)", 0.5, 0.0),
])
def test_kink_conventions_hold_on_the_scalar_path(source, x, expected):
    mod = derivgen.compile(source)
    assert type(mod.backward(x).x) is float
    assert mod.backward(x).x == expected


@pytest.mark.parametrize("source, x", [
    ("log(x)", -1.0),        # math raises ValueError; NumPy gives nan and warns
    ("log(x)", 0.0),         # -inf
    ("1 / x", 0.0),          # ZeroDivisionError in Python; inf in NumPy
    ("exp(x)", 1000.0),      # OverflowError in Python; inf in NumPy
    ("sqrt(x)", -4.0),
    ("x ** 0.5", -4.0),      # Python's ** would give a complex number
    ("sigmoid(x)", -800.0),  # math.exp overflows; the stable NumPy form does not
])
def test_where_math_raises_the_numpy_path_gives_its_result(source, x):
    mod = derivgen.compile(source)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        got = mod.value_and_grad(x)
        with np.errstate(all="ignore"):
            want = mod.value_and_grad(np.asarray(x))
    np.testing.assert_equal(np.asarray(got[0]), np.asarray(want[0]))
    np.testing.assert_equal(np.asarray(got[1].x), np.asarray(want[1].x))


def test_numpy_warnings_are_kept_when_the_scalar_path_falls_back():
    mod = derivgen.compile("log(x)")
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mod.forward(-1.0))


def test_float32_scalars_take_the_array_path_and_stay_float32():
    mod = derivgen.compile("sin(x) * y")
    value, grads = mod.value_and_grad(np.float32(0.5), 2.0)
    assert value.dtype == np.float32 and grads.x.dtype == np.float32 and grads.y.dtype == np.float32


def test_integer_and_numpy_float64_inputs_take_the_scalar_path():
    mod = derivgen.compile("x * y")
    value, grads = mod.value_and_grad(3, np.float64(2.0))
    assert value == 6.0 and grads.x == 2.0 and grads.y == 3.0


def test_a_scalar_grad_output_scales_the_scalar_path():
    mod = derivgen.compile("x**2")
    assert mod.backward(3.0, 0.5).x == 3.0


def test_programs_with_matmul_have_no_scalar_path():
    text = derivgen.generate("x @ y")
    assert "Scalar path" not in text


def test_programs_with_axis_reductions_have_no_scalar_path():
    text = derivgen.generate("sum(x, axis=0)")
    assert "Scalar path" not in text
