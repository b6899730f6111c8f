"""The ``derivgen`` command: argument parsing, and each error kind mapped to an exit code.

Exit codes: 0 success; 1 a gradient check failed or generated modules are stale;
2 a usage or input error (printed as ``file:line:col: error: message`` with the
source line and a caret, never a traceback); 3 a bug in derivgen (a traceback
and a request to report it).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from . import __version__, commands
from .build import ModuleError
from .errors import CheckFailed, DerivgenError, ParseError

OK, FAILED, USAGE, INTERNAL = 0, 1, 2, 3

BUG_REPORT = ("derivgen: internal error: this is a bug in derivgen, not in your input. Please report it "
              "with the traceback above and the command that caused it.")

EXAMPLES = {
    None: """examples:
  derivgen generate "sin(x**2)" --wrt x
  derivgen generate examples/bce.py -f loss --wrt w,b -o generated/bce.py
  derivgen show "sin(x**2)"
  derivgen check generated/bce.py
  derivgen build --check""",
    "generate": """examples:
  derivgen generate "sin(x**2)" --wrt x                  # module text on stdout
  derivgen generate examples/bce.py -f loss --wrt w,b -o generated/bce.py
  derivgen generate examples/mlp.py -o generated/        # one module per public function""",
    "show": """examples:
  derivgen show "sin(x**2)"                 # f = sin(x**2) / df/dx = 2*x*cos(x**2)
  derivgen show examples/bce.py -f loss --wrt w,b
  derivgen show "mean(x + b)" --wrt b --shape x=5    # df/db = 1 for a single number b
  derivgen show examples/mlp.py -f loss --latex""",
    "check": """examples:
  derivgen check generated/sin_square.py
  derivgen check generated/sin_square.py --range x=-3,3     # x random in [-3, 3)
  derivgen check generated/mlp.py --shape X=5,3 --shape y=5,2 --shape W1=3,4 --shape b1=4 \\
      --shape W2=4,2 --shape b2=2 --dtype float32""",
    "build": """examples:
  derivgen build            # regenerate what changed in [tool.derivgen] of pyproject.toml
  derivgen build --check    # in CI: exit 1 if a generated module is stale or missing
  derivgen build --diff     # show what would change, write nothing""",
}


def _parser() -> argparse.ArgumentParser:
    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, epilog=EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    parser = argparse.ArgumentParser(
        prog="derivgen", epilog=EXAMPLES[None], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Compile math written in Python into standalone NumPy gradient code.")
    parser.add_argument("--version", action="version", version=f"derivgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def source_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("source", metavar="SOURCE",
                       help="a .py file of functions, or an expression such as 'sin(x**2)'")
        p.add_argument("-f", "--function", help="the function to compile, when the file defines several")
        p.add_argument("--wrt", metavar="A,B", help="inputs to differentiate with respect to (default: all)")

    generate = command("generate", "Write the NumPy module computing SOURCE and its gradients.")
    source_options(generate)
    generate.add_argument("--name", help="the module's name (default: the function's)")
    generate.add_argument("-o", "--output", metavar="OUT",
                          help="the file to write (default: stdout); a directory (DIR/) gets one "
                               "module per public function")
    generate.set_defaults(run=commands.run_generate)

    show = command("show", "Print the formula of SOURCE and of its derivatives.")
    source_options(show)
    show.add_argument("--latex", action="store_true", help="print LaTeX instead of plain text")
    show.add_argument("--shape", action="append", default=[], metavar="NAME=3,4",
                      help="write the formulas for inputs of these shapes (repeatable; the others "
                           "single numbers; default: any shapes); NAME= for a single number")
    show.set_defaults(run=commands.run_show)

    check = command("check", "Compare a generated module's gradients with finite differences.")
    check.add_argument("module", metavar="MODULE.py", help="a module written by derivgen")
    check.add_argument("--shape", action="append", default=[], metavar="NAME=3,4",
                       help="an input's shape (repeatable; default: scalars); NAME= for a scalar")
    check.add_argument("--range", action="append", default=[], metavar="NAME=LO,HI",
                       help="draw an input's random values from [LO, HI) (repeatable; default: inside "
                            "the domain of the ops that read it, else [0.25, 0.75))")
    check.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    check.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                       help="the dtype the module runs in (default: float64)")
    check.set_defaults(run=commands.run_check)

    build = command("build", "Regenerate the modules configured in pyproject.toml [tool.derivgen].")
    build.add_argument("--check", action="store_true",
                       help="write nothing; exit 1 if a module is stale or missing")
    build.add_argument("--diff", action="store_true", help="write nothing; print a diff of what would change")
    build.add_argument("--config", metavar="PATH",
                       help="the pyproject.toml (default: the nearest one upward with [tool.derivgen])")
    build.set_defaults(run=commands.run_build)
    return parser


def format_error(exc: DerivgenError) -> str:
    """How an error is shown: located errors point at the line with a caret."""
    if isinstance(exc, ModuleError):
        return f"{format_error(exc.cause)}\n  {exc.note}"
    if isinstance(exc, ParseError):
        return exc.format(caret=True)
    text = str(exc)
    return text if ": error: " in text.split("\n", 1)[0] else f"derivgen: error: {text}"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    try:
        return args.run(args)
    except CheckFailed as exc:
        print(format_error(exc), file=sys.stderr)
        return FAILED
    except DerivgenError as exc:
        print(format_error(exc), file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("derivgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. derivgen show ... | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED
    except Exception:  # noqa: BLE001 - anything else is a bug in derivgen: say so, with the traceback
        traceback.print_exc()
        print(BUG_REPORT, file=sys.stderr)
        return INTERNAL
