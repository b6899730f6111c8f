"""Generic tests over the op database (tests/opdb.py), in the spirit of PyTorch's OpInfo tests.

Each test is parametrized over the database's cases, one per op, spelling and sample, with ids
``<op>-<spelling>-<sample>`` (``sin-np.sin-2d``, ``sum-x.sum(dim=1)-3d``, ``clamp-clamp-bounds``).
Every spelling runs the value test; the gradient test runs on the canonical spelling's samples
and on the others' first and 0-d samples; the other tests run on the canonical spelling, whose
program the others' compile to. Each distinct source is compiled once per session (the
``compiled`` fixture of conftest.py).

1. ``test_value``: the value (of forward and of value_and_grad) matches the NumPy reference
   (shape, and float64 or float32 tolerance).
2. ``test_gradient``: backward, with the default grad_output and with a random one of the
   output's shape, matches central finite differences (Richardson-extrapolated, in np.longdouble)
   of the reference, within a bound on their error (relative to |grad_output| . |Jacobian|, in
   float32 also to the gradient's largest element); at kinks it matches the README's convention
   exactly (expected zeros are exact zeros), and at saturated extremes the sample's partials.
3. ``test_scalar_path``, ``test_blocked_path``, ``test_functions_agree``: the scalar path
   (Python floats) agrees with the NumPy path on 0-d arrays, at 0-d samples and at every point
   of a kink sample; the blocked path with blocks of two elements agrees with the one-pass code
   on many rows; forward, backward and value_and_grad give the same values and gradients.
4. ``test_dtype``: float32 in, float32 value and gradients out; float64 likewise; never an
   integer gradient; Python floats in, Python floats out.
5. ``test_no_runtime_warning``: no RuntimeWarning (warnings are errors) where the value and the
   gradient are finite.
6. ``test_inputs_untouched``: the caller's arrays (and grad_output) are never written to, and
   read-only arrays give the same results.
7. ``test_gradient_shape``: every gradient has its input's shape (broadcast axes summed back).
8. ``test_empty``: empty inputs give results of the right shape and value (zeros for the
   gradients), with no RuntimeWarning where NumPy's reference gives none.

The database tests at the end check the database itself: ids are unique, every op and spelling
of derivgen.ops is covered, every ``np.``/``math.`` spelling exists, the partial derivatives
given for extreme samples agree with finite differences, and the value and gradient checks
fail on answers slightly off.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import warnings
import zlib

import numpy as np
import opdb
import pytest

from derivgen import ops

CASES = opdb.cases()
IDS = [case.id for case in CASES]
# Relative tolerances of values and gradients by dtype; float64 gradients are compared with
# finite differences, whose own error is bounded separately (see expected_gradients).
RTOL_VALUE = {np.dtype("float64"): 1e-12, np.dtype("float32"): 1e-5}
RTOL_GRAD = {np.dtype("float64"): 1e-9, np.dtype("float32"): 1e-5}
RTOL_SCALAR = 1e-13  # Python floats against 0-d arrays: math against NumPy, a few ulps
ULPS_AGREE = 8  # forward / backward / value_and_grad, and read-only inputs: the same code


def params(keep):
    return [pytest.param(case, id=case.id) for case in CASES if keep(case)]


# ---- calling a module -----------------------------------------------------------------------

@contextlib.contextmanager
def quiet():
    """NumPy's RuntimeWarnings ignored: only test_no_runtime_warning and test_empty look at them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def call(module, function, case, inputs=None, grad_output=None):
    """module.<function> called by keyword on copies of the inputs (a test that writes to its
    inputs must not spoil the shared samples); gradients come back as a dict by input name."""
    inputs = case.sample.inputs if inputs is None else inputs
    kwargs = {name: a.copy() if isinstance(a, np.ndarray) else a
              for name, a in zip(case.variant.inputs, inputs)}
    if grad_output is not None:
        kwargs["grad_output"] = grad_output
    result = getattr(module, function)(**kwargs)
    if function == "forward":
        return result
    if function == "backward":
        return dict(zip(module.WRT, result))
    value, grads = result
    return value, dict(zip(module.WRT, grads))


def named(function, result, wrt):
    """What ``call`` returned, as {"value": ..., "d/d<input>": ...}."""
    if function == "forward":
        return {"value": result}
    if function == "backward":
        return {f"d/d{n}": result[n] for n in wrt}
    value, grads = result
    return {"value": value, **{f"d/d{n}": grads[n] for n in wrt}}


