"""`envprobe solve`: the main job, with its progress on stderr.

Exit 0 solved, 1 unsatisfiable or undecided; bad input raises and
`envprobe.cli.main` turns it into one line and exit 2.
"""

from __future__ import annotations

import argparse

from envprobe.cli import options
from envprobe.cli.console import event_lines, spinner
from envprobe.cli.report import add_scenario_outputs, output_paths, publish

__all__ = ["register", "solve_command"]

# Progress events worth a line of their own, and the word that leads it.
_SHOWN = {"propose": "proposing", "outcome": "  ", "learn": "  learned:", "fallback": "fallback:",
          "warning": "warning:", "store": "", "read ahead": "  read ahead:"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `solve` to the envprobe parser."""
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
    add_scenario_outputs(solve)
    solve.add_argument("--max-installs", type=options.positive_int, metavar="N",
                       help="budget of real installs (default: the scenario's [budget])")
    options.add_sources(solve)
    options.add_installer(solve, default=None, fallback="the scenario's, else auto")
    options.add_refresh(solve)
    solve.set_defaults(func=solve_command)


def solve_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command's start would pay for them.
    from rich.console import Console

    from envprobe.model.scenario import load_scenario
    from envprobe.solving.workflow import solve_scenario

    scenario = load_scenario(args.scenario)
    output_paths(scenario, args)  # an unwritable report is said now, not after the solve
    console = Console(stderr=True)
    with spinner(console, quiet=False) as progress:
        result = solve_scenario(
            scenario,
            index_url=args.index_url,
            extra_index_urls=args.extra_index_urls,
            find_links=args.find_links,
            no_index=args.no_index,
            installer=args.installer,
            store_path=args.store,
            refresh=args.refresh,
            max_installs=args.max_installs,
            events=event_lines(console, progress, scenario.name, _SHOWN),
        )
    return publish(result, scenario, args)
