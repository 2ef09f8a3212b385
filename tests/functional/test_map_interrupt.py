"""A map stopped by SIGTERM (or Ctrl-C) stops its pool: nothing queued starts, nothing running lingers.

A real `envprobe map` of made-up probes that sleep (each starting a helper in a
session of its own, as the fault suite's probes do), two local workers and
more edges than workers, so probes are queued when the signal comes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import pytest
from faults import alive, marked_processes, start_envprobe, wait_until
from wheelfactory import build_wheel

from envprobe.paths import default_store_path, env_root

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

SCENARIO = """
[scenario]
name = "slowmap"
probe = ["import slowapp"]
timeout = 300

[packages]
slowapp = "*"
slowhub = "*"
"""


def build_slow_packages(out: Path, marker: str, pids: Path) -> Path:
    """Three `slowapp` rows beside two `slowhub` columns: six edge probes, each of which
    writes its pid into `pids`, starts a helper that leaves its session, and sleeps."""
    code = (
        "import os, subprocess, sys, time\n"
        "import slowhub\n"
        f"open(os.path.join({str(pids)!r}, str(os.getpid())), 'w').close()\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)  # {marker}'],"
        " start_new_session=True)\n"
        "time.sleep(300)\n"
    )
    for version in ("1.0", "2.0", "3.0"):
        build_wheel(out, "slowapp", version, {"slowapp/__init__.py": code}, requires=["slowhub"])
    for version in ("1.0", "2.0"):
        build_wheel(out, "slowhub", version, {"slowhub/__init__.py": ""})
    return out


def descendants(root: int) -> set[int]:
    """Every live process below `root` (by parent links), sessions of their own included."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(
                    Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_pool_cleans_up_and_keeps_the_store(tmp_path, signum):
    marker, pids = f"slowmap-{uuid.uuid4().hex}", tmp_path / "pids"
    pids.mkdir()
    dists = build_slow_packages(tmp_path / "dists", marker, pids)
    scenario = tmp_path / "slowmap.toml"
    scenario.write_text(SCENARIO)
    process = start_envprobe("map", str(scenario), "--jobs", "2", "--no-index",
                             "--find-links", str(dists), "--out-dir", str(tmp_path),
                             "--report", str(tmp_path / "REPORT.md"))
    try:
        wait_until(lambda: len(list(pids.iterdir())) == 2 and len(marked_processes(marker)) >= 2,
                   180, "two probes running their code")
        below = descendants(process.pid)
        started = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert err.strip().endswith("envprobe: interrupted")
    assert time.monotonic() - started < 90, "the driver waited for the probes to finish"

    probes = [int(p.name) for p in pids.iterdir()]
    wait_until(lambda: not marked_processes(marker) and not any(map(alive, below | set(probes))),
               15, "the end of every worker, probe and helper")
    time.sleep(2)
    assert len(list(pids.iterdir())) == 2, "a queued probe started after the signal"
    assert list(env_root().glob("run-*")) == [], "a probe's environment was left behind"
    with sqlite3.connect(default_store_path()) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM probes").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM maps").fetchone()[0] == 0
