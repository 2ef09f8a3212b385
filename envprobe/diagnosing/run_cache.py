"""What the user's environment said last time, reused while nothing installed has changed.

Running the user's code is the dear part of a diagnosis (NeMo's import alone
takes 10-30 s before it fails), and listing 180 distributions costs a
second. Both answers depend only on the interpreter, the code and what is
installed, so they are kept in envprobe's cache beside a fingerprint of the
environment: every `sys.path` folder's mtime (an install or removal adds or
drops an entry there), each `*.dist-info`/`*.egg-info` with its METADATA,
RECORD or PKG-INFO size and mtime, and each `.pth`/`.egg-link` file. Any
change of those re-runs the code; the fingerprint only stats files, so it
costs milliseconds even for a NeMo-sized environment. What it cannot see: a
source file edited in place (an editable install's project); `--refresh`
runs the code again whatever the fingerprint says.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.tags import Tag

from envprobe import paths
from envprobe.atomic import write_atomically
from envprobe.diagnosing.inventory import Installed, Inventory, declared_conflicts
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure

__all__ = ["RunCache", "SeenEnvironment", "StoredRun", "fingerprint", "interpreter_identity"]

_VERSION = 1  # of the records' layout: a record of another layout is ignored
_METADATA_FILES = ("METADATA", "RECORD", "PKG-INFO")


def fingerprint(path: tuple[str, ...]) -> str:
    """A digest that changes whenever anything is installed, removed or upgraded on `path`."""
    digest = hashlib.sha256()
    for entry in path:
        try:
            info = os.stat(entry)
        except OSError:
            digest.update(f"{entry}\0absent\n".encode())
            continue
        digest.update(f"{entry}\0{info.st_mtime_ns}\0{info.st_size}\n".encode())
        if not stat.S_ISDIR(info.st_mode):
            continue  # a zip on the path: its size and mtime said it
        try:
            with os.scandir(entry) as children:
                names = sorted((child.name, child.path) for child in children)
        except OSError:
            continue
        for name, full in names:
            if name.endswith((".dist-info", ".egg-info")):
                digest.update(f"{name}\0{_stat_words(full)}\n".encode())
                for meta in _METADATA_FILES:
                    digest.update(f"\0{meta}\0{_stat_words(os.path.join(full, meta))}".encode())
            elif name.endswith((".pth", ".egg-link")):
                digest.update(f"{name}\0{_stat_words(full)}\n".encode())
    return digest.hexdigest()


def _stat_words(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "-"
    return f"{info.st_size}:{info.st_mtime_ns}"


def interpreter_identity(python: str) -> str:
    """The interpreter file itself and its venv's configuration, as they are now."""
    real = os.path.realpath(python)
    venv_cfg = Path(python).absolute().parent.parent / "pyvenv.cfg"
    return f"{os.path.abspath(python)}|{real}|{_stat_words(real)}|{_stat_words(str(venv_cfg))}"


@dataclass(frozen=True)
class SeenEnvironment:
    """The interpreter, its installed set, their declared conflicts, and the fingerprint."""

    interpreter: TargetInterpreter
    inventory: Inventory
    conflicts: list[str]
    fingerprint: str


@dataclass(frozen=True)
class StoredRun:
    """One earlier run of the code: its failure (None: it ran) and when it ran."""

    failure: Failure | None
    ran_at: float  # seconds since the epoch
    seconds: float

    def clock(self) -> str:
        return time.strftime("%H:%M", time.localtime(self.ran_at))


