"""Fault suite, processes: nothing a probe starts outlives it, whatever happens to envprobe.

Helpers move to sessions of their own, the probe runs out of time, envprobe
is killed with SIGKILL while it sets up, installs or runs the code: every
time, no process of the probe is left, no probe already recorded is run
again, and the next run sweeps the folder the killed one left.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from faults import (
    alive,
    build_quiet,
    build_slow_build,
    escaping_code,
    marked_processes,
    pids_in,
    run_envprobe,
    start_envprobe,
    wait_until,
)

from envprobe.paths import default_store_path, env_root
from envprobe.probing.processes import WATCHDOG

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fault-dists")
    build_quiet(out)
    return out


def probe_args(dists: Path, code: str, *more: str) -> list[str]:
    return ["probe", "--pin", "quiet==1.0", "--code", code, "--no-index",
            "--find-links", str(dists), "--json", *more]


def assert_nothing_left(marker: str, pids: list[int]) -> None:
    """Every marked process and every listed pid ends within a few seconds."""
    wait_until(lambda: not marked_processes(marker) and not any(map(alive, pids)), 15,
               f"the end of every process of the probe ({marker})")


def test_a_helper_in_a_session_of_its_own_ends_with_its_probe(dists, tmp_path):
    marker, pid_file = f"escaper-{uuid.uuid4().hex}", tmp_path / "pids"
    answer = run_envprobe(*probe_args(dists, escaping_code(marker, pid_file)))
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["isolation"]["processes"] == "subreaper"
    assert marked_processes(marker) == []  # gone by the time envprobe returns
    assert_nothing_left(marker, pids_in(pid_file))


def test_a_helper_in_a_session_of_its_own_ends_at_the_timeout(dists, tmp_path):
    marker, pid_file = f"escaper-{uuid.uuid4().hex}", tmp_path / "pids"
    started = time.monotonic()
    code = escaping_code(marker, pid_file, then="import time; time.sleep(120)")
    answer = run_envprobe(*probe_args(dists, code, "--timeout", "2"))
    assert answer.returncode == 1
    assert json.loads(answer.stdout)["failure"]["kind"] == "timeout"
    assert time.monotonic() - started < 60
    assert marked_processes(marker) == []
    assert_nothing_left(marker, pids_in(pid_file))


def test_the_watchdog_alone_ends_a_command_at_its_deadline(tmp_path):
    """The deadline holds without envprobe: a probe orphaned by a killed envprobe still dies."""
    marker = f"orphan-{uuid.uuid4().hex}"
    read, write = os.pipe()
    command = [sys.executable, "-c", f"import time; time.sleep(120)  # {marker}"]
    watchdog = subprocess.Popen(
        [sys.executable, "-I", "-S", str(WATCHDOG), str(write), str(os.getpid()), "1", "host", "--",
         *command], pass_fds=(write,), start_new_session=True)
    os.close(write)
    try:
        wait_until(lambda: marked_processes(marker), 10, "the command's start")
        started = time.monotonic()
        assert watchdog.wait(timeout=15) == 0  # nobody asked it to stop
        assert time.monotonic() - started < 10
        assert marked_processes(marker) == []
        status = json.loads(os.read(read, 65536))
        assert status["timed_out"] is True and status["returncode"] == -signal.SIGKILL
    finally:
        os.close(read)
        watchdog.kill()
        watchdog.wait()


def kill_at_setup(process: subprocess.Popen, env: dict, tmp_path: Path) -> list[int]:
    wait_until(lambda: any(env_root().glob("run-*")), 60, "the run folder")
    return []


def kill_at_install(process: subprocess.Popen, env: dict, tmp_path: Path) -> list[int]:
    pid_file = tmp_path / "flag.pid"
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 90, "the build")
    return pids_in(pid_file)


def kill_at_run(process: subprocess.Popen, env: dict, tmp_path: Path) -> list[int]:
    """Once the probe code's helper and its grandchild run (envprobe's own command line,
    and its forks about to exec, hold the marker too)."""
    pid_file = tmp_path / "pids"
    wait_until(lambda: pids_in(pid_file) and len(
        set(marked_processes(env["MARKER"])) - {process.pid}) >= 2, 90, "the probe code")
    return pids_in(pid_file)


@pytest.mark.parametrize("kill_at", [kill_at_setup, kill_at_install, kill_at_run],
                         ids=["setup", "install", "run"])
def test_kill_9_at_each_phase_leaves_nothing_running_and_loses_nothing(dists, tmp_path, kill_at):
    recorded = probe_args(dists, "import quiet")
    first = run_envprobe(*recorded)
    assert first.returncode == 0, first.stderr

    marker, flag = f"killed-{uuid.uuid4().hex}", tmp_path / "flag"
    flag.touch()
    build_slow_build(dists / "slow" / marker, marker, flag)
    if kill_at is kill_at_install:
        killed = ["probe", "--pin", "slowbuild==1.0", "--import", "slowbuild", "--no-index",
                  "--find-links", str(dists / "slow" / marker), "--allow-sdist", "--json"]
    else:
        code = escaping_code(marker, tmp_path / "pids", then=(
            f"import os, time\nif os.path.exists({str(flag)!r}): time.sleep(120)"))
        killed = probe_args(dists, code)
    env = dict(os.environ, MARKER=marker)
    process = start_envprobe(*killed, env=env)
    try:
        pids = kill_at(process, env, tmp_path)
    finally:
        process.kill()
        process.communicate()
    assert_nothing_left(marker, pids)
    assert [p.name for p in env_root().glob("run-*")] != []  # a killed run cannot clean up

    flag.unlink()
    again = run_envprobe(*recorded)
    assert json.loads(again.stdout)["cached"] is True, "a recorded probe was probed again"
    rerun = run_envprobe(*killed)
    assert rerun.returncode in (0, 1), rerun.stderr
    assert json.loads(rerun.stdout)["cached"] is False
    with sqlite3.connect(default_store_path()) as db:  # the first probe, then the re-run
        assert db.execute("SELECT count(*) FROM probes").fetchone()[0] == 2
    assert list(env_root().glob("run-*")) == []
    assert_nothing_left(marker, pids_in(tmp_path / "pids"))
