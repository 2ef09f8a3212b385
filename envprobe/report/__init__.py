"""Renderers of a solve result, one per format, behind one `render()`.

The solver's `SolveResult` knows nothing of output; each module here turns it
into one format and returns it (text or rich renderables), and `files` is the
only place that writes to disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envprobe.report.constraints import render_constraints, uv_overrides
from envprobe.report.files import matrix_path, write_constraints, write_report
from envprobe.report.json import render_json
from envprobe.report.markdown import render_markdown
from envprobe.report.matrix import Matrix, build_matrices, matrix_markdown, matrix_svg
from envprobe.report.sections import SectionError, replace_section
from envprobe.report.terminal import render_terminal

if TYPE_CHECKING:
    from envprobe.model.result import SolveResult

__all__ = [
    "FORMATS",
    "Matrix",
    "SectionError",
    "build_matrices",
    "matrix_markdown",
    "matrix_path",
    "matrix_svg",
    "render",
    "render_constraints",
    "render_json",
    "render_markdown",
    "render_terminal",
    "replace_section",
    "uv_overrides",
    "write_constraints",
    "write_report",
]


def _matrix_svg(result: SolveResult) -> str:
    """The first boundary's picture; `write_report` writes one per boundary."""
    matrices = build_matrices(result)
    return matrix_svg(matrices[0]) if matrices else ""


_RENDERERS = {
    "markdown": render_markdown,
    "json": render_json,
    "terminal": render_terminal,
    "constraints": render_constraints,
    "uv": uv_overrides,
    "svg": _matrix_svg,
}
FORMATS = tuple(_RENDERERS)


def render(result: SolveResult, fmt: str, **kw: Any) -> Any:
    """Render `result` as `fmt` (one of FORMATS); keyword arguments go to that renderer.

    Text formats return a string (empty when there is nothing to show, e.g. no
    matrix or no answer); "terminal" returns a rich `Group` to print.
    """
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(FORMATS)}")
    return renderer(result, **kw)
