"""One map, end to end: sources, store, solver, executor, saved result.

The CLI and the tests call this. The map starts from what the store already
knows of the scenario (the rules of its last solve and its last map) and
leaves its own rules and result there, so a map after a solve reuses both,
and a second map answers from the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.utils import canonicalize_name

from envprobe.errors import UsageError
from envprobe.mapping.mapper import Mapper
from envprobe.model.mapping import MapResult
from envprobe.model.rules import Rule
from envprobe.model.scenario import Scenario
from envprobe.probing.executors import Executor, LocalExecutor
from envprobe.probing.store import Store
from envprobe.solving.solver import Solver
from envprobe.solving.workflow import sources_for

__all__ = ["choose_axes", "map_scenario"]


def choose_axes(scenario: Scenario, rows: str | None,
                columns: Iterable[str] | None) -> tuple[str, list[str]]:
    """(rows package, column packages); a name the scenario does not search is bad input."""
    targets = [t.name for t in scenario.targets]
    row = canonicalize_name(rows) if rows else targets[0]
    if row not in targets:
        raise UsageError(f"--rows {rows}: not a package of {scenario.path} "
                         f"(its packages: {', '.join(targets)})")
    chosen = [canonicalize_name(c) for c in columns or () if c.strip()]
    for column in chosen:
        if column not in targets:
            raise UsageError(f"--columns {column}: not a package of {scenario.path} "
                             f"(its packages: {', '.join(targets)})")
        if column == row:
            raise UsageError(f"--columns {column}: it is the rows package")
    chosen = list(dict.fromkeys(chosen)) or [t for t in targets if t != row]
    if not chosen:
        raise UsageError(f"{scenario.path}: a map needs a second package for its columns")
    return row, chosen


def map_scenario(
    scenario: Scenario,
    *,
    rows: str | None = None,
    columns: Iterable[str] | None = None,
    executor: Executor | None = None,
    index_url: str | None = None,
    extra_index_urls: Iterable[str] = (),
    find_links: Iterable[str] = (),
    no_index: bool | None = None,
    installer: str | None = None,
    store_path: Path | None = None,
    refresh: bool = False,
    max_installs: int | None = None,
    events: Callable[[str, str], None] | None = None,
) -> MapResult:
    """Map the scenario's rows package against its columns and keep the result."""
    row, chosen = choose_axes(scenario, rows, columns)
    index, options = sources_for(scenario, index_url=index_url,
                                 extra_index_urls=extra_index_urls, find_links=find_links,
                                 no_index=no_index, installer=installer, refresh=refresh)
    pool = executor or LocalExecutor()
    try:
        with Store(store_path) if store_path else Store.default() as store:
            budget = max_installs or max(scenario.budget.max_installs,
                                         4 * len(index.versions(row)) * len(chosen))
            solver = Solver(scenario, index=index, store=store, options=options,
                            events=events, refresh=refresh, max_installs=budget)
            known = _known_rules(store, scenario.name)
            solver.rules += known
            # as the solver's lessons do: the project a rule binds and the one it constrains
            # are pinned, or the next map proposes other sets than the store answered
            solver.universe |= {r.target for r in known}
            solver.universe |= {r.package for r in known if r.package is not None}
            try:
                result = Mapper(solver, pool, rows_package=row, columns=chosen,
                                max_installs=budget, events=events).run()
            finally:
                solver.scanner.close()  # the micro-probes' folders, as `solve` does
            store.save_map(scenario.name, result.to_dict())
    finally:
        if executor is None:
            pool.close()
    return result


def _known_rules(store: Store, scenario: str) -> list[Rule]:
    """Rules the scenario's last solve and last map learned: cheaper than relearning them."""
    known: list[Rule] = []
    for stored in (store.last_solve(scenario), store.last_map(scenario)):
        for data in (stored or {}).get("rules", []):
            rule = Rule.from_dict(data)
            if rule not in known:
                known.append(rule)
    return known
