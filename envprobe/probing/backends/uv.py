"""The uv backend: `uv venv`, `uv pip install`, and uv's own wording.

uv turns build isolation off per project, so no separate build step is
needed; it looks for installed packages only in site-packages, so a base
layer is hard-linked in; and it says plainly when a project exists nowhere.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from envprobe.errors import EnvironmentSetupError
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure
from envprobe.model.requests import InstallOptions
from envprobe.probing import processes, sealed
from envprobe.probing.backends import logs
from envprobe.probing.backends.common import Environment, InstallStep, at_pins, source_args
from envprobe.probing.backends.venv_dir import write_venv
from envprobe.probing.evidence import project_name

__all__ = ["UvBackend", "find_uv", "unknown_in_log"]

_BUILD_PACKAGE = re.compile(r"Failed to (?:download and )?build `([^`]+)`")
_NO_SOLUTION = "No solution found when resolving"
_UNKNOWN = re.compile(
    r"Because ([A-Za-z0-9._-]+) was not found in the (?:package registry|provided package locations)"
)
_NO_VERSION = re.compile(r"there is no version of ([^\s,]+)")
_NO_FILE = re.compile(
    r"([A-Za-z0-9._-]+)==\S+ has no (?:wheels with a matching|usable wheels|source distribution)"
)
_WRONG_PYTHON = re.compile(
    r"current Python version \(\S+\) does not satisfy (\S+) and ([A-Za-z0-9._-]+)"
)
_SPECIFIER = r"(?:===|==|!=|~=|<=|>=|<|>)[^\s,]+"
# "lib>=1.5 depends on helper<2", "all versions of lib depend on ...", "lib==1.5 depends on ...".
_DEPENDS = re.compile(
    rf"(?:all versions of )?(?P<who>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?"
    rf"(?P<versions>{_SPECIFIER}(?:,{_SPECIFIER})*)? depends? on (?P<req>.+?)(?=, | and |\. |\.$|$)"
)
_REQUIRED = re.compile(r"you require (.+?)(?=, we can conclude|\. |\.$|$)")


def find_uv() -> str | None:
    """The uv binary: the one shipped with the `uv` package, else one on PATH."""
    try:
        import uv
    except ImportError:
        return shutil.which("uv")
    try:
        return uv.find_uv_bin()
    except FileNotFoundError:
        return shutil.which("uv")


class UvBackend:
    """`uv venv` + `uv pip install`, when uv is installed."""

    name = "uv"
    seed: frozenset[str] = frozenset()  # `uv venv` seeds nothing

    def __init__(self, binary: str = "uv") -> None:
        self.binary = binary

    @classmethod
    def locate(cls) -> UvBackend | None:
        binary = find_uv()
        return cls(binary) if binary else None

    def create(self, path: Path, interpreter: TargetInterpreter) -> Environment:
        return self.begin_create(path, interpreter.executable)()

    def begin_create(self, path: Path, executable: str) -> Callable[[], Environment]:
        """`uv venv`, handed to the probe's watchdog: it runs while the caller goes on.

        For envprobe's own interpreter the environment is written here instead
        (`venv_dir`): the same layout, without a process start.
        """
        site_packages = write_venv(path, executable)
        if site_packages is not None:
            env = Environment(path, str(path / "bin" / "python"), site_packages)
            return lambda: env
        pending = processes.submit(
            [self.binary, "venv", "--quiet", "--no-python-downloads",
             "--python", executable, str(path)],
            log_path=path.parent / "create.log", env=sealed.installer_environ(path.parent),
        )

        def created() -> Environment:
            done = pending.wait()
            if not done.ok:
                raise EnvironmentSetupError(f"uv venv failed: {logs.first_error(done.output)}")
            return Environment(path, str(path / "bin" / "python"),
                               next(path.glob("lib/python*/site-packages")))

        return created

    def install_steps(self, env: Environment, requirements: Sequence[str],
                      options: InstallOptions) -> list[InstallStep]:
        steps = []
        if options.pre_install:
            steps.append(InstallStep("pre-install", self._install(
                env, at_pins(options.pre_install, requirements), options)))
        steps.append(InstallStep("install", self._install(
            env, [*options.base, *requirements], options)))
        return steps

    def target_command(self, env: Environment, requirements: Sequence[str],
                       options: InstallOptions, target: Path, *, dependencies: bool = True,
                       compile_bytecode: bool = True) -> tuple[str, ...]:
        # pip compiles bytecode by default and uv does not; the layer keeps it,
        # or torch then takes seconds to import in every probe.
        extra = ([] if dependencies else ["--no-deps"]) + (
            ["--compile-bytecode"] if compile_bytecode else [])
        return self._install(env, requirements, options, "--target", str(target), *extra)

    def attach_layer(self, env: Environment, site: Path) -> None:
        """Hard-link every file of the layer into site-packages (copy across file systems)."""
        for folder, subfolders, files in os.walk(site):
            relative = Path(folder).relative_to(site)
            if relative == Path("."):
                subfolders[:] = [d for d in subfolders if d != "bin"]  # console scripts of --target
            (env.site_packages / relative).mkdir(exist_ok=True)
            for name in files:
                destination = env.site_packages / relative / name
                if destination.exists():
                    continue
                try:
                    os.link(Path(folder) / name, destination)
                except OSError:
                    shutil.copy2(Path(folder) / name, destination)

    def failure_from_log(self, log: str) -> Failure:
        return logs.first_failure(_strip_prefixes(log), log,
                                  (_build_failure, _conflict, _no_distribution))

    def unknown_project(self, env: Environment, name: str, log: str, options: InstallOptions,
                        log_dir: Path) -> bool:
        return unknown_in_log(log, name)

    def _install(self, env: Environment, requirements: Sequence[str], options: InstallOptions,
                 *extra: str) -> tuple[str, ...]:
        argv = [self.binary, "pip", "install", "--python", env.python]
        if options.extra_index_urls and not options.no_index:
            # The sources have pip's meaning: every index is searched for every
            # project. uv's default stops at the first index that knows a name.
            argv += ["--index-strategy", "unsafe-best-match"]
        for name in options.no_build_isolation:
            argv += ["--no-build-isolation-package", name]
        return (*argv, *extra, *source_args(options), *requirements)


def unknown_in_log(log: str, name: str) -> bool:
    """Whether uv's log says no source knows project `name` at all."""
    text = _strip_prefixes(log)
    return any(canonicalize_name(m) == name for m in _UNKNOWN.findall(text))


