"""In-memory index, scanner and probe record, driven by a recorded JSON snapshot.

A snapshot (`tests/unit/snapshots/*.json`, in the spirit of resolvelib's
test inputs) maps projects to releases:

    {"projects": {"fakehub": {"1.1": {
        "requires_dist": ["helper>=1"],          # declared metadata
        "requires_python": ">=3.8",
        "upload_time": "2022-01-01T00:00:00Z",   # PEP 700
        "files": ["fakehub-1.1-py3-none-any.whl"],  # default: one pure wheel
        "yanked": false,
        "provides": {"fakehub": ["ModelFilter"]},   # module -> names it binds (null: unreadable)
        "imports": [{"file": "toolkit/core.py", "line": 3, "module": "fakehub",
                     "names": ["ModelFilter"]}]}}},
     "outcomes": {"label": <ProbeOutcome JSON>},
     "probes": [{"fixed": {"fakehub": "1.2"}, "outcome": <ProbeOutcome JSON>}]}

`SnapshotIndex` answers what the solving layer asks of `PackageIndex`
(`versions`, `files`, `dependencies`); `SnapshotScanner` what it asks of
`StaticScanner`; `RecordedProbes` is a teacher's `Reprobe` that answers from
the recorded probes. No install, no network: the same questions, answered
from the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.errors import UnknownPackage
from envprobe.model.outcome import ProbeOutcome
from envprobe.model.result import Purpose

__all__ = ["RecordedProbes", "Snapshot", "SnapshotFile", "SnapshotIndex", "SnapshotScanner"]

SNAPSHOTS = Path(__file__).parent / "snapshots"


@dataclass(frozen=True)
class SnapshotFile:
    """The fields of `DistFile` the solving layer reads."""

    filename: str
    version: Version
    is_wheel: bool
    requires_python: str | None = None
    yanked: bool = False
    upload_time: str | None = None
    size: int | None = None


class Snapshot:
    """One recorded index, with the probe outcomes recorded against it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.projects: dict[str, dict[Version, dict[str, Any]]] = {
            canonicalize_name(name): {Version(v): release for v, release in releases.items()}
            for name, releases in data.get("projects", {}).items()
        }
        self.outcomes = {label: ProbeOutcome.from_dict(outcome)
                         for label, outcome in data.get("outcomes", {}).items()}
        self.probes = [({canonicalize_name(n): Version(v) for n, v in probe["fixed"].items()},
                        ProbeOutcome.from_dict(probe["outcome"]))
                       for probe in data.get("probes", [])]

    @classmethod
    def load(cls, name: str) -> Snapshot:
        return cls(json.loads((SNAPSHOTS / f"{name}.json").read_text(encoding="utf-8")))

    def release(self, name: str, version: Version) -> dict[str, Any]:
        releases = self.projects.get(canonicalize_name(name))
        if releases is None:
            raise UnknownPackage(f"no package named {name!r} in the snapshot")
        return releases.get(Version(str(version)), {})


def filenames(name: str, version: Version, release: dict[str, Any]) -> list[str]:
    """The release's files: as recorded, or one pure-Python wheel."""
    default = f"{canonicalize_name(name).replace('-', '_')}-{version}-py3-none-any.whl"
    return release.get("files", [default])


