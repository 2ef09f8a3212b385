"""Run a command and never leave any of it behind, even when envprobe is killed.

Installers and probe code may start helpers of their own (build backends,
worker pools), some in sessions of their own. Each command therefore runs
under `watchdog.py`, which ends the command's whole tree when it returns,
at its deadline and when envprobe dies; its output goes to a file (a pipe
would block on a chatty package), read back through the open file, so a
command that deletes its folder loses envprobe nothing.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Completed", "run"]

MAX_OUTPUT_BYTES = 4 * 1024 * 1024
WATCHDOG = Path(__file__).with_name("watchdog.py")
# Past its deadline the watchdog ends the command itself; this is for a watchdog that hangs.
_GRACE_SECONDS = 30.0
_TICK_SECONDS = 0.5  # how often `on_tick` runs while a command does


@dataclass(frozen=True)
class Completed:
    """How a command ended: its exit code (negative: killed by that signal) and output.

    `network` is what the command had (`none` when it was cut off), `reaper`
    how its processes were tracked (`subreaper`, or only its `process group`).
    """

    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float
    timed_out: bool = False
    network: str = "host"
    reaper: str = "process group"

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
    network: bool = True,
    on_tick: Callable[[], None] | None = None,
) -> Completed:
    """Run `argv` to completion (or `timeout` seconds), stdout and stderr into `log_path`.

    `network=False` runs it without network where the kernel allows it.
    `on_tick` is called about twice a second while it runs, on this thread
    (live progress without a thread of its own).
    """
    started = time.perf_counter()
    status_read, status_write = os.pipe()
    with open(log_path, "w+b") as log:
        try:
            watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", str(WATCHDOG), str(status_write), str(os.getpid()),
                 repr(timeout or 0), "host" if network else "none", "--", *argv],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                env=dict(env) if env is not None else None, start_new_session=True,
                pass_fds=(status_write,),
            )
        except BaseException:
            os.close(status_read)
            raise
        finally:
            os.close(status_write)
        try:
            status = _status(status_read, None if timeout is None else timeout + _GRACE_SECONDS,
                             on_tick)
        finally:
            os.close(status_read)
            _stop(watchdog)
        output = _tail(log)
    if status is None:  # the watchdog hung past the deadline and was killed
        status = {"timed_out": True}
    if error := status.get("error"):
        raise OSError(error["errno"] or errno.EIO, error["message"], argv[0])
    return Completed(
        argv=tuple(argv),
        returncode=int(status.get("returncode", watchdog.returncode)),
        output=output,
        seconds=time.perf_counter() - started,
        timed_out=bool(status.get("timed_out")),
        network=str(status.get("network", "host")),
        reaper=str(status.get("reaper", "process group")),
    )


def _status(fd: int, timeout: float | None,
            on_tick: Callable[[], None] | None = None) -> dict | None:
    """The watchdog's one JSON line ({} if it died without one); None when it ran past `timeout`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    data = b""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if on_tick is not None:
            wait = _TICK_SECONDS if wait is None else min(wait, _TICK_SECONDS)
        if not poller.poll(None if wait is None else int(wait * 1000)):
            if deadline is not None and time.monotonic() >= deadline:
                return None
            if on_tick is not None:
                on_tick()
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    try:
        return json.loads(data)
    except ValueError:
        return {}


def _stop(watchdog: subprocess.Popen) -> None:
    """Ask the watchdog to end the command's tree; kill its group if it will not."""
    if watchdog.poll() is None:
        watchdog.terminate()
        try:
            watchdog.wait(timeout=_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(watchdog.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    watchdog.wait()


def _tail(log: IO[bytes]) -> str:
    """The end of a log: what the parsers need, bounded whatever a package printed."""
    size = log.seek(0, os.SEEK_END)
    log.seek(max(0, size - MAX_OUTPUT_BYTES))
    return log.read().decode("utf-8", errors="replace")
