"""A probe's first step, begun before the store is asked: its watchdog and its environment.

Creating the environment needs only the installer, the interpreter and a run
folder. So `envprobe probe` begins it first, under the probe's one watchdog
(`processes.supervised`), and reads pip's configuration, opens the store and
asks it while `uv venv` runs. A probe the store has no answer for (or one
run with `--refresh`) begins its install there too, before the rest of
envprobe is imported. `run_probe` takes the environment (and the
install) over on a store miss. On a store hit, a bad request, or a request
that turns out to need another installer, interpreter or install, it is
discarded: the watchdog ends its command, then the run folder is removed, as
for any probe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from envprobe.errors import UsageError
from envprobe.model.requests import InstallOptions
from envprobe.probing import processes, sealed
from envprobe.probing.backends import Environment, InstallerBackend, InstallStep, backend_for
from envprobe.probing.run_folders import run_directory

__all__ = ["Begun", "HeadStart", "head_start", "start_step"]


@dataclass(frozen=True)
class Begun:
    """What a probe takes over: the run folder, the environment's waiter and, when it was
    begun, the install (its command and what waits for it)."""

    run_dir: Path
    created: Callable[[], Environment]
    install: tuple[tuple[str, ...], processes.Pending] | None = None


@dataclass
class HeadStart:
    """An environment being created in `run_dir` by `backend` for `executable`, under
    `supervisor` (the watchdog every command of the block shares)."""

    backend: InstallerBackend
    executable: str
    run_dir: Path
    created: Callable[[], Environment]  # waits for the environment
    supervisor: processes.Supervisor
    taken: bool = False
    # The install begun (`begin_install`): its requirements, its options and the step.
    installing: tuple[tuple[str, ...], InstallOptions, InstallStep, processes.Pending] | None = None

    @property
    def installer(self) -> str:
        return self.backend.name

    def begin_install(self, requirements: Sequence[str], options: InstallOptions) -> None:
        """Hand the install of `requirements` to the watchdog now, for a probe the store
        has no answer for; only an install of one step (no base layer, no pre-install),
        which `run_probe` would run as it is."""
        options = replace(options, installer=self.installer)  # as `run_probe` keys it
        if self.installing is not None or options.base:
            return
        steps = self.backend.install_steps(self.created(), requirements, options)
        if len(steps) == 1:
            self.installing = (tuple(requirements), options, steps[0],
                               start_step(steps[0], self.run_dir, options.pass_env))

    def take(self, installer: str, executable: str, requirements: Sequence[str],
             options: InstallOptions) -> Begun | None:
        """What was begun, once, when the probe needs this one (and, if begun, this install)."""
        if self.taken or (installer, executable) != (self.installer, self.executable):
            return None
        install = None
        if self.installing is not None:
            wanted, begun_options, step, pending = self.installing
            if (wanted, begun_options) != (tuple(requirements), options):
                return None  # its environment gets another set: not this probe's
            install = step.argv, pending
        self.taken = True
        return Begun(self.run_dir, self.created, install)


def start_step(step: InstallStep, run_dir: Path, passed: Sequence[str]) -> processes.Pending:
    """`step` handed to the watchdog, logged in `run_dir`, with what an installer sees."""
    return processes.submit(step.argv, log_path=run_dir / f"{step.label}.log", cwd=run_dir,
                            env=sealed.installer_environ(run_dir, passed))


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
                    yield HeadStart(backend, executable, run_dir, created, supervisor)
            finally:  # the watchdog (and what it still runs) ends before the folder goes
                supervisor.close()
    finally:
        supervisor.close()
