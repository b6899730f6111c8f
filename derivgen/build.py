"""The build step: regenerate the modules configured in pyproject.toml.

    [tool.derivgen]
    out-dir = "generated"            # relative to the pyproject.toml's directory
    [tool.derivgen.modules.bce]      # module name = table key -> generated/bce.py
    source = "examples/bce.py"       # a .py file of functions ...
    function = "loss"
    wrt = ["w", "b"]
    [tool.derivgen.modules.sin_square]
    expr = "sin(x**2)"               # ... or an inline expression
    wrt = ["x"]

Staleness is decided by content, never by timestamps: every module is
regenerated in memory and compared with the file on disk. Nothing is written
until every module has been generated, and each write is atomic, so a failing
build leaves every module as it was and an unchanged tree is not touched.
"""

from __future__ import annotations

import difflib
import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from . import files
from .compiler import generate
from .errors import ConfigError, DerivgenError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = ("out-dir", "modules")
MODULE_KEYS = ("source", "expr", "function", "wrt")
DEFAULT_OUT_DIR = "generated"


@dataclass(frozen=True)
class ModuleConfig:
    """One ``[tool.derivgen.modules.<name>]`` table."""

    name: str
    output: Path
    source: str | None = None  # as written: relative to the project root
    expr: str | None = None
    function: str | None = None
    wrt: tuple[str, ...] | None = None

    @property
    def table(self) -> str:
        return f"tool.derivgen.modules.{self.name}"


@dataclass(frozen=True)
class Config:
    path: Path  # the pyproject.toml
    modules: tuple[ModuleConfig, ...]

    @property
    def root(self) -> Path:
        return self.path.parent


class ModuleError(DerivgenError):
    """Generating one configured module failed; ``cause`` says why."""

    def __init__(self, module: ModuleConfig, cause: DerivgenError):
        self.module = module
        self.cause = cause
        self.note = f"note: while building module '{module.name}' ([{module.table}])"
        super().__init__(f"{cause}\n  {self.note}")


