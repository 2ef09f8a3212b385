"""Bytecode kept across probes: what one probe's imports compiled, the next one reuses.

Probes install without compiling (a probe imports once; compiling every module
of every package costs more than its imports do), so each probe compiled every
module it imported all over again: most of a small probe's run, seconds on a
NeMo-sized tree, and the same modules probe after probe. `child.py` loads this
file when the host names a store folder: before the code runs, the kept
bytecode of each distribution installed in the environment is linked into
its `__pycache__` folders; after it, what the code's imports compiled is kept.

What is kept is checked-hash bytecode (PEP 552): the source's hash is in the
file and Python compares it with the source at every import. A release rebuilt
under the same name and version, or a file the code changed, is compiled
afresh, never run from a stale copy. Kept per distribution folder
(`six-1.16.0.dist-info` -> `six-1.16.0`, one flat folder, each file named by
its path) under the interpreter's magic number. Only the environment's own
site-packages take part: a base layer is compiled once where it lives. Every step is best effort: a store that
cannot be read or written costs the probe its head start, never its outcome.
Standard library only, any Python 3.8+, like `child.py`.
"""

from __future__ import annotations

import _imp
import os
import stat
import sys
import time

_BOOTSTRAP = sys.modules["_frozen_importlib_external"]
_TAG = sys.implementation.cache_tag
_CHECKED_HASH = (0b11).to_bytes(4, "little")  # PEP 552 flags: hash-based, checked
_TIMESTAMP = (0).to_bytes(4, "little")


class Keeper:
    """The store folder for this interpreter, and the environment's site-packages."""

    def __init__(self, store: str, since: float, deadline: float | None) -> None:
        if not _TAG:
            raise LookupError("this interpreter writes no bytecode")
        self.store = os.path.join(store, _BOOTSTRAP.MAGIC_NUMBER.hex())
        # A file time (the file system's clock) after the install: newer bytecode is the
        # run's own; what the installer wrote (pip's own modules, compiled as it ran) is not.
        self.since = since
        self.deadline = deadline  # time.monotonic() past which nothing more is kept
        self.sites = _own_site_packages()
        self._folders: set[str] = set()  # made in the store by this run

    def seed(self) -> int:
        """Link the kept bytecode of every installed distribution in; how many files."""
        linked = 0
        for site, folder in self._distributions():
            kept = self._kept(folder)
            try:
                names = os.listdir(kept)
            except OSError:
                continue  # nothing kept of it
            for name in names:
                path = _decoded(name)
                if not name.startswith(".") and _inside(path):  # not a file being written
                    linked += _link(os.path.join(kept, name), os.path.join(site, path))
        return linked

    def keep(self) -> int:
        """Keep the bytecode this run wrote, as checked-hash files; how many were new."""
        kept = 0
        for site, folder in self._distributions():
            record = os.path.join(site, folder, "RECORD")
            try:
                if os.stat(record).st_nlink > 1:
                    continue  # linked in from a base layer: compiled where it lives
                sources = _python_files(record)
            except (OSError, ValueError):
                continue
            into = self._kept(folder)
            for source in sources:
                if self.deadline is not None and time.monotonic() > self.deadline:
                    return kept
                kept += self._keep_one(site, source, into)
        return kept

    def _keep_one(self, site: str, source: str, into: str) -> int:
        """Keep one module's bytecode if this run compiled it: its header made checked-hash
        in place, the file then linked into the store (a new file costs a millisecond on
        a journaling disk; a link, microseconds)."""
        head, name = os.path.split(source)
        compiled = os.path.join(head, "__pycache__", f"{name[:-3]}.{_TAG}.pyc")
        path = os.path.join(site, compiled)
        try:
            status = os.lstat(path)
            if (not stat.S_ISREG(status.st_mode) or status.st_nlink != 1
                    or status.st_mtime <= self.since):
                return 0  # not written by this run: linked from the store, seeded, a layer's
            handle = os.open(os.path.join(site, source), os.O_RDONLY)
            try:
                modified = os.fstat(handle).st_mtime
                code = _read_all(handle)
            finally:
                os.close(handle)
            handle = os.open(path, os.O_RDWR)
            try:
                header = _checked_header(os.pread(handle, 16, 0), code, modified)
                if header is None:
                    return 0
                os.pwrite(handle, header, 0)
            finally:
                os.close(handle)
            if into not in self._folders:
                os.makedirs(into, exist_ok=True)
                self._folders.add(into)
            _link_atomic(path, os.path.join(into, _encoded(compiled)))
            return 1
        except (OSError, ValueError):
            return 0

    def _kept(self, folder: str) -> str:
        """The store's folder for a distribution's `NAME-VERSION.dist-info`."""
        return os.path.join(self.store, folder[: -len(".dist-info")])

    def _distributions(self):  # -> Iterator[tuple[str, str]]
        """(site-packages, `NAME-VERSION.dist-info`) of every distribution installed there."""
        for site in self.sites:
            try:
                names = os.listdir(site)
            except OSError:
                continue
            for folder in names:
                if (folder.endswith(".dist-info") and not folder.startswith(".")
                        and "-" in folder):
                    yield site, folder


