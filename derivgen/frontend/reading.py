"""Reading a source: its characters, its Python syntax, and errors that point into it."""

from __future__ import annotations

import ast
import re
import sys
from contextlib import contextmanager

from ..errors import ParseError, UnsupportedError
from ..graph import Program
from .language import CONSTRUCTS, HINTS
from .limits import RECURSION_LIMIT
from .nesting import parse_deep

_NUL = re.compile("\x00")
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize(source: str) -> str:
    """The source with a leading byte order mark dropped and line ends as Python reads them."""
    source = source.removeprefix("\ufeff")
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _syntax_message(msg: str) -> tuple[str, str | None]:
    """A SyntaxError's message as derivgen reports it, with a hint where one helps."""
    digits = re.match(r"Exceeds the limit \((\d+) digits\)", msg)
    if digits:
        return (f"an integer literal with more than {digits.group(1)} digits is too long to read",
                "constants must fit in a float64 (|x| < 1.8e308)")
    if msg.startswith("brackets are nested"):
        return msg, "split deeply nested expressions into several assignments"
    if msg.startswith("too many nested parentheses"):
        return f"invalid syntax: {msg}", "split deeply nested expressions into several assignments"
    if msg == "invalid syntax":
        return msg, None
    return f"invalid syntax: {msg}", None


@contextmanager
def _deep_recursion():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


class Reading:
    """The source as lines, its syntax tree, and errors at a node of it."""

    # ---- errors -------------------------------------------------------------------
    def error(self, node, message: str, hint: str | None = None, cls=ParseError) -> ParseError:
        line = getattr(node, "lineno", 1) or 1
        col = getattr(node, "col_offset", 0) or 0
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        # ast columns count UTF-8 bytes; report characters.
        col = len(text.encode("utf-8")[:col].decode("utf-8", "replace")) + 1
        return cls(message, line, col, text, self.filename, hint)

    def unsupported(self, node, what: str | None = None) -> ParseError:
        """``what`` names the construct with its verb: "for loops are", "strings are"."""
        kind = type(node).__name__
        what = what or CONSTRUCTS.get(kind, f"{kind} nodes are")
        return self.error(node, f"{what} not supported", HINTS.get(kind), UnsupportedError)

    # ---- entry points ---------------------------------------------------------------
    def parse(self, function: str | None) -> Program:
        if not self.source.strip():
            raise ParseError("empty source", 1, 1, "", self.filename,
                             "write an expression such as sin(x**2), or a def with a return")
        self._check_characters()
        with _deep_recursion():
            try:
                tree = self._ast(function)
                if isinstance(tree, ast.Expression):
                    return self._expression(tree)
                return self._module(tree, function)
            except (RecursionError, MemoryError):
                raise self.too_deep() from None

    def too_deep(self) -> ParseError:
        return ParseError("the source is nested too deeply (or is too large) to compile", 1, 1,
                          self.lines[0], self.filename,
                          "split deeply nested expressions into several assignments")

    def _check_characters(self):
        """Characters no Python source may hold, pointed at before parsing."""
        for pattern, what in ((_NUL, "a null byte (\\x00)"), (_SURROGATE, "an unpaired surrogate")):
            found = pattern.search(self.source)
            if found:
                line = self.source.count("\n", 0, found.start()) + 1
                col = found.start() - (self.source.rfind("\n", 0, found.start()) + 1) + 1
                code = f"U+{ord(found.group()):04X}"
                raise ParseError(f"the source contains {what} ({code}), which is not valid in Python source",
                                 line, col, self.lines[line - 1], self.filename)

    def _ast(self, function):
        try:
            return parse_deep(self.source, self.filename, "eval")
        except SyntaxError as expr_error:
            first = expr_error
        except (ValueError, OverflowError) as exc:  # e.g. an integer literal too long to read
            raise ParseError(f"cannot read the source: {exc}", 1, 1, "", self.filename) from None
        try:
            return parse_deep(self.source, self.filename, "exec")
        except SyntaxError as exc:
            # Report the error of the reading the source was most likely meant as.
            err = exc if ("def " in self.source or "\n" in self.source.strip()) else first
            line, col = err.lineno or 1, err.offset or 1
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else (err.text or "")
            message, hint = _syntax_message(str(err.msg))
            raise ParseError(message, line, max(col, 1), text, self.filename, hint) from None
        except (ValueError, OverflowError) as exc:
            raise ParseError(f"cannot read the source: {exc}", 1, 1, "", self.filename) from None
