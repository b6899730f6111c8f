"""Property-based fuzzing of generate(): random token soups, mutations of valid programs, and
random well-formed programs.

For every input: only a DerivgenError may escape, the call ends within a time bound (it
runs in a forked child, killed when it overruns), generated text is valid Python (compiled
to bytecode, never run), nothing imports the canary module, and no file appears in the
watched directory the child runs in.

The default run is short and derandomized, for CI. Set DERIVGEN_FUZZ_EXAMPLES to fuzz
longer, with fresh random examples on every run:

    DERIVGEN_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isolation import CANARY, generate_checked, install_canary, needs_fork, run_isolated

pytestmark = needs_fork

EXAMPLES = os.environ.get("DERIVGEN_FUZZ_EXAMPLES")
TIME_BOUND = 20.0  # seconds per call, generous for slow CI machines; typical calls take milliseconds
FUZZ = settings(
    max_examples=int(EXAMPLES) if EXAMPLES else 40,
    derandomize=not EXAMPLES,
    deadline=None,  # the child's time bound is the deadline
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [
    "sin(x**2)",
    "sum(exp(x) * y, axis=0)",
    "where((x > 0) & (x < 1), log(x), x) * y.sum(axis=0, keepdims=True)",
    "clamp(x, min=-1, max=None) @ w + b",
    "torch.sigmoid(w * x + b).mean(dim=-1)",
    "def f(x, y):\n    z = x * y\n    z += np.tanh(z)\n    return logsumexp(z, axis=(0, 1))\n",
    "EPS = 1e-8\n\ndef g(a, b=2.0):\n    return a ** b + EPS\n\ndef f(x, w):\n    return g(x @ w) - g(w, b=3)\n",
    *((ROOT / "examples" / name).read_text() for name in ("bce.py", "mlp.py", "logistic_regression.py")),
]
TOKENS = [
    # names, including the generated module's internals, builtins and the canary
    "x", "y", "w", "α", "np", "torch", "F", "math", "grad_output", "Gradients", "_t0", "value", "forward",
    "type", "max", "float", "__import__", "open", "eval", "exec", "getattr", "os", CANARY, "a" * 300,
    # functions, methods, attributes, keywords
    "sin", "exp", "log", "sqrt", "sigmoid", "relu", "where", "clamp", "sum", "mean", "logsumexp", "matmul",
    "dot", "maximum", ".T", ".sum(", ".clamp(", ".__class__", ".load(", "np.", "torch.", "F.", "np.pi", "np.inf",
    "axis=", "dim=", "keepdims=True", "min=", "max=", "None", "True", "False",
    # numbers
    "0", "1", "2", "0.0", "-1", "0.5", "1e308", "1e400", "10 ** 10 ** 10", "9" * 50, "0x" + "f" * 40, "1j",
    "1_000", "2 ** 2 ** 2", "1e-400",
    # operators and punctuation
    "+", "-", "*", "/", "**", "@", "//", "%", "&", "|", "~", "^", "<", "<=", ">", "==", "!=", "=", "+=", ":=",
    ".", ",", ":", ";", "(", ")", "[", "]", "{", "}", "->", "(" * 150, ")" * 150, "-" * 50,
    # statements
    "def f(x):", "def g(a, b=1):", "return ", "lambda", "if ", "else", "for ", " in ", "while ", "import os",
    "import torch", "from os import path", "global x", "class A:", "pass", "not ", " and ", "yield ", "await ",
    "async ", "with ", "try:", "del ", "@",
    # strings and odd characters
    "'a'", '"""', "f'{x}'", "b''", "#", "# \"\"\" import os", "\\", "\n", "\n    ", "\n        ", "\t",
    "\r\n", "\r", "\x0c", "\ufeff", "\x00", "\ud800", "\u2028", "é", " ",
]

token_soup = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)), min_size=1, max_size=40).map(
    "".join)


