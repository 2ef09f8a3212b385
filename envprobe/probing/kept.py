"""A kept environment: made at a folder the user names, installed into, and left there.

Probe environments live and die in run folders; `envprobe env` needs one the
user keeps. It is made by the same installer backend and installed with the
same steps a probe uses, so it is built the way the answer was proven. Logs
and the probe child's files go to a run folder of their own, so the user's
folder holds the environment and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from envprobe.errors import IndexUnreachable, UsageError
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure
from envprobe.model.pins import parse_requirements, project_names
from envprobe.model.requests import InstallOptions
from envprobe.probing import processes, sealed
from envprobe.probing.backends import Environment, InstallerBackend
from envprobe.probing.backends.logs import index_unreachable
from envprobe.probing.evidence import excerpt
from envprobe.probing.installed import installed_distributions
from envprobe.probing.probe import run_child

__all__ = ["Installed", "check_folder", "create_kept", "install_kept", "run_code"]

# What each backend step does, in the words the progress line shows.
_PHASES = {
    "pre-install": "pre-installing the learned build requirements",
    "build-without-isolation": "building without isolation",
    "install": "installing the set",
}


@dataclass(frozen=True)
class Installed:
    """What the install steps did: the commands, the set they left, or the failure."""

    steps: list[str] = field(default_factory=list)  # each command that ran, shell-quoted
    installed: dict[str, str] = field(default_factory=dict)
    failure: Failure | None = None
    seconds: float = 0.0


def check_folder(folder: Path, *, force: bool) -> None:
    """Refuse a folder that is not ours to fill; nothing is deleted here.

    `--force` replaces a virtual environment (a folder with `pyvenv.cfg`),
    never other files, and never the environment envprobe itself runs from.
    """
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    if not force:
        raise UsageError(f"{folder} is not empty: name a new folder, or pass --force to "
                         "replace the environment in it")
    if not (folder / "pyvenv.cfg").is_file():
        raise UsageError(f"{folder} is not empty and is not a virtual environment (no "
                         "pyvenv.cfg): --force replaces only an environment, nothing was deleted")
    if folder.is_symlink():
        raise UsageError(f"{folder} is a symbolic link: name the environment's own folder")
    if Path(sys.prefix).resolve() == folder.resolve():
        raise UsageError(f"{folder} is the environment envprobe runs from: name another folder")


def create_kept(folder: Path, interpreter: TargetInterpreter, backend: InstallerBackend, *,
                force: bool) -> Environment:
    """A new environment at `folder`, replacing an old one there when `force` allows it."""
    check_folder(folder, force=force)
    if Path(interpreter.executable).absolute().is_relative_to(folder.absolute()):
        raise UsageError(f"the scenario's Python {interpreter.executable} lives in {folder}: "
                         "name another folder")
    if folder.is_dir() and any(folder.iterdir()):
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _parent_untouched(folder.parent / "create.log"):
        return backend.create(folder, interpreter)


@contextlib.contextmanager
def _parent_untouched(log: Path) -> Iterator[None]:
    """Keep the user's folder as it was: uv's `create` writes its log beside the environment.

    A file of that name the user had is set aside and put back; one the
    backend wrote is removed.
    """
    aside = log.with_name(f".{log.name}.envprobe-{secrets.token_hex(4)}")
    had = log.exists()
    if had:
        os.replace(log, aside)
    try:
        yield
    finally:
        if had:
            os.replace(aside, log)
        else:
            log.unlink(missing_ok=True)


def install_kept(env: Environment, requirements: Sequence[str], options: InstallOptions,
                 backend: InstallerBackend, log_dir: Path,
                 say: Callable[[str], None]) -> Installed:
    """Run the backend's install steps for the set; a failed step is a result, not an error.

    Raised instead: sources that cannot be reached at all (`IndexUnreachable`).
    """
    steps: list[str] = []
    seconds = 0.0
    for step in backend.install_steps(env, requirements, options):
        say(_phase(step.label, options, len(requirements)))
        done = processes.run(step.argv, log_path=log_dir / f"{step.label}.log", cwd=log_dir,
                             env=sealed.installer_environ(log_dir, options.pass_env))
        steps.append(shlex.join(done.argv))
        seconds += done.seconds
        if not done.ok:
            if reason := index_unreachable(done.output):
                raise IndexUnreachable(f"the package index could not be reached ({reason})")
            failure = backend.failure_from_log(done.output)
            return Installed(steps, failure=_with_log(failure, done.output), seconds=seconds)
    requested = project_names(parse_requirements(requirements))
    installed = installed_distributions(env.python, log_dir, options.pass_env,
                                        hidden=backend.seed - requested)
    return Installed(steps, installed, seconds=seconds)


def _phase(label: str, options: InstallOptions, count: int) -> str:
    if label == "pre-install":
        return f"{_PHASES[label]}: {', '.join(options.pre_install)}"
    if label == "build-without-isolation":
        return f"building {', '.join(options.no_build_isolation)} without isolation"
    if label == "install":
        return f"installing the {count} pinned packages"
    return _PHASES.get(label, label)


def _with_log(failure: Failure, output: str) -> Failure:
    """The failure with the end of the installer's log, which a person needs to act on it."""
    if failure.log_excerpt:
        return failure
    return replace(failure, log_excerpt=excerpt(output))


def run_code(env: Environment, code: str, timeout: float, run_dir: Path,
             installed: dict[str, str], options: InstallOptions) -> tuple[Failure | None, float]:
    """Run `code` with the environment's Python through the probe child, as a probe does."""
    failure, done = run_child(env.python, run_dir, code, timeout, options, installed)
    return failure, done.seconds
