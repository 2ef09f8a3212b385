"""Run folders: one per live probe under `env_root()`, removed however the probe ends.

A probe's folder is a numbered slot (`run-0`, `run-1`, ...), held through
an exclusive lock on `locks/run-N.lock` for as long as the probe runs. The
path is the same from one probe to the next, so what installers remember
about an environment by its path stays valid: uv asks a new environment's
Python what it is (a Python start, 60 ms) unless it has seen that path
before. The environment itself is new every time: a slot is emptied when it
is taken and removed when it is given back.

A run that is killed outright cannot clean up after itself; its lock ends
with its process, so the next run that finds a slot unlocked empties it.
Older envprobes named folders `run-PID-RANDOM` with an owner file; those are
swept when their process is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from envprobe.errors import EnvironmentSetupError
from envprobe.paths import env_root

__all__ = ["run_directory", "sweep_stale_runs"]

_RUN_PREFIX = "run-"
_LOCKS = "locks"
_MAX_SLOTS = 256  # past these (all held or unremovable), a one-off folder
_OWNER_FILE = "owner.json"  # of the older one-off folders


@contextlib.contextmanager
def run_directory() -> Iterator[Path]:
    """A fresh, empty run folder under env_root(), removed on exit whatever happens.

    A root that cannot hold folders is said in one line (`EnvironmentSetupError`).
    """
    root = env_root()
    try:
        (root / _LOCKS).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EnvironmentSetupError(
            f"cannot make throwaway environments in {root} ({error.strerror or error}); "
            "set ENVPROBE_ENV_ROOT (or ENVPROBE_CACHE, under which it lives by default) to a "
            "writable folder") from None
    sweep_stale_runs(root)
    taken = _take_slot(root)
    if taken is None:
        with _one_off(root) as path:
            yield path
        return
    path, lock = taken
    try:
        yield path
    finally:
        _remove(path)
        _release(lock)


def sweep_stale_runs(root: Path | None = None) -> list[Path]:
    """Remove run folders no live run holds; returns what was removed."""
    root = env_root() if root is None else root
    removed = []
    for path in root.glob(f"{_RUN_PREFIX}*"):
        if not path.is_dir():
            continue
        if re.fullmatch(rf"{_RUN_PREFIX}\d+", path.name):
            lock = _lock(root, path.name)
            if lock is None:
                continue  # a live run holds it
            _remove(path)
            _release(lock)
        else:
            match = re.fullmatch(rf"{_RUN_PREFIX}(\d+)-.+", path.name)
            if not match or _owner_alive(path, int(match.group(1))):
                continue
            _remove(path)
        if not path.exists():
            removed.append(path)
    return removed


def _take_slot(root: Path) -> tuple[Path, int] | None:
    """The lowest slot no live run holds, emptied and locked; None when none is usable."""
    for number in range(_MAX_SLOTS):
        name = f"{_RUN_PREFIX}{number}"
        lock = _lock(root, name)
        if lock is None:
            continue
        path = root / name
        _remove(path)  # what a killed run left
        try:
            path.mkdir()
        except OSError:  # it could not be emptied
            _release(lock)
            continue
        return path, lock
    return None


def _lock(root: Path, name: str) -> int | None:
    """An open, exclusively locked file for slot `name`; None while another run holds it.

    Each call opens the file anew, so two threads of one process exclude
    each other too (the lock belongs to the open file).
    """
    (root / _LOCKS).mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(root / _LOCKS / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None  # a lock that cannot be made is a slot that cannot be taken
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _release(fd: int) -> None:
    # Unlocked before it is closed: a pool worker forked meanwhile shares the open file.
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextlib.contextmanager
def _one_off(root: Path) -> Iterator[Path]:
    """A uniquely named folder with an owner file, when every slot is held or stuck."""
    try:
        path = Path(tempfile.mkdtemp(prefix=f"{_RUN_PREFIX}{os.getpid()}-", dir=root))
    except OSError as error:
        raise EnvironmentSetupError(
            f"cannot make a run folder in {root} ({error.strerror or error})") from None
    try:
        (path / _OWNER_FILE).write_text(
            json.dumps({"pid": os.getpid(), "start": _process_start(os.getpid())})
        )
        yield path
    finally:
        _remove(path)


def _remove(path: Path) -> None:
    """Remove a run folder, also one whose probe code took its folders' permissions away."""
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        _unlock(path)
        shutil.rmtree(path, ignore_errors=True)


def _unlock(folder: Path) -> None:
    """Give the owner back every folder below `folder`, each before it is listed."""
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _unlock(Path(entry.path))


def _owner_alive(run_dir: Path, pid: int) -> bool:
    if not _pid_alive(pid):
        return False
    try:
        recorded = json.loads((run_dir / _OWNER_FILE).read_text()).get("start")
    except (OSError, ValueError):
        return True  # still being set up, or written by a run we cannot read: keep it
    # A live pid with another start time is a reused pid, not the owner.
    return recorded is None or recorded == _process_start(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_start(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (Linux), to tell reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])