def as_floats(inputs):
    return [float(a) for a in inputs]


def random_grad_output(case, shape, dtype):
    """A seeded grad_output of the output's shape, entries of magnitude 0.5 to 1.5, either sign."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    return np.asarray(rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape), dtype)


# ---- references -------------------------------------------------------------------------------

def extended(inputs):
    """The inputs in extended precision; integer positions (x[t]) as they are."""
    return [a if np.asarray(a).dtype.kind in "iu" else np.asarray(a, np.longdouble) for a in inputs]


def differentiated(case):
    """(name, sample input) of each input the gradient is taken with respect to: all but
    those holding positions."""
    return [(n, x) for n, x in zip(case.variant.inputs, case.sample.inputs) if n not in case.variant.positions]


@functools.cache
def reference(variant, sample) -> np.ndarray:
    """The reference value in extended precision."""
    with quiet(), np.errstate(all="ignore"):
        return np.asarray(variant.reference(*extended(sample.inputs)), np.longdouble)


def step(value) -> float:
    """The finite-difference step at a value: a power of two near 1e-6 * max(1, |value|), so that
    value +- step is exact (in float64 too, for references that compute in float64)."""
    return math.ldexp(1.0, round(math.log2(1e-6 * max(1.0, abs(float(value))))))


@functools.cache
def jacobians(variant, sample):
    """Per input (but those holding positions), (J, noise): J[o, j] = d out[o] / d input[j] by
    central differences at steps h and h/2 combined by Richardson extrapolation (error
    O(h**4)), and a bound on its error."""
    inputs = extended(sample.inputs)
    size = np.abs(reference(variant, sample)).reshape(-1)  # the scale of the rounding in the reference
    if variant.magnitude is not None:
        with quiet(), np.errstate(all="ignore"):
            size = size + np.abs(np.asarray(variant.magnitude(*inputs), np.longdouble)).reshape(-1)
    result = []
    with quiet(), np.errstate(all="ignore"):
        for i, x in enumerate(inputs):
            if variant.inputs[i] in variant.positions:
                continue
            flat = x.reshape(-1)
            jac = np.zeros((size.size, flat.size), np.longdouble)
            noise = np.zeros_like(jac)
            for j in range(flat.size):
                h = np.longdouble(step(flat[j]))

                def at(delta, i=i, j=j, x=x, flat=flat):
                    moved = flat.copy()
                    moved[j] += delta
                    args = list(inputs)
                    args[i] = moved.reshape(x.shape)
                    return np.asarray(variant.reference(*args), np.longdouble).reshape(-1)

                wide = (at(h) - at(-h)) / (2 * h)
                narrow = (at(h / 2) - at(-h / 2)) / h
                jac[:, j] = (4 * narrow - wide) / 3
                # rounding in the reference, at the scale of its result, and the two differences'
                # disagreement, which shows rounding at the scale of its intermediates too
                noise[:, j] = 8 * variant.ref_eps * size / h + 4 * np.abs(narrow - wide)
            result.append((jac, noise))
    return result


def sum_to_shape(a, shape):
    """a summed over the axes broadcasting added or stretched, to the given shape."""
    a = np.asarray(a)
    lead = a.ndim - len(shape)
    stretched = tuple(lead + k for k, n in enumerate(shape) if n == 1 and a.shape[lead + k] != 1)
    axes = tuple(range(lead)) + stretched
    return np.sum(a, axis=axes).reshape(shape) if axes else a.reshape(shape)


def expected_gradients(case, grad_output):
    """Per input but those holding positions, (expected gradient, tolerance), in extended precision."""
    sample, dtype = case.sample, case.sample.dtype
    rtol, tiny = RTOL_GRAD[dtype], np.finfo(dtype).smallest_normal
    out_shape = reference(case.variant, sample).shape
    g = np.broadcast_to(np.asarray(1.0 if grad_output is None else grad_output, np.longdouble), out_shape)
    result = []
    if sample.partials is not None:
        for partial, x in zip(sample.partials, sample.inputs):
            terms = np.asarray(partial, np.longdouble) * g  # a sum's g is one number for all its terms
            floor = 0.0 if sample.kink else tiny  # a documented zero is an exact zero
            result.append((sum_to_shape(terms, x.shape), rtol * sum_to_shape(np.abs(terms), x.shape) + floor))
        return result
    flat = g.reshape(-1)
    for (jac, noise), (_, x) in zip(jacobians(case.variant, sample), differentiated(case)):
        expected = (flat @ jac).reshape(x.shape)
        tolerance = (rtol * (np.abs(flat) @ np.abs(jac)) + np.abs(flat) @ noise + tiny).reshape(x.shape)
        if dtype == np.float32 and expected.size:
            # float32 gradients are judged against the gradient's scale too: a standard formula
            # such as softmax's s * (g - sum(g * s)) cancels where one element dominates, and
            # the small elements of the result keep only the absolute accuracy of the others
            tolerance = tolerance + rtol * np.max(np.abs(expected))
        result.append((expected, tolerance))
    return result


def value_tolerance(case):
    ref = reference(case.variant, case.sample)
    rtol = RTOL_VALUE[case.sample.dtype]
    tolerance = rtol * np.abs(ref) + np.finfo(case.sample.dtype).smallest_normal
    if case.variant.magnitude is not None:  # a sum of terms of either sign: their sum bounds the error
        with quiet(), np.errstate(all="ignore"):
            tolerance = tolerance + rtol * np.abs(case.variant.magnitude(*extended(case.sample.inputs)))
    return tolerance


def assert_close(got, expected, tolerance, what):
    """|got - expected| <= tolerance elementwise; infinities and nans must match exactly."""
    got = np.asarray(got)
    assert got.shape == np.shape(expected), f"{what}: shape {got.shape}, expected {np.shape(expected)}"
    got64, expected64 = got.astype(np.float64), np.asarray(expected).astype(np.float64)
    with np.errstate(all="ignore"):
        error = np.abs(got64 - expected64)
        same = (got64 == expected64) | (np.isnan(got64) & np.isnan(expected64))
        ok = same | (np.isfinite(expected64) & (error <= np.asarray(tolerance, np.float64)))
    if not ok.all():
        bad = np.flatnonzero(~ok.reshape(-1))
        shown = ", ".join(f"[{k}] {got64.reshape(-1)[k]!r} != {expected64.reshape(-1)[k]!r}" for k in bad[:4])
        raise AssertionError(f"{what}: {bad.size} of {ok.size} elements off: {shown}")


def assert_same(a, b, what, dtype=np.float64, scale=0.0):
    """Equal to a few ulps (the same computation reached by two routes). ``scale``, the
    largest magnitude the computation starts from, allows a few ulps of it too: two exact
    formulas for a result that cancels (logaddexp(-1.33, -0.27) = 0.03) round apart by
    ulps of their terms, not of the result."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} and {b.shape}"
    info = np.finfo(dtype)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=ULPS_AGREE * info.eps,
                               atol=max(info.smallest_normal, ULPS_AGREE * info.eps * scale),
                               equal_nan=True, err_msg=what)


