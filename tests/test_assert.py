"""``assert`` statements: conditions on sizes checked when the module runs (in every generated
function, blocked ones too, and in the reference evaluator), conditions known now checked
when compiling, and clear errors for what an assert cannot check."""

from __future__ import annotations

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError

MODEL = '''import numpy as np

def loss(x, w, b):
    assert x.ndim == 2, "x must be a matrix"
    assert x.shape[1] == w.shape[0] and len(b) == 1
    n, d = x.shape
    assert 0 < n <= 1000
    assert x.shape[1:] == w.shape
    assert not x.shape[0] < 1
    z = x @ w + b
    assert z.shape == (n,), "z has one value per row"
    return np.mean(z ** 2)
'''
RNG = np.random.default_rng(7)
X, W, B = RNG.normal(size=(5, 3)), RNG.normal(size=3), np.array([0.25])


def _calls(module, *inputs):
    return [lambda: module.forward(*inputs), lambda: module.backward(*inputs),
            lambda: module.value_and_grad(*inputs)]


def test_holding_asserts_change_nothing():
    plain = MODEL.replace("    assert", "    # assert")
    checked, unchecked = derivgen.compile(MODEL), derivgen.compile(plain)
    value, grads = checked.value_and_grad(X, W, B)
    expected_value, expected_grads = unchecked.value_and_grad(X, W, B)
    assert value == expected_value
    for got, expected in zip(grads, expected_grads):
        np.testing.assert_array_equal(got, expected)
    assert derivgen.gradcheck(checked, {"x": X, "w": W, "b": B}).ok
    ref = reference.value_and_grad(MODEL, {"x": X, "w": W, "b": B})
    np.testing.assert_allclose(value, ref.value, rtol=1e-14)


@pytest.mark.parametrize(("inputs", "message"), [
    ((X[0], W, B), "x must be a matrix"),
    ((X, W[:2], B), "assert x.shape[1] == w.shape[0] and len(b) == 1 failed (<source>, line 5)"),
    ((X, W, np.array([0.1, 0.2])), "assert x.shape[1] == w.shape[0] and len(b) == 1 failed (<source>, line 5)"),
    ((np.zeros((0, 3)), W, B), "assert 0 < n <= 1000 failed (<source>, line 7)"),
    ((np.zeros((1001, 3)), W, B), "assert 0 < n <= 1000 failed (<source>, line 7)"),
])
def test_every_function_and_the_reference_raise_the_sources_message(inputs, message):
    module = derivgen.compile(MODEL)
    for call in _calls(module, *inputs):
        with pytest.raises(AssertionError) as caught:
            call()
        assert str(caught.value) == message
    with pytest.raises(AssertionError) as caught:
        reference.value_and_grad(MODEL, dict(zip("xwb", inputs)))
    assert str(caught.value) == message


def test_an_assert_on_a_computed_value_is_checked_where_it_is_computed():
    source = "import numpy as np\ndef f(x, w):\n    h = x @ w\n    assert h.shape[-1] == 2, 'two outputs'\n    return np.sum(h)\n"
    module = derivgen.compile(source)
    assert module.forward(np.ones((3, 4)), np.ones((4, 2))) == 24.0
    with pytest.raises(AssertionError, match="two outputs"):
        module.backward(np.ones((3, 4)), np.ones((4, 3)))


def test_a_blocked_function_checks_before_its_loop():
    source = ("import numpy as np\ndef bce(p, y):\n    assert p.shape == y.shape, 'shapes differ'\n"
              "    return np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))\n")
    text = derivgen.generate(source)
    assert "_Blocks(" in text  # the elementwise work is still done in blocks
    before = text.split("def value_and_grad")[1].split("for p_, y_ in")[0]
    assert "_check(p.shape == y.shape, 'shapes differ')" in before
    module = derivgen.compile(source)
    p = np.linspace(0.05, 0.95, 200_000)
    y = (np.arange(p.size) % 3 == 0) * 1.0
    np.testing.assert_allclose(module.value_and_grad(p, y)[0],
                               np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))), rtol=1e-12)
    for call in _calls(module, p, y[:-1]):
        with pytest.raises(AssertionError, match="shapes differ"):
            call()


