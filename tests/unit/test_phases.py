"""Live progress of a long install, read from the installer's growing log."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from rich.console import Console

from envprobe.cli.console import spinner
from envprobe.probing import processes
from envprobe.probing.phases import LogWatcher, Phase, phase_of


def test_pip_and_uv_lines_name_the_phase_and_its_subject():
    assert phase_of("Collecting nemo-toolkit==1.23.0") == ("resolving", "nemo-toolkit==1.23.0")
    assert phase_of("  Downloading torch-2.13.0-cp311.whl (190.1 MB)") == (
        "downloading", "torch-2.13.0-cp311.whl")
    assert phase_of("  Building wheel for youtokentome (pyproject.toml): started") == (
        "building", "youtokentome")
    assert phase_of("Installing collected packages: a, b, c") == ("installing", "3 packages")
    assert phase_of("Resolved 171 packages in 2.31s") == ("resolved", "171 packages")
    assert phase_of("Requirement already satisfied: numpy") is None


def test_downloads_are_counted():
    phase = Phase()
    for name in ("a.whl", "b.whl", "c.whl"):
        phase.read(f"  Downloading {name} (1 MB)")
    assert phase.words() == "downloading [c.whl #3]"


def test_a_growing_log_is_followed_with_the_time_spent(tmp_path: Path):
    log, seen = tmp_path / "install.log", []
    watcher = LogWatcher(log, "install", seen.append)
    watcher.tick()  # nothing written yet
    for line in ("Collecting torch\n", "  Downloading torch.whl (9 MB)\n",
                 "Building wheel for youtokentome (setup.py)\n"):
        with open(log, "a") as stream:
            stream.write(line)
        watcher.tick()
    assert [s.rsplit(" (", 1)[0] for s in seen] == [
        "install", "install: resolving [torch]", "install: downloading [torch.whl]",
        "install: building [youtokentome]"]
    assert all(s.endswith(" s)") for s in seen)


def test_a_command_ticks_its_watcher_while_it_runs(tmp_path: Path):
    ticks = []
    done = processes.run([sys.executable, "-c", "import time; time.sleep(1.6)"],
                         log_path=tmp_path / "sleep.log", on_tick=lambda: ticks.append(1))
    assert done.ok and len(ticks) >= 2


def test_without_a_terminal_each_phase_that_lasts_is_one_plain_line():
    out, now = io.StringIO(), [0.0]
    console = Console(file=out, force_terminal=False)
    with spinner(console, quiet=False, clock=lambda: now[0]) as progress:
        for at, message in ((0, "job: creating a pip environment"),  # too short to show
                            (1, "job: install: resolving [a] (0 s)"),
                            (2, "job: install: resolving [b #2] (1 s)"),
                            (4, "job: install: resolving [c #3] (3 s)"),
                            (5, "job: install: downloading [a.whl] (4 s)"),
                            (9, "job: install: downloading [b.whl #2] (8 s)"),
                            (10, "job: running the probe code (0 s)"),
                            (13, "job: running the probe code (3 s)"),
                            (20, "job: running the probe code (10 s)")):
            now[0] = at
            progress(message)
    assert out.getvalue().splitlines() == [
        "... job: install: resolving", "... job: install: downloading",
        "... job: running the probe code"]
