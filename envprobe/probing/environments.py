"""Throwaway environments: create, install a pin set, list what landed, remove.

Every environment lives in a run folder `env_root()/run-<pid>-<random>/` that
is removed when the probe ends, however it ends; a later run removes the
folders of runs whose process is gone. Two backends share one interface:
virtualenv + pip, and uv (`uv venv` + `uv pip install`) when it is installed.
Heavy requirements can live in a shared base layer installed once per
interpreter and index, so a probe does not reinstall an 800 MB wheel.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envprobe.errors import EnvironmentSetupError, UsageError
from envprobe.model.pins import normalize_requirement
from envprobe.paths import cache_dir, env_root
from envprobe.probing import processes

if TYPE_CHECKING:
    from envprobe.sources.config import IndexConfig

__all__ = [
    "Environment",
    "InstallOptions",
    "Interpreter",
    "attach_base_layer",
    "create_environment",
    "find_uv",
    "install",
    "installed_distributions",
    "interpreter",
    "pip_project_check",
    "resolve_installer",
    "run_directory",
    "sweep_stale_runs",
]

INSTALLERS = ("auto", "pip", "uv")
_RUN_PREFIX = "run-"
_OWNER_FILE = "owner.json"
_BASE_PTH = "_envprobe_base.pth"
# Variables that would let the host's packages leak into the environment.
_LEAKY_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")


@dataclass(frozen=True)
class InstallOptions:
    """How a pin set is installed; every field changes what a probe can find."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    allow_sdist: bool = False
    installer: str = "auto"
    no_build_isolation: tuple[str, ...] = ()
    pre_install: tuple[str, ...] = ()
    base: tuple[str, ...] = ()

    def key(self) -> dict:
        """The options as stored with a probe; "auto" is resolved to the installer that runs."""
        return {
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "no_index": self.no_index,
            "allow_sdist": self.allow_sdist,
            "installer": resolve_installer(self.installer),
            "no_build_isolation": sorted({canonicalize_name(n) for n in self.no_build_isolation}),
            "pre_install": sorted(normalize_requirement(r) for r in self.pre_install),
            "base": sorted(normalize_requirement(r) for r in self.base),
        }

    @classmethod
    def from_sources(cls, config: IndexConfig, **rest: Any) -> InstallOptions:
        """Options naming the sources pip would use, so uv and the store see the same ones."""
        return cls(
            index_url=config.index_url,
            extra_index_urls=config.extra_index_urls,
            find_links=config.find_links,
            no_index=config.no_index,
            **rest,
        )

    def index_args(self) -> list[str]:
        """Index and find-links flags; pip and uv spell them the same."""
        args = ["--no-index"] if self.no_index else []
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str  # "3.11.7"
    platform: str  # "linux-x86_64"


@dataclass(frozen=True)
class Environment:
    root: Path
    python: str
    site_packages: Path
    installer: str  # "pip" | "uv"
    interpreter: Interpreter


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


def resolve_installer(choice: str) -> str:
    """"pip" or "uv" for a user's choice; "auto" means uv when it is installed."""
    if choice not in INSTALLERS:
        raise UsageError(f"unknown installer {choice!r}; choose one of {', '.join(INSTALLERS)}")
    if choice == "auto":
        return "uv" if find_uv() else "pip"
    if choice == "uv" and not find_uv():
        raise UsageError("installer 'uv' requested but uv is not installed (pip install uv)")
    return choice


_INTERPRETER_QUERY = (
    "import json, platform, sys, sysconfig; print(json.dumps({'executable': sys.executable,"
    " 'version': platform.python_version(), 'platform': sysconfig.get_platform()}))"
)


