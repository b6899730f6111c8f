"""Bad input raises a DerivgenError that points at the line and column."""

import pytest

import derivgen
from derivgen import ParseError, UnsupportedError, UsageError


def error_of(source, **options):
    with pytest.raises(derivgen.DerivgenError) as info:
        derivgen.generate(source, **options)
    return info.value


@pytest.mark.parametrize("source, line, col, words", [
    ("sin(x", 1, 4, "never closed"),
    ("x +* y", 1, 4, "invalid syntax"),
    ("def f(x):\n    y = x +\n    return y", 2, 12, "invalid syntax"),
])
def test_syntax_errors_point_at_the_problem(source, line, col, words):
    err = error_of(source)
    assert isinstance(err, ParseError)
    assert (err.line, err.col) == (line, col)
    assert words in err.message


def test_parse_error_carries_the_source_line_and_a_caret():
    err = error_of("def f(x):\n    return sinn(x) * 2")
    assert (err.line, err.col) == (2, 12)
    assert err.source_line == "    return sinn(x) * 2"
    assert err.format(caret=True).splitlines()[-1] == "    " + " " * 11 + "^"


@pytest.mark.parametrize("source, suggestion", [
    ("sinn(x)", "'sin'"),
    ("np.expp(x)", "'np.exp'"),
    ("torch.sigmod(x)", "'torch.sigmoid'"),
    ("x.summ()", "'sum'"),
    ("def helper(a):\n    return a\ndef f(x):\n    return helpr(x)", "'helper'"),
])
def test_unknown_functions_suggest_the_closest_name(source, suggestion):
    err = error_of(source, function="f") if "def f" in source else error_of(source)
    assert isinstance(err, UnsupportedError)
    assert "unknown" in err.message
    assert suggestion in err.hint


@pytest.mark.parametrize("source, construct", [
    ("lambda x: x", "lambda"),
    ("x[x * 2]", "an index computed when the module runs"),
    ("[a for a in x]", "list comprehensions"),
    ("(y := x)", "assignment expressions"),
    ("f'{x}'", "f-strings"),
    ("'text'", "strings"),
    ("x if x > 0 else 0", "conditional expression (a if c else b) must be known at compile time"),
    ("def f(x):\n    for i in x:\n        x = x\n    return x", "cannot loop over an array"),
    ("def f(x):\n    if x > 0:\n        x = x\n    return x", "if statement must be known at compile time"),
    ("def f(x):\n    import os\n    return x", "import statements"),
    ("def f(x):\n    global y\n    return x", "global statements"),
    ("def f(*args):\n    return 1.0", "*args"),
    ("x.shape", "returns a shape, a tuple of sizes, not an array"),
    ("x.dtype", "attribute .dtype"),
    ("x << 2", "<<"),
])
def test_unsupported_constructs_are_named(source, construct):
    err = error_of(source)
    assert isinstance(err, ParseError)
    assert construct in err.message


def test_unsupported_construct_reports_its_own_column():
    err = error_of("def f(x):\n    y = x * 2\n    return y + [x][0]")
    assert (err.line, err.col) == (3, 16)


@pytest.mark.parametrize("source, words", [
    ("clamp(x, 0, 1, 2)", "at most 3 arguments"),
    ("sigmoid(x, beta=2)", "unexpected keyword 'beta'"),
    ("sum()", "missing its argument"),
    ("sum(x, axis=0, dim=1)", "twice"),
])
def test_wrong_arguments_show_the_signature(source, words):
    err = error_of(source)
    assert words in err.message
    assert "signature:" in err.hint


def test_unknown_function_name_lists_the_candidates():
    source = "def f(x):\n    return x\n\ndef g(x):\n    return 2 * x\n"
    with pytest.raises(UsageError, match="defined: f, g"):
        derivgen.generate(source, function="h")


def test_ambiguous_entry_function_lists_the_candidates():
    source = "def f(x):\n    return x\n\ndef g(x):\n    return 2 * x\n"
    with pytest.raises(UsageError, match="candidates: f, g"):
        derivgen.generate(source)


def test_unknown_wrt_name_lists_the_inputs():
    with pytest.raises(UsageError, match="inputs: x, y") as info:
        derivgen.generate("x * y", wrt=["z"])
    assert "'z'" in str(info.value)


def test_wrt_suggests_a_close_input_name():
    with pytest.raises(UsageError, match="did you mean 'weight'"):
        derivgen.generate("weight * x", wrt=["weigth"])


def test_def_without_return_is_an_error():
    err = error_of("def f(x):\n    y = x * 2\n")
    assert "no return" in err.message and err.line == 1


def test_duplicated_parameter_is_an_error():
    err = error_of("def f(x, x):\n    return x")
    assert "duplicate parameter 'x'" in err.message


@pytest.mark.parametrize("source", ["", "   \n  "])
def test_empty_source_is_an_error(source):
    assert "empty source" in error_of(source).message


def test_recursive_helpers_are_an_error():
    source = "def f(x):\n    return g(x)\n\ndef g(x):\n    return f(x)\n\ndef h(y):\n    return f(y)\n"
    err = error_of(source, function="h")
    assert "recursive call" in err.message


def test_undefined_name_in_a_function_suggests_a_local():
    err = error_of("def f(x):\n    value = x * 2\n    return valeu")
    assert "name 'valeu' is not defined" in err.message
    assert "'value'" in err.hint


def test_comparison_outside_where_is_an_error():
    # (x > 0) * 2 is a number, as in NumPy (tests/test_conditions_as_numbers.py); a negated
    # condition is not (NumPy refuses -bool), nor is one given to a function other than where.
    assert "condition" in error_of("-(x > 0)").message
    assert "condition" in error_of("sin(x > 0)").message


def test_errors_name_the_file():
    err = error_of("def f(x):\n    return sinn(x)", filename="model.py")
    assert str(err).startswith("model.py:2:12: error:")


@pytest.mark.parametrize("source, col, words", [
    ("F.gelu(x, approximate='fast')", 23, "gelu()'s approximate must be 'none' or 'tanh', not 'fast'"),
    ("F.gelu(x, approximate=y)", 23, "must be a string literal"),
    ("F.elu(x, alpha=y)", 16, "elu()'s alpha must be a finite number known when compiling"),
    ("F.leaky_relu(x, negative_slope=len(x))", 32, "negative_slope must be a finite number known when compiling"),
    ("F.softplus(x, threshold=np.inf)", 25, "threshold must be a finite number"),
    ("F.hardtanh(x, 2.0, 1.0)", 1, "min_val must not be greater than max_val"),
    ("F.celu(x, alpha=0.0)", 1, "celu()'s alpha must not be 0"),
    ("F.softplus(x, beta=0)", 1, "softplus()'s beta must not be 0"),
    ("F.softshrink(x, lambd=-0.5)", 1, "lambd must not be negative"),
])
def test_bad_activation_parameters_are_errors_at_their_column(source, col, words):
    # constant parameters are known when compiling: a bad one is an error at it (or at the call)
    err = error_of(source)
    assert isinstance(err, ParseError)
    assert (err.line, err.col) == (1, col) and words in err.message, (err.col, err.message)
