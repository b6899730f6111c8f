"""derivgen show prints the formulas of the graph the module is generated from.

The formulas are checked numerically: each one is evaluated with NumPy (SymPy's lambdify,
with NumPy meanings for derivgen's heads) and compared with the generated module's value
and gradients, for single numbers, for broadcast arrays, and for the shapes given with
``shapes=`` (where they must give exactly the module's arrays).
"""

from __future__ import annotations

import functools
import math
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import derivgen
from derivgen import cli
from derivgen.formulas import formulas
from derivgen.notation import text as notation_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


# ---- the formulas, evaluated with NumPy ---------------------------------------------------
def _shape(like):
    if isinstance(like, tuple):
        return like
    return like.shape if hasattr(like, "shape") else np.shape(like)


def _sum_to(g, like, full=None):
    """g (broadcast to full's shape first) summed over the axes broadcasting added or
    stretched, down to like's shape: what the generated modules' _unbroadcast does."""
    shape = tuple(_shape(like))
    g = np.asarray(g, dtype=float)
    if full is not None:
        g = np.broadcast_to(g, np.broadcast_shapes(g.shape, tuple(_shape(full))))
    g = np.broadcast_to(g, np.broadcast_shapes(g.shape, shape))
    lead = g.ndim - len(shape)
    axes = (*range(lead), *(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1))
    return np.sum(g, axis=axes).reshape(shape)


def _reduction(f):
    def reduce(x, keepdims, *axes):
        # One axis as an int, as the generated code writes it: NumPy reduces a 0-d array along
        # axis 0 or -1 given as an int, and refuses the tuple (0,).
        axis = int(axes[0]) if len(axes) == 1 else tuple(int(a) for a in axes) or None
        return f(x, axis=axis, keepdims=bool(keepdims))
    return reduce


def _logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def _as_matrices(g, a, b):
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g = np.expand_dims(g, -1) if b.ndim == 1 else g
    return (np.expand_dims(g, -2) if a.ndim == 1 else g), a2, b2


def _matmul_grad_a(g, a, b):
    g2, _, b2 = _as_matrices(g, a, b)
    grad = g2 @ np.swapaxes(b2, -1, -2)
    return _sum_to(grad[..., 0, :] if a.ndim == 1 else grad, a)


def _matmul_grad_b(g, a, b):
    g2, a2, _ = _as_matrices(g, a, b)
    grad = np.swapaxes(a2, -1, -2) @ g2
    return _sum_to(grad[..., 0] if b.ndim == 1 else grad, b)


def _dot_grad_a(g, a, b):  # np.dot sums a's last axis against b's second-to-last
    rest = [i for i in range(b.ndim) if i != max(b.ndim - 2, 0)]
    return np.tensordot(g, b, axes=(list(range(g.ndim - len(rest), g.ndim)), rest))


def _dot_grad_b(g, a, b):
    lead = list(range(a.ndim - 1))
    grad = np.tensordot(a, g, axes=(lead, lead))
    return np.moveaxis(grad, 0, -2) if b.ndim >= 2 else grad


NUMPY = {
    "reduce_sum": _reduction(np.sum), "reduce_mean": _reduction(np.mean),
    "reduce_logsumexp": _reduction(_logsumexp),
    "sum_to": _sum_to, "size": lambda x: x.size if hasattr(x, "size") else np.size(x),
    "broadcast": np.broadcast, "broadcast_to": lambda g, like: np.broadcast_to(g, _shape(like)),
    "expand_dims": lambda g, *axes: np.expand_dims(g, tuple(int(a) for a in axes)),
    "matmul": np.matmul, "dot": np.dot, "transpose": np.transpose, "outer": np.outer,
    "matrix_transpose": lambda x: np.swapaxes(x, -1, -2),
    "matmul_grad_a": _matmul_grad_a, "matmul_grad_b": _matmul_grad_b,
    "dot_grad_a": _dot_grad_a, "dot_grad_b": _dot_grad_b,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "softplus": lambda z: np.logaddexp(0, z),
    "relu": lambda x: np.maximum(x, 0), "clip": np.clip, "logaddexp": np.logaddexp,
    "maximum": np.maximum, "minimum": np.minimum, "sech": lambda x: 1 / np.cosh(x),
    "erf": np.vectorize(math.erf), "where": np.where,
    "all_of": lambda *c: functools.reduce(np.logical_and, c),
    "any_of": lambda *c: functools.reduce(np.logical_or, c),
}
_where, _all, _any = sp.Function("where"), sp.Function("all_of"), sp.Function("any_of")