@cache
def interpreter(python: str) -> Interpreter:
    """Version and platform of `python` (a path or a name on PATH), asked once per run."""
    if python == sys.executable:
        return Interpreter(sys.executable, platform.python_version(), sysconfig.get_platform())
    path = shutil.which(python) or python
    try:
        answer = subprocess.run(
            [path, "-I", "-c", _INTERPRETER_QUERY],
            capture_output=True, text=True, timeout=60, check=True,
        )
        info = json.loads(answer.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        raise EnvironmentSetupError(f"no working Python interpreter at {python!r}") from None
    return Interpreter(info["executable"], info["version"], info["platform"])


def clean_environ() -> dict[str, str]:
    """The caller's environment without what would leak host packages in."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_VARIABLES}
    env["PYTHONNOUSERSITE"] = "1"
    return env


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
        shutil.rmtree(path, ignore_errors=True)


def sweep_stale_runs(root: Path | None = None) -> list[Path]:
    """Remove run folders whose owning process is gone; returns what was removed."""
    root = env_root() if root is None else root
    removed = []
    for path in root.glob(f"{_RUN_PREFIX}*"):
        match = re.fullmatch(rf"{_RUN_PREFIX}(\d+)-.+", path.name)
        if not match or not path.is_dir() or _owner_alive(path, int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


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


def create_environment(path: Path, interp: Interpreter, installer: str) -> Environment:
    """A new empty environment at `path` for `interp`: virtualenv for pip, `uv venv` for uv."""
    if installer == "uv":
        done = processes.run(
            [find_uv() or "uv", "venv", "--quiet", "--no-python-downloads",
             "--python", interp.executable, str(path)],
            log_path=path.parent / "create.log", env=clean_environ(),
        )
        if not done.ok:
            raise EnvironmentSetupError(f"uv venv failed: {_last_line(done.output)}")
        python = path / "bin" / "python"
        site_packages = next(path.glob("lib/python*/site-packages"))
    else:
        import virtualenv

        try:
            # The app-data seeder links pip from a per-user cache: no download, no copy.
            session = virtualenv.cli_run(
                [str(path), "--python", interp.executable, "--no-setuptools",
                 "--no-periodic-update", "--quiet"],
                setup_logging=False,
            )
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - virtualenv raises many kinds
            raise EnvironmentSetupError(f"virtualenv failed: {exc}") from None
        python = session.creator.exe
        site_packages = session.creator.purelib
    return Environment(path, str(python), Path(site_packages), installer, interp)


def _install_command(env: Environment, requirements: Sequence[str], options: InstallOptions,
                     *, target: Path | None = None, extra: Sequence[str] = ()) -> list[str]:
    binary = [] if options.allow_sdist else ["--only-binary", ":all:"]
    if env.installer == "uv":
        argv = [find_uv() or "uv", "pip", "install", "--python", env.python]
        if options.extra_index_urls and not options.no_index:
            # The sources have pip's meaning: every index is searched for every
            # project. uv's default stops at the first index that knows a name.
            argv += ["--index-strategy", "unsafe-best-match"]
        for name in options.no_build_isolation:
            argv += ["--no-build-isolation-package", name]
    else:
        argv = [env.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    if target is not None:
        argv += ["--target", str(target)]
        if env.installer == "uv":
            argv.append("--compile-bytecode")  # pip compiles by default; the layer keeps it
    return argv + list(extra) + binary + options.index_args() + list(requirements)


def install(env: Environment, requirements: Sequence[str], options: InstallOptions,
            log_dir: Path) -> processes.Completed:
    """Install `options.pre_install`, then `requirements`; the installer resolves the rest.

    pip can only turn build isolation off for a whole install, so the projects
    that need it off are built first, alone, on top of the pre-installed
    build requirements (a requirement the set pins is pre-installed at its
    pin); the main install then finds them already there.
    """
    steps: list[tuple[str, list[str], list[str]]] = []
    unisolated = options.no_build_isolation if env.installer == "pip" else ()
    pinned = {canonicalize_name(Requirement(r).name): r for r in requirements}
    if options.pre_install:
        pre_install = [pinned.get(canonicalize_name(Requirement(r).name), r)
                       for r in options.pre_install]
        steps.append(("pre-install", pre_install, []))
    if unisolated:
        projects = [pinned.get(canonicalize_name(name), name) for name in unisolated]
        steps.append(("build-without-isolation", projects, ["--no-build-isolation", "--no-deps"]))
    steps.append(("install", [*options.base, *requirements], []))
    done = None
    for label, reqs, extra in steps:
        done = processes.run(
            _install_command(env, reqs, options, extra=extra),
            log_path=log_dir / f"{label}.log", cwd=env.root.parent, env=clean_environ(),
        )
        if not done.ok:
            break
    assert done is not None
    return done


def layer_key(interp: Interpreter, options: InstallOptions) -> str:
    """Which base layer fits: same interpreter, platform, base set, index and binary policy."""
    parts = {
        "python": interp.version,
        "platform": interp.platform,
        "base": sorted(normalize_requirement(r) for r in options.base),
        "index": options.index_args(),
        "allow_sdist": options.allow_sdist,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def attach_base_layer(env: Environment, options: InstallOptions,
                      log_dir: Path) -> processes.Completed | None:
    """Make `options.base` installed in `env` from a shared layer; build the layer once.

    Returns the build's result when this call built it (a failed build is an
    install failure of the probe), None when the layer was already there.
    pip counts packages on a `.pth` path as installed, so a `.pth` line is
    enough. uv only looks in site-packages, so for uv the layer's files are
    hard-linked there: no copy, and the bytecode compiled into the layer
    comes along (uv compiles none at install, and torch then takes seconds
    to import).
    """
    if not options.base:
        return None
    layers = cache_dir() / "layers"
    layers.mkdir(parents=True, exist_ok=True)
    key = layer_key(env.interpreter, options)
    final = layers / key
    built = None
    with open(layers / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same layer
        if not (final / "layer.json").exists():
            built = _build_layer(env, options, final, log_dir)
            if not built.ok:
                return built
    if env.installer == "uv":
        _link_tree(final / "site", env.site_packages)
    else:
        (env.site_packages / _BASE_PTH).write_text(f"{final / 'site'}\n")
    return built


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of `source` into `target` (copy across file systems)."""
    for folder, subfolders, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        if relative == Path("."):
            subfolders[:] = [d for d in subfolders if d != "bin"]  # console scripts of --target
        (target / relative).mkdir(exist_ok=True)
        for name in files:
            destination = target / relative / name
            if destination.exists():
                continue
            try:
                os.link(Path(folder) / name, destination)
            except OSError:
                shutil.copy2(Path(folder) / name, destination)


