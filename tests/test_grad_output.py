"""grad_output on single-number outputs: the sweep runs from 1 and each gradient is
multiplied by grad_output once. Gradients must scale exactly with it, keep their
input's dtype (a bare number broadcast to a shape has none of its own) and not
mention it inside the gradient terms."""

import numpy as np
import pytest

import derivgen

PROGRAMS = [
    "sum(x)",
    "mean(x)",
    "-sum(x)",
    "sum(2*x + 3*y)",
    "sum(x) + mean(y)",
    "sum(sum(x, axis=0))",
    "mean(sum(x, axis=1))",
    "sum(x @ y.T)",
    "sum(x*y) - mean(x)",
    "sum(sin(x)*y)",
    "logsumexp(x)",
    "sum(x*x)/2",
]


@pytest.mark.parametrize("source", PROGRAMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_scale_with_grad_output_and_keep_dtype(source, dtype):
    mod = derivgen.compile(source, wrt=list(derivgen.compile(source).INPUTS))
    rng = np.random.default_rng(0)
    inputs = {name: rng.uniform(0.5, 1.5, size=(3, 4)).astype(dtype) for name in mod.INPUTS}
    plain = mod.backward(**inputs)
    scaled = mod.backward(**inputs, grad_output=dtype(2.5))
    for name, g in zip(mod.WRT, plain):
        assert np.shape(g) == inputs[name].shape
        assert np.asarray(g).dtype == dtype, (name, np.asarray(g).dtype)
        np.testing.assert_allclose(getattr(scaled, name), 2.5 * np.asarray(g), rtol=1e-6)
    report = derivgen.gradcheck(mod, {k: v.astype(np.float64) for k, v in inputs.items()})
    assert report.ok, report


def test_gradient_terms_do_not_carry_grad_output():
    text = derivgen.generate("sum(sin(a)*exp(-b**2) + log1p(a**2)*b)", wrt=["a", "b"])
    backward = text.split("def backward")[1].split("\ndef ")[0]
    uses = [line for line in backward.splitlines() if "grad_output" in line and " = " in line
            and not line.strip().startswith("a, b, grad_output")]
    assert uses and all(line.strip().startswith("grad_") for line in uses), uses


def test_array_output_keeps_grad_output_in_the_terms():
    mod = derivgen.compile("x**2", wrt=["x"])
    x = np.arange(3.0)
    np.testing.assert_allclose(mod.backward(x, grad_output=np.array([1.0, 2.0, 3.0])).x, 2 * x * [1, 2, 3])


def test_scalar_path_scales_too():
    mod = derivgen.compile("sum(x*y)", wrt=["x", "y"])
    grads = mod.backward(2.0, 3.0, grad_output=0.5)
    assert (grads.x, grads.y) == (1.5, 1.0)
