"""The map's rounds: set every cell up cheaply, then probe window edges in parallel.

Each round asks, for every open cell, the solve's question at each end of
its candidates ("with row R and column release v held, what would a solve
install?"), dedupes the pin sets, answers what it can from the store and
hands the rest to the executor at once. A passing probe fixes an edge; a
failing one is taught to the solve's teachers (its rule then binds every
later proposal) and the edge moves one release inwards. Rows whose scans
prove them broken for one column spend no probes on the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.mapping.cells import Cell, Mark, in_range, set_up
from envprobe.mapping.planner import Conflict, pins_for
from envprobe.mapping.reached import probe_imports
from envprobe.mapping.uses import Uses
from envprobe.mapping.windows import finish
from envprobe.model.mapping import CellState, MapResult
from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome
from envprobe.model.requests import ProbeRequest
from envprobe.model.result import Purpose
from envprobe.probing.executors import Executor, Lost
from envprobe.solving.solver import Solver

__all__ = ["Mapper"]

Events = Callable[[str, str], None]
_SIDES = ("lower", "upper")
_RETRIES = 8  # re-resolutions of one edge, each after a failure that taught a new rule


@dataclass
class _Edge:
    cell: Cell
    side: str
    version: Version
    pins: dict[NormalizedName, Version]


class Mapper:
    """Maps `rows` (one target's releases) against `columns`, through one solver and executor."""

    def __init__(self, solver: Solver, executor: Executor, *, rows_package: str,
                 columns: list[str], max_installs: int, events: Events | None = None) -> None:
        self.solver, self.executor = solver, executor
        self.rows_package = canonicalize_name(rows_package)
        self.columns = [canonicalize_name(c) for c in columns]
        self.max_installs = max_installs
        self.events = events or (lambda kind, text: None)
        self.uses = Uses(solver.index, solver.scanner, solver.interpreter.tags,
                         starts=probe_imports(solver.scenario.code))
        self.cells: list[Cell] = []
        self.notes: list[str] = []
        self.row_clashes: dict[Version, str] = {}  # rows no set holds, whatever the columns
        self._taught: dict[Version, int | None] = {}  # each row's last failed probe
        self._no_clash: dict[Version, int] = {}  # row -> how many rules it held with
        self._started = time.monotonic()

    def run(self) -> MapResult:
        scenario = self.solver.scenario
        rows = self._releases(self.rows_package)
        axes = {c: self._releases(c) for c in self.columns}
        installable = {c: set(self.solver.releases(c)) for c in self.columns}
        row_ok = set(self.solver.releases(self.rows_package))
        target = scenario.target(self.rows_package)
        extras = target.extras if target else frozenset()
        for row in [r for r in rows if r in row_ok]:
            for column in self.columns:
                self.events("scan", f"{self.rows_package} {row} × {column}: reading wheels")
                cell, rule = set_up(
                    self.solver.index, self.uses, row_name=self.rows_package, row=row,
                    row_extras=extras, column=column, releases=axes[column],
                    installable=installable[column],
                    environment=self.solver.interpreter.environment,
                    allow_sdist=scenario.allow_sdist)
                if rule is not None and rule not in self.solver.rules:
                    self.solver.rules.append(rule)
                self.cells.append(cell)
        rounds = 0
        while self._round(rounds := rounds + 1):
            pass
        return finish(self, rows, row_ok, axes)

    # rounds ------------------------------------------------------------------------

    def _round(self, number: int) -> bool:
        """Probe every open edge once; False when no edge is left to probe."""
        wanted: dict[ProbeRequest, list[_Edge]] = {}
        pins_of: dict[ProbeRequest, dict[NormalizedName, Version]] = {}
        for cell in self._open():
            for edge in self._edges(cell):
                request = self.solver.request(edge.pins)
                wanted.setdefault(request, []).append(edge)
                pins_of[request] = edge.pins
        if not wanted:
            return False
        answered = {r: o for r in wanted if (o := self.solver.stored(r)) is not None}
        to_run = [r for r in wanted if r not in answered]
        left = self.max_installs - self.solver.installs
        if self.solver.out_of_time():
            left = 0
        for request in to_run[max(left, 0):]:
            for edge in wanted.pop(request):
                self._give_up(edge.cell, f"the install budget ({self.max_installs}) or the "
                                         "time budget ran out")
        to_run = to_run[:max(left, 0)]
        self.events("round", f"round {number}: {len(wanted)} edge probes, "
                             f"{len(answered)} from the store, {len(to_run)} to install "
                             f"on {self.executor.workers} {self.executor.name} workers")
        for request, outcome in answered.items():
            self._settle(request, pins_of[request], outcome, wanted[request])
        batch = dict(enumerate(to_run))
        for key, result in self.executor.run(batch):
            request = batch[key]
            if isinstance(result, Lost):
                self.notes.append(f"probe of {', '.join(request.requirements)} lost: "
                                  f"{result.reason}")
                for edge in wanted[request]:
                    self._give_up(edge.cell, f"a probe was lost: {result.reason}")
                continue
            outcome = ProbeOutcome.from_dict(result)
            self._settle(request, pins_of[request], outcome, wanted[request])
        return True

    def _open(self) -> list[Cell]:
        broken_rows = {c.row for c in self.cells if c.done and not c.candidates and not c.undecided}
        # A row that scans say fails with every release of one column waits for the probe
        # confirming it before any other column of it is probed.
        waiting = {c.row for c in self.cells if c.static_empty and not c.done}
        open_cells = []
        for cell in self.cells:
            if cell.done or (cell.row in waiting and not cell.static_empty):
                continue
            if cell.row in broken_rows:
                cell.done = True
                cell.undecided = "" if cell.lower or cell.upper else \
                    "not probed: the row release works with no release of another column"
                continue
            open_cells.append(cell)
        return open_cells

    def _edges(self, cell: Cell) -> list[_Edge]:
        """The next release to probe at each open end, held with the row release."""
        edges: list[_Edge] = []
        for side in _SIDES:
            if getattr(cell, side) is None and cell.candidates:
                edge = self._held(cell, side)
                if cell.row in self.row_clashes:
                    return []
                if edge is not None:
                    edges.append(edge)
        if not cell.candidates and not edges:
            cell.done = True  # nothing works: the cell's marks say why, release by release
        if len(edges) == 2 and edges[0].version == edges[1].version:
            edges = edges[:1]  # one release left: one probe decides both ends
        return edges

    def _held(self, cell: Cell, side: str) -> _Edge | None:
        """The outermost candidate on `side` that some consistent set holds with the row.

        Declared metadata often rules out a long run at one end (transformers 5 needs a
        hub NeMo cannot import). Each release is resolved in turn, a fraction of a second
        apiece: a run of clashes need not be contiguous (under NeMo 1.21, transformers
        4.15-4.18 hold between releases that need a tokenizers that does not build), so
        none is taken to clash like its neighbours. Each says why it clashes.
        """
        order = list(cell.candidates) if side == "lower" else cell.candidates[::-1]
        for i, version in enumerate(order):
            found = pins_for(self.solver, {self.rows_package: cell.row, cell.column: version})
            if not isinstance(found, Conflict):
                return _Edge(cell, side, version, found)
            if i == 0 and self._row_clashes(cell.row):
                return None
            _mark_clash(cell, version, found)
        return None

    def _between(self, cell: Cell) -> None:
        """Resolve each release between two passing edges: a clash inside a window (a
        transformers that needs an unbuildable tokenizers) is a hole, not "inside"."""
        for version in [v for v in cell.candidates if cell.lower < v < cell.upper]:  # type: ignore[operator]
            found = pins_for(self.solver, {self.rows_package: cell.row, cell.column: version})
            if isinstance(found, Conflict):
                _mark_clash(cell, version, found)

    def _row_clashes(self, row: Version) -> bool:
        """Whether the row release clashes with the scenario whatever the columns hold
        (NeMo 1.19 pins a setuptools that torch 2.13 refuses): then every cell of the row
        is that clash, said once, instead of one resolution per column release."""
        if row in self.row_clashes:
            return True
        if self._no_clash.get(row) == len(self.solver.rules):
            return False  # asked already, and no rule has been learned since
        alone = pins_for(self.solver, {self.rows_package: row})
        if not isinstance(alone, Conflict):
            self._no_clash[row] = len(self.solver.rules)
            return False
        self.row_clashes[row] = words = (f"{self.rows_package} {row} holds with no set "
                                         f"of the scenario: {alone.words}")
        for cell in self.cells:
            if cell.row == row:
                for version in list(cell.candidates):
                    cell.mark(version, Mark(CellState.DECLARED, words, self._taught.get(row)))
                cell.done = True
        return True

    def _settle(self, request: ProbeRequest, pins: dict[NormalizedName, Version],
                outcome: ProbeOutcome, edges: list[_Edge]) -> None:
        outcome = self.solver.keep(request, pins, Purpose.EDGE, outcome)
        where = "from the store" if outcome.cached else "installed"
        verdict = "passed" if outcome else outcome.failure.summary()  # type: ignore[union-attr]
        self.events("outcome", f"probe #{outcome.probe_id} ({where}) "
                               f"{', '.join(f'{n}=={v}' for n, v in sorted(pins.items()))}: "
                               f"{verdict}")
        learned = None
        for edge in edges:
            cell = edge.cell
            if outcome:
                cell.mark(edge.version, Mark(CellState.WORKS, "a probe passed", outcome.probe_id))
                self._passed(cell, edge.version)
                continue
            failure = outcome.failure
            assert failure is not None
            if learned is None:
                # A failure the scans predicted has nothing left to teach.
                expected = all(e.cell.static_empty for e in edges)
                learned = False if expected else self.solver.learn(outcome, pins)
            self._failed(cell, edge.version, failure, outcome,
                         learned or self._moved(edge, pins))
        self.events("status", self.status())

    def _passed(self, cell: Cell, version: Version) -> None:
        if cell.static_empty:
            # The scans said nothing here has what the row imports; a probe says otherwise.
            self.notes.append(f"{cell.column} {version} works with {self.rows_package} "
                              f"{cell.row} though a scan found it lacking: the scan is ignored")
            cell.static_empty = False
            cell.candidates = [v for v in cell.rescue if v <= version]
            for v in cell.candidates:
                if cell.marks.get(v) and cell.marks[v].state is CellState.LACKS:
                    del cell.marks[v]
        if version == cell.candidates[0]:
            cell.lower = version
        if version == cell.candidates[-1]:
            cell.upper = version
        if cell.lower is not None and cell.upper is not None:
            cell.done = True
            self._between(cell)

    def _moved(self, edge: _Edge, pins: dict[NormalizedName, Version]) -> bool:
        """Whether the rules now propose another set for this edge than the one that failed:
        a lesson taught by another probe of the same round counts as much as its own."""
        if edge.cell.static_empty:
            return False
        now = pins_for(self.solver, {self.rows_package: edge.cell.row,
                                     edge.cell.column: edge.version})
        return now != pins

    def _failed(self, cell: Cell, version: Version, failure: Failure, outcome: ProbeOutcome,
                learned: bool) -> None:
        about_column = canonicalize_name(failure.package or "") == cell.column
        self._taught[cell.row] = outcome.probe_id
        if learned and not about_column and cell.retried.get(version, 0) < _RETRIES:
            # A rule about the rest of the set: ask the resolver again. NeMo meets several
            # traps in turn (a build, pkg_resources, a wheel without its library, NumPy 2),
            # each a new rule, so one retry per release would blame the column for them.
            cell.retried[version] = cell.retried.get(version, 0) + 1
            return
        cell.mark(version, Mark(CellState.FAILS, failure.summary(), outcome.probe_id))
        if cell.static_empty:
            cell.done, cell.candidates = True, []
            return
        if not (about_column or learned) and failure.kind is not FailureKind.DECLARED_CONFLICT:
            cell.undecided = (f"{self.rows_package} {cell.row} fails with {cell.column} {version} "
                              f"for a reason not about {cell.column} that taught nothing: "
                              f"{failure.summary()}")
            cell.done = True

    def _give_up(self, cell: Cell, why: str) -> None:
        cell.done, cell.undecided = True, why

    def _releases(self, name: NormalizedName) -> list[Version]:
        target = self.solver.scenario.target(name)
        if target is None:
            raise LookupError(name)
        return in_range(self.solver.index.versions(name), target.specifier)

    def status(self) -> str:
        rows = {c.row for c in self.cells}
        done = {r for r in rows if all(c.done for c in self.cells if c.row == r)}
        return (f"{len(done)}/{len(rows)} rows done, {self.executor.running} probes running, "
                f"{self.solver.installs} installs, {time.monotonic() - self._started:.0f} s")


def _mark_clash(cell: Cell, version: Version, clash: Conflict) -> None:
    """No set holds this release with the row: a build problem here where the clash rests
    on a rule keeping a project to its wheels, else a declared (or learned) requirement."""
    if clash.unbuilt:
        cell.mark(version, Mark(CellState.UNBUILT, clash.words, clash.failed_build))
    else:
        cell.mark(version, Mark(CellState.DECLARED, clash.words))
