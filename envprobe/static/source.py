"""What a scan reads: an archive on disk, or one the index reads in place by ranges.

Scans take a `Path` (a local wheel or sdist) or any object shaped like
`ScanSource`, which is what the index hands out: its listed sha256 keys the
scan cache (so a cached answer needs no bytes at all), and `open()` gives
a seekable stream that may fetch only what is read.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["ScanSource", "scan_source"]


class ScanSource(Protocol):
    """An archive to scan: its file name, listed sha256 (None: unknown), local copy if any."""

    filename: str
    sha256: str | None
    path: Path | None

    def open(self) -> contextlib.AbstractContextManager[BinaryIO]: ...

    def will_read(self, nbytes: int) -> None:
        """A hint before a scan reads `nbytes` of it: a remote file may fetch it whole."""


class _OnDisk:
    """A local file whose sha256 the scan cache computes itself."""

    sha256 = None

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.filename = self.path.name

    def open(self) -> contextlib.AbstractContextManager[BinaryIO]:
        return self.path.open("rb")

    def will_read(self, nbytes: int) -> None:
        """On disk already: nothing to fetch."""


def scan_source(source: Path | ScanSource) -> ScanSource:
    """`source` itself, or a path wrapped to look like one."""
    return _OnDisk(source) if isinstance(source, (str, Path)) else source
