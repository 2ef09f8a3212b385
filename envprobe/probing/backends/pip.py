"""The pip backend: virtualenv environments, `pip install`, and pip's own wording.

pip can only turn build isolation off for a whole install, so the projects
that need it off are built first, alone; it counts a `.pth` path as installed,
so a base layer is attached with one line; and its "from versions: none"
covers both an unknown project and one with no file for this Python, so
only its debug log of a download tells them apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from envprobe.errors import EnvironmentSetupError, IndexUnreachable
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure
from envprobe.model.requests import InstallOptions
from envprobe.probing import processes, sealed
from envprobe.probing.backends import logs
from envprobe.probing.backends.common import Environment, InstallStep, at_pins, source_args
from envprobe.probing.evidence import project_name

__all__ = ["PipBackend", "lists_files_of", "unknown_in_log"]

_BASE_PTH = "_envprobe_base.pth"
_BUILD_PACKAGE = (
    re.compile(r"Failed building wheel for ([A-Za-z0-9._-]+)"),
    re.compile(r"Failed to build '([A-Za-z0-9._-]+)'"),
    re.compile(r"for ([A-Za-z0-9._-]+) did not run successfully"),
    re.compile(r"based projects \(([A-Za-z0-9._-]+)\)"),
)
_COLLECTING = re.compile(r"^\s*Collecting ([A-Za-z0-9._-]+)", re.MULTILINE)
_CONFLICT = re.compile(r"ResolutionImpossible|conflicting dependencies")
_CAUSE = re.compile(
    r"^\s*(?:The user requested(?: \(constraint\))?|(?P<who>\S+) (?P<version>\S+) depends on)"
    r" (?P<req>.+)$"
)
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_NO_VERSION = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)(?: \(from [^)]*\))?"
    r" \(from versions: ([^)]*)\)"
)
_WRONG_PYTHON = re.compile(r"Package '([^']+)' requires a different Python: (.+)$")


class PipBackend:
    """virtualenv + pip, always available (both are envprobe's dependencies)."""

    name = "pip"
    seed = frozenset({"pip"})  # virtualenv seeds pip into every environment

    @classmethod
    def locate(cls) -> PipBackend:
        return cls()

    def create(self, path: Path, interpreter: TargetInterpreter) -> Environment:
        return self.begin_create(path, interpreter.executable)()

    def begin_create(self, path: Path, executable: str) -> Callable[[], Environment]:
        """virtualenv runs in this process: nothing begins now, it is created when first
        waited for (once: a second wait, by the install begun early and then by the
        probe, must not make it again over what was installed).

        The app-data seeder links pip from a per-user cache.
        """
        made: list[Environment] = []

        def created() -> Environment:
            if not made:
                made.append(_virtualenv(path, executable))
            return made[0]

        return created

    def install_steps(self, env: Environment, requirements: Sequence[str],
                      options: InstallOptions) -> list[InstallStep]:
        """Pre-install, then build the no-isolation projects alone, then install the set.

        The unisolated builds run on top of the pre-installed build
        requirements; the main install then finds those projects already there.
        """
        steps = []
        # No bytecode: the probe imports once, and compiling every module of every
        # package costs more than the import compiles (bench/bench_uv_bytecode.py).
        if options.pre_install:
            steps.append(InstallStep("pre-install", self._install(
                env, at_pins(options.pre_install, requirements), options, "--no-compile")))
        if options.no_build_isolation:
            steps.append(InstallStep("build-without-isolation", self._install(
                env, at_pins(options.no_build_isolation, requirements), options,
                "--no-build-isolation", "--no-deps", "--no-compile")))
        steps.append(InstallStep("install", self._install(
            env, [*options.base, *requirements], options, "--no-compile")))
        return steps

    def target_command(self, env: Environment, requirements: Sequence[str],
                       options: InstallOptions, target: Path, *, dependencies: bool = True,
                       compile_bytecode: bool = True) -> tuple[str, ...]:
        extra = ([] if dependencies else ["--no-deps"]) + ([] if compile_bytecode else ["--no-compile"])
        return self._install(env, requirements, options, "--target", str(target), *extra)

    def attach_layer(self, env: Environment, site: Path) -> None:
        (env.site_packages / _BASE_PTH).write_text(f"{site}\n")

    def failure_from_log(self, log: str) -> Failure:
        return logs.first_failure(log, log, (_build_failure, _conflict, _no_distribution))

    def unknown_project(self, env: Environment, name: str, log: str, options: InstallOptions,
                        log_dir: Path) -> bool:
        """Read the log; when it cannot tell, ask pip for every file of `name` it can see."""
        unknown = unknown_in_log(log, name)
        if unknown is not None:
            return unknown
        check = processes.run(
            [env.python, "-m", "pip", "download", "--no-deps", "-vv",
             "--disable-pip-version-check", "--no-input", "--only-binary", ":all:",
             "--dest", str(log_dir / "download-check"), *options.index_args(), name],
            log_path=log_dir / "project-check.log", cwd=log_dir,
            env=sealed.installer_environ(log_dir, options.pass_env),
        )
        if reason := logs.index_unreachable(check.output):
            raise IndexUnreachable(f"the package index could not be reached ({reason})")
        return not lists_files_of(check.output, name)

    def _install(self, env: Environment, requirements: Sequence[str], options: InstallOptions,
                 *extra: str) -> tuple[str, ...]:
        return (env.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                *extra, *source_args(options), *requirements)


def _virtualenv(path: Path, executable: str) -> Environment:
    """A new environment at `path` made by virtualenv, in this process."""
    import virtualenv

    try:
        session = virtualenv.cli_run(
            [str(path), "--python", executable, "--no-setuptools", "--no-periodic-update",
             "--quiet"],
            setup_logging=False,
        )
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - virtualenv raises many kinds
        raise EnvironmentSetupError(f"virtualenv failed: {exc}") from None
    return Environment(path, str(session.creator.exe), Path(session.creator.purelib))


def unknown_in_log(log: str, name: str) -> bool | None:
    """Whether pip's log shows no version of `name` anywhere; None when it cannot tell.

    "from versions: none" also covers files for another Python, unless pip
    listed what it ignored (and, without retries, an index it could not reach).
    """
    for requirement, versions in _NO_VERSION.findall(log):
        if project_name(requirement) == name and versions.strip() == "none":
            return None if "Ignored the following" not in log else False
    return False


def lists_files_of(log: str, name: str) -> bool:
    """Whether a (debug) installer log names any distribution file of project `name`."""
    wanted = canonicalize_name(name)
    for url in re.findall(r"(?:https?|file)://[^\s)]+", log):
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        try:
            if filename.endswith(".whl"):
                project = parse_wheel_filename(filename)[0]
            else:
                project = parse_sdist_filename(filename)[0]
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        if canonicalize_name(project) == wanted:
            return True
    return False


def _build_failure(log: str) -> Failure | None:
    if not logs.is_build_failure(log):
        return None
    package = next((project_name(m.group(1)) for pattern in _BUILD_PACKAGE
                    if (m := pattern.search(log))), None)
    return logs.build_failed(log, package or _last_collected(log))


def _last_collected(log: str) -> str | None:
    """The project pip was working on when the first build step failed.

    pip's "Getting requirements to build wheel did not run successfully" names
    no project; the `Collecting NAME` line just before it does.
    """
    collected = _COLLECTING.findall(log[:logs.first_build_error(log)])
    return project_name(collected[-1]) if collected else None


def _conflict(log: str) -> Failure | None:
    if not _CONFLICT.search(log):
        return None
    causes = [m for line in log.splitlines() if (m := _CAUSE.match(line))]
    demands = [logs.demand(m["req"], m["who"], f"=={m['version']}") for m in causes if m["who"]]
    demands += [logs.demand(m["req"]) for m in causes if not m["who"]]
    return logs.declared_conflict(log, demands)


def _no_distribution(log: str) -> Failure | None:
    if match := _WRONG_PYTHON.search(log):
        requirement, reason = match.group(1), f"it requires a different Python: {match.group(2)}"
    elif match := _NO_MATCH.search(log):
        requirement = match.group(1)
        versions = _NO_VERSION.search(log)
        reason = f"available versions: {versions.group(2)}" if versions else "no matching file"
    else:
        return None
    return logs.no_distribution(log, requirement, reason)