class RunCache:
    """Records under envprobe's cache folder, one file per interpreter and per run."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.cache_dir() / "diagnose"

    # the environment ------------------------------------------------------------

    def environment(self, python: str) -> SeenEnvironment | None:
        """The environment as last read, if nothing installed changed since."""
        identity = interpreter_identity(python)
        record = self._read(self._file("env", identity))
        if record is None or record.get("identity") != identity:
            return None
        try:
            path = tuple(record["inventory"]["path"])
            if fingerprint(path) != record["fingerprint"]:
                return None
            return SeenEnvironment(_interpreter_from(record["interpreter"]),
                                   _inventory_from(record["inventory"]),
                                   list(record["conflicts"]), record["fingerprint"])
        except (KeyError, TypeError, ValueError):
            return None

    def keep_environment(self, python: str, interpreter: TargetInterpreter,
                         inventory: Inventory) -> SeenEnvironment:
        """Record the environment as just read (its declared conflicts computed once)."""
        identity = interpreter_identity(python)
        seen = SeenEnvironment(interpreter, inventory, declared_conflicts(inventory),
                               fingerprint(inventory.path))
        self._write(self._file("env", identity), {
            "identity": identity, "fingerprint": seen.fingerprint, "conflicts": seen.conflicts,
            "interpreter": {"executable": interpreter.executable, "version": interpreter.version,
                            "platform": interpreter.platform,
                            "environment": interpreter.environment,
                            "tags": [str(t) for t in interpreter.tags]},
            "inventory": {"python": inventory.python, "path": list(inventory.path),
                          "environment": inventory.environment,
                          "dists": [[d.name, d.version, list(d.requires), list(d.tops)]
                                    for d in inventory.dists.values()]},
        })
        return seen

    # the run ------------------------------------------------------------------------

    def run(self, python: str, question: dict[str, Any], environment: str) -> StoredRun | None:
        """The earlier run of the same code, in the same environment, if there is one."""
        key = {"identity": interpreter_identity(python), **question}
        record = self._read(self._file("run", key))
        if record is None or record.get("key") != key or record.get("fingerprint") != environment:
            return None
        try:
            failure = Failure.from_dict(record["failure"]) if record["failure"] else None
            return StoredRun(failure, float(record["ran_at"]), float(record["seconds"]))
        except (KeyError, TypeError, ValueError):
            return None

    def keep_run(self, python: str, question: dict[str, Any], environment: str,
                 run: StoredRun) -> None:
        key = {"identity": interpreter_identity(python), **question}
        self._write(self._file("run", key), {
            "key": key, "fingerprint": environment, "ran_at": run.ran_at,
            "seconds": run.seconds, "failure": run.failure.to_dict() if run.failure else None,
        })

    # anything else keyed by the environment --------------------------------------------

    def recall(self, kind: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """A record kept under `key` (which names the environment's fingerprint)."""
        record = self._read(self._file(kind, key))
        return record if record is not None and record.get("key") == key else None

    def remember(self, kind: str, key: dict[str, Any], record: dict[str, Any]) -> None:
        self._write(self._file(kind, key), {"key": key, "kept_at": time.time(), **record})

    # files --------------------------------------------------------------------------

    def _file(self, kind: str, key: Any) -> Path:
        name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        return self.root / f"{kind}-{name}.json"

    def _read(self, file: Path) -> dict[str, Any] | None:
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and record.get("layout") == _VERSION else None

    def _write(self, file: Path, record: dict[str, Any]) -> None:
        """Best effort: a cache that cannot be written only costs the next run its speed."""
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(file, json.dumps({"layout": _VERSION, **record}).encode())
        except OSError:
            pass


def _interpreter_from(data: dict[str, Any]) -> TargetInterpreter:
    return TargetInterpreter(executable=data["executable"], version=data["version"],
                             platform=data["platform"], environment=dict(data["environment"]),
                             tags=tuple(Tag(*text.split("-", 2)) for text in data["tags"]))


def _inventory_from(data: dict[str, Any]) -> Inventory:
    dists = {}
    for name, version, requires, tops in data["dists"]:
        dists[name] = Installed(name, version, tuple(requires), tuple(tops))
    return Inventory(data["python"], dists, tuple(data["path"]), dict(data["environment"]))
