"""`--fix`: a solve seeded with the environment, changing as little as possible.

The solver's provider and resolver, given every installed distribution as a
root and the learned rules, with one difference in the order of candidates:
the installed release first, then the others nearest to it (older ones
first, as a fix moves back more often than forward). resolvelib keeps the
first candidate that fits, so a project moves only when a rule or a moved
neighbour's declared requirements force it to, and then as little as it
can. Candidates are produced lazily: a project that keeps its release never
has its index page read, so a NeMo-sized set resolves in about a second.

Declared conflicts already in the environment are not this fix's to mend:
a requirement the installed set already breaks, between two releases that
stay, is left out, as `pip check`'s findings are listed apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from envprobe.diagnosing.fixes import command_for, needs_from
from envprobe.diagnosing.inventory import Inventory, applicable
from envprobe.diagnosing.releases import Releases
from envprobe.errors import EnvprobeError
from envprobe.model.diagnosis import Fix
from envprobe.model.rules import Boundary, ImportCheck, Rule, RuleKind
from envprobe.solving.provider import Candidate, Need, SolveProvider

__all__ = ["SeededSolve", "boundary_rules"]

_LEFT_OUT = frozenset({"pip"})  # the installer's own seed: never part of the change


class _InstalledFirstIndex:
    """The index as the provider reads it: an installed release's own metadata."""

    def __init__(self, releases: Releases, inventory: Inventory) -> None:
        self.releases, self.inventory = releases, inventory
        self._broken = _already_broken(inventory)
        self._installed: dict[tuple[str, tuple[str, ...]], list[Requirement]] = {}

    def versions(self, name: str) -> list[Version]:
        return self.releases.releases(name)

    def files(self, name: str, version: Version | None = None) -> list[Any]:
        return self.releases.index.files(name, version)

    def dependencies(self, name: str, version: Version, extras: Iterable[str] = (),
                     environment: Any = None) -> list[Requirement]:
        here = self.inventory.dists.get(canonicalize_name(name))
        if here is None or here.parsed_version() != version:
            return self.releases.declared(name, version, tuple(extras))
        key = (here.name, tuple(sorted(extras)))
        if key not in self._installed:
            chosen = {str(r): r for extra in ("", *extras)
                      for r in applicable(here.requires, self.inventory.environment, extra)}
            self._installed[key] = [r for text, r in chosen.items()
                                    if (here.name, text) not in self._broken]
        return self._installed[key]


def _already_broken(inventory: Inventory) -> set[tuple[str, str]]:
    """(who, requirement text) pairs the installed set breaks already."""
    broken = set()
    for dist in inventory.dists.values():
        for requirement in inventory.declared(dist.name):
            other = inventory.dists.get(canonicalize_name(requirement.name))
            version = other.parsed_version() if other else None
            if version is not None and not requirement.specifier.contains(version,
                                                                          prereleases=True):
                broken.add((dist.name, str(requirement)))
    return broken


class _SeededProvider(AbstractProvider):
    """The solver's provider with installed-first, nearest-next candidates, made lazily."""

    def __init__(self, inner: SolveProvider, index: _InstalledFirstIndex,
                 prefer: Mapping[NormalizedName, Version],
                 extras: Mapping[NormalizedName, frozenset[str]]) -> None:
        self._inner, self._index, self._prefer, self._extras = inner, index, prefer, extras

    def identify(self, requirement_or_candidate: Need | Candidate) -> str:
        return requirement_or_candidate.name

    def get_preference(self, identifier: str, resolutions: Mapping[str, Candidate],
                       candidates: Mapping[str, Iterator[Candidate]],
                       information: Mapping[str, Iterator[Any]],
                       backtrack_causes: Sequence[Any]) -> tuple[bool, bool, str]:
        causes = {info.requirement.name for info in backtrack_causes}
        # Projects a rule or a conflict is about first: the rest then settle around them.
        ruled = any(info.requirement.origin == "rule" for info in information[identifier])
        return identifier not in causes, not ruled, identifier

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Need]],
                     incompatibilities: Mapping[str, Iterator[Candidate]]
                     ) -> Callable[[], Iterator[Candidate]]:
        needs = list(requirements[identifier])
        excluded = {c.version for c in incompatibilities[identifier]}
        extras = frozenset().union(self._extras.get(identifier, frozenset()),
                                   *(n.extras for n in needs))
        have = self._prefer.get(identifier)
        pre = any(n.specifier.prereleases for n in needs)

        def fits(version: Version) -> bool:
            return version not in excluded and all(
                n.specifier.contains(version, prereleases=True) for n in needs)

        def candidates() -> Iterator[Candidate]:
            if have is not None and fits(have):
                yield Candidate(identifier, have, extras)  # no page read for a release that stays
            try:
                known = self._index.versions(identifier)
            except EnvprobeError:
                return
            for version in _nearest(known, have):
                if version != have and (pre or not version.is_prerelease) and fits(version):
                    yield Candidate(identifier, version, extras)

        return candidates

    def is_satisfied_by(self, requirement: Need, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Need]:
        return self._inner.get_dependencies(candidate)


