"""Where a wheel's code takes names from another distribution, and in what context.

The boundary finder asks "which releases of P import S from Q?". An import
under `if TYPE_CHECKING:` never runs and one guarded by a `try` that catches
the failure survives it, so each site records the context it runs in.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from envprobe.static.cache import cached_scan
from envprobe.static.layout import open_files
from envprobe.static.source import ScanSource
from envprobe.static.syntax import attribute_chain, is_type_checking, parse_source

__all__ = ["ImportSite", "import_sites"]

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class ImportSite:
    """One place in a wheel that takes names from another distribution's module.

    `kind` is "from" (`from m import a, b`), "import" (`import m`, no names)
    or "attribute" (`m.a` after `import m`). `optional` marks code guarded by
    a `try` that catches the failure; `in_function` code that runs only when
    called; `typing_only` code under `if TYPE_CHECKING:` that never runs.
    """

    file: str
    line: int
    kind: str
    module: str
    names: tuple[str, ...]
    optional: bool = False
    in_function: bool = False
    typing_only: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportSite:
        return cls(**{**data, "names": tuple(data["names"])})


def import_sites(wheel_path: Path | ScanSource, target: str) -> list[ImportSite]:
    """Every absolute import of `target` (or its submodules) in the wheel's Python files.

    Only files whose text mentions `target` are parsed, so even a wheel of
    thousands of files is scanned in seconds. Relative imports are not
    reported: another distribution is always imported by absolute name.
    Files that do not parse on this interpreter are skipped.
    """

    def scan() -> list[ImportSite]:
        needle = target.encode()
        by_file: dict[str, list[ImportSite]] = {}
        with open_files(wheel_path) as wheel:
            for path, source in wheel.read_each(wheel.python_files()):
                if needle not in source:
                    continue
                tree = parse_source(source)
                if tree is not None:
                    by_file[path] = _SiteFinder(path, target, tree).sites
        return [site for path in sorted(by_file) for site in by_file[path]]

    return cached_scan(
        wheel_path, "imports", target, scan,
        encode=lambda sites: {"sites": [asdict(site) for site in sites]},
        decode=lambda data: [ImportSite.from_json(site) for site in data["sites"]],
    )


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"BaseException"}
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in nodes
        if isinstance(node, (ast.Name, ast.Attribute))
    }


class _SiteFinder(ast.NodeVisitor):
    """Walks one file, noting each use of `target` with the context it runs in."""

    def __init__(self, file: str, target: str, tree: ast.Module) -> None:
        self._file = file
        self._target = target
        self._aliases: dict[str, str] = {}
        self._imported: set[str] = set()
        self._in_function = 0
        self._typing_only = 0
        self._caught: list[set[str]] = []
        self.sites: list[ImportSite] = []
        self._learn_aliases(tree)
        self.visit(tree)

    def _is_target(self, module: str) -> bool:
        return module == self._target or module.startswith(self._target + ".")

    def _learn_aliases(self, tree: ast.Module) -> None:
        """Names bound by `import target...` anywhere in the file (shadowing is ignored)."""
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import):
                continue
            for alias in node.names:
                parts = alias.name.split(".")
                self._imported.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
                if alias.asname:
                    self._aliases[alias.asname] = alias.name
                else:
                    self._aliases[parts[0]] = parts[0]

    def _add(self, node: ast.AST, kind: str, module: str, names: tuple[str, ...]) -> None:
        caught = set().union(*self._caught) if self._caught else set()
        guarding = _IMPORT_ERRORS | ({"AttributeError"} if kind == "attribute" else set())
        self.sites.append(ImportSite(
            file=self._file,
            line=node.lineno,
            kind=kind,
            module=module,
            names=names,
            optional=bool(caught & guarding),
            in_function=self._in_function > 0,
            typing_only=self._typing_only > 0,
        ))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if self._is_target(alias.name):
                self._add(node, "import", alias.name, ())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module and self._is_target(node.module):
            self._add(node, "from", node.module, tuple(alias.name for alias in node.names))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain = attribute_chain(node)
        if chain is None or chain[0] not in self._aliases or not isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
            return
        module, rest = self._aliases[chain[0]], chain[1:]
        while len(rest) > 1 and f"{module}.{rest[0]}" in self._imported:
            module, rest = f"{module}.{rest[0]}", rest[1:]
        if self._is_target(module) and f"{module}.{rest[0]}" not in self._imported:
            self._add(node, "attribute", module, (rest[0],))

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        # Decorators and defaults run at definition time; only the body waits for a call.
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)
        self.visit(node.args)
        saved_caught, self._caught = self._caught, []
        self._in_function += 1
        for part in node.body if isinstance(node.body, list) else [node.body]:
            self.visit(part)
        self._in_function -= 1
        self._caught = saved_caught

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_Try(self, node: ast.Try) -> None:
        self._caught.append(set().union(*(_caught_names(h) for h in node.handlers)))
        for statement in node.body:
            self.visit(statement)
        self._caught.pop()
        for part in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(part)

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        typing_only = is_type_checking(node.test)
        self._typing_only += typing_only
        for statement in node.body:
            self.visit(statement)
        self._typing_only -= typing_only
        for statement in node.orelse:
            self.visit(statement)
