"""np.einsum, np.tensordot, np.inner and np.kron: how subscripts are read, what is refused
(each error at its place, with a hint), and gradients in the cases where a contraction's
gradient must do more than contract (tests/opdb.py checks every form against finite
differences; tests/test_plumbing_rules.py the second-order rules)."""

import numpy as np
import pytest

import derivgen
from derivgen.errors import ParseError
from derivgen.ops.contractions import einsum_subscripts


@pytest.mark.parametrize(("text", "count", "normalised"), [
    ("ij,jk->ik", 2, "ij,jk->ik"),
    ("ij,jk", 2, "ij,jk->ik"),  # NumPy's implicit output: the letters used once, in order
    ("ba", 1, "ba->ab"),
    ("aB", 1, "aB->Ba"),  # upper case first, as NumPy sorts them
    ("ii", 1, "ii->"),
    ("...ij,...jk", 2, "...ij,...jk->...ik"),
    (" i j , j k -> i k ", 2, "ij,jk->ik"),
    ("i->...i", 1, "i->i"),  # an ellipsis of no operand stands for no axis
    (",", 2, ",->"),
])
def test_subscripts_are_normalised_with_the_output_written_out(text, count, normalised):
    assert einsum_subscripts(text, count) == normalised


def test_the_generated_code_writes_the_einsum_with_its_output():
    source = derivgen.generate("np.einsum('ij,jk', a, b)")
    assert "np.einsum('ij,jk->ik', a, b)" in source


ERRORS = [
    ("np.einsum(s, a)", "must be a string literal", 11),
    ("np.einsum(a, [0, 1])", "must be a string literal", 11),
    ("np.einsum()", "missing its subscripts", 1),
    ("np.einsum('i')", "at least one operand", 1),
    ("np.einsum('i1', a)", "hold '1'", 11),
    ("np.einsum('i-j', a)", "hold '-'", 11),
    ("np.einsum('ij,jk->ik', a)", "name 2 operands, and 1 is given", 11),
    ("np.einsum('ij->k', a)", "output's 'k' is in no operand", 11),
    ("np.einsum('ij->ii', a)", "output repeats 'i'", 11),
    ("np.einsum('i->i->i', a)", "'->' twice", 11),
    ("np.einsum('......i', a)", "two ellipses", 11),
    ("np.einsum('...i->i', a)", "drops the operands' ellipsis", 11),
    ("np.einsum('i', a, out=b)", "unexpected keyword 'out'", 23),
    ("np.einsum('i', a, optimize=b)", "optimize must be", 28),
    ("np.einsum('" + ",".join("i" * 9) + "', " + ", ".join(["a"] * 9) + ")", "at most 8 operands", 56),
    ("a.einsum('i', a)", "unknown method", 1),
    ("np.tensordot(a, b, axes=c)", "known at compile time", 25),
    ("np.tensordot(a, b, axes=-1)", "between 0 and", 25),
    ("np.tensordot(a, b, axes=([0], [0], [1]))", "a count or a pair", 25),
    ("np.tensordot(a, b, axes=([0, 1], [0]))", "2 axes of a and 1 of b", 25),
    ("np.tensordot(a, b, axes=([0, 0], [1, 2]))", "lists an axis twice", 26),
    ("torch.tensordot(a, b, dims=(1.5, 0))", "must be an integer", 29),
]


@pytest.mark.parametrize(("source", "message", "col"), ERRORS)
def test_contractions_given_what_they_cannot_take_are_errors_at_their_place(source, message, col):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in info.value.message, info.value.message
    assert info.value.col == col
    if "einsum" in source and "unknown" not in message:
        assert info.value.hint


RNG = np.random.default_rng(3)


def test_a_diagonal_receives_the_gradient_on_it_and_nowhere_else():
    mod = derivgen.compile("np.einsum('ii->i', x)")
    g = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mod.backward(RNG.normal(size=(3, 3)), grad_output=g).x, np.diag(g))


def test_a_letter_summed_out_sends_the_gradient_back_along_it():
    mod = derivgen.compile("np.einsum('ij->j', x)")
    g = np.array([1.0, 2.0])
    np.testing.assert_array_equal(mod.backward(np.zeros((3, 2)), grad_output=g).x, np.tile(g, (3, 1)))


def test_broadcast_operands_get_their_gradients_summed_back_to_their_shapes():
    mod = derivgen.compile("np.einsum('...ij,...jk->...ik', a, b)")
    a, b = RNG.normal(size=(5, 1, 2, 3)), RNG.normal(size=(4, 3, 2))
    grads = mod.backward(a, b)
    np.testing.assert_allclose(grads.a, np.sum(np.ones((5, 4, 2, 2)) @ np.swapaxes(b, -1, -2), axis=1, keepdims=True))
    np.testing.assert_allclose(grads.b, np.sum(np.swapaxes(np.broadcast_to(a, (5, 4, 2, 3)), -1, -2)
                                               @ np.ones((5, 4, 2, 2)), axis=0))
    size_one = derivgen.compile("np.einsum('ij,jk->ik', a, b)").backward(np.ones((2, 1)), np.ones((3, 4)))
    np.testing.assert_array_equal(size_one.a, np.full((2, 1), 12.0))


def test_zero_d_results_and_operands():
    mod = derivgen.compile("np.einsum('i,->', a, s) + np.inner(s, s) + np.kron(s, s)")
    a, s = np.array([1.0, 2.0]), np.array(3.0)
    assert mod.forward(a, s) == 9.0 + 9.0 + 9.0
    grads = mod.backward(a, s)
    np.testing.assert_array_equal(grads.a, [3.0, 3.0])
    assert grads.s == 3.0 + 12.0 and np.shape(grads.s) == ()


def test_torch_takes_its_operands_as_a_list_too():
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 4))
    listed = derivgen.compile("torch.einsum('ij,jk', [a, b]).sum()").backward(a, b)
    spread = derivgen.compile("torch.einsum('ij,jk->ik', a, b).sum()").backward(a, b)
    np.testing.assert_array_equal(listed.a, spread.a)
    np.testing.assert_array_equal(listed.b, spread.b)


def test_a_number_among_the_operands_keeps_a_float32_gradient_float32():
    # np.einsum with a Python number computes in float64; the gradient is cast back to the
    # input's dtype as the value is (found by fuzzing, seed 0 of the default suite)
    mod = derivgen.compile("np.einsum('pz,->z', x, 1.5)", wrt=["x"])
    x = np.array([[0.5, 0.5]], dtype=np.float32)
    grad = mod.backward(x).x
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [[1.5, 1.5]])
