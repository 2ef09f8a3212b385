"""Load and validate a scenario file: the question envprobe is asked.

A scenario states what must work (probe statements), which packages are
searched and within which ranges, what is fixed, how to install and how much
may be spent. It never states the answer. Every validation error names the
file and the key, so a typo costs seconds rather than a run.
"""

from __future__ import annotations

import enum
import math
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.errors import ScenarioError
from envprobe.model.choices import MAX_SECONDS  # here too: scenarios bound their timeouts

__all__ = ["MAX_SECONDS", "Budget", "FallbackWhen", "Scenario", "Target", "load_scenario"]

# A scenario's name becomes file names (report section, constraints, figures): a slug.
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXTRA = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 685


class FallbackWhen(enum.StrEnum):
    """When the scenario's fallback export runs."""

    UNSATISFIABLE = "unsatisfiable"  # only when no set in range can work
    UNSOLVED = "unsolved"  # whenever no working set is handed over (undecided too)


@dataclass(frozen=True)
class Target:
    """A package whose version the solver searches, within `specifier`."""

    name: NormalizedName
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Budget:
    """How much a solve may spend before it answers `undecided`."""

    max_installs: int = 12
    max_minutes: float = 120.0


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    probe: tuple[str, ...]
    targets: tuple[Target, ...]
    pins: dict[NormalizedName, Version]
    budget: Budget = Budget()
    python: str = sys.executable
    installer: str = "auto"  # uv where it is installed, else pip
    allow_sdist: bool = False
    timeout: float = 300.0
    base_layer: bool = True
    find_links: tuple[str, ...] = ()
    fallback_model: Path | None = None
    fallback_output: Path | None = None
    fallback_when: FallbackWhen = FallbackWhen.UNSATISFIABLE
    pass_env: tuple[str, ...] = ()  # host variables the probes may see, by name
    network: bool = False  # the probe code may use the network

    @property
    def code(self) -> str:
        """The probe statements as one program, run in order."""
        return "\n".join(self.probe) + "\n"

    def target(self, name: str) -> Target | None:
        wanted = canonicalize_name(name)
        return next((t for t in self.targets if t.name == wanted), None)

    def pin_requirements(self) -> tuple[str, ...]:
        return tuple(f"{name}=={version}" for name, version in sorted(self.pins.items()))


