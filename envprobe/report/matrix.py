"""The compatibility matrix of the conflicting pair, as a model, a Markdown table and an SVG.

Rows are the importer's versions (P), columns the versions of the package
that dropped or gained a name (Q). A cell shows what is known about that pair:
a probe that passed, the kind of failure a probe met, what a static scan of
Q's wheel found, or nothing. The SVG is written by hand so the report needs
no plotting library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from packaging.utils import canonicalize_name

from envprobe.report.words import boundary_for, probe_ids, version_key, versions_of

if TYPE_CHECKING:
    from envprobe.model.result import Attempt, SolveResult
    from envprobe.model.rules import Boundary

__all__ = ["Cell", "Matrix", "build_matrices", "matrix_markdown", "matrix_svg"]

NOT_PROBED = "·"
ANY_IMPORTER = "any"

# state -> (fill, legend label)
_STYLE = {
    "pass": ("#8fd18b", "probe passed"),
    "fail": ("#ee8a8a", "probe failed"),
    "has": ("#e3f4e1", "static scan: has it"),
    "lacks": ("#fbe3e3", "static scan: lacks it"),
    "unknown": ("#dddddd", "not probed"),
}
_CHAR = 7.3  # px per character of 12px monospace
_LINE = 15
_PAD = 10


@dataclass(frozen=True)
class Cell:
    """What is known about one (P version, Q version) pair."""

    text: str
    state: str  # "pass", "fail", "has", "lacks" or "unknown"
    probes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Matrix:
    importer: str | None  # P, or None when no importer is known (one row: "any")
    package: str  # Q
    symbol: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]  # [row][column]

    def cell(self, row: str, column: str) -> Cell:
        return self.cells[self.rows.index(row)][self.columns.index(column)]

    @property
    def title(self) -> str:
        who = f"{self.importer} × {self.package}" if self.importer else self.package
        return f"{who} ({self.symbol})"


def build_matrices(result: SolveResult) -> list[Matrix]:
    """One matrix per boundary: its importer's releases against the package's."""
    return [_matrix_for(result, boundary) for boundary in result.boundaries]


def _matrix_for(result: SolveResult, boundary: Boundary) -> Matrix:
    package = canonicalize_name(boundary.package)
    rule = next((r for r in result.rules if r.package is not None
                 and boundary_for(r, [boundary]) is boundary), None)
    importer = rule.package if rule is not None else None
    seen = [versions_of(a) for a in result.attempts]
    rows = sorted({v[importer] for v in seen if importer in v}, key=version_key)
    if not rows:
        importer, rows = None, [ANY_IMPORTER]
    static = dict(boundary.checked)
    columns = sorted({v[package] for v in seen if package in v} | set(static), key=version_key)
    held = list(zip(result.attempts, seen, strict=True))
    cells = tuple(
        tuple(_cell(held, importer, row, package, column, static.get(column),
                    boundary.symbol) for column in columns)
        for row in rows
    )
    return Matrix(importer, package, boundary.symbol, tuple(rows), tuple(columns), cells)


def _cell(attempts: list[tuple[Attempt, dict[str, str]]], importer: str | None, row: str,
          package: str, column: str, has: bool | None, symbol: str) -> Cell:
    """A passing probe beats a failing one: it proves the pair can work.

    A probe that failed over another name says nothing about this pair, so
    the cell falls back to what the static scan found.
    """
    matching = [a for a, versions in attempts
                if versions.get(package) == column
                and (importer is None or versions.get(importer) == row)
                and (a.outcome or (a.outcome.failure and a.outcome.failure.name == symbol))]
    passed = [a.outcome.probe_id for a in matching if a.outcome]
    if passed:
        return Cell("pass", "pass", tuple(i for i in passed if i is not None))
    if matching:
        last = matching[-1].outcome
        kind = last.failure.kind.value if last.failure else "failed"
        ids = tuple(a.outcome.probe_id for a in matching if a.outcome.probe_id is not None)
        return Cell(kind, "fail", ids)
    if has is True:
        return Cell(f"has {symbol} (static)", "has")
    if has is False:
        return Cell(f"lacks {symbol} (static)", "lacks")
    return Cell(NOT_PROBED, "unknown")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def matrix_markdown(matrix: Matrix) -> str:
    """A Markdown table: one row per P version, one column per Q version."""
    corner = f"{matrix.importer} \\ {matrix.package}" if matrix.importer else matrix.package
    lines = [
        "| " + " | ".join(_md(t) for t in (corner, *matrix.columns)) + " |",
        "|" + "---|" * (len(matrix.columns) + 1),
    ]
    for row, cells in zip(matrix.rows, matrix.cells):
        lines.append("| " + " | ".join(_md(t) for t in (row, *(c.text for c in cells))) + " |")
    return "\n".join(lines) + "\n"


def _lines(text: str) -> list[str]:
    """Cell text on two lines where it has a parenthesised remark, to keep columns narrow."""
    head, sep, tail = text.partition(" (")
    return [head, f"({tail}"] if sep else [text]


def _width(texts: list[str]) -> float:
    return max(len(line) for text in texts for line in _lines(text)) * _CHAR + 2 * _PAD


def _text(x: float, y: float, text: str, *, anchor: str = "middle", weight: str = "normal",
          lines: list[str] | None = None) -> str:
    spans = lines or [text]
    top = y - (len(spans) - 1) * _LINE / 2
    tspans = "".join(
        f'<tspan x="{x:.1f}" y="{top + i * _LINE:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(spans)
    )
    return (f'<text text-anchor="{anchor}" dominant-baseline="central" '
            f'font-weight="{weight}">{tspans}</text>')


def matrix_svg(matrix: Matrix) -> str:
    """A standalone SVG picture of the matrix, with a legend and a tooltip per cell."""
    # the corner names both axes: rows go down, columns go across
    corner = [f"{matrix.importer} ↓", f"{matrix.package} →"] if matrix.importer \
        else [matrix.package]
    label_width = max(len(line) for line in corner) * _CHAR + 2 * _PAD
    label_width = max(label_width, _width(list(matrix.rows)))
    widths = [_width([column, *(row[i].text for row in matrix.cells)])
              for i, column in enumerate(matrix.columns)]
    any_two_lines = any(len(_lines(c.text)) > 1 for row in matrix.cells for c in row)
    cell_height = _LINE * (2 if any_two_lines else 1) + 2 * _PAD
    title_height, header_height = 34, _LINE * len(corner) + 2 * _PAD
    grid_top = title_height + header_height
    grid_width = label_width + sum(widths)
    legend_top = grid_top + cell_height * len(matrix.rows) + 20
    legend_width = sum(len(label) * _CHAR + 40 for _, label in _STYLE.values())
    width = 2 * _PAD + max(grid_width, legend_width, len(matrix.title) * _CHAR * 1.2)
    height = legend_top + 30

    size = f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"'
    font = 'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12"'
    title = escape(matrix.title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {size} {font}>',
        f"<title>{title}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="{_PAD}" y="22" font-size="14" font-weight="bold">{title}</text>',
    ]
    # header row: the corner names both axes, then Q's versions
    parts.append(_text(_PAD + label_width / 2, title_height + header_height / 2, "",
                       weight="bold", lines=corner))
    x = _PAD + label_width
    for column, w in zip(matrix.columns, widths):
        parts.append(_text(x + w / 2, title_height + header_height / 2, column, weight="bold"))
        x += w
    for r, (row, cells) in enumerate(zip(matrix.rows, matrix.cells)):
        y = grid_top + r * cell_height
        parts.append(_text(_PAD + label_width / 2, y + cell_height / 2, row, weight="bold"))
        x = _PAD + label_width
        for column, w, cell in zip(matrix.columns, widths, cells):
            who = f"{matrix.importer} {row} + " if matrix.importer else ""
            evidence = f" (probe {probe_ids(cell.probes)})" if cell.probes else ""
            tooltip = f"{who}{matrix.package} {column}: {cell.text}{evidence}"
            parts.append(
                f'<g><title>{escape(tooltip)}</title>'
                f'<rect class="cell {cell.state}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" '
                f'height="{cell_height}" fill="{_STYLE[cell.state][0]}" stroke="#ffffff" '
                f'stroke-width="2"/>'
                + _text(x + w / 2, y + cell_height / 2, cell.text, lines=_lines(cell.text))
                + "</g>"
            )
            x += w
    x = _PAD
    for state, (fill, label) in _STYLE.items():
        parts.append(f'<rect class="swatch {state}" x="{x:.1f}" y="{legend_top}" width="14" '
                     f'height="14" fill="{fill}" stroke="#999999"/>')
        parts.append(_text(x + 20, legend_top + 7, label, anchor="start"))
        x += len(label) * _CHAR + 40
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
