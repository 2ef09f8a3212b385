"""A map in words and pictures: the Markdown section, one heat map per column, the patch.

Reads a `MapResult`, never computes one. The heat map has the row releases
down and the column's releases across, each cell coloured by what is known
(works, fails and how, excluded and why, not probed), the window outlined.
The patch states what each row release should have declared, as uv
`[[tool.uv.dependency-metadata]]` entries and as pip constraints per row.
"""

from __future__ import annotations

from html import escape

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.model.mapping import MapResult, MapRow, RowStatus, Window

__all__ = ["map_lines", "map_markdown", "map_svg", "pip_constraints", "row_sentence", "uv_metadata"]

_STYLE = {  # state -> (fill, legend)
    "works": ("#4caf50", "works (probe passed)"),
    "inside": ("#a5d6a7", "inside the window (not probed)"),
    "fails": ("#e53935", "fails (probe)"),
    "lacks": ("#ef9a9a", "lacks a name (scan)"),
    "declared": ("#ffcc80", "excluded by a requirement"),
    "no_file": ("#bdbdbd", "no installable file"),
    "unbuilt": ("#8d6e63", "needs a build that fails here"),
    "unknown": ("#eeeeee", "not probed"),
}
_CELL_W, _CELL_H, _CHAR = 54, 24, 7.2


def row_sentence(name: str, row: MapRow, column: str, window: Window) -> str:
    """"app 1.0 declares hub>=0.9; works with 0.9 … 1.1; should declare >=0.9,<2.0"."""
    declared = (f"declares {column}{window.declared}" if window.declared
                else f"declares {column} without bounds" if window.declared == ""
                else f"does not declare {column}")
    if window.lowest is None:
        return f"{name} {row.version} {declared}; " + (window.note or "no release works")
    works = (window.lowest if window.lowest == window.highest
             else f"{window.lowest} … {window.highest}")
    low, high = Version(window.lowest), Version(str(window.highest))
    holes = [v for v, (state, _, _) in window.cells.items()
             if state not in ("works", "inside") and low <= Version(v) <= high]
    if holes:  # releases inside the window that no set holds here
        works += f" save {holes[0]}" if len(holes) == 1 else \
            f" save {len(holes)} releases ({holes[0]} … {holes[-1]}) no set holds here"
    should = f"should declare {window.suggested}" if window.suggested else "any release in range"
    return f"{name} {row.version} {declared}; works with {works}; {should}"


def map_lines(result: MapResult) -> list[str]:
    """The map for a terminal: each row's verdict, then one sentence per column."""
    lines: list[str] = []
    for row in result.rows:
        lines.append(f"{result.rows_package} {row.version}: {row.status.value}"
                     + (f" ({row.reason})" if row.reason and not row.windows else ""))
        lines += ["  " + row_sentence(result.rows_package, row, column, window)
                  for column, window in row.windows.items()]
    return lines


def map_markdown(result: MapResult, pictures: dict[str, str] | None = None) -> str:
    """The map's REPORT.md section: the table, the pictures, the edges' reasons, the cost."""
    name = result.rows_package
    lines = [f"## Map: {result.scenario} ({name} × {', '.join(result.columns)})", ""]
    decided = sum(r.status is not RowStatus.UNDECIDED for r in result.rows)
    lines += [(f"{len(result.rows)} releases of {name}, {decided} decided; "
              f"{result.probes} probes ({result.installs} installs), {result.scans} static "
              f"scans, {result.seconds:.0f} s on {result.workers} {result.executor} workers, "
              f"Python {result.python}."), ""]
    header = ["release", "status", *(f"{c} window" for c in result.columns)]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result.rows:
        cells = [_window_cell(row.windows.get(c)) for c in result.columns]
        lines.append(f"| {name} {row.version} | {row.status.value} | " + " | ".join(cells) + " |")
    lines.append("")
    for column, path in (pictures or {}).items():
        lines += [f"![{name} × {column}]({path})", ""]
    lines += ["### Declared vs real", ""]
    for row in result.rows:
        for column, window in row.windows.items():
            lines.append(f"- {_md(row_sentence(name, row, column, window))}")
            for side, edge in (("lowest", window.lower), ("highest", window.upper)):
                if edge is not None:
                    proof = f" (passing probe #{edge.probe})" if edge.probe else ""
                    lines.append(f"  - {side} {getattr(window, side)}{proof}: the next release "
                                 f"out — {_md(edge.words)}")
        if not row.windows and row.reason:
            lines.append(f"- {name} {row.version}: {_md(row.reason)}")
    if result.notes:
        lines += ["", "Notes:", "", *(f"- {_md(n)}" for n in result.notes)]
    return "\n".join(lines) + "\n"


