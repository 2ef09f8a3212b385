"""Scan answers kept on disk by the wheel's sha256, so a release is scanned once.

The key is the file's content, not its name or URL: the same wheel reached
through two indexes shares its answers, and a rebuilt wheel of the same
name does not. The sha256 the index lists is taken as it is, so a cached
answer costs no bytes; only a file listed without one is hashed. Entries
are JSON; each scan says how its answer is encoded.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from envprobe.atomic import write_atomically
from envprobe.paths import cache_dir
from envprobe.static.source import ScanSource, scan_source

__all__ = ["cached_scan"]

# Bump when scanning rules change: cached answers of older rules are then ignored.
_SCAN_FORMAT = "v5"

_T = TypeVar("_T")

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def cached_scan(
    source: Path | ScanSource,
    kind: str,
    subject: str,
    scan: Callable[[], _T],
    encode: Callable[[_T], object],
    decode: Callable[[Any], _T],
) -> _T:
    """The cached answer of scan `kind` about `subject` in this archive, else `scan()`'s, stored.

    An unreadable entry (missing, truncated, not JSON) counts as absent.
    """
    archive = scan_source(source)
    digest = archive.sha256
    if digest is None:
        if archive.path is None:
            raise ValueError(f"{archive.filename}: no listed sha256 and no local copy to hash")
        digest = _sha256(archive.path)
    path = _cache_path(digest, kind, subject)
    cached = _read(path)
    if cached is not None:
        return decode(cached)
    answer = scan()
    _write(path, encode(answer))
    return answer


def _sha256(wheel_path: Path) -> str:
    """The wheel's sha256, computed once per file version in this process."""
    stat = os.stat(wheel_path)
    key = (str(Path(wheel_path).resolve()), stat.st_size, stat.st_mtime_ns)
    with _digests_lock:
        if key in _digests:
            return _digests[key]
    digest = hashlib.sha256()
    with open(wheel_path, "rb") as stream:
        while chunk := stream.read(1 << 16):
            digest.update(chunk)
    with _digests_lock:
        _digests[key] = digest.hexdigest()
    return _digests[key]


def _cache_path(digest: str, kind: str, subject: str) -> Path:
    return cache_dir() / "scans" / _SCAN_FORMAT / digest[:2] / digest / kind / f"{subject}.json"


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write(path: Path, value: object) -> None:
    """Atomic, so concurrent scans of one wheel never read half an answer."""
    write_atomically(path, json.dumps(value).encode())
