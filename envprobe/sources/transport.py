"""Bytes from the sources: HTTP(S) or local files, checked against their sha256.

Every way a source can fail is reduced to two answers the index can act on:
`Missing` (the source answered: no such thing) and `Unreachable` (it did not
answer; the message says why, on one line). The on-disk cache is plain JSON
files written atomically, so threads and concurrent runs can share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import HTTPSHandler, Request, build_opener, url2pathname

from envprobe import __version__
from envprobe.atomic import write_atomically
from envprobe.errors import EnvprobeError, IndexUnreachable

__all__ = [
    "Missing",
    "Transport",
    "Unreachable",
    "cache_key",
    "local_path",
    "read_json",
    "write_json",
]

_CHUNK = 1 << 16


class Missing(Exception):
    """The source answered: it has no such project or file (404, 410, no file)."""


class Unreachable(Exception):
    """The source did not answer; the message says why, on one line."""


def local_path(location: str) -> Path | None:
    """The filesystem path of a find-links entry or file:// URL; None for http(s)."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    return Path(location)


def one_line(error: BaseException) -> str:
    """An error's reason as one line, for messages a person reads."""
    reason = getattr(error, "reason", None) or error
    return " ".join(str(reason).split()) or type(error).__name__


def cache_key(text: str) -> str:
    """A file-name-safe key for a URL."""
    return hashlib.sha256(text.encode()).hexdigest()


def read_json(path: Path | None) -> dict | None:
    """A cache entry, or None when it is absent or unreadable (then it is rebuilt)."""
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, value: object) -> None:
    """Store a cache entry so that no reader ever sees it half written."""
    write_atomically(path, json.dumps(value).encode())


def _default_context(cert: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cert)
    except (OSError, ssl.SSLError) as error:
        raise EnvprobeError(
            f"cannot load the certificate bundle {cert}: {one_line(error)}"
        ) from None


class Transport:
    """Reads URLs and local paths; safe to share between threads."""

    def __init__(self, *, cert: str | None, timeout: float) -> None:
        self.timeout = timeout
        self.context = _default_context(cert)
        self._opener = build_opener(HTTPSHandler(context=self.context))
        self._lock = threading.Lock()
        self._verified: set[Path] = set()

    @contextlib.contextmanager
    def open(self, url: str, accept: str) -> Iterator[tuple[BinaryIO, str, str]]:
        """Yield (readable stream, content type, final URL); failures become Missing/Unreachable.

        A local folder reads as its `index.html`, so a simple index on disk
        works like one served over HTTP.
        """
        local = local_path(url)
        if local is not None:
            path = local / "index.html" if local.is_dir() else local
            try:
                stream = path.open("rb")
            except FileNotFoundError:
                raise Missing from None
            except OSError as error:
                raise Unreachable(one_line(error)) from None
            with stream:
                yield stream, "text/html", path.as_uri()
            return
        with self._request(url, {"Accept": accept}) as response:
            yield response, response.headers.get_content_type(), response.geturl()

    @contextlib.contextmanager
    def _request(self, url: str, headers: dict[str, str]) -> Iterator[http.client.HTTPResponse]:
        """An open HTTP response; failures become Missing/Unreachable."""
        request = Request(url, headers={**headers, "User-Agent": f"envprobe/{__version__}"})
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except HTTPError as error:
            if error.code in (404, 410):
                raise Missing from None
            raise Unreachable(f"HTTP {error.code} {one_line(error)}") from None
        except (URLError, OSError, http.client.HTTPException) as error:
            raise Unreachable(one_line(error)) from None
        with response:
            yield response

    def get(self, url: str, *, accept: str) -> tuple[bytes, str, str]:
        """The whole body, its content type and the URL it came from after redirects."""
        with self.open(url, accept) as (stream, content_type, final_url):
            try:
                return stream.read(), content_type, final_url
            except (OSError, http.client.HTTPException) as error:
                raise Unreachable(one_line(error)) from None

    def get_verified(self, url: str, sha256: str | None) -> bytes:
        """A small file (a PEP 658 metadata file) whose sha256 must match its listing."""
        try:
            body, _type, _url = self.get(url, accept="*/*")
        except (Missing, Unreachable) as error:
            raise IndexUnreachable(f"cannot fetch {url}: {error or 'not found'}") from None
        if sha256 and hashlib.sha256(body).hexdigest() != sha256:
            raise EnvprobeError(f"sha256 mismatch for {url}: the index served other bytes")
        return body

    @contextlib.contextmanager
    def open_range(self, url: str, spec: str) -> Iterator[tuple[int, str | None, BinaryIO]]:
        """Yield (HTTP status, Content-Range, stream) for `Range: bytes=<spec>`.

        A server that ignores ranges answers 200 with the whole body: the
        caller then streams it, never reads it whole.
        """
        with self._request(url, {"Range": f"bytes={spec}", "Accept-Encoding": "identity"}) as response:
            yield response.status, response.headers.get("Content-Range"), response

    def fetch_to_file(self, url: str, target: Path, sha256: str | None) -> None:
        """Stream `url` into `target`; `target` appears only once its bytes are checked."""
        try:
            with self.open(url, "*/*") as (stream, _type, _url):
                self.save_stream(stream, url, target, sha256)
        except (Missing, Unreachable) as error:
            raise IndexUnreachable(f"cannot download {url}: {error or 'not found'}") from None

    def save_stream(self, stream: BinaryIO, url: str, target: Path, sha256: str | None) -> None:
        """Copy an open download into `target` in chunks, checking its sha256 on the way."""
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        digest = hashlib.sha256()
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                except (OSError, http.client.HTTPException) as error:
                    raise Unreachable(one_line(error)) from None
            if sha256 and digest.hexdigest() != sha256:
                raise EnvprobeError(f"sha256 mismatch for {url}: the index served other bytes")
            os.replace(temporary, target)
        except (Missing, Unreachable) as error:
            Path(temporary).unlink(missing_ok=True)
            raise IndexUnreachable(f"cannot download {url}: {error or 'not found'}") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def verify_local(self, path: Path, sha256: str | None) -> None:
        """Check a local file against its listed sha256, once per file per process."""
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
