"""Which files of the row release the probe's own imports run, read from its wheel.

A row release imports names from a column in many places, and most of them
never run in a given probe: NeMo's NLP collection imports names transformers
later removed, but importing the ASR collection never loads it. A map that
bounded windows by every import site in the wheel would cut a window at a
name the probe never touches, and no probe would ever correct it. So the
sites that count are those at module level in the files reached from the
modules the probe code imports (their parent packages' `__init__` too),
following the row's own module-level imports, absolute and relative, that
are not guarded by a `try` catching ImportError (NeMo reaches its NLP
collection from ASR only through such a guard).

What this misses (an `importlib.import_module`, a function called at import)
only widens a window: the edge's probe then fails and teaches, as in `solve`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from envprobe.static.layout import WheelFiles
from envprobe.static.syntax import is_type_checking, parse_source

__all__ = ["probe_imports", "reached_files"]

_CATCHES_IMPORT = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def probe_imports(code: str) -> list[str]:
    """The modules the probe code imports (and, for `from m import n`, `m.n` too)."""
    tree = parse_source(code.encode())
    if tree is None:
        return []
    return [name for node in _module_level(tree) for name in _imported(node, "")]


def reached_files(wheel_path: Path, starts: list[str]) -> frozenset[str] | None:
    """The wheel's Python files the modules `starts` load when imported.

    None when the probe imports none of the wheel's modules (it runs a
    script, say): then nothing can be said, and every site counts.
    """
    with WheelFiles.open(wheel_path) as wheel:
        queue = [m for m in starts if wheel.locate(m) is not None]
        if not queue:
            return None
        seen: set[str] = set()
        files: set[str] = set()
        while queue:
            module = queue.pop()
            for name in _with_parents(module):
                if name in seen:
                    continue
                seen.add(name)
                found = wheel.locate(name)
                if found is None or found[1] is None or not found[1].endswith(".py"):
                    continue
                files.add(found[1])
                tree = parse_source(wheel.read(found[1]))
                if tree is None:
                    continue
                package = name if found[0] == "package" else name.rpartition(".")[0]
                queue += [m for node in _module_level(tree) for m in _imported(node, package)
                          if m not in seen and wheel.locate(m) is not None]
    return frozenset(files)


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _module_level(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements whose failure fails the module's import: not in a function body,
    not under `if TYPE_CHECKING:`, not in a `try` that catches ImportError; class bodies
    and other `if` branches do run."""
    for node in ast.iter_child_nodes(tree):
        yield from _runs(node)


def _runs(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return
    elif isinstance(node, ast.If) and is_type_checking(node.test):
        for part in node.orelse:
            yield from _runs(part)
    elif isinstance(node, ast.Try | ast.TryStar) and any(map(_survives_import, node.handlers)):
        for part in [*node.handlers, *node.orelse, *node.finalbody]:
            yield from _runs(part)  # the guarded body may fail without failing the module
    else:
        yield from _module_level(node)


def _survives_import(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in _CATCHES_IMPORT for t in types)


def _imported(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """Dotted modules one import statement may load; `package` resolves relative ones."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        parts = package.split(".") if package else []
        if node.level - 1 > len(parts):
            return []
        base = ".".join(parts[: len(parts) - (node.level - 1)])
        module = f"{base}.{node.module}" if node.module and base else (node.module or base)
    else:
        module = node.module or ""
    if not module:
        return []
    return [module, *(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")]
