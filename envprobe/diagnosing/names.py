"""Every name of the failing `from m import a, b, c` that the installed `m` lacks.

Python names only the first; the rest would each cost the user another run
and another search. The statement is read from the importer's own file (the
probe code itself, or the installed file, read-only), and each name is asked
of the provider's wheel at the installed release, then searched for its
boundary as the symbol teacher searches for one.
"""

from __future__ import annotations

import ast
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.diagnosing.releases import Releases
from envprobe.model.diagnosis import MissingName
from envprobe.model.outcome import Failure, FailureKind
from envprobe.model.rules import Boundary, BoundaryMethod
from envprobe.solving.boundary import gallop_static
from envprobe.solving.teachers.common import boundary_of

__all__ = ["also_missing", "boundaries_of"]


def also_missing(failure: Failure, code: str, roots: tuple[str, ...],
                 releases: Releases) -> list[MissingName]:
    """The statement's other names that the installed provider lacks too."""
    if failure.kind is not FailureKind.MISSING_SYMBOL or not failure.importer:
        return []
    if not (failure.package and failure.version and failure.module):
        return []
    file, _, line = failure.importer.rpartition(":")
    source = code if file == "<probe>" else _read(file, roots)
    if source is None or not line.isdigit():
        return []
    try:
        version = Version(failure.version)
    except InvalidVersion:
        return []
    found = []
    for name in _names_at(source, int(line)):
        if name == failure.name:
            continue
        if releases.scanner.provides(failure.package, version, failure.module, name) is False:
            found.append(MissingName(name, failure.module, failure.package, failure.version))
    return found


def boundaries_of(missing: list[MissingName], releases: Releases,
                  known: set[tuple[str, str, str]]) -> list[Boundary]:
    """Where each name left (or arrived in) its provider, from the wheels alone."""
    found = []
    for item in missing:
        owner = canonicalize_name(item.package or "")
        if not owner or not item.version or (owner, item.module, item.name) in known:
            continue
        search = gallop_static(
            releases.releases(owner), Version(item.version),
            lambda v, o=owner, n=item.name, m=item.module: releases.scanner.provides(o, v, m, n))
        if search.found:
            found.append(boundary_of(owner, item.name, item.module, search,
                                     BoundaryMethod.STATIC))
    return found


def _read(relative: str, roots: tuple[str, ...]) -> str | None:
    """The importer's source from the first `sys.path` entry that holds it; never written."""
    for root in roots:
        path = Path(root) / relative
        if path.is_file():
            try:
                return path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
    return None


def _names_at(source: str, line: int) -> list[str]:
    """Names the `from ... import` statement spanning `line` takes."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.lineno <= line <= (node.end_lineno or line):
            return [alias.name for alias in node.names if alias.name != "*"]
    return []
