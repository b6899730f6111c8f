"""The op registry: one entry per op is all derivgen needs to know about it.

The first tests register an op no module of derivgen mentions, in one place (this file), and
check that it parses in every spelling, differentiates by its rule, prints on the NumPy and
scalar paths, is computed in blocks, keeps float32, and passes gradcheck. The others check the
built-in entries against each other: every op the language can call has a rule and a way to
be printed, every table the passes read is a view of the entries.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import derivgen
from derivgen import ops
from derivgen import symbolic as S
from derivgen.backends.numpy import printer
from derivgen.errors import ParseError
from derivgen.formulas import formulas


@pytest.fixture
def cube():
    spec = ops.register(ops.elementwise("cube", 1, d=lambda a, out, g: 3 * g * a**2, spellings=("cubed",),
                                        numpy="{np}.power({0}, 3)", math="{0}**3", new_array=True,
                                        doc="x**3"))
    yield spec
    ops.unregister("cube")


def test_a_new_op_parses_differentiates_and_prints_on_both_paths(cube):
    mod = derivgen.compile("sum(cube(x) * y)")
    x, y = np.linspace(-2.0, 2.0, 7), np.linspace(0.5, 1.5, 7)
    value, (gx, gy) = mod.value_and_grad(x, y)
    np.testing.assert_allclose(value, np.sum(x**3 * y), rtol=1e-14)
    np.testing.assert_allclose(gx, 3 * x**2 * y, rtol=1e-14)
    np.testing.assert_allclose(gy, x**3, rtol=1e-14)
    np.testing.assert_allclose(mod.backward(x, y).x, gx, rtol=1e-14)
    # The scalar path: Python floats in, floats out, the math spelling.
    value, grads = mod.value_and_grad(1.5, 2.0)
    assert type(value) is float and value == pytest.approx(6.75) and grads.x == pytest.approx(13.5)
    text = derivgen.generate("sum(cube(x) * y)")
    assert "np.power(x, 3)" in text and "x**3" in text  # the NumPy path's spelling, the scalar path's
    assert derivgen.gradcheck(mod, {"x": x, "y": y}).ok


@pytest.mark.parametrize("source", ["cube(x + 1)", "np.cube(x + 1)", "torch.cube(x + 1)", "cubed(x + 1)",
                                    "(x + 1).cube()"])
def test_a_new_op_has_every_spelling_the_language_gives_ops(cube, source):
    mod = derivgen.compile(source)
    x = np.array([-1.5, 0.0, 2.0])
    value, (gx,) = mod.value_and_grad(x)
    np.testing.assert_allclose(value, (x + 1) ** 3, rtol=1e-14)
    np.testing.assert_allclose(gx, 3 * (x + 1) ** 2, rtol=1e-14)


def test_a_new_op_is_computed_in_blocks_and_keeps_float32(cube):
    source = "mean(cube(x) * y + sin(x) * y - x * y)"
    text = derivgen.generate(source)
    assert "_Blocks(" in text  # elementwise: the blocking pass takes it
    mod = derivgen.compile(source)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=100_003), rng.normal(size=100_003)
    value, (gx, gy) = mod.value_and_grad(x, y)
    np.testing.assert_allclose(value, np.mean(x**3 * y + np.sin(x) * y - x * y), rtol=1e-12)
    np.testing.assert_allclose(gy, (x**3 + np.sin(x) - x) / x.size, rtol=1e-12, atol=1e-19)
    # (terms of size 1e-5 that cancel near x = 0: an absolute tolerance at their rounding)
    np.testing.assert_allclose(gx, (3 * x**2 * y + np.cos(x) * y - y) / x.size, rtol=1e-12, atol=1e-19)
    value32, grads32 = mod.value_and_grad(x.astype(np.float32), y.astype(np.float32))
    assert np.asarray(value32).dtype == np.float32 and grads32.x.dtype == np.float32
    np.testing.assert_allclose(grads32.x, gx, rtol=1e-4, atol=1e-9)


def test_a_new_op_in_a_where_branch_is_guarded_by_its_hazards(cube):
    spec = ops.register(ops.elementwise("recip", 1, d=lambda a, out, g: -g * out**2, numpy="{np}.reciprocal({0})",
                                        math="1/{0}", hazards={0: 1.0}, new_array=True))
    try:
        mod = derivgen.compile("where(x != 0, recip(x), 0.0)")
        with np.errstate(all="raise"):  # the unselected branch computes on a harmless value
            value, (gx,) = mod.value_and_grad(np.array([0.0, 2.0, -4.0]))
        np.testing.assert_array_equal(value, [0.0, 0.5, -0.25])
        np.testing.assert_array_equal(gx, [0.0, -0.25, -0.0625])
    finally:
        ops.unregister(spec.name)


def test_an_unregistered_op_is_unknown_again(cube):
    ops.unregister("cube")
    try:
        with pytest.raises(ParseError, match="unknown function 'cube'"):
            derivgen.compile("cube(x)")
        assert "cube" not in ops.OPS and "cube" not in ops.NUMPY and "cube" not in ops.BLOCKABLE
    finally:
        ops.register(cube)  # for the fixture's own unregister


def test_registering_twice_or_over_a_spelling_is_an_error(cube):
    with pytest.raises(ValueError, match="registered already"):
        ops.register(cube)
    with pytest.raises(ValueError, match="sin already name"):
        ops.register(ops.elementwise("sine", 1, spellings=("sin",)))
    with pytest.raises(ValueError, match="kind must be one of"):
        ops.OpSpec("odd", kind="strange")


# ---- the built-in entries ---------------------------------------------------------------------

CALLABLE = sorted({spec.name for spec in ops.SPELLINGS.values()})


@pytest.mark.parametrize("name", CALLABLE)
def test_every_op_the_language_can_call_has_a_rule_and_a_spelling(name):
    spec = ops.OPS[name]
    assert spec.rule is not None and spec.build is not None
    tensors = [p for p in spec.params if p.kind in ("tensor", "bound", "positions")]
    for index, _ in spec.hazards:
        assert index < len(tensors) + (spec.name == "where")
    if spec.head is not None:
        head = spec.head_name
        printable = (head in ops.NUMPY or head in ops.HELPERS or hasattr(printer.NumPyPrinter, f"_print_{head}"))
        assert printable, f"{name}: no NumPy spelling"


def test_the_views_are_the_entries():
    assert set(ops.RULES) == {n for n, s in ops.OPS.items() if s.rule is not None}
    assert set(ops.HAZARDS) == {n for n, s in ops.OPS.items() if s.hazards}
    assert ops.UNARY_UFUNCS <= ops.NEW_ARRAY_HEADS <= set(ops.HEADS)
    assert set(ops.PARTS) == {"sigmoid", "softplus", "logaddexp"}
    assert all(ops.HELPERS.get(parts.__name__) for parts in ops.PARTS.values())
    assert set(ops.OPERATORS) == {"add", "sub", "mul", "div", "pow", "neg"}
    assert printer.NUMPY is ops.NUMPY and printer.HELPERS is ops.HELPERS  # views, not copies


def test_passes_and_printers_read_the_registry_views():
    from derivgen import blocking, optimize, rules
    from derivgen.backends.scalar import printer as mathprinter

    assert blocking.ELEMENTWISE is ops.BLOCKABLE and optimize.ELEMENTWISE is ops.ELEMENTWISE
    assert optimize.HAZARDS is ops.HAZARDS and optimize.PARTS is ops.PARTS
    assert mathprinter.ARRAY_ONLY is ops.ARRAY_ONLY and mathprinter.SCALAR_HELPERS is ops.SCALAR_HELPERS
    assert rules.RULES is ops.RULES and rules.NOTES is ops.NOTES and rules.SHAPED is ops.SHAPED


def test_the_emitter_asks_its_backend_not_which_printer_it_holds():
    import inspect

    from derivgen import emit
    from derivgen.backends import targets

    source = inspect.getsource(emit)
    assert "NumPyPrinter" not in source and "MathPrinter" not in source
    assert targets.NUMPY.arrays and not targets.SCALAR.arrays
    assert targets.NUMPY.printer is printer.NumPyPrinter


# ---- a structural op: a reduction registered in one place --------------------------------------
# (np.nanprod, which is np.prod on inputs without nans; the built-in np.prod's rule is in
# derivgen/ops/scans.py)
def _prod_rule(ops_, static):
    # d prod(x) / dx = prod(x) / x (the inputs below have no zeros), the reduced axes restored.
    return (S.expand_reduced(ops.G, *static) * S.expand_reduced(ops.OUT, *static) / ops_[0],)


@pytest.fixture
def nanprod():
    head = S._opaque("reduce_nanprod", None, "nanprod(x, axis, keepdims)")
    params = (ops.Param("x", aliases=("input", "a")), ops.Param("axis", "axis", None, ("dim",)),
              ops.Param("keepdims", "flag", False, ("keepdim",)))
    spec = ops.register(ops.OpSpec(
        "nanprod", params, "reduction", lambda x, keepdims, axes: head(x, sp.Integer(int(keepdims)), *axes),
        ("nanprod",), head=head, rule=_prod_rule, numpy="nanprod", gradient="expanded"))
    yield spec
    ops.unregister("nanprod")


@pytest.mark.parametrize("source", ["sum(nanprod(x, axis=1) * w)", "sum(np.nanprod(x, axis=-1, keepdims=True) * w)",
                                    "sum(x.nanprod(1) * w)", "torch.sum(np.nanprod(x, axis=1) * w)",
                                    "nanprod(x * w) + sum(w)"])
def test_a_new_reduction_parses_differentiates_prints_and_passes_gradcheck(nanprod, source):
    mod = derivgen.compile(source)
    rng = np.random.default_rng(0)
    x, w = rng.uniform(0.5, 1.5, (3, 4)), rng.uniform(0.5, 1.5, (3,) if "keepdims" not in source else (3, 1))
    if "x * w" in source:
        w = rng.uniform(0.5, 1.5, 4)
    value, grads = mod.value_and_grad(x, w)
    expected = {"sum(nanprod(x, axis=1) * w)": lambda: np.sum(np.prod(x, axis=1) * w),
                "nanprod(x * w) + sum(w)": lambda: np.prod(x * w) + np.sum(w)}.get(source)
    if expected is not None:
        np.testing.assert_allclose(value, expected(), rtol=1e-13)
    assert derivgen.gradcheck(mod, {"x": x, "w": w}).ok
    if source == "nanprod(x * w) + sum(w)":  # no axes: the scalar path computes it on floats
        value, grads = mod.value_and_grad(1.5, 2.0)
        assert type(value) is float and value == pytest.approx(5.0) and grads.x == pytest.approx(2.0)
    text = derivgen.generate(source)
    assert "np.nanprod(" in text
    show = formulas(source, shapes={"x": x.shape, "w": w.shape})
    assert show.derivatives["x"] is not None


def test_no_two_parts_of_the_parser_define_the_same_method():
    # The Parser is put together from mixins (derivgen/frontend/__init__.py): a method two of
    # them define would silently call the wrong one from the other.
    from derivgen.frontend import Parser

    defined: dict[str, list[str]] = {}
    for base in Parser.__mro__[1:]:
        for name, member in vars(base).items():
            if callable(member) and not name.startswith("__"):
                defined.setdefault(name, []).append(base.__name__)
    assert {name: owners for name, owners in defined.items() if len(owners) > 1} == {}
