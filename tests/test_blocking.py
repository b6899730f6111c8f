"""Blocked evaluation (derivgen/blocking.py, the _Blocks helper): a function elementwise up
to its sums runs a block of rows at a time. Blocks are only cut for arrays of tens of
thousands of elements, so these tests shrink the block size of the generated module to a
few elements and compare with the same code run in one pass over the whole inputs."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import derivgen
from derivgen.check import gradcheck

BCE_MEAN = (Path(__file__).resolve().parent.parent / "examples" / "bce_mean.py").read_text()

# (source, function, wrt, data inputs: arrays cut into blocks; the others are Python floats)
PROGRAMS = [
    (BCE_MEAN, "loss", ["w", "b"], ["x", "y"]),
    ("sum(sin(a)*exp(-b**2) + log1p(a**2)*b)", None, ["a", "b"], ["a", "b"]),
    ("mean((w*exp(-x**2) + b*sin(x) - y)**2) + 0.1*w**2", None, ["w", "b"], ["x", "y"]),
    ("sum(softplus(x*w) - y*x*w) + mean(tanh(x*w)**2)", None, ["w", "x"], ["x", "y"]),
    ("mean(where(x > 0, x*w, -x*w)**2 + logaddexp(x, w)) - sum(sigmoid(x)*cos(w*x))", None, ["x", "w"], ["x"]),
    ("sum(clamp(x*w, -1, 1)**2 + exp(-x**2)*w) / mean(x**2 + 1)", None, ["x", "w"], ["x"]),
    ("exp(-x**2)*cos(w*x)*x + sin(x)**2*w", None, ["x", "w"], ["x"]),
    ("sum(log1p(exp(-abs(w*x))) + maximum(w*x, 0) - y*w*x)", None, ["w"], ["x", "y"]),
    ("x*exp(-sum(x)) + sin(x)*cos(x)*tanh(x)", None, ["x"], ["x"]),  # a sum of an input, computed first
]
IDS = ["bce-mean", "elementwise", "regularised", "softplus", "where", "ratio-of-means", "array-output",
       "stable-logistic", "sum-first"]


class Recorder:
    """Wraps a module's _Blocks to record whether each call cut blocks."""

    def __init__(self, module, size):
        self.cut = []
        recorder, base = self, module._Blocks

        class Blocks(base):
            def __init__(self, *inputs, **kw):
                super().__init__(*inputs, **kw)
                recorder.cut.append(self.shape is not None)

        Blocks.size = size
        self.blocks = Blocks


def run(module, inputs, size, grad_output=None, function="value_and_grad"):
    recorder = Recorder(module, size)
    saved = module._Blocks
    module._Blocks = recorder.blocks
    try:
        extra = {} if grad_output is None or function == "forward" else {"grad_output": grad_output}
        return getattr(module, function)(**inputs, **extra), recorder.cut
    finally:
        module._Blocks = saved


def assert_same(a, b, rtol=1e-11):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)


