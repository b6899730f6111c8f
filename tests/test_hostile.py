"""Hostile and malformed input: nothing executes, nothing hangs, every mistake is a DerivgenError.

Every case runs in a forked child (tests/isolation.py) with a time limit and its working
directory set to a watched temporary directory holding a canary module, so a hang fails
the test instead of hanging CI, and any import of the canary or any file written shows up.
"""

from __future__ import annotations

import ast
import math
import random

import numpy as np
import pytest
from isolation import CANARY, generate_checked, install_canary, needs_fork, run_isolated

import derivgen
from derivgen import ParseError
from derivgen.frontend import nesting

pytestmark = needs_fork

LIMIT = 20.0  # seconds before a child counts as hung
QUICK = 5.0  # "fails quickly": well under the limit even on a slow CI machine


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A watched working directory for the children, holding the canary module; every call
    checks that no file appeared in it."""
    path = tmp_path_factory.mktemp("sandbox")
    install_canary(path)
    return str(path)


def compile_and_run(source, args, **options):
    """compile(), then value_and_grad(*args): the value and gradients as plain arrays."""
    module = derivgen.compile(source, **options)
    value, grads = module.value_and_grad(*args)
    return np.asarray(value), [np.asarray(g) for g in grads]


def compile_all(sources) -> list[str]:
    """compile() each source, naming how each ended."""
    ends = []
    for source in sources:
        try:
            derivgen.compile(source)
            ends.append("compiled")
        except derivgen.DerivgenError as exc:
            ends.append(type(exc).__name__)
    return ends


def isolated(sandbox, func, *args, timeout=LIMIT, **kwargs):
    """Run in a child; nothing may have been imported from or written to the sandbox."""
    outcome = run_isolated(func, *args, timeout=timeout, cwd=sandbox, **kwargs)
    assert outcome.status != "timeout", f"hung for {timeout} s"
    assert outcome.status != "crash", outcome.message
    assert not outcome.imported, f"imported {outcome.imported}"
    assert not outcome.files, f"files appeared: {outcome.files}"
    return outcome


def error(sandbox, source, **options):
    """The DerivgenError generate() raises on ``source`` (fails on anything else)."""
    outcome = isolated(sandbox, generate_checked, source, **options)
    assert outcome.derivgen_error, outcome.describe()
    return outcome


# ---- nothing in the input is executed or imported --------------------------------------

CANARY_IMPORT = f"__import__('{CANARY}')"

HOSTILE = [
    # (source, words the message must contain, line, column)
    (CANARY_IMPORT, "unknown function '__import__'", 1, 1),
    (f"{CANARY_IMPORT}.system('echo hi')", "unknown function '__import__'", 1, 1),
    ("x + open('written.txt', 'w').write('x')", "unknown function 'open'", 1, 5),
    ("eval('1 + x')", "unknown function 'eval'", 1, 1),
    (f"exec(\"import {CANARY}\")", "unknown function 'exec'", 1, 1),
    ("compile('1', 'f', 'eval')", "unknown function 'compile'", 1, 1),
    ("breakpoint()", "unknown function 'breakpoint'", 1, 1),
    ("getattr(x, '__class__')", "unknown function 'getattr'", 1, 1),
    ("x.__class__", "dunder attributes such as .__class__", 1, 1),
    ("x.__class__.__bases__[0].__subclasses__()", "dunder attributes such as .__subclasses__", 1, 1),
    ("().__class__", "dunder attributes such as .__class__", 1, 1),
    ("2 * sin.__globals__", "dunder attributes such as .__globals__", 1, 5),
    ("torch.load('model.pt')", "unknown function 'torch.load'", 1, 1),
    ("x * np.load('a.npy')", "unknown function 'np.load'", 1, 5),
    ("np.lib.stride_tricks.as_strided(x)", "unknown function 'np.lib.stride_tricks.as_strided'", 1, 1),
    ("x + np.lib", "'np.lib' is not a supported constant", 1, 5),
    ("os.system('ls')", "unknown method .system()", 1, 1),
    ("[a for a in x]", "list comprehensions", 1, 1),
    ("{a: a for a in x}", "dict comprehensions", 1, 1),
    ("sum(a for a in x)", "generator expressions", 1, 4),
    ("x + (lambda: 0)", "lambda functions", 1, 6),
    ("x * (y := x)", "assignment expressions (:=)", 1, 6),
    ("x * f'{x}'", "f-strings", 1, 5),
    ("x + 'text'", "strings are", 1, 5),
    ("x + b'data'", "bytes literals", 1, 5),
    ("x[x * 2]", "an index computed when the module runs", 1, 3),
    ("x * x[y + 1]", "an index computed when the module runs", 1, 7),
    ("sin(*x)", "starred arguments", 1, 5),
    ("sin(**x)", "**kwargs", 1, 7),
    ("x + {x: 1}", "dict literals", 1, 5),
    ("x + [x]", "list literals", 1, 5),
    ("x if x else x", "conditional expression (a if c else b) must be known at compile time", 1, 6),
    ("x + ...", "Ellipsis", 1, 5),
    ("1j * x", "complex numbers", 1, 1),
    (f"import {CANARY}\ndef f(x):\n    return x", "import statements", 1, 8),
    (f"from {CANARY} import thing\ndef f(x):\n    return x", "import statements", 1, 1),
    ("import numpy as os\ndef f(x):\n    return x", "import statements", 1, 8),
    ("import os\ndef f(x):\n    return x", "import statements", 1, 8),
    (f"def f(x):\n    import {CANARY}\n    return x", "import statements", 2, 5),
    ("def f(x):\n    global y\n    return x", "global statements", 2, 5),
    ("class A:\n    pass\ndef f(x):\n    return x", "class definitions", 1, 1),
    ("def f(x):\n    for i in x:\n        x = x\n    return x", "cannot loop over an array", 2, 14),
    ("def f(x):\n    while x:\n        x = x\n    return x", "while loops", 2, 5),
    ("def f(x):\n    if x:\n        x = x\n    return x", "if statement must be known at compile time", 2, 8),
    ("def f(x):\n    with open('written.txt', 'w') as g:\n        x = x\n    return x", "with statements", 2, 5),
    ("def f(x):\n    try:\n        x = x\n    except Exception:\n        pass\n    return x", "try statements", 2, 5),
    ("def f(x):\n    raise ValueError\n    return x", "raise statements", 2, 5),
    ("def f(x):\n    assert x\n    return x", "an assert on the values of arrays is not supported", 2, 12),
    (f"def f(x):\n    assert {CANARY_IMPORT}\n    return x", "unknown function '__import__'", 2, 12),
    ("def f(x):\n    del x\n    return 1", "del statements", 2, 5),
    ("def f(x):\n    match x:\n        case 1:\n            pass\n    return x", "match statements", 2, 5),
    ("def f(x):\n    def g(y):\n        return y\n    return g(x)", "nested function definitions", 2, 5),
    ("async def f(x):\n    return x", "async functions", 1, 1),
    ("def f(x):\n    yield x", "yield", 2, 5),
    ("def f(x):\n    return (await x)", "await", 2, 13),
    ("def f(x):\n    x.y = 1\n    return x", "only assignment to a plain name", 2, 5),
    ("def f(x):\n    x[0] = 1\n    return x", "only assignment to a plain name", 2, 5),
    (f"@{CANARY_IMPORT}.thing\ndef f(x):\n    return x", "decorators", 1, 2),
    (f"X = {CANARY_IMPORT}\ndef f(x):\n    return x", "unknown function '__import__'", 1, 5),
    (f"def g(a, b={CANARY_IMPORT}):\n    return a\ndef f(x):\n    return g(x)", "'__import__'", 1, 12),
    (f"def f(x={CANARY_IMPORT}):\n    return x", "unknown function '__import__'", 1, 9),
    ("if __name__ == '__main__':\n    pass\ndef f(x):\n    return x", "if statements", 1, 1),
]


@pytest.mark.parametrize("source, words, line, col", HOSTILE, ids=[c[0][:40] for c in HOSTILE])
def test_hostile_constructs_are_refused_and_never_run(sandbox, source, words, line, col):
    outcome = error(sandbox, source)
    assert words in outcome.message
    assert (outcome.line, outcome.col) == (line, col), outcome.message


def test_compile_runs_nothing_from_a_hostile_source_either(sandbox):
    sources = [source for source, *_ in HOSTILE]
    outcome = isolated(sandbox, compile_all, sources)
    assert outcome.status == "ok", outcome.describe()
    assert "compiled" not in outcome.value


@pytest.mark.parametrize("source", [
    ("import torch\nimport numpy as np\nimport torch.nn.functional as F\nimport math\n\n"
     "def f(x):\n    return torch.sin(x) + np.cos(x) + F.relu(x) + math.pi"),
    "from torch.nn import functional as F\ndef f(x):\n    return F.relu(x)",
    # annotations are never evaluated
    f"def f(x: {CANARY_IMPORT}) -> open('written.txt', 'w'):\n    y: {CANARY_IMPORT} = x * 2\n    return y",
    # a default that is not needed is never read
    f"def g(a, b={CANARY_IMPORT}):\n    return a * b\ndef f(x):\n    return g(x, 2.0)",
    # the source text lands in the module docstring, escaped
    'def f(x):\n    """doc \\"\\"\\" \\\\"""\n    return x  # """; import ' + CANARY + '; """ \\\n',
    f'(x  # """ + {CANARY_IMPORT} + """\n)',
])
def test_accepted_sources_import_and_write_nothing(sandbox, source):
    outcome = isolated(sandbox, compile_and_run, source, (0.5,))
    assert outcome.status == "ok", outcome.describe()


