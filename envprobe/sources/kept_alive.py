"""Range requests to one file over one kept-alive connection.

urllib opens a new connection (a TCP and TLS handshake) for every request;
a scan that reads a wheel by ranges makes a few requests in a row to the
same file, and on a wheel of a few MB the handshakes cost more than the
bytes ranges save. Where the URL is plain HTTP(S) and no proxy is set, the
requests share one `http.client` connection, reopened when the server
closes it; a redirect, a proxy or anything unusual goes back to urllib.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import getproxies

from envprobe import __version__
from envprobe.sources.transport import Missing, Transport, Unreachable, one_line

__all__ = ["RangeConnection"]

_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
            http.client.CannotSendRequest, http.client.ResponseNotReady)


class RangeConnection:
    """`open_range(spec)` for one URL, as `Transport.open_range` answers it, on one connection.

    From the first redirect on, requests go through `transport` (urllib),
    which follows redirects as every other request does.
    """

    def __init__(self, transport: Transport, url: str) -> None:
        self._transport = transport
        self._url = url
        parts = urlsplit(url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._connection: http.client.HTTPConnection | None = None
        if parts.hostname and not getproxies():
            if parts.scheme == "https":
                self._connection = http.client.HTTPSConnection(
                    parts.hostname, parts.port, timeout=transport.timeout,
                    context=transport.context)
            elif parts.scheme == "http":
                self._connection = http.client.HTTPConnection(
                    parts.hostname, parts.port, timeout=transport.timeout)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    @contextlib.contextmanager
    def open_range(self, spec: str) -> Iterator[tuple[int, str | None, BinaryIO]]:
        if self._connection is None:
            with self._transport.open_range(self._url, spec) as answer:
                yield answer
            return
        response = self._send(spec)
        if 300 <= response.status < 400:
            response.close()
            self.close()
            self._connection = None
            with self._transport.open_range(self._url, spec) as answer:
                yield answer
            return
        if response.status not in (200, 206):
            response.close()
            if response.status in (404, 410):
                raise Missing
            raise Unreachable(f"HTTP {response.status} {response.reason}")
        try:
            yield response.status, response.headers.get("Content-Range"), response
        finally:
            if not response.isclosed():
                self.close()  # left unread: the connection cannot carry the next request

    def _send(self, spec: str) -> http.client.HTTPResponse:
        """The response to one range request; a connection the server dropped is reopened once."""
        assert self._connection is not None
        headers = {"Range": f"bytes={spec}", "Accept-Encoding": "identity",
                   "User-Agent": f"envprobe/{__version__}"}
        try:
            try:
                self._connection.request("GET", self._path, headers=headers)
                return self._connection.getresponse()
            except _DROPPED:
                self.close()
                self._connection.request("GET", self._path, headers=headers)
                return self._connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise Unreachable(one_line(error)) from None
