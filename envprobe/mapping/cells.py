"""One row release beside one column project: what is ruled out before any probe.

Cheap first, as in `solve`: which column releases install here at all, which
the row release's declared requirements (and the column's, on the row)
admit, and which a static scan shows lacking a name the row release imports.
What remains are the candidates; the map probes only their two ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.mapping.uses import Run, Use, Uses
from envprobe.model.mapping import CellState
from envprobe.model.rules import Rule, RuleKind, specifier_for
from envprobe.sources.index import PackageIndex

__all__ = ["Cell", "Mark", "in_range", "set_up"]


@dataclass(frozen=True)
class Mark:
    """What is known of one column release: its state, in words, with its probe."""

    state: CellState
    words: str
    probe: int | None = None
    scanned: tuple[str, ...] = ()


@dataclass
class Cell:
    row: Version
    column: NormalizedName
    releases: list[Version]  # every release in range: the picture's axis
    candidates: list[Version] = field(default_factory=list)  # not ruled out, ascending
    marks: dict[Version, Mark] = field(default_factory=dict)
    declared: SpecifierSet | None = None
    uses: list[Use] = field(default_factory=list)
    lower: Version | None = None  # passing edges, once probed
    upper: Version | None = None
    static_empty: bool = False  # a scan says no candidate has what the row imports
    rescue: list[Version] = field(default_factory=list)  # the candidates before that verdict
    done: bool = False
    undecided: str = ""
    retried: dict[Version, int] = field(default_factory=dict)  # re-resolutions per release

    def mark(self, version: Version, mark: Mark) -> None:
        self.marks[version] = mark
        if mark.state is not CellState.WORKS and version in self.candidates:
            self.candidates.remove(version)


def in_range(versions: list[Version], specifier: SpecifierSet) -> list[Version]:
    """Releases a user asking for `specifier` means: finals, unless it names a pre-release."""
    return sorted(v for v in versions
                  if specifier.contains(v, prereleases=bool(specifier.prereleases)))


def set_up(index: PackageIndex, uses: Uses, *, row_name: NormalizedName, row: Version,
           row_extras: frozenset[str], column: NormalizedName, releases: list[Version],
           installable: set[Version], environment: dict[str, str],
           allow_sdist: bool) -> tuple[Cell, Rule | None]:
    """The cell with everything cheap ruled out, and the static rule it teaches the solver."""
    cell = Cell(row, column, releases, candidates=list(releases))
    for version in releases:
        if version not in installable:
            cell.mark(version, Mark(CellState.NO_FILE, _no_file(index, column, version,
                                                                allow_sdist)))
    declared = [r for r in index.dependencies(row_name, row, row_extras, environment)
                if canonicalize_name(r.name) == column]
    if declared:
        cell.declared = SpecifierSet(",".join(str(r.specifier) for r in declared if r.specifier))
    for version in list(cell.candidates):
        if cell.declared is not None and not cell.declared.contains(version, prereleases=True):
            cell.mark(version, Mark(CellState.DECLARED,
                                    f"{row_name} {row} declares {column}{cell.declared}"))
            continue
        for requirement in index.dependencies(column, version, (), environment):
            if canonicalize_name(requirement.name) == row_name and \
                    not requirement.specifier.contains(row, prereleases=True):
                cell.mark(version, Mark(CellState.DECLARED,
                                        f"{column} {version} declares {requirement}"))
                break
    return cell, _static(uses, cell, row_name)


def _static(uses: Uses, cell: Cell, row_name: NormalizedName) -> Rule | None:
    """Narrow the candidates to the run that has every name the row release imports."""
    found = uses.of(row_name, cell.row, cell.column, cell.candidates)
    if not found or not cell.candidates:
        return None
    cell.uses = found
    before = list(cell.candidates)
    for use in found:
        run = uses.run(cell.column, cell.candidates, use)
        if run.unknown or not cell.candidates:
            continue
        if run.empty:
            cell.static_empty, cell.rescue = True, before
            for version in list(cell.candidates):
                cell.mark(version, _lacks(uses, row_name, cell, version, run, "in no release"))
            cell.candidates = [before[-1]]  # one probe confirms what the scans say
            return None
        low, high = cell.candidates[run.low], cell.candidates[run.high]
        for version in [v for v in cell.candidates if v < low]:
            cell.mark(version, _lacks(uses, row_name, cell, version, run, f"added in {low}"))
        for version in [v for v in cell.candidates if v > high]:
            cell.mark(version, _lacks(uses, row_name, cell, version, run,
                                      f"present up to {high}"))
    if cell.candidates == before:
        return None
    names = ", ".join(u.words for u in found)
    return Rule(
        requires=f"{cell.column}{specifier_for(cell.candidates, before)}",
        because=f"{row_name} {cell.row} imports {names}; a scan of {cell.column}'s wheels "
                f"finds them in {cell.candidates[0]} to {cell.candidates[-1]} only",
        kind=RuleKind.MISSING_SYMBOL,
        package=row_name,
        versions=f"=={cell.row}",
        scanned=tuple(uses.scanned),
    )


def _lacks(uses: Uses, row_name: str, cell: Cell, version: Version, run: Run,
           when: str) -> Mark:
    use = run.use
    dist = cell.column.replace("-", "_")
    checked = [v for search in (run.added, run.removed) if search
               for v in search.checked]
    wheels = tuple(f for f in uses.scanned for v in checked if f.startswith(f"{dist}-{v}-"))
    return Mark(CellState.LACKS,
                f"{cell.column} {version} lacks {use.words} ({when}); {row_name} {cell.row} "
                f"imports it at {use.site}", scanned=wheels)


def _no_file(index: PackageIndex, name: str, version: Version, allow_sdist: bool) -> str:
    files = index.files(name, version)
    if files and not any(f.is_wheel for f in files) and not allow_sdist:
        return f"{name} {version} has only an sdist, and the scenario builds none"
    return f"no file of {name} {version} installs on this interpreter"
