"""Helpers of the fault suite: real envprobe processes, and the processes they leave behind.

Every fault test runs `python -m envprobe` as a user would, so kill -9 and
concurrent starts hit a real process; each process a probe starts carries a
marker in its command line, so the test can see whether any of it survived.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from wheelfactory import build_sdist, build_wheel

REPO = Path(__file__).resolve().parents[1]

__all__ = ["REPO", "alive", "build_quiet", "build_slow_build", "escaping_code",
           "marked_processes", "pids_in", "run_envprobe", "start_envprobe", "wait_until"]


def run_envprobe(*args: str, cwd: Path = REPO, timeout: float = 300,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envprobe", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def start_envprobe(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "envprobe", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.05)


def marked_processes(marker: str) -> list[int]:
    """Live (not zombie) processes whose command line holds `marker`, this test's excepted."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def escaping_code(marker: str, pid_file: Path, *, then: str = "") -> str:
    """Probe code that writes its pid to `pid_file`, starts a helper in a session of its own
    (which forks a grandchild), both sleeping with `marker` in their command lines, then
    runs `then`."""
    sleeper = f"import os, time; os.fork(); time.sleep(120)  # {marker}"
    return (
        "import os, subprocess, sys\n"
        f"open({str(pid_file)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        f"subprocess.Popen([sys.executable, '-c', {sleeper!r}], start_new_session=True)\n"
        f"{then}\n"
    )


def pids_in(pid_file: Path) -> list[int]:
    return [int(word) for word in pid_file.read_text().split()] if pid_file.exists() else []


def alive(pid: int) -> bool:
    """True when `pid` exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def build_quiet(out: Path) -> Path:
    """`quiet` 1.0: a wheel that imports and does nothing."""
    return build_wheel(out, "quiet", "1.0", {"quiet/__init__.py": ""})


def build_slow_build(out: Path, marker: str, flag: Path) -> Path:
    """`slowbuild` 1.0: an sdist whose build backend, while `flag` exists, starts an escaping
    helper, writes its pid to `flag`.pid and sleeps (a build to kill envprobe in); without
    `flag` the build fails at once."""
    backend = (
        "import os, subprocess, sys, time\n"
        f"if os.path.exists({str(flag)!r}):\n"
        f"    open({str(flag)!r} + '.pid', 'a').write(f'{{os.getpid()}}\\n')\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)  # {marker}'],"
        " start_new_session=True)\n"
        f"    time.sleep(120)  # {marker}\n"
        "raise ImportError('slowbuild cannot build')\n"
    )
    pyproject = ('[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                 'backend-path = ["."]\n')
    return build_sdist(out, "slowbuild", "1.0",
                       {"pyproject.toml": pyproject, "backend.py": backend})
