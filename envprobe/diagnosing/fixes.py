"""The smallest change that makes the failing import hold, every declared requirement kept.

Two ways out of a boundary: move the provider to the side of it that has the
name, or move the importer to a release that no longer asks for it. Each
candidate change is checked against the declared requirements of the whole
installed set (the installed metadata, the index's for releases that would
change); a dependent that the move breaks may move too, one step, and counts
as one more change. The fix that changes the fewest packages comes first.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.diagnosing.inventory import Inventory
from envprobe.diagnosing.releases import Releases
from envprobe.errors import EnvprobeError
from envprobe.model.diagnosis import Fix
from envprobe.model.rules import Boundary, Rule
from envprobe.solving.boundary import Speculative, gallop_static

__all__ = ["Need", "command_for", "find_fixes", "needs_from"]

_CANDIDATES = 3  # releases tried per way out, nearest first
_READERS = 4  # wheels read side by side while looking for an importer's way out
_DEPENDENT_RELEASES = 12  # releases of a broken dependent read (metadata only) for a repair


@dataclass(frozen=True)
class Need:
    """After the change, `target` must satisfy `specifier`; `importer` asks for `symbol`."""

    target: NormalizedName
    specifier: SpecifierSet
    importer: NormalizedName | None = None
    module: str = ""
    symbol: str = ""


def needs_from(rules: Iterable[Rule], boundaries: Iterable[Boundary],
               importer: str | None) -> list[Need]:
    """What the lesson's rules demand, and the boundaries of names no rule covers."""
    needs = []
    for rule in rules:
        if rule.install_option is not None:
            continue
        check = rule.when_imports
        needs.append(Need(rule.target, rule.requirement.specifier,
                          rule.package if check is not None else None,
                          check.module if check else "", check.symbol if check else ""))
    covered = {(n.target, n.module, n.symbol) for n in needs}
    for boundary in boundaries:
        if boundary.key in covered or boundary.direction not in ("removed", "added"):
            continue
        spec = (f"<{boundary.first_without}" if boundary.direction == "removed"
                else f">={boundary.first_with}")
        needs.append(Need(canonicalize_name(boundary.package), SpecifierSet(spec),
                          canonicalize_name(importer) if importer else None,
                          boundary.module, boundary.symbol))
    return needs


class _Checker:
    """Declared requirements of the set after a change: which ones it breaks."""

    def __init__(self, inventory: Inventory, releases: Releases) -> None:
        self.inventory, self.releases = inventory, releases
        self.installed = inventory.pins()

    def requires(self, name: NormalizedName, version: Version,
                 changes: dict[NormalizedName, Version]) -> list[Requirement]:
        if name not in changes:
            return self.inventory.declared(name)
        try:  # the extras the user installed come along: their requirements must hold too
            return self.releases.declared(name, version, self.inventory.extras_in_use(name))
        except EnvprobeError:
            return []

    def broken(self, changes: dict[NormalizedName, Version]) -> list[tuple[NormalizedName,
                                                                             Requirement]]:
        """(who, requirement) pairs the changed set breaks; conflicts already there excepted."""
        after = {**self.installed, **changes}
        found = []
        for name, version in after.items():
            for requirement in self.requires(name, version, changes):
                target = canonicalize_name(requirement.name)
                if name not in changes and target not in changes:
                    continue  # untouched on both ends: as it was before
                have = after.get(target)
                if have is None:
                    continue  # the installer adds it: counted by `added`, not broken
                if not requirement.specifier.contains(have, prereleases=True):
                    found.append((name, requirement))
        return found

    def added(self, changes: dict[NormalizedName, Version]) -> list[NormalizedName]:
        """Projects the changed releases require that are not installed: the installer adds them."""
        after = {**self.installed, **changes}
        return sorted({canonicalize_name(r.name) for name, version in changes.items()
                       for r in self.requires(name, version, changes)
                       if canonicalize_name(r.name) not in after})

    def fits(self, name: NormalizedName, version: Version,
             changes: dict[NormalizedName, Version]) -> bool:
        """Whether this release's own requirements hold in the changed set."""
        after = {**self.installed, **changes, name: version}
        for requirement in self.requires(name, version, {**changes, name: version}):
            have = after.get(canonicalize_name(requirement.name))
            if have is not None and not requirement.specifier.contains(have, prereleases=True):
                return False
        return True


def find_fixes(needs: list[Need], inventory: Inventory, releases: Releases,
               python: str, installer: str) -> list[Fix]:
    """Fixes, fewest packages moved or added first; each a consistent change for `installer`."""
    checker = _Checker(inventory, releases)
    found: list[tuple[int, int, Fix]] = []
    for order, fix in enumerate([*_provider_moves(needs, checker),
                                 *_importer_moves(needs, checker)]):
        if fix is not None and all(fix.changes != f.changes for _, _, f in found):
            fix.extras = {name: list(extras) for name in fix.changes
                          if (extras := inventory.extras_in_use(name))}
            fix.command = command_for(fix.changes, python, installer, fix.extras)
            found.append((len(fix.moves), order, fix))
    return [fix for _, _, fix in sorted(found, key=lambda item: item[:2])]


def command_for(changes: dict[str, str], python: str, installer: str,
                extras: dict[str, list[str]] | None = None) -> str:
    """The install command, in the user's installer's words, keeping the extras in use."""
    specs = [shlex.quote(f"{name}{_bracketed((extras or {}).get(name))}{spec}")
             for name, spec in changes.items()]
    if installer == "uv":
        return shlex.join(["uv", "pip", "install", "--python", python]) + " " + " ".join(specs)
    return f"{shlex.quote(python)} -m pip install " + " ".join(specs)


