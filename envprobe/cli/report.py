"""`envprobe report`: re-render a scenario's stored solve or map, and the publishing they share.

`publish` is the one place that decides where a result's files go: the
report beside the scenario when the scenario lives outside the current
directory, its figures in one folder beside the report, the constraints file
in the scenario's folder. It says where it wrote each file, on stderr, so
`--json` keeps stdout to exactly one object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envprobe.cli import options
from envprobe.errors import UsageError
from envprobe.paths import default_store_path

if TYPE_CHECKING:
    from envprobe.model.mapping import MapResult
    from envprobe.model.result import SolveResult
    from envprobe.model.scenario import Scenario

__all__ = ["add_scenario_outputs", "publish", "publish_map", "register", "report_command",
           "report_path"]

REPORT_NAME = "REPORT.md"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `report` to the envprobe parser."""
    report = subparsers.add_parser(
        "report",
        help="render the last stored solve (or map) of a scenario, without probing",
        description="Render REPORT.md, the constraints file and the terminal summary from "
                    "the store's last result for this scenario. Nothing is installed. With "
                    "--map, or given a .map.json file, render a map the same way.",
    )
    add_scenario_outputs(report)
    report.add_argument("--map", action="store_true",
                        help="render the scenario's last stored map (`envprobe map`): its "
                        "section, pictures, .map.json and metadata patch beside the scenario")
    report.set_defaults(func=report_command)


def add_scenario_outputs(parser: argparse.ArgumentParser) -> None:
    """The scenario argument and the flags saying where its result goes."""
    parser.add_argument("scenario", type=Path, help="scenario file (TOML)")
    options.add_json(parser, "the result")
    parser.add_argument("--report", type=Path, metavar="PATH",
                        help="Markdown report to update (its section for this scenario), its "
                        "figures going to a folder beside it (default: ./REPORT.md, or "
                        "REPORT.md beside the scenario when it is outside this directory)")
    parser.add_argument("--constraints-out", type=Path, metavar="PATH",
                        help="pip constraints file of the answer "
                             "(default: <scenario folder>/<name>.txt)")
    options.add_store(parser)


def report_command(args: argparse.Namespace) -> int:
    from envprobe.model.result import SolveResult
    from envprobe.model.scenario import load_scenario
    from envprobe.probing.store import Store

    if args.map or args.scenario.name.endswith(".map.json"):
        return _report_map(args)
    scenario = load_scenario(args.scenario)
    # Read-only: a report needs no write access and never creates a store.
    with Store(args.store or default_store_path(), readonly=True) as store:
        stored = store.last_solve(scenario.name)
    if stored is None:
        raise UsageError(f"the store has no solve of {scenario.name!r}; run `envprobe solve` first")
    return publish(SolveResult.from_dict(stored), scenario, args)


def _report_map(args: argparse.Namespace) -> int:
    """A stored map, from its `.map.json` or from the store, written and shown again."""
    from envprobe.model.mapping import MapResult
    from envprobe.model.scenario import load_scenario
    from envprobe.probing.store import Store

    if args.scenario.name.endswith(".map.json"):
        try:
            data = json.loads(args.scenario.read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"{args.scenario}: cannot read a map ({error})") from None
        folder = args.scenario.parent
    else:
        scenario = load_scenario(args.scenario)
        with Store(args.store or default_store_path(), readonly=True) as store:
            data = store.last_map(scenario.name)
        if data is None:
            raise UsageError(f"the store has no map of {scenario.name!r}; run `envprobe map` first")
        folder = scenario.path.parent
    try:
        result = MapResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise UsageError(f"{args.scenario}: not a map ({error!r} is wrong or missing)") from None
    return publish_map(result, args.report or report_path(args.scenario), folder,
                       as_json=args.json)


def publish_map(result: MapResult, report: Path, folder: Path, *, as_json: bool) -> int:
    """Write a map's files (`write_map`), then show it on stdout: one JSON object, or a
    sentence per cell; the files written go to stderr."""
    from rich.console import Console

    from envprobe.report.map import map_lines
    from envprobe.report.map_files import render_map_json, write_map

    try:
        written = write_map(result, report, folder)
    except OSError as error:
        raise UsageError(f"cannot write {error.filename or report}: "
                         f"{error.strerror or error} (the map is kept in the store)") from None
    if as_json:
        print(render_map_json(result), end="")
    else:
        out = Console()
        for line in map_lines(result):
            out.print(line, highlight=False, markup=False)
    for path in written:
        print(f"wrote {_shown(path)}", file=sys.stderr)
    return 0 if result.decided else 1


def report_path(scenario: Path, cwd: Path | None = None) -> Path:
    """Where the report goes by default: `./REPORT.md`, or beside a scenario outside `cwd`.

    "Outside" means the scenario file is not under the current directory, so
    solving someone else's scenario never writes into the project you stand in.
    """
    here = (cwd or Path.cwd()).resolve()
    folder = scenario.resolve().parent
    return Path(REPORT_NAME) if folder.is_relative_to(here) else folder / REPORT_NAME


def output_paths(scenario: Scenario, args: argparse.Namespace) -> tuple[Path, Path]:
    """The report and the constraints file this run writes, checked before any work."""
    from envprobe.report.files import check_writable

    report = args.report or report_path(scenario.path)
    constraints = args.constraints_out or scenario.path.parent / f"{scenario.name}.txt"
    check_writable(report)
    check_writable(constraints)
    return report, constraints


def publish(result: SolveResult, scenario: Scenario, args: argparse.Namespace) -> int:
    """Write the report, its figures and the constraints file, then show the result."""
    # Imported here, not at the top: every other command's start would pay for them.
    from rich.console import Console

    from envprobe.model.result import Verdict
    from envprobe.report import render_json, render_terminal, write_constraints, write_report

    report, constraints = output_paths(scenario, args)
    try:
        written = write_report(result, report)
        written.append(write_constraints(result, constraints, scenario.path))
    except OSError as error:
        raise UsageError(f"cannot write {error.filename or report}: "
                         f"{error.strerror or error} (the result is kept in the store: "
                         "`envprobe report` writes it again)") from None
    if args.json:
        print(render_json(result), end="")
    else:
        Console().print(render_terminal(result))
    for path in written:
        print(f"wrote {_shown(path)}", file=sys.stderr)
    return 0 if result.status == Verdict.SOLVED else 1


def _shown(path: Path) -> str:
    """Relative to the current directory where it is under it; absolute elsewhere."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)