def finite_math(case) -> bool:
    """Whether the value and the gradient at the sample are finite (so no warning is due)."""
    sample = case.sample
    if not np.all(np.isfinite(reference(case.variant, sample))):
        return False
    return sample.partials is None or all(np.all(np.isfinite(p)) for p in sample.partials)


def canonical(case) -> bool:
    return case.canonical


# ---- 1. values --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(lambda case: True))
def test_value(compiled, case):
    module = compiled(case.spelling.source)
    assert set(module.INPUTS) == set(case.variant.inputs)
    with quiet():
        value = call(module, "forward", case)
        vg_value, _ = call(module, "value_and_grad", case)
    expected, tolerance = reference(case.variant, case.sample), value_tolerance(case)
    assert_close(value, expected, tolerance, "forward")
    assert_close(vg_value, expected, tolerance, "value_and_grad's value")


# ---- 2. gradients -----------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(lambda case: not case.sample.empty))
def test_gradient(compiled, case):
    module = compiled(case.spelling.source)
    out_shape = reference(case.variant, case.sample).shape
    for grad_output in (None, random_grad_output(case, out_shape, case.sample.dtype)):
        with quiet():
            got = call(module, "backward", case, grad_output=grad_output)
        which = "default grad_output" if grad_output is None else "random grad_output"
        for (name, _), (expected, tolerance) in zip(differentiated(case), expected_gradients(case, grad_output)):
            assert_close(got[name], expected, tolerance, f"d/d{name}, {which}")


# ---- 3. code paths ----------------------------------------------------------------------------

