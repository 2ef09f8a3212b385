"""Run one command and end every process it starts, whatever session they moved to.

Installers and probe code may start helpers that leave their process group
(`start_new_session=True`), and envprobe itself may be killed outright. So
every command runs under this small process, executed by path with
envprobe's interpreter (standard library only, so started with `-S`: the
.pth files of site-packages would add their start-up to every command; and
only the modules it cannot do without, since its start is paid by every
install and every probe: no `subprocess`, no `json`, no `enum`), which:

- makes itself a child subreaper (Linux): orphans of the command re-parent
  to it, so all of them can be found in /proc and killed when it ends;
- asks the kernel for a signal when envprobe dies, and ends the command at
  its deadline on its own: a command never outlives its timeout;
- with `none` for the network, moves the command's process into new user
  and network namespaces holding only a loopback, where the kernel allows it.

Usage: python -I -S watchdog.py STATUS_FD PARENT_PID DEADLINE NETWORK -- ARGV...
       python -I -S watchdog.py --serve REQUEST_FD STATUS_FD PARENT_PID
DEADLINE is in seconds (0: none), NETWORK is `host` or `none`. One JSON line
goes to STATUS_FD when it is done: returncode (negative: killed by that
signal), timed_out, network (`none` or `host`), reaper (`subreaper` or
`process group`) and error (the command could not be started). With
`--serve` it runs the commands read from REQUEST_FD one after the other
(a probe's environment, its install, its code: one watchdog start instead of
three), one status line each, ending each command's tree before the next.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

try:  # the C module `signal` wraps: its enums (`enum`) are a fifth of this process's start
    import _signal as signal
except ImportError:  # another Python than CPython
    import signal

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


def _network_modules():
    """What a network cut takes; imported while a served command runs (1.5-2 ms in a fork)."""
    import _socket  # not `socket`: its import would be most of a cut's time
    import fcntl
    import struct
    return _socket, fcntl, struct


def _cut_network(libc) -> bool:
    """Enter new user and network namespaces (same ids inside); True when the network is gone."""
    _socket, fcntl, struct = _network_modules()

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
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        try:
            request = struct.pack("16sH22x", b"lo", 0)
            flags = struct.unpack("16sH22x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))
        finally:
            sock.close()
    except OSError:
        pass
    return True


def _descendants(root: int) -> list[int]:
    """Every live process below `root`, found through the parent links in /proc.

    Zombies are left out: they are dead already, and `_reap` collects them.
    For this process (a subreaper) the kernel's list of its own children
    settles the usual case in one read: when each of them has ended, nothing
    lives below, since an ending process hands its children up to here. The
    walk over all of /proc (milliseconds on a busy machine) is for the rest.
    """
    if root == os.getpid() and _only_ended_children():
        return []
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(
            -int(entry) if fields[0] == b"Z" else int(entry))
    found, frontier = [], [root]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += [pid for pid in below if pid > 0]
        frontier += [abs(pid) for pid in below]
    return found


def _only_ended_children() -> bool:
    """Whether every child of this process has ended (False when the kernel cannot say)."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children", "rb") as handle:
            pids = handle.read().split()
    except OSError:
        return False
    for pid in pids:
        try:
            with open(b"/proc/" + pid + b"/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # reaped meanwhile
        if state not in (b"Z", b"X"):
            return False
    return True


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


def _start(argv: list[str], libc, network: str, cwd: str | None = None,
           log: str | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The command, in a session of its own and killed with this process if this one is killed;
    its pid and its network (`none` when it was cut, as asked, else `host`).

    Forked here rather than through `subprocess`: its import is a third of
    this process's start, and a `Popen` dropped at once reaps a command that
    exits at once, which `_wait_for` would then never see. The network is cut
    in the command's own process, so one watchdog can serve commands with
    and without it.
    """
    report_read, report_write = os.pipe()  # both close on exec: one byte, then the exec
    watchdog = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(report_read)
            cut = network == "none" and _cut_network(libc)
            os.write(report_write, b"N" if cut else b"H")
            os.setsid()
            for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ"):  # what Python ignores, as exec'd code expects
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
            # After the namespaces (a new user namespace clears it), then checked.
            _prctl(libc, _PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != watchdog:  # it died before the death signal was armed
                os._exit(127)
            if cwd is not None:
                os.chdir(cwd)
            if log is not None:
                output = os.open(log, os.O_WRONLY)
                os.dup2(output, 1)
                os.dup2(output, 2)
                os.close(output)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
            if env is None:
                os.execvp(argv[0], argv)
            os.execvpe(argv[0], argv, env)
        except OSError as error:
            os.write(report_write, f"{error.errno or 0}:{error.strerror or error}".encode())
        finally:
            os._exit(127)
    os.close(report_write)
    with open(report_read, "rb") as report:
        answer = report.read()
    failed = answer[1:]
    if failed or not answer:
        os.waitpid(pid, 0)
        number, _, message = failed.decode(errors="replace").partition(":")
        raise OSError(int(number or 0), message or "the command's process ended before its exec")
    return pid, "none" if answer[:1] == b"N" else "host"


def _status_line(status: dict) -> bytes:
    """The status as one JSON line, without `json` (a tenth of this process's start)."""
    def value(item: object) -> str:
        if item is None:
            return "null"
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int):
            return str(item)
        if isinstance(item, dict):
            return "{" + ", ".join(f'"{key}": {value(v)}' for key, v in item.items()) + "}"
        text = str(item)
        if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
            return f'"{text}"'
        import json  # only for a message that needs escaping

        return json.dumps(text)

    return (value(status) + "\n").encode()


def _run_one(argv: list[str], deadline: float, network: str, libc, reaper: bool,
             cwd: str | None = None, log: str | None = None,
             env: dict[str, str] | None = None, more: bool = False) -> tuple[dict, bool]:
    """Run one command to its end (or its deadline) and end its whole tree.

    Returns its status and whether envprobe asked this watchdog to stop.
    Stops that arrive while the tree is being ended wait, blocked, until it is.
    """
    status: dict = {"returncode": 127, "timed_out": False, "network": "host",
                    "reaper": "subreaper" if reaper else "process group", "error": None}
    statuses: dict[int, int] = {}
    child, stopped = None, False
    try:
        if deadline > 0:
            signal.setitimer(signal.ITIMER_REAL, deadline)
        # Stops wait while it starts: a started command is then always known here.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            child, status["network"] = _start(argv, libc, network, cwd, log, env)
            if more:  # a later command's network cut: its modules while this one runs
                _network_modules()
        except OSError as error:
            status["error"] = {"errno": error.errno, "message": error.strerror or str(error)}
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
        if child is not None:
            _wait_for(child)
    except _Stop as stop:
        status["timed_out"] = stop.signum == signal.SIGALRM
        stopped = not status["timed_out"]
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        signal.setitimer(signal.ITIMER_REAL, 0)
        if child is not None:
            _end_all(child, statuses, reaper)
            status["returncode"] = statuses.get(child, -signal.SIGKILL)
    return status, stopped


def _unblock_stops() -> bool:
    """Let blocked stops in; True when one of them asks this watchdog to stop.

    A deadline that fired as its command ended is no stop: it is dropped.
    """
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)
    except _Stop as stop:
        if stop.signum != signal.SIGALRM:
            return True
        return _unblock_stops()
    return False


def _tell(status_fd: int, status: dict) -> None:
    try:
        os.write(status_fd, _status_line(status))
    except OSError:
        pass  # envprobe is gone: nobody to tell


def _setup(parent: int):
    """Signals, the subreaper and the parent's death signal; (libc, reaper), or None
    when envprobe died before the death signal was armed."""
    libc = _libc()
    for signum in _STOPPING:
        signal.signal(signum, _raise_stop)
    reaper = _prctl(libc, _PR_SET_CHILD_SUBREAPER, 1) and os.path.isdir("/proc")
    _prctl(libc, _PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        return None
    return libc, reaper


def main(status_fd: int, parent: int, deadline: float, network: str, argv: list[str]) -> int:
    """One command, then exit."""
    os.set_inheritable(status_fd, False)  # the command must not hold envprobe's pipe open
    try:
        ready = _setup(parent)
        if ready is None:
            _tell(status_fd, {"returncode": 127, "timed_out": False, "network": "host",
                              "reaper": "process group", "error": None})
            return 0
        status, _ = _run_one(argv, deadline, network, *ready)
    except _Stop:
        return 0
    _tell(status_fd, status)
    return 0


def serve(request_fd: int, status_fd: int, parent: int) -> int:
    """Commands in turn, one status line each, until envprobe closes the request pipe or dies."""
    os.set_inheritable(status_fd, False)
    os.set_inheritable(request_fd, False)
    try:
        ready = _setup(parent)
        if ready is None:
            return 0
        with open(request_fd, "rb", buffering=0) as requests:
            while (request := _read_request(requests)) is not None:
                deadline, network, cwd, log, env, argv = request
                status, stopped = _run_one(argv, deadline, network, *ready, cwd, log, env,
                                           more=True)
                _tell(status_fd, status)
                if stopped or _unblock_stops():
                    return 0
    except _Stop:
        pass  # envprobe stopped (or died) while nothing ran: nothing to end
    return 0


def _read_exactly(requests, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = requests.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_request(requests) -> tuple[float, str, str, str, dict[str, str], list[str]] | None:
    """One request: a 10-digit length, then NUL-separated fields (see `processes.Supervisor`):
    deadline, network, cwd, log, the number of environment entries, the entries, the argv."""
    header = _read_exactly(requests, 10)
    payload = None if header is None else _read_exactly(requests, int(header))
    if payload is None:
        return None
    fields = [os.fsdecode(field) for field in payload.split(b"\0")]
    deadline, network, cwd, log, count = fields[:5]
    entries = fields[5:5 + int(count)]
    env = dict(entry.split("=", 1) for entry in entries)
    return float(deadline), network, cwd, log, env, fields[5 + int(count):]


if __name__ == "__main__":
    # Everything this process started is ended and its statuses written (unbuffered) by
    # now: it exits without the interpreter's teardown, which envprobe would wait for.
    if sys.argv[1] == "--serve":
        request, status_pipe, parent_pid = sys.argv[2:5]
        os._exit(serve(int(request), int(status_pipe), int(parent_pid)))
    separator = sys.argv.index("--")
    fd, parent_pid, seconds, net = sys.argv[1:separator]
    os._exit(main(int(fd), int(parent_pid), float(seconds), net, sys.argv[separator + 1:]))
