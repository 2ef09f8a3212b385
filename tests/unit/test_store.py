"""The store: keys, lookups, migrations and all-or-nothing writes."""

from __future__ import annotations

import sqlite3

import pytest

from envprobe.errors import StoreError
from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome, Status
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.probing import store as store_module
from envprobe.probing.store import MIGRATIONS, Store, probe_key

OPTIONS = InstallOptions(no_index=True, find_links=("/wheels",), installer="pip")
REQUEST = ProbeRequest(("toolkit==1.0", "fakehub==2.0"), "import toolkit\n", options=OPTIONS)


def failed_outcome(kind: FailureKind = FailureKind.MISSING_SYMBOL) -> ProbeOutcome:
    return ProbeOutcome(
        status=Status.FAILED,
        pins={"toolkit": "1.0", "fakehub": "2.0"},
        failure=Failure(kind, "cannot import name 'ModelFilter'", name="ModelFilter",
                        module="fakehub", package="fakehub", version="2.0"),
        installed={"fakehub": "2.0", "toolkit": "1.0"},
        seconds={"create": 0.3, "install": 1.0, "run": 0.1},
        python="3.11.7", platform="linux-x86_64", installer="pip", code=REQUEST.code,
    )


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.sqlite3") as opened:
        yield opened


def rows(store: Store, sql: str = "SELECT * FROM probes ORDER BY id", *args: object) -> list:
    """The store's file read as the tables it is, beside the Store's own connection."""
    db = sqlite3.connect(store.path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def test_recorded_outcome_round_trips_and_answers_lookups(store):
    probe_id = store.record(REQUEST, failed_outcome())
    found = store.lookup(REQUEST, "3.11.7", "linux-x86_64")
    assert found.cached and found.probe_id == probe_id
    assert found.failure == failed_outcome().failure
    assert [row["id"] for row in rows(store)] == [probe_id]


def test_keys_of_probes_recorded_before_stay_the_same():
    """A store written by an earlier envprobe must still answer: the hash may never drift."""
    assert probe_key(REQUEST, "3.11.7", "linux-x86_64")[0] == (
        "1dc2dbfeac12a987556ff43c1e598b732db7c10db16c6a76a417f698228e7a4d")
    every_option = InstallOptions(no_index=True, find_links=("/wheels",), installer="pip",
                                  base=("Torch == 2.0",), pre_install=("setuptools<70",),
                                  no_build_isolation=("Flash_Attn",))
    assert probe_key(ProbeRequest(REQUEST.requirements, REQUEST.code, options=every_option),
                     "3.11.7", "linux-x86_64")[0] == (
        "fd142f140f91ec9cd051a3119cca00757e2bfb2da1a313dd02649fd64ffaea4c")


def test_an_unresolved_installer_cannot_be_keyed():
    with pytest.raises(ValueError, match="resolve the installer"):
        InstallOptions().key()


def test_key_ignores_order_and_spelling_but_not_what_changes_the_outcome(store):
    store.record(REQUEST, failed_outcome())
    respelled = ProbeRequest(("FakeHub == 2.0", "Toolkit==1.0"), REQUEST.code, options=OPTIONS)
    assert store.lookup(respelled, "3.11.7", "linux-x86_64") is not None
    different = [
        ProbeRequest(REQUEST.requirements, "import toolkit.core\n", options=OPTIONS),
        ProbeRequest(REQUEST.requirements, REQUEST.code,
                     options=InstallOptions(no_index=True, find_links=("/wheels",),
                                            installer="pip", allow_sdist=True)),
        ProbeRequest(("toolkit==1.0", "fakehub==2.1"), REQUEST.code, options=OPTIONS),
    ]
    for request in different:
        assert store.lookup(request, "3.11.7", "linux-x86_64") is None
    assert store.lookup(REQUEST, "3.12.1", "linux-x86_64") is None
    assert store.lookup(REQUEST, "3.11.7", "macosx-14.0-arm64") is None


def test_key_parts_stay_readable(store):
    probe_id = store.record(REQUEST, failed_outcome())
    [row] = rows(store, "SELECT key, python, platform, requirements, code, status,"
                        " failure_kind FROM probes WHERE id = ?", probe_id)
    assert row["key"] == probe_key(REQUEST, "3.11.7", "linux-x86_64")[0]
    assert row["requirements"] == '["fakehub==2.0", "toolkit==1.0"]'
    assert (row["python"], row["platform"], row["status"], row["failure_kind"]) == (
        "3.11.7", "linux-x86_64", "failed", "missing_symbol")


def test_the_latest_probe_answers(store):
    store.record(REQUEST, failed_outcome())
    newer = store.record(REQUEST, failed_outcome(FailureKind.PROBE_ERROR))
    assert store.lookup(REQUEST, "3.11.7", "linux-x86_64").probe_id == newer


def test_a_timeout_answers_only_requests_with_no_more_time(store):
    short = ProbeRequest(REQUEST.requirements, REQUEST.code, options=OPTIONS, timeout=3)
    store.record(short, failed_outcome(FailureKind.TIMEOUT))
    assert store.lookup(short, "3.11.7", "linux-x86_64") is not None
    longer = ProbeRequest(REQUEST.requirements, REQUEST.code, options=OPTIONS, timeout=300)
    assert store.lookup(longer, "3.11.7", "linux-x86_64") is None


def test_migrations_run_once_and_set_user_version(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store(path) as first:
        first.record(REQUEST, failed_outcome())
    with Store(path) as again:
        assert rows(again, "PRAGMA user_version")[0][0] == len(MIGRATIONS)
        assert rows(again, "PRAGMA journal_mode")[0][0] == "wal"
        assert len(rows(again)) == 1


def test_a_failing_migration_leaves_no_half_schema(tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite3"
    Store(path).close()
    broken = "CREATE TABLE rules (id INTEGER PRIMARY KEY);\nCREATE TABLE rules (id INTEGER);\n"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError):
        Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'rules'").fetchone() is None
    db.close()


def test_an_interrupted_write_leaves_no_row(store):
    with pytest.raises(KeyboardInterrupt), store.transaction() as db:
        db.execute("INSERT INTO probes (key, python, platform, requirements, options, code,"
                   " installer, timeout, status, outcome, started_at, recorded_at)"
                   " VALUES ('k', '', '', '[]', '{}', '', '', 1, 'ok', '{}', '', '')")
        raise KeyboardInterrupt
    assert rows(store) == []


def test_read_only_opening_migrates_nothing_and_reads_an_old_store(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.close()
    with Store(path, readonly=True) as old:
        assert old.last_solve("anything") is None
        assert old.lookup(REQUEST, "3.11.7", "linux-x86_64") is None
        with pytest.raises(StoreError, match="read-only|readonly"):
            old.record(REQUEST, failed_outcome())
    assert rows_of(path, "PRAGMA user_version")[0][0] == 1


def test_a_missing_store_is_not_created_by_reading_it(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "nowhere" / "store.sqlite3", readonly=True)
    assert list(tmp_path.iterdir()) == []


def rows_of(path, sql: str) -> list:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()
