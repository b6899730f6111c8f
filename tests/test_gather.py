"""Indexes by positions known when the module runs (derivgen/frontend/positions.py): an input
of integers (``x[t]``) and ``np.arange(n)`` of a size (``logp[np.arange(len(t)), t]``).

The op database (tests/opdb.py, GATHER) checks values, gradients, dtypes and functions for
each form; here are the programs users write (a cross-entropy loss against PyTorch's
formula), the gradient where positions repeat, what the caller may pass as positions, the
errors, the checks and the formula view.
"""

from __future__ import annotations

import numpy as np
import pytest
from numeric import numeric_vjp

import derivgen
from derivgen import ParseError, UsageError, reference
from derivgen.check import gradcheck
from derivgen.formulas import formulas

RNG = np.random.default_rng(13)

CROSS_ENTROPY = """import numpy as np

def loss(logits, target):
    z = logits - np.max(logits, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(target)), target])
"""


def test_cross_entropy_matches_its_formula_and_finite_differences():
    mod = derivgen.compile(CROSS_ENTROPY, function="loss")
    assert mod.INPUTS == ("logits", "target") and mod.WRT == ("logits",) and mod.POSITIONS == ("target",)
    logits, target = RNG.normal(size=(6, 4)), np.array([0, 3, 1, 1, 2, 3])

    def loss(x):  # PyTorch's cross_entropy, as its documentation writes it
        rows = np.arange(len(target))
        return np.mean(np.log(np.sum(np.exp(x), axis=1)) - x[rows, target])

    value, grads = mod.value_and_grad(logits, target)
    np.testing.assert_allclose(value, loss(logits), rtol=1e-14)
    assert mod.forward(logits, target) == value
    # softmax minus the one-hot target, over the batch
    softmax = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    np.testing.assert_allclose(grads.logits, (softmax - np.eye(4)[target]) / len(target), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads.logits, numeric_vjp(loss, logits, 1.0), rtol=1e-7, atol=1e-10)
    np.testing.assert_array_equal(mod.backward(logits, target).logits, grads.logits)


def test_cross_entropy_matches_the_reference_evaluator():
    logits, target = RNG.normal(size=(5, 3)) * 4, np.array([2, 0, 0, 1, 2])
    expected = reference.value_and_grad(CROSS_ENTROPY, {"logits": logits, "target": target}, function="loss")
    value, grads = derivgen.compile(CROSS_ENTROPY, function="loss").value_and_grad(logits, target)
    np.testing.assert_allclose(value, expected.value, rtol=1e-14)
    np.testing.assert_allclose(grads.logits, expected.grads["logits"], rtol=1e-8, atol=1e-12)
    assert set(expected.grads) == {"logits"}  # positions have no gradient there either


@pytest.mark.parametrize("source, numpy, x_shape, t", [
    ("x[t]", lambda x, t: x[t], (5,), [0, 0, 4, -1, 2, 0]),
    ("x[t] * x[t]", lambda x, t: x[t] * x[t], (4,), [1, 1, 1]),
    ("x[:, t] + x[0, None, t]", lambda x, t: x[:, t] + x[0, None, t], (3, 4), [3, 3, 0]),
    ("x[t, 1:] ** 2", lambda x, t: x[t, 1:] ** 2, (3, 4), [[0, 2], [2, 2]]),
    ("x[np.arange(len(t)), t] * x[:, 0]", lambda x, t: x[np.arange(len(t)), t] * x[:, 0], (3, 2), [1, 0, 1]),
])
def test_a_position_read_more_than_once_gets_every_gradient(source, numpy, x_shape, t):
    mod = derivgen.compile(source)
    x, t = RNG.normal(size=x_shape), np.array(t)
    value = mod.forward(x, t)
    np.testing.assert_allclose(value, numpy(x, t), rtol=1e-15)
    g = RNG.normal(size=np.shape(value))
    got = mod.backward(x, t, grad_output=g).x
    np.testing.assert_allclose(got, numeric_vjp(lambda v: numpy(v, t), x, g), rtol=1e-7, atol=1e-9)
    assert got.shape == x.shape


