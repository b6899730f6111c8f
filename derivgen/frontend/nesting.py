"""Parsing sources nested deeper than CPython's parser allows.

CPython refuses more than 200 nested brackets ("too many nested parentheses"),
yet a generated or machine-written formula can nest calls 400 deep. When that
happens, the source is tokenized once with the pure-Python tokenizer and cut into
pieces: every bracketed argument at depth CUT, 2*CUT, 3*CUT, ... becomes a piece
of its own, replaced in its enclosing text by a placeholder name covering the same
lines and UTF-8 bytes, so every line and column around it stays where it was.
Each piece is parsed once, and its syntax tree grafted in place of its placeholder.
Line and column numbers of every node (and of syntax errors) are those of the
original source, exactly as ``ast.parse`` would give them.

The work is linear in the number of tokens plus the length of the pieces' texts,
which is at most the source length times depth / CUT; nesting deeper than MAX_DEPTH
is refused with a SyntaxError. Nothing is executed.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

CUT = 100  # bracket depth at which arguments are parsed separately
MAX_DEPTH = 20_000  # deeper nesting is refused: the work grows with depth / CUT times the length
TOO_DEEP = "too many nested parentheses"
_SKIP = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)


class _Piece:
    """One cut-out argument: its span in the source and the pieces cut out of it."""

    __slots__ = ("children", "col", "end", "end_col", "end_row", "name", "row", "start")

    def __init__(self, name: str, start: int, end: int, first: tuple, last: tuple):
        self.name = name
        self.start, self.end = start, end  # character offsets into the source
        self.row, self.col = first  # 1-based line, 0-based character column
        self.end_row, self.end_col = last
        self.children: list[_Piece] = []


def parse_deep(source: str, filename: str, mode: str) -> ast.AST:
    """``ast.parse`` that also accepts bracket nesting deeper than CPython's limit."""
    try:
        return ast.parse(source, filename, mode=mode)
    except SyntaxError as exc:
        if TOO_DEEP not in str(exc.msg):
            raise
        original = exc
    tree = parse_cut(source, filename, mode)
    if tree is None:
        raise original
    return tree