class _Reader:
    """Typed access to one TOML table, with errors that name file and key."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str) -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: [{self.prefix}] {key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {names}, got {type(value).__name__}")
        return value

    def unknown_keys(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                raise self.fail(key, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _specifier(reader: _Reader, key: str, text: str) -> SpecifierSet:
    if text.strip() in ("", "*"):
        return SpecifierSet()
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise reader.fail(key, f"not a version range: {text!r}") from None


def _targets(reader: _Reader) -> tuple[Target, ...]:
    targets = []
    for key, value in reader.table.items():
        try:
            name = canonicalize_name(Requirement(key).name, validate=True)
        except (InvalidRequirement, ValueError):
            raise reader.fail(key, "not a valid project name") from None
        if isinstance(value, str):
            targets.append(Target(name, _specifier(reader, key, value)))
        elif isinstance(value, dict):
            entry = _Reader(reader.path, value, f"{reader.prefix}.{key}")
            entry.unknown_keys({"version", "extras"})
            extras = entry.get("extras", list, [])
            if not all(isinstance(e, str) for e in extras):
                raise entry.fail("extras", "expected a list of strings")
            for extra in extras:
                if not _EXTRA.fullmatch(extra):
                    raise entry.fail("extras", f"not a valid extra name: {extra!r}")
            spec = _specifier(entry, "version", entry.get("version", str, "*"))
            targets.append(Target(name, spec, frozenset(canonicalize_name(e) for e in extras)))
        else:
            raise reader.fail(key, "expected a range string or a table {version, extras}")
    if not targets:
        raise reader.fail("(table)", "names no package to search")
    return tuple(targets)


def _pins(reader: _Reader) -> dict[NormalizedName, Version]:
    pins = {}
    for key, value in reader.table.items():
        if not isinstance(value, str):
            raise reader.fail(key, "expected an exact version string")
        try:
            pins[canonicalize_name(key, validate=True)] = Version(value.removeprefix("=="))
        except (InvalidVersion, ValueError):
            raise reader.fail(key, f"not an exact version: {value!r}") from None
    return pins


def _probe(reader: _Reader) -> tuple[str, ...]:
    probe = reader.get("probe", (list, str))
    if probe is None:
        raise reader.fail("probe", "missing: the statements that must run")
    statements = [probe] if isinstance(probe, str) else probe
    if not statements or not all(isinstance(s, str) and s.strip() for s in statements):
        raise reader.fail("probe", "expected non-empty statement strings")
    for statement in statements:
        try:
            compile(statement, "<probe>", "exec")
        except SyntaxError as error:
            raise reader.fail("probe", f"not valid Python: {statement!r} ({error.msg})") from None
    return tuple(statements)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError naming file and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None

    top = _Reader(path, data, "")
    top.unknown_keys({"scenario", "packages", "pins", "budget", "install", "fallback"})

    def table(name: str) -> _Reader:
        return _Reader(path, top.get(name, dict, {}), name)

    head = table("scenario")
    head.unknown_keys({"name", "probe", "python", "timeout", "description"})
    name = head.get("name", str) or path.stem
    if not _SLUG.fullmatch(name) or ".." in name:
        raise head.fail("name", f"{name!r} is not a slug (letters, digits, '.', '_', '-'; "
                                "it names files)")
    timeout = _bounded(head, "timeout", 300.0, "seconds", most=MAX_SECONDS)

    if "packages" not in data:
        raise ScenarioError(f"{path}: [packages] missing: name the packages to search")
    targets = _targets(table("packages"))
    pins = _pins(table("pins"))
    overlap = {t.name for t in targets} & set(pins)
    if overlap:
        raise ScenarioError(f"{path}: [pins] {min(overlap)}: also in [packages]; pick one")

    budget_table = table("budget")
    budget_table.unknown_keys({"max_installs", "max_minutes"})
    budget = Budget(
        max_installs=budget_table.get("max_installs", int, Budget.max_installs),
        max_minutes=_bounded(budget_table, "max_minutes", Budget.max_minutes, "minutes",
                             most=MAX_SECONDS / 60),
    )
    if budget.max_installs < 1:
        raise budget_table.fail("max_installs", "must be at least 1")

    install = table("install")
    install.unknown_keys({"installer", "allow_sdist", "base_layer", "find_links", "pass_env",
                          "network"})
    # Which names are installers is the backends' business; the solve checks it first thing.
    installer = install.get("installer", str, "auto")
    if not installer.strip():
        raise install.fail("installer", "expected an installer's name")
    find_links = install.get("find_links", list, [])
    if not all(isinstance(link, str) for link in find_links):
        raise install.fail("find_links", "expected a list of folders or URLs")

    pass_env = install.get("pass_env", list, [])
    for variable in pass_env:
        if not isinstance(variable, str) or not _VARIABLE.fullmatch(variable):
            raise install.fail("pass_env", f"not an environment variable's name: {variable!r}")

    fallback = table("fallback")
    fallback.unknown_keys({"model", "output", "when"})
    model = fallback.get("model", str)
    output = fallback.get("output", str)
    when = fallback.get("when", str, FallbackWhen.UNSATISFIABLE.value)
    if when not in set(FallbackWhen):
        raise fallback.fail("when", f"expected one of {', '.join(FallbackWhen)}")

    return Scenario(
        name=name,
        path=path,
        probe=_probe(head),
        targets=targets,
        pins=pins,
        budget=budget,
        python=head.get("python", str, sys.executable),
        installer=installer,
        allow_sdist=install.get("allow_sdist", bool, False),
        timeout=timeout,
        base_layer=install.get("base_layer", bool, True),
        find_links=tuple(link if "://" in link else str(_relative(path, link))
                         for link in find_links),
        fallback_model=_relative(path, model),
        fallback_output=_relative(path, output),
        fallback_when=FallbackWhen(when),
        pass_env=tuple(pass_env),
        network=install.get("network", bool, False),
    )


def _bounded(reader: _Reader, key: str, default: float, unit: str, *, most: float) -> float:
    """A positive, finite number of `unit`, at most `most`: NaN and inf are mistakes."""
    value = float(reader.get(key, (int, float), default))
    if not (value > 0 and math.isfinite(value)):
        raise reader.fail(key, f"must be a positive finite number of {unit}, got {value!r}")
    if value > most:
        raise reader.fail(key, f"at most {most:g} {unit}, got {value:g}")
    return value


def _relative(scenario_path: Path, value: str | None) -> Path | None:
    """Paths in a scenario are relative to the scenario file, as users expect."""
    if value is None:
        return None
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else scenario_path.parent / candidate