def _encoded(path: str) -> str:
    """A path inside site-packages as one file name: one folder per distribution in the
    store, not one per package folder (a new folder costs a millisecond here)."""
    return path.replace("%", "%25").replace(os.sep, "%2F")


def _decoded(name: str) -> str:
    """`_encoded` undone: every `%` of a name starts `%25` or `%2F`, so this is exact."""
    return name.replace("%2F", os.sep).replace("%25", "%")


def _inside(path: str) -> bool:
    """Whether a relative path stays inside the folder it is joined to."""
    return not os.path.isabs(path) and ".." not in path.replace("\\", "/").split("/")


def _own_site_packages() -> list[str]:
    """The environment's site-packages folders (not a base layer's, not the interpreter's)."""
    prefix = os.path.realpath(sys.prefix) + os.sep
    sites = []
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if (real.startswith(prefix) and os.path.basename(real) == "site-packages"
                and real not in sites):
            sites.append(real)
    return sites


def _python_files(record: str) -> list[str]:
    """The `.py` files a RECORD lists, relative to its site-packages, none outside it."""
    with open(record, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if any(line.startswith('"') for line in lines):
        import csv

        paths = [row[0] for row in csv.reader(lines) if row]
    else:
        paths = [line.split(",", 1)[0] for line in lines]
    return [path for path in paths if path.endswith(".py") and _inside(path)]


def _checked_header(header: bytes, source: bytes, modified: float) -> bytes | None:
    """The checked-hash header for bytecode Python wrote with `header`, compiled from
    `source` (last modified at `modified`); None when it is not this interpreter's, or
    not compiled from this source, by the test Python applies to timestamped bytecode."""
    if len(header) < 16 or header[:4] != _BOOTSTRAP.MAGIC_NUMBER:
        return None
    source_hash = _imp.source_hash(_BOOTSTRAP._RAW_MAGIC_NUMBER, source)
    flags = header[4:8]
    if flags == _TIMESTAMP:
        if (header[8:12] != (int(modified) & 0xFFFFFFFF).to_bytes(4, "little")
                or header[12:16] != (len(source) & 0xFFFFFFFF).to_bytes(4, "little")):
            return None  # compiled from another source (the code changed the file since)
    elif flags != _CHECKED_HASH or header[8:16] != source_hash:
        return None
    return _BOOTSTRAP.MAGIC_NUMBER + _CHECKED_HASH + source_hash


def _read(path: str) -> bytes:
    handle = os.open(path, os.O_RDONLY)
    try:
        return _read_all(handle)
    finally:
        os.close(handle)


def _read_all(handle: int) -> bytes:
    """Everything left in an open file (os-level: a few thousand files per probe)."""
    chunks = []
    while True:
        chunk = os.read(handle, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _link_atomic(path: str, target: str) -> None:
    """`path` linked at `target`, replacing what was there at once (a copy across file
    systems): a probe linking `target` meanwhile gets the old file or this one."""
    temporary = os.path.join(os.path.dirname(target),
                             f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        os.link(path, temporary)
    except FileExistsError:  # left by a run of this pid that was killed
        os.unlink(temporary)
        os.link(path, temporary)
    except OSError:  # another file system
        _write_atomic(target, _read(path))
        return
    os.replace(temporary, target)


def _write_atomic(path: str, data: bytes) -> None:
    """Whole or not at all, into an existing folder: a probe linking the file meanwhile
    sees the old one or this."""
    temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
        finally:
            os.close(handle)
        os.replace(temporary, path)
    except OSError:  # a full disk: no half-written file is left behind
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _link(kept: str, target: str) -> bool:
    """Link one kept file in where its package is installed; False where it cannot be."""
    try:
        os.link(kept, target)
        return True
    except FileExistsError:
        return False  # compiled already (by the installer, or a layer)
    except FileNotFoundError:
        package = os.path.dirname(os.path.dirname(target))
        if not os.path.isdir(package):
            return False  # that module is not part of this install
        try:
            os.mkdir(os.path.dirname(target))
            os.link(kept, target)
            return True
        except OSError:
            return False
    except OSError:  # another file system: a copy does as well
        try:
            _write_atomic(target, _read(kept))
            return True
        except OSError:
            return False
