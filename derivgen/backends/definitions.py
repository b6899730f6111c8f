"""The run-time helpers as definitions read from the backends' runtime files, and their
copies into a generated module.

Every top-level function or class of a runtime file is one helper; its name is ``_`` and
its key (``_sigmoid``: key ``sigmoid``, ``_Blocks``: key ``Blocks``). What a helper needs
(other helpers, the ``math`` module) is read from its code, so it cannot drift from it. A
copy renames the helpers' names, ``np`` and ``math`` to a module's spellings, token by
token: strings, comments and docstrings are copied as written.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

# Packages holding a runtime.py, in the order their helpers are copied into a module.
RUNTIMES = ("derivgen.backends.numpy", "derivgen.backends.scalar")
MODULES = ("np", "math")  # modules the helpers read under these names
_SCOPE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_TRIVIA = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)


@dataclass(frozen=True)
class Definition:
    """One helper: its source text as the runtime file has it, and what it reads."""

    key: str  # the helper's key in naming.INTERNAL: the name without its leading "_"
    name: str  # the name it has in the runtime file, its preferred name in a module
    text: str  # its lines, with the decorators and comment lines that belong to it
    needs: tuple[str, ...]  # keys of the helpers it calls, and "math" if it reads math; sorted
    renameable: frozenset = field(default=frozenset(), repr=False)  # the names a copy may rename

    @cached_property
    def spots(self) -> tuple[tuple[int, int, int], ...]:
        """(line, first column, end column) of each name a copy renames; found on the first
        copy that renames (most modules rename nothing), not when derivgen is imported."""
        return _spots(self.text, self.renameable)


@lru_cache(maxsize=1)
def definitions() -> tuple[Definition, ...]:
    """Every helper of every runtime file, in copying order."""
    files = []  # (lines, helper nodes) of each runtime file
    for package in RUNTIMES:
        text = _source(package)
        tree = ast.parse(text, filename=f"{package}/runtime.py")
        files.append((io.StringIO(text).readlines(), _helper_nodes(tree, package)))
    keys = {node.name: node.name[1:] for _, nodes in files for node in nodes}
    if len(keys) != sum(len(nodes) for _, nodes in files):
        raise ValueError("two runtime files define a helper of the same name")
    renameable = frozenset(keys) | frozenset(MODULES)
    found = []
    for lines, nodes in files:
        for node in nodes:
            _check_renameable(node, renameable)
            first, end = _span(lines, node)
            text = "".join(lines[first:end])
            found.append(Definition(keys[node.name], node.name, text, _needs(node, keys), renameable))
    return tuple(found)


def _source(package: str) -> str:
    """A runtime file's text, from a source checkout or an installed wheel alike."""
    return resources.files(package).joinpath("runtime.py").read_text(encoding="utf-8")


def _helper_nodes(tree: ast.Module, package: str) -> list:
    """The top-level definitions of a runtime file; each must be named ``_`` + its key."""
    nodes = [node for node in tree.body if isinstance(node, _SCOPE)]
    for node in nodes:
        if not node.name.startswith("_") or node.name.startswith("__"):
            raise ValueError(f"{package}.runtime.{node.name}: a helper's name is _ and its key")
    return nodes


def _span(lines: list[str], node) -> tuple[int, int]:
    """The lines (first, one past the last) of a definition: its decorators, the comment
    lines directly above it, and indented comment lines directly after its last statement."""
    first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    end = node.end_lineno
    while end < len(lines) and lines[end][:1] in (" ", "\t") and lines[end].lstrip().startswith("#"):
        end += 1
    return first, end


def _needs(node, keys: dict[str, str]) -> tuple[str, ...]:
    """The helpers a definition calls (by key) and "math" if it reads that module: every name
    it reads, decorators and default values included."""
    read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    return tuple(sorted({keys[name] for name in read & keys.keys() if name != node.name}
                        | ({"math"} & read)))


def _check_renameable(node, renameable: frozenset) -> None:
    """A copy renames every use of a helper's or module's name, so none may be bound inside
    a helper (a parameter, a keyword argument, an assignment, an import) or appear inside an
    f-string (tokenized as one string before Python 3.12, where no rename would reach it)."""
    for inner in ast.walk(node):
        clash = [name for name in _bound(inner) if name in renameable and inner is not node]
        if clash:
            raise ValueError(f"helper {node.name}: {clash[0]} cannot be renamed in a copy")


def _bound(node) -> tuple:
    """The names a syntax node binds in its scope, or reads inside an f-string."""
    if isinstance(node, (ast.arg, ast.keyword)):
        return (node.arg,)  # None for a **mapping argument
    if isinstance(node, ast.Name):
        return () if isinstance(node.ctx, ast.Load) else (node.id,)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return tuple((alias.asname or alias.name).split(".")[0] for alias in node.names)
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return tuple(node.names)
    if isinstance(node, ast.ExceptHandler):
        return (node.name,) if node.name else ()
    if isinstance(node, ast.JoinedStr):
        return tuple(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    if isinstance(node, _SCOPE):
        return (node.name,)
    return ()


def _spots(text: str, renameable: frozenset) -> tuple[tuple[int, int, int], ...]:
    """Where a copy renames: NAME tokens of a helper's or module's name, not attributes."""
    spots, previous = [], ""
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.NAME and token.string in renameable and previous != ".":
            spots.append((token.start[0] - 1, token.start[1], token.end[1]))
        if token.type not in _TRIVIA:
            previous = token.string
    return tuple(spots)


def renamed(definition: Definition, names: dict[str, str]) -> str:
    """A definition's text with each name at its spots spelled as ``names`` says (a name
    not in ``names`` is kept)."""
    lines = io.StringIO(definition.text).readlines()
    for line, start, end in reversed(definition.spots):  # right to left: columns stay valid
        text = lines[line]
        lines[line] = text[:start] + names.get(text[start:end], text[start:end]) + text[end:]
    return "".join(lines)


def copied(keys, aliases: dict[str, str]) -> str:
    """The definitions of the helpers among ``keys``, in the runtime files' order, each after
    two blank lines, with helpers and modules named by ``aliases`` (key -> a module's name
    for it, as naming.module_aliases gives)."""
    names = {module: aliases[module] for module in MODULES}
    names.update((d.name, aliases[d.key]) for d in definitions())
    same = all(name == alias for name, alias in names.items())
    return "".join("\n\n" + (d.text if same else renamed(d, names)) for d in definitions() if d.key in keys)
