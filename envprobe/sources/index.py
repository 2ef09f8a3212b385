"""Versions, files and core metadata of projects, from the configured sources.

The solver and the boundary finder ask many cheap questions ("which releases
exist?", "what does 1.23.0 require?") before any real install. They are
answered from the simple repository API (PEP 691 JSON where the index offers
it, PEP 503 HTML otherwise), PEP 658 metadata files, wheels and, as a last
resort, an sdist's PKG-INFO; and from find-links folders. Sources come from
pip's configuration (`IndexConfig`), so envprobe sees what the installer sees.

Project pages are cached on disk for a short time (new releases appear);
core metadata forever (a file with a given hash never changes).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import posixpath
import ssl
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from urllib.request import HTTPSHandler, Request, build_opener, url2pathname

from packaging.markers import default_environment
from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, sys_tags
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from envprobe import __version__
from envprobe.atomic import write_atomically
from envprobe.errors import EnvprobeError, IndexUnreachable, UnknownPackage
from envprobe.paths import cache_dir as default_cache_dir
from envprobe.sources.config import IndexConfig

__all__ = ["DistFile", "PackageIndex", "ReleaseMetadata"]

_ACCEPT_SIMPLE = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_JSON_SIMPLE = "application/vnd.pypi.simple.v1+json"
_CHUNK = 1 << 16
# Bump when the cached page format changes, so old entries are simply ignored.
_PAGE_FORMAT = "pages-v2"
_METADATA_FORMAT = "metadata-v1"


@dataclass(frozen=True)
class DistFile:
    """One downloadable file of a release, as an index or folder lists it."""

    filename: str
    url: str
    version: Version
    is_wheel: bool
    requires_python: str | None = None
    yanked: bool = False
    sha256: str | None = None
    metadata_url: str | None = None
    tags: frozenset[Tag] = frozenset()
    metadata_sha256: str | None = None
    size: int | None = None
    upload_time: str | None = None  # PEP 700, ISO 8601; JSON pages only

    @property
    def is_pure(self) -> bool:
        """A wheel that runs anywhere: no compiled code to worry about when scanning."""
        return self.is_wheel and all(
            tag.abi == "none" and tag.platform == "any" for tag in self.tags
        )


@dataclass(frozen=True)
class ReleaseMetadata:
    """What a release declares: its requirements, Python range and extras."""

    name: NormalizedName
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    provides_extra: frozenset[str]
    source: str
    complete: bool = True


@dataclass(frozen=True)
class _Link:
    """A file entry as a page states it, before its filename is interpreted."""

    filename: str
    url: str
    sha256: str | None = None
    requires_python: str | None = None
    yanked: bool = False
    metadata_url: str | None = None
    metadata_sha256: str | None = None
    size: int | None = None
    upload_time: str | None = None


class _Missing(Exception):
    """The source answered: it has no such project (404, no folder)."""


class _Unreachable(Exception):
    """The source did not answer; the message says why, on one line."""


class _AnchorParser(HTMLParser):
    """Collects `<a>` attributes and the `<base href>` of a PEP 503 page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # html.parser already unescapes attribute values (`&gt;=3.8` -> `>=3.8`).
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")


def _filename_of(url: str) -> str:
    return unquote(posixpath.basename(urlsplit(url).path))


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _sha256_from_fragment(url: str) -> str | None:
    algorithm, _, digest = urlsplit(url).fragment.partition("=")
    return digest.lower() if algorithm == "sha256" and digest else None


def _metadata_hash(value: str | None) -> tuple[bool, str | None]:
    """Interpret a PEP 658/714 attribute: is metadata offered, and with which sha256."""
    if value is None or value.lower() == "true":
        return True, None
    if value.lower() == "false":
        return False, None
    algorithm, _, digest = value.partition("=")
    return True, digest.lower() if algorithm == "sha256" else None