def parse_cut(source: str, filename: str, mode: str) -> ast.AST | None:
    """The tree of ``source`` parsed piecewise (None when nothing is nested deeply enough to cut)."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")  # lines as CPython counts them
    top = _cut(source, filename)
    if not top:
        return None
    lines = source.split("\n")

    def byte_col(row: int, col: int) -> int:
        return len(lines[row - 1][:col].encode("utf-8"))

    tree = _parse(_text(source, 0, len(source), top), filename, mode, lines, 1, 0)
    sites = _placeholders(tree)
    subtrees: dict[str, ast.AST] = {}
    order: list[_Piece] = []
    stack = list(reversed(top))
    while stack:  # each piece is parsed once, from a text in which its own pieces are cut out
        piece = stack.pop()
        start = byte_col(piece.row, piece.col) - 1  # where "(" + text + ")" would begin
        text = "(" + _text(source, piece.start, piece.end, piece.children) + ")"
        sub = _parse(text, filename, "eval", lines, piece.row, start).body
        _shift(sub, piece.row, start)
        sites.extend(_placeholders(sub))
        subtrees[piece.name] = sub
        order.append(piece)
        stack.extend(reversed(piece.children))
    resolved: dict[str, tuple] = {}
    for piece in reversed(order):  # inner pieces first: a piece that is only a placeholder resolves
        sub = subtrees[piece.name]
        if isinstance(sub, ast.Name) and sub.id in resolved:
            sub = resolved[sub.id][0]
        resolved[piece.name] = (sub, (piece.end_row, byte_col(piece.end_row, piece.end_col)))
    ends: dict[int, tuple] = {}  # id(parent) -> where the pieces grafted into it end
    for parent, field, index, name in sites:  # graft, without walking grafted trees again
        if name not in resolved:
            continue
        sub, end = resolved[name]
        if index is None:
            setattr(parent, field, sub)
        else:
            getattr(parent, field)[index] = sub
        ends[id(parent)] = max(end, ends.get(id(parent), end))
    _fix_ends(tree, ends)
    return tree


def _parse(text: str, filename: str, mode: str, lines: list[str], row: int, start: int) -> ast.AST:
    """ast.parse of a text whose first line begins at byte ``start`` of source line ``row``;
    a syntax error is reported where it stands in the source."""
    try:
        return ast.parse(text, filename, mode=mode)
    except SyntaxError as exc:
        text_lines = text.split("\n")
        for line_attr, offset_attr in (("lineno", "offset"), ("end_lineno", "end_offset")):
            line, offset = getattr(exc, line_attr, None), getattr(exc, offset_attr, None)
            if not line or not offset or line > len(text_lines):
                continue
            position = len(text_lines[line - 1][:offset - 1].encode("utf-8")) + (start if line == 1 else 0)
            source_row = line + row - 1
            source_line = lines[source_row - 1] if source_row <= len(lines) else ""
            column = len(source_line.encode("utf-8")[:max(position, 0)].decode("utf-8", "ignore")) + 1
            setattr(exc, line_attr, source_row)
            setattr(exc, offset_attr, column)
            if line_attr == "lineno":
                exc.text = source_line
        exc.msg = re.sub(r"\(detected at line (\d+)\)",
                         lambda m: f"(detected at line {int(m.group(1)) + row - 1})", str(exc.msg))
        raise


class NestedTooDeep(SyntaxError):
    """Brackets nested deeper than MAX_DEPTH."""


def _cut(source: str, filename: str = "<unknown>") -> list[_Piece] | None:
    """The pieces at depth CUT, each holding the pieces cut out of it (None if none)."""
    cutter = _Cutter(source, filename)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            cutter.feed(tok)  # token by token, so too deep a nesting stops the reading early
    except NestedTooDeep:
        raise
    except (tokenize.TokenError, SyntaxError):  # CPython's own error is reported instead
        return None
    return cutter.top or None


class _Cutter:
    """Reads tokens, tracks bracket depth, and cuts out each item that ends at a cut depth."""

    def __init__(self, source: str, filename: str):
        self.source, self.filename = source, filename
        self.prefix = "_" * 2 + "nested"
        while self.prefix in source:
            self.prefix += "_"
        self.starts = [0]  # offset of each line
        for line in source.split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.tokens: list[tokenize.TokenInfo] = []
        self.top: list[_Piece] = []
        self.open_pieces: list[list[_Piece]] = [self.top]  # children lists, one per cut item being read
        self.item_starts: list[int | None] = []  # per open bracket: first token of its current item, if cut
        self.count = 0

    def offset(self, pos) -> int:
        return self.starts[pos[0] - 1] + pos[1]

    def feed(self, tok: tokenize.TokenInfo) -> None:
        self.tokens.append(tok)
        if tok.type != tokenize.OP:
            return
        item_starts = self.item_starts
        if tok.string in "([{":
            if len(item_starts) == MAX_DEPTH:
                row, col = tok.start
                raise NestedTooDeep(f"brackets are nested more than {MAX_DEPTH:,} deep",
                                    (self.filename, row, col + 1, tok.line))
            cut = (len(item_starts) + 1) % CUT == 0
            item_starts.append(len(self.tokens) if cut else None)
            if cut:
                self.open_pieces.append([])
            return
        closing = tok.string in ")]}"
        if not closing and tok.string != ",":
            return
        if not item_starts or item_starts[-1] is None:
            if closing and item_starts:
                item_starts.pop()
            return
        self._cut_item(item_starts[-1], len(self.tokens) - 2)
        if closing:
            item_starts.pop()
        else:
            item_starts[-1] = len(self.tokens)
            self.open_pieces.append([])

    def _cut_item(self, first: int, last: int) -> None:
        """Cut tokens[first:last + 1], an item at a cut depth, out of its enclosing text."""
        tokens = self.tokens
        children = self.open_pieces.pop()
        while first <= last and tokens[first].type in _SKIP:
            first += 1
        while last >= first and tokens[last].type in _SKIP:
            last -= 1
        # keyword=value: keep the keyword, cut out the value
        if first + 1 < last and tokens[first].type == tokenize.NAME and tokens[first + 1].string == "=":
            first += 2
        name = f"{self.prefix}{self.count}"
        if first <= last:
            start, end = tokens[first].start, tokens[last].end
            text = self.source[self.offset(start):self.offset(end)]
            if "\n" in text or len(text.encode("utf-8")) >= len(name):
                piece = _Piece(name, self.offset(start), self.offset(end), start, end)
                self.count += 1
                piece.children = children
                self.open_pieces[-1].append(piece)
                return
        # empty, or too short to hold its placeholder (so barely nested): left in place
        self.open_pieces[-1].extend(children)


def _text(source: str, start: int, end: int, pieces: list[_Piece]) -> str:
    """source[start:end] with each piece replaced by its placeholder, spanning as much."""
    out, last = [], start
    for piece in sorted(pieces, key=lambda p: p.start):
        out.append(source[last:piece.start])
        out.append(_same_shape(piece.name, source[piece.start:piece.end]))
        last = piece.end
    out.append(source[last:end])
    return "".join(out)


def _same_shape(name: str, text: str) -> str:
    """``name`` padded to cover ``text`` line for line and byte for byte (ast columns
    count UTF-8 bytes), so later lines and columns do not move."""
    text_lines = [len(line.encode("utf-8")) for line in text.split("\n")]
    return "\n".join([name.ljust(text_lines[0])] + [" " * n for n in text_lines[1:]])


def _shift(tree: ast.AST, row: int, col: int) -> None:
    """Move a tree parsed from "(" + text + ")" to where that text would start in the source."""
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


def _placeholders(tree: ast.AST) -> list[tuple]:
    """Where names that may be placeholders stand: (parent, field, index or None, name)."""
    sites = []
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.Name):
                sites.append((node, field, None, value.id))
            elif isinstance(value, list):
                sites.extend((node, field, i, item.id) for i, item in enumerate(value)
                             if isinstance(item, ast.Name))
    return sites


def _fix_ends(tree: ast.AST, ends: dict) -> None:
    """End each node no earlier than its children and the pieces grafted into it: a
    placeholder name ends early, the piece (with any parentheses around it) further on."""
    order, stack = [], [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    moved: set[int] = set()
    for node in reversed(order):  # children before their parents
        if getattr(node, "end_lineno", None) is None:
            continue
        end = (node.end_lineno, node.end_col_offset)
        ends_here = [ends[id(node)]] if id(node) in ends else []
        ends_here += [(c.end_lineno, c.end_col_offset) for c in ast.iter_child_nodes(node) if id(c) in moved]
        if ends_here and max(ends_here) > end:
            node.end_lineno, node.end_col_offset = max(ends_here)
            moved.add(id(node))
