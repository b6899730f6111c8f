"""Ops that move elements: indexing, reshaping, axes reordered (derivgen/ops/layout.py).

The op database (tests/opdb.py) checks every op and spelling for values, gradients, dtypes and
paths; here are what it does not cover: the front end's reading of indexes and static
arguments (and its errors), the meanings of transpose with axes, the gradient where a list
of positions repeats one, the code and formulas they print.
"""

from __future__ import annotations

import numpy as np
import pytest
from numeric import numeric_vjp

import derivgen
from derivgen import ParseError
from derivgen.formulas import formulas

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("source, numpy", [
    ("x[[0, 0, 2]]", lambda x: x[[0, 0, 2]]),
    ("x[[1, -3, 1], ::-1]", lambda x: x[[1, -3, 1], ::-1]),
    ("x[:, [2, 2]] * x[0, None, :2]", lambda x: x[:, [2, 2]] * x[0, None, :2]),
    ("x[1:, None, -1] + x.T[0]", lambda x: x[1:, None, -1] + x.T[0]),
])
def test_a_position_read_twice_gets_both_gradients(source, numpy):
    mod = derivgen.compile(source)
    x = RNG.normal(size=(3, 3))
    value = mod.forward(x)
    np.testing.assert_array_equal(value, numpy(x))
    g = RNG.normal(size=np.shape(value))
    np.testing.assert_allclose(mod.backward(x, grad_output=g).x, numeric_vjp(numpy, x, g), rtol=1e-7, atol=1e-9)


def test_constant_names_and_arithmetic_index():
    mod = derivgen.compile("K = 2\ndef f(x):\n    return x[K - 1] * x[:K].sum() + x[-K]\n")
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert mod.forward(x) == 2.0 * 3.0 + 3.0
    np.testing.assert_array_equal(mod.backward(x).x, [2.0, 3.0 + 2.0, 1.0, 0.0])


@pytest.mark.parametrize("source, numpy", [
    ("x.transpose(0, 1)", lambda x: np.swapaxes(x, 0, 1)),  # two axes: swapped, as in PyTorch
    ("torch.transpose(x, 0, 1)", lambda x: np.swapaxes(x, 0, 1)),
    ("np.transpose(x, (0, 1))", lambda x: x),  # NumPy's: a permutation
    ("transpose(x, (1, 0))", lambda x: x.T),
    ("x.transpose()", lambda x: x.T),
    ("x.mT", lambda x: np.swapaxes(x, -1, -2)),
])
def test_transpose_with_axes_means_what_the_library_spelled_means(source, numpy):
    x = RNG.normal(size=(2, 3))
    np.testing.assert_array_equal(derivgen.compile(source).forward(x), numpy(x))


def test_a_permutation_of_three_axes_and_its_gradient():
    mod = derivgen.compile("sum(x.transpose(2, 0, 1) * w)")
    x, w = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(4, 2, 3))
    grads = mod.backward(x, w)
    np.testing.assert_allclose(grads.x, np.transpose(w, (1, 2, 0)))
    np.testing.assert_allclose(grads.w, np.transpose(x, (2, 0, 1)))


def test_python_numbers_go_in_and_arrays_of_the_same_values_come_out():
    mod = derivgen.compile("reshape(x, (1, 1)) * 2")
    value, grads = mod.value_and_grad(3.0)
    assert value.shape == (1, 1) and value.dtype == np.float64 and value[0, 0] == 6.0
    assert grads.x == 2.0 and isinstance(grads.x, float)


def test_an_index_that_does_not_fit_is_numpys_error_at_run_time():
    mod = derivgen.compile("sum(x[5])")
    with pytest.raises(IndexError):
        mod.forward(np.zeros(3))
    with pytest.raises(ValueError):
        derivgen.compile("x.reshape(2, -1)").forward(np.zeros(3))


@pytest.mark.parametrize("source, message, col", [
    ("x[len(x) - 1]", "an index must be known at compile time, and len(x) - 1 is known only when", 3),
    ("x[y + 1]", "an index computed when the module runs must be an input holding integers", 3),
    ("x[1.5]", "an index must be an integer", 3),
    ("x[True]", "an index must be an integer, not True", 3),
    ("x[::0]", "a slice step cannot be zero", 5),
    ("x[..., 0, ...]", "a single ellipsis", 3),
    ("x[[]]", "an empty list of positions", 3),
    ("x[[[0, 1]]]", "a list of positions must be flat", 3),
    ("x[1 > 0]", "an index must be an integer or a mask of the array's shape, not True", 3),
    ("np.pi[0]", "a constant is a single number and cannot be indexed", 1),
    ("(x > 0)[0]", "a condition cannot be indexed", 2),
    ("x.reshape(2, -1, -1)", "only one size can be -1", 11),
    ("x.reshape(-2)", "a size cannot be -2", 11),
    ("x.reshape(y)", "a size must be an integer known at compile time", 11),
    ("np.transpose(x, (0, 0))", "axis 0 is repeated", 21),
    ("x.squeeze(axis=1.0)", "an axis must be an integer", 16),
    ("flatten(x, 2**40)", "too large", 12),
    ("np.expand_dims(x, 99)", "axis 99 is out of range", 19),
    ("x.swapaxes(0)", "swapaxes() is missing its argument 'axis2'", 1),
    ("np.pi.mT", "not a supported constant", 1),
])
def test_static_arguments_that_are_not_known_integers_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.generate(source)
    assert message in info.value.message
    assert (info.value.line, info.value.col) == (1, col)


