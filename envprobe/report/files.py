"""Put renderings on disk: a report section with its matrix pictures, a constraints file.

A report's pictures go into one folder beside it (`REPORT.md` ->
`report-figures/`), linked relatively, so they travel with the report and
never litter the folder it sits in. Every write goes to a temporary file
beside the target and is renamed over it, so an interrupted run never leaves
a half-written REPORT.md behind.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from envprobe import atomic
from envprobe.errors import UsageError
from envprobe.report.constraints import render_constraints
from envprobe.report.markdown import render_markdown
from envprobe.report.matrix import Matrix, build_matrices, matrix_svg
from envprobe.report.sections import replace_section

if TYPE_CHECKING:
    from envprobe.model.result import SolveResult

__all__ = [
    "check_writable",
    "figures_folder",
    "matrix_path",
    "write_constraints",
    "write_report",
]


def _write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one rename, keeping its permissions."""
    # Encoded as is, so a CRLF document keeps its CRLF line endings.
    atomic.write_atomically(path, text.encode("utf-8"), keep_mode=True)


def figures_folder(report: Path) -> Path:
    """The one folder beside `report` that holds its pictures: `<stem>-figures/`."""
    return report.with_name(f"{report.stem.lower()}-figures")


def matrix_path(report: Path, scenario: str, matrix: Matrix) -> Path:
    """`<figures folder>/<scenario>-<package>-<symbol>.svg`, named safely."""
    name = f"{scenario}-{matrix.package}-{matrix.symbol}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    return figures_folder(report) / f"{slug}.svg"


def check_writable(path: Path) -> None:
    """Refuse, in one line and before any work, an output that cannot be written as a file."""
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UsageError(f"cannot write {path}: {blocking} is a file, not a folder")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file")
    if path.suffix == ".md" and path.exists():
        _existing_report(path)


def _existing_report(report: Path) -> str:
    """The report to update in place; one that is not UTF-8 text is not envprobe's to rewrite."""
    try:
        with open(report, encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise UsageError(f"{report} is not UTF-8 text; envprobe updates its own section of a "
                         "report in place and will not rewrite this one: pass another "
                         "--report") from None


def write_report(result: SolveResult, report: Path) -> list[Path]:
    """Update the scenario's section of `report` and its SVG matrices; return the paths written."""
    check_writable(report)
    document = _existing_report(report) if report.exists() else ""
    written = []
    for matrix in build_matrices(result):
        picture = matrix_path(report, result.scenario, matrix)
        _write_atomically(picture, matrix_svg(matrix))
        written.append(picture)
    links = [p.relative_to(report.parent).as_posix() for p in written]
    body = render_markdown(result, matrix_images=links)
    _write_atomically(report, replace_section(document, result.scenario, body))
    return [report, *written]


def write_constraints(result: SolveResult, path: Path, scenario_file: Path) -> Path:
    """Write the constraints file; its header names it and the scenario as seen from its folder."""
    check_writable(path)
    _write_atomically(path, render_constraints(
        result, file_name=path.name,
        scenario_file=os.path.relpath(scenario_file.absolute(), path.absolute().parent)))
    return path