@pytest.mark.parametrize("filename", [
    f"evil\nimport {CANARY}\n#",
    f'evil"""\nimport {CANARY}\n"""',
    f"evil\rimport {CANARY}",
    f"evil\u2028import {CANARY}\x0c\x85",
])
@pytest.mark.parametrize("source", ["x * 2", "def f(x):\n    return x * 2"])
def test_a_filename_cannot_inject_code_into_the_module(sandbox, filename, source):
    outcome = isolated(sandbox, compile_and_run, source, (0.5,), filename=filename)
    assert outcome.status == "ok", outcome.describe()
    text = derivgen.generate(source, filename=filename)
    assert not any(isinstance(node, (ast.Import, ast.ImportFrom)) and CANARY in ast.dump(node)
                   for node in ast.walk(ast.parse(text)))


# ---- nothing hangs or exhausts memory ---------------------------------------------------

def helpers_doubling(depth: int, body: str) -> str:
    """Helpers where each calls the one before twice: 2**depth calls if inlined naively."""
    lines = ["def g0(x):\n    return sin(x)\n"]
    lines += [f"def g{i}(x):\n    return {body.format(g=f'g{i - 1}')}\n" for i in range(1, depth)]
    lines.append(f"def f(x):\n    return g{depth - 1}(x)\n")
    return "".join(lines)


