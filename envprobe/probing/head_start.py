"""A probe's first step, begun before the store is asked: its watchdog and its environment.

Creating the environment needs only the installer, the interpreter and a run
folder. So `envprobe probe` begins it first, under the probe's one watchdog
(`processes.supervised`), and reads pip's configuration, opens the store and
asks it while `uv venv` runs. `run_probe` takes the environment over on a
store miss. On a store hit, a bad request, or a request that turns out to
need another installer or interpreter, it is discarded: the watchdog ends
its command, then the run folder is removed, as for any probe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from envprobe.errors import UsageError
from envprobe.probing import processes
from envprobe.probing.backends import Environment, backend_for
from envprobe.probing.run_folders import run_directory

__all__ = ["HeadStart", "head_start"]


@dataclass
class HeadStart:
    """An environment being created in `run_dir` by `installer` for `executable`, under
    `supervisor` (the watchdog every command of the block shares)."""

    installer: str
    executable: str
    run_dir: Path
    created: Callable[[], Environment]  # waits for the environment
    supervisor: processes.Supervisor
    taken: bool = False

    def take(self, installer: str, executable: str
             ) -> tuple[Path, Callable[[], Environment]] | None:
        """The run folder and the environment's waiter, once, when the probe needs this one."""
        if self.taken or (installer, executable) != (self.installer, self.executable):
            return None
        self.taken = True
        return self.run_dir, self.created


@contextlib.contextmanager
def head_start(installer: str, executable: str,
               supervisor: processes.Supervisor | None = None) -> Iterator[HeadStart | None]:
    """Begin the environment `installer` makes for the interpreter at `executable`; None
    when the choice is not usable (the probe then says why, as without a head start).

    Every command of the block's probes shares the watchdog started here (or
    `supervisor`'s, begun by the caller earlier still; it ends with the block).
    """
    supervisor = supervisor or processes.Supervisor()
    supervisor.start()  # its start overlaps the run folder's and the backend's
    try:
        try:
            backend = backend_for(installer)
        except UsageError:
            backend = None
        if backend is None:
            with processes.supervised(supervisor):
                yield None
            return
        with run_directory() as run_dir:
            try:
                with processes.supervised(supervisor):
                    created = backend.begin_create(run_dir / "env", executable)
                    yield HeadStart(backend.name, executable, run_dir, created, supervisor)
            finally:  # the watchdog (and what it still runs) ends before the folder goes
                supervisor.close()
    finally:
        supervisor.close()
