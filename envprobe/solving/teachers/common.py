"""What every teacher shares: the case it studies, the tools it may use, the lesson it fills.

Teachers are plain functions `teach(tools, case, lesson)`; these values keep
their signatures short and make each one testable with in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.model.outcome import Failure, ProbeOutcome
from envprobe.model.result import Purpose
from envprobe.model.rules import Boundary, BoundaryMethod, Rule
from envprobe.solving.boundary import Search

__all__ = [
    "Case",
    "Defer",
    "Lesson",
    "Reprobe",
    "Scanner",
    "Tools",
    "boundary_of",
    "ids",
    "importer_of",
    "installed_version",
    "release_words",
    "requirement",
    "where",
]


@dataclass
class Lesson:
    """What one failure taught: rules, boundaries, and projects to start resolving."""

    rules: list[Rule] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    universe: set[NormalizedName] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    probes: list[ProbeOutcome] = field(default_factory=list)

    def learn(self, rule: Rule) -> None:
        """Keep `rule`; the project it constrains and the one it binds join the resolution."""
        self.rules.append(rule)
        self.universe.add(rule.target)
        if rule.package:
            self.universe.add(canonicalize_name(rule.package))


# Probe with these projects fixed at these releases (the rest re-resolved), or None
# when no consistent set or no budget is left; the purpose is recorded with the probe.
Reprobe = Callable[[dict[str, Version], Purpose], "ProbeOutcome | None"]


# (pins to hold, the boundary to confirm, the failure a confirmation must repeat)
Defer = Callable[[dict[str, Version], Boundary, Failure], bool]


class Scanner(Protocol):
    """The static questions teachers ask of a release's wheel (True, False, or None: unknown)."""

    scanned: list[str]  # wheel files read so far, in order: the evidence of a static rule

    def provides(self, name: str, version: Version, module: str, symbol: str) -> bool | None: ...

    def has_module(self, name: str, version: Version, module: str) -> bool | None: ...

    def names_at(self, name: str, version: Version, module: str, file: str,
                 line: int) -> tuple[str, ...]: ...

    def accepts_keyword(self, name: str, version: Version, module: str, function: str,
                        keyword: str) -> bool | None: ...

    def imports_alongside(self, name: str, version: Version, module: str,
                          alongside: tuple[str, ...]) -> bool | None: ...


@dataclass(frozen=True)
class Tools:
    """What a teacher may consult: wheels, the index, and (sparingly) real probes."""

    scanner: Scanner
    releases: Callable[[str], list[Version]]  # installable releases, ascending
    reprobe: Reprobe
    declared: Callable[[str, Version], list[Requirement]]
    released: Callable[[str, Version], str | None]  # upload time, ISO 8601
    confirm: bool = True  # probe the release past a static boundary
    # extra -> the requirements only that extra selects, as the release declares them
    extras: Callable[[str, Version], dict[str, list[Requirement]]] | None = None
    # whether a question about this release was answered by a micro-probe (the release
    # installed alone and asked) because its wheel could not tell
    micro_probed: Callable[[str, Version], bool] | None = None
    # put a boundary's confirmation off to run beside the next proposal; False: run it now
    defer: Defer | None = None
    # every release the index lists (a wheel for this Python or not): what a static
    # search reads, so a name kept only in sdist-only releases is still found
    known: Callable[[str], list[Version]] | None = None
    # whether a release ships a wheel this interpreter installs (not an sdist it must build)
    wheeled: Callable[[str, Version], bool] | None = None


@dataclass(frozen=True)
class Case:
    """One failed probe under study, and where the scanner's record stood before it."""

    failure: Failure
    outcome: ProbeOutcome
    pins: dict[NormalizedName, Version]
    scans_before: int = 0

    def scanned(self, tools: Tools) -> tuple[str, ...]:
        """Wheels read while learning from this case: a rule's static evidence."""
        return tuple(tools.scanner.scanned[self.scans_before:])


def installed_version(name: NormalizedName, stated: str | None, case: Case) -> Version | None:
    """The release of `name` the failing probe had: as stated, as installed, or as pinned."""
    installed = {canonicalize_name(k): v for k, v in case.outcome.installed.items()}
    for text in (stated, installed.get(name)):
        if text:
            try:
                return Version(text)
            except InvalidVersion:
                continue
    return case.pins.get(name)


def importer_of(failure: Failure | None) -> dict[str, Version]:
    """Hold the importer at the release that failed, so a re-probe tests only the owner."""
    if failure is None or not (failure.importer_package and failure.importer_version):
        return {}
    try:
        return {canonicalize_name(failure.importer_package): Version(failure.importer_version)}
    except InvalidVersion:
        return {}


def requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def ids(*outcomes: ProbeOutcome) -> tuple[int, ...]:
    return tuple(o.probe_id for o in outcomes if o.probe_id is not None)


def where(failure: Failure) -> str:
    return f" in {failure.importer}" if failure.importer else ""


def release_words(name: str, version: str | None) -> str:
    """`name version`, or just `name` when the version is unknown."""
    return f"{name} {version}" if version else name


def boundary_of(owner: NormalizedName, symbol: str, module: str, search: Search,
                method: BoundaryMethod) -> Boundary:
    """The model value of a search, with every release it checked."""
    def text(version: Version | None) -> str | None:
        return str(version) if version is not None else None

    return Boundary(
        package=owner, symbol=symbol, module=module,
        last_with=text(search.last_with), first_without=text(search.first_without),
        direction=search.direction or "unknown",
        last_without=text(search.last_without), first_with=text(search.first_with),
        method=method,
        checked=tuple((str(v), has) for v, has in sorted(search.checked.items())),
    )