def test_asserts_in_a_helper_are_checked_at_each_call():
    source = ('import numpy as np\ndef dense(x, w):\n    assert x.shape[-1] == w.shape[0], "dense: sizes"\n'
              "    return np.tanh(x @ w)\ndef f(x, w1, w2):\n    return np.sum(dense(dense(x, w1), w2))\n")
    module = derivgen.compile(source, function="f")
    module.forward(np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 1)))
    with pytest.raises(AssertionError, match="dense: sizes"):
        module.forward(np.ones((2, 3)), np.ones((3, 4)), np.ones((5, 1)))


def test_torch_spellings_and_the_generated_code():
    source = ("import torch\ndef f(x, y):\n    assert x.dim() == 2 and x.size(1) == y.numel()\n"
              "    assert x.shape[1:] != (0,)\n    return (x @ y).sum()\n")
    text = derivgen.generate(source)
    assert "_check(np.ndim(x) == 2," in text
    assert "_check(np.shape(x)[1:] != (0,)," in text
    assert text == derivgen.generate(source)  # byte-identical when regenerated
    module = derivgen.compile(source)
    assert module.forward(np.ones((2, 3)), np.ones(3)) == 6.0
    with pytest.raises(AssertionError):
        module.forward(np.ones((2, 3)), np.ones(4))


def test_conditions_known_now_are_checked_when_compiling():
    ok = "K = 3\ndef f(x):\n    assert K > 0 and (1, 2) == (1, 2)\n    t = (x, x)\n    assert len(t) == 2\n    return x * K\n"
    assert "_check" not in derivgen.generate(ok)
    with pytest.raises(ParseError) as caught:
        derivgen.generate("K = 3\ndef f(x):\n    assert K < 0, 'K must be negative'\n    return x * K\n")
    assert "this assert fails for every input" in str(caught.value)
    assert ":3:" in str(caught.value)


@pytest.mark.parametrize(("body", "message"), [
    ("assert np.all(x > 0)", "an assert on the values of arrays is not supported"),
    ("assert x.sum() > 0", "an assert on the values of arrays is not supported"),
    ("assert (x >= 0).all()", "an assert on the values of arrays is not supported"),
    ("assert x.max() < 1e3", "an assert on the values of arrays is not supported"),
    ("assert x.shape[0] == x[0]", "an assert on the values of arrays is not supported"),
    ("assert isinstance(x, np.ndarray)", "an assert on Python types (isinstance(...)) is not supported"),
    ("assert x.shape == 3", "a shape compared with a number is never equal to it"),
    ("assert x.shape < (3,)", "shapes are compared with == and != only, not <"),
    ("assert x.shape or x.ndim", "the condition of 'and' / 'or' must be known at compile time"),
    ("assert not (0 < x.ndim < 3)", "'not' of a chained comparison is not supported in an assert"),
    ("assert x.shape == (x.shape,)", "a shape inside a tuple is not supported in an assert"),
])
def test_what_an_assert_cannot_check_is_a_clear_error(body, message):
    source = f"import numpy as np\ndef f(x):\n    {body}\n    return np.sum(x)\n"
    with pytest.raises(ParseError) as caught:
        derivgen.generate(source)
    assert message in str(caught.value)
    assert "<source>:3:" in str(caught.value)  # it points at the assert's line


def test_a_long_or_strange_condition_makes_a_safe_message():
    condition = " and ".join(["x.ndim > 0"] * 40)
    source = f"def f(x):\n    assert {condition}\n    return x * 2\n"
    text = derivgen.generate(source)
    message = text.split("_check(np.ndim(x) > 0, '")[1].split("')")[0]
    assert len(message) < 260 and message.endswith("failed (<source>, line 2)")
    quoted = "def f(x):\n    assert x.ndim == 1, 'it\\'s \"1-D\"\\n\\x1b[31m'\n    return x * 2\n"
    module = derivgen.compile(quoted)
    with pytest.raises(AssertionError) as caught:
        module.forward(np.ones((2, 2)))
    assert str(caught.value) == 'it\'s "1-D"\n\x1b[31m'