def inputs_for(module, data, shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    out = {}
    for name in module.INPUTS:
        if name in data:
            out[name] = rng.uniform(0.05, 0.95, size=shape).astype(dtype) if name == "y" else \
                rng.normal(scale=2.0, size=shape).astype(dtype)
        else:
            out[name] = float(rng.uniform(0.3, 1.2))
    return out


@pytest.fixture(scope="module")
def modules():
    return {key: derivgen.compile(src, function=fn, wrt=wrt) for key, (src, fn, wrt, _) in zip(IDS, PROGRAMS)}


@pytest.mark.parametrize("shape", [(37,), (13, 3), (9, 2, 2)], ids=["vector", "matrix", "3-d"])
@pytest.mark.parametrize("key", IDS)
def test_blocks_compute_what_one_pass_computes(modules, key, shape):
    module = modules[key]
    src, function, wrt, data = PROGRAMS[IDS.index(key)]
    assert "_Blocks(" in derivgen.generate(src, function=function, wrt=wrt)
    inputs = inputs_for(module, data, shape)
    blocked_functions = 0
    for function in ("forward", "backward", "value_and_grad"):
        whole, cut = run(module, inputs, size=10**9, function=function)
        if not cut:
            continue  # this function is not blocked (a dot product is all its work, say)
        assert cut == [False]
        blocked, cut = run(module, inputs, size=4, function=function)
        assert cut == [True]
        blocked_functions += 1
        for a, b in zip(_flat(blocked), _flat(whole)):
            assert_same(a, b)
    assert blocked_functions >= 1


def test_blocked_gradients_match_finite_differences(modules):
    module = modules["regularised"]
    inputs = inputs_for(module, ["x", "y"], (25,))
    saved = module._Blocks.size
    module._Blocks.size = 4
    try:
        _, cut = run(module, inputs, size=4)
        assert cut == [True]
        report = gradcheck(module, {k: np.asarray(v) for k, v in inputs.items()})
        assert report.ok, str(report)
    finally:
        module._Blocks.size = saved


def test_blocks_keep_float32(modules):
    module = modules["elementwise"]
    inputs = inputs_for(module, ["a", "b"], (40,), dtype=np.float32)
    (value, grads), cut = run(module, inputs, size=4)
    assert cut == [True]
    assert np.asarray(value).dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    (whole_value, whole_grads), _ = run(module, inputs, size=10**9)
    np.testing.assert_allclose(value, whole_value, rtol=1e-5)
    for g, whole in zip(grads, whole_grads):
        assert_same(g, whole)


def test_an_array_grad_output_is_cut_with_the_data(modules):
    module = modules["array-output"]
    inputs = inputs_for(module, ["x"], (30,))
    g = np.random.default_rng(5).normal(size=30)
    (whole, _) = run(module, inputs, size=10**9, grad_output=g, function="backward")
    blocked, cut = run(module, inputs, size=4, grad_output=g, function="backward")
    assert cut == [True]
    for a, b in zip(blocked, whole):
        assert_same(a, b)


@pytest.mark.parametrize("case", ["broadcasting", "extra-dims", "empty", "one-block", "scalars"])
def test_shapes_blocks_cannot_follow_take_one_pass(modules, case):
    """Inputs whose rows do not line up are computed whole, as without blocks."""
    module = modules["bce-mean"]
    rng = np.random.default_rng(3)
    x, y = {
        "broadcasting": (rng.normal(size=(12, 1)), rng.uniform(size=(12,))),
        "extra-dims": (rng.normal(size=(12,)), rng.uniform(size=(1, 1))),
        "empty": (np.zeros(0), np.zeros(0)),
        "one-block": (rng.normal(size=(7,)), rng.uniform(size=(7,))),
        "scalars": (np.array(0.3), np.array(1.0)),  # 0-d arrays: the array path
    }[case]
    inputs = {"x": x, "y": y, "w": 0.7, "b": -0.1}
    function = "forward" if case == "empty" else "value_and_grad"  # the mean of nothing: nan
    with np.errstate(all="ignore"):
        blocked, cut = run(module, inputs, size=4, function=function)
        whole, _ = run(module, inputs, size=10**9, function=function)
    assert cut == [False]
    for a, b in zip(_flat(blocked), _flat(whole)):
        np.testing.assert_array_equal(a, b)


def test_a_result_reading_no_input_cut_into_blocks_is_not_put_together_per_block():
    """value_and_grad of an elementwise f(x, w) where x and w are single numbers: each block
    would compute the same value, so blocks are cut only over x and w (over=). A grad_output
    array larger than that single-number output is not the output's shape: an error, whether
    the function would be cut into blocks or not, and a single number works on every path."""
    source = "sin(x)*w + exp(-x**2)*cos(w*x)*x"
    assert "over=(x, w)" in derivgen.generate(source, wrt=["x", "w"])
    module = derivgen.compile(source, wrt=["x", "w"])
    inputs = {"x": np.array(0.4), "w": np.array(1.5)}
    for function in ("value_and_grad", "backward"):
        for size in (4, 10**9):
            with pytest.raises(ValueError, match=r"grad_output has shape \(40,\), but the output has shape \(\)"):
                run(module, inputs, size=size, grad_output=np.arange(1.0, 41.0), function=function)
        blocked, cut = run(module, inputs, size=4, grad_output=np.array(2.5), function=function)
        whole, _ = run(module, inputs, size=10**9, grad_output=np.array(2.5), function=function)
        assert cut == [False]
        for a, b in zip(_flat(blocked), _flat(whole)):
            assert_same(a, b)


@pytest.mark.parametrize("source, wrt", [
    ("x**2", ["x"]),  # one operation: nothing to gain
    ("mean((w*x + b - y)**2) + 0.1*w**2", ["w", "b"]),  # five operations: blocks measured slower
    ("mean(x**2)", ["x"]),  # a dot product and a copy
    ("sum(sin(x @ w))", ["w"]),  # matrix product: rows of x meet all of w
    ("sum(sin(x)*cos(x), axis=0)", ["x"]),  # a sum along an axis
    ("sum(sin(x)*cos(x)*exp(x)) + sum(sin(w)*cos(w)*exp(w))", ["x", "w"]),  # sums over different inputs
    ("sum(x*exp(-mean(sin(x)*x)) + sin(x)*cos(x))", ["x"]),  # elementwise work after a sum of work
])
def test_functions_not_elementwise_up_to_their_sums_are_not_blocked(source, wrt):
    text = derivgen.generate(source, wrt=wrt)
    assert "_Blocks(" not in text.split("def value_and_grad")[1].split("\ndef ")[0]


def test_blocked_code_is_identical_across_hash_seeds():
    script = ("import derivgen, sys; sys.stdout.write(derivgen.generate(sys.argv[1], wrt=['w', 'b'], "
              "function='loss'))")
    texts = {subprocess.run([sys.executable, "-c", script, BCE_MEAN], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "1", "77")}
    assert len(texts) == 1 and "_Blocks(" in texts.pop()


def _flat(result):
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple):
        return [result[0], *result[1]]
    if isinstance(result, tuple):
        return list(result)
    return [result]


@pytest.mark.parametrize("layout", ["strided", "fortran", "read-only"])
def test_blocks_of_inputs_that_are_views(modules, layout):
    """Rows of a strided, Fortran-ordered or read-only input are views like any other."""
    module = modules["elementwise"]
    rng = np.random.default_rng(8)
    if layout == "strided":
        a, b = rng.normal(size=(50,))[::2], rng.normal(size=(75,))[::3]
    elif layout == "fortran":
        a, b = np.asfortranarray(rng.normal(size=(12, 5))), np.asfortranarray(rng.normal(size=(12, 5)))
    else:
        a, b = rng.normal(size=(30,)), rng.normal(size=(30,))
        a.flags.writeable = b.flags.writeable = False
    before = (a.copy(), b.copy())
    blocked, cut = run(module, {"a": a, "b": b}, size=4)
    whole, _ = run(module, {"a": a, "b": b}, size=10**9)
    assert cut == [True]
    for x, y in zip(_flat(blocked), _flat(whole)):
        assert_same(x, y)
    np.testing.assert_array_equal(a, before[0])  # the caller's arrays are left as they were
    np.testing.assert_array_equal(b, before[1])
