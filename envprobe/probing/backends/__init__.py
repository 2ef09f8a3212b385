"""Installer backends: one per installer, each behind the same small protocol.

A backend knows how to make an environment, which commands install into it
(and into a base layer), how a base layer is attached, which packages it
seeds, and how to read its own log into a typed failure. Callers never ask
which installer they have; a third installer is one more module here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from envprobe.errors import UsageError
from envprobe.model.choices import AUTO, INSTALLERS
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure
from envprobe.model.requests import InstallOptions
from envprobe.probing.backends.common import Environment, InstallStep
from envprobe.probing.backends.pip import PipBackend
from envprobe.probing.backends.uv import UvBackend

__all__ = ["INSTALLERS", "Environment", "InstallStep", "InstallerBackend", "backend_for"]


class InstallerBackend(Protocol):
    """What the environment code asks of an installer."""

    name: str  # recorded with every probe and part of its key
    seed: frozenset[str]  # distributions a new environment starts with; listed only if requested

    def create(self, path: Path, interpreter: TargetInterpreter) -> Environment:
        """A new, empty environment at `path` for `interpreter`."""
        ...

    def begin_create(self, path: Path, executable: str) -> Callable[[], Environment]:
        """Begin `create` for the interpreter at `executable`; what is returned waits for it.

        Where the installer is a command it runs under the probe's watchdog
        while the caller goes on (`head_start`); otherwise it runs when waited for.
        """
        ...

    def install_steps(self, env: Environment, requirements: Sequence[str],
                      options: InstallOptions) -> list[InstallStep]:
        """The commands, in order, that install `options.pre_install`, then the set (with
        `options.base`) and build `options.no_build_isolation` without isolation."""
        ...

    def target_command(self, env: Environment, requirements: Sequence[str],
                       options: InstallOptions, target: Path, *, dependencies: bool = True,
                       compile_bytecode: bool = True) -> tuple[str, ...]:
        """Install `requirements` into the plain folder `target` (a base layer, or one
        release alone for a micro-probe: no dependencies, nothing compiled)."""
        ...

    def attach_layer(self, env: Environment, site: Path) -> None:
        """Make the base layer at `site` count as installed in `env`, without reinstalling it."""
        ...

    def failure_from_log(self, log: str) -> Failure:
        """The failure a non-zero install shows; `install_failed` when no known shape fits."""
        ...

    def unknown_project(self, env: Environment, name: str, log: str, options: InstallOptions,
                        log_dir: Path) -> bool:
        """Whether no source knows project `name` at all (not: no file of it fits here).

        May run the installer again to tell; raises `IndexUnreachable` when
        that shows the sources cannot be reached.
        """
        ...


# Each class's `locate()` gives a backend when its tool is installed, else None.
# In order of preference: "auto" takes the first one installed.
_BACKENDS = (UvBackend, PipBackend)


def backend_for(choice: str) -> InstallerBackend:
    """The backend for a user's choice; "auto" means uv when it is installed, else pip."""
    for backend in _BACKENDS:
        if choice in (AUTO, backend.name) and (located := backend.locate()) is not None:
            return located
        if choice == backend.name:
            raise UsageError(f"installer {choice!r} requested but it is not installed"
                             f" (pip install {choice})")
    raise UsageError(f"unknown installer {choice!r}; choose one of {', '.join(INSTALLERS)}")
