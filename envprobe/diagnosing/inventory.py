"""The user's environment as it is: which interpreter, what is installed, what it declares.

Read, never written: the interpreter runs one standard-library script with
`-I -B` (no user site, no bytecode written), sealed and watched like a probe,
and answers through a file in envprobe's own run folder. Declared conflicts
(what `pip check` would say) are computed here from that metadata.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.errors import UsageError
from envprobe.probing import processes, sealed

__all__ = ["Installed", "Inventory", "default_python", "read_inventory"]

# Standard library only, any Python 3.8+: it runs in the user's interpreter.
_SCRIPT = r"""
import json, sys
from importlib import metadata
dists = []
for d in metadata.distributions():
    name = d.metadata["Name"]
    if not name:
        continue
    tops = set()
    for f in d.files or ():
        first = str(f).replace("\\", "/").split("/")[0]
        if first.endswith(".py"):
            first = first[:-3]
        if first and not first.endswith((".dist-info", ".egg-info", ".data", ".pth")) \
                and first not in ("..", "__pycache__"):
            tops.add(first)
    dists.append({"name": name, "version": d.version, "requires": d.requires or [],
                  "tops": sorted(tops)})
json.dump({"dists": dists, "path": [p for p in sys.path if p],
           "executable": sys.executable}, open(sys.argv[1], "w"))
"""
_SECONDS = 120.0
_EXTRA_MARKER = re.compile(r"""\bextra\s*==\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class Installed:
    """One installed distribution: its version, what it declares, its top-level names."""

    name: NormalizedName
    version: str
    requires: tuple[str, ...] = ()
    tops: tuple[str, ...] = ()

    def parsed_version(self) -> Version | None:
        try:
            return Version(self.version)
        except InvalidVersion:
            return None


@dataclass(frozen=True)
class Inventory:
    """Everything the user's interpreter can import, first on `sys.path` winning."""

    python: str
    dists: dict[NormalizedName, Installed]
    path: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)  # PEP 508 marker variables
    _declared: dict[str, list[Requirement]] = field(default_factory=dict, init=False, compare=False,
                                                    repr=False)
    _extras: dict[str, tuple[str, ...]] = field(default_factory=dict, init=False, compare=False,
                                                repr=False)

    def versions(self) -> dict[str, str]:
        return {name: dist.version for name, dist in sorted(self.dists.items())}

    def pins(self) -> dict[NormalizedName, Version]:
        return {name: v for name, d in self.dists.items() if (v := d.parsed_version())}

    def owner_of(self, module: str) -> Installed | None:
        """The one distribution that ships `module`'s top-level name, if exactly one does."""
        top = module.split(".")[0]
        owners = [d for d in self.dists.values() if top in d.tops]
        return owners[0] if len(owners) == 1 else None

    def extras_in_use(self, name: str) -> tuple[str, ...]:
        """The extras of an installed distribution that the installed set satisfies.

        An extra counts when every requirement it adds is installed at a version
        it allows (the user most likely asked for it: `nemo_toolkit[asr]`); one
        whose requirements another such extra already covers is left out, so
        `asr` stands for the `core` it includes.
        """
        key = canonicalize_name(name)
        if key not in self._extras:
            self._extras[key] = self._extras_of(key)
        return self._extras[key]

    def _extras_of(self, name: NormalizedName) -> tuple[str, ...]:
        dist = self.dists.get(name)
        if dist is None:
            return ()
        base = {_unmarked(r) for r in applicable(dist.requires, self.environment)}
        by_extra: dict[str, list[str]] = {}
        for text in dist.requires:
            for extra in set(_EXTRA_MARKER.findall(text)):
                by_extra.setdefault(extra, []).append(text)
        added: dict[str, set[str]] = {}
        for extra, texts in sorted(by_extra.items()):
            only = [r for r in applicable(texts, self.environment, extra)
                    if _unmarked(r) not in base]
            if only and all(self._satisfied(r) for r in only):
                added[canonicalize_name(extra)] = {_unmarked(r) for r in only}
        return tuple(sorted(extra for extra, needs in added.items()
                            if not any(other != extra and needs < more
                                       for other, more in added.items())))

    def _satisfied(self, requirement: Requirement) -> bool:
        have = self.dists.get(canonicalize_name(requirement.name))
        version = have.parsed_version() if have else None
        return version is not None and requirement.specifier.contains(version, prereleases=True)

    def declared(self, name: str) -> list[Requirement]:
        """What an installed distribution requires here (its extras left out)."""
        key = canonicalize_name(name)
        if key not in self._declared:  # asked for every installed release, many times
            dist = self.dists.get(key)
            self._declared[key] = applicable(dist.requires, self.environment) if dist else []
        return self._declared[key]


def applicable(texts: tuple[str, ...] | list, environment: dict[str, str],
               extra: str = "") -> list[Requirement]:
    """The requirements whose markers hold in `environment` with `extra` (default: none)."""
    chosen = []
    for text in texts:
        requirement = _parsed(str(text))
        if requirement is None:
            continue
        marker: Marker | None = requirement.marker
        if marker is None or marker.evaluate({**environment, "extra": extra}):
            chosen.append(requirement)
    return chosen


@functools.lru_cache(maxsize=16384)
def _parsed(text: str) -> Requirement | None:
    """One parse per requirement text: a NeMo-sized set repeats thousands of them."""
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def _unmarked(requirement: Requirement) -> str:
    """The requirement without its marker: what two extras asking for it share."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{canonicalize_name(requirement.name)}{extras}{requirement.specifier}"


def default_python() -> str:
    """The active virtual environment's `python`, else the first `python` on PATH."""
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        for name in ("bin/python", "Scripts/python.exe"):
            if (Path(venv) / name).exists():
                return str(Path(venv) / name)
    return shutil.which("python") or shutil.which("python3") or sys.executable


def read_inventory(python: str, run_dir: Path, environment: dict[str, str]) -> Inventory:
    """Ask `python` what is installed; a one-line error when it cannot answer."""
    answer = run_dir / "inventory.json"
    done = processes.run([python, "-I", "-B", "-c", _SCRIPT, str(answer)],
                         log_path=run_dir / "inventory.log", timeout=_SECONDS, cwd=run_dir,
                         env=read_only_environ(run_dir))
    try:
        data = json.loads(answer.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = (done.output.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"cannot list what {python} has installed: {last}") from None
    dists: dict[NormalizedName, Installed] = {}
    for item in data["dists"]:
        name = canonicalize_name(item["name"])
        dists.setdefault(name, Installed(name, item["version"], tuple(item["requires"]),
                                         tuple(item["tops"])))
    return Inventory(python, dict(sorted(dists.items())), tuple(data["path"]), environment)


def read_only_environ(run_dir: Path) -> dict[str, str]:
    """A probe's sealed variables, and no bytecode written by anything the code starts."""
    return {**sealed.probe_environ(run_dir), "PYTHONDONTWRITEBYTECODE": "1"}


def declared_conflicts(inventory: Inventory) -> list[str]:
    """What `pip check` would report: declared requirements the installed set breaks."""
    found = []
    for dist in inventory.dists.values():
        for requirement in inventory.declared(dist.name):
            other = inventory.dists.get(canonicalize_name(requirement.name))
            if other is None:
                found.append(f"{dist.name} {dist.version} requires {requirement}, "
                             "which is not installed")
                continue
            version = other.parsed_version()
            if version is not None and not requirement.specifier.contains(version,
                                                                          prereleases=True):
                found.append(f"{dist.name} {dist.version} requires {requirement}, "
                             f"but {other.name} {other.version} is installed")
    return found
