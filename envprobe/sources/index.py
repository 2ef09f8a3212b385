"""Versions, files and core metadata of projects, from the configured sources.

The solver and the boundary finder ask many cheap questions ("which releases
exist?", "what does 1.23.0 require?") before any real install. They are
answered from the simple repository API (PEP 691 JSON where the index offers
it, PEP 503 HTML otherwise), PEP 658 metadata files, wheels and, as a last
resort, an sdist's PKG-INFO; and from find-links folders. Sources come from
pip's configuration (`IndexConfig`), so envprobe sees what the installer sees.

Project pages are cached on disk for a short time (new releases appear);
core metadata forever (a file with a given hash never changes).

`PackageIndex` is the one entry point: `collector` finds the files (reading
them with `pages`), `metadata` parses what they declare, `transport` moves
the bytes and keeps the disk cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, sys_tags
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.errors import EnvprobeError, UnknownPackage
from envprobe.paths import cache_dir as default_cache_dir
from envprobe.sources.collector import Collector
from envprobe.sources.config import IndexConfig
from envprobe.sources.file_table import FileTable
from envprobe.sources.metadata import (
    ReleaseMetadata,
    parse_metadata,
    sdist_pkg_info,
    unknown_metadata,
    wheel_metadata_text,
)
from envprobe.sources.pages import DistFile
from envprobe.sources.ranges import LocalArchive, RemoteArchive
from envprobe.sources.transport import Transport, cache_key, local_path, read_json, write_json

__all__ = ["DistFile", "PackageIndex", "ReleaseMetadata"]

_METADATA_FORMAT = "metadata-v1"
# Remote wheels kept open (each with its bounded block cache) for the scans that follow.
_OPEN_ARCHIVES = 4


class PackageIndex:
    """Read-only view of every configured source of distributions.

    Safe to share between threads: answers are memoised under a lock, cache
    files are written atomically, and each request opens its own connection.
    """

    def __init__(
        self,
        config: IndexConfig,
        *,
        cache_dir: Path | None = None,
        timeout: float = 30,
        page_ttl: float = 600,
        refresh: bool = False,
    ) -> None:
        self.config = config
        self._cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._transport = Transport(cert=config.cert, timeout=timeout)
        self._collector = Collector(
            config, self._transport, cache_dir=self._cache, page_ttl=page_ttl, refresh=refresh
        )
        self._lock = threading.Lock()
        self._tables: dict[NormalizedName, FileTable] = {}
        self._metadata: dict[tuple[NormalizedName, Version], ReleaseMetadata] = {}
        self._dependencies: dict[tuple, tuple[Requirement, ...]] = {}
        self._archives: OrderedDict[str, RemoteArchive] = OrderedDict()

    # -- questions -----------------------------------------------------------

    def versions(self, name: str) -> list[Version]:
        """Every release with at least one file that is not yanked, oldest first."""
        return sorted(self._table(name).versions(yanked=False))

    def files(self, name: str, version: Version | str | None = None) -> list[DistFile]:
        """Files of a project (of one release when `version` is given), yanked included."""
        table = self._table(name)
        return table.files(None if version is None else Version(str(version)))

    def _table(self, name: str) -> FileTable:
        """The project's files by release, compact: pages are read once per run."""
        project = canonicalize_name(name)
        with self._lock:
            known = self._tables.get(project)
        if known is None:
            known = FileTable(self._collector.collect(project))
            with self._lock:
                known = self._tables.setdefault(project, known)
        return known

    def best_wheel(
        self, name: str, version: Version | str, tags: Iterable[Tag] | None = None
    ) -> DistFile | None:
        """A wheel installable on `tags` (default: this interpreter), pure-Python first.

        `tags` is read in order, most preferred first, as `sys_tags()` yields
        them: among compiled wheels, the one whose best tag comes first wins.
        A set has no such order, so pass a list or tuple.
        """
        ranks = _tag_ranks(tags)
        compatible = [
            dist for dist in self.files(name, version)
            if dist.is_wheel and not dist.yanked and _rank(dist, ranks) is not None
        ]
        return min(
            compatible, key=lambda dist: (not dist.is_pure, _rank(dist, ranks)), default=None
        )

    def metadata(self, name: str, version: Version | str) -> ReleaseMetadata:
        """Core metadata of a release, from the cheapest file that states it.

        PEP 658 metadata file, else the smallest suitable wheel's METADATA,
        else an sdist's PKG-INFO (complete only from Metadata 2.2 with static
        Requires-Dist), else nothing (`complete=False`).
        """
        project, wanted = canonicalize_name(name), Version(str(version))
        with self._lock:
            known = self._metadata.get((project, wanted))
        if known is not None:
            return known
        candidates = self.files(project, wanted)
        if not candidates:
            raise UnknownPackage(f"{project} has no release {wanted} in {self._collector.where()}")
        result = self._read_metadata(project, wanted, candidates)
        with self._lock:
            self._metadata[(project, wanted)] = result
        return result

    def dependencies_known(self, name: str, version: Version | str) -> bool:
        """Whether `dependencies()` of this release is the whole truth.

        False for a release whose requirements only a build would tell: an
        sdist without static Metadata 2.2 Requires-Dist, a release with no
        readable metadata, or one with a Requires-Dist line that does not
        parse. Then `dependencies()` returns only what is known (often
        nothing), and an empty list must not be read as "needs nothing".
        """
        return self.metadata(name, version).complete

    def dependencies(
        self,
        name: str,
        version: Version | str,
        extras: Iterable[str] = (),
        environment: Mapping[str, str] | None = None,
    ) -> list[Requirement]:
        """Known requirements that apply in a target environment, with the given extras.

        `environment` overrides marker variables of this interpreter (pass the
        probe interpreter's `default_environment()`). The requirements are
        returned as declared, markers included, but already filtered. Ask
        `dependencies_known()` before reading the list as complete.
        """
        chosen_extras = ["", *sorted({canonicalize_name(extra) for extra in extras})]
        # A resolver asks the same release again and again (each map cell re-resolves):
        # the markers are evaluated once per release, extras and environment.
        key = (canonicalize_name(name), Version(str(version)), tuple(chosen_extras),
               tuple(sorted((environment or {}).items())))
        with self._lock:
            known = self._dependencies.get(key)
        if known is not None:
            return list(known)
        release = self.metadata(name, version)
        target = {**default_environment(), **(environment or {})}
        selected: dict[str, Requirement] = {}
        for requirement in release.requires_dist:
            if requirement.marker is None or any(
                requirement.marker.evaluate({**target, "extra": extra}) for extra in chosen_extras
            ):
                selected.setdefault(str(requirement), requirement)
        with self._lock:
            self._dependencies[key] = tuple(selected.values())
        return list(selected.values())

    def download(self, dist: DistFile) -> Path:
        """A local copy of the file, its sha256 checked; downloaded once, then cached."""
        local = local_path(dist.url)
        if local is not None:
            if not local.is_file():
                raise EnvprobeError(f"{dist.filename} is listed but missing at {local}")
            self._transport.verify_local(local, dist.sha256)
            return local
        folder = self._cache / "files" / (dist.sha256 or cache_key(dist.url))
        target = folder / dist.filename
        if not target.is_file():
            self._transport.fetch_to_file(dist.url, target, dist.sha256)
        return target

    def archive(self, dist: DistFile) -> LocalArchive | RemoteArchive:
        """The file as a scan reads it, without downloading it where the server allows.

        A remote wheel with a listed sha256 is read by range requests (see
        `ranges`: evidence for a scan, not verified bytes for an install);
        one already downloaded, a local file, an sdist or a file listed
        without a hash is read from disk (downloaded first, then verified).
        The listed sha256 keys the scan cache, so a cached scan reads nothing.
        """
        local = local_path(dist.url)
        if local is not None:
            if not local.is_file():
                raise EnvprobeError(f"{dist.filename} is listed but missing at {local}")
            return LocalArchive(local, dist.sha256)
        target = self._cache / "files" / (dist.sha256 or cache_key(dist.url)) / dist.filename
        if target.is_file() or not dist.is_wheel or not dist.sha256:
            return LocalArchive(self.download(dist), dist.sha256)
        with self._lock:
            found = self._archives.get(dist.url)
            if found is None:
                found = self._archives[dist.url] = RemoteArchive(
                    self._transport, dist.url, dist.filename, sha256=dist.sha256,
                    size=dist.size, fallback=target)
            self._archives.move_to_end(dist.url)
            while len(self._archives) > _OPEN_ARCHIVES:
                self._archives.popitem(last=False)[1].close()
        return found

    # -- metadata ------------------------------------------------------------

    def _read_metadata(
        self, project: NormalizedName, version: Version, candidates: list[DistFile]
    ) -> ReleaseMetadata:
        wheels = _by_suitability([dist for dist in candidates if dist.is_wheel])
        sdists = [dist for dist in candidates if not dist.is_wheel]
        offered = [dist for dist in [*wheels, *sdists] if dist.metadata_url]
        chosen = (offered or wheels or sdists)[0]
        cache_file = (
            self._cache / "metadata" / _METADATA_FORMAT / f"{chosen.sha256}.json"
            if chosen.sha256 else None
        )
        cached = read_json(cache_file)
        if cached is not None:
            text, source = cached["text"], cached["source"]
        else:
            text, source = self._metadata_text(chosen)
            if cache_file is not None and text is not None:
                write_json(cache_file, {"text": text, "source": source})
        if text is None:
            return unknown_metadata(project, version, source)
        return parse_metadata(
            text, project=project, version=version, source=source, from_sdist=not chosen.is_wheel
        )

    def _metadata_text(self, dist: DistFile) -> tuple[str | None, str]:
        """METADATA (or PKG-INFO) text of `dist` and a label of where it came from."""
        if dist.metadata_url:
            body = self._transport.get_verified(dist.metadata_url, dist.metadata_sha256)
            return body.decode("utf-8", "replace"), f"{dist.filename}.metadata"
        if dist.is_wheel:  # the directory and one member, by ranges where the server allows
            with self.archive(dist).open() as stream:
                return wheel_metadata_text(stream, dist.filename), dist.filename
        return sdist_pkg_info(self.download(dist)), dist.filename


def _tag_ranks(tags: Iterable[Tag] | None) -> dict[Tag, int]:
    """Each tag's position in the preference order; a repeated tag keeps its first place."""
    ranks: dict[Tag, int] = {}
    for rank, tag in enumerate(sys_tags() if tags is None else tags):
        ranks.setdefault(tag, rank)
    return ranks


def _rank(dist: DistFile, ranks: Mapping[Tag, int]) -> int | None:
    """Position of the wheel's best tag in the target's preference list; None if unusable."""
    return min((ranks[tag] for tag in dist.tags if tag in ranks), default=None)


def _by_suitability(wheels: list[DistFile]) -> list[DistFile]:
    """Wheels to read metadata from: installable here first, then the smallest."""
    ranks = _tag_ranks(None)
    return sorted(wheels, key=lambda dist: (
        _rank(dist, ranks) is None,
        dist.size if dist.size is not None else float("inf"),
        not dist.is_pure,
        dist.filename,
    ))