RESOURCES = [
    # (id, source, options, words of the error, or None if it must compile)
    ("power tower", "x ** 10 ** 10 ** 10", {}, "too large for a float64"),
    ("huge power", "10 ** 100000 * x", {}, "too large for a float64"),
    ("tower of twos", "2 ** 2 ** 2 ** 2 ** 2 ** 2 * x", {}, "too large for a float64"),
    ("e to the 1000", "np.e ** 1000 * x", {}, "too large for a float64"),
    ("100000-digit literal", "x * 1" + "0" * 100000, {}, ("digits", "overflows a float64")),
    ("huge hex literal", "x * 0x" + "f" * 100000, {}, "overflows a float64"),
    ("huge binary literal", "0b" + "1" * 5000 + " * x", {}, "overflows a float64"),
    ("4000-digit literal", "1" + "0" * 4000 + " * x", {}, "overflows a float64"),
    ("1e400", "1e400 * x", {}, "the literal 1e400 overflows a float64"),
    ("constant overflow", "1e308 * 10 * x", {}, "1e308 * 10 is not a finite float64"),
    ("divide by 0", "x / 0", {}, "division by a zero constant"),
    ("divide by 0.0", "x / 0.0", {}, "division by a zero constant"),
    ("divide by -0.0", "x / -0.0", {}, "division by a zero constant"),
    ("divide by 1 - 1", "x / (1 - 1)", {}, "division by a zero constant"),
    ("divide by sin(0)", "x / sin(0)", {}, "division by a zero constant"),
    ("5000 nested parentheses", "(" * 5000 + "x" + ")" * 5000 + " * 2", {}, None),
    ("20000 nested parentheses", "(" * 20000 + "x" + ")" * 20000, {}, None),
    ("300000 nested parentheses", "(" * 300000 + "x" + ")" * 300000, {}, "nested more than 20,000 deep"),
    ("recursion", "def f(x):\n    return f(x) + 1", {}, "recursive call to 'f'"),
    ("mutual recursion", "def f(x):\n    return g(x)\n\ndef g(x):\n    return f(x) * 2\n",
     {"function": "f"}, "recursive call to 'f'"),
    ("deep helper chain", "".join(f"def h{i}(x):\n    return h{i + 1}(x)\n" for i in range(150))
     + "def h150(x):\n    return x\n", {"function": "h0"}, "nested too deeply"),
    ("helpers doubling, same arguments", helpers_doubling(60, "{g}(x) + {g}(x)"), {"function": "f"}, None),
    ("helpers doubling, new arguments", helpers_doubling(40, "{g}(2 * x) + {g}(x + 1)"), {"function": "f"},
     "too large to compile"),
    ("100000-term sum", " + ".join(["x"] * 100000), {}, "too large to compile"),
    ("100000 unary minus", "- " * 100000 + "x", {}, "nested too deeply"),
    ("3000 unary minus", "-" * 3000 + "x", {}, None),
    ("exponent chain", "x" + " ** x" * 100000, {}, "nested too deeply"),
    ("attribute chain", "x" + ".T" * 100000, {}, "nested too deeply"),
    ("call chain", "sin(" * 25000 + "x" + ")" * 25000, {}, "nested more than 20,000 deep"),
    ("100000 axes", "sum(x, axis=(" + ",".join(map(str, range(100000))) + "))", {}, "at most 64 axes"),
    ("huge axis", "sum(x, axis=" + "9" * 4000 + ")", {}, "out of range"),
    ("long identifier", "x * " + "a" * 1_000_000, {}, None),
    ("many statements", "def f(x):\n" + "    x = x * 1.0001\n" * 3000 + "    return x\n", {}, None),
]


