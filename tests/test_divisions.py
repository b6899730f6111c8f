"""Floor division and the remainders: ``a // b`` (np.floor_divide), ``a % b`` (np.remainder,
np.mod, torch.remainder) and np.fmod / torch.fmod. Values as NumPy computes them (Python's
arithmetic on numbers), slopes between the jumps as PyTorch's rules, sizes divided at run time,
the scalar path, constants folded now, the generated code's precedence and the errors.
The op database (tests/opdb.py) checks values and gradients against finite differences."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import derivgen
from derivgen import ParseError, reference

X = np.array([-2.7, -1.2, 0.4, 1.9, 2.6])
Y = np.array([0.7, -1.3, 1.1, -0.6, 1.7])


def _module(body: str, args: str = "x, y"):
    return derivgen.compile(f"import numpy as np\nimport torch\ndef f({args}):\n    return {body}\n")


@pytest.mark.parametrize("body, numpy", [
    ("np.sum(x // y)", lambda x, y: np.sum(np.floor_divide(x, y))),
    ("np.sum(x % y)", lambda x, y: np.sum(np.remainder(x, y))),
    ("np.sum(np.mod(x, y) + np.remainder(y, x))", lambda x, y: np.sum(np.mod(x, y) + np.remainder(y, x))),
    ("np.sum(np.fmod(x, y))", lambda x, y: np.sum(np.fmod(x, y))),
    ("torch.sum(torch.remainder(x, y) + torch.fmod(x, y))", lambda x, y: np.sum(np.remainder(x, y) + np.fmod(x, y))),
    ("np.sum(x % 0.75 + 5 % y)", lambda x, y: np.sum(x % 0.75 + 5 % y)),
])
def test_values_are_numpy_s_on_arrays_and_on_python_numbers(body, numpy):
    mod = _module(body)
    np.testing.assert_allclose(mod.forward(X, Y), numpy(X, Y), rtol=1e-15)
    for a, b in zip(X, Y):  # the scalar path (math and Python's operators) agrees with NumPy's
        assert mod.forward(float(a), float(b)) == pytest.approx(float(numpy(np.array(a), np.array(b))), rel=1e-15)
    assert mod.forward(X.astype(np.float32), Y.astype(np.float32)).dtype == np.float32


def test_gradients_are_pytorch_s_between_the_jumps():
    # d(a % b) = (1, -(a // b)), d fmod(a, b) = (1, -trunc(a / b)), d(a // b) = (0, 0)
    mod = _module("np.sum(2.0 * (x % y) + 3.0 * np.fmod(x, y) + 5.0 * (x // y) * x)")
    grads = mod.backward(X, Y)
    q, t = np.floor_divide(X, Y), np.trunc(X / Y)
    np.testing.assert_allclose(grads.x, 2.0 + 3.0 + 5.0 * q, rtol=1e-15)
    np.testing.assert_allclose(grads.y, -2.0 * q - 3.0 * t, rtol=1e-14)
    assert derivgen.gradcheck(mod, {"x": X, "y": Y}).ok


def test_the_gradient_matches_the_reference_evaluator():
    source = "import numpy as np\ndef f(x, y):\n    return np.sum(np.sin(x % y) * np.fmod(y, x) + (x // y) ** 2)\n"
    ref = reference.value_and_grad(source, {"x": X, "y": Y})
    value, grads = derivgen.compile(source).value_and_grad(X, Y)
    np.testing.assert_allclose(value, ref.value, rtol=1e-14)
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-12)
    np.testing.assert_allclose(grads.y, ref.grads["y"], rtol=1e-12)


def test_a_quotient_inside_a_product_is_parenthesised():
    # -(g * (y // x)) printed without parentheses would be (-g * y) // x: Python's // binds as * does
    text = derivgen.generate("import numpy as np\ndef f(x, y):\n    return np.sum(x % y)\n")
    assert "(x // y)" in text or "(x_ // y_)" in text
    mod = derivgen.load(text)
    np.testing.assert_allclose(mod.backward(X, Y).y, -np.floor_divide(X, Y), rtol=1e-15)
    ast.parse(text)


def test_sizes_divide_at_run_time_into_integers():
    mod = _module("np.sum(x) / (x.shape[0] // 2) + (len(x) % 3) * np.mean(x)", "x")
    for n in (4, 5, 7):
        x = np.linspace(0.5, 1.5, n)
        np.testing.assert_allclose(mod.forward(x), np.sum(x) / (n // 2) + (n % 3) * np.mean(x), rtol=1e-14)
        np.testing.assert_allclose(mod.backward(x).x, 1 / (n // 2) + (n % 3) / n, rtol=1e-14)


@pytest.mark.parametrize("constant, value", [
    ("7 // 2", 3), ("-7 // 2", -4), ("7 % -3", -2), ("-7 % 3", 2), ("7.5 // 2", 3.0), ("-7.5 % 2", 0.5),
    ("np.fmod(-7, 3)", -1), ("np.fmod(-7.5, 2)", -1.5), ("np.mod(7, 4)", 3),
])
def test_constants_are_divided_now_as_python_does(constant, value):
    mod = _module(f"np.sum(x) * ({constant})", "x")
    assert mod.forward(np.ones(3)) == 3 * value
    assert f"{constant}" not in derivgen.generate(f"import numpy as np\ndef f(x):\n    return np.sum(x) * ({constant})\n").split("def forward")[1]


@pytest.mark.parametrize("body, words", [
    ("np.sum(x // 0)", "division by a zero constant"),
    ("np.sum(x % 0.0)", "division by a zero constant"),
    ("np.sum(x) * (1 // 0)", "division by a zero constant"),
    ("np.sum(x) * np.fmod(1.0, 0.0)", "is not a finite real number"),
    ("np.sum(x) * (np.inf % 2)", "is not a finite float64"),
])
def test_dividing_by_zero_constants_is_an_error_at_its_place(body, words):
    with pytest.raises(ParseError, match=words) as info:
        _module(body, "x")
    assert info.value.line == 4


def test_conditions_divide_as_numbers_as_in_numpy():
    mod = _module("np.sum(((x > 0) % 2) * x + (x > 0) // 1.0)", "x")
    np.testing.assert_allclose(mod.forward(X), np.sum(((X > 0) % 2) * X + (X > 0) // 1.0), rtol=1e-15)
    np.testing.assert_allclose(mod.backward(X).x, (X > 0) * 1.0, rtol=1e-15)


def test_the_formula_view_writes_the_operators_with_their_parentheses():
    from derivgen.formulas import formulas
    text = "\n".join(formulas("import numpy as np\ndef f(x, y):\n    return np.sum(x % y + x // y)\n", "f").lines())
    assert "x % y" in text and "x // y" in text
    assert "-(x // y)" in text or "*(x // y)" in text  # d/dy of x % y, never -...*x // y
    latex = "\n".join(formulas("import numpy as np\ndef f(x, y):\n    return np.sum(x % y)\n", "f").lines(latex=True))
    assert r"\bmod" in latex and r"\lfloor" in latex