def _points(case):
    """The sample's inputs as 0-d float64 arrays, point by point (one point for a 0-d sample)."""
    arrays = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in case.sample.inputs))
    return [[np.asarray(a[k]) for a in arrays] for k in np.ndindex(arrays[0].shape)]


def _scalar_cases(case) -> bool:
    sample = case.sample
    if not case.canonical or sample.dtype != np.float64:
        return False
    return sample.zero_d or (sample.kink and case.variant.pointwise)


@pytest.mark.parametrize("case", params(_scalar_cases))
def test_scalar_path(compiled, case):
    module = compiled(case.spelling.source)
    for point in _points(case):
        where = f"at {as_floats(point)}"
        with quiet():
            value = call(module, "forward", case, as_floats(point))
            array_value = call(module, "forward", case, point)
            np.testing.assert_allclose(value, array_value, rtol=RTOL_SCALAR, atol=1e-300,
                                       err_msg=f"forward {where}")
            for grad_output in (None, -0.75):
                grads = call(module, "backward", case, as_floats(point), grad_output)
                array_grads = call(module, "backward", case, point,
                                   None if grad_output is None else np.asarray(grad_output))
                vg_value, vg_grads = call(module, "value_and_grad", case, as_floats(point), grad_output)
                np.testing.assert_allclose(vg_value, array_value, rtol=RTOL_SCALAR, atol=1e-300,
                                           err_msg=f"value_and_grad {where}")
                for name in module.WRT:
                    for got in (grads[name], vg_grads[name]):
                        np.testing.assert_allclose(got, array_grads[name], rtol=RTOL_SCALAR, atol=1e-300,
                                                   err_msg=f"d/d{name} {where}, grad_output={grad_output}")


@pytest.mark.parametrize("case", params(lambda case: case.canonical and case.sample.name.startswith("rows")))
def test_blocked_path(compiled, case):
    module = compiled(case.spelling.source)
    if not hasattr(module, "_Blocks"):
        pytest.skip("no _Blocks: derivgen runs this program in one pass")
    dtype = case.sample.dtype
    grad_output = random_grad_output(case, reference(case.variant, case.sample).shape, dtype)
    routes = [("forward", None), ("backward", None), ("backward", grad_output),
              ("value_and_grad", grad_output)]
    with quiet():
        whole = [call(module, f, case, grad_output=g) for f, g in routes]
        size = module._Blocks.size
        module._Blocks.size = 2
        try:
            assert module._Blocks(*case.sample.inputs).shape is not None, "the sample is not cut into blocks"
            blocked = [call(module, f, case, grad_output=g) for f, g in routes]
        finally:
            module._Blocks.size = size
    rtol = RTOL_VALUE[dtype]
    for (function, _), one, many in zip(routes, whole, blocked):
        many = named(function, many, module.WRT)
        for what, a in named(function, one, module.WRT).items():
            scale = float(np.max(np.abs(a), initial=0.0))
            np.testing.assert_allclose(many[what], a, rtol=rtol, atol=rtol * scale,
                                       err_msg=f"{function} {what}, blocks of 2 against one pass")


@pytest.mark.parametrize("case", params(canonical))
def test_functions_agree(compiled, case):
    module = compiled(case.spelling.source)
    dtype = case.sample.dtype
    grad_output = random_grad_output(case, reference(case.variant, case.sample).shape, dtype)
    with quiet():
        value = call(module, "forward", case)
        for g in (None, grad_output):
            grads = call(module, "backward", case, grad_output=g)
            vg_value, vg_grads = call(module, "value_and_grad", case, grad_output=g)
            scale = max([1.0] + [float(np.max(np.abs(x))) for x in case.sample.inputs
                                 if np.size(x) and np.all(np.isfinite(x))])
            assert_same(vg_value, value, "value_and_grad's value against forward", dtype, scale)
            for name in module.WRT:
                assert_same(vg_grads[name], grads[name], f"value_and_grad's d/d{name} against backward",
                            dtype)


