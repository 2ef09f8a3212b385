"""The SQLite store: every probe and its outcome, so no probe is run twice.

A probe is keyed by what decides its outcome: interpreter version, platform,
the normalised requirements, the install options and the probe code. The key
is a hash; its parts are kept readable in columns beside it. The schema grows
by appending to `MIGRATIONS` (tracked with `PRAGMA user_version`), and every
write is one transaction, so a killed run leaves no half rows. Opening the
file, and what can be wrong with it, is `store_file`'s business.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from envprobe.model.outcome import FailureKind, ProbeOutcome
from envprobe.model.pins import normalize_requirement
from envprobe.model.requests import ProbeRequest
from envprobe.paths import default_store_path
from envprobe.probing.store_file import connect, guarded, migrate

__all__ = ["MIGRATIONS", "Store", "probe_key"]

# Append only: a store on disk has run every script up to its user_version.
# IF NOT EXISTS: a store half-made by an older envprobe may already hold a table.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS probes (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        python TEXT NOT NULL,
        platform TEXT NOT NULL,
        requirements TEXT NOT NULL,   -- JSON list, normalised and sorted
        options TEXT NOT NULL,        -- JSON of InstallOptions.key()
        code TEXT NOT NULL,
        installer TEXT NOT NULL,
        timeout REAL NOT NULL,
        status TEXT NOT NULL,
        failure_kind TEXT,
        outcome TEXT NOT NULL,        -- JSON of ProbeOutcome.to_dict()
        started_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS probes_by_key ON probes (key, id);
    """,
    """
    CREATE TABLE IF NOT EXISTS solves (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT NOT NULL,         -- JSON of SolveResult.to_dict()
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS solves_by_scenario ON solves (scenario, id);
    """,
    """
    CREATE TABLE IF NOT EXISTS maps (
        id INTEGER PRIMARY KEY,
        scenario TEXT NOT NULL,
        rows_package TEXT NOT NULL,
        result TEXT NOT NULL,         -- JSON of MapResult.to_dict()
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS maps_by_scenario ON maps (scenario, id);
    """,
    """
    CREATE TABLE IF NOT EXISTS micro_answers (
        key TEXT PRIMARY KEY,         -- hash of the question, interpreter and sources
        question TEXT NOT NULL,       -- JSON: the readable parts of the key
        answer TEXT NOT NULL,         -- JSON of MicroAnswer
        recorded_at TEXT NOT NULL
    );
    """,
]


