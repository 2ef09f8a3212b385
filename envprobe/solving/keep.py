"""Build the environment an answer names, in a folder the user keeps, and prove it there.

The set installed is the passing probe's installed set, every version exact:
the environment that was proven, not a new resolution. It goes in with the
steps the solve learned, as the solver's own probes did (each build rule's
requirement pre-installed, its project built without isolation), plus the
build requirements that project declares, which isolation used to supply:
that is what makes it work with an empty pip cache. Then the scenario's
code runs there, and the folder counts only if it passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envprobe.errors import UsageError
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import Failure, Status
from envprobe.model.pins import exact_requirement
from envprobe.model.requests import InstallOptions
from envprobe.model.result import SolveResult, Verdict
from envprobe.model.rules import InstallOption
from envprobe.model.scenario import Scenario
from envprobe.probing.backends import backend_for
from envprobe.probing.interpreter import describe
from envprobe.probing.kept import check_folder, create_kept, install_kept, run_code
from envprobe.probing.run_folders import run_directory
from envprobe.probing.store import Store
from envprobe.solving.builds import declared_build
from envprobe.solving.workflow import solve_scenario
from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex

__all__ = ["KeptEnvironment", "keep_environment"]

Events = Callable[[str, str], None]
_SHOWN_DIFFERENCES = 5


@dataclass
class KeptEnvironment:
    """The environment built at `folder`, and whether the scenario's code passed there."""

    scenario: str
    folder: Path
    python: str  # the environment's own interpreter
    installer: str
    answer: str  # "store": the store's last solve; "solve": solved first, for this command
    installed: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    failure: Failure | None = None  # an install failure, or the probe code's
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        status = Status.OK if self.ok else Status.FAILED
        return {
            "status": status.value,
            "scenario": self.scenario,
            "dir": str(self.folder),
            "python": self.python,
            "installer": self.installer,
            "answer": self.answer,
            "installed": dict(self.installed),
            "steps": list(self.steps),
            "probe": {"status": status.value,
                      "failure": self.failure.to_dict() if self.failure else None},
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def keep_environment(
    scenario: Scenario,
    folder: Path,
    *,
    force: bool = False,
    index_url: str | None = None,
    extra_index_urls: Iterable[str] = (),
    find_links: Iterable[str] = (),
    no_index: bool | None = None,
    installer: str | None = None,
    store_path: Path | None = None,
    events: Events | None = None,
) -> KeptEnvironment:
    """Build the scenario's answer at `folder` (solving first when the store has none).

    Raised, as one-line `EnvprobeError`s: a folder that is not ours to fill,
    a verdict other than solved, an answer proven on another Python.
    """
    say = events or (lambda kind, text: None)
    folder = folder.absolute()  # installers run from a log folder; the user sees it whole
    check_folder(folder, force=force)  # before a solve: a refused folder costs nothing
    started = time.perf_counter()
    sources = {"index_url": index_url, "extra_index_urls": tuple(extra_index_urls),
               "find_links": tuple(find_links), "no_index": no_index}
    result, answer = _answer(scenario, store_path, installer, sources, say)
    seconds = {"solve": time.perf_counter() - started} if answer == "solve" else {}
    interpreter = describe(scenario.python)
    _check_answer(result, scenario, interpreter)
    backend = backend_for(installer or result.installer or scenario.installer)
    options = _options(result, scenario, backend.name, sources)
    requirements = [exact_requirement(name, version)
                    for name, version in sorted(result.installed.items())]

    with run_directory() as run_dir:
        say("phase", f"creating a {backend.name} environment at {folder}")
        begun = time.perf_counter()
        env = create_kept(folder, interpreter, backend, force=force)
        seconds["create"] = time.perf_counter() - begun
        done = install_kept(env, requirements, options, backend, run_dir,
                            lambda text: say("phase", text))
        seconds["install"] = done.seconds
        kept = KeptEnvironment(scenario.name, folder, env.python, backend.name, answer,
                               done.installed, done.steps, done.failure, seconds)
        if done.failure is None:
            _warn_differences(result.installed, done.installed, say)
            say("phase", "running the scenario's probe code")
            kept.failure, seconds["run"] = run_code(env, scenario.code, scenario.timeout,
                                                    run_dir, done.installed, options)
    seconds["total"] = time.perf_counter() - started
    return kept


def _answer(scenario: Scenario, store_path: Path | None, installer: str | None,
            sources: dict[str, Any], say: Events) -> tuple[SolveResult, str]:
    """The store's last solve of the scenario, else a new solve (kept in the store)."""
    with Store(store_path) if store_path else Store.default() as store:
        stored = store.last_solve(scenario.name)
    if stored is not None:
        return SolveResult.from_dict(stored), "store"
    say("warning", f"the store has no solve of {scenario.name!r}: solving it first")
    return solve_scenario(scenario, installer=installer, store_path=store_path, events=say,
                          **sources), "solve"


def _check_answer(result: SolveResult, scenario: Scenario, interpreter: TargetInterpreter) -> None:
    if result.status is not Verdict.SOLVED:
        raise UsageError(f"the last solve of {scenario.name!r} ended {result.status.value} "
                         f"({result.reason}): there is no package set to build")
    if not result.installed:
        raise UsageError(f"the last solve of {scenario.name!r} records no installed set: "
                         "solve it again (envprobe solve --refresh)")
    if result.python and (_minor(result.python) != _minor(interpreter.version)
                          or result.platform != interpreter.platform):
        raise UsageError(f"the answer was proven on Python {result.python} ({result.platform}), "
                         f"the scenario's Python is {interpreter.version} "
                         f"({interpreter.platform}): solve it with this Python first")


def _options(result: SolveResult, scenario: Scenario, installer: str,
             sources: dict[str, Any]) -> InstallOptions:
    """The scenario's sources and binary policy, with the build steps the solve learned.

    Only rules for projects in the set count: those are the builds the
    passing probe ran. Versions come from the set (the backend pins them).
    """
    config = IndexConfig.from_pip(
        index_url=sources["index_url"],
        extra_index_urls=sources["extra_index_urls"],
        find_links=(*scenario.find_links, *sources["find_links"]),
        no_index=sources["no_index"],
    )
    in_set = {canonicalize_name(name): version for name, version in result.installed.items()}
    builds = [r for r in result.rules if r.install_option is InstallOption.BUILD_WITHOUT_ISOLATION
              and r.package is not None and canonicalize_name(r.package) in in_set]
    index = PackageIndex(config) if builds else None
    pre_install: dict[str, str] = {}
    for rule in builds:
        assert index is not None and rule.package is not None
        name = canonicalize_name(rule.package)
        for requirement in (*declared_build(index, name, in_set[name]), rule.requires):
            pre_install.setdefault(canonicalize_name(Requirement(requirement).name), requirement)
    return InstallOptions.from_sources(
        config, allow_sdist=scenario.allow_sdist, installer=installer,
        pre_install=tuple(pre_install.values()),
        no_build_isolation=tuple(dict.fromkeys(str(r.package) for r in builds)),
        pass_env=scenario.pass_env, network=scenario.network,
    )


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _warn_differences(answer: dict[str, str], got: dict[str, str], say: Events) -> None:
    """Say where the environment differs from the proven set (the probe then decides)."""
    wanted = {canonicalize_name(n): v for n, v in answer.items()}
    names = sorted(set(wanted) | set(got))
    differ = [f"{n} {wanted.get(n, 'absent')} -> {got.get(n, 'absent')}"
              for n in names if wanted.get(n) != got.get(n)]
    if differ:
        more = f" and {len(differ) - _SHOWN_DIFFERENCES} more" if len(differ) > _SHOWN_DIFFERENCES else ""
        say("warning", f"the environment differs from the answer's set: "
                       f"{'; '.join(differ[:_SHOWN_DIFFERENCES])}{more}")