# ---- 4. dtypes --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(canonical))
def test_dtype(compiled, case):
    module = compiled(case.spelling.source)
    dtype = case.sample.dtype
    shape = reference(case.variant, case.sample).shape
    grad_output = random_grad_output(case, shape, dtype)
    with quiet():
        value = call(module, "forward", case)
        assert np.asarray(value).dtype == dtype, f"value of dtype {np.asarray(value).dtype}"
        for g in (None, grad_output):
            results = [call(module, "backward", case, grad_output=g), call(module, "value_and_grad", case,
                                                                           grad_output=g)[1]]
            for grads in results:
                for name, grad in grads.items():
                    assert np.asarray(grad).dtype == dtype, f"d/d{name} of dtype {np.asarray(grad).dtype}"
        if case.sample.zero_d and dtype == np.float64 and shape == ():  # numbers in, a number out
            floats = as_floats(case.sample.inputs)
            value = call(module, "forward", case, floats)
            vg_value, vg_grads = call(module, "value_and_grad", case, floats)
            grads = call(module, "backward", case, floats)
            for what, x in [("value", value), ("value_and_grad's value", vg_value),
                            *((f"d/d{n}", g) for n, g in grads.items()),
                            *((f"value_and_grad's d/d{n}", g) for n, g in vg_grads.items())]:
                assert isinstance(x, float) and not isinstance(x, np.ndarray), \
                    f"{what} from Python floats is a {type(x).__name__}"


# ---- 5. warnings ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(lambda case: case.canonical and not case.sample.empty
                                        and finite_math(case)))
def test_no_runtime_warning(compiled, case):
    module = compiled(case.spelling.source)
    grad_output = random_grad_output(case, reference(case.variant, case.sample).shape, case.sample.dtype)
    inputs = [case.sample.inputs] + ([as_floats(case.sample.inputs)] if case.sample.zero_d else [])
    with warnings.catch_warnings(), np.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("error", RuntimeWarning)
        for arguments in inputs:
            call(module, "forward", case, arguments)
            call(module, "backward", case, arguments)
            call(module, "backward", case, arguments, grad_output)
            call(module, "value_and_grad", case, arguments, grad_output)


# ---- 6. the caller's arrays -------------------------------------------------------------------

def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


ROUTES = (("forward", False), ("backward", False), ("backward", True), ("value_and_grad", True))


def _results(module, case, inputs, grad_output):
    """Every function's results, by route and name, with and without grad_output."""
    return {(function, with_g, what): result for function, with_g in ROUTES
            for what, result in named(function, call(module, function, case, inputs,
                                                     grad_output if with_g else None), module.WRT).items()}


@pytest.mark.parametrize("case", params(lambda case: case.canonical and not case.sample.empty))
def test_inputs_untouched(compiled, case):
    module = compiled(case.spelling.source)
    dtype = case.sample.dtype
    inputs = [a.copy() for a in case.sample.inputs]
    grad_output = random_grad_output(case, reference(case.variant, case.sample).shape, dtype)
    kept = [a.copy() for a in inputs], grad_output.copy()
    with quiet():
        kwargs = dict(zip(case.variant.inputs, inputs))  # the arrays themselves, not copies
        module.forward(**kwargs)
        module.backward(**kwargs)
        module.backward(**kwargs, grad_output=grad_output)
        module.value_and_grad(**kwargs, grad_output=grad_output)
        for name, a, b in zip(case.variant.inputs, inputs, kept[0]):
            np.testing.assert_array_equal(a, b, err_msg=f"input {name} was written to")
        np.testing.assert_array_equal(grad_output, kept[1], err_msg="grad_output was written to")
        writable = _results(module, case, inputs, grad_output)
        read_only = _results(module, case, [_read_only(a) for a in inputs], _read_only(grad_output))
    for key, result in writable.items():
        assert_same(read_only[key], result, f"{key}: read-only inputs against writable ones", dtype)


# ---- 7. gradient shapes -----------------------------------------------------------------------

@pytest.mark.parametrize("case", params(canonical))
def test_gradient_shape(compiled, case):
    module = compiled(case.spelling.source)
    assert set(module.WRT) == {name for name, _ in differentiated(case)}
    grad_output = random_grad_output(case, reference(case.variant, case.sample).shape, case.sample.dtype)
    with quiet():
        results = [call(module, "backward", case), call(module, "backward", case, grad_output=grad_output),
                   call(module, "value_and_grad", case, grad_output=grad_output)[1]]
    for grads in results:
        for name, x in differentiated(case):
            shape = np.shape(grads[name])
            assert shape == x.shape, f"d/d{name} of shape {shape}, input {x.shape}"


# ---- 8. empty arrays --------------------------------------------------------------------------