def _nested_where(e: sp.Piecewise):
    *pieces, (last, cond) = e.args
    out = last if cond == sp.true else _where(cond, last, sp.nan)
    for value, condition in reversed(pieces):
        out = _where(condition, value, out)
    return out


def evaluate(result, values: dict):
    """The value and each derivative of ``result`` at ``values`` (input name -> array)."""
    env = dict(values)

    def run(expr):
        # np.where and reduce(logical_and) broadcast where lambdify's select and logical_and.reduce do not.
        expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), _nested_where)
        expr = expr.replace(sp.Or, _any).replace(sp.And, _all)
        symbols = sorted(expr.free_symbols, key=str)
        return sp.lambdify(symbols, expr, modules=[NUMPY, "numpy"])(*(env[s.name] for s in symbols))

    with np.errstate(all="ignore"):  # np.where evaluates both branches
        for name, expr in result.forward_terms:
            env[name] = run(expr)
        env[result.name] = run(result.forward)
        for name, expr in result.gradient_terms:
            env[name] = run(expr)
        return env[result.name], {x: run(result.derivatives[x]) for x in result.wrt}


@functools.cache
def _module(source: str, function: str | None, wrt: tuple | None):
    return derivgen.compile(source, function=function, wrt=list(wrt) if wrt else None)


@functools.cache
def _formulas(source: str, function: str | None, wrt: tuple | None, shapes: tuple | None):
    return formulas(source, function=function, wrt=wrt, shapes=dict(shapes) if shapes is not None else None)


def assert_formulas_compute_the_module(source: str, values: dict, *, function=None, wrt=None, shapes=None,
                                       rtol: float = 1e-9):
    """The formulas evaluate to the module's value and gradients at ``values``. A formula may
    be smaller than its array (a number, or y for d(x*y)/dx), never larger: np.broadcast_to
    raises where a sum over broadcast axes is missing."""
    module = _module(source, function, tuple(wrt) if wrt else None)
    values = {n: values[n] for n in module.INPUTS}
    result = _formulas(source, function, tuple(wrt) if wrt else None,
                       tuple(sorted(shapes.items())) if shapes is not None else None)
    value, grads = module.value_and_grad(**values)
    shown_value, shown = evaluate(result, {n: np.asarray(v, dtype=float) for n, v in values.items()})
    np.testing.assert_allclose(np.broadcast_to(shown_value, np.shape(value)), value, rtol=rtol, atol=1e-12)
    for name in module.WRT:
        got = getattr(grads, name)
        np.testing.assert_allclose(np.broadcast_to(shown[name], np.shape(got)), got, rtol=rtol, atol=1e-12,
                                   err_msg=f"d/d{name} = {result.derivatives[name]}")
    return result


def random_values(shapes: dict, seed: int = 0, low: float = 0.25, high: float = 0.75) -> dict:
    rng = np.random.default_rng(seed)
    return {n: rng.uniform(low, high, size=s) if s else float(rng.uniform(low, high)) for n, s in shapes.items()}


# ---- the bugs this fixes -------------------------------------------------------------------
def test_mean_of_a_broadcast_scalar_reads_as_the_number_it_is():
    result = formulas("mean(x + b)", wrt=["b"])
    assert result.text().splitlines() == ["f = mean(b + x)", "df/db = 1/size(b)"]
    concrete = formulas("mean(x + b)", wrt=["b"], shapes={"x": (5,)})
    assert concrete.derivatives["b"] == 1 and concrete.text().splitlines()[1] == "df/db = 1"
    assert formulas("mean(x + b)", wrt=["b"], shapes={"x": (5,), "b": (5,)}).derivatives["b"] == sp.Rational(1, 5)
    x = np.linspace(0.0, 1.0, 5)
    for shapes in (None, {"x": (5,)}):
        assert_formulas_compute_the_module("mean(x + b)", {"x": x, "b": 0.5}, wrt=["b"], shapes=shapes)
    assert_formulas_compute_the_module("mean(x + b)", {"x": x, "b": x + 1}, wrt=["b"])