def test_the_generated_code_reads_as_written():
    text = derivgen.generate("def f(x):\n    return sum(sin(x[1:, None, ::2]) * x.reshape(2, -1)[0, None])\n")
    assert "x[1:, None, ::2]" in text and "np.reshape(x, (2, -1))" in text
    assert "_index_grad(" in text and "np.s_[1:, None, ::2]" in text
    assert derivgen.generate("x[[0, 2]]") == derivgen.generate("x[[0, 2]]")


def test_formulas_write_the_gradient_of_an_index_as_a_scatter():
    result = formulas("sum(x[1:] ** 2)")
    assert "x[1:]" in result.text() and "scatter(" in result.text()
    shaped = formulas("sum(x.reshape(-1)[0:2] * w)", shapes={"x": (2, 2), "w": (2,)})
    assert "reshape(" in shaped.text()


@pytest.mark.parametrize("source, x_shape, numpy", [
    ("x.expand(3, -1) * w", (1, 4), lambda x: np.broadcast_to(x, (3, 4))),
    ("np.broadcast_to(x, (3, 4)) * w", (4,), lambda x: np.broadcast_to(x, (3, 4))),
    ("torch.broadcast_to(x, (3, 4)) * w", (3, 1), lambda x: np.broadcast_to(x, (3, 4))),
    ("x.expand(3, 4) * w", (), lambda x: np.broadcast_to(x, (3, 4))),
    ("np.fliplr(x.expand(3, -1)) * w", (4,), lambda x: np.fliplr(np.broadcast_to(x, (3, 4)))),
])
def test_an_array_broadcast_gets_the_gradient_of_every_copy(source, x_shape, numpy):
    mod = derivgen.compile(source)
    x, w = RNG.normal(size=x_shape), RNG.normal(size=(3, 4))
    np.testing.assert_array_equal(mod.forward(x, w), numpy(x) * w)
    g = RNG.normal(size=(3, 4))
    got = mod.backward(x, w, grad_output=g).x
    np.testing.assert_allclose(got, numeric_vjp(lambda v: numpy(v) * w, x, g), rtol=1e-7, atol=1e-9)
    assert got.shape == x_shape


def test_expand_keeps_a_size_the_source_reads_and_refuses_negative_ones():
    text = formulas("sum(x.expand(3, -1) * w)").text()
    assert "broadcast_to(x, (3, x.shape[-1]))" in text
    assert "np.broadcast_to(x, (3, np.shape(x)[-1]))" in derivgen.generate("x.expand(3, -1)")
    with pytest.raises(ParseError, match="a size cannot be -2") as info:
        derivgen.compile("x.expand(3, -2)")
    assert info.value.col == 13
    with pytest.raises(ValueError):  # NumPy's: (3,) does not broadcast to (2,)
        derivgen.compile("np.broadcast_to(x, (2,))").forward(np.ones(3))


@pytest.mark.parametrize("source, numpy", [
    ("np.roll(x, 1) * w", lambda x: np.roll(x, 1)),
    ("torch.roll(x, shifts=(1, -5), dims=(0, 1)) * w", lambda x: np.roll(x, (1, -5), axis=(0, 1))),
    ("x.roll(2, 1) * x", lambda x: np.roll(x, 2, 1) * x),
    ("np.cumsum(x, axis=1) * w", lambda x: np.cumsum(x, axis=1)),
    ("x.cumsum(0) * np.cumsum(x, -1)", lambda x: np.cumsum(x, 0) * np.cumsum(x, -1)),
])
def test_a_roll_and_a_running_sum_send_each_element_its_gradient(source, numpy):
    mod = derivgen.compile(source)
    x, w = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    inputs = {"x": x, "w": w} if "w" in mod.INPUTS else {"x": x}
    value = mod.forward(**inputs)
    expected = numpy(x) * w if "w" in inputs else numpy(x)
    np.testing.assert_allclose(value, expected, rtol=1e-14)
    g = RNG.normal(size=np.shape(value))
    got = mod.backward(**inputs, grad_output=g).x
    forward = (lambda v: numpy(v) * w) if "w" in inputs else numpy
    np.testing.assert_allclose(got, numeric_vjp(forward, x, g), rtol=1e-7, atol=1e-9)