@pytest.mark.parametrize("case", params(lambda case: case.canonical and case.sample.empty))
def test_empty(compiled, case):
    module = compiled(case.spelling.source)
    with warnings.catch_warnings(record=True) as numpy_warnings, np.errstate(divide="warn", over="warn",
                                                                            invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        expected = np.asarray(case.variant.reference(*case.sample.inputs))
    with warnings.catch_warnings(record=True) as caught, np.errstate(divide="warn", over="warn",
                                                                    invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        value = call(module, "forward", case)
        grads = call(module, "backward", case)
        vg_value, vg_grads = call(module, "value_and_grad", case)
    for what, v in (("value", value), ("value_and_grad's value", vg_value)):
        assert np.shape(v) == expected.shape, f"{what} of shape {np.shape(v)}, expected {expected.shape}"
        np.testing.assert_array_equal(v, expected, err_msg=what)
    for results in (grads, vg_grads):
        for name, x in differentiated(case):
            np.testing.assert_array_equal(results[name], np.zeros_like(x), err_msg=f"d/d{name}")
            assert np.shape(results[name]) == x.shape
    if not any(issubclass(w.category, RuntimeWarning) for w in numpy_warnings):
        runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert not runtime, f"RuntimeWarning where NumPy gives none: {runtime}"


# ---- the database itself ----------------------------------------------------------------------

def test_database_ids_are_unique():
    assert len(set(IDS)) == len(IDS)


def test_database_covers_every_op_and_spelling():
    names = {info.name for info in opdb.OPS}
    callable_ops = {spec.name for spec in ops.SPELLINGS.values()}  # the registry's internal heads aside
    assert len(callable_ops) >= 40 and callable_ops | set(ops.OPERATORS) <= names
    sources = " ".join(case.spelling.source for case in CASES)
    missing = [s for s in ops.SPELLINGS if not re.search(rf"(?<![\w.]){s}\(", sources)]
    assert not missing, f"spellings never written bare: {missing}"
    missing = [p for p in ops.PREFIXES if p not in sources]
    assert not missing, f"prefixes never used: {missing}"


def test_database_numpy_and_math_spellings_exist():
    pattern = re.compile(r"\b(np|numpy|math)\.(\w+)\(")
    called = {m.group(1, 2) for case in CASES for m in pattern.finditer(case.spelling.source)}
    modules = {"np": np, "numpy": np, "math": math}
    missing = sorted(f"{prefix}.{name}" for prefix, name in called if not hasattr(modules[prefix], name))
    assert not missing


# (Extremes of a float64-only reference, SciPy's, lie beyond what its finite differences resolve:
# tests/test_special.py checks those partials against mpmath instead.)
@pytest.mark.parametrize("case", params(lambda case: case.canonical and case.sample.partials is not None
                                        and not case.sample.kink and not (case.sample.kind == "extreme"
                                                                          and case.variant.ref_eps == opdb.FLOAT64_EPS)))
def test_database_partials_agree_with_finite_differences(case):
    given = expected_gradients(case, None)
    differenced = jacobians(case.variant, case.sample)
    for (jac, noise), (expected, _), (_, x) in zip(differenced, given, differentiated(case)):
        ones = np.ones(jac.shape[0], np.longdouble)
        differences = (ones @ jac).reshape(x.shape)
        tolerance = 1e-9 * (ones @ np.abs(jac)).reshape(x.shape) + (ones @ noise).reshape(x.shape)
        assert_close(expected, differences, tolerance, "partials against finite differences")


def _case(case_id):
    return next(case for case in CASES if case.id == case_id)


@pytest.mark.parametrize("case_id, error", [("sin-sin-2d", 1e-8), ("sum-sum(x,axis=1)-3d", 1e-8),
                                            ("sigmoid-sigmoid-extreme", 1e-8), ("tanh-tanh-2d-f32", 1e-4)])
def test_database_oracles_catch_a_small_error(case_id, error):
    """The value and gradient checks above pass the exact answer and fail one slightly off."""
    case = _case(case_id)
    dtype = case.sample.dtype
    value = reference(case.variant, case.sample)
    checks = [("value", value, value_tolerance(case))]
    grad_output = random_grad_output(case, value.shape, dtype)
    checks += [("gradient", *pair) for pair in expected_gradients(case, grad_output)]
    for what, expected, tolerance in checks:
        assert_close(expected.astype(dtype), expected, tolerance, what)
        wrong = expected * (1 + error) + error * np.max(np.abs(expected))
        with pytest.raises(AssertionError):
            assert_close(wrong.astype(dtype), expected, tolerance, what)
