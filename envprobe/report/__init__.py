"""Renderers of results, one per format; `files` is the only one that writes to disk.

Each module turns a `SolveResult` (or, in `outcome`, one probe's
`ProbeOutcome`) into one format and returns it as text or rich renderables.
Nothing here probes, solves or prints.
"""

from __future__ import annotations

from envprobe.report.constraints import render_constraints, uv_overrides
from envprobe.report.files import write_constraints, write_report
from envprobe.report.json import render_json
from envprobe.report.markdown import render_markdown
from envprobe.report.matrix import build_matrices, matrix_svg
from envprobe.report.outcome import render_outcome
from envprobe.report.sections import SectionError, replace_section
from envprobe.report.terminal import render_terminal

__all__ = [
    "SectionError",
    "build_matrices",
    "matrix_svg",
    "render_constraints",
    "render_json",
    "render_markdown",
    "render_outcome",
    "render_terminal",
    "replace_section",
    "uv_overrides",
    "write_constraints",
    "write_report",
]