def _build_layer(env: Environment, options: InstallOptions, final: Path,
                 log_dir: Path) -> processes.Completed:
    building = final.with_name(f"{final.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        done = processes.run(
            _install_command(env, options.base, options, target=building / "site"),
            log_path=log_dir / "base-layer.log", cwd=env.root.parent, env=clean_environ(),
        )
        if done.ok:
            (building / "layer.json").write_text(
                json.dumps({"base": list(options.base), "python": env.interpreter.version,
                            "platform": env.interpreter.platform}, indent=1)
            )
            shutil.rmtree(final, ignore_errors=True)
            os.rename(building, final)
        return done
    finally:
        shutil.rmtree(building, ignore_errors=True)


_LIST_DISTRIBUTIONS = (
    "import json\nfrom importlib import metadata\n"
    "print(json.dumps([(d.metadata['Name'], d.version) for d in metadata.distributions()]))"
)


def installed_distributions(env: Environment, requested: set[str] = frozenset()) -> dict[str, str]:
    """name -> version of everything importable in `env` (the base layer included).

    The installer's own seed (pip in a virtualenv) is left out unless requested.
    """
    answer = subprocess.run(
        [env.python, "-I", "-c", _LIST_DISTRIBUTIONS],
        capture_output=True, text=True, env=clean_environ(), check=True, timeout=120,
    )
    installed: dict[str, str] = {}
    for name, version in json.loads(answer.stdout):
        if name:
            installed.setdefault(canonicalize_name(name), version)  # first on sys.path wins
    if env.installer == "pip" and "pip" not in requested:
        installed.pop("pip", None)
    return dict(sorted(installed.items()))


def pip_project_check(env: Environment, name: str, options: InstallOptions,
                      log_dir: Path) -> processes.Completed:
    """pip's debug log of looking for project `name`: every file it found or skipped.

    pip answers "from versions: none" both for an unknown project and for one
    whose files all target another Python or platform (and, without retries,
    for an index it could not reach); only its debug log tells them apart.
    """
    argv = [env.python, "-m", "pip", "download", "--no-deps", "-vv", "--disable-pip-version-check",
            "--no-input", "--only-binary", ":all:", "--dest", str(log_dir / "download-check"),
            *options.index_args(), name]
    return processes.run(argv, log_path=log_dir / "project-check.log", cwd=log_dir,
                         env=clean_environ())


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
