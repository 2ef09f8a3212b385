"""Learned rules and boundaries: the hidden constraints package metadata omits.

A rule reads "`package` at `versions` requires `requires`, because ...". It is
what a failed probe teaches the solver, and it carries its evidence (probe
ids, wheel files scanned) so every line of a report can be traced back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

__all__ = [
    "Boundary",
    "BoundaryKey",
    "BoundaryMethod",
    "ImportCheck",
    "InstallOption",
    "Rule",
    "RuleKind",
    "specifier_for",
]

# (package, module, symbol): how a rule names the boundary it rests on.
BoundaryKey = tuple[str, str, str]
_KEY_FIELDS = ("package", "module", "symbol")


class RuleKind(enum.StrEnum):
    """Which failure taught a rule, so readers know what kind of evidence stands behind it."""

    MISSING_SYMBOL = "missing_symbol"  # a name vanished from (or appeared in) a module
    MISSING_MODULE = "missing_module"  # a module vanished from a distribution
    UNDECLARED = "undeclared"  # code imports a distribution's module it does not declare
    REMOVED_KEYWORD = "removed_keyword"  # a function dropped a keyword the code passes
    DEPENDENCY_CHECK = "dependency_check"  # a package rejected a version at import time
    DECLARED = "declared"  # the installer quoted a declared requirement
    NO_DISTRIBUTION = "no_distribution"  # no installable file for this interpreter
    BUILD = "build"  # an sdist's build imports what it does not declare
    NO_WHEEL = "no_wheel"  # a build failed without a cause: only releases with a wheel
    BLAMED = "blamed"  # heuristic: the release whose own code raised


class BoundaryMethod(enum.StrEnum):
    """How a boundary was found; a static one may then be confirmed by a probe."""

    STATIC = "static"  # scans of wheels, no install
    PROBE = "probe"  # bisection with real installs
    STATIC_AND_PROBE = "static+probe"  # static, and a probe of the release past it agreed
    MICRO_PROBE = "micro-probe"  # the releases either side installed alone and asked


class InstallOption(enum.StrEnum):
    """How a rule changes the install itself rather than the pins."""

    BUILD_WITHOUT_ISOLATION = "build_without_isolation"  # pre-install `requires`, no isolation


@dataclass(frozen=True)
class ImportCheck:
    """A rule applies only to releases whose code imports `symbol` from `module`.

    The check is static (a scan of each release's wheel), done lazily for the
    releases the solver actually considers. Imports a scan cannot see, such as
    `__import__("pkg_resources")`, still hold for the release a probe saw.
    """

    module: str
    symbol: str
    observed: str | None = None  # the release a probe saw do it: applies whatever the scan says


@dataclass(frozen=True)
class Rule:
    """`package` at `versions` requires `requires`; `package=None` means always."""

    requires: str
    because: str
    kind: RuleKind
    package: NormalizedName | None = None
    versions: str = ""
    when_imports: ImportCheck | None = None
    evidence: tuple[int, ...] = ()
    scanned: tuple[str, ...] = ()
    install_option: InstallOption | None = None
    boundary: BoundaryKey | None = None  # the `Boundary.key` this rule rests on

    def __post_init__(self) -> None:
        # Strings from old JSON and older callers become the enum values they name.
        object.__setattr__(self, "kind", RuleKind(self.kind))
        if self.install_option is not None:
            object.__setattr__(self, "install_option", InstallOption(self.install_option))
        if self.boundary is not None:
            object.__setattr__(self, "boundary", tuple(self.boundary))

    @property
    def requirement(self) -> Requirement:
        return Requirement(self.requires)

    @property
    def target(self) -> NormalizedName:
        """The project this rule constrains."""
        return canonicalize_name(self.requirement.name)

    def covers(self, version: Version) -> bool:
        """Whether the rule's version condition holds (the import check aside)."""
        return SpecifierSet(self.versions).contains(version, prereleases=True)

    def describe(self) -> str:
        if self.package is None:
            who = "every set"
        elif self.when_imports is not None:
            symbol = self.when_imports.symbol or self.when_imports.module
            releases = " ".join(filter(None, (self.package, self.versions)))
            who = f"{releases} (releases that import {symbol})"
        else:
            who = f"{self.package} {self.versions or '(any release)'}"
        return f"{who} requires {self.requires}: {self.because}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "versions": self.versions or "*",
            "requires": self.requires,
            "because": self.because,
            "kind": self.kind.value,
            "when_imports": (
                {"module": self.when_imports.module, "symbol": self.when_imports.symbol,
                 "observed": self.when_imports.observed}
                if self.when_imports
                else None
            ),
            "evidence": {"probes": list(self.evidence), "wheels": list(self.scanned)},
            "install_option": self.install_option.value if self.install_option else None,
            "boundary": (dict(zip(_KEY_FIELDS, self.boundary, strict=True))
                         if self.boundary else None),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        check = data.get("when_imports")
        evidence = data.get("evidence") or {}
        return cls(
            requires=data["requires"],
            because=data["because"],
            kind=data["kind"],
            package=data.get("package"),
            versions="" if data.get("versions") in (None, "*") else data["versions"],
            when_imports=(ImportCheck(check["module"], check["symbol"], check.get("observed"))
                          if check else None),
            evidence=tuple(evidence.get("probes", ())),
            scanned=tuple(evidence.get("wheels", ())),
            install_option=data.get("install_option"),
            boundary=_key_from(data.get("boundary")) or _key_of_import(data, check),
        )


@dataclass(frozen=True)
class Boundary:
    """Where a symbol or module appears in or vanishes from a package's releases."""

    package: NormalizedName
    symbol: str
    module: str
    last_with: str | None
    first_without: str | None
    direction: str = "removed"  # "removed": present up to last_with; "added": from first_with on
    last_without: str | None = None
    first_with: str | None = None
    method: BoundaryMethod = BoundaryMethod.STATIC
    confirmed_by: tuple[int, ...] = ()
    checked: tuple[tuple[str, bool | None], ...] = ()  # release -> has it (None: unreadable)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", BoundaryMethod(self.method))

    @property
    def key(self) -> BoundaryKey:
        """What a rule stores to point at this boundary: one per (package, module, symbol)."""
        return (self.package, self.module, self.symbol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "symbol": self.symbol,
            "module": self.module,
            "last_with": self.last_with,
            "first_without": self.first_without,
            "direction": self.direction,
            "last_without": self.last_without,
            "first_with": self.first_with,
            "method": self.method.value,
            "confirmed_by": list(self.confirmed_by),
            "checked": {version: has for version, has in self.checked},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Boundary:
        return cls(
            package=data["package"],
            symbol=data["symbol"],
            module=data["module"],
            last_with=data.get("last_with"),
            first_without=data.get("first_without"),
            direction=data.get("direction", "removed"),
            last_without=data.get("last_without"),
            first_with=data.get("first_with"),
            method=data.get("method", "static"),
            confirmed_by=tuple(data.get("confirmed_by", ())),
            checked=tuple((data.get("checked") or {}).items()),
        )


def _key_from(data: dict[str, str] | None) -> BoundaryKey | None:
    """A boundary key from JSON; None for rules stored before rules named their boundary."""
    if not data:
        return None
    package, module, symbol = (data[name] for name in _KEY_FIELDS)
    return (package, module, symbol)


def _key_of_import(data: dict[str, Any], check: dict[str, str] | None) -> BoundaryKey | None:
    """The key an older stored rule implies: its import check names the module and symbol.

    Rules stored before rules named their boundary carry the same facts as
    structure (the constrained project, the module, the symbol); no prose is read.
    """
    if check is None or data.get("kind") not in (RuleKind.MISSING_SYMBOL, RuleKind.MISSING_MODULE):
        return None
    target = canonicalize_name(Requirement(data["requires"]).name)
    return (target, check["module"], check["symbol"] or check["module"])


def specifier_for(allowed: list[Version], universe: list[Version]) -> SpecifierSet:
    """The smallest specifier that admits exactly `allowed` among `universe`.

    A contiguous run becomes `>=low,<next`; holes inside it become `!=v`.
    Bounds are left open where `allowed` reaches the end of the universe, so a
    rule does not forbid releases nobody has looked at yet.
    """
    if not allowed:
        raise ValueError("no version is allowed")
    ordered = sorted(universe)
    low, high = min(allowed), max(allowed)
    parts = []
    below = [v for v in ordered if v < low]
    if below:
        parts.append(f">={low}")
    above = [v for v in ordered if v > high]
    if above:
        parts.append(f"<{above[0]}")
    allowed_set = set(allowed)
    parts += [f"!={v}" for v in ordered if low < v < high and v not in allowed_set]
    return SpecifierSet(",".join(parts))