def probe_key(request: ProbeRequest, python_version: str, platform: str) -> tuple[str, dict[str, Any]]:
    """(hash, readable parts) of what decides a probe's outcome."""
    parts = {
        "python": python_version,
        "platform": platform,
        "requirements": sorted(normalize_requirement(r) for r in request.requirements),
        "options": request.options.key(),
        "code": request.code,
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return digest, parts


class Store:
    """Probes and outcomes in one SQLite file (WAL: readers never wait for the writer).

    `readonly=True` opens an existing store without writing to it (`envprobe
    report`): no migration runs, and a table an older store lacks reads as empty.
    """

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._db = connect(self.path, readonly=readonly)
        if not readonly:
            try:
                with guarded(self.path):
                    migrate(self._db, MIGRATIONS)
            except BaseException:
                self._db.close()
                raise

    @classmethod
    def default(cls) -> Store:
        return cls(default_store_path())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> _Transaction:
        """`with store.transaction():` commits on success, rolls back on any exception."""
        return _Transaction(self._db, self.path)

    def lookup(self, request: ProbeRequest, python_version: str, platform: str) -> ProbeOutcome | None:
        """The latest stored outcome for this probe, marked `cached`; None when never run.

        A timed-out probe answers only requests that allow no more time than it had.
        """
        key, _ = probe_key(request, python_version, platform)
        row = self._read(
            "SELECT * FROM probes WHERE key = ? AND (failure_kind IS NOT ? OR timeout >= ?)"
            " ORDER BY id DESC LIMIT 1",
            (key, FailureKind.TIMEOUT.value, request.timeout),
        )
        if row is None:
            return None
        outcome = _outcome(row)
        outcome.cached = True
        return outcome

    def record(self, request: ProbeRequest, outcome: ProbeOutcome) -> int:
        """Store `outcome` of `request`; returns the new probe id."""
        key, parts = probe_key(request, outcome.python, outcome.platform)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        stored = outcome.to_dict() | {"cached": False, "probe_id": None}
        with guarded(self.path), self.transaction():
            cursor = self._db.execute(
                "INSERT INTO probes (key, python, platform, requirements, options, code, installer,"
                " timeout, status, failure_kind, outcome, started_at, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key, parts["python"], parts["platform"], json.dumps(parts["requirements"]),
                    json.dumps(parts["options"], sort_keys=True), parts["code"], outcome.installer,
                    request.timeout, outcome.status.value,
                    outcome.failure.kind.value if outcome.failure else None,
                    json.dumps(stored), outcome.started_at or now, now,
                ),
            )
        return int(cursor.lastrowid)

    def save_solve(self, scenario: str, result: dict[str, Any]) -> int:
        """Keep a solve's result, so `envprobe report` can render it without probing."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with guarded(self.path), self.transaction():
            cursor = self._db.execute(
                "INSERT INTO solves (scenario, status, result, recorded_at) VALUES (?, ?, ?, ?)",
                (scenario, result["status"], json.dumps(result), now),
            )
        return int(cursor.lastrowid)

    def last_solve(self, scenario: str) -> dict[str, Any] | None:
        row = self._read(
            "SELECT result FROM solves WHERE scenario = ? ORDER BY id DESC LIMIT 1", (scenario,)
        )
        return json.loads(row["result"]) if row else None

    def save_map(self, scenario: str, result: dict[str, Any]) -> int:
        """Keep a map's result; its rules seed the next map or solve of the scenario."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with guarded(self.path), self.transaction():
            cursor = self._db.execute(
                "INSERT INTO maps (scenario, rows_package, result, recorded_at)"
                " VALUES (?, ?, ?, ?)", (scenario, result["rows_package"], json.dumps(result), now),
            )
        return int(cursor.lastrowid)

    def last_map(self, scenario: str) -> dict[str, Any] | None:
        row = self._read(
            "SELECT result FROM maps WHERE scenario = ? ORDER BY id DESC LIMIT 1", (scenario,)
        )
        return json.loads(row["result"]) if row else None

    def micro_answer(self, key: str) -> dict[str, Any] | None:
        """A micro-probe's stored answer to the question hashed as `key`, if any."""
        row = self._read("SELECT answer FROM micro_answers WHERE key = ?", (key,))
        return json.loads(row["answer"]) if row else None

    def keep_micro_answer(self, key: str, question: dict[str, Any],
                          answer: dict[str, Any]) -> None:
        """Keep a micro-probe's answer: a release's code does not change, so neither does it."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with guarded(self.path), self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO micro_answers (key, question, answer, recorded_at)"
                " VALUES (?, ?, ?, ?)",
                (key, json.dumps(question, sort_keys=True), json.dumps(answer), now))

    def _read(self, sql: str, parameters: tuple[Any, ...]) -> sqlite3.Row | None:
        """The first row of a query; none from a table that an older, unmigrated store lacks."""
        try:
            with guarded(self.path):
                return self._db.execute(sql, parameters).fetchone()
        except sqlite3.OperationalError as error:
            if self.readonly and "no such table" in str(error):
                return None
            raise


class _Transaction:
    """BEGIN IMMEDIATE: the write lock is taken up front, so a busy store waits, never fails late."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db, self._path = db, path

    def __enter__(self) -> sqlite3.Connection:
        with guarded(self._path):
            self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        with guarded(self._path):
            if kind is None:
                self._db.execute("COMMIT")
            elif self._db.in_transaction:
                self._db.execute("ROLLBACK")


def _outcome(row: sqlite3.Row) -> ProbeOutcome:
    outcome = ProbeOutcome.from_dict(json.loads(row["outcome"]))
    outcome.probe_id = row["id"]
    return outcome