def _links_from_html(text: str, page_url: str) -> list[_Link]:
    parser = _AnchorParser()
    parser.feed(text)
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links = []
    for anchor in parser.anchors:
        href = anchor.get("href")
        if not href:
            continue
        url = urljoin(base, href)
        metadata_attr = "data-core-metadata" if "data-core-metadata" in anchor else (
            "data-dist-info-metadata" if "data-dist-info-metadata" in anchor else None
        )
        has_metadata, metadata_sha256 = (
            _metadata_hash(anchor[metadata_attr]) if metadata_attr else (False, None)
        )
        plain_url = _without_fragment(url)
        links.append(_Link(
            filename=_filename_of(url),
            url=plain_url,
            sha256=_sha256_from_fragment(url),
            requires_python=anchor.get("data-requires-python") or None,
            yanked="data-yanked" in anchor,
            metadata_url=plain_url + ".metadata" if has_metadata else None,
            metadata_sha256=metadata_sha256,
        ))
    return links


def _links_from_json(body: bytes, page_url: str) -> list[_Link]:
    try:
        page = json.loads(body)
        entries = page["files"]
    except (ValueError, KeyError, TypeError):
        raise _Unreachable(f"malformed JSON page at {page_url}") from None
    links = []
    for entry in entries:
        url = _without_fragment(urljoin(page_url, entry["url"]))
        metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
        yanked = entry.get("yanked", False)
        links.append(_Link(
            filename=entry.get("filename") or _filename_of(url),
            url=url,
            sha256=(entry.get("hashes") or {}).get("sha256"),
            requires_python=entry.get("requires-python") or None,
            # PEP 691: a string (a reason, possibly empty) also means yanked.
            yanked=isinstance(yanked, str) or bool(yanked),
            metadata_url=url + ".metadata" if metadata else None,
            metadata_sha256=metadata.get("sha256") if isinstance(metadata, dict) else None,
            size=entry.get("size"),
            upload_time=entry.get("upload-time"),
        ))
    return links


def _dist_file(project: NormalizedName, link: _Link) -> DistFile | None:
    """Interpret a link for `project`; None for other projects and unusable files."""
    try:
        if link.filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(link.filename)
        else:
            name, version = parse_sdist_filename(link.filename)
            tags = frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    if name != project:
        return None
    return DistFile(
        filename=link.filename,
        url=link.url,
        version=version,
        is_wheel=link.filename.endswith(".whl"),
        requires_python=link.requires_python,
        yanked=link.yanked,
        sha256=link.sha256,
        metadata_url=link.metadata_url,
        tags=frozenset(tags),
        metadata_sha256=link.metadata_sha256,
        size=link.size,
        upload_time=link.upload_time,
    )