def _strip_prefixes(log: str) -> str:
    """uv draws its error chain with `cause:` or box characters; keep the words."""
    return re.sub(r"^\s*(?:cause:|[│├╰─▶×]+)\s*", "", log, flags=re.MULTILINE)


def _build_failure(log: str) -> Failure | None:
    if not logs.is_build_failure(log):
        return None
    match = _BUILD_PACKAGE.search(log)
    if match is None:
        return logs.build_failed(log, None)
    built = match.group(1)  # `name==version`, or a bare name
    version = built.split("==", 1)[1].strip() if "==" in built else None
    return logs.build_failed(log, project_name(built), version)


def _conflict(log: str) -> Failure | None:
    if _NO_SOLUTION not in log or _missing_distribution(log):
        return None
    words = " ".join(log.split())
    requested = [r for group in _REQUIRED.findall(words) for r in group.split(" and ")]
    demands = [logs.demand(m["req"], m["who"], m["versions"] or "") for m in _DEPENDS.finditer(words)]
    demands += [logs.demand(text) for text in requested]
    return logs.declared_conflict(log, demands)


def _missing_distribution(log: str) -> tuple[str, str] | None:
    """(project, reason) when uv's chain starts from a missing distribution."""
    if match := _UNKNOWN.search(log):
        return match.group(1), "not found in any configured index or find-links folder"
    if match := _NO_VERSION.search(log):
        return match.group(1), f"there is no version of {match.group(1)}"
    if match := _NO_FILE.search(log):
        return match.group(1), "no file fits this Python or platform"
    if match := _WRONG_PYTHON.search(log):
        return match.group(2), f"it requires {match.group(1)}"
    return None


def _no_distribution(log: str) -> Failure | None:
    found = _missing_distribution(" ".join(log.split()))
    if found is None:
        return None
    requirement, reason = found
    return logs.no_distribution(log, requirement, reason)
