"""Fault suite, tampering probe code: whatever the code does to its folder or its output,
the probe ends in an outcome (`crashed` when its report cannot be trusted), never in
envprobe's own traceback, what the store keeps stays small, and its folder is swept."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from faults import REPO, build_quiet
from probe_packages import find_links_options

from envprobe.model.outcome import FailureKind, Status
from envprobe.model.requests import ProbeRequest
from envprobe.paths import env_root
from envprobe.probing.probe import run_probe
from envprobe.probing.store import Store

FORGED_REPORT = "import os, sys\nopen(sys.argv[1], 'w').write({text!r})\nos._exit(0)\n"


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tamper-dists")
    build_quiet(out)
    return out


def probe(dists: Path, code: str, store: Store | None = None):
    request = ProbeRequest(("quiet==1.0",), code, options=find_links_options(dists))
    outcome = run_probe(request, store=store)
    assert list(env_root().glob("run-*")) == []
    return outcome


def test_code_that_writes_outcome_json_where_it_runs_changes_nothing(dists):
    code = "open('outcome.json', 'w').write('{\"status\": \"error\"}')\nimport quiet\n"
    assert probe(dists, code).status is Status.OK


def test_code_that_breaks_what_describing_its_failure_needs_still_has_its_exception(dists):
    # The failure report is read from a second file when the code fails; code that broke
    # the import system first still gets its own exception said.
    code = "import sys\nsys.modules['importlib.util'] = None\nraise ValueError('boom')\n"
    outcome = probe(dists, code)
    assert outcome.status is Status.FAILED
    assert "ValueError" in outcome.failure.message and "boom" in outcome.failure.message


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"status": "error", "frames": "x"}',
                                  '{"status": "error", "missing": {"kind": "other"}}',
                                  '{"status": "error", "exception": {"type": 1}}'])
def test_a_forged_report_is_a_crash_that_says_so(dists, text):
    outcome = probe(dists, FORGED_REPORT.format(text=text))
    assert outcome.failure.kind is FailureKind.CRASHED
    assert "outcome file" in outcome.failure.message


def test_code_that_deletes_its_working_directory_still_has_an_outcome(dists):
    code = "import os, shutil\nshutil.rmtree(os.getcwd())\nimport quiet\n"
    assert probe(dists, code).status is Status.OK


def test_code_that_deletes_its_whole_run_folder_is_a_crash(dists):
    code = "import os, shutil\nshutil.rmtree(os.path.dirname(os.getcwd()))\n"
    outcome = probe(dists, code)
    assert outcome.failure.kind is FailureKind.CRASHED


@pytest.mark.parametrize("printed", ["print('x' * 10_000_000)",
                                     "for n in range(200_000): print('line', n, 'x' * 40)",
                                     "raise RuntimeError('y' * 10_000_000)"])
def test_a_probe_that_prints_10_mb_keeps_a_bounded_excerpt(dists, tmp_path, printed):
    with Store(tmp_path / "store.sqlite3") as store:
        outcome = probe(dists, printed, store)
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        [stored] = db.execute("SELECT outcome FROM probes").fetchone()
    assert len(stored) < 100_000
    if outcome.failure is not None:
        assert len(outcome.failure.message) < 3000
    assert json.loads(stored)["status"] == outcome.status.value


def as_unprivileged(argv: list[str]) -> list[str]:
    """`argv` where permission bits bind: root is nobody special in a user namespace."""
    if os.geteuid() != 0:
        return argv
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--user", "true"], check=False).returncode:
        pytest.skip("root here, and no user namespace to drop its privileges in")
    return [unshare, "--user", *argv]


def test_a_run_folder_whose_code_took_its_permissions_away_is_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "envs" / f"run-{dead.pid}-locked"
    (stale / "work" / "deep").mkdir(parents=True)
    (stale / "work" / "deep" / "file").write_text("kept from its owner")
    for folder in (stale / "work" / "deep", stale / "work"):
        folder.chmod(0)
    sweep = "from envprobe.probing.run_folders import sweep_stale_runs; sweep_stale_runs()"
    answer = subprocess.run(as_unprivileged([sys.executable, "-c", sweep]),
                            env=dict(os.environ, PYTHONPATH=str(REPO),
                                     ENVPROBE_ENV_ROOT=str(tmp_path / "envs")),
                            capture_output=True, text=True, check=False)
    assert answer.returncode == 0, answer.stderr
    assert not stale.exists()