@st.composite
def mutated_programs(draw) -> str:
    """A valid program with a few random edits: insertions, deletions, duplications, nesting."""
    source = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(source)))
        j = draw(st.integers(i, min(len(source), i + 20)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "nest", "truncate"]))
        if kind == "insert":
            source = source[:i] + draw(st.sampled_from(TOKENS)) + source[i:]
        elif kind == "delete":
            source = source[:i] + source[j:]
        elif kind == "replace":
            source = source[:i] + draw(st.text(min_size=1, max_size=3)) + source[j:]
        elif kind == "duplicate":
            source = source[:j] + source[i:j] * draw(st.integers(1, 50)) + source[j:]
        elif kind == "nest":
            depth = draw(st.sampled_from([1, 5, 99, 100, 101, 250]))
            head = draw(st.sampled_from(["(", "sin(", "-(", "f(", "[", "clamp(x, "]))
            tail = ")" if head != "[" else "]"
            source = source[:i] + head * depth + source[i:j] + tail * depth + source[j:]
        else:
            source = source[:i]
    return source


UNARY = ["sin", "exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "relu", "abs", "erf", "log1p", "floor",
         "arccosh", "torch.expm1", "np.square", "F.relu"]
BINARY = ["maximum", "minimum", "hypot", "logaddexp", "power", "arctan2"]
LEAVES = st.sampled_from(["x", "y", "w", "0", "1", "2.5", "-1", "1e308", "1e-320", "np.pi", "np.inf", "-np.inf"])


def _extend(inner):
    return st.one_of(
        st.builds("{}({})".format, st.sampled_from(UNARY), inner),
        st.builds("{}({}, {})".format, st.sampled_from(BINARY), inner, inner),
        st.builds("({} {} {})".format, inner, st.sampled_from(["+", "-", "*", "/", "**", "@"]), inner),
        st.builds("-{}".format, inner),
        st.builds("where(({} {} {}) {} ({} > 0), {}, {})".format, inner, st.sampled_from(["<", ">=", "==", "!="]),
                  inner, st.sampled_from(["&", "|"]), inner, inner, inner),
        st.builds("clamp({}, {}, {})".format, inner, st.sampled_from(["None", "0", "-1", "x", "-np.inf"]),
                  st.sampled_from(["None", "1", "y", "np.inf"])),
        st.builds("{}({}, axis={}, keepdims={})".format, st.sampled_from(["sum", "mean", "logsumexp"]), inner,
                  st.sampled_from(["None", "0", "-1", "(0, 1)"]), st.sampled_from(["True", "False"])),
        st.builds("({}).T".format, inner),
        st.builds("({}).{}()".format, inner, st.sampled_from(["sum", "exp", "mean", "sigmoid"])),
    )


expressions = st.recursive(LEAVES, _extend, max_leaves=10)


@st.composite
def well_formed_programs(draw) -> str:
    """A function of a few assignments (some augmented, some to internal-looking names) and a return,
    sometimes through a helper with a default."""
    names = ["x", "y", "w"]
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        target = draw(st.sampled_from(names + ["z", "np", "value", "_t0", "grad_output"]))
        op = draw(st.sampled_from(["=", "+=", "*=", "-="])) if target in names else "="
        lines.append(f"    {target} {op} {draw(expressions)}")
        if target not in names:
            names.append(target)
    result = draw(expressions)
    if draw(st.booleans()):
        result = f"helper({result}, {draw(st.sampled_from(names))})"
    lines.append(f"    return {result}")
    helper = "def helper(a, b=2.0):\n    return a * b + sin(a)\n\n\n"
    return helper + "def f(x, y, w):\n" + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz")
    install_canary(path)
    return str(path)


def check(sandbox: str, source: str, **options) -> None:
    outcome = run_isolated(generate_checked, source, timeout=TIME_BOUND, cwd=sandbox, **options)
    assert outcome.status in ("ok", "error"), f"{outcome.status} ({outcome.message}) on {source!r}"
    assert outcome.status == "ok" or outcome.derivgen_error, f"on {source!r}: {outcome.describe()}"
    assert not outcome.imported, f"imported {outcome.imported} on {source!r}"
    assert not outcome.files, f"files {outcome.files} appeared on {source!r}"


@FUZZ
@given(source=token_soup)
def test_token_soup_raises_only_derivgen_errors(sandbox, source):
    check(sandbox, source)


@FUZZ
@given(source=mutated_programs())
def test_mutated_programs_raise_only_derivgen_errors(sandbox, source):
    check(sandbox, source)


@FUZZ
@given(source=well_formed_programs())
def test_well_formed_programs_raise_only_derivgen_errors(sandbox, source):
    check(sandbox, source)
