"""The error hierarchy: every mistake in user input surfaces as a DerivgenError."""

from __future__ import annotations


class DerivgenError(Exception):
    """Base class of every error derivgen raises on purpose."""


class ParseError(DerivgenError):
    """The source cannot be compiled; points at the offending line and column.

    ``line`` and ``col`` are 1-based; ``source_line`` is the text of that line
    (empty when unknown) and ``filename`` names the source ("<expression>" for
    inline expressions).
    """

    def __init__(self, message: str, line: int = 1, col: int = 1, source_line: str = "",
                 filename: str = "<source>", hint: str | None = None):
        self.message = message
        self.line = line
        self.col = col
        self.source_line = source_line
        self.filename = filename
        self.hint = hint
        super().__init__(self.format())

    def format(self, caret: bool = False) -> str:
        """``file:line:col: error: message``, optionally with the line and a caret."""
        text = f"{self.filename}:{self.line}:{self.col}: error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        if caret and self.source_line:
            text += "\n    " + self.source_line.rstrip("\n")
            text += "\n    " + " " * (self.col - 1) + "^"
        return text


class UnsupportedError(ParseError):
    """A construct or function that derivgen deliberately does not support."""


class UsageError(DerivgenError):
    """The call itself is wrong: an unknown ``function=`` or ``wrt=`` name, bad options."""


class CheckFailed(DerivgenError):
    """A generated gradient disagrees with finite differences."""


class ConfigError(DerivgenError):
    """``[tool.derivgen]`` in pyproject.toml is invalid: names the file, the table and the key.

    ``line`` and ``col`` (1-based) point at the key when it can be found in the file.
    """

    def __init__(self, message: str, filename: str = "pyproject.toml", line: int | None = None,
                 col: int = 1):
        self.message = message
        self.filename = filename
        self.line = line
        self.col = col
        super().__init__(self.format())

    def format(self) -> str:
        where = f"{self.filename}:{self.line}:{self.col}" if self.line else self.filename
        return f"{where}: error: {self.message}"