@pytest.mark.parametrize("source, options, words", [c[1:] for c in RESOURCES], ids=[c[0] for c in RESOURCES])
def test_resource_bounds_hold(sandbox, source, options, words):
    outcome = isolated(sandbox, generate_checked, source, **options)
    assert outcome.seconds < (QUICK if words else 3 * QUICK), f"took {outcome.seconds:.1f} s"
    if words is None:
        assert outcome.status == "ok", outcome.describe()
    else:
        assert outcome.derivgen_error, outcome.describe()
        assert any(w in outcome.message for w in ((words,) if isinstance(words, str) else words))


def test_doubling_helpers_give_the_right_value(sandbox):
    source = helpers_doubling(30, "{g}(x) + {g}(x)")
    outcome = isolated(sandbox, compile_and_run, source, (0.3,), function="f")
    value, (grad,) = outcome.value
    assert value == pytest.approx(2**29 * math.sin(0.3))
    assert grad == pytest.approx(2**29 * math.cos(0.3))


def test_20000_nested_parentheses_keep_lines_and_columns(sandbox):
    source = "def f(x):\n    y = (" + "(" * 19998 + "x" + ")" * 19998 + ")\n    return y * sinn(x)\n"
    outcome = error(sandbox, source)
    assert "unknown function 'sinn'" in outcome.message
    assert (outcome.line, outcome.col) == (3, 16)


# ---- only DerivgenError escapes -----------------------------------------------------------

