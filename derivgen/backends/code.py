"""Printed Python code, read back: how tightly it binds, whether it is one parenthesised group.

The printers and the emitter splice printed operands into printed ops; these say where
parentheses are needed, from Python's own parse of the text.
"""

from __future__ import annotations

import ast
import re

from sympy.printing.precedence import PRECEDENCE


def enclosed(text: str) -> bool:
    """Whether ``text`` is one parenthesised group, "(a*b)" (not "(a) + (b)")."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for i, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if depth == 0 and i < len(text) - 1:
            return False
    return True


_TOKENS = re.compile("\0(\\d+)\0")
_TOKEN_ONLY = re.compile("\0\\d+\0")
_BINARY_PRECEDENCE = {
    ast.Add: "Add", ast.Sub: "Add", ast.Mult: "Mul", ast.Div: "Mul", ast.FloorDiv: "Mul", ast.Mod: "Mul",
    ast.MatMult: "Mul", ast.Pow: "Pow", ast.BitAnd: "And", ast.BitOr: "Or", ast.BitXor: "Xor",
}


def printed_precedence(code: str) -> int | None:
    """The precedence of printed code, read off Python's own parse of it: what an operand
    printed this way needs to be parenthesised by. None where the code is exactly operand
    token 0 (``\0``0``\0``): then it has that operand's precedence.

    Tokens ``\0``i``\0`` stand for operands; an operand is substituted unparenthesised
    only where its precedence allows, so it never changes the top of the parse."""
    if _TOKEN_ONLY.fullmatch(code):
        return None
    tree = ast.parse(_TOKENS.sub(lambda m: f"_operand{m.group(1)}", code), mode="eval").body
    if isinstance(tree, ast.BinOp):
        return PRECEDENCE[_BINARY_PRECEDENCE[type(tree.op)]]
    if isinstance(tree, ast.UnaryOp):
        if isinstance(tree.op, ast.Not):  # `not c` binds looser than a comparison
            return PRECEDENCE["And"]
        # -x and ~c bind tighter than * in Python; treated as a sum, as SymPy prints -x.
        return PRECEDENCE["Add"]
    if isinstance(tree, ast.Compare):
        return PRECEDENCE["Relational"]
    if isinstance(tree, ast.BoolOp):
        return PRECEDENCE["And"] if isinstance(tree.op, ast.And) else PRECEDENCE["Or"]
    if isinstance(tree, (ast.IfExp, ast.Lambda)):
        return PRECEDENCE["Lambda"]
    if isinstance(tree, (ast.Call, ast.Attribute, ast.Subscript)):
        return PRECEDENCE["Func"]  # binds like an atom, but computes an array (the sum order counts them)
    return PRECEDENCE["Atom"]  # a name, a number, a tuple
