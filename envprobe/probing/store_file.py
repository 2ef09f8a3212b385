"""The store's file: opened safely by many runs at once, refused loudly when unusable.

Two probes may create the same new store at the same moment, and a store
may be damaged, a folder, missing or read-only. Every problem of the file
becomes one `StoreError` naming it and saying how to recover; the file itself
is never replaced. A run that only reads opens the file read-only, so it
needs no write access and never creates a file that was not there.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from envprobe.errors import StoreError

__all__ = ["BUSY_SECONDS", "connect", "guarded", "migrate"]

BUSY_SECONDS = 60.0  # how long a run waits for another run's write before giving up

# SQLite's primary result codes (the low byte of an extended code).
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_DAMAGED = (_CORRUPT, _NOTADB)


def connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    """A connection to the store at `path`; read-only ones need the file to exist."""
    if path.is_dir():
        raise StoreError(f"the store {path} is a folder, not a store file: "
                         "move it aside or pass --store PATH")
    if readonly and not path.exists():
        raise StoreError(f"no store at {path}: run `envprobe solve` first, or pass --store PATH")
    if not readonly:
        _make_folder(path)
        _check_writable(path)
    with guarded(path):
        if readonly:
            db = sqlite3.connect(_read_only_uri(path), uri=True, timeout=BUSY_SECONDS,
                                 isolation_level=None)
        else:
            db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # is it a database at all?
            if not readonly:
                _switch_to_wal(db)
                db.execute("PRAGMA foreign_keys=ON")
            _check_size(db, path)
        except BaseException:
            db.close()
            raise
    return db


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """WAL mode, waiting for other openers: switching a journal mode skips the busy handler.

    An old store (rollback journal) opened by several runs at once makes all but
    one see "database is locked" at once; the switch is retried until it holds.
    """
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _make_folder(path: Path) -> None:
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise StoreError(f"cannot create the store {path}: {blocking} is a file, not a folder"
                         " (pass --store PATH)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the store {path}: {error.strerror or error}"
                         " (pass --store PATH)") from None


def _check_writable(path: Path) -> None:
    """The file and its folder (where SQLite keeps the -wal and -shm files) must be writable.

    `os.access` asks the kernel, so a read-only mount is refused even for root.
    """
    for place in (path, path.parent):
        if place.exists() and not os.access(place, os.W_OK):
            raise StoreError(f"the store {path} is read-only ({place} cannot be written): "
                             "`envprobe report` can read it; to probe or solve, pass --store PATH")


def _read_only_uri(path: Path) -> str:
    """SQLite's read-only URI; immutable where no writer can be at work.

    A store in WAL mode is read through its -shm file, which SQLite must be
    able to create unless it is there. In a folder nobody can write (a
    read-only mount), with no -wal file beside it, no writer can be running,
    so the file is opened as immutable, needing neither.
    """
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def migrate(db: sqlite3.Connection, migrations: Sequence[str]) -> None:
    """Bring the schema up to date, one migration per transaction.

    Each step re-reads `user_version` after taking the write lock, so two
    runs opening a new or old store at once run every migration once.
    """
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(migrations):
                db.execute("COMMIT")
                return
            for statement in _statements(migrations[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


@contextlib.contextmanager
def guarded(path: Path) -> Iterator[None]:
    """Turn the file's problems (not SQL mistakes) into one `StoreError` naming `path`."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorcode", -1) & 0xFF
        if (problem := _problem(path, code, str(error))) is None:
            raise
        raise StoreError(problem) from None


def _problem(path: Path, code: int, reason: str) -> str | None:
    if code in _DAMAGED:
        return _damaged(path, reason)
    if code == _READONLY:
        return f"the store {path} is read-only ({reason}): pass --store PATH to a writable store"
    if code in (_BUSY, _LOCKED):
        return (f"the store {path} stayed locked by another run for {BUSY_SECONDS:g} s"
                f" ({reason}): try again")
    if code == _FULL:
        return f"the disk of the store {path} is full ({reason})"
    if code in (_CANTOPEN, _IOERR):
        return f"cannot use the store {path} ({reason}): check the path, or pass --store PATH"
    return None


def _check_size(db: sqlite3.Connection, path: Path) -> None:
    """A file shorter than its own header says was cut off; confirm before refusing it.

    A healthy store may also look short while its newest pages are still in
    the write-ahead log, so the full check only runs to confirm.
    """
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    if os.path.getsize(path) >= pages * page_size:
        return
    verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise StoreError(_damaged(path, f"shorter than its header says: {verdict}"))


def _damaged(path: Path, reason: str) -> str:
    return (f"the store {path} is damaged ({reason}): move it aside with its -wal and -shm "
            f"files if any (mv {path} {path}.damaged) and run again to start a new store")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows where they end)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