def test_positions_may_be_lists_python_ints_or_whole_floats_and_keep_the_dtype():
    mod = derivgen.compile("x[t] * 2")
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    for t in ([2, 0], np.array([2, 0], dtype=np.int8), np.array([2.0, 0.0]), (2, 0)):
        value, grads = mod.value_and_grad(x, t)
        np.testing.assert_array_equal(value, [6.0, 2.0])
        assert value.dtype == np.float32 and grads.x.dtype == np.float32
        np.testing.assert_array_equal(grads.x, [2.0, 0.0, 2.0])
    assert mod.forward(x, 1) == 4.0  # one position: one element


@pytest.mark.parametrize("t, message", [
    (np.array([0.5, 1.0]), "expected integer positions, got 0.5"),
    (np.array([True, False, True]), "got booleans"),
    (np.array([np.nan]), "expected integer positions, got nan"),
    ("ab", "expected integer positions"),
])
def test_what_is_no_positions_is_a_clear_error_naming_the_input(t, message):
    mod = derivgen.compile("x[t]")
    with pytest.raises(TypeError, match=message) as info:
        mod.forward(np.ones(3), t)
    assert str(info.value).startswith("t: ")


def test_positions_out_of_range_are_numpy_s_index_error():
    mod = derivgen.compile("x[t]")
    with pytest.raises(IndexError):
        mod.forward(np.ones(3), np.array([3]))