def _nearest(versions: list[Version], have: Version | None) -> list[Version]:
    """Releases by distance from the installed one, an older one before a newer at each step;
    the newest first when nothing is installed."""
    ordered = sorted(versions)
    if have is None:
        return ordered[::-1]
    older = [v for v in ordered if v < have][::-1]
    newer = [v for v in ordered if v > have]
    mixed = []
    for step in range(max(len(older), len(newer))):
        mixed += [v[step] for v in (older, newer) if step < len(v)]
    return mixed


class SeededSolve:
    """Resolves the installed set plus learned rules into the nearest consistent set."""

    def __init__(self, inventory: Inventory, releases: Releases) -> None:
        self.inventory, self.releases = inventory, releases
        self.index = _InstalledFirstIndex(releases, inventory)
        self.prefer = {n: v for n, v in inventory.pins().items() if n not in _LEFT_OUT}
        self.extras = {n: frozenset(e) for n in self.prefer
                       if (e := inventory.extras_in_use(n))}

    def resolve(self, rules: list[Rule]) -> dict[NormalizedName, Version] | str:
        """The whole set after the change (name -> release), or why none exists."""
        rules = [r for r in rules if r.install_option is None]
        universe = set(self.prefer) | {r.target for r in rules} | {
            r.package for r in rules if r.package}
        inner = SolveProvider(
            self.index, universe=universe, rules=rules, pins={}, extras=self.extras,
            python_version=self.releases.interpreter.python_version,
            tags=frozenset(self.releases.interpreter.tags),
            environment=self.releases.interpreter.environment, allow_sdist=True,
            imports_symbol=self._imports_symbol,
        )
        roots = [Need(name, SpecifierSet(), "scenario", extras=self.extras.get(name, frozenset()))
                 for name in sorted(self.prefer)]
        roots += [Need(r.target, r.requirement.specifier, "rule", rule=r)
                  for r in rules if r.package is None]
        provider = _SeededProvider(inner, self.index, self.prefer, self.extras)
        try:
            result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=2000)
        except ResolutionImpossible as impossible:
            causes = sorted({cause.requirement.describe() for cause in impossible.causes})
            return "no consistent set: " + "; ".join(causes[:6])
        except ResolutionTooDeep:
            return "the resolver gave up (too many rounds)"
        return {canonicalize_name(n): c.version for n, c in result.mapping.items()}

    def fix_of(self, whole: dict[NormalizedName, Version], python: str, installer: str) -> Fix:
        """The change from the installed set to `whole`, as one install command."""
        moved = {n: v for n, v in sorted(whole.items()) if self.prefer.get(n) != v}
        changes = {str(n): f"=={v}" for n, v in moved.items()}
        extras = {str(n): sorted(self.extras[n]) for n in moved if n in self.extras}
        moves = [f"{n} {self.prefer[n]} -> {v}" if n in self.prefer else f"{n} {v} added"
                 for n, v in moved.items()]
        added = sorted({canonicalize_name(r.name) for n, v in moved.items()
                        for r in self._declared(n, v)} - set(whole))
        moves += [f"{name} added (required by the new releases)" for name in added]
        return Fix(changes=changes, command=command_for(changes, python, installer, extras),
                   moves=moves, versions={str(n): str(v) for n, v in moved.items()},
                   extras=extras)

    def _declared(self, name: NormalizedName, version: Version) -> list[Requirement]:
        try:
            return self.index.dependencies(name, version, self.extras.get(name, ()))
        except EnvprobeError:
            return []

    def _imports_symbol(self, candidate: Candidate, rule: Rule) -> bool:
        """Whether a release still imports what the rule is about; applied when unsure."""
        check = rule.when_imports
        assert check is not None
        if check.observed is not None and Version(check.observed) == candidate.version:
            return True
        answer = self.releases.scanner.imports(candidate.name, candidate.version, check.module,
                                               check.symbol)
        return answer is not False


def boundary_rules(boundaries: list[Boundary], rules: list[Rule], importer: str | None,
              inventory: Inventory) -> list[Rule]:
    """Rules for the boundaries no rule stands on (the other names of one import)."""
    covered = {r.boundary for r in rules if r.boundary is not None}
    found = []
    for need in needs_from([], [b for b in boundaries if b.key not in covered], importer):
        who = need.importer if need.importer in inventory.dists else None
        observed = inventory.dists[who].version if who else None
        found.append(Rule(
            requires=f"{need.target}{need.specifier}", kind=RuleKind.MISSING_SYMBOL,
            because=f"{who or 'the code'} imports {need.symbol} from {need.module}",
            package=who, versions="", scanned=(),
            when_imports=ImportCheck(need.module, need.symbol, observed) if who else None))
    return found
