"""The one way into a throwaway environment: run folder, environment, base layer, install.

`prepare` does every step of getting a pin set installed and hands back one
typed result, the ready environment or the install failure that stopped it;
the run folder and everything in it are removed when the `with` block ends,
however it ends (an environment begun by `head_start`: when its block ends).
Which installer does the work is the backend's business.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from envprobe.errors import IndexUnreachable, UnknownPackage
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure, FailureKind
from envprobe.model.pins import parse_requirements, project_names
from envprobe.model.requests import ProbeRequest
from envprobe.probing import processes, sealed
from envprobe.probing.backends import Environment, InstallerBackend
from envprobe.probing.backends.logs import index_unreachable
from envprobe.probing.evidence import excerpt
from envprobe.probing.installed import installed_distributions
from envprobe.probing.layers import attach_base_layer
from envprobe.probing.phases import LogWatcher
from envprobe.probing.run_folders import run_directory

if TYPE_CHECKING:
    from envprobe.probing.head_start import Begun

__all__ = ["Prepared", "prepare"]


@dataclass(frozen=True)
class Prepared:
    """A throwaway environment with the set installed, or the install failure that stopped it."""

    env: Environment
    run_dir: Path  # the run's own folder: logs, the probe code, the child's outcome
    seconds: dict[str, float] = field(default_factory=dict)  # create, base, install
    command: str = ""  # the last installer command that ran
    installed: dict[str, str] = field(default_factory=dict)  # name -> version, when listed
    failure: Failure | None = None
    log_excerpt: str = ""
    hidden: frozenset[str] = frozenset()  # seeded, not asked for: left out of `installed`


@contextlib.contextmanager
def prepare(request: ProbeRequest, interpreter: TargetInterpreter, backend: InstallerBackend,
            progress: Callable[[str], None], *, list_installed: bool = True,
            begun: Begun | None = None) -> Iterator[Prepared]:
    """An environment for `interpreter` with `request`'s set installed by `backend`.

    Without `list_installed` the caller lists what landed itself (a probe's
    child does, before its code: one process fewer). `begun` is an
    environment whose creation (and perhaps install) began earlier
    (`head_start`); its run folder is its owner's to remove. A failed
    install is a result, not an exception. Raised instead: a requested
    project that exists nowhere (`UnknownPackage`), sources that cannot be
    reached (`IndexUnreachable`), an environment that cannot be created
    (`EnvironmentSetupError`).
    """
    if begun is not None:
        yield _prepare(begun.run_dir, request, interpreter, backend, progress, list_installed,
                       begun.created, begun.install)
        return
    with run_directory() as run_dir:
        yield _prepare(run_dir, request, interpreter, backend, progress, list_installed,
                       lambda: backend.create(run_dir / "env", interpreter))


def _prepare(run_dir: Path, request: ProbeRequest, interpreter: TargetInterpreter,
             backend: InstallerBackend, say: Callable[[str], None],
             list_installed: bool, created: Callable[[], Environment],
             begun_install: tuple[tuple[str, ...], processes.Pending] | None = None) -> Prepared:
    options = request.options
    seconds: dict[str, float] = {}
    say(f"creating a {backend.name} environment for Python {interpreter.version}")
    started = time.perf_counter()
    env = created()
    seconds["create"] = time.perf_counter() - started  # with a head start: what was left of it

    if options.base:
        say(f"attaching the base layer ({', '.join(options.base)})")
        started = time.perf_counter()
        built = attach_base_layer(env, backend, interpreter, options, run_dir)
        seconds["base"] = time.perf_counter() - started
        if built is not None and not built.ok:
            return _failed(built, env, backend, request, run_dir, seconds)

    say(f"installing {len(request.requirements)} requirement(s) with {backend.name}")
    done = None
    seconds["install"] = 0.0
    for step in backend.install_steps(env, request.requirements, options):
        log_path = run_dir / f"{step.label}.log"
        on_tick = LogWatcher(log_path, step.label, say).tick
        if begun_install is not None and begun_install[0] == step.argv:
            done = begun_install[1].wait(on_tick)  # handed to the watchdog by `head_start`
        else:
            done = processes.run(step.argv, log_path=log_path, cwd=run_dir,
                                 env=sealed.installer_environ(run_dir, options.pass_env),
                                 on_tick=on_tick)
        seconds["install"] += done.seconds
        if not done.ok:
            return _failed(done, env, backend, request, run_dir, seconds)
    assert done is not None  # every backend's last step installs the set
    hidden = backend.seed - project_names(parse_requirements(request.requirements))
    installed = (installed_distributions(env.python, run_dir, options.pass_env, hidden)
                 if list_installed else {})
    return Prepared(env, run_dir, seconds, shlex.join(done.argv), installed, hidden=hidden)


def _failed(done: processes.Completed, env: Environment, backend: InstallerBackend,
            request: ProbeRequest, run_dir: Path, seconds: dict[str, float]) -> Prepared:
    """The typed install failure; an unreachable index or an unknown project is raised."""
    failure = backend.failure_from_log(done.output)
    gave_up = failure.kind in (FailureKind.NO_DISTRIBUTION, FailureKind.INSTALL_FAILED)
    if gave_up and (reason := index_unreachable(done.output)):
        raise IndexUnreachable(f"the package index could not be reached ({reason})")
    requested = project_names(parse_requirements([*request.requirements, *request.options.base]))
    if (failure.kind is FailureKind.NO_DISTRIBUTION and failure.name in requested
            and backend.unknown_project(env, failure.name, done.output, request.options, run_dir)):
        raise UnknownPackage(
            f"no package named {failure.name!r} on the package index or find-links folders"
        )
    return Prepared(env, run_dir, seconds, shlex.join(done.argv), failure=failure,
                    log_excerpt=excerpt(done.output))
