"""Whether a function in a wheel takes a keyword, read from its definition.

A release that dropped a keyword still has the function, so the namespace
scan cannot see the change; the `def` line can. Only what the definition
says is trusted: a function defined elsewhere and re-exported, or replaced
by a decorator that changes its signature, is answered None (unknown), and
the boundary search falls back to real installs.
"""

from __future__ import annotations

import ast
from pathlib import Path

from envprobe.static.cache import cached_scan
from envprobe.static.layout import open_files
from envprobe.static.source import ScanSource
from envprobe.static.syntax import parse_source

__all__ = ["accepts_keyword"]

# Decorators that keep the wrapped function's parameters as they are written.
_TRANSPARENT = frozenset({"staticmethod", "classmethod", "property", "wraps", "cache",
                          "lru_cache", "cached_property", "overload", "abstractmethod"})


def accepts_keyword(source: Path | ScanSource, module: str, function: str,
                    keyword: str) -> bool | None:
    """True/False when `module` defines `function` (a qualified name) and says; else None."""

    def scan() -> bool | None:
        with open_files(source) as wheel:
            located = wheel.locate(module)
            if located is None or located[0] not in ("package", "module"):
                return None
            tree = parse_source(wheel.read(located[1]))
        return None if tree is None else _answer(tree, function, keyword)

    return cached_scan(source, "keyword", f"{module}:{function}:{keyword}", scan,
                       encode=lambda found: {"accepts": found}, decode=lambda data: data["accepts"])


def _answer(tree: ast.Module, function: str, keyword: str) -> bool | None:
    """What the definition of `function` in this module's tree says about `keyword`."""
    definition = _find(tree.body, function.split("."))
    if definition is None or not all(_transparent(d) for d in definition.decorator_list):
        return None
    arguments = definition.args
    if arguments.kwarg is not None:
        return True
    named = [*arguments.args, *arguments.kwonlyargs]
    return any(a.arg == keyword for a in named)


def _find(body: list[ast.stmt], path: list[str]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The definition at `path` (`Class.method`, `func`) among module- or class-level statements.

    `Class.__init__` of a class that defines no `__init__` is not found: its
    signature lives in a base class, which may be anywhere.
    """
    head, rest = path[0], path[1:]
    found = None
    for statement in body:  # the last definition wins, as at run time
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and not rest \
                and statement.name == head:
            found = statement
        elif isinstance(statement, ast.ClassDef) and rest and statement.name == head:
            found = _find(statement.body, rest)
    return found


def _transparent(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in _TRANSPARENT
