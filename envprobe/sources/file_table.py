"""A project's files held compactly, by release, and handed out as `DistFile`s on demand.

A solve reads the pages of about 200 projects, and the compiled ones list
thousands of wheels each (pydantic-core, grpcio, aiohttp: over 10,000 files
apiece, one per Python × platform × release): 160,000 files for the NeMo
case, 330 MB as `DistFile` objects, nearly all for releases and platforms
nobody asks about. Here a file is one tuple of the strings its page gave;
its version object is shared by its release, its tag set by every wheel
with the same tags, its URL kept without the file name it ends in, its
metadata URL (always the file's URL + ".metadata") derived, its hashes as
bytes. A release's
`DistFile`s are built when asked for, and not kept.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import ClassVar, NamedTuple

from packaging.tags import Tag
from packaging.version import Version

from envprobe.sources.pages import DistFile

__all__ = ["FileTable"]

_METADATA_SUFFIX = ".metadata"


class _Row(NamedTuple):
    filename: str
    url_head: str  # the URL without the file name it ends in (all of it when it does not)
    named: bool  # whether the URL ends in the file name
    is_wheel: bool
    tags: frozenset[Tag]
    requires_python: str | None
    yanked: bool
    sha256: bytes | str | None  # bytes: a hex digest, stored at half its size
    metadata_url: str | None  # "" for the file's URL + ".metadata", the usual case
    metadata_sha256: bytes | str | None
    size: int | None
    upload_time: str | None


class FileTable:
    """The files of one project, oldest release first, as its sources list them."""

    _tag_sets: ClassVar[dict[frozenset[Tag], frozenset[Tag]]] = {}

    def __init__(self, files: Iterable[DistFile]) -> None:
        self._releases: dict[Version, list[_Row]] = {}
        for dist in files:
            self._releases.setdefault(dist.version, []).append(self._row(dist))

    def versions(self, *, yanked: bool) -> list[Version]:
        """Releases with at least one file (not yanked, unless `yanked`), oldest first."""
        return [version for version, rows in self._releases.items()
                if yanked or any(not row.yanked for row in rows)]

    def files(self, version: Version | None = None) -> list[DistFile]:
        """The files of one release (every release's when `version` is None), built afresh."""
        if version is None:
            return [_dist(v, row) for v, rows in self._releases.items() for row in rows]
        return [_dist(version, row) for row in self._releases.get(version, ())]

    def _row(self, dist: DistFile) -> _Row:
        url, named = dist.url, dist.url.endswith("/" + dist.filename)
        metadata = dist.metadata_url
        return _Row(
            filename=dist.filename,
            url_head=url[: -len(dist.filename)] if named else url,
            named=named,
            is_wheel=dist.is_wheel,
            tags=self._tag_sets.setdefault(dist.tags, dist.tags),
            requires_python=sys.intern(dist.requires_python) if dist.requires_python else None,
            yanked=dist.yanked,
            sha256=_packed(dist.sha256),
            metadata_url="" if metadata == url + _METADATA_SUFFIX else metadata,
            metadata_sha256=_packed(dist.metadata_sha256),
            size=dist.size,
            upload_time=dist.upload_time,
        )


def _packed(digest: str | None) -> bytes | str | None:
    """A lowercase hex digest as its bytes; anything else as it was written."""
    try:
        packed = bytes.fromhex(digest or "")
    except ValueError:
        return digest
    return packed if digest and packed.hex() == digest else digest


def _unpacked(digest: bytes | str | None) -> str | None:
    return digest.hex() if isinstance(digest, bytes) else digest


def _dist(version: Version, row: _Row) -> DistFile:
    url = row.url_head + row.filename if row.named else row.url_head
    return DistFile(
        filename=row.filename,
        url=url,
        version=version,
        is_wheel=row.is_wheel,
        requires_python=row.requires_python,
        yanked=row.yanked,
        sha256=_unpacked(row.sha256),
        metadata_url=url + _METADATA_SUFFIX if row.metadata_url == "" else row.metadata_url,
        tags=row.tags,
        metadata_sha256=_unpacked(row.metadata_sha256),
        size=row.size,
        upload_time=row.upload_time,
    )