@dataclass(frozen=True)
class Outcome:
    """A module regenerated in memory: its new text and what is on disk now."""

    module: ModuleConfig
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def status(self) -> str:
        return "missing" if self.old is None else "stale" if self.changed else "up to date"

    def diff(self) -> str:
        """A unified diff from the file on disk to the regenerated text."""
        shown = files.display_path(self.module.output)
        lines = difflib.unified_diff(
            (self.old or "").splitlines(keepends=True), self.new.splitlines(keepends=True),
            fromfile="/dev/null" if self.old is None else f"a/{shown}", tofile=f"b/{shown}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                       for line in lines)


def find_pyproject(start: Path) -> Path:
    """The nearest pyproject.toml with a [tool.derivgen] table, in ``start`` or a parent."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _has_table(candidate):
            return candidate
    raise ConfigError(f"no pyproject.toml with a [tool.derivgen] table in {start} or its parents; "
                      "give one with --config PATH", files.display_path(start))


def _has_table(path: Path) -> bool:
    try:
        return "derivgen" in tomllib.loads(files.read_text(path)).get("tool", {})
    except (DerivgenError, tomllib.TOMLDecodeError):
        return True  # report the broken file rather than silently passing it by


def load(path: Path) -> Config:
    """The configuration in ``path`` (a pyproject.toml), checked key by key."""
    shown = files.display_path(path)
    text = files.read_text(path, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, shown) from None
    table = data.get("tool", {}).get("derivgen")
    if table is None:
        raise ConfigError("no [tool.derivgen] table", shown)
    reader = _Reader(text, shown, path.parent)
    return Config(path, reader.modules(table))


def _syntax_error(exc: Exception, shown: str) -> ConfigError:
    message = str(exc)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if where is None:
        return ConfigError(f"invalid TOML: {message}", shown)
    return ConfigError(f"invalid TOML: {message[:where.start()]}", shown, int(where[1]), int(where[2]))


class _Reader:
    """Checks the [tool.derivgen] table; every error names the table, the key and its line."""

    def __init__(self, text: str, shown: str, root: Path):
        self.lines = text.splitlines()
        self.shown = shown
        self.root = root

    def error(self, table: str, key: str | None, message: str) -> ConfigError:
        line, col = self.locate(table, key)
        subject = f"[{table}]" + (f" {key}" if key else "")
        return ConfigError(f"{subject}: {message}", self.shown, line, col)

    def locate(self, table: str, key: str | None) -> tuple[int | None, int]:
        """The line and column of ``key`` in ``[table]`` (or of the header), when written plainly."""
        parts = r"\s*\.\s*".join(rf"""(?:{re.escape(p)}|"{re.escape(p)}"|'{re.escape(p)}')"""
                                 for p in table.split("."))
        header = re.compile(rf"\s*\[\s*{parts}\s*\]\s*(#.*)?$")
        found = None
        for i, text in enumerate(self.lines):
            if found is None:
                if header.match(text):
                    found = (i + 1, len(text) - len(text.lstrip()) + 1)
                    if key is None:
                        return found
                continue
            if text.lstrip().startswith("["):
                break
            match = re.match(rf"""(\s*)(?:{re.escape(key)}|"{re.escape(key)}")\s*=""", text)
            if match:
                return i + 1, len(match[1]) + 1
        return found or (None, 1)

    def modules(self, table: dict) -> tuple[ModuleConfig, ...]:
        self.known_keys("tool.derivgen", table, TOP_KEYS)
        out_dir = table.get("out-dir", DEFAULT_OUT_DIR)
        if not isinstance(out_dir, str) or not out_dir.strip():
            raise self.error("tool.derivgen", "out-dir", "must be a directory path (a non-empty string)")
        modules = table.get("modules", {})
        if not isinstance(modules, dict):
            raise self.error("tool.derivgen", "modules", "must be a table of modules: "
                             "[tool.derivgen.modules.<name>]")
        return tuple(self.module(name, entry, self.root / out_dir) for name, entry in modules.items())

    def module(self, name: str, entry, out_dir: Path) -> ModuleConfig:
        table = f"tool.derivgen.modules.{name}"
        if not name.isidentifier() or keyword.iskeyword(name):
            raise self.error(table, None, f"invalid module name '{name}': the table key names the "
                             "generated module, so it must be a Python identifier (letters, digits, _)")
        if not isinstance(entry, dict):
            raise self.error(table, None, "must be a table with source or expr")
        self.known_keys(table, entry, MODULE_KEYS)
        for key in ("source", "expr", "function"):
            if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
                raise self.error(table, key, "must be a non-empty string")
        if ("source" in entry) == ("expr" in entry):
            raise self.error(table, None, "give exactly one of source (a .py file) or expr (an expression); "
                             + ("both are set" if "source" in entry else "neither is set"))
        if "expr" in entry and "function" in entry:
            raise self.error(table, "function", "applies only to source files, not to expr")
        if "source" in entry and not (self.root / entry["source"]).is_file():
            raise self.error(table, "source", f"no such file: {entry['source']} "
                             f"(paths are relative to {files.display_path(self.root)})")
        wrt = entry.get("wrt")
        if wrt is not None and (not isinstance(wrt, list) or not wrt
                                or not all(isinstance(w, str) and w.strip() for w in wrt)):
            raise self.error(table, "wrt", 'must be a non-empty list of input names, e.g. wrt = ["w", "b"]')
        return ModuleConfig(name, out_dir / f"{name}.py", entry.get("source"), entry.get("expr"),
                            entry.get("function"), tuple(wrt) if wrt is not None else None)

    def known_keys(self, table: str, entry: dict, allowed: tuple[str, ...]) -> None:
        for key in entry:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.error(table, key, f"unknown key '{key}'{hint}; allowed: {', '.join(allowed)}")


def render(config: Config, module: ModuleConfig) -> str:
    """The text of one configured module."""
    try:
        if module.source is not None:
            source = files.read_text(config.root / module.source, module.source)
        else:
            source = module.expr
        return generate(source, function=module.function, wrt=module.wrt, name=module.name,
                        filename=module.source)
    except DerivgenError as exc:
        raise ModuleError(module, exc) from None


def plan(config: Config) -> list[Outcome]:
    """Every configured module regenerated in memory, next to what is on disk."""
    outcomes = []
    for module in config.modules:
        new = render(config, module)
        old = files.read_existing(module.output, files.display_path(module.output))
        outcomes.append(Outcome(module, old, new))
    return outcomes


def write(outcome: Outcome) -> None:
    """Write the module if its text changed; an up-to-date file is not touched."""
    if outcome.changed:
        files.write_atomic(outcome.module.output, outcome.new, files.display_path(outcome.module.output))
