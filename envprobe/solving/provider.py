"""The resolvelib provider: declared metadata plus learned rules, nothing else.

The resolver works over a small universe of projects — the scenario's
targets and fixed pins, plus every project a learned rule names — and leaves
the rest of the dependency tree to the installer, as a user would. One
question about the rest is cheap and saves a probe: whether a declared
requirement outside the universe can be met by any release at all (a new
release that needs a dependency's release nobody has published yet); a
release that needs one nobody can is no candidate. Each
requirement carries its origin (scenario, declared by a parent, or a learned
rule), so an impossible resolution can be explained in plain words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version
from resolvelib import AbstractProvider

from envprobe.errors import IndexUnreachable, UnknownPackage
from envprobe.model.rules import Rule

__all__ = ["Candidate", "IndexLike", "Need", "SolveProvider"]

_PAGE_READERS = 8  # index pages of a release's other dependencies, read side by side


class IndexLike(Protocol):
    def versions(self, name: str) -> list[Version]: ...
    def files(self, name: str, version: Version | None = None) -> list[Any]: ...
    def dependencies(
        self, name: str, version: Version, extras: Iterable[str] = (), environment: Any = None
    ) -> list[Requirement]: ...


@dataclass(frozen=True)
class Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()

    def requirement(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras}=={self.version}"


@dataclass(frozen=True)
class Need:
    """A requirement on one project, with where it came from."""

    name: NormalizedName
    specifier: SpecifierSet
    origin: str  # "scenario", "pin", "held" (fixed for one question), "declared" or "rule"
    parent: Candidate | None = None
    rule: Rule | None = None
    extras: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        spec = str(self.specifier) or " (any version)"
        if self.rule is not None:
            who = f"{self.parent.name} {self.parent.version}" if self.parent else "the probe"
            return f"{who} needs {self.name}{spec} (learned: {self.rule.because})"
        if self.parent is not None:
            return f"{self.parent.name} {self.parent.version} declares {self.name}{spec}"
        if self.origin == "pin":
            return f"the scenario pins {self.name}{spec}"
        if self.origin == "held":
            return f"{self.name}{spec} is held"
        return f"the scenario asks for {self.name}{spec}"


class SolveProvider(AbstractProvider):
    """Adapts the package index and the learned rules to resolvelib."""

    def __init__(
        self,
        index: IndexLike,
        *,
        universe: Iterable[str],
        rules: Sequence[Rule],
        pins: Mapping[str, Version],
        extras: Mapping[str, frozenset[str]],
        python_version: Version,
        tags: frozenset[Tag],
        environment: dict[str, str],
        allow_sdist: bool,
        imports_symbol: Callable[[Candidate, Rule], bool],
        order: Sequence[str] = (),
        installable: dict[tuple[str, Version], bool] | None = None,
        meetable: dict[tuple[str, str], bool] | None = None,
    ) -> None:
        self._index = index
        self._universe = {canonicalize_name(n) for n in universe}
        self._rules = list(rules)
        self._pins = {canonicalize_name(k): v for k, v in pins.items()}
        self._extras = {canonicalize_name(k): v for k, v in extras.items()}
        self._python = python_version
        self._tags = tags
        self._environment = environment
        self._allow_sdist = allow_sdist
        self._imports_symbol = imports_symbol
        self._order = {canonicalize_name(n): i for i, n in enumerate(order)}
        # Which releases install depends on the files and the interpreter only, not on
        # the rules: a caller that makes a provider per rule set may share the answers.
        self._installable = installable if installable is not None else {}
        # The same holds for requirements outside the universe: (project, specifier) -> answer.
        self._meetable = meetable if meetable is not None else {}

    # resolvelib protocol -------------------------------------------------

    def identify(self, requirement_or_candidate: Need | Candidate) -> str:
        return requirement_or_candidate.name

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, int, str]:
        causes = {info.requirement.name for info in backtrack_causes}
        return (
            identifier not in self._pins,
            identifier not in causes,
            self._order.get(identifier, len(self._order)),
            identifier,
        )

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Need]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        needs = list(requirements[identifier])
        excluded = {c.version for c in incompatibilities[identifier]}
        extras = frozenset().union(self._extras.get(identifier, frozenset()),
                                   *(n.extras for n in needs))
        pinned = identifier in self._pins
        if pinned:
            versions = [self._pins[identifier]]
        elif identifier in self._universe:
            versions = sorted(self._index.versions(identifier), reverse=True)
        else:  # an unmeetable requirement outside the universe (`_meetable_outside`)
            versions = sorted(self._versions_or_none(identifier) or [], reverse=True)
        # Pre-releases only when pinned or named by a specifier (">=3.0rc1"), as installers
        # do; packaging's default for `contains` changed between releases, so it is explicit.
        pre = pinned or any(n.specifier.prereleases for n in needs)
        matches = []
        for version in versions:
            if version in excluded or (version.is_prerelease and not pre):
                continue
            if not all(n.specifier.contains(version, prereleases=True) for n in needs):
                continue
            if not pinned and not self.installable(identifier, version):
                continue
            matches.append(Candidate(identifier, version, extras))
        return matches

    def is_satisfied_by(self, requirement: Need, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Need]:
        # A pin's declared tree is the installer's (it sits in the base layer); what was
        # learned about it still binds: torch's ONNX exporter needs onnxscript, say.
        needs = []
        declared = [] if candidate.name in self._pins else self._index.dependencies(
            candidate.name, candidate.version, candidate.extras, self._environment
        )
        outside = [r for r in declared if canonicalize_name(r.name) not in self._universe]
        self._read_pages({canonicalize_name(r.name) for r in outside})
        for requirement in declared:
            name = canonicalize_name(requirement.name)
            if name == candidate.name:
                continue
            # Outside the universe the installer picks the release; a requirement no
            # release meets stays, so the resolver sees the dead end without a probe.
            if name in self._universe or not self._meetable_outside(name, requirement):
                needs.append(Need(name, requirement.specifier, "declared", parent=candidate,
                                  extras=frozenset(requirement.extras)))
        for rule in self._rules:
            if rule.package != candidate.name or not rule.covers(candidate.version):
                continue
            if rule.when_imports is not None and not self._imports_symbol(candidate, rule):
                continue
            requirement = rule.requirement
            needs.append(Need(canonicalize_name(requirement.name), requirement.specifier,
                              "rule", parent=candidate, rule=rule))
        return needs

    # helpers ---------------------------------------------------------------

    def _read_pages(self, names: set[str]) -> None:
        """Read the index pages of `names` side by side: those of projects no requirement
        was asked about yet (asking reads the page; the index memoises it)."""
        asked = {name for name, _ in self._meetable}
        unread = sorted(names - asked)
        if len(unread) > 1:
            with ThreadPoolExecutor(min(_PAGE_READERS, len(unread))) as pool:
                list(pool.map(self._versions_or_none, unread))

    def _versions_or_none(self, name: str) -> list[Version] | None:
        try:
            return self._index.versions(name)
        except (UnknownPackage, IndexUnreachable):
            return None  # said (or not) when it matters, by `_meetable_outside`

    def _meetable_outside(self, name: str, requirement: Requirement) -> bool:
        """Whether some release of `name` outside the universe meets `requirement` here.

        Lenient wherever an installer may be: pre-releases count, and so do
        source distributions and yanked files (pip takes a yanked release
        pinned with ==). An unreachable index proves nothing: True.
        """
        key = (name, str(requirement.specifier))
        if key not in self._meetable:
            try:
                files = self._index.files(name)
            except UnknownPackage:
                files = []
            except IndexUnreachable:
                files = None
            self._meetable[key] = files is None or any(
                requirement.specifier.contains(f.version, prereleases=True)
                and self._file_fits(f, sdists=True, yanked=True) for f in files
            )
        return self._meetable[key]

    def installable(self, name: str, version: Version) -> bool:
        """Whether some file of this release installs on the probe's interpreter."""
        key = (name, version)
        if key not in self._installable:
            self._installable[key] = any(
                self._file_fits(f) for f in self._index.files(name, version)
            )
        return self._installable[key]

    def wheeled(self, name: str, version: Version) -> bool:
        """Whether this release ships a wheel the probe's interpreter installs."""
        return any(f.filename.endswith(".whl") and self._file_fits(f)
                   for f in self._index.files(name, version))

    def _file_fits(self, dist_file: Any, *, sdists: bool | None = None,
                   yanked: bool = False) -> bool:
        if getattr(dist_file, "yanked", False) and not yanked:
            return False
        requires_python = getattr(dist_file, "requires_python", None)
        if requires_python:
            try:
                if not SpecifierSet(requires_python).contains(self._python, prereleases=True):
                    return False
            except ValueError:
                pass  # an unparsable marker is the installer's problem, not a reason to skip
        filename: str = dist_file.filename
        if filename.endswith(".whl"):
            try:
                tags = parse_wheel_filename(filename)[3]
            except ValueError:
                return False
            return not tags.isdisjoint(self._tags)
        return self._allow_sdist if sdists is None else sdists