class SnapshotIndex:
    """`PackageIndex`'s questions, answered from a snapshot."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def versions(self, name: str) -> list[Version]:
        """Every release with at least one file that is not yanked, oldest first."""
        return sorted({f.version for f in self.files(name) if not f.yanked})

    def files(self, name: str, version: Version | str | None = None) -> list[SnapshotFile]:
        project = canonicalize_name(name)
        if project not in self._snapshot.projects:
            raise UnknownPackage(f"no package named {project!r} in the snapshot")
        found = []
        for release_version, release in sorted(self._snapshot.projects[project].items()):
            if version is not None and release_version != Version(str(version)):
                continue
            for filename in filenames(project, release_version, release):
                found.append(SnapshotFile(
                    filename=filename, version=release_version,
                    is_wheel=filename.endswith(".whl"),
                    requires_python=release.get("requires_python"),
                    yanked=release.get("yanked", False),
                    upload_time=release.get("upload_time"),
                ))
        return found

    def dependencies(
        self,
        name: str,
        version: Version | str,
        extras: Iterable[str] = (),
        environment: Mapping[str, str] | None = None,
    ) -> list[Requirement]:
        """Declared requirements whose markers hold in `environment`, with `extras`."""
        target = {**default_environment(), **(environment or {})}
        chosen = ["", *sorted({canonicalize_name(e) for e in extras})]
        selected = []
        for text in self._snapshot.release(name, Version(str(version))).get("requires_dist", []):
            requirement = Requirement(text)
            if requirement.marker is None or any(
                requirement.marker.evaluate({**target, "extra": extra}) for extra in chosen
            ):
                selected.append(requirement)
        return selected

    def released(self, name: str, version: Version) -> str | None:
        """When a release was uploaded (its earliest file), as the solver reads it."""
        times = [f.upload_time for f in self.files(name, version) if f.upload_time]
        return min(times) if times else None


class SnapshotScanner:
    """`StaticScanner`'s answers (True, False, None) from a snapshot's `provides`/`imports`."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self.scanned: list[str] = []

    def _release(self, name: str, version: Version) -> dict[str, Any] | None:
        """The release's record if it has a wheel to read (which counts as a scan)."""
        release = self._snapshot.release(name, version)
        wheel = next((f for f in filenames(name, version, release) if f.endswith(".whl")), None)
        if wheel is None:
            return None
        if wheel not in self.scanned:
            self.scanned.append(wheel)
        return release

    def provides(self, name: str, version: Version, module: str, symbol: str) -> bool | None:
        release = self._release(name, version)
        if release is None:
            return None
        if not self._ships(release, module):
            return False
        names = release.get("provides", {}).get(module, [])
        if names is None:
            return None
        return symbol in names or f"{module}.{symbol}" in release.get("provides", {})

    def has_module(self, name: str, version: Version, module: str) -> bool | None:
        release = self._release(name, version)
        return None if release is None else self._ships(release, module)

    def imports(self, name: str, version: Version, module: str, symbol: str) -> bool | None:
        release = self._release(name, version)
        if release is None:
            return None
        for site in self._sites(release, module.split(".")[0]):
            if site.get("typing_only") or site.get("optional"):
                continue
            names = site.get("names", [])
            if not symbol:
                if site["module"] == module or site["module"].startswith(module + "."):
                    return True
                if module in {f"{site['module']}.{n}" for n in names}:
                    return True
            elif symbol in names:
                return True
        return False

    def imports_alongside(self, name: str, version: Version, module: str,
                          alongside: tuple[str, ...]) -> bool | None:
        return None  # only a micro-probe can tell; snapshots hold no code to run

    def names_at(self, name: str, version: Version, module: str, file: str,
                 line: int) -> tuple[str, ...]:
        release = self._release(name, version)
        if release is None:
            return ()
        return tuple(n for site in self._sites(release, module.split(".")[0])
                     if (site["file"], site["line"], site["module"]) == (file, line, module)
                     for n in site.get("names", []))

    @property
    def count(self) -> int:
        return len(self.scanned)

    @staticmethod
    def _ships(release: dict[str, Any], module: str) -> bool:
        shipped = release.get("provides", {})
        return module in shipped or any(m.startswith(module + ".") for m in shipped)

    @staticmethod
    def _sites(release: dict[str, Any], top: str) -> list[dict[str, Any]]:
        return [s for s in release.get("imports", []) if s["module"].split(".")[0] == top]


class RecordedProbes:
    """A teacher's `Reprobe`: the recorded outcome whose fixed pins match, else None.

    None is what the solver answers when the budget is spent, so an
    unrecorded probe behaves like one that could not be run. Every request is
    kept, with its purpose, for the test to inspect.
    """

    def __init__(self, recorded: Iterable[tuple[dict[str, Version], ProbeOutcome]]) -> None:
        self._recorded = [({canonicalize_name(n): v for n, v in pins.items()}, outcome)
                          for pins, outcome in recorded]
        self.requests: list[tuple[dict[str, Version], Purpose]] = []

    def __call__(self, fixed: dict[str, Version], purpose: Purpose) -> ProbeOutcome | None:
        wanted = {canonicalize_name(n): v for n, v in fixed.items()}
        self.requests.append((wanted, purpose))
        return next((outcome for pins, outcome in self._recorded if pins == wanted), None)

    @property
    def purposes(self) -> list[Purpose]:
        return [purpose for _, purpose in self.requests]