def test_a_running_sum_of_the_flattened_array_and_its_errors():
    mod = derivgen.compile("np.cumsum(x) * w")
    x, w = RNG.normal(size=(2, 3)), RNG.normal(size=6)
    np.testing.assert_allclose(mod.forward(x, w), np.cumsum(x) * w)
    np.testing.assert_allclose(mod.backward(x, w).x, np.cumsum(w[::-1])[::-1].reshape(2, 3))
    assert "cumsum(x, None)" in formulas("sum(np.cumsum(x) * w)").text()
    with pytest.raises(ParseError, match="shift must be an integer"):
        derivgen.compile("np.roll(x, 1.5)")
    with pytest.raises(ParseError, match="a single axis is needed here"):
        derivgen.compile("np.cumsum(x, axis=(0, 1))")


@pytest.mark.parametrize("source, numpy", [
    ("np.tril(x, -1) * w", lambda x: np.tril(x, -1) * W23),
    ("np.tile(x, (2, 2)) * np.repeat(x, 2, axis=0).repeat(2, 1)[:2, :3].sum()",
     lambda x: np.tile(x, (2, 2)) * np.repeat(np.repeat(x, 2, axis=0), 2, 1)[:2, :3].sum()),
    ("np.pad(x, ((1, 0), (0, 2)), constant_values=3.0) ** 2", lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=3.0) ** 2),
    ("F.pad(torch.rot90(x), (1, 1), value=-1.0) * 2", lambda x: np.pad(np.rot90(x), ((0, 0), (1, 1)), constant_values=-1) * 2),
])
def test_triangles_tiles_repeats_and_pads_send_each_element_its_gradient(source, numpy):
    inputs = {"x": RNG.normal(size=(2, 3))}
    if " w" in source:
        inputs["w"] = W23
    mod = derivgen.compile(source.replace(".repeat(2, 1)", ".repeat_interleave(2, 1)"), wrt=["x"])
    value = mod.forward(**inputs)
    np.testing.assert_allclose(value, numpy(inputs["x"]), rtol=1e-13)
    g = RNG.normal(size=np.shape(value))
    got = mod.backward(**inputs, grad_output=g).x
    np.testing.assert_allclose(got, numeric_vjp(numpy, inputs["x"], g), rtol=1e-7, atol=1e-9)


W23 = RNG.normal(size=(2, 3))


def test_the_code_of_a_pad_and_a_tile_reads_as_written():
    text = derivgen.generate("def f(x):\n    return np.sum(np.pad(np.tile(x, 2), 1) * F.pad(x, (0, 2), value=1.5))\n")
    assert "np.pad(np.tile(x, 2), 1)" in text and "_pad_last(x, (0, 2), 1.5)" in text
    assert "_tile_grad(" in text and "_unpad(" in text
    shown = formulas("sum(np.tile(x, 2) * np.repeat(x, 2))").text()
    assert "sum_blocks(" in shown and "sum_copies(" in shown


@pytest.mark.parametrize("source, message, col", [
    ("x.repeat(2)", "x.repeat() repeats each element in NumPy but the whole array in PyTorch", 1),
    ("np.repeat(x, -1)", "repeat()'s repeats must not be negative", 14),
    ("np.repeat(x, (1, 2))", "repeat()'s repeats must be one integer", 14),
    ("np.repeat(x, 2**30)", "too large", 14),
    ("np.tile(x, (2, -1))", "tile()'s reps must not be negative", 12),
    ("np.tile(x, 1.5)", "must be an integer", 12),
    ("np.pad(x, 1, mode='reflect')", "only pad's mode='constant' is supported", 19),
    ("np.pad(x, -1)", "pad's pad_width must not be negative", 11),
    ("np.pad(x, (1, 2, 3))", "pad's pad_width is an int, a pair, or one pair per axis", 11),
    ("np.pad(x, ((1, 2, 3),))", "each of pad's widths is (before, after)", 12),
    ("np.pad(x, 1, constant_values=x)", "must be a finite number known at compile time", 30),
    ("np.pad(x)", "pad() is missing its argument 'pad_width'", 1),
    ("F.pad(x, (1,))", "F.pad's pad is a tuple of (before, after) sizes", 10),
    ("F.pad(x, 1)", "F.pad's pad is a tuple of (before, after) sizes", 10),
    ("F.pad(x, (1, -1))", "a negative width crops", 14),
    ("F.pad(x, (1, 1), fill=2)", "pad() got an unexpected keyword 'fill'", 23),
    ("np.rot90(x, axes=(0,))", "rot90()'s axes are two different axes", 18),
    ("np.rot90(x, axes=(1, 1))", "axis 1 is repeated", 22),
    ("np.rot90(x, 0.5)", "rot90()'s k must be an integer", 13),
    ("np.tril(x, k=x)", "must be an integer known at compile time", 14),
])
def test_bad_tiles_repeats_pads_and_rotations_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.generate(source)
    assert message in info.value.message or message in (info.value.hint or "")
    assert (info.value.line, info.value.col) == (1, col)


