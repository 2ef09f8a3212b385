"""What a source lists: project pages and find-links folders, read into `DistFile`s.

An index page comes in two forms, PEP 503 HTML and PEP 691 JSON, with the
same facts spelled differently (hash, Requires-Python, yanked, PEP 658/714
metadata file, PEP 700 size and upload time). Both are read into one `Link`
per file, which is what the page cache keeps; `dist_file` then interprets a
link's filename for one project. Nothing here touches the network.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

__all__ = [
    "DistFile",
    "Link",
    "MalformedPage",
    "dist_file",
    "link_to_file",
    "links_from_html",
    "links_from_json",
    "links_in_folder",
]


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
    # The wheel's own tags: a set, since a filename's tags have no order.
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
class Link:
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


class MalformedPage(ValueError):
    """A page that claims to be a PEP 691 JSON page but is not one."""


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


def links_from_html(text: str, page_url: str) -> list[Link]:
    """Every file of a PEP 503 page; relative links resolve against `<base>`, then `page_url`."""
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
        links.append(Link(
            filename=_filename_of(url),
            url=plain_url,
            sha256=_sha256_from_fragment(url),
            requires_python=anchor.get("data-requires-python") or None,
            yanked="data-yanked" in anchor,
            metadata_url=plain_url + ".metadata" if has_metadata else None,
            metadata_sha256=metadata_sha256,
        ))
    return links


def links_from_json(body: bytes, page_url: str) -> list[Link]:
    """Every file of a PEP 691 page; `MalformedPage` when the body is not one."""
    try:
        return [_json_link(entry, page_url) for entry in json.loads(body)["files"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise MalformedPage(f"malformed JSON page at {page_url}") from None


def _json_link(entry: dict, page_url: str) -> Link:
    url = _without_fragment(urljoin(page_url, entry["url"]))
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    yanked = entry.get("yanked", False)
    return Link(
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
    )


def link_to_file(path: Path) -> Link:
    """A local file as a find-links entry lists it: no hash, its size from the disk."""
    return Link(filename=path.name, url=path.as_uri(), size=path.stat().st_size)


def links_in_folder(folder: Path) -> list[Link]:
    """The files of a find-links folder (not its subfolders), by name."""
    return [link_to_file(entry) for entry in sorted(folder.iterdir()) if entry.is_file()]


def dist_file(project: NormalizedName, link: Link) -> DistFile | None:
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
