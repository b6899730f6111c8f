"""Random programs, built from every kind of op and shape, match finite differences.

Hypothesis draws expression trees over two or three inputs of broadcast-compatible
shapes (scalars, vectors, matrices, a broadcasting column), through elementwise ops,
selections and reductions, and checks value_and_grad against derivgen.gradcheck on the
array path and the value against the scalar path where it exists. The default run is
short; DERIVGEN_FUZZ_EXAMPLES=500 pytest tests/test_random_programs.py runs longer.
"""

import os

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import derivgen

EXAMPLES = int(os.environ.get("DERIVGEN_FUZZ_EXAMPLES", "25"))
SHAPES = {"x": (2, 3), "y": (3,), "z": (2, 1)}

# Smooth everywhere on the inputs' range [0.25, 0.75] (finite differences need that).
UNARY = ["sin({})", "cos({})", "tanh({})", "sigmoid({})", "softplus({})", "exp(-({})**2)",
         "log(1 + ({})**2)", "sqrt(1 + ({})**2)", "-({})", "({})**3", "arctan({})", "erf({})"]
BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (1 + ({})**2)", "hypot({}, 1 + ({})**2)",
          "logaddexp({}, {})", "arctan2({}, 1 + ({})**2)"]
REDUCE = ["sum({}, axis=0, keepdims=True)", "mean({}, axis=-1, keepdims=True)", "sum({})",
          "logsumexp({}, axis=-1, keepdims=True)"]


def expressions(depth):
    leaves = st.sampled_from(sorted(SHAPES))
    if depth == 0:
        return leaves
    inner = expressions(depth - 1)
    return st.one_of(
        leaves,
        st.builds(lambda f, a: f.format(a), st.sampled_from(UNARY), inner),
        st.builds(lambda f, a, b: f.format(a, b), st.sampled_from(BINARY), inner, inner),
        st.builds(lambda f, a: f.format(a), st.sampled_from(REDUCE), inner),
        st.builds(lambda a, b, c: f"where({a} > 0.5, {b}, {c})", leaves, inner, inner),
    )


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25,
          suppress_health_check=[HealthCheck.too_slow])
@given(expressions(4))
def test_random_program_gradients_match_finite_differences(source):
    mod = derivgen.compile(source)
    shapes = {name: SHAPES[name] for name in mod.INPUTS}
    inputs = derivgen.check.random_inputs(mod.INPUTS, shapes, seed=1)
    # Keep where() conditions away from their threshold, where the value jumps.
    inputs = {n: np.where(np.abs(v - 0.5) < 0.05, v + 0.1, v) for n, v in inputs.items()}
    try:
        mod.forward(**inputs)
    except np.exceptions.AxisError:  # an axis reduction of a reduced (0-d) value: not a program
        assume(False)
    report = derivgen.gradcheck(mod, inputs, rtol=1e-5, atol=1e-7)
    assert report.ok, f"{source}\n{report}"
    value, grads = mod.value_and_grad(**inputs)
    np.testing.assert_allclose(value, mod.forward(**inputs), rtol=1e-13)
    for name, grad in zip(mod.WRT, grads):
        assert np.shape(grad) == np.shape(inputs[name]), source


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25)
@given(expressions(4))
def test_random_program_scalar_path_agrees_with_the_array_path(source):
    assume("axis" not in source)  # axis reductions have no scalar path
    mod = derivgen.compile(source)
    values = {name: 0.25 + 0.1 * i for i, name in enumerate(mod.INPUTS)}
    scalar_value, scalar_grads = mod.value_and_grad(**values)
    array_value, array_grads = mod.value_and_grad(**{n: np.asarray(v) for n, v in values.items()})
    np.testing.assert_allclose(float(scalar_value), float(array_value), rtol=1e-12, atol=1e-15)
    for s, a in zip(scalar_grads, array_grads):  # nan allowed where both paths agree it is
        np.testing.assert_allclose(float(s), float(a), rtol=1e-11, atol=1e-14, equal_nan=True)


BLOCK_SHAPES = [{"x": (10,), "y": (10,), "z": ()}, {"x": (7, 3), "y": (7, 3), "z": (7, 3)},
                {"x": (), "y": (9,), "z": (1,)}]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25)
@given(st.sampled_from(["sum({})", "mean({})", "{}"]).flatmap(
    lambda outer: expressions(3).map(outer.format)), st.sampled_from(range(len(BLOCK_SHAPES))))
def test_random_program_in_blocks_agrees_with_one_pass(source, shapes_index):
    """Where a function runs in blocks (tests/test_blocking.py), blocks of 2 rows give what one
    pass over the whole inputs gives, for every function of the module."""
    mod = derivgen.compile(source)
    assume(hasattr(mod, "_Blocks"))
    shapes = {name: BLOCK_SHAPES[shapes_index][name] for name in mod.INPUTS}
    inputs = derivgen.check.random_inputs(mod.INPUTS, shapes, seed=2)
    try:
        mod.forward(**inputs)
    except np.exceptions.AxisError:
        assume(False)
    results = {}
    for size in (2, 10**9):
        mod._Blocks.size = size
        results[size] = [mod.forward(**inputs), *mod.backward(**inputs), *_flat(mod.value_and_grad(**inputs))]
    mod._Blocks.size = 10**9
    for blocked, whole in zip(results[2], results[10**9]):
        assert np.shape(blocked) == np.shape(whole), source
        np.testing.assert_allclose(blocked, whole, rtol=1e-11, atol=1e-13, err_msg=source)


def _flat(value_and_grad):
    value, grads = value_and_grad
    return [value, *grads]
