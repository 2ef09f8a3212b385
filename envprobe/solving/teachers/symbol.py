"""Missing symbol: a module imported, a name not in it.

The owner's releases are scanned outwards from the failing one for the
release where the name vanished (or appeared); only when the wheels cannot
tell does it bisect with real installs. A static boundary is confirmed by the
release past it: installed alone and asked (a micro-probe) where it has a
wheel, else by one probe of the whole set with it. The rule applies to the importer's releases
that import the name, and points at its boundary by key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.model.outcome import FailureKind
from envprobe.model.result import Purpose
from envprobe.model.rules import (
    Boundary,
    BoundaryMethod,
    ImportCheck,
    Rule,
    RuleKind,
    specifier_for,
)
from envprobe.solving.boundary import Search, bisect_with_probes, gallop_static
from envprobe.solving.teachers.common import (
    Case,
    Lesson,
    Tools,
    boundary_of,
    ids,
    importer_of,
    installed_version,
    release_words,
    where,
)

__all__ = ["bisect_by_probe", "confirm_boundary", "find_boundary", "good_side",
           "missing_symbol", "no_wheel_words"]

_NOTHING = "<0.dev0"  # admits no release: "no version of this project will do"
# Failures that show an import got past the name it lacked before.
_GOT_FURTHER = (FailureKind.MISSING_SYMBOL, FailureKind.MISSING_MODULE,
                FailureKind.MISSING_ATTRIBUTE, FailureKind.REMOVED_KEYWORD,
                FailureKind.PROBE_ERROR, FailureKind.DEPENDENCY_CHECK)


def missing_symbol(tools: Tools, case: Case, lesson: Lesson) -> None:
    failure = case.failure
    module, symbol = failure.module or "", failure.name or ""
    owner = canonicalize_name(failure.package or module.split(".")[0])
    failing = installed_version(owner, failure.version, case)
    if not (module and symbol and failing):
        lesson.notes.append(f"cannot tell which release lacks {symbol!r}: {failure.message}")
        return
    releases = tools.releases(owner)
    alone = getattr(tools.scanner, "provides_alone", None)
    search, boundary = find_boundary(
        tools, case, lesson, owner, failing, releases, symbol, module,
        lambda v: tools.scanner.provides(owner, v, module, symbol),
        alone=alone and (lambda v: alone(owner, v, module, symbol)))
    if not search.found and None in search.checked.values():
        # Releases that could not be read or built say nothing about the name: claiming
        # that no release provides it would be wrong evidence, and a false verdict.
        unknown = [str(v) for v, has in sorted(search.checked.items()) if has is None]
        lesson.notes.append(f"cannot tell where {symbol!r} left {owner}: neither a scan nor a "
                            f"probe could read {', '.join(unknown)}")
        return
    _rule(tools, case, lesson, releases, search, boundary)
    for sibling in _siblings(tools, case, module, symbol):
        # Python names only the first missing name of a `from m import a, b`; the
        # others would each cost a full install to discover one by one.
        found = gallop_static(
            releases, failing, lambda v, n=sibling: tools.scanner.provides(owner, v, module, n)
        )
        if found.found:
            _rule(tools, case, lesson, releases, found,
                  boundary_of(owner, sibling, module, found, BoundaryMethod.STATIC))


def _rule(tools: Tools, case: Case, lesson: Lesson, releases: list[Version], search: Search,
          boundary: Boundary) -> None:
    """`importer` (the releases that import the name) requires the owner's good side."""
    failure, owner = case.failure, canonicalize_name(boundary.package)
    lesson.boundaries.append(boundary)
    requires = f"{owner}{good_side(tools, owner, search, releases)}"
    importer = canonicalize_name(failure.importer_package) if failure.importer_package else None
    who = release_words(importer, failure.importer_version) if importer else "the probe"
    uses = (f"uses {boundary.module}.{boundary.symbol}"
            if failure.kind is FailureKind.MISSING_ATTRIBUTE
            else f"imports {boundary.symbol} from {boundary.module}")
    lesson.learn(Rule(
        requires=requires,
        because=f"{who} {uses}{where(failure)}; "
                f"{_provides_words(owner, boundary.symbol, boundary.module, search)}"
                f"{no_wheel_words(tools, owner, search, releases)}",
        kind=RuleKind.MISSING_SYMBOL,
        package=importer,
        when_imports=(ImportCheck(boundary.module, boundary.symbol, failure.importer_version)
                      if importer else None),
        evidence=ids(case.outcome, *lesson.probes),
        scanned=case.scanned(tools),
        boundary=boundary.key,
    ))


def _siblings(tools: Tools, case: Case, module: str, symbol: str) -> list[str]:
    """Other names the failing `from module import ...` statement asks for."""
    failure = case.failure
    if not (failure.importer and failure.importer_package and failure.importer_version):
        return []
    file, _, line = failure.importer.rpartition(":")
    if not line.isdigit():
        return []
    names = tools.scanner.names_at(
        canonicalize_name(failure.importer_package), Version(failure.importer_version),
        module, file, int(line),
    )
    return [n for n in names if n != symbol]