def test_logistic_regression_sums_the_bias_gradient_over_examples():
    source = (EXAMPLES / "logistic_regression.py").read_text()
    shapes = {"X": (6, 3), "y": (6,), "w": (3,)}  # b: a single number
    result = formulas(source, shapes=shapes)
    db = result.derivatives["b"]
    assert db.has(derivgen.symbolic.reduce_sum) and notation_text(db).startswith("-sum(")
    assert "sum_to(" in notation_text(formulas(source).derivatives["b"])  # for any shapes: summed to b's
    values = random_values({**shapes, "b": ()}, seed=3)
    values["y"] = (values["y"] > 0.5) * 1.0
    assert_formulas_compute_the_module(source, values, shapes=shapes)
    assert_formulas_compute_the_module(source, {**values, "b": np.full(6, 0.1)}, shapes={**shapes, "b": (6,)})


def test_stability_rewrites_are_in_the_formulas():
    assert formulas("log(1 + exp(x))").text().splitlines() == ["f = softplus(x)", "df/dx = sigmoid(x)"]
    assert formulas("log(sigmoid(z))").text().splitlines() == ["f = -softplus(-z)", "df/dz = sigmoid(-z)"]
    assert formulas("log(1 - x)").text().splitlines()[0] == "f = log1p(-x)"
    assert formulas("exp(x) - 1").text().splitlines()[0] == "f = expm1(x)"
    assert formulas("1 / (1 + exp(-z))").text().splitlines() == ["f = sigmoid(z)", "df/dz = sigmoid(-z)*sigmoid(z)"]
    assert formulas("log(exp(a) + exp(b))", shapes={}).text().splitlines() == [
        "f = logaddexp(a, b)", "df/da = sigmoid(a - b)", "df/db = sigmoid(-a + b)"]
    assert formulas("log(sum(exp(x)))").text().splitlines() == ["f = logsumexp(x)", "df/dx = exp(x)/sum(exp(x))"]
    for source in ("log(1 + exp(x))", "log(sigmoid(x))", "1 / (1 + exp(-x))", "log(sum(exp(x)))"):
        assert_formulas_compute_the_module(source, {"x": np.linspace(-3, 3, 7)})
        assert_formulas_compute_the_module(source, {"x": 0.3})


# ---- what the formulas look like -------------------------------------------------------------
def test_broadcast_sums_are_written_out():
    result = formulas("sin(x) * y")
    assert result.text().splitlines()[1:] == ["df/dx = sum_to(y*cos(x), x.shape)", "df/dy = sum_to(sin(x), y.shape)"]
    same = formulas("sin(x) * y", shapes={"x": (3,), "y": (3,)})
    assert same.text().splitlines()[1:] == ["df/dx = y*cos(x)", "df/dy = sin(x)"]
    column = formulas("sum(exp(x) * y, axis=0)", shapes={"x": (4, 3), "y": (4, 1)})
    assert column.text().splitlines()[2] == "df/dy = sum(exp(x), axis=1, keepdims=True)"
    rows = formulas("sin(x) * y", shapes={"x": (2, 3, 4), "y": (3, 1)})
    assert rows.text().splitlines()[2] == "df/dy = sum(sum(sin(x), axis=0), axis=1, keepdims=True)"


def test_latex_writes_the_shape_heads():
    text = formulas("sin(x) * y").text(latex=True)
    assert r"\operatorname{sum\_to}\left(y \cos{\left(x \right)}, \operatorname{shape}\left(x\right)\right)" in text
    text = formulas("mean(x + b)", wrt=["b"]).text(latex=True)
    assert r"\frac{\partial f}{\partial b} = \frac{1}{\operatorname{size}{\left(b \right)}}" in text
    assert r"\operatorname{expand\_dims}" in formulas("sum(sum(x, axis=1) * v)").text(latex=True)


def test_nan_safe_guards_are_not_shown_where_their_branch_is_taken():
    assert formulas("where(x > 0, log(x), x)").text().splitlines() == [
        "f = where(x > 0, log(x), x)", "df/dx = where(x > 0, 1/x, 1)"]
    assert formulas("where(x > 0, sqrt(x), 0)").text().splitlines()[1] == "df/dx = where(x > 0, 1/(2*sqrt(x)), 0)"
    for x in (np.array([-1.0, 0.0, 0.5, 2.0]), -1.0, 2.0):
        assert_formulas_compute_the_module("where(x > 0, log(x), x)", {"x": x})


def test_matrix_products_of_vectors_take_numpys_forms_with_shapes():
    source = "def loss(X, w, b):\n    return sum((X @ w + b)**2)\n"
    generic = formulas(source, wrt=["X", "w"]).text().splitlines()
    assert generic[-2].startswith("dloss/dX = ") and generic[-2].endswith(" @ w.T")
    assert generic[-1].startswith("dloss/dw = X.T @ ")
    vector = formulas(source, wrt=["X", "w"], shapes={"X": (5, 3), "w": (3,)}).text().splitlines()
    assert vector[-2].startswith("dloss/dX = outer(")


