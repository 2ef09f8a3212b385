"""Turn probed cells into windows with reasons, rows with verdicts, and the map result.

An edge's reason is what is known of the next release outwards: a scan that
found a name missing (a boundary), a declared requirement or a learned rule,
a failed probe, no installable file, or the end of the scenario's range. The
suggested specifier admits exactly the window among the releases in range.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from packaging.version import Version

from envprobe.mapping.cells import Cell, Mark
from envprobe.model.mapping import (
    CellState,
    Edge,
    EdgeReason,
    MapResult,
    MapRow,
    RowStatus,
    Window,
)
from envprobe.model.rules import specifier_for

if TYPE_CHECKING:
    from envprobe.mapping.mapper import Mapper

__all__ = ["finish", "window_of"]

_REASONS = {
    CellState.LACKS: EdgeReason.BOUNDARY,
    CellState.DECLARED: EdgeReason.DECLARED,
    CellState.FAILS: EdgeReason.PROBE,
    CellState.NO_FILE: EdgeReason.NO_FILE,
    CellState.UNBUILT: EdgeReason.BUILD,
}


def finish(mapper: Mapper, rows: list[Version], row_ok: set[Version],
           axes: dict[str, list[Version]]) -> MapResult:
    solver = mapper.solver
    result = MapResult(
        scenario=solver.scenario.name, rows_package=mapper.rows_package,
        columns=list(mapper.columns),
        column_releases={c: [str(v) for v in axis] for c, axis in axes.items()},
        rules=list(solver.rules), notes=[*solver.notes, *mapper.notes],
        probes=len(solver.attempts), installs=solver.installs,
        scans=len(set(solver.scanner.scanned) | set(mapper.uses.scanned)),
        executor=mapper.executor.name, workers=mapper.executor.workers,
        seconds=time.monotonic() - mapper._started, python=solver.interpreter.version,
    )
    for row in rows:
        cells = [c for c in mapper.cells if c.row == row]
        result.rows.append(_row(mapper, row, cells, row in row_ok))
    return result


def _row(mapper: Mapper, row: Version, cells: list[Cell], installable: bool) -> MapRow:
    name = mapper.rows_package
    metadata = mapper.solver.index.metadata(name, row)
    entry = MapRow(str(row), RowStatus.WORKS,
                   requires_dist=[str(r) for r in metadata.requires_dist],
                   imports=[c.column for c in cells if c.uses])
    if not installable:
        entry.status = RowStatus.BROKEN
        entry.reason = f"no file of {name} {row} installs on this interpreter"
        return entry
    entry.reason = mapper.row_clashes.get(row, "")
    for cell in cells:
        entry.windows[cell.column] = window = window_of(cell)
        if window.lowest is None and not cell.undecided:
            entry.status = RowStatus.BROKEN
            entry.reason = entry.reason or f"no release of {cell.column} in range works with it"
        elif cell.undecided and entry.status is RowStatus.WORKS:
            entry.status = RowStatus.UNDECIDED
            entry.reason = cell.undecided
    if entry.status is RowStatus.BROKEN:
        for window in entry.windows.values():
            if window.lowest is None and not window.note:
                window.note = mapper.row_clashes.get(row, "no release in range works")
    return entry


def window_of(cell: Cell) -> Window:
    """The cell's window, edges and per-release states; empty edges when undecided."""
    window = Window(declared=str(cell.declared) if cell.declared is not None else None,
                    note=cell.undecided)
    decided = cell.lower is not None and cell.upper is not None
    for version in cell.releases:
        mark = cell.marks.get(version)
        if mark is None:
            inside = decided and cell.lower <= version <= cell.upper  # type: ignore[operator]
            mark = Mark(CellState.INSIDE if inside else CellState.UNKNOWN,
                        "between two passing edges" if inside else "not probed")
        window.cells[str(version)] = (mark.state.value, mark.words, mark.probe)
    if not decided:
        return window
    assert cell.lower is not None and cell.upper is not None
    window.lowest, window.highest = str(cell.lower), str(cell.upper)
    inside = [v for v in cell.releases if cell.lower <= v <= cell.upper
              and (v not in cell.marks or cell.marks[v].state is CellState.WORKS)]
    window.suggested = str(specifier_for(inside, cell.releases)) or None
    window.lower = _edge(cell, cell.lower, -1)
    window.upper = _edge(cell, cell.upper, +1)
    return window


def _edge(cell: Cell, version: Version, step: int) -> Edge:
    position = cell.releases.index(version) + step
    probe = cell.marks[version].probe
    if not 0 <= position < len(cell.releases):
        end = "oldest" if step < 0 else "newest"
        return Edge(EdgeReason.RANGE, f"the {end} release in the scenario's range", probe)
    outside = cell.releases[position]
    mark = cell.marks.get(outside)
    if mark is None:
        return Edge(EdgeReason.PROBE, f"{cell.column} {outside} was not probed", probe,
                    str(outside))
    return Edge(_REASONS.get(mark.state, EdgeReason.PROBE), mark.words, probe, str(outside),
                [mark.probe] if mark.probe is not None else [], list(mark.scanned))

