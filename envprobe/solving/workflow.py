"""One solve, end to end: sources, store, solver, fallback, saved result.

The CLI and the tests call this; it wires the pieces together and owns no
logic of its own beyond the order of the steps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

from envprobe.errors import ScenarioError, UsageError
from envprobe.model.requests import InstallOptions
from envprobe.model.result import SolveResult, Verdict
from envprobe.model.scenario import FallbackWhen, Scenario
from envprobe.probing.backends import InstallerBackend, backend_for
from envprobe.probing.store import Store
from envprobe.solving.fallback import run_fallback
from envprobe.solving.solver import Solver
from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex

__all__ = ["solve_scenario"]


def solve_scenario(
    scenario: Scenario,
    *,
    index_url: str | None = None,
    extra_index_urls: Iterable[str] = (),
    find_links: Iterable[str] = (),
    no_index: bool | None = None,
    installer: str | None = None,
    store_path: Path | None = None,
    refresh: bool = False,
    max_installs: int | None = None,
    events: Callable[[str, str], None] | None = None,
    parallel: bool = True,
) -> SolveResult:
    """Solve `scenario`, run its fallback if nothing imports, and keep the result."""
    index, options = sources_for(scenario, index_url=index_url,
                                 extra_index_urls=extra_index_urls, find_links=find_links,
                                 no_index=no_index, installer=installer, refresh=refresh)
    say = events or (lambda kind, text: None)
    model = scenario.fallback_model
    if model is not None and not model.is_file():
        say("warning", f"the fallback model {model} does not exist: no fallback export can run")
    question = question_key(scenario, options)
    with Store(store_path) if store_path else Store.default() as store:
        stored = None if refresh else _answered(store, scenario.name, question)
        if stored is not None:
            say("store", f"answered from the store: the last solve of this scenario, unchanged "
                         f"({stored.status.value}; --refresh solves it again)")
            return stored
        result = Solver(
            scenario, index=index, store=store, options=options, events=events,
            refresh=refresh, max_installs=max_installs, parallel=parallel,
        ).solve()
        result.question = question
        if model is not None and _fallback_due(result.status, scenario.fallback_when):
            output = scenario.fallback_output or model.with_suffix("")
            result.fallback = run_fallback(model, output, lambda text: say("fallback", text))
            result.fallback["why"] = (
                f"the verdict is {result.status.value} and the scenario's fallback runs when "
                f"{scenario.fallback_when.value}")
        store.save_solve(scenario.name, result.to_dict())
    return result


def sources_for(scenario: Scenario, *, index_url: str | None, extra_index_urls: Iterable[str],
                find_links: Iterable[str], no_index: bool | None, installer: str | None,
                refresh: bool) -> tuple[PackageIndex, InstallOptions]:
    """The index and install options a run of `scenario` uses: pip's configuration with the
    command line's sources on top, and the installer that will run (the store keys on it)."""
    backend = _backend(scenario, installer)
    config = IndexConfig.from_pip(
        index_url=index_url, extra_index_urls=tuple(extra_index_urls),
        find_links=(*scenario.find_links, *find_links), no_index=no_index,
    )
    options = InstallOptions.from_sources(
        config, allow_sdist=scenario.allow_sdist, installer=backend.name,
        pass_env=scenario.pass_env, network=scenario.network,
    )
    return PackageIndex(config, refresh=refresh), options


def question_key(scenario: Scenario, options: InstallOptions) -> str:
    """What makes two solves the same question: the scenario file as written, and the
    sources and installer it runs with. Any change to either asks the question anew."""
    text = scenario.path.read_bytes() if scenario.path.is_file() else repr(scenario).encode()
    parts = {"scenario": hashlib.sha256(text).hexdigest(), "options": options.key()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _answered(store: Store, name: str, question: str) -> SolveResult | None:
    """The stored answer to this exact question, when it settled it (solved or proven
    unsatisfiable); an undecided solve is asked again, learning from the stored probes."""
    stored = store.last_solve(name)
    if not stored or stored.get("question") != question:
        return None
    result = SolveResult.from_dict(stored)
    if result.status is Verdict.UNDECIDED:
        return None
    result.from_store = True
    return result


def _fallback_due(verdict: Verdict, when: FallbackWhen) -> bool:
    """`unsolved` covers undecided too: no working set is handed over either way."""
    if when is FallbackWhen.UNSOLVED:
        return verdict is not Verdict.SOLVED
    return verdict is Verdict.UNSATISFIABLE


def _backend(scenario: Scenario, chosen: str | None) -> InstallerBackend:
    """The installer for this solve; a scenario naming an unknown one is told where."""
    try:
        return backend_for(chosen or scenario.installer)
    except UsageError as error:
        if chosen:
            raise
        raise ScenarioError(f"{scenario.path}: [install] installer: {error}") from None