def test_a_pad_of_more_axes_than_the_array_has_fails_when_the_module_runs():
    mod = derivgen.compile("F.pad(x, (1, 1, 1, 1))")
    with pytest.raises(ValueError, match="pad"):
        mod.forward(np.ones(3))
    np.testing.assert_array_equal(mod.forward(np.ones((1, 1))), np.pad(np.ones((1, 1)), 1))


def test_a_split_unpacks_into_its_parts_and_each_gets_its_gradient():
    src = "def f(x):\n    q, k, v = torch.chunk(x, 3, dim=-1)\n    a, b = np.split(x, [1], axis=0)\n    return (q * k + v).sum() * a.sum() + b.sum()\n"
    mod = derivgen.compile(src)
    x = RNG.normal(size=(3, 6))

    def numpy(x):
        q, k, v = np.split(x, 3, axis=-1)
        a, b = np.split(x, [1], axis=0)
        return (q * k + v).sum() * a.sum() + b.sum()
    assert mod.forward(x) == pytest.approx(numpy(x))
    np.testing.assert_allclose(mod.backward(x).x, numeric_vjp(numpy, x, 1.0), rtol=1e-7, atol=1e-9)
    text = derivgen.generate(src)
    assert "np.split(x, [1], 0)[0]" in text and "_split_part(x, 'chunk', 3, 0, -1)" in text


def test_a_split_that_does_not_fit_fails_when_the_module_runs():
    with pytest.raises(ValueError, match="equal"):
        derivgen.compile("def f(x):\n    a, b = np.split(x, 2)\n    return a * b\n").forward(np.ones(3))
    with pytest.raises(ValueError, match="add up"):
        derivgen.compile("def f(x):\n    a, b = torch.split(x, [1, 1])\n    return a * b\n").forward(np.ones(3))
    with pytest.raises(ValueError, match="fewer than 3 chunks"):
        derivgen.compile("def f(x):\n    a, b, c = torch.chunk(x, 3)\n    return a.sum() * b.sum() + c.sum()\n").forward(
            np.ones(4))


@pytest.mark.parametrize("source, message, col", [
    ("torch.split(x, 2)[0]", "torch.split(x, size) makes as many parts as the size fits", 16),
    ("np.split(x, 0)[0]", "must be a positive integer", 13),
    ("np.split(x, k)[0]", "must be an integer known at compile time", 13),
    ("torch.chunk(x, [1, 2])[0]", "chunk()'s chunks is one integer", 16),
    ("torch.split(x, [1, -1])[0]", "must not be negative", 16),
    ("np.split(x, 1000)[0]", "would make 1000 parts (at most 256)", 13),
    ("np.split(x, 2, axis=(0, 1))[0]", "a single axis is needed here", 21),
    ("np.split(x)[0]", "split() is missing its argument 'indices_or_sections'", 1),
    ("np.split(x, 2) * 2", "a tuple of 2 values is not an array", 1),
])
def test_bad_splits_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.generate(source)
    assert message in info.value.message or message in (info.value.hint or "")
    assert (info.value.line, info.value.col) == (1, col)


@pytest.mark.parametrize("source, message, col", [
    ("torch.cross(a, b)", "torch.cross() without dim crosses along the first axis of size 3", 1),
    ("np.cross(a, b, axisa=0)", "cross()'s axisa= is not supported", 22),
    ("np.cross(a)", "cross() is missing its argument 'b'", 1),
    ("np.cross(a, b, axis=1.5)", "must be an integer", 21),
    ("np.diag(x, k=0.5)", "must be an integer", 14),
])
def test_bad_crosses_and_diagonals_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.generate(source)
    assert message in info.value.message or message in (info.value.hint or "")
    assert (info.value.line, info.value.col) == (1, col)


def test_a_cross_product_of_vectors_of_other_lengths_fails_when_the_module_runs():
    mod = derivgen.compile("np.cross(a, b)")
    np.testing.assert_allclose(mod.forward(np.array([1.0, 0, 0]), np.array([0, 1.0, 0])), [0, 0, 1.0])
    with pytest.raises(IndexError):
        mod.forward(np.ones(2), np.ones(2))
