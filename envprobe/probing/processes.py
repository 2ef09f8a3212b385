"""Run a command in its own process group and never leave any of it behind.

Installers and probe code may start helpers of their own (build backends,
worker pools). Each command therefore leads a new session, its output goes to
a file (a pipe would block on a chatty package), and whatever is left of its
group is killed on return, on timeout and on Ctrl-C alike. Commands that run
inside an environment get `clean_environ()`, so no host package leaks in.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Completed", "clean_environ", "run"]

MAX_OUTPUT_BYTES = 4 * 1024 * 1024
# Variables that would let the host's packages leak into an environment.
_LEAKY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")


@dataclass(frozen=True)
class Completed:
    """How a command ended: its exit code (negative: killed by that signal) and output."""

    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run(
    argv: Sequence[str],
    *,
    log_path: Path,
    timeout: float | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run `argv` to completion (or `timeout` seconds), stdout and stderr into `log_path`."""
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    timed_out = False
    try:
        timed_out = not _wait_unreaped(process, timeout)
    finally:
        # The leader is not reaped yet, so its pid (the group id) cannot have
        # been reused: killing the group reaches only what the command started.
        _kill_group(process.pid)
        process.wait()
    return Completed(
        argv=tuple(argv),
        returncode=process.returncode,
        output=_tail(log_path),
        seconds=time.perf_counter() - started,
        timed_out=timed_out,
    )


def clean_environ() -> dict[str, str]:
    """The caller's environment without what would leak host packages in."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_VARIABLES}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _tail(path: Path) -> str:
    """The end of a log: what the parsers need, bounded whatever a package printed."""
    with open(path, "rb") as log:
        log.seek(max(0, path.stat().st_size - MAX_OUTPUT_BYTES))
        return log.read().decode("utf-8", errors="replace")


def _wait_unreaped(process: subprocess.Popen, timeout: float | None) -> bool:
    """Wait for the process to exit without reaping it; False when `timeout` ran out."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return _poll_unreaped(process.pid, timeout)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))
    finally:
        os.close(pidfd)


def _poll_unreaped(pid: int, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
