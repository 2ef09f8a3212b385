"""A remote wheel read in place: its central directory and the members a scan needs.

A scan asks a few questions of a wheel ("does module m bind S?"), so it
needs the zip's central directory and a handful of members, not the whole
file: torch's wheel is hundreds of MB, the members a scan reads a few
hundred KB. `RemoteArchive.open()` gives `zipfile` a seekable file that
fetches what is read by HTTP range requests, in aligned blocks kept in a
small bounded cache. The first request asks for the file's tail, which
holds the end record (and often the whole directory) and tells the size.
A server that ignores ranges (200 instead of 206) gets its body streamed
to disk, checked against the listed sha256, and read from there.

Honesty about hashes: bytes read by range cannot be checked against the
wheel's sha256, which covers the whole file. A scan of a range-read wheel
is evidence about a release, never an install: installs are done by pip or
uv, which verify every file they install. A server whose ranges contradict
each other or the listing (size, offsets, lengths) is refused with one
line, never trusted.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from envprobe.errors import EnvprobeError, IndexUnreachable
from envprobe.sources.kept_alive import RangeConnection
from envprobe.sources.transport import Missing, Transport, Unreachable

__all__ = ["BadRanges", "LocalArchive", "RemoteArchive"]

_BLOCK = 64 << 10
_TAIL = 64 << 10  # the end record, its comment, and usually the central directory
# A wheel listed this small is fetched whole by the first request: one round trip
# costs more than the bytes ranges would save (3 MB wheels: 0.09 s whole, 0.24 s by
# three ranges, bench/bench_range_reads.py).
_WHOLE = 4 << 20
# A scan about to read most of a file up to this size downloads it (to disk) instead.
_READ_WHOLE = 64 << 20
_MAX_FETCH = 4 << 20  # a run of sequential reads grows its requests up to this
_CACHED_BLOCKS = 96  # 6 MiB of blocks per open wheel
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class BadRanges(EnvprobeError):
    """The server's answers to range requests contradict the listing or each other."""


class LocalArchive:
    """A file on disk a scan reads: a find-links wheel, a download, a local index's file.

    `sha256` is the listing's (None: the scan cache hashes the file itself).
    """

    def __init__(self, path: Path, sha256: str | None) -> None:
        self.path = path
        self.filename = path.name
        self.sha256 = sha256

    def open(self) -> contextlib.AbstractContextManager[BinaryIO]:
        return self.path.open("rb")

    def will_read(self, nbytes: int) -> None:
        """On disk already: nothing to fetch."""


