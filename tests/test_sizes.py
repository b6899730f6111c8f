"""Sizes read off shapes when the module runs: x.shape[0], len(x), x.size, x.ndim and PyTorch's
x.size(0), x.numel(), x.dim(): values, gradients, dtypes, blocks, the formula view and errors."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import derivgen
from derivgen import reference
from derivgen.errors import ParseError
from derivgen.formulas import formulas

X = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
N, D = X.shape

# (the size as written, its value for X)
SPELLINGS = [
    ("x.shape[0]", N), ("x.shape[-1]", D), ("x.shape[1]", D), ("np.shape(x)[0]", N), ("len(x)", N),
    ("x.size", N * D), ("np.size(x)", N * D), ("np.size(x, 1)", D), ("np.size(x, axis=-1)", D),
    ("x.ndim", 2), ("np.ndim(x)", 2), ("len(x.shape)", 2), ("x.size(0)", N), ("x.size(dim=1)", D),
    ("x.size()[1]", D), ("x.size(-1)", D), ("x.numel()", N * D), ("x.nelement()", N * D),
    ("torch.numel(x)", N * D), ("x.dim()", 2), ("x.ndimension()", 2),
]


@pytest.mark.parametrize("size, expected", SPELLINGS, ids=[s for s, _ in SPELLINGS])
def test_every_spelling_reads_its_size_and_passes_no_gradient(size, expected):
    source = f"import numpy as np\nimport torch\ndef f(x):\n    return np.sum(x ** 2) / {size} + {size} * np.mean(x)\n"
    mod = derivgen.compile(source)
    value, grads = mod.value_and_grad(X)
    np.testing.assert_allclose(value, np.sum(X**2) / expected + expected * np.mean(X), rtol=1e-14)
    np.testing.assert_allclose(grads.x, 2 * X / expected + expected / X.size, rtol=1e-14)
    np.testing.assert_allclose(mod.forward(X), value, rtol=1e-15)
    assert derivgen.gradcheck(mod, {"x": X}).ok


def test_unpacking_a_shape_gives_each_size_and_checks_their_count():
    source = "import numpy as np\ndef f(x, w):\n    n, d = x.shape\n    return np.sum((x @ w) ** 2) / (2 * n) + d\n"
    mod = derivgen.compile(source)
    w = np.linspace(0.5, 1.5, 4)
    value, grads = mod.value_and_grad(X, w)
    np.testing.assert_allclose(value, np.sum((X @ w) ** 2) / (2 * N) + D, rtol=1e-14)
    np.testing.assert_allclose(grads.x, np.outer(X @ w, w) / N, rtol=1e-14)
    np.testing.assert_allclose(grads.w, X.T @ (X @ w) / N, rtol=1e-14)
    with pytest.raises(ValueError, match="cannot unpack the 3 sizes"):
        mod.forward(np.ones((2, 3, 4)), np.ones(4))  # as Python's unpacking would refuse


def test_sizes_match_the_reference_evaluator():
    source = ("import numpy as np\ndef f(x, y):\n    n, d = x.shape\n"
              "    return np.sum(np.sin(x) * y / len(x) + x.shape[-1] * y) / (n * d) + x.size / x.ndim\n")
    y = np.cos(X)
    ref = reference.value_and_grad(source, {"x": X, "y": y})
    value, grads = derivgen.compile(source).value_and_grad(X, y)
    np.testing.assert_allclose(value, ref.value, rtol=1e-14)
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(grads.y, ref.grads["y"], rtol=1e-9, atol=1e-15)


def test_a_size_is_read_once_off_the_whole_array_when_the_work_runs_in_blocks():
    source = "import numpy as np\ndef f(x, y):\n    return np.sum(np.sin(x) * y / len(x) + x.shape[-1] * y)\n"
    text = derivgen.generate(source)
    assert "_Blocks(" in text
    before = text[text.index("def value_and_grad"):]
    before = before[:before.index("for x_, y_ in _blocks")]
    assert "np.shape(x)[0]" in before and "np.shape(x)[-1]" in before  # not a block's shape
    mod = derivgen.compile(source)
    x = np.linspace(-1.0, 1.0, 200_001)
    y = np.cos(x)
    value, grads = mod.value_and_grad(x, y)
    n = x.size
    np.testing.assert_allclose(value, np.sum(np.sin(x) * y / n + n * y), rtol=1e-12)
    np.testing.assert_allclose(grads.x, np.cos(x) * y / n, rtol=1e-12, atol=1e-22)
    np.testing.assert_allclose(grads.y, np.sin(x) / n + n, rtol=1e-12)


@pytest.mark.parametrize("expression", ["sigmoid(x.size) * y", "logaddexp(y, y.ndim)", "arctan2(log10(len(y)), y)",
                                        "minimum(relu(y.ndim), y)", "sum(y) / len(y)",
                                        "dot(erf(dot(y, y)), sum(y.ndim ** 2))",
                                        "arctan2(y, log10((1 + y.ndim) * 1.5))", "log(y.size + 1) ** 2 * y",
                                        "logaddexp(3, where((y.ndim >= 0.0) & (1.0 < 0.5) | (y > y.ndim), y.ndim + y, y))"])
def test_a_float32_program_stays_float32_with_sizes_in_numpy_functions(expression):
    # A NumPy function of a Python int is a float64 scalar, which would make float32 arrays
    # float64: the module computes such calls as Python floats.
    mod = derivgen.compile(expression)
    inputs = [np.linspace(0.5, 1.5, 3, dtype=np.float32) for _ in mod.INPUTS]
    value, grads = mod.value_and_grad(*inputs)
    assert np.asarray(value).dtype == np.float32
    assert all(np.asarray(g).dtype == np.float32 for g in grads)
    value64, _ = mod.value_and_grad(*(i.astype(np.float64) for i in inputs))
    np.testing.assert_allclose(value, value64, rtol=1e-6)


def test_sizes_of_computed_values_and_a_size_as_the_output():
    mod = derivgen.compile("import numpy as np\ndef f(x, w):\n    return np.sum(x @ w) / len(x @ w)\n")
    w = np.ones((4, 2))
    value, grads = mod.value_and_grad(X, w)
    np.testing.assert_allclose(value, np.sum(X @ w) / N, rtol=1e-14)
    np.testing.assert_allclose(grads.x, np.full(X.shape, 2.0 / N), rtol=1e-14)
    constant = derivgen.compile("def f(x):\n    return len(x) * 1.0\n")
    value, grads = constant.value_and_grad(X)
    assert value == N and np.array_equal(grads.x, np.zeros_like(X))


def test_the_formula_view_writes_sizes_as_the_source_reads_them():
    result = formulas("import numpy as np\ndef f(x):\n    n, d = x.shape\n    return np.sum(x) / (n * d) "
                               "+ x.size / x.ndim\n")
    text = result.text()
    assert "x.shape[0]" in text and "x.shape[1]" in text and "x.size" in text and "x.ndim" in text
    assert "size_of" not in text and "broadcast_to" not in text


def test_generated_code_with_sizes_is_deterministic_and_lint_clean(tmp_path):
    source = "import numpy as np\ndef f(x):\n    n, d = x.shape\n    return np.sum(x ** 2) / n + len(x) * d\n"
    first = derivgen.generate(source)
    assert first == derivgen.generate(source)
    if shutil.which("ruff") is None:
        pytest.skip("ruff is installed by the test extra")
    path = tmp_path / "sizes_grad.py"
    path.write_text(first)
    out = subprocess.run(["ruff", "check", "--no-cache", "--isolated", str(path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


ERRORS = [
    ("def f(x):\n    return x.reshape(x.shape[0] * 2, -1).sum()\n", "known only when the module runs", 2, 22),
    ("def f(x, y):\n    return x.reshape(y.shape[0], -1).sum()\n", "known only when the module runs", 2, 22),
    ("def f(x):\n    return x.sum() + x.shape\n", "a shape is a tuple of sizes, not an array", 2, 12),
    ("def f(x):\n    return x.sum() * x.shape[1:][0]\n", "a slice of a shape", 2, 30),
    ("def f(x):\n    return x.shape\n", "returns a shape", 2, 12),
    ("def f(x):\n    return (2.0).shape + x\n", "a number has no .shape", 2, 13),
    ("def f(x):\n    return x.sum() * len(x).shape[0]\n", "a number has no .shape", 2, 22),
    ("def f(x):\n    return x.sum() + len(x)[0]\n", "a size is a Python integer and cannot be indexed", 2, 22),
    ("def f(x):\n    return x.sum() + x.size(0, 1)\n", "takes at most one argument", 2, 22),
    ("def f(x):\n    return x.sum() + x.numel(1)\n", ".numel() takes no arguments", 2, 22),
    ("def f(x):\n    return x.sum() + len()\n", "len() needs the array", 2, 22),
    ("def f(x):\n    return x.sum() + x.shape.T\n", "a shape has no attribute .T", 2, 22),
    ("def f(x):\n    return x.sum() + len(x > 0)\n", "len() of a condition", 2, 26),
    ("def f(x):\n    return x.sum() + x.shape[x.ndim]\n", "known only when the module runs", 2, 30),
]


@pytest.mark.parametrize("source, message, line, column", ERRORS, ids=[e[1] for e in ERRORS])
def test_sizes_used_where_they_cannot_be_are_clear_errors(source, message, line, column):
    with pytest.raises(ParseError) as info:
        derivgen.compile(source)
    assert message in str(info.value)
    assert (info.value.line, info.value.col) == (line, column), str(info.value)


def test_a_tuple_s_length_is_known_at_compile_time():
    mod = derivgen.compile("def f(x):\n    t = (x, 2 * x, 3 * x)\n    return sum(t[0]) * len(t)\n")
    value, grads = mod.value_and_grad(X)
    np.testing.assert_allclose(value, 3 * np.sum(X), rtol=1e-14)
    np.testing.assert_allclose(grads.x, np.full(X.shape, 3.0))


def test_a_reshape_reads_sizes_off_the_array_it_reshapes():
    source = ("import numpy as np\ndef f(x, w):\n    n, d, k = x.shape\n"
              "    h = x.reshape(x.shape[0], -1) @ w\n"
              "    return np.sum(h ** 2) + np.sum(x.view(x.size(0), d, -1) ** 3) + np.sum(x.reshape(n, d, k) * x)\n")
    mod = derivgen.compile(source)
    x, w = np.linspace(-1.0, 1.0, 24).reshape(2, 3, 4), np.linspace(0.5, 1.5, 12)
    value, grads = mod.value_and_grad(x, w)
    h = x.reshape(2, -1) @ w
    np.testing.assert_allclose(value, np.sum(h**2) + np.sum(x**3) + np.sum(x * x), rtol=1e-13)
    np.testing.assert_allclose(grads.x, 2 * np.outer(h, w).reshape(x.shape) + 3 * x**2 + 2 * x, rtol=1e-12)
    np.testing.assert_allclose(grads.w, 2 * x.reshape(2, -1).T @ h, rtol=1e-12)
    ref = reference.value_and_grad(source, {"x": x, "w": w})
    np.testing.assert_allclose(grads.x, ref.grads["x"], rtol=1e-9, atol=1e-14)
    other = np.linspace(-1.0, 1.0, 60).reshape(5, 3, 4)  # the batch size is read when it runs
    w5 = np.ones(12)
    _, grads5 = mod.value_and_grad(other, w5)
    assert grads5.x.shape == (5, 3, 4)
    with pytest.raises(ValueError, match="cannot unpack the 2 sizes"):
        mod.forward(np.ones((2, 12)), w)
    text = derivgen.generate(source)
    assert "np.reshape(x, (np.shape(x)[0], -1))" in text
    assert "reshape(x, (x.shape[0], -1))" in formulas(source).text()


def test_a_constant_that_is_no_number_times_a_size_is_nan_where_a_where_selects_it():
    # Found by fuzzing (seed 20261235): arctanh(e) * len(c.shape) inside a guarded branch was an
    # error; as with a constant alone, it is NumPy's nan where selected, and an error where used.
    mod = derivgen.compile("def f(c):\n    return where(c > 0, arctanh(np.e) * len(c), c)\n")
    value, grads = mod.value_and_grad(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(value, [np.nan, -1.0])
    np.testing.assert_array_equal(grads.c, [0.0, 1.0])
    with pytest.raises(ParseError, match="not a finite real number"):
        derivgen.compile("def f(c):\n    return arctanh(np.e) * len(c) * c\n")


@pytest.mark.parametrize("condition", ["~(t == 0.0)", "~(x.size == 3)", "~((t == 0.0) & (x.size > 0))"])
def test_a_negated_condition_of_numbers_read_off_sizes_is_false_where_they_hold(condition):
    # Found by fuzzing (seed 20261236): t, a mean of log2(sign(x.size)), is a Python number when
    # the module runs, and so is t == 0.0, whose ~ is -2 (true): where chose e instead of 3.
    source = (f"def f(x, y):\n    t = mean(log2(sign(x.size)), keepdims=True)\n"
              f"    return where({condition}, math.e, 3) * y\n")
    mod = derivgen.compile(source)
    x, y = np.array([0.5, 1.5, 2.5]), np.array(2.0)
    expected = reference.value_and_grad(source, {"x": x, "y": y})
    value, grads = mod.value_and_grad(x, y)
    assert value == mod.forward(x, y) == expected.value == 6.0
    np.testing.assert_array_equal(grads.y, expected.grads["y"])
    # the scalar path: one element, so x.size == 3 is false there
    assert mod.forward(0.5, 2.0) == reference.value_and_grad(source, {"x": 0.5, "y": 2.0}).value
