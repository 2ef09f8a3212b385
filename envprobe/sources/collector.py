"""Every file of a project, gathered from each configured source in turn.

Find-links entries are read first (local ones cost nothing), then each
index's project page. Remote pages are cached on disk for `page_ttl`
seconds, a "no such project" answer included; local pages are read afresh.
A project is unknown only when every source answered and none lists it; it
is unreachable only when no source answered at all.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.utils import NormalizedName

from envprobe.errors import IndexUnreachable, UnknownPackage
from envprobe.sources.config import IndexConfig
from envprobe.sources.pages import (
    DistFile,
    Link,
    MalformedPage,
    dist_file,
    link_to_file,
    links_from_html,
    links_from_json,
    links_in_folder,
)
from envprobe.sources.transport import (
    Missing,
    Transport,
    Unreachable,
    cache_key,
    local_path,
    read_json,
    write_json,
)

__all__ = ["Collector"]

_ACCEPT_SIMPLE = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_JSON_SIMPLE = "application/vnd.pypi.simple.v1+json"
# Bump when the cached page format changes, so old entries are simply ignored.
_PAGE_FORMAT = "pages-v2"


@dataclass
class _Sources:
    """Where a project was looked for, and what each place said."""

    answered: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)


class Collector:
    """Lists a project's files across the sources of one `IndexConfig`."""

    def __init__(
        self,
        config: IndexConfig,
        transport: Transport,
        *,
        cache_dir: Path,
        page_ttl: float,
        refresh: bool,
    ) -> None:
        self._config = config
        self._transport = transport
        self._pages = cache_dir / "index" / _PAGE_FORMAT
        self._page_ttl = page_ttl
        self._refresh = refresh

    def where(self) -> str:
        """The sources, as a person reads them in an error message."""
        places = [location for _kind, location in self._source_list()]
        return ", ".join(places) if places else "no source (--no-index and no --find-links)"

    def collect(self, project: NormalizedName) -> list[DistFile]:
        """The project's files, by version then filename; `UnknownPackage` if none lists it."""
        sources = _Sources()
        by_filename: dict[str, DistFile] = {}
        for kind, location in self._source_list():
            try:
                links = (
                    self._index_links(location, project) if kind == "index"
                    else self._find_links(location)
                )
            except Missing:
                sources.answered.append(location)
                continue
            except Unreachable as error:
                sources.unreachable[location] = str(error)
                continue
            sources.answered.append(location)
            for link in links:
                dist = dist_file(project, link)
                if dist is None:
                    continue
                known = by_filename.get(dist.filename)
                # The same file on local disk and on a server: the local copy is free to read.
                if known is None or (local_path(known.url) is None and local_path(dist.url)):
                    by_filename[dist.filename] = dist
        if by_filename:
            return sorted(by_filename.values(), key=lambda dist: (dist.version, dist.filename))
        if sources.unreachable and not sources.answered:
            reasons = "; ".join(f"{where} ({why})" for where, why in sources.unreachable.items())
            raise IndexUnreachable(f"cannot reach the package index for {project}: {reasons}")
        unreachable = (
            f" (unreachable: {', '.join(sources.unreachable)})" if sources.unreachable else ""
        )
        raise UnknownPackage(f"no package named {project!r} in {self.where()}{unreachable}")

    def _source_list(self) -> list[tuple[str, str]]:
        """(kind, location) pairs; local find-links first, since reading them is free."""
        return [("find-links", link) for link in self._config.find_links] + [
            ("index", url) for url in self._config.index_urls
        ]

    def _find_links(self, location: str) -> list[Link]:
        local = local_path(location)
        if local is None:
            return self._page(location, accept="text/html")
        if local.is_file():
            return [link_to_file(local)]
        if not local.is_dir():
            raise Unreachable(f"{local} is not a folder")
        return links_in_folder(local)

    def _index_links(self, index_url: str, project: NormalizedName) -> list[Link]:
        local = local_path(index_url)
        if local is not None and not local.is_dir():
            raise Unreachable(f"{local} is not a folder")
        return self._page(index_url.rstrip("/") + f"/{project}/", accept=_ACCEPT_SIMPLE)

    def _page(self, url: str, *, accept: str) -> list[Link]:
        """Links of a page, from the disk cache while it is fresh (local pages: never cached)."""
        if local_path(url) is not None:
            body, _type, final_url = self._transport.get(url, accept=accept)
            return links_from_html(body.decode("utf-8", "replace"), final_url)
        cache_file = self._pages / f"{cache_key(url)}.json"
        if not self._refresh:
            cached = read_json(cache_file)
            if cached is not None and time.time() - cached["fetched"] < self._page_ttl:
                if not cached["found"]:
                    raise Missing
                return [Link(**link) for link in cached["links"]]
        try:
            body, content_type, final_url = self._transport.get(url, accept=accept)
        except Missing:
            write_json(cache_file, {"fetched": time.time(), "found": False, "links": []})
            raise
        try:
            links = (
                links_from_json(body, final_url) if content_type == _JSON_SIMPLE
                else links_from_html(body.decode("utf-8", "replace"), final_url)
            )
        except MalformedPage as error:
            raise Unreachable(str(error)) from None
        write_json(cache_file, {
            "fetched": time.time(), "found": True, "links": [asdict(link) for link in links],
        })
        return links
