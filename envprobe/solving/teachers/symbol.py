"""Turn one failed probe into rules the next round must obey.

Each failure kind has its own teacher. They never guess: a rule is only
written when the failure's evidence (the child's structured outcome, the
installer's parsed log, a static scan of wheels, or a confirming probe)
supports it, and the rule says which of those it rests on. A failure that
teaches nothing new makes the solver stop with `undecided`, not loop.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import packages_distributions

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.errors import EnvprobeError
from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome
from envprobe.model.rules import Boundary, ImportCheck, Rule, specifier_for
from envprobe.solving.boundary import Search, bisect_with_probes, gallop_static
from envprobe.static.scanner import StaticScanner

__all__ = ["Lesson", "Teacher"]

_NOTHING = "<0.dev0"  # admits no release: "no version of this project will do"
_MAX_OWNER_CANDIDATES = 12
_SIMILAR = 0.6


@dataclass
class Lesson:
    """What one failure taught: rules, boundaries, and projects to start resolving."""

    rules: list[Rule] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    universe: set[NormalizedName] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    probes: list[ProbeOutcome] = field(default_factory=list)


# Probe with these projects fixed at these releases (the rest re-resolved), or None.
Reprobe = Callable[[dict[str, Version]], "ProbeOutcome | None"]


class Teacher:
    """Learns from failures; owns no state beyond the tools it is given."""

    def __init__(
        self,
        scanner: StaticScanner,
        releases: Callable[[str], list[Version]],
        reprobe: Reprobe,
        declared: Callable[[str, Version], list[Requirement]],
        released: Callable[[str, Version], str | None],
        confirm: bool = True,
    ) -> None:
        self._scanner = scanner
        self._releases = releases
        self._reprobe = reprobe
        self._declared = declared
        self._released = released
        self._confirm = confirm
        self._scans_before = 0

    def learn(self, outcome: ProbeOutcome, pins: dict[NormalizedName, Version]) -> Lesson:
        failure = outcome.failure
        lesson = Lesson()
        self._scans_before = len(self._scanner.scanned)
        if failure is None:
            return lesson
        teach = {
            FailureKind.MISSING_SYMBOL: self._missing_symbol,
            FailureKind.MISSING_MODULE: self._missing_module,
            FailureKind.DEPENDENCY_CHECK: self._dependency_check,
            FailureKind.DECLARED_CONFLICT: self._declared_conflict,
            FailureKind.NO_DISTRIBUTION: self._no_distribution,
            FailureKind.BUILD_FAILED: self._build_failed,
        }.get(failure.kind, self._blame)
        teach(failure, outcome, pins, lesson)
        return lesson

    # missing symbol -------------------------------------------------------

    def _missing_symbol(self, failure: Failure, outcome: ProbeOutcome,
                        pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        module, symbol = failure.module or "", failure.name or ""
        owner = canonicalize_name(failure.package or module.split(".")[0])
        failing = _installed_version(owner, failure.version, outcome, pins)
        if not (module and symbol and failing):
            lesson.notes.append(f"cannot tell which release lacks {symbol!r}: {failure.message}")
            return
        releases = self._releases(owner)
        search = gallop_static(
            releases, failing, lambda v: self._scanner.provides(owner, v, module, symbol)
        )
        method = "static"
        if not search.found:
            search, method = self._bisect_by_probe(owner, failing, releases, failure,
                                                   lesson), "probe"
        boundary = _boundary(owner, symbol, module, search, method)
        if search.found and method == "static":
            boundary = self._confirm_boundary(boundary, search, owner, failing, outcome, lesson)
        self._symbol_rule(failure, outcome, owner, symbol, module, releases, search, boundary,
                          lesson)
        for sibling in self._siblings(failure, module, symbol):
            # Python names only the first missing name of a `from m import a, b`; the
            # others would each cost a full install to discover one by one.
            found = gallop_static(
                releases, failing, lambda v, n=sibling: self._scanner.provides(owner, v, module, n)
            )
            if found.found:
                self._symbol_rule(failure, outcome, owner, sibling, module, releases, found,
                                  _boundary(owner, sibling, module, found, "static"), lesson)

    def _symbol_rule(self, failure: Failure, outcome: ProbeOutcome, owner: NormalizedName,
                     symbol: str, module: str, releases: list[Version], search: Search,
                     boundary: Boundary, lesson: Lesson) -> None:
        lesson.boundaries.append(boundary)
        allowed = search.allowed(releases) if search.found else []
        requires = f"{owner}{specifier_for(allowed, releases)}" if allowed else f"{owner}{_NOTHING}"
        provides = _provides_words(owner, symbol, module, search)
        importer = canonicalize_name(failure.importer_package) if failure.importer_package else None
        because = f"{importer or 'the probe'} {failure.importer_version or ''} imports {symbol} " \
            f"from {module}{_where(failure)}; {provides}".replace("  ", " ")
        lesson.rules.append(Rule(
            requires=requires,
            because=because,
            kind="missing_symbol",
            package=importer,
            when_imports=(ImportCheck(module, symbol, failure.importer_version)
                          if importer else None),
            evidence=_ids(outcome, *lesson.probes),
            scanned=tuple(self._scanner.scanned[self._scans_before:]),
        ))
        lesson.universe.add(owner)
        if importer:
            lesson.universe.add(importer)

    def _siblings(self, failure: Failure, module: str, symbol: str) -> list[str]:
        """Other names the failing `from module import ...` statement asks for."""
        if not (failure.importer and failure.importer_package and failure.importer_version):
            return []
        file, _, line = failure.importer.rpartition(":")
        if not line.isdigit():
            return []
        names = self._scanner.names_at(
            canonicalize_name(failure.importer_package), Version(failure.importer_version),
            module, file, int(line),
        )
        return [n for n in names if n != symbol]

    def _bisect_by_probe(self, owner: NormalizedName, failing: Version, releases: list[Version],
                         failure: Failure, lesson: Lesson) -> Search:
        def predicate(version: Version) -> bool | None:
            result = self._reprobe({**_importer_of(failure), owner: version})
            if result is None:
                return None
            lesson.probes.append(result)
            if result:
                return True
            again = result.failure
            if again and again.kind is failure.kind and again.name == failure.name:
                return False
            if again and again.kind in (FailureKind.MISSING_SYMBOL, FailureKind.MISSING_MODULE,
                                        FailureKind.PROBE_ERROR, FailureKind.DEPENDENCY_CHECK):
                return True  # the import got past the name it lacked before
            return None

        return bisect_with_probes(releases, failing, predicate)

    def _confirm_boundary(self, boundary: Boundary, search: Search, owner: NormalizedName,
                          failing: Version, outcome: ProbeOutcome, lesson: Lesson) -> Boundary:
        """One real probe on the failing side of a statically found boundary.

        Needless when the failing probe itself sits at the edge: it is the proof.
        """
        failure = outcome.failure
        edge = search.first_without if search.direction == "removed" else search.last_without
        confirmed: tuple[int, ...] = ()
        if edge == failing:
            confirmed = _ids(outcome)
        elif self._confirm and edge is not None:
            result = self._reprobe({**_importer_of(outcome.failure), owner: edge})
            if result is not None:
                lesson.probes.append(result)
                again = result.failure
                if again and again.kind is failure.kind and again.name == failure.name:
                    confirmed = (result.probe_id,) if result.probe_id is not None else ()
                else:
                    lesson.notes.append(
                        f"static boundary at {owner} {edge} NOT confirmed by probe: "
                        f"{again.summary() if again else 'it passed'}"
                    )
        if not confirmed:
            return boundary
        return dataclasses.replace(boundary, confirmed_by=confirmed, method="static+probe")

    # missing module -------------------------------------------------------

    def _missing_module(self, failure: Failure, outcome: ProbeOutcome,
                        pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        module = failure.name or ""
        if not module:
            lesson.notes.append(f"no module name in: {failure.message}")
            return
        candidates = self._owner_candidates(module, failure, outcome)
        era = self._released(failure.importer_package, Version(failure.importer_version)) \
            if failure.importer_package and failure.importer_version else None
        if era is not None:
            dated = self._owner_in_era(module, candidates, outcome, pins, era)
            candidates = [dated] if dated else candidates[:_MAX_OWNER_CANDIDATES]
        else:
            candidates = candidates[:_MAX_OWNER_CANDIDATES]
        for owner in candidates:
            failing = _installed_version(owner, None, outcome, pins)
            if failing is None:
                continue
            releases = self._releases(owner)
            search = gallop_static(
                releases, failing, lambda v, o=owner: self._scanner.has_module(o, v, module)
            )
            if not search.found or search.direction != "removed":
                continue
            boundary = _boundary(owner, module, module, search, "static")
            lesson.boundaries.append(boundary)
            importer = canonicalize_name(failure.importer_package) \
                if failure.importer_package else None
            requires = f"{owner}{specifier_for(search.allowed(releases), releases)}"
            lesson.rules.append(Rule(
                requires=requires,
                because=f"{importer or 'the probe'} imports module {module}{_where(failure)}; "
                        f"{owner} shipped it up to {search.last_with} and not from "
                        f"{search.first_without}",
                kind="missing_module",
                package=importer,
                when_imports=(ImportCheck(module, "", failure.importer_version)
                              if importer else None),
                evidence=_ids(outcome),
                scanned=tuple(self._scanner.scanned[self._scans_before:]),
            ))
            lesson.universe.add(owner)
            if importer:
                lesson.universe.add(importer)
            return
        lesson.notes.append(f"no installed distribution ever shipped module {module!r}")

    def _owner_candidates(self, module: str, failure: Failure,
                          outcome: ProbeOutcome) -> list[NormalizedName]:
        """Distributions that may once have shipped `module`, likeliest first."""
        ranked: list[NormalizedName] = []
        if failure.package:
            ranked.append(canonicalize_name(failure.package))
        # A hint, not evidence: envprobe's own interpreter may still have an older
        # release that ships the module (setuptools and pkg_resources, say). The
        # wheel scan below is what proves it either way.
        top = module.split(".")[0]
        ranked += [canonicalize_name(d) for d in packages_distributions().get(top, [])
                   if canonicalize_name(d) not in ranked]
        installed = {canonicalize_name(n): v for n, v in outcome.installed.items()}
        dependents = self._dependents(installed)
        key = canonicalize_name(top)

        def likelihood(name: NormalizedName) -> tuple[bool, int, float]:
            # A similar name first (scikit-learn ships sklearn); then the distributions
            # most of the environment leans on, where undeclared imports usually land.
            similarity = difflib.SequenceMatcher(None, key, name).ratio()
            return similarity < _SIMILAR, -dependents.get(name, 0), -similarity

        ranked += sorted((n for n in installed if n not in ranked), key=likelihood)
        return ranked

    def _owner_in_era(self, module: str, candidates: list[NormalizedName], outcome: ProbeOutcome,
                      pins: dict[NormalizedName, Version], era: str) -> NormalizedName | None:
        """The first candidate whose release current when the importer came out ships `module`.

        The importer was written against the world of its release date, so one
        wheel per candidate (its newest release from then) answers the question;
        checked in parallel, likeliest first, a batch at a time.
        """
        def shipped_then(name: NormalizedName) -> bool:
            installed = _installed_version(name, None, outcome, pins)
            then = [v for v in self._releases(name)
                    if installed is not None and v < installed
                    and (self._released(name, v) or "~") <= era]
            return bool(then) and self._scanner.has_module(name, then[-1], module) is True

        with ThreadPoolExecutor(max_workers=8) as pool:
            for start in range(0, len(candidates), 16):
                batch = candidates[start:start + 16]
                for name, shipped in zip(batch, pool.map(shipped_then, batch), strict=True):
                    if shipped:
                        return name
        return None

    def _dependents(self, installed: dict[NormalizedName, str]) -> dict[NormalizedName, int]:
        """How many installed distributions declare each one (metadata only, in parallel)."""

        def requires(item: tuple[NormalizedName, str]) -> set[NormalizedName]:
            try:
                return {canonicalize_name(r.name)
                        for r in self._declared(item[0], Version(item[1]))}
            except (EnvprobeError, InvalidVersion, OSError):
                return set()

        counts: dict[NormalizedName, int] = {}
        with ThreadPoolExecutor(max_workers=8) as pool:
            for names in pool.map(requires, installed.items()):
                for name in names:
                    counts[name] = counts.get(name, 0) + 1
        return counts

    # import-time dependency checks ------------------------------------------

    def _dependency_check(self, failure: Failure, outcome: ProbeOutcome,
                          pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        # The raising frame's distribution did the check; `package` is the one it rejected.
        checker = failure.importer_package or (failure.frames[-1].package if failure.frames
                                               else None)
        version = failure.importer_version or (failure.frames[-1].version if failure.frames
                                               else None)
        for text in failure.requirements:
            requirement = _requirement(text)
            if requirement is None:
                continue
            lesson.rules.append(Rule(
                requires=str(requirement),
                because=f"{checker or 'a package'} {version or ''} checks at import time: "
                        f"{failure.message}".replace("  ", " "),
                kind="dependency_check",
                package=canonicalize_name(checker) if checker else None,
                versions=f"=={version}" if checker and version else "",
                evidence=_ids(outcome),
            ))
            lesson.universe.add(canonicalize_name(requirement.name))
            if checker:
                lesson.universe.add(canonicalize_name(checker))

    # installer failures ----------------------------------------------------------

    def _declared_conflict(self, failure: Failure, outcome: ProbeOutcome,
                           pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        """Each "X V depends on R" line becomes a rule; R's project joins the resolution.

        The resolver only weighs projects it tracks; a project that is no target
        (helper, required by two targets in ranges that do not meet) is where the
        conflict lives, so tracking it is what lets the next proposal avoid it.
        """
        for demand in failure.demands:
            requirement = _requirement(demand.requirement)
            if requirement is None or demand.package is None:
                continue
            parent = canonicalize_name(demand.package)
            lesson.universe |= {parent, canonicalize_name(requirement.name)}
            lesson.rules.append(Rule(
                requires=str(requirement),
                because=f"the installer reports: {demand.package}{demand.versions} depends on "
                        f"{demand.requirement}",
                kind="declared",
                package=parent,
                versions=demand.versions,
                evidence=_ids(outcome),
            ))

    def _no_distribution(self, failure: Failure, outcome: ProbeOutcome,
                         pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        requirement = _requirement(failure.name or "")
        if requirement is None:
            lesson.notes.append(f"cannot tell what has no distribution: {failure.message}")
            return
        name = canonicalize_name(requirement.name)
        if name in pins:
            lesson.rules.append(Rule(
                requires=f"{name}!={pins[name]}",
                because=f"no installable file of {name} {pins[name]} for this interpreter",
                kind="no_distribution",
                evidence=_ids(outcome),
            ))
        lesson.universe.add(name)

    def _build_failed(self, failure: Failure, outcome: ProbeOutcome,
                      pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        built, missing = failure.package, failure.name
        if not (built and missing):
            lesson.notes.append(f"a build failed without naming its cause: {failure.message}")
            return
        needed = canonicalize_name(missing.split(".")[0])
        lesson.rules.append(Rule(
            requires=str(needed),
            because=f"building {built} {failure.version or ''} imports {missing}, which its "
                    f"build requirements do not declare: pre-install it and build without "
                    f"isolation".replace("  ", " "),
            kind="build",
            package=canonicalize_name(built),
            evidence=_ids(outcome),
            install_option="build_without_isolation",
        ))

    # anything else ---------------------------------------------------------------

    def _blame(self, failure: Failure, outcome: ProbeOutcome,
               pins: dict[NormalizedName, Version], lesson: Lesson) -> None:
        """Exclude the release whose own code raised: a heuristic, and labelled so."""
        frame = next((f for f in reversed(failure.frames) if f.package and f.version), None)
        if frame is None:
            lesson.notes.append(f"nothing to learn from {failure.kind.value}: {failure.message}")
            return
        name = canonicalize_name(frame.package)
        lesson.rules.append(Rule(
            requires=f"{name}!={frame.version}",
            because=f"heuristic: {failure.kind.value} raised in {name} {frame.version} "
                    f"({frame.file}:{frame.line}): {failure.message}",
            kind="blamed",
            evidence=_ids(outcome),
        ))
        lesson.universe.add(name)


def _installed_version(name: NormalizedName, stated: str | None, outcome: ProbeOutcome,
                       pins: dict[NormalizedName, Version]) -> Version | None:
    candidates = [stated, {canonicalize_name(k): v for k, v in outcome.installed.items()}.get(name)]
    for text in candidates:
        if text:
            try:
                return Version(text)
            except InvalidVersion:
                continue
    return pins.get(name)


def _importer_of(failure: Failure | None) -> dict[str, Version]:
    """Hold the importer at the release that failed, so a re-probe tests only the owner."""
    if failure is None or not (failure.importer_package and failure.importer_version):
        return {}
    try:
        return {canonicalize_name(failure.importer_package): Version(failure.importer_version)}
    except InvalidVersion:
        return {}


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _ids(*outcomes: ProbeOutcome) -> tuple[int, ...]:
    return tuple(o.probe_id for o in outcomes if o.probe_id is not None)


def _where(failure: Failure) -> str:
    return f" in {failure.importer}" if failure.importer else ""


def _boundary(owner: NormalizedName, symbol: str, module: str, search: Search,
              method: str) -> Boundary:
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


def _provides_words(owner: str, symbol: str, module: str, search: Search) -> str:
    if search.direction == "removed":
        return f"{owner} provides it up to {search.last_with} and not from {search.first_without}"
    if search.direction == "added":
        return f"{owner} provides it from {search.first_with} on, not up to {search.last_without}"
    return f"no release of {owner} that was checked provides {symbol} in {module}"