@pytest.mark.parametrize("source, message, line, col", [
    ("def f(x, t):\n    return np.sum(x[t] * t)\n", "'t' is used as positions here", 2, 21),
    ("def f(x, t):\n    return np.sum(x[t + 1])\n", "an index computed when the module runs", 2, 21),
    ("def f(x, t):\n    return np.sum(x[np.arange(1, len(t)), t])\n", "only np.arange(n)", 2, 21),
    ("def f(x, t):\n    return np.sum(x[np.arange(len(t), dtype=float), t])\n", "only np.arange(n)", 2, 21),
    ("def f(x, t):\n    return np.sum(x[np.arange(2.0), t])\n", "only np.arange(n)", 2, 21),
    ("def f(x, t):\n    return np.sum(x[np.arange(x), t])\n", "arange()'s stop must be a number known now", 2, 31),
    ("def f(x, t):\n    return np.sum(x[np.arange(-1), t])\n", "of an integer n from 0 to", 2, 21),
    ("def f(x, t):\n    return np.sum(x[np.arange(len(t), dtype=np.int8), t])\n", "has no gradient", 2, 45),
    ("def f(x, t):\n    return np.sum(x[1 > 0])\n", "a mask of the array's shape, not True", 2, 21),
])
def test_positions_used_as_they_cannot_be_are_errors_at_their_place(source, message, line, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in info.value.message
    assert (info.value.line, info.value.col) == (line, col)


def test_positions_have_no_gradient_to_ask_for():
    with pytest.raises(UsageError, match="'t' holds positions"):
        derivgen.compile("x[t]", wrt="x,t")
    assert derivgen.compile("x[t] * y", wrt="y").WRT == ("y",)


def test_np_arange_of_a_constant_is_a_list_of_positions():
    mod = derivgen.compile("x[np.arange(3)] * 2")
    assert not hasattr(mod, "POSITIONS")
    np.testing.assert_array_equal(mod.backward(np.ones(4)).x, [2.0, 2.0, 2.0, 0.0])


def test_gradcheck_draws_positions_inside_the_other_inputs_sizes():
    mod = derivgen.compile(CROSS_ENTROPY, function="loss")
    for dtype in ("float64", "float32"):
        report = gradcheck(mod, shapes={"logits": (6, 3), "target": (6,)}, dtype=dtype)
        assert report.ok, str(report)
        assert [row.name for row in report.rows] == ["logits"]
        assert "whole numbers" in report.ranges["target"].why and report.ranges["target"].high == 3
    given = gradcheck(mod, {"logits": RNG.normal(size=(2, 5)), "target": np.array([4, 4])})
    assert given.ok


def test_the_check_command_runs_on_a_module_with_positions(tmp_path, capsys):
    from derivgen.cli import main
    source = tmp_path / "ce.py"
    source.write_text(CROSS_ENTROPY)
    out = tmp_path / "ce_grad.py"
    assert main(["generate", str(source), "-f", "loss", "-o", str(out)]) == 0
    assert main(["check", str(out), "--shape", "logits=5,4", "--shape", "target=5"]) == 0
    assert "target: random in [0, 4), whole numbers" in capsys.readouterr().out
    assert main(["check", str(out), "--shape", "logits=5,4", "--shape", "target=5", "--range", "target=1,3"]) == 0
    capsys.readouterr()
    assert main(["check", str(out), "--shape", "logits=5,4", "--shape", "target=5", "--range", "target=1.2,1.8"]) == 2
    assert "the range of target holds no whole number" in capsys.readouterr().err


def test_the_formula_view_names_the_positions():
    text = formulas(CROSS_ENTROPY, function="loss").text()
    assert "[arange(target.shape[0]), target]" in text
    assert "scatter(" in text
    latex = formulas(CROSS_ENTROPY, function="loss").text(latex=True)
    assert r"\operatorname{arange}" in latex and "target" in latex


def test_generated_code_with_positions_is_deterministic():
    first = derivgen.generate(CROSS_ENTROPY, function="loss")
    assert derivgen.generate(CROSS_ENTROPY, function="loss") == first
    assert "target = _as_positions(target, 'target')" in first
    assert "logits, = _as_arrays" not in first and "(logits,) = _as_arrays(logits)" in first


def test_the_reference_evaluator_refuses_positions_that_are_no_whole_numbers():
    with pytest.raises(ValueError, match="whole numbers"):
        reference.evaluate("x[t]", {"x": np.ones(3), "t": np.array([0.5])})


def test_an_exception_at_an_element_left_out_is_seen_by_the_tracking_evaluator():
    # log(-1) is nan at element 1, which x[t] leaves out: NumPy warned of it all the same.
    arith = reference.Naive(track=True)
    program = reference._program("log(x)[t]")
    out = program(arith, {"x": arith.input(np.array([1.0, -1.0, 2.0])), "t": arith.input(np.array([0, 2]))})
    assert not out.bad.any() and arith.dropped


PYTORCH_CROSS_ENTROPY = """import torch

def loss(logits, target):
    logp = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -logp.gather(1, target.unsqueeze(1)).mean()
"""


@pytest.mark.parametrize("source", [
    PYTORCH_CROSS_ENTROPY,
    PYTORCH_CROSS_ENTROPY.replace("logp.gather(1, target.unsqueeze(1))", "torch.gather(logp, 1, target.view(-1, 1))"),
    PYTORCH_CROSS_ENTROPY.replace("logp.gather(1, target.unsqueeze(1))",
                                  "np.take_along_axis(logp, target[:, None], axis=-1)"),
])
def test_pytorch_s_gather_and_numpy_s_take_along_axis_read_the_target_class(source):
    mod = derivgen.compile(source, function="loss")
    assert mod.POSITIONS == ("target",)
    logits, target = RNG.normal(size=(6, 4)), np.array([0, 3, 1, 1, 2, -1])
    expected = derivgen.compile(CROSS_ENTROPY, function="loss").value_and_grad(logits, target)
    value, grads = mod.value_and_grad(logits, target)
    np.testing.assert_allclose(value, expected[0], rtol=1e-14)
    np.testing.assert_allclose(grads.logits, expected[1].logits, rtol=1e-12, atol=1e-16)
    ref = reference.value_and_grad(source, {"logits": logits, "target": target}, function="loss")
    np.testing.assert_allclose(grads.logits, ref.grads["logits"], rtol=1e-8, atol=1e-12)


def test_pytorch_s_gather_reads_the_leading_part_of_the_other_axes():
    # torch.gather(x, 1, index) with index of 2 rows reads x's first 2 rows; NumPy broadcasts
    mod = derivgen.compile("x.gather(1, t)")
    x, t = np.arange(12.0).reshape(4, 3), np.array([[2, 2], [0, 1]])
    np.testing.assert_array_equal(mod.forward(x, t), [[2.0, 2.0], [3.0, 4.0]])
    grad = mod.backward(x, t, grad_output=np.array([[1.0, 2.0], [3.0, 4.0]])).x
    np.testing.assert_array_equal(grad, [[0, 0, 3], [3, 4, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="larger than the array"):
        mod.forward(x, np.zeros((5, 1), dtype=int))
    with pytest.raises(ValueError, match="index has 1 dimensions, the array 2"):
        mod.forward(x, np.array([0, 1]))
    broadcast = derivgen.compile("np.take_along_axis(x, t, 1)")
    np.testing.assert_array_equal(broadcast.forward(x, np.array([[1]])), [[1.0], [4.0], [7.0], [10.0]])


@pytest.mark.parametrize("source, message, col", [
    ("np.take_along_axis(x, t + 1, 1)", "take_along_axis()'s indices must be an input holding integer positions", 23),
    ("x.gather(1, t) * t", "'t' is used as positions here", 13),
    ("torch.gather(x, 1, 2.0)", "gather()'s index must be an input", 20),
    ("np.take_along_axis(x, t, axis=None)", "None is only allowed", 31),
    ("x.gather(1, t[:, None] * 2)", "gather()'s index must be an input", 13),
])
def test_positions_an_op_reads_must_be_an_input_of_integers(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in info.value.message and info.value.col == col


def test_the_formula_view_with_shapes_given_reads_the_gathers_shapes():
    # shape rules of the gathers (found wrong when shapes are given: derivgen show --shape)
    text = formulas("sum(x[np.arange(len(t)), t] * w)", shapes={"x": (3, 4), "t": (3,), "w": (3,)}).text()
    assert "x[arange(t.shape[0]), t]" in text
    text = formulas("sum(x.gather(1, t) * w)", shapes={"x": (3, 4), "t": (2, 2), "w": (2, 2)}).text()
    assert "gather(x, 1, t)" in text and "scatter_add(w, x.shape, t, axis=1)" in text


@pytest.mark.parametrize("source, numpy", [
    ("np.mean(x[x > 0])", lambda x, w: np.mean(x[x > 0])),
    ("def f(x, w):\n    mask = w > 0.5\n    return (x[mask] ** 2).sum()\n", lambda x, w: np.sum(x[w > 0.5] ** 2)),
    ("np.sum(x[(x > 0) & (w < 1), None] * 3)", lambda x, w: np.sum(x[(x > 0) & (w < 1), None] * 3)),
])
def test_a_boolean_mask_selects_where_it_holds_and_sends_the_gradient_there(source, numpy):
    mod = derivgen.compile(source)
    x, w = np.array([0.5, -1.0, 2.0, -0.25, 1.5]), np.array([0.1, 0.9, 0.7, 0.6, 0.2])
    inputs = {"x": x, "w": w} if "w" in mod.INPUTS else {"x": x}
    value, grads = mod.value_and_grad(**inputs)
    np.testing.assert_allclose(value, numpy(x, w), rtol=1e-15)
    np.testing.assert_allclose(grads.x, numeric_vjp(lambda v: numpy(v, w), x, 1.0), rtol=1e-7, atol=1e-9)
    assert "w" not in inputs or np.all(grads.w == 0.0)


def test_a_mask_that_selects_nothing_is_numpy_s_empty_selection():
    mod = derivgen.compile("np.sum(x[x > 5])")
    value, grads = mod.value_and_grad(np.array([1.0, 2.0]))
    assert value == 0.0 and list(grads.x) == [0.0, 0.0]
    with pytest.raises(IndexError):  # a mask of another shape: NumPy's error
        derivgen.compile("np.sum(x[w > 0])").forward(np.ones(3), np.ones(2))
    with pytest.raises(UsageError, match="known only when the module runs"):
        formulas("np.sum(x[x > 0])", shapes={"x": (3,)})
