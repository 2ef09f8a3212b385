"""`envprobe solve` and `envprobe report`: the main job and its re-rendering.

Progress goes to stderr, so `--json` keeps stdout to exactly one object.
Exit codes: 0 solved, 1 unsatisfiable or undecided, 2 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from envprobe.errors import UsageError
from envprobe.model.result import SolveResult
from envprobe.model.scenario import Scenario, load_scenario
from envprobe.probing.backends import INSTALLERS
from envprobe.probing.store import Store
from envprobe.report import render_json, render_terminal, write_constraints, write_report
from envprobe.solving.workflow import solve_scenario

__all__ = ["register"]

_SHOWN = {"propose": "proposing", "outcome": "  ", "learn": "  learned:", "fallback": "fallback:"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `solve` and `report` to the envprobe parser."""
    solve = subparsers.add_parser(
        "solve",
        help="find a package set that really imports, or prove none in range does",
        description=(
            "Solve a scenario: propose pin sets with a resolver over declared metadata plus "
            "rules learned from failed probes, probe them in throwaway environments, find "
            "exact version boundaries, and write REPORT.md, a constraints file and the store. "
            "Exit 0 solved, 1 unsatisfiable or undecided, 2 bad input."
        ),
    )
    _common(solve)
    solve.add_argument("--max-installs", type=int, metavar="N",
                       help="budget of real installs (default: the scenario's [budget])")
    solve.add_argument("--index-url", metavar="URL", help="package index (default: pip's)")
    solve.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                       help="additional index, as pip's option (repeatable)")
    solve.add_argument("--find-links", action="append", default=[], metavar="DIR",
                       help="folder or page of distributions, as pip's option (repeatable)")
    solve.add_argument("--no-index", action="store_true", default=None,
                       help="use only --find-links sources")
    solve.add_argument("--installer", choices=INSTALLERS,
                       help="installer for the probes (default: the scenario's, else pip)")
    solve.add_argument("--refresh", action="store_true",
                       help="probe again even where the store has an answer")
    solve.set_defaults(func=solve_command)

    report = subparsers.add_parser(
        "report",
        help="render the last stored solve of a scenario, without probing",
        description="Render REPORT.md, the constraints file and the terminal tables from "
                    "the store's last result for this scenario. Nothing is installed.",
    )
    _common(report)
    report.set_defaults(func=report_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario file (TOML)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", type=Path, default=Path("REPORT.md"), metavar="PATH",
                        help="Markdown report to update (its section for this scenario); "
                             "default: ./REPORT.md")
    parser.add_argument("--constraints-out", type=Path, metavar="PATH",
                        help="pip constraints file of the answer "
                             "(default: <scenario folder>/<name>.txt)")
    parser.add_argument("--store", type=Path, metavar="PATH",
                        help="SQLite store of probes and results (default: the user's)")


def solve_command(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    if args.max_installs is not None and args.max_installs < 1:
        raise UsageError("--max-installs must be at least 1")
    console = Console(stderr=True)
    with console.status(f"solving {scenario.name}") as status:
        def events(kind: str, text: str) -> None:
            status.update(f"{scenario.name}: {text}")
            if kind in _SHOWN:
                console.print(f"{_SHOWN[kind]} {text}", highlight=False, markup=False)

        result = solve_scenario(
            scenario,
            index_url=args.index_url,
            extra_index_urls=args.extra_index_url,
            find_links=args.find_links,
            no_index=args.no_index,
            installer=args.installer,
            store_path=args.store,
            refresh=args.refresh,
            max_installs=args.max_installs,
            events=events,
        )
    return _publish(result, scenario, args)


def report_command(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    with Store(args.store) if args.store else Store.default() as store:
        stored = store.last_solve(scenario.name)
    if stored is None:
        raise UsageError(f"the store has no solve of {scenario.name!r}; run `envprobe solve` first")
    return _publish(SolveResult.from_dict(stored), scenario, args)


def _publish(result: SolveResult, scenario: Scenario, args: argparse.Namespace) -> int:
    """Write the report and constraints file, then show the result."""
    written = write_report(result, args.report)
    constraints = args.constraints_out or scenario.path.parent / f"{scenario.name}.txt"
    written.append(write_constraints(result, constraints))
    if args.json:
        print(render_json(result))
    else:
        console = Console()
        console.print(render_terminal(result))
        console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)
    return 0 if result.status == "solved" else 1
