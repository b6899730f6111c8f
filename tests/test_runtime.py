"""The run-time helpers called directly, and their copies into generated modules.

Values are compared with closed forms computed with ``math`` on Python floats (or NumPy on
the formula as written), at ordinary and at extreme inputs.
"""

from __future__ import annotations

import ast
import io
import math
import subprocess
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest

import derivgen
from derivgen import naming
from derivgen.backends import definitions
from derivgen.backends.numpy import runtime as rt
from derivgen.backends.scalar import runtime as srt

ROOT = Path(__file__).resolve().parents[1]
EXTREME = np.array([-1000.0, -800.0, -740.0, -40.0, -1.5, -1e-300, 0.0, 1e-8, 2.0, 40.0, 710.0, 800.0,
                    np.inf, -np.inf])


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z) in math, by the form that cannot overflow."""
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def logaddexp(a: float, b: float) -> float:
    if a == b:
        return a + math.log(2)  # equal infinities too
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def logsumexp(row) -> float:
    """log(sum(exp(row))) as m + log1p(the others' exp(v - m)), m the max and the sum exact
    (math.fsum): nothing rounds against 1."""
    m = max(row)
    others = list(row)
    others.remove(m)
    return m + math.log1p(math.fsum(math.exp(v - m) for v in others))


def close(value, truth, rel=1e-15):
    return value == truth or abs(value - truth) <= rel * abs(truth)


# ---- sigmoid, softplus, logaddexp: exact to rounding everywhere ----------------------------

@pytest.mark.parametrize("z", [-800.0, -740.0, -40.0, -1.5, 0.0, 0.5, 40.0, 800.0])
def test_sigmoid_matches_the_closed_form(z):
    assert close(float(rt._sigmoid(np.float64(z))), sigmoid(z))
    array = rt._sigmoid(np.array([z, 0.0]))
    assert close(float(array[0]), sigmoid(z)) and array[1] == 0.5


def test_sigmoid_at_the_extremes():
    assert rt._sigmoid(np.array(800.0)) == 1.0
    assert rt._sigmoid(np.array(-800.0)) == 0.0  # exp(-800) underflows to 0 itself
    assert rt._sigmoid(np.array(-740.0)) == math.exp(-740.0)  # a subnormal, not 0
    assert rt._sigmoid(np.array(0.0)) == 0.5
    values = rt._sigmoid(np.array([np.inf, -np.inf, np.nan]))
    assert values[0] == 1.0 and values[1] == 0.0 and np.isnan(values[2])


def test_sigmoid_in_place_writes_over_its_argument_and_keeps_float32():
    z = np.array([-2.0, 0.0, 3.0], dtype=np.float32)
    out = rt._sigmoid(z, in_place=True)
    assert out is z and out.dtype == np.float32
    np.testing.assert_allclose(out, [sigmoid(-2.0), 0.5, sigmoid(3.0)], rtol=1e-6)
    kept = np.array([-2.0, 0.0])
    rt._sigmoid(kept)
    assert kept.tolist() == [-2.0, 0.0]


@pytest.mark.parametrize("z", [-800.0, -40.0, -1.5, 0.0, 2.0, 40.0, 710.0, 800.0])
def test_softplus_matches_the_closed_form(z):
    assert close(float(rt._softplus(np.array([z]))[0]), softplus(z))


def test_softplus_of_infinities():
    out = rt._softplus(np.array([np.inf, -np.inf]))
    assert out[0] == np.inf and out[1] == 0.0


@pytest.mark.parametrize("a, b", [(0.5, -1.0), (1000.0, 1000.0), (-800.0, -700.0), (710.0, -710.0),
                                  (np.inf, np.inf), (-np.inf, -np.inf), (np.inf, 3.0), (-np.inf, 2.0)])
def test_logaddexp_matches_the_closed_form(a, b):
    with np.errstate(invalid="ignore"):  # inf - inf: the nan that selects a + b
        out = rt._logaddexp(np.array([a]), np.array([b]))[0]
    assert close(float(out), logaddexp(a, b)), (out, logaddexp(a, b))


def test_logaddexp_keeps_a_nan():
    assert np.isnan(rt._logaddexp(np.array([np.nan]), np.array([1.0]))[0])


# ---- the *_parts helpers agree with the plain ones ------------------------------------------

def test_sigmoid_parts_agree_with_sigmoid_and_leave_z_alone():
    z = EXTREME.copy()
    s, t = rt._sigmoid_parts(z)
    assert z.tolist() == EXTREME.tolist()
    np.testing.assert_allclose(s, rt._sigmoid(z), rtol=1e-15, atol=0)
    np.testing.assert_allclose(t, rt._sigmoid(-z), rtol=1e-15, atol=0)
    ordinary = np.linspace(-30, 30, 61)
    s, t = rt._sigmoid_parts(ordinary)
    np.testing.assert_allclose(s, [sigmoid(v) for v in ordinary], rtol=2e-15)
    np.testing.assert_allclose(t, [sigmoid(-v) for v in ordinary], rtol=2e-15)


def test_softplus_parts_agree_with_softplus_and_sigmoid():
    for z in (EXTREME, np.linspace(-30, 30, 61), np.float64(3.0)):
        value, weight = rt._softplus_parts(z)
        np.testing.assert_allclose(value, rt._softplus(z), rtol=1e-15, atol=0)
        np.testing.assert_allclose(weight, rt._sigmoid(z), rtol=1e-15, atol=0)


def test_logaddexp_parts_agree_with_logaddexp_and_sigmoid():
    rng = np.random.default_rng(3)
    cases = [(rng.normal(size=20), rng.normal(size=20)), (EXTREME, EXTREME[::-1]),
             (np.array([-0.34657359027997264, 5.0]), np.array([-0.34657359027997264, 5.0])),  # log 1 = 0
             (rng.normal(size=(3, 1)), rng.normal(size=4)), (np.float64(0.5), np.float64(-0.25))]
    for a, b in cases:
        with np.errstate(invalid="ignore"):  # inf - inf in the references' a - b
            value, wa, wb = rt._logaddexp_parts(a, b)
            # The naive log is used down to |value| = 1/64, where it may lose 6 bits.
            np.testing.assert_allclose(value, rt._logaddexp(a, b), rtol=64 * 2.3e-16, atol=1e-300)
            finite = np.isfinite(np.broadcast_to(a - b, np.shape(value)))
            np.testing.assert_allclose(np.asarray(wa)[finite], np.broadcast_to(rt._sigmoid(a - b),
                                       np.shape(value))[finite], rtol=1e-14, atol=1e-300)
            np.testing.assert_allclose(np.asarray(wb)[finite], np.broadcast_to(rt._sigmoid(b - a),
                                       np.shape(value))[finite], rtol=1e-14, atol=1e-300)


def test_logaddexp_parts_near_zero_keep_their_digits():
    a = np.array([-math.log(2) + 2.0**-30])  # logaddexp(a, a) = a + log 2, about 9.3e-10
    value, wa, wb = rt._logaddexp_parts(a, a)
    assert abs(value[0] - (a[0] + math.log(2))) < 1e-16 * 4
    assert wa[0] == wb[0] == 0.5


# ---- exp_shift and lse_refine: a stable logsumexp ---------------------------------------------

def composed_logsumexp(x, axis=None, keepdims=False):
    """logsumexp as generated code composes it: shifted exps, their log-sum, refined near 0."""
    e, m = rt._exp_shift(x, axis=axis, keepdims=keepdims)
    return rt._lse_refine(np.log(np.sum(e, axis=axis, keepdims=keepdims)) + m, x, axis, keepdims)


@pytest.mark.parametrize("rows", [
    [[0.5, -1.0, 2.0], [3.0, 3.0, 3.0]],
    [[1000.0, 999.0, -5.0], [-1000.0, -1001.0, -999.5]],  # m = max: exp would overflow / underflow
    [[1e-8, -np.inf, -np.inf], [-0.6931471805599453, -0.6931471805599453, -50.0]],  # results near 0
    [[-1e-10, -30.0, -40.0], [2e-300, -800.0, -745.0]],
])
def test_exp_shift_and_lse_refine_give_logsumexp(rows):
    x = np.array(rows)
    out = composed_logsumexp(x, axis=1)
    for value, row in zip(out, rows):
        truth = logsumexp(row)
        assert close(float(value), truth, 4e-16) or abs(value - truth) < 1e-300, (value, truth)
    kept = composed_logsumexp(x, axis=1, keepdims=True)
    assert kept.shape == (2, 1) and kept[:, 0].tolist() == out.tolist()
    whole = composed_logsumexp(x)
    assert close(float(whole), logsumexp([v for row in rows for v in row]), 4e-16)


def test_logsumexp_along_a_size_one_axis_is_the_input():
    x = np.array([[1e-8], [-3.0], [700.0], [1e-300]])
    np.testing.assert_array_equal(composed_logsumexp(x, axis=1), x[:, 0])
    np.testing.assert_array_equal(rt._logsumexp(x, axis=1, keepdims=True), x)


def test_exp_shift_is_unshifted_where_that_is_exact():
    x = np.array([0.5, -1.0])
    e, m = rt._exp_shift(x)
    assert m == 0.0 and e.tolist() == np.exp(x).tolist()
    e, m = rt._exp_shift(np.array([[800.0, 799.0], [-np.inf, -np.inf]]), axis=1)
    assert m.tolist() == [800.0, 0.0] and e[0].tolist() == [1.0, math.exp(-1.0)] and e[1].tolist() == [0, 0]


def test_max_shift_is_zero_where_the_max_is_not_finite():
    x = np.array([[1.0, 2.0], [-np.inf, -np.inf], [np.inf, 0.0]])
    assert rt._max_shift(x, axis=1).tolist() == [2.0, 0.0, 0.0]


# ---- masks, shapes and dtypes ----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (3,), (1, 3), (2, 1), (2, 3)])
def test_live_is_any_over_the_axes_a_value_is_broadcast_along(shape):
    rng = np.random.default_rng(5)
    cond = rng.random((4, 2, 3)) < 0.2
    x = np.zeros(shape)
    got = rt._live(cond, x)
    assert np.shape(got) == shape
    # position i of x is live where some position of the broadcast reads it with cond true
    for index in np.ndindex(*shape):
        marker = np.zeros(shape, bool)
        marker[index] = True
        reads = np.broadcast_to(marker, cond.shape)  # the positions that read x[index]
        assert bool(np.asarray(got)[index]) == bool(np.any(cond & reads))
    assert rt._live(cond, np.zeros(cond.shape)) is cond


def test_masked_is_where_even_with_inf_and_nan_where_keep_is_false():
    values = np.array([1.0, np.inf, np.nan, -np.inf, 5.0])
    keep = np.array([True, False, False, False, True])
    with np.errstate(invalid="ignore"):  # inf * 0, before the nan sends it to np.where
        out = rt._masked(values.copy(), keep)
        assert out.tolist() == [1.0, 0.0, 0.0, 0.0, 5.0]
        kept = rt._masked(values, ~keep)
    assert kept[[0, 4]].tolist() == [0.0, 0.0] and kept[1] == np.inf and np.isnan(kept[2])


def test_masked_in_place_writes_over_values_of_the_result_shape():
    values = np.array([1.0, -2.0, 3.0])
    out = rt._masked(values, np.array([True, False, True]), in_place=True)
    assert out is values and out.tolist() == [1.0, 0.0, 3.0]
    small = np.array([2.0])
    out = rt._masked(small, np.array([True, False]), in_place=True)
    assert out is not small and out.tolist() == [2.0, 0.0] and small.tolist() == [2.0]


@pytest.mark.parametrize("shape", [(), (4,), (3, 1), (1, 4), (2, 3, 4), (2, 1, 4), (1, 1, 1)])
def test_unbroadcast_sums_a_gradient_back_to_a_shape(shape):
    g = np.arange(24.0).reshape(2, 3, 4)
    out = np.asarray(rt._unbroadcast(g, shape))
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    assert out.shape == shape
    np.testing.assert_array_equal(out, g.sum(axis=axes).reshape(shape))


def test_unbroadcast_stretches_a_smaller_gradient_and_owns_it_on_request():
    view = rt._unbroadcast(np.float64(2.0), (2, 3))
    assert view.shape == (2, 3) and (view == 2.0).all()
    owned = rt._unbroadcast(np.array(2.0), (2, 3), owned=True)
    assert owned.flags.writeable and owned.tolist() == [[2.0] * 3] * 2
    stood = rt._unbroadcast(np.array([1.0, 2.0]), (2,), full=(3, 2))  # stands for a (3, 2) array
    assert stood.tolist() == [3.0, 6.0]


def test_as_arrays_dtype_rules():
    f32 = np.ones(2, dtype=np.float32)
    x, y, z = rt._as_arrays(f32, 2.0, np.array([1, 2]))
    assert x is f32 and y.dtype == z.dtype == np.float32 and z.tolist() == [1.0, 2.0]
    x, y = rt._as_arrays(1, True)
    assert x.dtype == y.dtype == np.float64 and x.shape == ()
    mixed = rt._as_arrays(f32, np.ones(2), 3)
    assert [a.dtype for a in mixed] == [np.float32, np.float64, np.float64]
    scalar = rt._as_arrays(np.float32(1.5))[0]
    assert isinstance(scalar, np.ndarray) and scalar.dtype == np.float32


@pytest.mark.parametrize("bad, message", [("1.0", "got str '1.0'"), (None, "got None"),
                                          (1j, "got complex"), (np.array(["a"]), "an array of strings")])
def test_as_arrays_names_the_argument_that_is_not_real_numbers(monkeypatch, bad, message):
    monkeypatch.setattr(rt, "INPUTS", ("x", "y"))
    with pytest.raises(TypeError, match=r"^y: expected a real number") as caught:
        rt._as_arrays(1.0, bad)
    assert message in str(caught.value)
    with pytest.raises(TypeError, match=r"^grad_output: "):
        rt._as_arrays(1.0, 2.0, bad)


def test_typed_casts_to_the_inputs_dtype():
    f32 = np.ones(3, dtype=np.float32)
    out = rt._typed(np.array([1, 0, 1]), f32)
    assert out.dtype == np.float32 and out.tolist() == [1.0, 0.0, 1.0]
    single = rt._typed(2, np.ones((), dtype=np.float32))
    assert isinstance(single, np.float32) and single == 2.0
    assert rt._typed(1.0, f32, np.ones(2)).dtype == np.float64
    same = np.zeros(3, dtype=np.float32)
    assert rt._typed(same, f32) is same
    assert rt._typed(np.ones((1,)), np.ones(()), shaped=True).shape == ()


def test_small_helpers():
    assert rt._reduced_count((2, 3, 4), (2,)) == 12 and rt._reduced_count((0, 3), (3,)) == 1
    assert rt._per_element((2, 5)) == 0.1 and rt._per_element((0,)) == math.inf
    a, b = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    assert rt._sum_product(a, b) == 15.0 and rt._mean_product(a, b) == 2.5
    assert rt._sum_product(2.0, b) == 12.0 and rt._unbroadcast_product(a, b, ()) == 15.0
    np.testing.assert_allclose(rt._sech2(np.array([0.0, 1.0, 800.0])), [1.0, 1 / math.cosh(1.0) ** 2, 0.0])
    np.testing.assert_allclose(rt._erf(np.array([0.5, -2.0])), [math.erf(0.5), math.erf(-2.0)], rtol=1e-16)
    g = np.array(2.0)
    x = np.ones(2)
    assert rt._scaled(x, np.array(1.0)) is x and rt._scaled(x, g).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match=r"grad_output has shape \(2,\), but the output has shape \(3,\)"):
        rt._bad_grad_output(np.ones(2), (3,))


def test_blocks_cut_rows_and_total_puts_results_together():
    x = np.arange(2.0 * rt._Blocks.size + 3)
    blocks = rt._Blocks(x, np.float64(2.0))
    total = s = None
    count = 0
    for xb, yb in blocks:
        count += 1
        total = blocks.total(total, xb * yb)
        s = blocks.total(s, np.sum(xb))
    assert count == 3 and total.tolist() == (2 * x).tolist() and s == x.sum()
    small = np.ones(3)
    (only,) = list(rt._Blocks(small))  # too small for two blocks: one pass over the whole
    assert only[0] is small


# ---- the scalar path's helpers --------------------------------------------------------------

@pytest.mark.parametrize("a, b", [(0.5, -1.0), (1000.0, 1000.0), (-800.0, -700.0), (math.inf, math.inf),
                                  (-math.inf, -math.inf), (math.inf, 1.0)])
def test_logaddexp_scalar(a, b):
    assert close(srt._logaddexp_scalar(a, b), logaddexp(a, b))
    with np.errstate(invalid="ignore"):  # inf - inf
        assert srt._logaddexp_scalar(a, b) == float(rt._logaddexp(np.float64(a), np.float64(b)))


@pytest.mark.parametrize("z", [-30.0, -1.5, 0.0, 0.5, 30.0])
def test_scalar_parts_match_the_closed_forms(z):
    s, t = srt._sigmoid_parts_scalar(z)
    assert close(s, sigmoid(z), 2e-16) and close(t, sigmoid(-z), 4e-16)
    value, weight = srt._softplus_parts_scalar(z)
    assert close(value, softplus(z), 4e-16) and close(weight, sigmoid(z), 2e-16)
    assert close(srt._sech2_scalar(z), 1 / math.cosh(z) ** 2, 4e-15)
    value, wa, wb = srt._logaddexp_parts_scalar(z, 0.25)
    assert close(value, logaddexp(z, 0.25), 2e-15)  # the naive log: the rounding of exp(0.25)
    assert close(wa, sigmoid(z - 0.25), 4e-16) and close(wb, sigmoid(0.25 - z), 4e-16)


def test_scalar_helpers_at_the_extremes():
    with pytest.raises(OverflowError):  # where the array path switches formulas
        srt._sigmoid_parts_scalar(-800.0)
    value, wa, wb = srt._logaddexp_parts_scalar(-800.0, -700.0)  # both exps underflow
    assert close(value, logaddexp(-800.0, -700.0))
    assert close(wa, sigmoid(-100.0), 4e-16) and close(wb, sigmoid(100.0), 4e-16)
    value, _, _ = srt._logaddexp_parts_scalar(-math.log(2) + 2.0**-30, -math.log(2) + 2.0**-30)
    assert abs(value - (-math.log(2) + 2.0**-30 + math.log(2))) < 4e-16
    assert srt._exp_shift_scalar(700.5) == (1.0, 700.5)
    assert srt._exp_shift_scalar(math.inf) == (math.inf, 0.0)
    assert srt._exp_shift_scalar(-math.inf) == (0.0, 0.0)


# ---- definitions: what each helper needs, read from its code ----------------------------------

def test_dependencies_are_read_from_the_code():
    assert naming.REQUIRES["logaddexp_parts"] == ("logaddexp", "sigmoid")
    assert naming.REQUIRES["softplus_parts"] == ("sigmoid", "softplus")
    assert naming.REQUIRES["matmul_grad_a"] == ("as_matrices", "unbroadcast")
    assert naming.REQUIRES["logaddexp_parts_scalar"] == ("logaddexp_scalar", "math")
    assert naming.REQUIRES["as_arrays"] == ("as_real",)
    assert "math" in naming.required({"sigmoid_parts"})  # through _sigmoid
    assert "math" not in naming.required({"unbroadcast", "masked", "logaddexp"})
    assert "unbroadcast" not in naming.REQUIRES  # it calls no other helper


def test_needs_reach_defaults_and_decorators_but_not_attributes_or_strings():
    tree = ast.parse('@_deco\ndef _f(x, y=_g(1)):\n    """_h(x)"""\n    return x.math + _f(y) + math.pi\n')
    keys = {"_deco": "deco", "_g": "g", "_h": "h", "_f": "f"}
    assert definitions._needs(tree.body[0], keys) == ("deco", "g", "math")
    tree = ast.parse('def _f(x):\n    return x.math + "math"\n')
    assert definitions._needs(tree.body[0], keys) == ()


def test_a_definition_spans_its_decorators_and_comment_lines():
    text = "x = 1\n\n# about _f\n@decorator\ndef _f():\n    return 1\n    # after the last line\n# not _f's\n"
    node = ast.parse(text).body[1]
    lines = io.StringIO(text).readlines()
    first, end = definitions._span(lines, node)
    assert "".join(lines[first:end]) == ("# about _f\n@decorator\ndef _f():\n    return 1\n"
                                         "    # after the last line\n")


def _keys_named_in(tree) -> set[str]:
    """The name keys a compiler module spells out: printer.alias("key"), aliases["key"],
    used.add("key")."""
    found = set()
    for node in ast.walk(tree):
        arg = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            receiver = node.func.value
            receiver = getattr(receiver, "id", getattr(receiver, "attr", ""))
            if node.func.attr == "alias" or (node.func.attr == "add" and receiver == "used"):
                arg = node.args[0]
        elif isinstance(node, ast.Subscript) and getattr(node.value, "id", getattr(node.value, "attr", "")) \
                == "aliases":
            arg = node.slice
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.add(arg.value)
    return found


def test_every_helper_the_code_can_call_is_defined():
    from derivgen.backends.numpy.printer import HELPERS
    from derivgen.backends.scalar.printer import SCALAR_HELPERS

    keys = {d.key for d in definitions.definitions()}
    others = set(naming.BUILTINS) | set(naming.MODULE_NAMES) | set(naming.TEMPLATE_NAMES)
    assert not keys & others
    called = set(HELPERS.values()) | set(SCALAR_HELPERS.values())
    for name in ("backends/numpy/printer.py", "backends/scalar/printer.py", "emit.py", "blocking.py"):
        called |= _keys_named_in(ast.parse((ROOT / "derivgen" / name).read_text()))
    helpers = called - others
    assert {"sigmoid", "unbroadcast", "as_arrays", "typed", "logaddexp_scalar", "masked", "Blocks"} <= helpers
    assert helpers <= keys, helpers - keys


def test_helpers_read_only_builtins_modules_helpers_and_inputs():
    import builtins

    allowed = set(dir(builtins)) | {"np", "math", "INPUTS"} | {d.name for d in definitions.definitions()}
    for d in definitions.definitions():
        node = ast.parse(d.text).body[0]
        local = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)} | {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)} | {
            h.name for h in ast.walk(node) if isinstance(h, ast.ExceptHandler)}
        read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        assert read - local <= allowed, (d.name, read - local - allowed)


def test_runtime_files_import_and_run_on_their_own():
    code = ("import importlib.util, sys\n"
            "for path in sys.argv[1:]:\n"
            "    spec = importlib.util.spec_from_file_location('runtime', path)\n"
            "    module = importlib.util.module_from_spec(spec)\n"
            "    spec.loader.exec_module(module)\n"
            "    print(sorted(n for n in vars(module) if n.startswith('_') and not n.startswith('__'))[0])\n"
            "assert not [m for m in sys.modules if m.startswith(('derivgen', 'sympy', 'jinja2'))]\n")
    paths = [ROOT / "derivgen" / "backends" / b / "runtime.py" for b in ("numpy", "scalar")]
    out = subprocess.run([sys.executable, "-I", "-c", code, *map(str, paths)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["_Blocks", "_exp_shift_scalar"]


# ---- copies: renamed token by token ------------------------------------------------------------

def _everything_renamed():
    return {name: name + "_x" for name in ("np", "math", *(d.name for d in definitions.definitions()))}


class _Renamer(ast.NodeTransformer):
    """The renaming a copy should do, on the syntax tree: names read or defined, not
    attributes or strings."""

    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.names.get(node.name, node.name)
        return self.generic_visit(node)

    visit_ClassDef = visit_FunctionDef


def test_token_renaming_is_the_syntax_tree_renaming():
    names = _everything_renamed()
    for d in definitions.definitions():
        copy = definitions.renamed(d, names)
        expected = _Renamer(names).visit(ast.parse(d.text))
        assert ast.dump(ast.parse(copy)) == ast.dump(expected), d.name
        assert len(copy.splitlines()) == len(d.text.splitlines())


def test_copies_leave_strings_and_comments_alone():
    names = _everything_renamed()
    by_name = {d.name: d for d in definitions.definitions()}
    copy = definitions.renamed(by_name["_unbroadcast"], names)
    assert "def _unbroadcast_x(g, shape" in copy and "np_x.broadcast_to(g, full)" in copy
    assert "np.shape(g) for arrays" in copy  # in the docstring
    copy = definitions.renamed(by_name["_sigmoid"], names)
    assert "math_x.log(np_x.finfo(e.dtype).max) - 1:  # false for a nan too" in copy
    strings = [t.string for t in tokenize.generate_tokens(io.StringIO(by_name["_sigmoid"].text).readline)
               if t.type in (tokenize.STRING, tokenize.COMMENT)]
    assert all(s in copy for s in strings) and len(strings) >= 2


def test_copied_helpers_run_under_a_modules_names():
    """Helpers copied for inputs named np, math and _sigmoid run in a namespace that has only
    the renamed spellings, and compute what the runtime file's helpers do."""
    aliases = naming.module_aliases(("np", "math", "_sigmoid", "_logaddexp"))
    assert (aliases["np"], aliases["math"], aliases["sigmoid"]) == ("np_", "math_", "_sigmoid_")
    keys = naming.required({"logaddexp_parts", "softplus_parts", "exp_shift", "lse_refine", "as_arrays",
                            "logaddexp_parts_scalar"})
    text = definitions.copied(keys, aliases)
    space = {"np_": np, "math_": math, "INPUTS": ("x",), "__builtins__": __builtins__}
    exec(compile(text, "<copied>", "exec"), space)  # noqa: S102 - the helpers' own text
    assert "np" not in space and "math" not in space and "_sigmoid" not in space
    z = EXTREME[EXTREME > -1000]
    for got, want in zip(space["_logaddexp_parts"](z, z[::-1]), rt._logaddexp_parts(z, z[::-1])):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(space["_softplus_parts"](z), rt._softplus_parts(z)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(space["_sigmoid_"](z), rt._sigmoid(z))
    assert space["_logaddexp_parts_scalar"](-800.0, -700.0) == srt._logaddexp_parts_scalar(-800.0, -700.0)
    with pytest.raises(TypeError, match="^x: "):
        space["_as_arrays"]("text")


def test_copies_come_in_the_runtime_files_order():
    keys = {"logaddexp_parts_scalar", "sigmoid", "as_arrays", "unbroadcast", "sech2_scalar", "Blocks"}
    text = definitions.copied(naming.required(keys), naming.module_aliases(()))
    heads = [line.split("(")[0].split(":")[0] for line in text.splitlines() if line.startswith(("def ", "class "))]
    assert heads == ["def _as_arrays", "def _as_real", "def _unbroadcast", "def _sigmoid", "class _Blocks",
                     "def _logaddexp_scalar", "def _logaddexp_parts_scalar", "def _sech2_scalar"]
    assert text.startswith("\n\ndef _as_arrays(") and "\n\n\ndef _as_real(" in text


@pytest.mark.parametrize("name", ["np", "_sigmoid", "math"])
def test_modules_with_inputs_named_like_runtime_names_run(name):
    body = "def f({n}, y):\n    return sum(sigmoid({n}) * y + softplus({n}) + logaddexp({n}, y))\n"
    text, plain = derivgen.generate(body.format(n=name)), derivgen.generate(body.format(n="x"))
    renamed = {"np": "np_", "math": "math_", "_sigmoid": "_sigmoid_"}[name]
    assert f"def {renamed}(" in text or f"import numpy as {renamed}" in text or f"import math as {renamed}" in text
    assert text.count("\ndef _") == plain.count("\ndef _")  # the same helpers
    mod = derivgen.compile(body.format(n=name))
    x, y = np.array([-800.0, 0.5, 3.0]), np.array([1.0, -2.0, 0.25])
    value, grads = mod.value_and_grad(x, y)
    truth = sum(sigmoid(a) * b + softplus(a) + logaddexp(a, b) for a, b in zip(x, y))
    assert close(float(value), truth, 1e-14)
    slope = [sigmoid(a) * sigmoid(-a) * b + sigmoid(a) + sigmoid(a - b) for a, b in zip(x, y)]
    np.testing.assert_allclose(grads[0], slope, rtol=1e-14)


def test_unbroadcast_drops_leading_size_one_axes_its_full_shape_lacks():
    # the gradient of sum(v, axis=0) for a 0-d v comes back as shape (1,)
    g = np.array([2.5])
    assert np.shape(rt._unbroadcast(g, (), ())) == () and rt._unbroadcast(g, (), ()) == 2.5
    got = rt._unbroadcast(np.ones((1, 1, 3)), (3,), (3,))
    np.testing.assert_array_equal(got, np.ones(3))
    with pytest.raises(ValueError):
        rt._unbroadcast(np.ones((2, 3)), (3,), (3,))  # not size 1: no array of shape (3,) it stands for
