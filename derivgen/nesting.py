"""Parsing sources nested deeper than CPython's parser allows.

CPython refuses more than 200 nested brackets ("too many nested parentheses"),
yet a generated or machine-written formula can nest calls 400 deep. When that
happens, the source is cut with the pure-Python tokenizer: every bracketed
argument at depth CUT is parsed on its own (recursively, so any depth works),
replaced in the outer text by a placeholder name of the same length, and its
syntax tree is grafted back in place of the placeholder. Line and column
numbers of every node are those of the original source. Nothing is executed.
"""

from __future__ import annotations

import ast
import io
import itertools
import tokenize

CUT = 100  # bracket depth at which arguments are parsed separately
TOO_DEEP = "too many nested parentheses"


def parse_deep(source: str, filename: str, mode: str) -> ast.AST:
    """``ast.parse`` that also accepts bracket nesting deeper than CPython's limit."""
    try:
        return ast.parse(source, filename, mode=mode)
    except SyntaxError as exc:
        if TOO_DEEP not in str(exc.msg):
            raise
        original = exc
    pieces = _cut(source)
    if not pieces:
        raise original
    outer, grafts = pieces
    tree = ast.parse(outer, filename, mode=mode)
    lines = source.splitlines(keepends=True)
    subtrees = {}
    for name, (row, col, text) in grafts.items():
        try:
            sub = parse_deep("(" + text + ")", filename, "eval").body
        except SyntaxError as exc:  # report it where the text stands in the source
            if exc.lineno == 1 and exc.offset:
                exc.offset += col - 1
            exc.lineno = (exc.lineno or 1) + row - 1
            raise
        byte_col = len(lines[row - 1][:col].encode("utf-8"))
        _shift(sub, row, byte_col - 1)
        subtrees[name] = sub
    return _Graft(subtrees).visit(tree)


def _cut(source: str):
    """The source with each argument at depth CUT replaced by a placeholder name."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    prefix = "_" * 2 + "nested"
    while prefix in source:
        prefix += "_"
    counter = itertools.count()
    lines = source.splitlines(keepends=True)
    starts = list(itertools.accumulate((len(line) for line in lines), initial=0))

    def offset(pos):
        return starts[pos[0] - 1] + pos[1]

    edits, grafts = [], {}
    depth = 0
    item_start = None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
            if depth == CUT:
                item_start = i + 1
            continue
        if tok.type == tokenize.OP and tok.string in ")]}" or (tok.string == "," and depth == CUT):
            if depth == CUT and item_start is not None and item_start < i:
                first = item_start
                # keyword=value: keep the keyword, graft the value
                if (tokens[first].type == tokenize.NAME and first + 1 < i
                        and tokens[first + 1].string == "="):
                    first += 2
                if first < i:
                    start, end = tokens[first].start, tokens[i - 1].end
                    text = source[offset(start):offset(end)]
                    name = f"{prefix}{next(counter)}"
                    grafts[name] = (start[0], start[1], text)
                    edits.append((offset(start), offset(end), _same_shape(name, text)))
            if tok.string == ",":
                item_start = i + 1
            else:
                depth -= 1
                if depth < CUT:
                    item_start = None
    if not edits:
        return None
    out, last = [], 0
    for begin, end, replacement in edits:
        out.append(source[last:begin])
        out.append(replacement)
        last = end
    out.append(source[last:])
    return "".join(out), grafts


def _same_shape(name: str, text: str) -> str:
    """``name`` padded to cover ``text`` line for line, so later columns do not move."""
    text_lines = text.split("\n")
    first = name.ljust(len(text_lines[0]))
    return "\n".join([first] + [" " * len(line) for line in text_lines[1:]])


def _shift(tree: ast.AST, row: int, col: int) -> None:
    """Move a subtree parsed from "(" + text + ")" to where text starts in the source."""
    for node in ast.walk(tree):
        if "lineno" not in node._attributes:
            continue
        for line_attr, col_attr in (("lineno", "col_offset"), ("end_lineno", "end_col_offset")):
            line = getattr(node, line_attr, None)
            if line is None:
                continue
            if line == 1:
                setattr(node, col_attr, getattr(node, col_attr) + col)
            setattr(node, line_attr, line + row - 1)


class _Graft(ast.NodeTransformer):
    def __init__(self, subtrees: dict):
        self.subtrees = subtrees

    def visit_Name(self, node):
        sub = self.subtrees.get(node.id)
        return sub if sub is not None else node
