"""Run folders: one per probe under `env_root()`, removed however the probe ends.

A run that is killed outright cannot clean up after itself, so every new
run first removes the folders of runs whose process is gone (even where the
probe code took its folders' permissions away). The owner file
records the process's start time too: a live process with a reused pid is
not the owner.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from envprobe.paths import env_root

__all__ = ["run_directory", "sweep_stale_runs"]

_RUN_PREFIX = "run-"
_OWNER_FILE = "owner.json"


@contextlib.contextmanager
def run_directory() -> Iterator[Path]:
    """A fresh run folder under env_root(), removed on exit whatever happens."""
    root = env_root()
    root.mkdir(parents=True, exist_ok=True)
    sweep_stale_runs(root)
    path = Path(tempfile.mkdtemp(prefix=f"{_RUN_PREFIX}{os.getpid()}-", dir=root))
    try:
        (path / _OWNER_FILE).write_text(
            json.dumps({"pid": os.getpid(), "start": _process_start(os.getpid())})
        )
        yield path
    finally:
        _remove(path)


def sweep_stale_runs(root: Path | None = None) -> list[Path]:
    """Remove run folders whose owning process is gone; returns what was removed."""
    root = env_root() if root is None else root
    removed = []
    for path in root.glob(f"{_RUN_PREFIX}*"):
        match = re.fullmatch(rf"{_RUN_PREFIX}(\d+)-.+", path.name)
        if not match or not path.is_dir() or _owner_alive(path, int(match.group(1))):
            continue
        _remove(path)
        removed.append(path)
    return removed


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