def _local_path(location: str) -> Path | None:
    """The filesystem path of a find-links entry or file:// URL; None for http(s)."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    return Path(location)


def _links_in_folder(folder: Path) -> list[_Link]:
    if not folder.is_dir():
        raise _Unreachable(f"{folder} is not a folder")
    return [
        _Link(filename=entry.name, url=entry.as_uri(), size=entry.stat().st_size)
        for entry in sorted(folder.iterdir())
        if entry.is_file()
    ]


def _one_line(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    return " ".join(str(reason).split()) or type(error).__name__


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sdist_pkg_info(path: Path) -> str | None:
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


def _wheel_metadata_text(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return archive.read(name).decode("utf-8", "replace")
    raise EnvprobeError(f"{path.name} has no .dist-info/METADATA: not a valid wheel")


def _parse_metadata(
    text: str, *, project: NormalizedName, version: Version, source: str, from_sdist: bool
) -> ReleaseMetadata:
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
        # Before Metadata 2.2 an sdist's PKG-INFO may simply omit what the
        # build would compute; from 2.2 on, omissions are marked Dynamic.
        try:
            declared = Version(raw.get("metadata_version", "1.0")) >= Version("2.2")
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
        provides_extra=frozenset(canonicalize_name(extra) for extra in raw.get("provides_extra", [])),
        source=source,
        complete=complete,
    )


def _default_context(cert: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cert)
    except (OSError, ssl.SSLError) as error:
        raise EnvprobeError(f"cannot load the certificate bundle {cert}: {_one_line(error)}") from None


@dataclass
class _Sources:
    """Where a project was looked for, and what each place said."""

    answered: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)


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
        self._timeout = timeout
        self._page_ttl = page_ttl
        self._refresh = refresh
        self._opener = build_opener(HTTPSHandler(context=_default_context(config.cert)))
        self._lock = threading.Lock()
        self._project_files: dict[NormalizedName, list[DistFile]] = {}
        self._metadata: dict[tuple[NormalizedName, Version], ReleaseMetadata] = {}
        self._verified: set[Path] = set()

    # -- questions -----------------------------------------------------------

    def versions(self, name: str) -> list[Version]:
        """Every release with at least one file that is not yanked, oldest first."""
        return sorted({dist.version for dist in self.files(name) if not dist.yanked})

    def files(self, name: str, version: Version | str | None = None) -> list[DistFile]:
        """Files of a project (of one release when `version` is given), yanked included."""
        project = canonicalize_name(name)
        with self._lock:
            known = self._project_files.get(project)
        if known is None:
            known = self._collect(project)
            with self._lock:
                self._project_files[project] = known
        if version is None:
            return list(known)
        wanted = Version(str(version))
        return [dist for dist in known if dist.version == wanted]

    def best_wheel(
        self, name: str, version: Version | str, tags: Iterable[Tag] | None = None
    ) -> DistFile | None:
        """A wheel installable on `tags` (default: this interpreter), pure-Python first."""
        ranks = _tag_ranks(tags)
        compatible = [
            dist for dist in self.files(name, version)
            if dist.is_wheel and not dist.yanked and _rank(dist, ranks) is not None
        ]
        return min(compatible, key=lambda dist: (not dist.is_pure, _rank(dist, ranks)), default=None)

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
            raise UnknownPackage(
                f"{project} has no release {wanted} in {self._where()}"
            )
        result = self._read_metadata(project, wanted, candidates)
        with self._lock:
            self._metadata[(project, wanted)] = result
        return result

    def dependencies(
        self,
        name: str,
        version: Version | str,
        extras: Iterable[str] = (),
        environment: Mapping[str, str] | None = None,
    ) -> list[Requirement]:
        """Requirements that apply in a target environment, with the given extras.

        `environment` overrides marker variables of this interpreter (pass the
        probe interpreter's `default_environment()`). The requirements are
        returned as declared, markers included, but already filtered.
        """
        release = self.metadata(name, version)
        target = {**default_environment(), **(environment or {})}
        chosen_extras = ["", *sorted({canonicalize_name(extra) for extra in extras})]
        selected: dict[str, Requirement] = {}
        for requirement in release.requires_dist:
            if requirement.marker is None or any(
                requirement.marker.evaluate({**target, "extra": extra}) for extra in chosen_extras
            ):
                selected.setdefault(str(requirement), requirement)
        return list(selected.values())

    def download(self, dist: DistFile) -> Path:
        """A local copy of the file, its sha256 checked; downloaded once, then cached."""
        local = _local_path(dist.url)
        if local is not None:
            if not local.is_file():
                raise EnvprobeError(f"{dist.filename} is listed but missing at {local}")
            self._verify_local(local, dist.sha256)
            return local
        folder = self._cache / "files" / (dist.sha256 or _key(dist.url))
        target = folder / dist.filename
        if target.is_file():
            return target
        self._fetch_to_file(dist.url, target, dist.sha256)
        return target

    # -- collecting files ----------------------------------------------------

    def _source_list(self) -> list[tuple[str, str]]:
        """(kind, location) pairs; local find-links first, since reading them is free."""
        return [("find-links", link) for link in self.config.find_links] + [
            ("index", url) for url in self.config.index_urls
        ]

    def _where(self) -> str:
        places = [location for _kind, location in self._source_list()]
        return ", ".join(places) if places else "no source (--no-index and no --find-links)"

    def _collect(self, project: NormalizedName) -> list[DistFile]:
        sources = _Sources()
        by_filename: dict[str, DistFile] = {}
        for kind, location in self._source_list():
            try:
                links = (
                    self._index_links(location, project) if kind == "index"
                    else self._find_links(location)
                )
            except _Missing:
                sources.answered.append(location)
                continue
            except _Unreachable as error:
                sources.unreachable[location] = str(error)
                continue
            sources.answered.append(location)
            for link in links:
                dist = _dist_file(project, link)
                if dist is None:
                    continue
                known = by_filename.get(dist.filename)
                # The same file on local disk and on a server: the local copy is free to read.
                if known is None or (_local_path(known.url) is None and _local_path(dist.url)):
                    by_filename[dist.filename] = dist
        if by_filename:
            return sorted(by_filename.values(), key=lambda dist: (dist.version, dist.filename))
        if sources.unreachable and not sources.answered:
            reasons = "; ".join(f"{where} ({why})" for where, why in sources.unreachable.items())
            raise IndexUnreachable(f"cannot reach the package index for {project}: {reasons}")
        unreachable = (
            f" (unreachable: {', '.join(sources.unreachable)})" if sources.unreachable else ""
        )
        raise UnknownPackage(f"no package named {project!r} in {self._where()}{unreachable}")

    def _find_links(self, location: str) -> list[_Link]:
        local = _local_path(location)
        if local is None:
            return self._page(location, accept="text/html")
        if local.is_file():
            return [_Link(filename=local.name, url=local.as_uri(), size=local.stat().st_size)]
        return _links_in_folder(local)

    def _index_links(self, index_url: str, project: NormalizedName) -> list[_Link]:
        local = _local_path(index_url)
        if local is not None and not local.is_dir():
            raise _Unreachable(f"{local} is not a folder")
        return self._page(index_url.rstrip("/") + f"/{project}/", accept=_ACCEPT_SIMPLE)

    def _page(self, url: str, *, accept: str) -> list[_Link]:
        """Links of a page, from the disk cache while it is fresh (local pages: never cached)."""
        if _local_path(url) is not None:
            body, _type, final_url = self._get(url, accept=accept)
            return _links_from_html(body.decode("utf-8", "replace"), final_url)
        cache_file = self._cache / "index" / _PAGE_FORMAT / f"{_key(url)}.json"
        if not self._refresh:
            cached = _read_json(cache_file)
            if cached is not None and time.time() - cached["fetched"] < self._page_ttl:
                if not cached["found"]:
                    raise _Missing
                return [_Link(**link) for link in cached["links"]]
        try:
            body, content_type, final_url = self._get(url, accept=accept)
        except _Missing:
            _write_json(cache_file, {"fetched": time.time(), "found": False, "links": []})
            raise
        if content_type == _JSON_SIMPLE:
            links = _links_from_json(body, final_url)
        else:
            links = _links_from_html(body.decode("utf-8", "replace"), final_url)
        _write_json(cache_file, {
            "fetched": time.time(), "found": True, "links": [asdict(link) for link in links],
        })
        return links

    # -- metadata ------------------------------------------------------------

    def _read_metadata(
        self, project: NormalizedName, version: Version, candidates: list[DistFile]
    ) -> ReleaseMetadata:
        wheels = _by_suitability([dist for dist in candidates if dist.is_wheel])
        sdists = [dist for dist in candidates if not dist.is_wheel]
        offered = [dist for dist in [*wheels, *sdists] if dist.metadata_url]
        chosen = (offered or wheels or sdists)[0]
        from_sdist = not chosen.is_wheel
        cache_file = (
            self._cache / "metadata" / _METADATA_FORMAT / f"{chosen.sha256}.json"
            if chosen.sha256 else None
        )
        cached = _read_json(cache_file) if cache_file else None
        if cached is not None:
            text, source = cached["text"], cached["source"]
        else:
            text, source = self._metadata_text(chosen)
            if cache_file is not None and text is not None:
                _write_json(cache_file, {"text": text, "source": source})
        if text is None:
            return ReleaseMetadata(
                name=project, version=version, requires_dist=(), requires_python=None,
                provides_extra=frozenset(), source=source, complete=False,
            )
        return _parse_metadata(
            text, project=project, version=version, source=source, from_sdist=from_sdist
        )

    def _metadata_text(self, dist: DistFile) -> tuple[str | None, str]:
        """METADATA (or PKG-INFO) text of `dist` and a label of where it came from."""
        if dist.metadata_url:
            body = self._get_verified(dist.metadata_url, dist.metadata_sha256)
            return body.decode("utf-8", "replace"), f"{dist.filename}.metadata"
        path = self.download(dist)
        if dist.is_wheel:
            return _wheel_metadata_text(path), dist.filename
        return _sdist_pkg_info(path), dist.filename

    # -- transport -----------------------------------------------------------

    @contextlib.contextmanager
    def _open(self, url: str, accept: str) -> Iterator[tuple[object, str, str]]:
        """Yield (readable stream, content type, final URL); map failures to _Missing/_Unreachable."""
        local = _local_path(url)
        if local is not None:
            path = local / "index.html" if local.is_dir() else local
            try:
                stream = path.open("rb")
            except FileNotFoundError:
                raise _Missing from None
            except OSError as error:
                raise _Unreachable(_one_line(error)) from None
            with stream:
                yield stream, "text/html", path.as_uri()
            return
        request = Request(url, headers={"Accept": accept, "User-Agent": f"envprobe/{__version__}"})
        try:
            response = self._opener.open(request, timeout=self._timeout)
        except HTTPError as error:
            if error.code in (404, 410):
                raise _Missing from None
            raise _Unreachable(f"HTTP {error.code} {_one_line(error)}") from None
        except (URLError, OSError, http.client.HTTPException) as error:
            raise _Unreachable(_one_line(error)) from None
        with response:
            yield response, response.headers.get_content_type(), response.geturl()

    def _get(self, url: str, *, accept: str) -> tuple[bytes, str, str]:
        with self._open(url, accept) as (stream, content_type, final_url):
            try:
                return stream.read(), content_type, final_url
            except (OSError, http.client.HTTPException) as error:
                raise _Unreachable(_one_line(error)) from None

    def _get_verified(self, url: str, sha256: str | None) -> bytes:
        try:
            body, _type, _url = self._get(url, accept="*/*")
        except (_Missing, _Unreachable) as error:
            raise IndexUnreachable(f"cannot fetch {url}: {error or 'not found'}") from None
        if sha256 and hashlib.sha256(body).hexdigest() != sha256:
            raise EnvprobeError(f"sha256 mismatch for {url}: the index served other bytes")
        return body

    def _fetch_to_file(self, url: str, target: Path, sha256: str | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        digest = hashlib.sha256()
        try:
            with os.fdopen(handle, "wb") as out, self._open(url, "*/*") as (stream, _t, _u):
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if sha256 and digest.hexdigest() != sha256:
                raise EnvprobeError(f"sha256 mismatch for {url}: the index served other bytes")
            os.replace(temporary, target)
        except (_Missing, _Unreachable) as error:
            Path(temporary).unlink(missing_ok=True)
            raise IndexUnreachable(f"cannot download {url}: {error or 'not found'}") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _verify_local(self, path: Path, sha256: str | None) -> None:
        if sha256 is None or path in self._verified:
            return
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise EnvprobeError(f"sha256 mismatch for {path}: the file differs from its listing")
        with self._lock:
            self._verified.add(path)


def _tag_ranks(tags: Iterable[Tag] | None) -> dict[Tag, int]:
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


def _read_json(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: object) -> None:
    write_atomically(path, json.dumps(value).encode())