def _bracketed(extras: list[str] | None) -> str:
    return f"[{','.join(extras)}]" if extras else ""


def _provider_moves(needs: list[Need], checker: _Checker) -> list[Fix | None]:
    """Each constrained project moved to the newest release its needs allow."""
    fixes = []
    for target in dict.fromkeys(n.target for n in needs):
        spec = SpecifierSet()
        for need in needs:
            if need.target == target:
                spec &= need.specifier
        have = checker.installed.get(target)
        if have is not None and spec.contains(have, prereleases=True):
            continue  # already there: this need is not what fails
        allowed = list(spec.filter(checker.releases.releases(target)))
        finals = [v for v in allowed if not v.is_prerelease] or allowed
        for version in _nearest_first(finals, have)[:_CANDIDATES]:
            # The installer takes the newest release a range allows: name another one exactly.
            words = str(spec) if version == max(finals) and str(spec) else f"=={version}"
            fix = _consistent({target: version}, checker, {target: words})
            if fix is not None:
                fixes.append(fix)
                break
    return fixes


def _nearest_first(versions: list[Version], have: Version | None) -> list[Version]:
    """Releases by distance from the installed one: the smallest move first (newest if none)."""
    ordered = sorted(versions, reverse=True)
    if have is None:
        return ordered
    below = [v for v in ordered if v < have]
    above = sorted(v for v in versions if v > have)
    return below + above if below and (not above or have > max(versions)) else above + below


def _importer_moves(needs: list[Need], checker: _Checker) -> list[Fix | None]:
    """Each importer moved to the nearest release that no longer imports what it lacks."""
    fixes = []
    by_importer: dict[NormalizedName, list[Need]] = {}
    for need in needs:
        if need.importer and need.importer in checker.installed:
            by_importer.setdefault(need.importer, []).append(need)
    for importer, asks in by_importer.items():
        have = checker.installed[importer]

        def free(version: Version, importer: str = importer,
                 asks: list[Need] = asks) -> bool | None:
            """True where no release-level import of the lacking names is left."""
            scanner = checker.releases.scanner
            answers = [scanner.imports(importer, version, n.module, n.symbol) for n in asks]
            return None if None in answers else not any(answers)

        for version in _nearest_free(checker.releases.releases(importer), have, free):
            fix = _consistent({importer: version}, checker, {importer: f"=={version}"})
            if fix is not None:
                fixes.append(fix)
                break
    return fixes


def _nearest_free(releases: list[Version], have: Version,
                  free: Callable[[Version], bool | None]) -> list[Version]:
    """The first newer release free of the import, then the last older one (a gallop each).

    Each answer reads every module of a release's wheel (NeMo's: a thousand), mostly
    waiting on the network when cold, so both gallops' first steps are read side by
    side on threads."""
    with ThreadPoolExecutor(max_workers=_READERS) as pool:
        try:
            return _gallops(releases, have, Speculative(free, pool))
        finally:
            pool.shutdown(cancel_futures=True)


def _gallops(releases: list[Version], have: Version, free: Speculative) -> list[Version]:
    found = []
    newer = [v for v in releases if v >= have and not v.is_prerelease] or [have]
    older = [v for v in releases if v <= have and not v.is_prerelease]
    free.warm([*free.ladder([have, *newer], have), *free.ladder([*older, have], have)])
    search = gallop_static([have, *newer], have, free)
    if search.direction == "added" and search.first_with is not None:
        found += [v for v in newer if v >= search.first_with][:_CANDIDATES]
    search = gallop_static([*older, have], have, free)
    if search.direction == "removed" and search.last_with is not None:
        found += sorted((v for v in older if v <= search.last_with), reverse=True)[:_CANDIDATES]
    return found


def _consistent(changes: dict[NormalizedName, Version], checker: _Checker,
                specs: dict[str, str]) -> Fix | None:
    """The change as a fix, with one step of repair for dependents it breaks; None if none."""
    moved = dict(changes)
    if not all(checker.fits(name, version, moved) for name, version in moved.items()):
        return None
    for who, requirement in checker.broken(moved):
        if who in moved:
            return None
        repaired = _repair(who, moved, checker)
        if repaired is None:
            return None
        moved[who] = repaired
        specs[who] = f"=={repaired}"
    if checker.broken(moved):
        return None
    moves = [f"{name} {checker.installed.get(name, '(not installed)')} -> {version}"
             for name, version in moved.items()]
    moves += [f"{name} added (required by the new releases)" for name in checker.added(moved)]
    return Fix(changes=specs, command="", moves=moves,
               versions={name: str(version) for name, version in moved.items()})


def _repair(who: NormalizedName, moved: dict[NormalizedName, Version],
            checker: _Checker) -> Version | None:
    """The release of `who` nearest its installed one whose requirements the move keeps."""
    have = checker.installed[who]
    releases = [v for v in checker.releases.releases(who) if not v.is_prerelease]
    nearest = sorted(releases, key=lambda v: (v > have, -releases.index(v) if v < have
                                              else releases.index(v)))
    for version in [v for v in nearest if v != have][:_DEPENDENT_RELEASES]:
        if checker.fits(who, version, moved):
            return version
    return None