ODD = [
    "sum(x, axis=1.5)", "sum(x, keepdims=1)", "sum(x, keepdims=None)", "sum(x, axis=True)", "sum(x, axis=(0, 0))",
    "sum(x, axis=())", "sum(x, dim=x)", "sum(x, axis=[0, -1])", "x.sum(axis=10**100)", "sum(x, axis=2**63)",
    "clamp(x, min=None, max=None)", "clamp(x)", "clamp(x, None)", "clamp(x, min='a')", "clamp(x, x > 0)",
    "clamp(1, 0, 2)", "clamp(x, 1, 0)", "clamp(x, -np.inf, np.inf)", "clamp(x, min=-math.inf)",
    "where(True, x, y)", "where(False, x, y)", "where(1, x, y)", "where(x, x, y)", "where(x > 0, 1, 2)",
    "where(True, 1, 2)", "where(x > 0, x > 0, y)", "where(~True, x, y)", "where(True & (x > 0), x, y)",
    "where((x > 0) == (y > 0), x, y)", "where(1 < 2, x, y)", "where(np.inf > 1, x, y)",
    "sin(1) + 2", "sin(1) + 2 * x", "sum(3.0)", "sum(3.0) * x", "mean(2) + x", "logsumexp(1.0) * x", "1 @ 2",
    "x @ 2", "dot(1, 2) * x", "matmul(x, 1)", "x.T.T", "0 ** x", "(-2) ** x", "0 ** -1 * x",
    "0.0 ** -1 * x", "(-8) ** (1 / 3) * x", "(-8.0) ** 0.5 * x", "0 ** np.inf * x", "np.inf ** x",
    "x ** np.inf", "np.inf - np.inf + x", "np.inf * 0 + x", "x * -np.inf", "x + np.inf", "exp(np.inf) * x",
    "log(0) * x", "sqrt(-1) * x", "arccos(2) * x", "tan(np.pi / 2) * x", "exp(1e300) * x", "sin(1e300) * x",
    "exp2(2000) * x", "sigmoid(1000) * x", "hypot(1e308, 1e308) * x", "ceil(1e308) * ceil(1e308) * x",
    "(x > 0) & 1", "~x", "~(x > 0)", "(x > 0) + 1", "-(x > 0)", "sin(x > 0)", "sum(x > 0)", "(x > 0).T",
    "(x > 0).sum()", "x > 0", "(x > 0) & (y > 0) | True", "1 < 2 < 3", "x < y < 1", "np.e > np.pi",
    "x % 2", "x // 2", "x << 1", "x ^ 2", "x | 2", "x & 2", "not x", "x and y", "x is y", "x in y",
    "x.shape", "x.T()", "x.sum(1.5)", "x.clamp(0, 1, 2)", "x.foo(1)", "sin(x)(y)", "(x)(y)", "np.sin",
    "np.sin(x, y)", "sin()", "sin(x, x=1)", "sin(input=x)", "sigmoid(x, beta=2)", "F.relu(x, inplace=True)",
    "torch.sum(x, dim=0, dtype=torch.float64)", "torch.nn.functional.relu6(x)", "math.inf * x",
    "x * 1e-400", "x ** 1e308", "x ** -1e308", "0.5 ** (10 ** 100) * x", "(-1) ** (10 ** 15) * x",
    "x / (1e-320 * 1e-320)", "x * 0", "x ** 0", "x - x", "x / x", "0 * x + 0 ** x",
    "x\t+ y", "x +\ty", "x\x0c+ y", "\x0cx", "(x +\n y)", "(x +\r\n y)", "(x +\r y)", "x \\\n+ y",
    "\ufeffx + y", "x + \ufeffy", "x\x00", "x + '\x00'", "x\ud800", "\udfff", "x # \ud800",
    "α * sin(β)", "ｘ * 2", "ﬁ * 2", "x\u200b", "x\u2028+ y", "x # \u2028 \x85 \x1c",
    "def f(x):\r\n    return x\r\n", "def f(x):\r    return x\r", "def f(x):\n\treturn x",
    "def f(x):\n  \treturn x\n    ", "def f(x):\n    return x\n  return x",
    "def f(x):\n    '''doc \"\"\" '''\n    return x", "\ufeffdef f(x):\n    return x",
    "def f(x):\n    return", "def f(x):\n    pass", "def f():\n    return 1.0", "def f(x, x):\n    return x",
    "def f(x):\n    return x\n\ndef f(x):\n    return x", "def f(x):\n    return x, x", "def f(x):\n    x += y",
    "def f(x):\n    x //= 2\n    return x", "def f(x):\n    x @= x\n    return x", "def f(x):\n    x &= 1\n    return x",
    "def f(x):\n    a = b = x\n    return a", "def f(x):\n    y: float\n    return x",
    "def f(x):\n    return x\n    x = 1", "def f(x):\n    return g(x)", "def f(x):\n    return np",
    "def f(x):\n    return sin", "def f(np):\n    return np.sin()", "def f(np, x):\n    return np.sin(x)",
    "EPS = x\ndef f(x):\n    return x", "EPS: float = 1e-8\ndef f(x):\n    return x + EPS", "pass\ndef f(x):\n    return x",
    "A, B = 1, 2\ndef f(x):\n    return x", "A += 1\ndef f(x):\n    return x", "x = 1", "x + 1\ndef f(x):\n    return x",
    "# only a comment", "import torch", '"""a docstring"""', "\n\n\n", "\t", "\x0c", "\ufeff", "\\",
    "def", "def f(x):", "(", ")", "x +", "sin(x", "x )", "'", "\"\"\"", "lambda", "return x",
    "sin(x,)", "sin(,)", "f(x=1, x=2)", "sin(x, **{})", "x if", "1 +* 2", "@", "x = = 1", "del",
]


@pytest.mark.parametrize("source", ODD, ids=[repr(s)[:40] for s in ODD])
def test_only_derivgen_errors_escape(sandbox, source):
    outcome = isolated(sandbox, generate_checked, source)
    assert outcome.status == "ok" or outcome.derivgen_error, outcome.describe()
    if outcome.status == "error":
        assert outcome.line is None or outcome.line >= 1
        assert outcome.col is None or outcome.col >= 1


@pytest.mark.parametrize("source, options, words", [
    (b"x * 2", {}, "source must be a string"),
    (None, {}, "source must be a string"),
    (5, {}, "source must be a string"),
    (["x"], {}, "source must be a string"),
    (bytearray(b"x"), {}, "source must be a string"),
    ("def f(x):\n    return x", {"function": 5}, "function must be a str"),
    ("def f(x):\n    return x", {"function": b"f"}, "function must be a str"),
    ("x", {"name": 5}, "name must be a str"),
    ("x", {"name": "a b"}, "name must be a Python identifier"),
    ("x", {"filename": 5}, "filename must be a str"),
    ("x", {"wrt": 5}, "wrt must be input names"),
    ("x", {"wrt": [None]}, "'None' is not an input"),
    ("x", {"wrt": [["x"]]}, "is not an input"),
    ("x", {"wrt": ""}, "wrt is empty"),
    ("x", {"wrt": ","}, "wrt is empty"),
    ("x * y", {"wrt": ["x", "y", "x"]}, "x listed more than once"),
    ("x", {"function": "f"}, "function= applies only to sources with def statements"),
])
def test_bad_arguments_are_usage_errors(sandbox, source, options, words):
    outcome = error(sandbox, source, **options)
    assert "UsageError" in outcome.bases
    assert words in outcome.message


