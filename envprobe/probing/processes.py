"""Run a command and never leave any of it behind, even when envprobe is killed.

Installers and probe code may start helpers of their own (build backends,
worker pools), some in sessions of their own. Each command therefore runs
under `watchdog.py`, which ends the command's whole tree when it returns,
at its deadline and when envprobe dies; its output goes to a file (a pipe
would block on a chatty package), read back through the open file, so a
command that deletes its folder loses envprobe nothing.

A watchdog's start is a Python start: inside `supervised()` (one probe) the
commands of this thread share one watchdog that runs them in turn, with the
same guarantees for each.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Completed", "Pending", "Supervisor", "run", "submit", "supervised"]

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
    (live progress without a thread of its own). Inside `supervised()` the
    command runs under that block's watchdog, else under one of its own.
    """
    supervisor = _current()
    if supervisor is not None:
        return supervisor.run(argv, log_path=log_path, timeout=timeout, cwd=cwd, env=env,
                              network=network, on_tick=on_tick)
    started = time.perf_counter()
    status_read, status_write = os.pipe()
    with open(log_path, "w+b") as log:
        try:
            watchdog = subprocess.Popen(
                [*_watchdog_command(), str(status_write), str(os.getpid()),
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
            status = _status(status_read, _patience(timeout), on_tick)
        finally:
            os.close(status_read)
            _stop(watchdog)
        output = _tail(log)
    return _completed(argv, status, watchdog.returncode, started, output)


def submit(argv: Sequence[str], *, log_path: Path, timeout: float | None = None,
           cwd: Path | None = None, env: Mapping[str, str] | None = None,
           network: bool = True) -> Pending:
    """Start `argv` as `run` would and return at once; `wait()` gives how it ended.

    Only inside `supervised()` does it run while the caller goes on (the
    watchdog is already there to watch it); elsewhere it runs to its end here.
    """
    supervisor = _current()
    if supervisor is not None:
        return supervisor.submit(argv, log_path=log_path, timeout=timeout, cwd=cwd, env=env,
                                 network=network)
    done = run(argv, log_path=log_path, timeout=timeout, cwd=cwd, env=env, network=network)
    return Pending(lambda on_tick: done)


@contextlib.contextmanager
def supervised(supervisor: Supervisor | None = None) -> Iterator[Supervisor]:
    """Run this thread's commands in the block under one watchdog (started lazily).

    A block inside another one shares the outer block's watchdog. The
    watchdog ends with the block that made it (or was given it), and with it
    any command still running.
    """
    current = _current()
    if current is not None and supervisor in (None, current):
        yield current
        return
    supervisor = supervisor or Supervisor()
    token = _CURRENT.set(supervisor)
    try:
        yield supervisor
    finally:
        _CURRENT.reset(token)
        supervisor.close()


class Pending:
    """A submitted command; `wait()` gives its `Completed` (once, then the same again)."""

    def __init__(self, finish: Callable[[Callable[[], None] | None], Completed]) -> None:
        self._finish = finish
        self._done: Completed | None = None

    def wait(self, on_tick: Callable[[], None] | None = None) -> Completed:
        if self._done is None:
            self._done = self._finish(on_tick)
        return self._done


class Supervisor:
    """One watchdog (`watchdog.py --serve`) that runs commands in turn, each as `run` would.

    Requests go down one pipe (a 10-digit length, then NUL-separated fields:
    deadline, network, cwd, log file, the number of environment entries,
    the entries, the argv); one status line per command comes back up
    another. A watchdog that hangs past a command's deadline is killed, and
    the next command starts a new one.
    """

    def __init__(self) -> None:
        self.owner = os.getpid()  # a forked copy of this process must not use its pipes
        self._process: subprocess.Popen | None = None
        self._requests = self._statuses = -1
        self._pending: Pending | None = None
        self._log: IO[bytes] | None = None  # the pending command's log

    @property
    def pid(self) -> int | None:
        """The watchdog's process id while it runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        """Start the watchdog now (it starts with the first command otherwise)."""
        if self._process is not None:
            return
        request_read, request_write = os.pipe()
        status_read, status_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [*_watchdog_command(), "--serve", str(request_read), str(status_write),
                 str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, pass_fds=(request_read, status_write),
            )
        except BaseException:
            os.close(request_write)
            os.close(status_read)
            raise
        finally:
            os.close(request_read)
            os.close(status_write)
        self._requests, self._statuses = request_write, status_read

    def run(self, argv: Sequence[str], *, log_path: Path, timeout: float | None = None,
            cwd: Path | None = None, env: Mapping[str, str] | None = None,
            network: bool = True, on_tick: Callable[[], None] | None = None) -> Completed:
        """As `processes.run`, under this watchdog."""
        return self.submit(argv, log_path=log_path, timeout=timeout, cwd=cwd, env=env,
                           network=network).wait(on_tick)

    def submit(self, argv: Sequence[str], *, log_path: Path, timeout: float | None = None,
               cwd: Path | None = None, env: Mapping[str, str] | None = None,
               network: bool = True) -> Pending:
        """Hand `argv` to the watchdog and return; the command before it is waited for first."""
        if self._pending is not None:
            self._pending.wait()
        started = time.perf_counter()
        environ = os.environ if env is None else env
        entries = [f"{key}={value}" for key, value in environ.items()]
        fields = [repr(timeout or 0), "host" if network else "none",
                  str(cwd if cwd is not None else os.getcwd()), str(log_path.absolute()),
                  str(len(entries)), *entries, *argv]
        if any("\0" in field for field in fields):
            raise ValueError("embedded null byte")
        payload = b"\0".join(os.fsencode(field) for field in fields)
        self.start()
        log = open(log_path, "w+b")  # created before the watchdog opens it by name  # noqa: SIM115
        self._log = log
        try:
            os.write(self._requests, b"%010d" % len(payload) + payload)
            sent = True
        except BrokenPipeError:
            sent = False  # it had died: the command never starts
        except BaseException:
            log.close()
            self.close()
            raise

        def finish(on_tick: Callable[[], None] | None) -> Completed:
            ended = 1
            with log:
                try:
                    status = (_status(self._statuses, _patience(timeout), on_tick, line=True)
                              if sent else {})
                except BaseException:  # interrupted: the command must not outlive this
                    self.close()
                    raise
                finally:
                    self._pending = self._log = None
                if not status:  # hung past the deadline, or died: a new one for the next
                    ended = self.close()
                output = _tail(log)
            return _completed(argv, status, ended, started, output)

        self._pending = Pending(finish)
        return self._pending

    def close(self) -> int:
        """End the watchdog (it ends with its request pipe, else it is stopped); its exit code.

        A command still running is ended with its tree; its status is not read.
        """
        if self._log is not None:
            self._log.close()
        self._pending = self._log = None
        if self._process is None:
            return 0
        os.close(self._requests)
        os.close(self._statuses)
        process, self._process = self._process, None
        _stop(process)
        return process.returncode


_CURRENT: ContextVar[Supervisor | None] = ContextVar("envprobe_supervisor", default=None)


def _current() -> Supervisor | None:
    """This thread's supervisor; none in a process forked from its owner (a pool worker)."""
    supervisor = _CURRENT.get()
    return supervisor if supervisor is not None and supervisor.owner == os.getpid() else None


def _watchdog_command(source: Path = WATCHDOG) -> tuple[str, ...]:
    """The watchdog run by envprobe's interpreter, from its cached bytecode when that is
    current (an installed envprobe's is): a script is compiled at every start, 4 ms."""
    return (sys.executable, "-I", "-S", str(_current_bytecode(source) or source))


def _current_bytecode(source: Path) -> Path | None:
    """`source`'s bytecode in `__pycache__` when it was compiled from this very source
    (a timestamp-checked file, as Python's import checks it); else None."""
    import importlib.util

    try:
        cached = Path(importlib.util.cache_from_source(str(source)))
        with open(cached, "rb") as handle:
            header = handle.read(16)
        stat = source.stat()
    except (OSError, NotImplementedError):
        return None
    expected = (importlib.util.MAGIC_NUMBER + bytes(4)
                + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little"))
    return cached if header == expected else None


def _patience(timeout: float | None) -> float | None:
    """How long to wait for a watchdog's answer: its deadline, then a grace."""
    return None if timeout is None else timeout + _GRACE_SECONDS


def _completed(argv: Sequence[str], status: dict | None, otherwise: int | None,
               started: float, output: str = "") -> Completed:
    if status is None:  # the watchdog hung past the deadline and was killed
        status = {"timed_out": True}
    if error := status.get("error"):
        raise OSError(error["errno"] or errno.EIO, error["message"], argv[0])
    return Completed(
        argv=tuple(argv),
        returncode=int(status.get("returncode", otherwise)),
        output=output,
        seconds=time.perf_counter() - started,
        timed_out=bool(status.get("timed_out")),
        network=str(status.get("network", "host")),
        reaper=str(status.get("reaper", "process group")),
    )


def _status(fd: int, timeout: float | None, on_tick: Callable[[], None] | None = None,
            *, line: bool = False) -> dict | None:
    """The watchdog's JSON line ({} if it died without one); None when it ran past `timeout`.

    A one-command watchdog says it and exits (read to the end); a serving one
    says one `line` per command and waits for the next.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    data = b""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not (line and data.endswith(b"\n")):
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
        if _exits_within(watchdog, _GRACE_SECONDS):
            return
        try:
            os.killpg(watchdog.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    watchdog.wait()


def _exits_within(process: subprocess.Popen, seconds: float) -> bool:
    """Whether `process` ends within `seconds` (then reaped), told the moment it does.

    `Popen.wait(timeout)` polls with growing sleeps: a watchdog that ends in
    a millisecond is seen 5-8 ms later, at the end of every probe. A process
    file descriptor (Linux) is readable as soon as the process has ended.
    """
    try:
        handle = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        try:
            process.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        poller = select.poll()
        poller.register(handle, select.POLLIN)
        if not poller.poll(int(seconds * 1000)):
            return False
    finally:
        os.close(handle)
    process.wait()
    return True


def _tail(log: IO[bytes]) -> str:
    """The end of a log: what the parsers need, bounded whatever a package printed."""
    size = log.seek(0, os.SEEK_END)
    log.seek(max(0, size - MAX_OUTPUT_BYTES))
    return log.read().decode("utf-8", errors="replace")