def test_formulas_name_the_shapes_they_are_written_for():
    assert formulas("x * y").shapes is None
    assert formulas("x * y", shapes={"x": [2, 3]}).shapes == {"x": (2, 3), "y": ()}


# ---- numerically the module's: single numbers, broadcast arrays, given shapes -------------------
ELEMENTWISE = [
    "sin(x) * y + exp(-x**2)", "log(1 + exp(x)) * y", "log(sigmoid(x*y))", "log(1 - sigmoid(x)) + y",
    "log(exp(x) + exp(y))", "exp(x) / (exp(x) + exp(y))", "log(1 + x*y) + log(1 - y/4)", "tanh(x*y)",
    "relu(x - y) + abs(x)", "maximum(x, y) * minimum(x, y)", "clamp(x, 0.3, 0.6) * y", "clamp(x, y, None)",
    "where(x > y, x**2, y)", "where(x > 0.5, log(x), sqrt(y))", "x ** y", "hypot(x, y) + arctan2(x, y)",
    "mean(x * y)", "sum(x * y)", "mean(x + y)", "mean((x - y)**2)", "sum(x) * y", "mean(x) * sum(y)",
    "logsumexp(x) + y", "sum(exp(x) / sum(exp(x)) * y)", "logaddexp(x, y) * x",
    "erf(x) + expm1(y) + log2(x) + log10(y) + exp2(x)", "arcsin(x) + arccos(y / 2) + arctanh(x / 2)",
    "sum(where(x > y, x, 0)) * y", "where(y > 0.5, x, x) * sum(where(y > 0.5, x, x))", "x / y - x * 0 + y",
]
SHAPES = [{"x": (), "y": ()}, {"x": (4,), "y": ()}, {"x": (3, 4), "y": (4,)}, {"x": (3, 1), "y": (1, 4)},
          {"x": (2, 3, 4), "y": (3, 1)}]


@pytest.mark.parametrize("shapes", SHAPES, ids=lambda s: "x{}-y{}".format(*s.values()))
@pytest.mark.parametrize("source", ELEMENTWISE)
def test_elementwise_formulas_compute_the_module(source, shapes):
    values = random_values(shapes, seed=len(source))
    assert_formulas_compute_the_module(source, values)  # for any shapes
    assert_formulas_compute_the_module(source, values, shapes=shapes)


# (source, shapes, whether the formulas for any shapes evaluate in NumPy too: not where a
# vector meets a matrix product, which they write as a column, nor batches, whose .T is a matrix's)
ARRAYS = [
    ("sum((X @ w + b)**2)", {"X": (5, 3), "w": (3,), "b": ()}, False),
    ("sum((X @ w + b)**2)", {"X": (5, 3), "w": (3, 2), "b": (2,)}, True),
    ("mean(tanh(X @ W) @ V)", {"X": (4, 3), "W": (3, 5), "V": (5, 2)}, True),
    ("mean(tanh(X @ W) @ v)", {"X": (4, 3), "W": (3, 5), "v": (5,)}, False),
    ("sum(v @ W) + sum(v @ u) * c", {"v": (3,), "W": (3, 4), "u": (3,), "c": (2,)}, False),
    ("sum(sin(A @ B))", {"A": (2, 3, 4), "B": (4, 5)}, False),
    ("sum(sin(A @ B))", {"A": (3, 4), "B": (2, 4, 5)}, False),
    ("sum(sin(A @ b))", {"A": (2, 3, 4), "b": (4,)}, False),
    ("sum(exp(dot(A, b))) + sum(dot(b, b) * b)", {"A": (4, 3), "b": (3,)}, False),
    ("sum(sin(dot(A, B)))", {"A": (2, 3, 4), "B": (4, 5)}, False),
    ("sum(sin(dot(A, B)))", {"A": (2, 3, 4), "B": (3, 4, 5)}, False),
    ("sum(exp(dot(a, B))) + sum(dot(a, c) * a)", {"a": (3,), "B": (3, 2), "c": ()}, False),
    ("sum(X.T @ X * M) + sum(cos(X.T) * y)", {"X": (4, 3), "M": (3, 3), "y": (4,)}, True),
    ("logsumexp(X @ w, axis=0) + mean(w)", {"X": (4, 3), "w": (3, 2)}, True),
    ("sum(exp(X) / sum(exp(X), axis=-1, keepdims=True) * Y)", {"X": (3, 4), "Y": (4,)}, True),
    ("mean(clamp(x, lo, hi) * y)", {"x": (4,), "lo": (), "hi": (4,), "y": (4,)}, True),
    ("sum(mean(X, axis=0) * v) + sum(X, axis=(0, 1))", {"X": (3, 4), "v": (4,)}, True),
    ("sum(sum(X, axis=0, keepdims=True) * X)", {"X": (3, 4)}, True),
    ("sum(mean(X * b, axis=1) ** 2)", {"X": (3, 4), "b": ()}, True),
    ("sum(sum(x + b, axis=1) * v)", {"x": (4, 3), "b": (), "v": (4,)}, True),
    ("sum(logsumexp(X + b, axis=1))", {"X": (3, 4), "b": (3, 1)}, True),
]


