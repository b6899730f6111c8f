"""Gradient checks draw their random inputs inside the domain of the ops that read them, take
ranges from the user (gradcheck's ranges=, derivgen check --range), and say "input outside
the domain" instead of blaming the gradient where the module is not finite at the inputs."""

from __future__ import annotations

import math
import types
import warnings
from pathlib import Path

import pytest

import derivgen
from derivgen import cli
from derivgen.check import DOMAINS, OUTSIDE, InputRange, domain_ops, input_ranges, random_inputs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run(capsys, monkeypatch):
    """``run(*args)``: derivgen's command line in this process -> (exit code, stdout, stderr)."""
    def call(*args: str, cwd: Path | None = None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def module_file(tmp_path: Path, source: str, stem: str, **options) -> Path:
    path = tmp_path / f"{stem}.py"
    path.write_text(derivgen.generate(source, filename=f"{stem}.py", **options), encoding="utf-8")
    return path


# ---- sampling inside the domain ----------------------------------------------------------
def test_arccosh_inputs_are_drawn_where_arccosh_is_defined():
    mod = derivgen.compile("sum(arccosh(x))")
    report = derivgen.gradcheck(mod, shapes={"x": (5,)})
    assert report.ok, report
    assert report.ranges["x"] == InputRange(1.1, 3.0, "inside the domain of arccosh")
    assert "MISMATCH" not in str(report) and OUTSIDE not in str(report)


def _call(op: str) -> str:
    """op of x, in each of its operands (a number where the op takes a constant: polygamma's n)."""
    from derivgen import ops
    return f"{op}({', '.join('1' if p.kind == 'number' else 'x' for p in ops.OPS[op].params if p.kind in ('tensor', 'number') and p.default is ops.REQUIRED)})"


@pytest.mark.parametrize("op", sorted(set(DOMAINS) - {"pow", "power"}))
def test_every_op_with_a_domain_is_checked_inside_it_whatever_the_default_range(op):
    mod = derivgen.compile(f"sum({_call(op)} * y)")
    # A default range that no domain contains: each op's own range is used for x.
    report = derivgen.gradcheck(mod, shapes={"x": (4,), "y": (4,)}, low=-5.0, high=-3.0)
    assert report.ok, report
    low, high = DOMAINS[op][1]
    assert (report.ranges["x"].low, report.ranges["x"].high) == (low, high)
    assert report.ranges["y"] == InputRange(-5.0, -3.0)  # y is read by no such op


@pytest.mark.parametrize("source", ["x ** 0.5 * 2", "x ** 1.5", "power(x, 2.5)"])
def test_fractional_powers_draw_positive_bases(source):
    mod = derivgen.compile(source)
    assert domain_ops(mod)["x"] <= {"pow", "power"}
    report = derivgen.gradcheck(mod, shapes={"x": (3,)}, low=-2.0, high=-1.0)
    assert report.ok, report
    assert report.ranges["x"].low > 0


def test_whole_and_variable_exponents_leave_the_range_alone():
    assert domain_ops(derivgen.compile("x ** 2 + x ** 3.0 + x ** y")) == {}


def test_the_default_range_stays_where_it_is_inside_the_domain():
    # log, sqrt, arcsin, log1p are all defined on [0.25, 0.75): the inputs are those of before.
    mod = derivgen.compile("log(x) + sqrt(x) + arcsin(y) + log1p(y)")
    assert input_ranges(mod) == {"x": InputRange(0.25, 0.75), "y": InputRange(0.25, 0.75)}
    assert derivgen.gradcheck(mod, shapes={"x": (2,), "y": (2,)}).ok


def test_an_input_read_by_several_ops_is_drawn_where_all_are_defined():
    mod = derivgen.compile("arcsin(x) + log(x)")
    assert domain_ops(mod) == {"x": {"arcsin", "log"}}
    chosen = input_ranges(mod, low=-3.0, high=-2.0)["x"]
    assert (chosen.low, chosen.high) == (0.5, 0.9)
    assert chosen.why == "inside the domain of arcsin, log"
    assert derivgen.gradcheck(mod, low=-3.0, high=-2.0).ok


def test_domains_that_do_not_meet_keep_the_default_and_report_the_outcome():
    mod = derivgen.compile("arccosh(x) + arcsin(x)")  # defined nowhere
    assert input_ranges(mod)["x"] == InputRange(0.25, 0.75)
    report = derivgen.gradcheck(mod)
    assert report.rows[0].status == OUTSIDE


def test_ops_are_read_from_functions_and_their_helpers():
    source = ("def helper(t):\n    return arccosh(t)\n\n"
              "def first(x, y):\n    return helper(x) * y\n\n"
              "def second(u, v):\n    return log(u - 3) + arctanh(v)\n")
    first = derivgen.compile(source, function="first")
    second = derivgen.compile(source, function="second")
    assert domain_ops(first) == {"x": {"arccosh"}}
    assert domain_ops(second) == {"v": {"arctanh"}}  # log reads u - 3, not u
    assert derivgen.gradcheck(first, shapes={"x": (3,), "y": (3,)}).ok


def test_a_module_renamed_at_generation_still_has_its_ops_found(tmp_path):
    path = module_file(tmp_path, "def f(x):\n    return acosh(x)\n", "renamed", name="renamed")
    module = derivgen.load(path.read_text(), "renamed")
    assert domain_ops(module) == {"x": {"arccosh"}}


def test_a_module_without_its_source_gets_the_default_ranges():
    mod = derivgen.compile("sum(arccosh(x))")
    bare = types.SimpleNamespace(**{a: getattr(mod, a) for a in ("INPUTS", "WRT", "Gradients", "forward",
                                                                  "backward")})
    assert domain_ops(bare) == {}
    assert input_ranges(bare)["x"] == InputRange(0.25, 0.75)
    edited = types.SimpleNamespace(**vars(bare), __doc__="Value and gradient of f(x).\n\n    f(x) = ((\n")
    assert domain_ops(edited) == {}


# ---- ranges given by the user ------------------------------------------------------------
def test_ranges_set_an_input_by_hand():
    mod = derivgen.compile("sum(arccosh(x) * y)")
    report = derivgen.gradcheck(mod, shapes={"x": (3,), "y": (3,)}, ranges={"x": (2, 5), "y": (-1, 1)})
    assert report.ok
    assert report.ranges == {"x": InputRange(2.0, 5.0, "as given"), "y": InputRange(-1.0, 1.0, "as given")}
    values = random_inputs(mod.INPUTS, {"x": (50,)}, ranges={"x": (2, 5)})["x"]
    assert values.min() >= 2 and values.max() < 5


@pytest.mark.parametrize(("ranges", "message"), [
    ({"z": (1, 2)}, "unknown input: z; inputs: x"),
    ({"x": (2, 1)}, "low < high"),
    ({"x": (1, 1)}, "low < high"),
    ({"x": (0, math.inf)}, "finite"),
    ({"x": (math.nan, 1)}, "finite"),
    ({"x": ("a", "b")}, "two numbers"),
    ({"x": (1, 2, 3)}, "two numbers"),
    ({"x": 5}, "two numbers"),
])
def test_bad_ranges_are_usage_errors(ranges, message):
    mod = derivgen.compile("sum(arccosh(x))")
    with pytest.raises(derivgen.UsageError, match="ranges") as info:
        derivgen.gradcheck(mod, ranges=ranges)
    assert message in str(info.value)


def test_ranges_and_explicit_inputs_do_not_mix():
    mod = derivgen.compile("arccosh(x)")
    with pytest.raises(derivgen.UsageError, match="ranges= applies to random inputs"):
        derivgen.gradcheck(mod, {"x": 2.0}, ranges={"x": (1, 3)})


# ---- outside the domain: said so, not blamed on the gradient --------------------------------
def test_inputs_outside_the_domain_are_reported_as_such():
    mod = derivgen.compile("sum(arccosh(x))")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and quietly: the report says what happened
        report = derivgen.gradcheck(mod, shapes={"x": (3,)}, ranges={"x": (0.0, 0.9)})
    assert not report.ok
    assert report.rows[0].status == OUTSIDE and report.rows[0].outside_domain
    assert report.outside_domain == ("x",) and report.mismatched == ()
    assert OUTSIDE in str(report) and "MISMATCH" not in str(report)
    with pytest.raises(derivgen.CheckFailed, match="outside its domain") as info:
        report.raise_if_failed()
    assert "ranges={'x': (low, high)}" in str(info.value)


def test_explicit_inputs_outside_the_domain_are_reported_as_such():
    mod = derivgen.compile("log(x) * y")
    report = derivgen.gradcheck(mod, {"x": -1.0, "y": 2.0})
    assert [r.status for r in report.rows] == [OUTSIDE, OUTSIDE]  # the value itself is nan


def test_only_the_inputs_whose_differences_are_not_finite_are_outside():
    # sqrt(x) is finite at 0 but its difference is not: y's gradient is still checked.
    mod = derivgen.compile("sqrt(x) + y**2")
    report = derivgen.gradcheck(mod, {"x": 0.0, "y": 0.5})
    assert [r.status for r in report.rows] == [OUTSIDE, "ok"]


def test_a_wrong_gradient_is_still_a_mismatch():
    text = derivgen.generate("sum(arccosh(x) * y)")
    assert text.count("grad_x = ") >= 1
    broken = derivgen.load(text.replace("grad_x = ", "grad_x = 1.5*"), "broken_arccosh")
    report = derivgen.gradcheck(broken, shapes={"x": (3,), "y": (3,)})
    assert report.mismatched == ("x",) and report.outside_domain == ()
    assert "MISMATCH" in str(report)
    with pytest.raises(derivgen.CheckFailed, match="disagree"):
        report.raise_if_failed()


# ---- the command line ----------------------------------------------------------------------
def test_check_draws_inside_the_domain_and_says_so(tmp_path, run):
    path = module_file(tmp_path, "sum(arccosh(x))", "acosh")
    code, out, err = run("check", str(path), "--shape", "x=4")
    assert code == 0, out + err
    assert "  x: random in [1.1, 3), inside the domain of arccosh" in out.splitlines()
    assert "ok: all 1 gradients match" in out


def test_check_range_sets_the_range(tmp_path, run):
    path = module_file(tmp_path, "sum(arccosh(x) * y)", "acosh2")
    code, out, err = run("check", str(path), "--range", "x=2,4", "--range=y=-1,1")
    assert code == 0, out + err
    assert "  x: random in [2, 4), as given" in out and "  y: random in [-1, 1), as given" in out


def test_check_outside_the_domain_exits_2_with_a_hint(tmp_path, run):
    path = module_file(tmp_path, "sum(arccosh(x))", "acosh3")
    code, out, err = run("check", str(path), "--range", "x=0,0.9")
    assert code == 2
    assert OUTSIDE in out and "MISMATCH" not in out + err
    assert "the inputs are outside the domain" in err
    assert "hint: draw inputs inside the domain with --range NAME=LO,HI" in err
    assert "Traceback" not in err and "RuntimeWarning" not in err


def test_check_with_a_mismatch_and_an_input_outside_the_domain_fails(tmp_path, run):
    # sqrt(x) is finite at x, but not at x - h: x's gradient cannot be checked, y's can.
    path = module_file(tmp_path, "sqrt(x) + y**2", "mixed")
    path.write_text(path.read_text().replace("grad_y = ", "grad_y = 3*"))
    code, _, err = run("check", str(path), "--range", "x=1e-9,2e-9")
    assert code == 1
    assert "FAILED: the gradient of y disagrees" in err
    assert "outside the domain" in err


@pytest.mark.parametrize("bad", ["x=5,1", "x=1,1", "x=a,b", "x", "x=1", "x=1,2,3", "=1,2", "x=1,inf", "x=nan,1"])
def test_check_rejects_a_malformed_range(tmp_path, run, bad):
    path = module_file(tmp_path, "sum(arccosh(x))", "acosh4")
    code, _, err = run("check", str(path), "--range", bad)
    assert code == 2
    assert err.startswith(f"derivgen: error: --range expects NAME=LO,HI with finite numbers LO < HI, got '{bad}'")


def test_check_rejects_a_range_for_an_unknown_input(tmp_path, run):
    path = module_file(tmp_path, "sum(arccosh(x))", "acosh5")
    code, _, err = run("check", str(path), "--range", "z=1,2")
    assert code == 2
    assert f"--range: 'z' is not an input of {path}; inputs: x" in err


def test_check_help_shows_a_range_example(run):
    code, out, _ = run("check", "--help")
    assert code == 0
    assert "--range NAME=LO,HI" in out
    assert "derivgen check generated/sin_square.py --range x=-3,3" in out

