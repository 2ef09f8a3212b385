"""Run one command and end every process it starts, whatever session they moved to.

Installers and probe code may start helpers that leave their process group
(`start_new_session=True`), and envprobe itself may be killed outright. So
every command runs under this small process, executed by path with
envprobe's interpreter (standard library only, so started with `-S`: the
.pth files of site-packages would add their start-up to every command), which:

- makes itself a child subreaper (Linux): orphans of the command re-parent
  to it, so all of them can be found in /proc and killed when it ends;
- asks the kernel for a signal when envprobe dies, and ends the command at
  its deadline on its own: a command never outlives its timeout;
- with `none` for the network, first moves into new user and network
  namespaces holding only a loopback, where the kernel allows it.

Usage: python -I -S watchdog.py STATUS_FD PARENT_PID DEADLINE NETWORK -- ARGV...
DEADLINE is in seconds (0: none), NETWORK is `host` or `none`. One JSON line
goes to STATUS_FD when it is done: returncode (negative: killed by that
signal), timed_out, network (`none` or `host`), reaper (`subreaper` or
`process group`) and error (the command could not be started).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER = 1, 36
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_STOPPING = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGALRM)
_KILL_ROUNDS_SECONDS = 10.0


class _Stop(Exception):
    """A stopping signal arrived: SIGALRM is the deadline, the others envprobe (or its death)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _prctl(libc, option: int, value: int) -> bool:
    return libc is not None and libc.prctl(option, value, 0, 0, 0) == 0


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _cut_network(libc) -> bool:
    """Enter new user and network namespaces (same ids inside); True when the network is gone."""
    if libc is None:
        return False
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        return False
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError:
        pass  # the ids show as unmapped inside; the network is gone all the same
    try:  # a loopback, so code that talks to itself (worker pools) still works
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            request = struct.pack("16sH22x", b"lo", 0)
            flags = struct.unpack("16sH22x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))
    except OSError:
        pass
    return True


def _descendants(root: int) -> list[int]:
    """Every process below `root`, found through the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, frontier = [], [root]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += below
        frontier += below
    return found


def _reap(child: int, statuses: dict[int, int]) -> None:
    """Collect every exited child (orphans re-parent here); keep the command's status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid == child:
            statuses[pid] = os.waitstatus_to_exitcode(status)


def _end_all(child: int, statuses: dict[int, int], reaper: bool) -> None:
    """Kill the command's whole tree until nothing of it is left (each kill may orphan more).

    The command is reaped last: until then its pid, its group's id, cannot be reused.
    """
    deadline = time.monotonic() + _KILL_ROUNDS_SECONDS
    while True:
        try:
            os.killpg(child, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        left = _descendants(os.getpid()) if reaper else []
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap(child, statuses)
        if child in statuses and not left or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _wait_for(child: int) -> None:
    """Until the command exits, left unreaped; orphans that exit first are reaped."""
    while (pid := os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT).si_pid) != child:
        os.waitpid(pid, 0)


def _start(argv: list[str], libc) -> int:
    """The command, in a group of its own and killed with this process if this one is killed."""

    def in_child() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
        _prctl(libc, _PR_SET_PDEATHSIG, signal.SIGKILL)

    # preexec_fn is safe here: the watchdog runs no threads.
    return subprocess.Popen(argv, start_new_session=True, preexec_fn=in_child).pid  # noqa: PLW1509


def main(status_fd: int, parent: int, deadline: float, network: str, argv: list[str]) -> int:
    libc = _libc()
    for signum in _STOPPING:
        signal.signal(signum, _raise_stop)
    status: dict = {"returncode": 127, "timed_out": False, "network": "host",
                    "reaper": "process group", "error": None}
    statuses: dict[int, int] = {}
    child = None
    try:
        if _prctl(libc, _PR_SET_CHILD_SUBREAPER, 1) and os.path.isdir("/proc"):
            status["reaper"] = "subreaper"
        if network == "none" and _cut_network(libc):
            status["network"] = "none"
        # Armed after the namespaces, then checked: envprobe may have died before.
        _prctl(libc, _PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            raise _Stop(signal.SIGTERM)
        if deadline > 0:
            signal.setitimer(signal.ITIMER_REAL, deadline)
        # Stops wait while it starts: a started command is then always known here.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            child = _start(argv, libc)
        except OSError as error:
            status["error"] = {"errno": error.errno, "message": error.strerror or str(error)}
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
        if child is not None:
            _wait_for(child)
    except _Stop as stop:
        status["timed_out"] = stop.signum == signal.SIGALRM
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum in _STOPPING:
            signal.signal(signum, signal.SIG_IGN)
        if child is not None:
            _end_all(child, statuses, status["reaper"] == "subreaper")
            status["returncode"] = statuses.get(child, -signal.SIGKILL)
    try:
        os.write(status_fd, (json.dumps(status) + "\n").encode())
    except OSError:
        pass  # envprobe is gone: nobody to tell
    return 0


if __name__ == "__main__":
    separator = sys.argv.index("--")
    fd, parent_pid, seconds, net = sys.argv[1:separator]
    sys.exit(main(int(fd), int(parent_pid), float(seconds), net, sys.argv[separator + 1:]))