@pytest.mark.parametrize(("source", "shapes", "generic"), ARRAYS,
                         ids=[f"{s} {tuple(v.values())}" for s, v, _ in ARRAYS])
def test_array_formulas_compute_the_module(source, shapes, generic):
    values = random_values(shapes, seed=1)
    assert_formulas_compute_the_module(source, values, shapes=shapes)
    if generic:
        assert_formulas_compute_the_module(source, values)


@pytest.mark.parametrize(("file", "function", "shapes"), [
    ("logistic_regression.py", None, {"X": (7, 2), "y": (7,), "w": (2,)}),
    ("mlp.py", "loss", {"X": (5, 3), "y": (5, 2), "W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (2,)}),
    ("bce.py", "loss", {"x": (6,), "y": (6,)}),
    ("bce_mean.py", "loss", {"x": (6,), "y": (6,)}),
    ("bce_mean.py", "loss", {"x": (6,), "y": (6,), "w": (6,), "b": (1,)}),
    ("mean_square.py", None, {"x": (4,)}),
    ("sin_square.py", None, {"x": (3, 2)}),
])
def test_the_examples_formulas_compute_their_modules(file, function, shapes):
    source = (EXAMPLES / file).read_text()
    module = _module(source, function, None)
    values = random_values({n: shapes.get(n, ()) for n in module.INPUTS}, seed=5)
    if "y" in values:  # labels
        values["y"] = (np.asarray(values["y"]) > 0.5) * 1.0
    assert_formulas_compute_the_module(source, values, function=function, shapes=shapes)
    if "@" not in source:  # and on the scalar path, with Python numbers
        scalars = {n: 0.3 + 0.1 * i for i, n in enumerate(module.INPUTS)}
        assert_formulas_compute_the_module(source, scalars, function=function)
        assert_formulas_compute_the_module(source, scalars, function=function, shapes={})


def test_long_programs_compute_the_module_through_their_named_terms():
    body = "".join(f"    x = tanh(x * w + {i}) + x\n" for i in range(40))
    source = f"def deep(x, w):\n{body}    return x\n"
    result = assert_formulas_compute_the_module(source, {"x": np.linspace(0.1, 0.9, 3), "w": 0.3}, rtol=1e-8)
    assert len(result.gradient_terms) > 20


# Random programs (as in test_random_programs.py), their formulas evaluated against the module.
RANDOM_SHAPES = {"x": (2, 3), "y": (3,), "z": (2, 1)}
UNARY = ["sin({})", "tanh({})", "sigmoid({})", "softplus({})", "exp(-({})**2)", "log(1 + ({})**2)",
         "sqrt(1 + ({})**2)", "-({})", "({})**3", "log(1 + exp({}))", "log(sigmoid({}))"]
BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (1 + ({})**2)", "logaddexp({}, {})",
          "maximum({}, {})"]
REDUCE = ["sum({}, axis=0, keepdims=True)", "mean({}, axis=-1, keepdims=True)", "sum({})", "mean({})",
          "logsumexp({}, axis=-1, keepdims=True)", "sum({}, axis=-1)"]


def expressions(depth):
    leaves = st.sampled_from(sorted(RANDOM_SHAPES))
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


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(3))
def test_random_programs_formulas_compute_the_module(source):
    module = _module(source, None, None)
    values = {n: v for n, v in random_values(RANDOM_SHAPES, seed=2).items() if n in module.INPUTS}
    values = {n: np.where(np.abs(v - 0.5) < 0.05, v + 0.1, v) for n, v in values.items()}
    try:
        module.forward(**values)
    except (ValueError, np.exceptions.AxisError):  # shapes that do not broadcast: not a program
        assume(False)
    shapes = {n: RANDOM_SHAPES[n] for n in module.INPUTS}
    assert_formulas_compute_the_module(source, values, rtol=1e-8)
    assert_formulas_compute_the_module(source, values, shapes=shapes, rtol=1e-8)