def test_where_of_a_value_computed_before_its_condition(sandbox):
    source = "def f(y, w):\n    x = log(w)\n    return where(y > 1, x, 1.0)\n"
    outcome = isolated(sandbox, compile_and_run, source, (2.0, 3.0))
    assert outcome.status == "ok", outcome.describe()
    value, (grad_y, grad_w) = outcome.value
    assert (value, grad_y, grad_w) == (pytest.approx(math.log(3.0)), 0.0, pytest.approx(1 / 3))


def test_resource_exhaustion_after_parsing_becomes_a_parse_error(monkeypatch):
    def exhausted(*args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(derivgen.compiler, "differentiate", exhausted)
    with pytest.raises(ParseError, match="too large or too deeply nested") as info:
        derivgen.generate("sin(x)")
    assert isinstance(info.value.__cause__, RecursionError)


def test_internal_errors_are_not_disguised(monkeypatch):
    def broken(*args):
        raise KeyError("a bug")

    monkeypatch.setattr(derivgen.compiler, "differentiate", broken)
    with pytest.raises(KeyError):
        derivgen.generate("sin(x)")


# ---- mistakes get the message a user needs ----------------------------------------------

HELPER = "def helper(a, b=2.0):\n    return a * b\n\n"


@pytest.mark.parametrize("source, words, hint, line, col", [
    (HELPER + "def f(x):\n    return helper(x, 1, 2)", "helper() takes 2 positional arguments, got 3",
     "signature: helper(a, b)", 5, 12),
    (HELPER + "def f(x):\n    return helper(x, c=1)", "helper() got an unexpected keyword 'c'",
     "signature: helper(a, b)", 5, 24),
    (HELPER + "def f(x):\n    return helper(b=x)", "helper() is missing its argument 'a'",
     "signature: helper(a, b)", 5, 12),
    (HELPER + "def f(x):\n    return helper(x, a=x)", "helper() got 'a' twice", "signature: helper(a, b)", 5, 24),
    ("x.sum(axis=0, foo=1)", "sum() got an unexpected keyword 'foo'", "signature: sum(x/input/a, axis/dim=None",
     1, 19),
    ("x.clamp(0, 1, 2)", "clamp() takes at most 3 arguments, got 4", "signature: clamp(", 1, 1),
    ("torch.nn.functional.rrelu(x)", "unknown function 'torch.nn.functional.rrelu'",
     "did you mean 'torch.nn.functional.relu'?", 1, 1),
    ("x.sigmod()", "unknown method .sigmod()", "did you mean 'sigmoid'?", 1, 1),
    ("def hlper(a):\n    return a\n\ndef f(x):\n    return x.helper()", "unknown method .helper()",
     "did you mean 'hlper'?", 5, 12),
    ("def f(x):\n    return sin", "name 'sin' is not defined", "'sin' is a function; call it with arguments", 2, 12),
])
def test_argument_mistakes_show_the_signature_or_a_suggestion(sandbox, source, words, hint, line, col):
    outcome = error(sandbox, source, function="f") if "def f" in source else error(sandbox, source)
    assert words in outcome.message
    assert hint in outcome.hint
    assert (outcome.line, outcome.col) == (line, col)


@pytest.mark.parametrize("source, words, line, col", [
    ("def helper(a):\n    b = a * 2\n\ndef f(x):\n    return helper(x)", "function 'helper' has no return", 1, 1),
    ("def helper(a, a):\n    return a\n\ndef f(x):\n    return helper(x, x)",
     "duplicate parameter 'a' in function 'helper'", 1, 15),
    ("def f(x):\n    return x\n\ndef f(y):\n    return y", "function 'f' is defined twice", 4, 1),
    ("def f(x):\n    return\n", "return needs a value", 2, 5),
    ("def f():\n    return 1.0", "has no parameters", 1, 1),
    ("def f(x):\n    return x\n    y = 1", "unreachable code after return", 3, 5),
    ("# only a comment\n", "no function definition", 1, 1),
    ("import torch\nimport numpy as np\n", "no function definition", 1, 1),
    ("\ufeff", "empty source", 1, 1),
    ("\n\t\x0c \n", "empty source", 1, 1),
    ("x + y\x00", "null byte", 1, 6),
    ("def f(x):\n    return x  # caf\ud800", "unpaired surrogate", 2, 20),
    ("x\n+ y", "an expression source must be a single expression", 2, 1),
    ("EPS = x\ndef f(x):\n    return x", "name 'x' is not defined", 1, 7),
    ("def f(x):\n    return " + "v" * 5000, "is not defined", 2, 12),
])
def test_source_mistakes_are_located(sandbox, source, words, line, col):
    outcome = error(sandbox, source)
    assert words in outcome.message
    assert (outcome.line, outcome.col) == (line, col)


def test_long_names_are_shortened_in_messages(sandbox):
    outcome = error(sandbox, "def f(x):\n    return " + "v" * 5000 + "(x)")
    assert "unknown function 'vvvvv" in outcome.message
    assert len(outcome.message) < 200


# ---- awkward but legal programs compile and give the right numbers ----------------------

INTERNAL_NAMES = [
    "np", "numpy", "math", "grad_output", "Gradients", "forward", "backward", "value_and_grad", "INPUTS",
    "WRT", "value", "_t0", "_t1", "_as_arrays", "_unbroadcast", "_sigmoid", "_erf", "_logsumexp",
    "_matmul_grad_a", "_as_matrices", "_SCALAR", "NamedTuple", "typing", "grad_x", "g", "ndarray",
    "frozenset", "int", "tuple", "isinstance", "ArithmeticError", "ValueError", "f", "_a0", "sum_",
    "e", "pi", "inf", "nan", "T", "_",
]
BODY = ("sigmoid({n}) * exp(y) + {n} ** 2 * y + sum({n} * y) + sqrt({n}) + erf({n}) + logsumexp({n})"
        " + maximum({n}, y) + clamp({n}, 0.1, y) + where({n} > y, {n}, y) + softplus({n}) + abs({n})")


def check_gradients(source, inputs, **options):
    """Compile, gradcheck, and call with grad_output passed positionally."""
    module = derivgen.compile(source, **options)
    report = derivgen.gradcheck(module, inputs)
    grad_output = 2.0
    value, grads = module.value_and_grad(*inputs.values(), grad_output)
    alone = module.backward(*inputs.values(), grad_output)
    return (report.ok, str(report), tuple(module.INPUTS), float(value), module.forward(*inputs.values()),
            [float(g) for g in grads], [float(g) for g in alone])


@pytest.mark.parametrize("name", INTERNAL_NAMES)
def test_inputs_named_like_generated_internals(sandbox, name):
    source = f"def f({name}, y):\n    return " + BODY.format(n=name)
    outcome = isolated(sandbox, check_gradients, source, {name: 0.3, "y": 0.4})
    assert outcome.status == "ok", outcome.describe()
    ok, report, inputs, value, forward, grads, alone = outcome.value
    assert ok, report
    assert inputs == (name, "y")
    assert value == forward
    assert grads == alone


@pytest.mark.parametrize("name, body", [
    ("type", "sin({n})"),
    ("max", "relu({n})"),
    ("float", "floor({n})"),
    ("abs", "tanh({n})"),
    ("min", "clamp({n}, 0.1, 0.2)"),
])
def test_inputs_named_like_builtins_the_scalar_path_uses(sandbox, name, body):
    source = f"def f({name}, y):\n    return " + body.format(n=name) + " * y"
    outcome = isolated(sandbox, check_gradients, source, {name: 0.3, "y": 0.4})
    assert outcome.status == "ok", outcome.describe()
    assert outcome.value[0], outcome.value[1]


@pytest.mark.parametrize("source, inputs, value", [
    ("α * sin(β)", {"α": 2.0, "β": 0.5}, 2.0 * math.sin(0.5)),
    ("def f(弧度, 半径):\n    面积 = 弧度 * 半径 ** 2 / 2\n    return 面积", {"弧度": 0.5, "半径": 3.0}, 2.25),
    ("x\t*\ty", {"x": 2.0, "y": 3.0}, 6.0),
    ("\ufeffdef f(x, y):\r\n    z = x * y  # comment\r\n\r\n    return z\r\n", {"x": 2.0, "y": 3.0}, 6.0),
    ("def f(x, y):\r    z = x * y\r    return z\r", {"x": 2.0, "y": 3.0}, 6.0),
    ("def f(x, y):\n\x0c    z = x \\\n        * y\n    return z", {"x": 2.0, "y": 3.0}, 6.0),
    ("EPS: float = 1e-8\npass\nLIMIT = -np.inf\n\ndef f(x, y):\n    return clamp(x, LIMIT, np.inf) * y + EPS",
     {"x": 2.0, "y": 3.0}, 6.0 + 1e-8),
    ("sin(1) + 2 * x + sum(3.0) * y + where(True, x, y)", {"x": 2.0, "y": 3.0}, math.sin(1) + 4.0 + 9.0 + 2.0),
    ("0 ** x + (-2) ** y", {"x": 2.0, "y": 3.0}, -8.0),  # d/dy is nan, as in PyTorch: wrt x only
    ("x ** 0 * y ** 1 + x * 0", {"x": 2.0, "y": 3.0}, 3.0),
    ("clamp(x, min=None, max=None) * y", {"x": 2.0, "y": 3.0}, 6.0),
    ("(1).T * x + where(True, 2, x).T * y + (np.pi).T + (-1).T", {"x": 2.0, "y": 3.0}, 7.0 + math.pi),
])
def test_awkward_programs_give_the_right_value_and_gradients(sandbox, source, inputs, value):
    options = {"wrt": ["x"]} if "(-2) ** y" in source else {}
    outcome = isolated(sandbox, check_gradients, source, inputs, **options)
    assert outcome.status == "ok", outcome.describe()
    ok, report, names, got, *_ = outcome.value
    assert ok, report
    assert names == tuple(inputs)
    assert got == pytest.approx(value, rel=1e-12)


def test_deep_nesting_with_comments_unicode_and_line_breaks(sandbox):
    depth = 600
    source = "def f(x, α):\n    return (" + "".join(
        f"-(α * {k % 3} +  # c{k} é\n      " if k % 50 == 0 else "-(" for k in range(depth)
    ) + "x" + ")" * depth + ")\n"
    value = 0.7
    for k in reversed(range(depth)):
        value = -((0.5 * (k % 3) if k % 50 == 0 else 0.0) + value)
    outcome = isolated(sandbox, check_gradients, source, {"x": 0.7, "α": 0.5})
    assert outcome.status == "ok", outcome.describe()
    ok, report, _, got, *_ = outcome.value
    assert ok, report
    assert got == pytest.approx(value)


def random_expression(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.1:
        return rng.choice(["x", "y", "1", "2.5", "α", "ß"])
    a = random_expression(rng, depth - 1)
    return rng.choice([
        f"({a})", f"sin({a})", f"f({a}, {random_expression(rng, depth - 2)})", f"g(a={a})", f"[{a}, é]",
        f"(\n  {a} # c ü\n  )", f"h({a},)", f"{a} + {random_expression(rng, depth - 2)}", f"k(\n{a}\n, b = {a})",
    ])


@pytest.mark.parametrize("cut", [2, 3, 5])
def test_piecewise_parsing_gives_exactly_the_tree_cpython_gives(monkeypatch, cut):
    """With a tiny CUT, every source is parsed piecewise: nodes, lines and columns must
    match ast.parse, for expressions and for function bodies."""
    monkeypatch.setattr(nesting, "CUT", cut)
    rng = random.Random(cut)
    pieces = 0
    for _ in range(100):
        expression = random_expression(rng, 10)
        for mode, source in (("eval", expression),
                             ("exec", "def f(x):\n    y = " + expression.replace("\n", "\n    ") + "\n    return y\n")):
            expected = ast.dump(ast.parse(source, mode=mode), include_attributes=True)
            tree = nesting.parse_cut(source, "<test>", mode)
            if tree is None:  # nothing deep or long enough to cut
                continue
            pieces += 1
            assert ast.dump(tree, include_attributes=True) == expected, source
    assert pieces >= 100


@pytest.mark.parametrize("cut", [2, 3])
def test_piecewise_parsing_reports_syntax_errors_where_they_stand(monkeypatch, cut):
    monkeypatch.setattr(nesting, "CUT", cut)
    rng = random.Random(10 + cut)
    located = 0
    for _ in range(100):
        source = random_expression(rng, 8)
        position = rng.randrange(len(source) + 1)
        source = source[:position] + rng.choice([" +* ", " 1x ", ")", "é:"]) + source[position:]
        try:
            ast.parse(source, mode="eval")
            continue
        except SyntaxError as exc:
            expected = (exc.lineno, exc.offset)
        with pytest.raises(SyntaxError) as info:
            if nesting.parse_cut(source, "<test>", "eval") is None:
                raise SyntaxError("not cut", ("<test>",) + expected + ("",))
        # the error may be found in another piece first, but never outside the source
        lines = source.split("\n")
        assert 1 <= info.value.lineno <= len(lines)
        assert 1 <= info.value.offset <= len(lines[info.value.lineno - 1]) + 2
        located += (info.value.lineno, info.value.offset) == expected
    assert located >= 50
