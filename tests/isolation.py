"""Run a call in a forked child with a time limit, so a hang fails a test instead of CI.

The hostile-input and fuzz tests call ``derivgen.generate``/``compile`` through
:func:`run_isolated`: the child runs with its working directory set to a watched
temporary directory, reports how the call ended (its value, or the exception's class,
bases, message and location) through a pipe, and is killed when it overruns.
"""

from __future__ import annotations

import builtins
import multiprocessing
import os
import sys
import time
import traceback
from dataclasses import dataclass, field

import pytest

import derivgen

try:
    _FORK = multiprocessing.get_context("fork")
except ValueError:  # pragma: no cover - platforms without fork (Windows)
    _FORK = None

needs_fork = pytest.mark.skipif(_FORK is None, reason="needs the fork start method")

CANARY = "derivgen_canary"  # a module that leaves a file behind if anything imports it
CANARY_MARK = "CANARY_IMPORTED"


@dataclass
class Outcome:
    """How a call in the child ended."""

    status: str  # "ok", "error", "timeout" or "crash"
    seconds: float
    value: object = None
    error: str = ""  # exception class name
    bases: tuple = ()  # names of the exception's classes, most derived first
    message: str = ""
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    trace: str = ""
    imported: tuple = ()  # watched modules the child ended up importing
    files: tuple = field(default=())  # files that appeared in the watched directory

    @property
    def derivgen_error(self) -> bool:
        return self.status == "error" and "DerivgenError" in self.bases

    def describe(self) -> str:
        if self.status == "error":
            return f"{self.error}: {self.message}\n{self.trace}"
        return f"{self.status} after {self.seconds:.2f}s"


def generate_checked(source, **options) -> int:
    """generate(), then compile the text to bytecode (never run it): it must be valid Python."""
    text = derivgen.generate(source, **options)
    builtins.compile(text, "<generated>", "exec", dont_inherit=True)
    return len(text)


def install_canary(directory) -> None:
    """Put a module in ``directory`` that writes CANARY_MARK when it is imported."""
    with open(os.path.join(directory, CANARY + ".py"), "w") as f:
        f.write(f"open({CANARY_MARK!r}, 'w').close()\n")


def _child(conn, func, args, kwargs, cwd, watched):
    try:
        if cwd is not None:
            os.chdir(cwd)
            sys.path.insert(0, cwd)
        start = time.perf_counter()
        try:
            value = func(*args, **kwargs)
            result = {"status": "ok", "value": value}
        except BaseException as exc:  # noqa: BLE001 - every escape is reported to the parent
            result = {
                "status": "error",
                "error": type(exc).__name__,
                "bases": tuple(c.__name__ for c in type(exc).__mro__),
                "message": str(getattr(exc, "message", exc))[:2000],
                "line": getattr(exc, "line", None),
                "col": getattr(exc, "col", None),
                "hint": getattr(exc, "hint", None),
                "trace": traceback.format_exc()[-3000:],
            }
        result["seconds"] = time.perf_counter() - start
        result["imported"] = tuple(m for m in watched if m in sys.modules)
        try:
            conn.send(result)
        except Exception as exc:  # noqa: BLE001 - an unpicklable value
            conn.send({"status": "error", "error": type(exc).__name__, "message": str(exc),
                       "seconds": result["seconds"]})
    finally:
        conn.close()


def run_isolated(func, *args, timeout: float = 10.0, cwd=None, watched=(CANARY,), **kwargs) -> Outcome:
    """``func(*args, **kwargs)`` in a forked child, killed after ``timeout`` seconds.

    ``cwd``: the child's working directory (also put first on its sys.path); files that
    appear in it during the call are reported in ``Outcome.files``. ``watched``: module
    names whose import the child reports.
    """
    before = set(os.listdir(cwd)) if cwd is not None else set()
    receive, send = _FORK.Pipe(duplex=False)
    child = _FORK.Process(target=_child, args=(send, func, args, kwargs, cwd, tuple(watched)), daemon=True)
    start = time.perf_counter()
    child.start()
    send.close()
    try:
        if receive.poll(timeout):
            try:
                result = receive.recv()
            except EOFError:
                result = None
        else:
            result = {"status": "timeout"}
        child.join(5)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
        receive.close()
    if result is None:
        result = {"status": "crash", "message": f"the child died with exit code {child.exitcode}"}
    result.setdefault("seconds", time.perf_counter() - start)
    after = set(os.listdir(cwd)) if cwd is not None else set()
    result["files"] = tuple(sorted(after - before))
    return Outcome(**result)
