"""`envprobe map`: which releases of one target really work with which of the others.

Progress on stderr (rows done, probes running, installs, elapsed); the map
goes to the scenario's REPORT.md section with one heat map per column, to
`<name>.map.json` and to a metadata patch beside the scenario. Exit 0 every
row decided, 1 some undecided; bad input raises and `envprobe.cli.main`
turns it into one line and exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from envprobe.cli import options
from envprobe.cli.console import event_lines, spinner
from envprobe.cli.report import publish_map, report_path
from envprobe.errors import UsageError
from envprobe.model.choices import EXECUTORS

__all__ = ["map_command", "register"]

_SHOWN = {"round": "", "learn": "  learned:", "warning": "warning:"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `map` to the envprobe parser."""
    parser = subparsers.add_parser(
        "map",
        help="map every release of one target against the working windows of the others",
        description=(
            "For every release of the rows package in range, find the lowest and the highest "
            "release of each column package that really work with it (static scans first, "
            "then one probe per edge), with the reason each edge is an edge; compare with "
            "what the release declares and write the metadata patch. Exit 0 every row "
            "decided, 1 some undecided, 2 bad input."
        ),
    )
    parser.add_argument("scenario", type=Path, help="scenario file (TOML)")
    parser.add_argument("--rows", metavar="NAME",
                        help="the package whose releases are the rows (default: the first)")
    parser.add_argument("--columns", metavar="A,B", type=lambda t: t.split(","),
                        help="the packages mapped across (default: every other package)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="local: a process pool on this machine (default); ray: one Ray "
                        "task per probe (needs envprobe[ray])")
    parser.add_argument("--jobs", type=options.positive_int, metavar="N",
                        help="local workers (default: the cores); for a Ray instance started "
                        "for the run, its CPUs")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="an existing Ray cluster (default: start a local one for the run)")
    parser.add_argument("--max-installs", type=options.positive_int, metavar="N",
                        help="budget of real installs (default: 4 per row and column)")
    options.add_json(parser, "the map")
    parser.add_argument("--report", type=Path, metavar="PATH",
                        help="Markdown report whose map section is updated (default: as solve)")
    parser.add_argument("--out-dir", type=Path, metavar="DIR",
                        help="folder for <name>.map.json and the metadata patch "
                        "(default: the scenario's folder)")
    options.add_store(parser)
    options.add_sources(parser)
    options.add_installer(parser, default=None, fallback="the scenario's, else auto")
    options.add_refresh(parser)
    parser.set_defaults(func=map_command)


def map_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command's start would pay for them.
    from rich.console import Console

    from envprobe.mapping.workflow import choose_axes, map_scenario
    from envprobe.model.scenario import load_scenario
    from envprobe.probing.executors import executor_for
    from envprobe.report.files import check_writable
    from envprobe.report.map_files import map_outputs

    scenario = load_scenario(args.scenario)
    choose_axes(scenario, args.rows, args.columns)  # a wrong name is said before any work
    report = args.report or report_path(scenario.path)
    folder = args.out_dir or scenario.path.parent
    check_writable(report)
    for path in map_outputs(folder, scenario.name)[:2]:
        check_writable(path)
    if args.ray_address and args.executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    console = Console(stderr=True)
    executor = executor_for(args.executor, jobs=args.jobs, address=args.ray_address)
    try:
        with spinner(console, quiet=False) as progress:
            lines = event_lines(console, progress, scenario.name, _SHOWN)

            def events(kind: str, text: str) -> None:
                if kind == "status":
                    progress(f"{scenario.name}: {text}")
                else:
                    lines(kind, text)

            result = map_scenario(
                scenario, rows=args.rows, columns=args.columns, executor=executor,
                index_url=args.index_url, extra_index_urls=args.extra_index_urls,
                find_links=args.find_links, no_index=args.no_index,
                installer=args.installer, store_path=args.store, refresh=args.refresh,
                max_installs=args.max_installs, events=events,
            )
    finally:
        executor.close()
    return publish_map(result, report, folder, as_json=args.json)