def _window_cell(window: Window | None) -> str:
    if window is None:
        return "—"
    if window.lowest is None:
        return _md(window.note or "none")
    span = window.lowest if window.lowest == window.highest else \
        f"{window.lowest} … {window.highest}"
    return f"{span} (`{window.suggested}`)" if window.suggested else span


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def map_svg(result: MapResult, column: str) -> str:
    """Rows × the column's releases, coloured by state, each row's window outlined."""
    releases = result.column_releases.get(column, [])
    label_w = max([len(f"{result.rows_package} {r.version}") for r in result.rows] + [12]) \
        * _CHAR + 16
    cell_w = max([_CELL_W] + [len(v) * _CHAR + 10 for v in releases])
    top, left = 58, 10 + label_w
    width = left + cell_w * len(releases) + 20
    legend_y = top + _CELL_H * len(result.rows) + 20
    width = max(width, 10 + sum(len(label) * _CHAR + 34 for _, label in _STYLE.values()) / 2)
    height = legend_y + 20 * ((len(_STYLE) + 1) // 2) + 10
    title = f"{result.scenario}: {result.rows_package} ↓ × {column} →"
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, monospace" '
        f'font-size="12">'),
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, version in enumerate(releases):
        x = left + i * cell_w + cell_w / 2
        parts.append(f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" '
                     f'font-weight="bold">{escape(version)}</text>')
    for r, row in enumerate(result.rows):
        y = top + r * _CELL_H
        parts.append(f'<text x="10" y="{y + 16}" font-weight="bold">'
                     f'{escape(result.rows_package)} {escape(row.version)}</text>')
        window = row.windows.get(column)
        for i, version in enumerate(releases):
            state, words, probe = (window.cells.get(version) if window else None) or \
                ("unknown", row.reason or "not mapped", None)
            tip = f"{result.rows_package} {row.version} + {column} {version}: {words}" + \
                (f" (probe #{probe})" if probe else "")
            parts.append(f'<g><title>{escape(tip)}</title><rect class="cell {state}" '
                         f'x="{left + i * cell_w}" y="{y}" width="{cell_w}" height="{_CELL_H}" '
                         f'fill="{_STYLE.get(state, _STYLE["unknown"])[0]}" stroke="#ffffff"/>'
                         "</g>")
        if window and window.lowest in releases and window.highest in releases:
            first, last = releases.index(window.lowest), releases.index(window.highest)
            parts.append(f'<rect class="window" x="{left + first * cell_w + 1}" y="{y + 1}" '
                         f'width="{(last - first + 1) * cell_w - 2}" height="{_CELL_H - 2}" '
                         'fill="none" stroke="#1b5e20" stroke-width="2.5"/>')
    for n, (state, (fill, label)) in enumerate(_STYLE.items()):
        x = 10 + (n % 2) * (width / 2)
        y = legend_y + (n // 2) * 20
        parts.append(f'<rect class="swatch {state}" x="{x:.0f}" y="{y}" width="14" height="14" '
                     f'fill="{fill}" stroke="#999999"/>')
        parts.append(f'<text x="{x + 20:.0f}" y="{y + 11}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _patched(row: MapRow) -> list[str] | None:
    """The row's Requires-Dist with each mapped column's specifier replaced by the real one."""
    mapped = {c: w for c, w in row.windows.items() if w.lowest is not None}
    if row.status is not RowStatus.WORKS or not mapped:
        return None
    lines, seen = [], set()
    for text in row.requires_dist:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            lines.append(text)
            continue
        name = canonicalize_name(requirement.name)
        if name in mapped:
            seen.add(name)
            requirement.specifier = _specifier(mapped[name].suggested)
        lines.append(str(requirement))
    for column in row.imports:  # imported but never declared: the patch declares it
        if column in mapped and column not in seen:
            lines.append(f"{column}{mapped[column].suggested or ''}")
    return lines


def _specifier(text: str | None) -> SpecifierSet:
    return SpecifierSet(text or "")


def uv_metadata(result: MapResult) -> str:
    """`[[tool.uv.dependency-metadata]]` entries: the requirements each row should declare."""
    out = [(f"# What each release of {result.rows_package} really needs, from envprobe's map of "
           f"{result.scenario}."), ("# Paste into pyproject.toml; uv then resolves with these "
           "instead of the declared metadata."), ""]
    for row in result.rows:
        patched = _patched(row)
        if patched is None:
            out.append(f"# {result.rows_package} {row.version}: {row.status.value}"
                       f"{' — ' + row.reason if row.reason else ''}; no entry")
            continue
        out += ["[[tool.uv.dependency-metadata]]", f'name = "{result.rows_package}"',
                f'version = "{row.version}"',
                "requires-dist = [" + ", ".join(f'"{_toml(r)}"' for r in patched) + "]", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _toml(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def pip_constraints(result: MapResult, row: MapRow) -> str | None:
    """A pip constraints file for one row release: it and the real windows beside it."""
    if row.status is not RowStatus.WORKS:
        return None
    lines = [(f"# {result.rows_package} {row.version} with the releases that really work "
             f"with it (envprobe map of {result.scenario})."),
             f"{result.rows_package}=={row.version}"]
    for column, window in row.windows.items():
        lines.append(f"# {row_sentence(result.rows_package, row, column, window)}")
        lines.append(f"{column}{window.suggested or ''}")
    return "\n".join(lines) + "\n"
