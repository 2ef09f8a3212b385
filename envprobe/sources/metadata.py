"""What a release declares, read from core metadata text (METADATA or PKG-INFO).

A wheel's METADATA is final. An sdist's PKG-INFO is only trustworthy from
Metadata 2.2 on, where whatever the build would compute is marked
`Dynamic`; before that, an absent Requires-Dist proves nothing. So every
`ReleaseMetadata` says whether its requirements are known (`complete`),
and callers must not read "unknown" as "none".
"""

from __future__ import annotations

import contextlib
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.errors import EnvprobeError

__all__ = [
    "ReleaseMetadata",
    "parse_metadata",
    "sdist_pkg_info",
    "unknown_metadata",
    "wheel_metadata_text",
]

# The first version in which an sdist marks what its build computes.
_STATIC_SDIST_METADATA = Version("2.2")


@dataclass(frozen=True)
class ReleaseMetadata:
    """What a release declares: its requirements, Python range and extras.

    `complete` is False when `requires_dist` may miss requirements: an sdist
    whose PKG-INFO predates Metadata 2.2 or marks Requires-Dist dynamic, a
    release with no readable metadata, or a Requires-Dist line that does not
    parse (the lines that do parse are kept).
    """

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    provides_extra: frozenset[str]
    source: str
    complete: bool = True

    def by_extra(self, environment: dict[str, str]) -> dict[str, list[Requirement]]:
        """extra -> the requirements only that extra selects on this interpreter."""
        plain = {**environment, "extra": ""}
        chosen: dict[str, list[Requirement]] = {}
        for requirement in self.requires_dist:
            marker = requirement.marker
            if marker is None or marker.evaluate(plain):
                continue  # not behind an extra: a plain dependency
            for extra in sorted(self.provides_extra):
                if marker.evaluate({**environment, "extra": extra}):
                    chosen.setdefault(extra, []).append(requirement)
        return chosen


def unknown_metadata(project: NormalizedName, version: Version, source: str) -> ReleaseMetadata:
    """A release whose metadata could not be read at all: nothing is known."""
    return ReleaseMetadata(
        name=project, version=version, requires_dist=(), requires_python=None,
        provides_extra=frozenset(), source=source, complete=False,
    )


def parse_metadata(
    text: str, *, project: NormalizedName, version: Version, source: str, from_sdist: bool
) -> ReleaseMetadata:
    """Read METADATA (`from_sdist=False`) or an sdist's PKG-INFO into a `ReleaseMetadata`."""
    raw, _unparsed = parse_email(text)
    requirements, all_parsed = [], True
    for line in raw.get("requires_dist", []):
        try:
            requirements.append(Requirement(line))
        except InvalidRequirement:
            all_parsed = False
    dynamic = {field_name.lower() for field_name in raw.get("dynamic", [])}
    complete = all_parsed
    if from_sdist:
        try:
            declared = Version(raw.get("metadata_version", "1.0")) >= _STATIC_SDIST_METADATA
        except InvalidVersion:
            declared = False
        if not declared or "requires-dist" in dynamic:
            requirements, complete = [], False
    requires_python = None
    if raw.get("requires_python") and "requires-python" not in dynamic:
        with contextlib.suppress(InvalidSpecifier):
            requires_python = SpecifierSet(raw["requires_python"])
    return ReleaseMetadata(
        name=canonicalize_name(raw.get("name", project)),
        version=version,
        requires_dist=tuple(requirements),
        requires_python=requires_python,
        provides_extra=frozenset(
            canonicalize_name(extra) for extra in raw.get("provides_extra", [])
        ),
        source=source,
        complete=complete,
    )


def wheel_metadata_text(wheel: Path | BinaryIO, filename: str | None = None) -> str:
    """The `.dist-info/METADATA` of a wheel (a path, or a seekable stream named
    `filename`); a wheel without one is not a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return archive.read(name).decode("utf-8", "replace")
    shown = filename or getattr(wheel, "name", "the wheel")
    raise EnvprobeError(f"{shown} has no .dist-info/METADATA: not a valid wheel")


def sdist_pkg_info(path: Path) -> str | None:
    """The PKG-INFO at the root of an sdist (not those of nested egg-info folders)."""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.count("/") == 1 and name.endswith("/PKG-INFO"):
                    return archive.read(name).decode("utf-8", "replace")
        return None
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile() and member.name.count("/") == 1 and member.name.endswith(
                "/PKG-INFO"
            ):
                stream = archive.extractfile(member)
                return stream.read().decode("utf-8", "replace") if stream else None
    return None