def find_boundary(tools: Tools, case: Case, lesson: Lesson, owner: NormalizedName,
                  failing: Version, releases: list[Version], label: str, module: str,
                  static: Callable[[Version], bool | None],
                  alone: Callable[[Version], bool | None] | None = None,
                  ) -> tuple[Search, Boundary]:
    """Cheap first: the releases' files (then one confirming probe); real installs only
    where no file could answer. Shared by every teacher whose question is "which release
    changed". The files read include releases with no wheel for this Python (`known`):
    the boundary is where the name really left, whether or not its good side installs here.
    `alone` asks a release installed alone (a micro-probe): where it agrees that the
    release past the edge lacks the name, no confirming install of the set is needed."""
    search = gallop_static(tools.known(owner) if tools.known else releases, failing, static)
    if search.found and (_asked_alone(tools, owner, search)
                         or _confirmed_alone(tools, search, failing, alone)):
        # The release past the edge, installed alone, lacked the name at run time:
        # that is the proof a confirming install of the whole set would give.
        return search, boundary_of(owner, label, module, search, BoundaryMethod.MICRO_PROBE)
    if search.found:
        return search, confirm_boundary(tools, case, lesson, search, owner, failing,
                                        boundary_of(owner, label, module, search,
                                                    BoundaryMethod.STATIC))
    search = bisect_by_probe(tools, case, lesson, owner, failing, releases)
    return search, boundary_of(owner, label, module, search, BoundaryMethod.PROBE)


def _asked_alone(tools: Tools, owner: NormalizedName, search: Search) -> bool:
    """Whether a micro-probe answered for the release on the failing side of the edge."""
    edge = search.first_without if search.direction == "removed" else search.last_without
    return tools.micro_probed is not None and edge is not None and tools.micro_probed(owner, edge)


def _confirmed_alone(tools: Tools, search: Search, failing: Version,
                     alone: Callable[[Version], bool | None] | None) -> bool:
    """Whether the release past a static edge, installed alone, lacks the name too.

    Not where the failing probe sits at the edge (it is the proof already),
    nor where confirmations are off.
    """
    edge = search.first_without if search.direction == "removed" else search.last_without
    if alone is None or not tools.confirm or edge is None or edge == failing:
        return False
    return alone(edge) is False


def bisect_by_probe(tools: Tools, case: Case, lesson: Lesson, owner: NormalizedName,
                     failing: Version, releases: list[Version]) -> Search:
    """Real installs decide, one per step, when no wheel could answer."""
    failure = case.failure

    def predicate(version: Version) -> bool | None:
        result = tools.reprobe({**importer_of(failure), owner: version}, Purpose.BISECT)
        if result is None:
            return None
        lesson.probes.append(result)
        if result:
            return True
        again = result.failure
        if again and again.kind is failure.kind and again.name == failure.name:
            return False
        if again and again.kind in _GOT_FURTHER:
            return True
        return None

    return bisect_with_probes(releases, failing, predicate)


def confirm_boundary(tools: Tools, case: Case, lesson: Lesson, search: Search,
                     owner: NormalizedName, failing: Version, boundary: Boundary) -> Boundary:
    """One real probe on the failing side of a statically found boundary.

    Needless when the failing probe itself sits at the edge: it is the proof.
    """
    failure = case.failure
    edge = search.first_without if search.direction == "removed" else search.last_without
    confirmed: tuple[int, ...] = ()
    if edge == failing:
        confirmed = ids(case.outcome)
    elif tools.confirm and edge is not None and edge in tools.releases(owner):
        fixed = {**importer_of(failure), owner: edge}
        if tools.defer is not None and tools.defer(fixed, boundary, failure):
            return boundary  # confirmed beside the next proposal (confirmations.py)
        result = tools.reprobe(fixed, Purpose.CONFIRM)
        if result is not None:
            lesson.probes.append(result)
            again = result.failure
            if again and again.kind is failure.kind and again.name == failure.name:
                confirmed = ids(result)
            else:
                lesson.notes.append(
                    f"static boundary at {owner} {edge} NOT confirmed by probe: "
                    f"{again.summary() if again else 'it passed'}"
                )
    if not confirmed:
        return boundary
    return dataclasses.replace(boundary, confirmed_by=confirmed,
                               method=BoundaryMethod.STATIC_AND_PROBE)


def good_side(tools: Tools, owner: str, search: Search, releases: list[Version]) -> str:
    """The specifier of the releases on the good side: installable ones where there are,
    else the index's (a rule no installable release meets, but that says where the name is)."""
    if not search.found:
        return _NOTHING
    if allowed := search.allowed(releases):
        return str(specifier_for(allowed, releases))
    known = sorted(set(tools.known(owner)) | set(releases)) if tools.known else releases
    allowed = search.allowed(known)
    return str(specifier_for(allowed, known)) if allowed else _NOTHING


def no_wheel_words(tools: Tools, owner: str, search: Search, releases: list[Version]) -> str:
    """"; 2.0.1 provides it, ships no wheel for cp311: usable with allow_sdist" where the
    good side holds no release that installs here: the name is there, the wheel is not."""
    if not search.found or search.allowed(releases):
        return ""
    nearest = search.last_with if search.direction == "removed" else search.first_with
    tag = getattr(tools.scanner, "python_tag", "this Python")
    return f"; {owner} {nearest} provides it, ships no wheel for {tag}: usable with allow_sdist"


def _provides_words(owner: str, symbol: str, module: str, search: Search) -> str:
    if search.direction == "removed":
        return f"{owner} provides it up to {search.last_with} and not from {search.first_without}"
    if search.direction == "added":
        return f"{owner} provides it from {search.first_with} on, not up to {search.last_without}"
    return f"no release of {owner} that was checked provides {symbol} in {module}"
