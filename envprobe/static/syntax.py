"""Python source read as syntax, never run: parsing and the AST shapes both scans need.

Namespace reading (`facts`, `lazy`) and import-site finding (`imports`) ask
the same small questions of a tree: which strings a literal holds, which
names a dotted chain walks through. They are answered here once.
"""

from __future__ import annotations

import ast

__all__ = ["attribute_chain", "is_type_checking", "literal_string", "literal_strings",
           "parse_source"]


def parse_source(source: bytes) -> ast.Module | None:
    """The module's tree; None when the file does not parse on this interpreter."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def attribute_chain(node: ast.Attribute) -> list[str] | None:
    """`a.b.c` -> ["a", "b", "c"]; None when the chain starts at anything but a name."""
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    parts.append(current.id)
    return parts[::-1]


def literal_strings(node: ast.expr | None) -> list[str] | None:
    """The strings of a literal list/tuple/set (or a `+` of them); None if not literal."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = literal_strings(node.left), literal_strings(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and all(
        isinstance(element, ast.Constant) and isinstance(element.value, str)
        for element in node.elts
    ):
        return [element.value for element in node.elts]
    return None


def literal_string(node: ast.expr | None) -> str | None:
    """The value of a string constant; None for anything else."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`): code that never runs."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )
