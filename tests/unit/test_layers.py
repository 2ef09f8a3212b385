"""The layers import only downwards, and no module grows past about 400 lines.

cli → report / mapping → solving → probing / static / sources → model. The foundation
modules (`errors`, `paths`, `atomic`) may be used by any layer. Imports made
only for type checking are ignored: they describe, they do not depend.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "envprobe"
FOUNDATION = {"errors", "paths", "atomic", "__init__", "__version__"}
# What each layer may import from envprobe, besides itself and the foundation.
ALLOWED = {
    "model": set(),
    "sources": {"model"},
    "static": {"model"},
    "probing": {"model"},
    "solving": {"model", "sources", "static", "probing"},
    "mapping": {"model", "sources", "static", "probing", "solving"},
    "diagnosing": {"model", "sources", "static", "probing", "solving"},
    "report": {"model"},
    "cli": {"model", "sources", "static", "probing", "solving", "mapping", "diagnosing", "report"},
    "__main__": {"cli"},
}
MAX_LINES = 420


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _runtime_imports(path: Path) -> set[str]:
    """envprobe layers this module imports when it runs (TYPE_CHECKING blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            for child in ast.walk(node):
                names = []
                if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
                elif isinstance(child, ast.Import):
                    names = [a.name for a in child.names]
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "envprobe" and len(parts) > 1:
                        found.add(parts[1])

    visit(tree.body)
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_layer_the_ones_below_and_the_foundation(path):
    layer = _layer(path)
    upward = _runtime_imports(path) - ALLOWED.get(layer, set()) - FOUNDATION - {layer}
    assert not upward, f"{layer} must not import {sorted(upward)}"


@pytest.mark.parametrize("path", _modules() + sorted((PACKAGE.parent / "manual_export")
                                                     .glob("*.py")),
                         ids=lambda p: p.name)
def test_no_module_grows_past_about_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_the_exporter_never_imports_envprobe():
    for path in (PACKAGE.parent / "manual_export").glob("*.py"):
        assert not any(name == "envprobe" or name.startswith("envprobe.")
                       for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                       if isinstance(node, (ast.Import, ast.ImportFrom))
                       for name in ([node.module or ""] if isinstance(node, ast.ImportFrom)
                                    else [a.name for a in node.names])), path.name


def test_the_names_a_command_line_offers_are_the_ones_that_exist():
    # `model.choices` lists them so that a parser needs no backend or executor imported.
    from envprobe.model.choices import AUTO, EXECUTORS, INSTALLERS
    from envprobe.probing import backends, executors

    assert INSTALLERS == (AUTO, *sorted(b.name for b in backends._BACKENDS))
    assert EXECUTORS == ("local", "ray")
    assert isinstance(executors.executor_for("local", jobs=1), executors.LocalExecutor)
    assert isinstance(executors.executor_for("ray", jobs=1), executors.RayExecutor)