# ---- failure paths -----------------------------------------------------------------------------
@pytest.mark.parametrize(("shapes", "message"), [
    ({"z": (3,)}, "shapes given for unknown inputs: z; inputs: x, y"),
    ({"x": 3}, "the shape of x must be a tuple of sizes"),
    ({"x": (-1,)}, "the shape of x must be a tuple of sizes"),
    ({"x": (2.5,)}, "the shape of x must be a tuple of sizes"),
    ({"x": ("a",)}, "the shape of x must be a tuple of sizes"),
    ({"x": (3,), "y": (4,)}, "do not fit the program: mul of (3,), (4,)"),
    ([("x", 3)], "the shape of x must be a tuple of sizes"),
    (5, "shapes must map input names to shapes"),
])
def test_bad_shapes_are_usage_errors(shapes, message):
    with pytest.raises(derivgen.UsageError) as info:
        formulas("x * y", shapes=shapes)
    assert message in str(info.value)


def test_shapes_that_do_not_fit_a_matrix_product_are_usage_errors():
    with pytest.raises(derivgen.UsageError, match=r"matmul of \(5, 3\), \(4,\): the inner sizes 3 and 4 differ"):
        formulas("sum(X @ w)", shapes={"X": (5, 3), "w": (4,)})
    with pytest.raises(derivgen.UsageError, match="axis"):
        formulas("sum(x, axis=1)", shapes={"x": (3,)})


# ---- the command line ---------------------------------------------------------------------------
@pytest.fixture
def run(capsys, monkeypatch):
    def call(*args: str, cwd: Path | None = None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_show_with_shapes(run):
    code, out, err = run("show", "mean(x + b)", "--wrt", "b", "--shape", "x=5")
    assert code == 0, err
    assert out.splitlines() == ["f = mean(b + x)", "df/db = 1"]
    code, out, _ = run("show", str(EXAMPLES / "logistic_regression.py"), "--shape", "X=100,2", "--shape", "y=100",
                       "--shape", "w=2")
    assert code == 0
    assert "dloss/db = -sum(t2)/100" in out.splitlines()
    code, out, _ = run("show", "sin(x) * y", "--shape", "x=3", "--shape", "y=3", "--latex")
    assert code == 0 and "sum_to" not in out


@pytest.mark.parametrize(("args", "message"), [
    (("--shape", "x:3"), "--shape expects NAME=3,4 (or NAME= for a scalar), got 'x:3'"),
    (("--shape", "x=a"), "--shape expects NAME=3,4"),
    (("--shape", "z=3"), "shapes given for unknown inputs: z; inputs: x, y"),
    (("--shape", "x=3", "--shape", "y=4"), "do not fit the program"),
])
def test_show_rejects_bad_shapes(run, args, message):
    code, _, err = run("show", "x * y", *args)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_show_help_has_a_shape_example(run):
    code, out, _ = run("show", "--help")
    assert code == 0
    assert "--shape NAME=3,4" in out and 'derivgen show "mean(x + b)" --wrt b --shape x=5' in out


def _readme_commands():
    """The Command line section's shell block: each derivgen command, the output lines
    written under it (``#   ...``), and the exit code a trailing ``# exit N`` gives."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Command line"):text.index("## Use it in your build")]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        if line.startswith("derivgen "):
            command, _, comment = line.partition("  #")
            code = re.search(r"exit (\d)", comment)
            commands.append((command.split()[1:], [], int(code.group(1)) if code else 0))
        elif line.startswith("#   ") and commands:
            commands[-1][1].append(line[4:])
    return commands


def test_readme_command_line_examples_print_what_the_readme_says(run, tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    commands = _readme_commands()
    assert any(args[0] == "show" and "--shape" in args for args, _, _ in commands)
    assert any(args[0] == "check" and "--range" in args for args, _, _ in commands)
    for args, expected, exit_code in commands:
        args = shlex.split(" ".join(args))
        code, out, err = run(*args, cwd=tmp_path)
        assert code == exit_code, (args, out, err)
        for line in expected:
            assert line.strip() in [shown.strip() for shown in out.splitlines()], (args, line, out)
