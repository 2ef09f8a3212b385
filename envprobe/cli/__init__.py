"""The `envprobe` command: one parser, one small handler per subcommand.

Exit codes: 0 the probe passed, 1 it failed, 2 bad usage or input (one line
on stderr, never a traceback), 130 interrupted. `main` is the one place that
maps errors to exit codes; handlers only return 0 or 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from envprobe import __version__
from envprobe.cli import solve as solve_cli
from envprobe.errors import EnvprobeError, UsageError
from envprobe.model.outcome import ProbeOutcome
from envprobe.model.pins import parse_requirements
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.paths import default_store_path
from envprobe.probing.backends import INSTALLERS
from envprobe.probing.probe import import_code, run_probe
from envprobe.probing.store import Store
from manual_export import cli as export_cli

__all__ = ["build_parser", "main", "probe_command", "render_outcome"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class _Terminated(Exception):
    """SIGTERM, turned into an exception so cleanup code runs as for Ctrl-C."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="envprobe",
        description="Find Python package sets that really import, with evidence.",
    )
    parser.add_argument("--version", action="version", version=f"envprobe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    _add_probe(subparsers)
    solve_cli.register(subparsers)
    export_cli.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except EnvprobeError as error:
        print(f"envprobe: {error}", file=sys.stderr)
        return error.exit_code
    except (KeyboardInterrupt, _Terminated):
        print("envprobe: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`); Python would complain again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated()


# --- probe ----------------------------------------------------------------------


def _add_probe(subparsers: argparse._SubParsersAction) -> None:
    probe = subparsers.add_parser(
        "probe",
        help="install a pin set into a throwaway environment and run code in it",
        description="Install the given requirements into a fresh environment, run the probe "
        "code there in a child process, and report what happened: the packages actually "
        "installed and, on failure, a typed failure with its evidence. A probe already in the "
        "store is answered from it without installing anything. Exit 0 when the code ran, "
        "1 when the probe failed, 2 for bad input.",
    )
    probe.add_argument(
        "--pin", dest="pins", action="append", default=[], metavar="REQ",
        help="a PEP 508 requirement to install, usually NAME==VERSION (repeatable); "
        "unpinned dependencies are left to the installer",
    )
    code = probe.add_mutually_exclusive_group(required=True)
    code.add_argument(
        "--import", dest="imports", action="append", metavar="MODULE",
        help="import MODULE in the environment (repeatable; imported in order)",
    )
    code.add_argument("--code", metavar="CODE", help="Python statements to run instead")
    probe.add_argument(
        "--python", default=sys.executable, metavar="PATH",
        help="interpreter of the environment (default: the one running envprobe)",
    )
    probe.add_argument("--index-url", metavar="URL",
                       help="package index to install from (default: pip's configuration)")
    probe.add_argument("--extra-index-url", dest="extra_index_urls", action="append", default=[],
                       metavar="URL", help="an additional package index (repeatable)")
    probe.add_argument("--find-links", action="append", default=[], metavar="DIR",
                       help="a folder (or URL) of distributions to install from (repeatable)")
    probe.add_argument("--no-index", action="store_true",
                       help="use no package index, only --find-links")
    probe.add_argument("--allow-sdist", action="store_true",
                       help="allow building from source distributions (default: wheels only)")
    probe.add_argument("--base", action="append", default=[], metavar="REQ",
                       help="a heavy requirement (e.g. torch==2.13.0) kept in a shared base "
                       "layer that is installed once and reused by every probe (repeatable)")
    probe.add_argument("--installer", choices=INSTALLERS, default="auto",
                       help="pip (in a virtualenv) or uv; auto picks uv when it is installed "
                       "(default: auto)")
    probe.add_argument("--timeout", type=_positive_float, default=300.0, metavar="S",
                       help="seconds the probe code may run before its processes are killed "
                       "(default: 300)")
    probe.add_argument("--refresh", action="store_true",
                       help="run the probe even when the store holds its outcome")
    probe.add_argument("--store", type=Path, metavar="PATH",
                       help=f"SQLite store of probes (default: {default_store_path()}, "
                       "or $ENVPROBE_STORE)")
    probe.add_argument("--json", action="store_true",
                       help="print exactly one JSON object (the outcome) on stdout")
    probe.set_defaults(func=probe_command)


def probe_command(args: argparse.Namespace) -> int:
    """`envprobe probe`: run one probe and show its outcome."""
    parse_requirements([*args.pins, *args.base])
    for module in args.imports or ():
        if not _MODULE_NAME.fullmatch(module):
            raise UsageError(f"--import {module!r} is not a module name")
    request = ProbeRequest(
        requirements=tuple(args.pins),
        code=import_code(args.imports) if args.imports else args.code,
        python=args.python,
        options=_install_options(args),
        timeout=args.timeout,
    )
    console = Console(stderr=True)
    store = Store(args.store) if args.store else Store.default()
    with store, _status(console, quiet=args.json) as progress:
        outcome = run_probe(request, store=store, refresh=args.refresh, progress=progress)
    if args.json:
        print(json.dumps(outcome.to_dict()))
    else:
        Console().print(render_outcome(outcome))
    return EXIT_OK if outcome else EXIT_FAILED


def _install_options(args: argparse.Namespace) -> InstallOptions:
    """Reading pip's configuration imports pip's internals: only when a probe needs it."""
    from envprobe.sources.config import IndexConfig

    config = IndexConfig.from_pip(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_urls),
        find_links=tuple(args.find_links),
        no_index=True if args.no_index else None,
    )
    return InstallOptions.from_sources(
        config, allow_sdist=args.allow_sdist, installer=args.installer, base=tuple(args.base)
    )


@contextmanager
def _status(console: Console, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr that shows the latest progress message (none when not a terminal)."""
    if quiet or not console.is_terminal:
        yield lambda message: None
        return
    with console.status("starting") as status:
        yield lambda message: status.update(message)


def render_outcome(outcome: ProbeOutcome) -> Panel:
    """A rich panel: verdict, failure and its evidence, the packages installed."""
    parts: list = []
    failure = outcome.failure
    if failure is not None:
        parts.append(Text(failure.summary(), style="bold red"))
        evidence = Table.grid(padding=(0, 2))
        for label, value in (
            ("message", "" if failure.message in failure.summary() else failure.message),
            ("importer", _joined(failure.importer, failure.importer_package,
                                 failure.importer_version)),
            ("requirements", ", ".join(failure.requirements)),
        ):
            if value:
                evidence.add_row(Text(label, style="dim"), Text(value))
        if evidence.row_count:
            parts.append(evidence)
        if failure.log_excerpt:
            tail = "\n".join(failure.log_excerpt.splitlines()[-12:])
            parts.append(Panel(Text(tail, style="dim"), title="evidence", title_align="left"))
    if outcome.installed:
        table = Table("installed", "version", box=None, header_style="bold")
        for name, version in outcome.installed.items():
            pinned = outcome.pins.get(name)
            table.add_row(name, Text(version, style="bold" if pinned else ""))
        parts.append(table)
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in outcome.seconds.items())
    where = f"probe #{outcome.probe_id}" if outcome.probe_id is not None else "probe"
    source = "from the store" if outcome.cached else outcome.installer
    parts.append(Text(f"{where} · Python {outcome.python} · {source} · {seconds}", style="dim"))
    verdict = ("OK", "green") if outcome else ("FAILED", "red")
    asked = outcome.requirements or [f"{n}=={v}" for n, v in outcome.pins.items()]
    pins = " ".join(asked) or "no requirements"
    return Panel(Group(*parts), title=f"[bold {verdict[1]}]{verdict[0]}[/] {pins}",
                 title_align="left", border_style=verdict[1])


def _joined(*values: str | None) -> str:
    return " ".join(v for v in values if v)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value