class RemoteArchive:
    """A remote file read by ranges, shared by every scan of it in this process.

    `fallback` is where the whole file goes when the server ignores ranges.
    `fetched` and `requests` count what crossed the network, for benchmarks.
    """

    def __init__(self, transport: Transport, url: str, filename: str, *, sha256: str | None,
                 size: int | None, fallback: Path) -> None:
        self.filename = filename
        self.sha256 = sha256
        self.path: Path | None = fallback if fallback.is_file() else None
        self.fetched = 0
        self.requests = 0
        self._transport = transport
        self._url = url
        self._listed_size = size
        self._fallback = fallback
        self._size: int | None = None
        self._tail = b""
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.RLock()
        self._next_sequential = -1
        self._connection: RangeConnection | None = None
        self._run = _BLOCK

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A seekable reader of the file: by ranges, or from the full download."""
        with self._lock:
            if self.path is None and self._size is None:
                self._start()
        if self.path is not None:
            with self.path.open("rb") as stream:
                yield stream
            return
        with io.BufferedReader(_RangeReader(self), buffer_size=_BLOCK) as reader:
            yield reader

    def close(self) -> None:
        """Let go of the connection (the cached blocks go with the object)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    @property
    def size(self) -> int:
        assert self._size is not None
        return self._size

    def will_read(self, nbytes: int) -> None:
        """A scan is about to read `nbytes` of the file. Where that is most of it, one
        streamed download to disk (its sha256 checked) costs one round trip where ranges
        cost one per 4 MiB, and every read after it is local."""
        with self._lock:
            if self.path is not None or self._size is None or len(self._tail) == self._size:
                return  # on disk, not open yet, or held whole since the first request
            if nbytes * 2 < self._size or self._size > _READ_WHOLE:
                return
            self._transport.fetch_to_file(self._url, self._fallback, self.sha256)
            self.requests += 1
            self.fetched += self._size
            self.path = self._fallback
            self._blocks.clear()
            self.close()

    def read_at(self, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer only at the end of the file)."""
        with self._lock:
            if self.path is not None:  # downloaded while open (`will_read`)
                with self.path.open("rb") as stream:
                    stream.seek(offset)
                    return stream.read(length)
            end = min(offset + length, self.size)
            if offset >= end:
                return b""
            tail_start = self.size - len(self._tail)
            if offset >= tail_start:
                return self._tail[offset - tail_start:end - tail_start]
            self._fetch_missing(offset // _BLOCK, (end - 1) // _BLOCK, sequential=offset)
            parts = []
            for block in range(offset // _BLOCK, (end - 1) // _BLOCK + 1):
                data = self._blocks[block]
                self._blocks.move_to_end(block)
                parts.append(data)
            while len(self._blocks) > max(_CACHED_BLOCKS, len(parts)):
                self._blocks.popitem(last=False)
            first = (offset // _BLOCK) * _BLOCK
            self._next_sequential = end
            return b"".join(parts)[offset - first:end - first]

    # -- the network ---------------------------------------------------------

    def _start(self) -> None:
        """Ask for the tail: it tells the size, or that the server ignores ranges."""
        listed = self._listed_size
        tail = listed if listed is not None and 0 < listed <= _WHOLE else _TAIL
        with self._range(f"-{tail}") as (status, content_range, stream):
            if status == 200:
                self._transport.save_stream(stream, self._url, self._fallback, self.sha256)
                self.path = self._fallback
                self.close()
                return
            first, last, total = self._parse(content_range, status)
            if self._listed_size is not None and total != self._listed_size:
                raise BadRanges(f"{self._url}: the server says {total} bytes, the index "
                                f"lists {self._listed_size}")
            if last != total - 1 or first != max(0, total - tail):
                raise BadRanges(f"{self._url}: asked for the last {tail} bytes, "
                                f"got {first}-{last} of {total}")
            self._size = total
            self._tail = self._body(stream, last - first + 1)

    def _fetch_missing(self, first_block: int, last_block: int, *, sequential: int) -> None:
        """Fetch the blocks of a read that are not cached, as one request per missing run."""
        missing = [b for b in range(first_block, last_block + 1) if b not in self._blocks]
        if not missing:
            return
        # Each request is a new connection: a scan reading on in order soon asks for MBs.
        self._run = min(self._run * 4, _MAX_FETCH) if sequential == self._next_sequential \
            else _BLOCK
        start, stop = missing[0], missing[-1]
        last_allowed = min((self.size - 1) // _BLOCK, start + _MAX_FETCH // _BLOCK - 1)
        while stop < min(start + self._run // _BLOCK - 1, last_allowed) \
                and stop + 1 not in self._blocks:
            stop += 1  # read ahead, up to the next block already held
        begin, end = start * _BLOCK, min((stop + 1) * _BLOCK, self.size) - 1
        with self._range(f"{begin}-{end}") as (status, content_range, stream):
            if status != 206:
                raise BadRanges(f"{self._url}: answered a range request with HTTP {status} "
                                "after honouring one")
            got = self._parse(content_range, status)
            if got != (begin, end, self.size):
                raise BadRanges(f"{self._url}: asked for bytes {begin}-{end} of {self.size}, "
                                f"got {got[0]}-{got[1]} of {got[2]}")
            data = self._body(stream, end - begin + 1)
        for block in range(start, stop + 1):
            self._blocks[block] = data[(block - start) * _BLOCK:(block - start + 1) * _BLOCK]
            self._blocks.move_to_end(block)

    @contextlib.contextmanager
    def _range(self, spec: str) -> Iterator[tuple[int, str | None, BinaryIO]]:
        self.requests += 1
        if self._connection is None:
            self._connection = RangeConnection(self._transport, self._url)
        try:
            with self._connection.open_range(spec) as answer:
                yield answer
        except (Missing, Unreachable) as error:
            raise IndexUnreachable(f"cannot read {self._url}: {error or 'not found'}") from None

    def _parse(self, content_range: str | None, status: int) -> tuple[int, int, int]:
        match = _CONTENT_RANGE.fullmatch((content_range or "").strip())
        if status != 206 or match is None:
            raise BadRanges(f"{self._url}: a range answer (HTTP {status}) without a valid "
                            f"Content-Range ({content_range!r})")
        first, last, total = (int(group) for group in match.groups())
        if not first <= last < total:
            raise BadRanges(f"{self._url}: an impossible Content-Range {content_range!r}")
        return first, last, total

    def _body(self, stream: BinaryIO, expected: int) -> bytes:
        try:
            data = stream.read(expected + 1)
        except OSError as error:
            raise IndexUnreachable(f"cannot read {self._url}: {error}") from None
        if len(data) != expected:
            raise BadRanges(f"{self._url}: a range of {expected} bytes came with {len(data)}")
        self.fetched += len(data)
        return data


class _RangeReader(io.RawIOBase):
    """The file interface `zipfile` needs (seek, tell, read) over one `RemoteArchive`."""

    def __init__(self, archive: RemoteArchive) -> None:
        self._archive = archive
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._archive.size}
        self._position = max(0, base[whence] + offset)
        return self._position

    def readinto(self, buffer) -> int:
        data = self._archive.read_at(self._position, len(buffer))
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)
