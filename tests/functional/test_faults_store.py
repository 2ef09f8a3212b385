"""Fault suite, the store: concurrent writers, damaged files, places it cannot be.

Writers are real processes started together; a damaged store is refused in
one line that names it and says how to recover, and it is never written to;
`report` reads a store it cannot write and never creates one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faults import REPO, build_quiet, run_envprobe, start_envprobe

from envprobe.paths import env_root
from envprobe.probing.store import MIGRATIONS, Store

SCENARIO = '[scenario]\nname = "nemo-asr"\nprobe = ["import quiet"]\n\n[packages]\nquiet = "*"\n'

# Each process waits for the same moment, then opens the store and records one probe.
_WRITER = """
import sys, time
from envprobe.model.outcome import ProbeOutcome, Status
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.probing.store import Store
path, start, code = sys.argv[1], float(sys.argv[2]), sys.argv[3]
request = ProbeRequest(("quiet==1.0",), code, options=InstallOptions(installer="pip"))
while time.time() < start:
    pass
with Store(path) as store:
    store.record(request, ProbeOutcome(Status.OK, {"quiet": "1.0"}, python="3", platform="p"))
"""


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("store-fault-dists")
    build_quiet(out)
    return out


def old_store(path: Path) -> None:
    """A store as the first envprobe left it: the first migration only, one probe in it."""
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute("INSERT INTO probes (key, python, platform, requirements, options, code, installer,"
               " timeout, status, outcome, started_at, recorded_at) VALUES"
               " ('old', '3', 'p', '[]', '{}', '', 'pip', 1, 'ok', '{}', '', '')")
    db.commit()
    db.close()


def probes_in(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        return [row[0] for row in db.execute("SELECT code FROM probes ORDER BY id")]


@pytest.mark.parametrize("age", ["new", "old"])
def test_many_writers_opening_one_store_at_once_all_record(tmp_path, age):
    path = tmp_path / "store.sqlite3"
    if age == "old":
        old_store(path)
    start = time.time() + 1.5  # every writer has imported envprobe by then
    env = dict(os.environ, PYTHONPATH=str(REPO))
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(start), f"w{n}"],
                                env=env, stderr=subprocess.PIPE, text=True) for n in range(8)]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 8, errors
    codes = probes_in(path)
    assert sorted(codes) == sorted([""] * (age == "old") + [f"w{n}" for n in range(8)])


@pytest.mark.parametrize("age", ["new", "old"])
def test_two_probes_started_together_on_one_store_are_both_recorded(dists, tmp_path, age):
    path = tmp_path / "probes.sqlite3"
    if age == "old":
        old_store(path)
    probes = [start_envprobe("probe", "--pin", "quiet==1.0", "--code", f"import quiet  # {n}",
                             "--no-index", "--find-links", str(dists), "--store", str(path),
                             "--json") for n in range(2)]
    answers = [p.communicate(timeout=300) for p in probes]
    assert [p.returncode for p in probes] == [0, 0], answers
    assert {json.loads(out)["probe_id"] for out, _ in answers} == {1, 2} if age == "new" else {2, 3}
    assert sorted(probes_in(path))[-2:] == ["import quiet  # 0", "import quiet  # 1"]


def damage(path: Path, how: str) -> Path:
    """Make the store at `path` unusable as `how` says; returns the path to pass as --store."""
    if how in ("half", "garbage"):
        with Store(path) as store:
            for n in range(200):
                store.save_solve(f"s{n}", {"status": "solved", "padding": "x" * 500})
        size = path.stat().st_size
        if how == "half":
            os.truncate(path, size // 2)
        else:
            path.write_bytes(os.urandom(size))
        return path
    if how == "folder":
        path.mkdir()
        return path
    path.write_text("a file where a folder should be\n")  # "under-a-file"
    return path / "store.sqlite3"


def fingerprint(path: Path) -> str:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return "folder" if path.is_dir() else "absent"


@pytest.mark.parametrize("how", ["half", "garbage", "folder", "under-a-file"])
@pytest.mark.parametrize("command", ["probe", "report"])
def test_an_unusable_store_is_one_line_naming_it_and_left_as_it_was(tmp_path, how, command):
    (tmp_path / "s.toml").write_text(SCENARIO)
    store = damage(tmp_path / "store.sqlite3", how)
    before = fingerprint(tmp_path / "store.sqlite3")
    args = (["probe", "--pin", "quiet==1.0", "--import", "quiet"] if command == "probe"
            else ["report", "s.toml"])
    answer = run_envprobe(*args, "--store", str(store), cwd=tmp_path)
    assert answer.returncode == 2, answer.stderr
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in answer.stderr, answer.stderr
    assert lines[0].startswith("envprobe: ") and str(store) in lines[0]
    if how in ("half", "garbage"):
        assert "damaged" in lines[0] and "move it aside" in lines[0]
    assert fingerprint(tmp_path / "store.sqlite3") == before
    wal = tmp_path / "store.sqlite3-wal"  # SQLite's own side file: it may appear, empty
    assert not wal.exists() or wal.stat().st_size == 0
    assert list(env_root().glob("run-*")) == []


def test_report_on_a_missing_store_creates_nothing(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    missing = tmp_path / "nowhere" / "store.sqlite3"
    answer = run_envprobe("report", "s.toml", "--store", str(missing), cwd=tmp_path)
    assert answer.returncode == 2
    assert answer.stderr.count("\n") == 1 and str(missing) in answer.stderr
    assert not missing.parent.exists()


def stored_solve(path: Path) -> None:
    result = json.loads((REPO / "constraints" / "nemo-asr-import.result.json").read_text())
    with Store(path) as store:
        store.save_solve("nemo-asr", result)


def read_only_mount(folder: Path, argv: list[str]) -> list[str]:
    """`argv` run where `folder` is a read-only mount (a mount namespace of its own)."""
    unshare = shutil.which("unshare")
    probe = [unshare or "unshare", "--mount", "--map-root-user", "true"]
    if unshare is None or subprocess.run(probe, capture_output=True, check=False).returncode:
        pytest.skip("no mount namespaces here to make a read-only mount")
    return [unshare, "--mount", "--map-root-user", "sh", "-c",
            'mount --bind -o ro "$0" "$0" && exec "$@"', str(folder), *argv]


@pytest.mark.parametrize("command", ["report", "probe"])
def test_a_store_on_a_read_only_mount_is_read_by_report_and_refused_by_probe(tmp_path, command):
    locked = tmp_path / "locked"
    locked.mkdir()
    store = locked / "store.sqlite3"
    stored_solve(store)
    (tmp_path / "s.toml").write_text(SCENARIO)
    before = fingerprint(store)
    args = (["report", "s.toml", "--json"] if command == "report"
            else ["probe", "--pin", "quiet==1.0", "--import", "quiet"])
    answer = subprocess.run(
        read_only_mount(locked, [sys.executable, "-m", "envprobe", *args, "--store", str(store)]),
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True, text=True, timeout=120, check=False)
    if command == "report":
        assert answer.returncode == 0, answer.stderr
        assert json.loads(answer.stdout)["status"] == "solved"
    else:
        assert answer.returncode == 2
        assert answer.stderr.count("\n") == 1 and "read-only" in answer.stderr, answer.stderr
        assert str(store) in answer.stderr
    assert fingerprint(store) == before
    assert sorted(p.name for p in locked.iterdir()) == ["store.sqlite3"]
