"""`envprobe diagnose`: why the code fails in the environment you have, and the smallest fix.

Exit 0 when the code already runs, 1 when it fails (the diagnosis given);
bad input raises and `envprobe.cli.main` turns it into one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from envprobe.cli import options
from envprobe.cli.probe import _absolute
from envprobe.errors import UsageError

if TYPE_CHECKING:
    from envprobe.model.requests import InstallOptions

__all__ = ["diagnose_command", "register"]

_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_TRACEBACK_BYTES = 4 << 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `diagnose` to the envprobe parser."""
    parser = subparsers.add_parser(
        "diagnose",
        help="explain why code fails in an existing environment, and the smallest fix",
        description="Run the code with the environment's own interpreter (read-only: nothing "
        "is installed, removed or written there) or read a pasted traceback; name the failure, "
        "find the release where the missing name left its package from the wheels (or, where "
        "a wheel's code cannot tell, from that one release installed alone into a throwaway "
        "folder), and propose the smallest change that keeps every declared requirement and "
        "the extras in use. The run is kept and reused while nothing installed changes. Exit 0 "
        "when the code runs, 1 when it fails (diagnosis given), 2 for bad input.",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("-c", dest="code", metavar="CODE", help="Python statements to run")
    what.add_argument("-m", dest="module", metavar="MODULE",
                      help="a module to import (as `envprobe probe --import`)")
    what.add_argument("--traceback", type=Path, metavar="FILE",
                      help="a traceback you already have ('-' reads it from stdin)")
    parser.add_argument("--python", metavar="PATH",
                        help="interpreter of the environment to diagnose (default: the active "
                        "virtual environment's python, else the first python on PATH)")
    parser.add_argument("--verify", action="store_true",
                        help="install the environment's exact set with the fix into a "
                        "throwaway copy and run the code there (one install)")
    parser.add_argument("--fix", action="store_true",
                        help="solve from the installed releases (each kept if it can be, "
                        "else moved to the nearest that fits), try the set in a throwaway copy, "
                        "learn from its failure and solve again until the code runs; prints the "
                        "whole change (implies --verify)")
    parser.add_argument("--max-installs", type=options.positive_int, default=4, metavar="N",
                        help="installs --fix may spend (default: 4)")
    parser.add_argument("--refresh", action="store_true",
                        help="run the code again even if the environment is unchanged since "
                        "the last diagnosis of the same code (its outcome is reused otherwise)")
    parser.add_argument("--no-probes", dest="probes", action="store_false",
                        help="forbid micro-probes: where a wheel's code cannot tell whether a "
                        "release has a name, say so instead of installing that one release "
                        "alone into a throwaway folder to ask it (never your environment)")
    parser.add_argument("--timeout", type=options.seconds, default=300.0, metavar="S",
                        help="seconds the code may run (default: 300)")
    options.add_sources(parser)
    options.add_installer(parser, default="auto", fallback="auto")
    options.add_isolation(parser)
    options.add_store(parser)
    options.add_json(parser, "the diagnosis")
    parser.set_defaults(func=diagnose_command)


def diagnose_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command's start would pay for them.
    from rich.console import Console

    from envprobe.cli.console import spinner
    from envprobe.diagnosing import DiagnoseRequest, diagnose
    from envprobe.diagnosing.inventory import default_python
    from envprobe.diagnosing.sources import Sources
    from envprobe.model.requests import InstallOptions
    from envprobe.probing.probe import import_code
    from envprobe.probing.store import Store
    from envprobe.report.diagnosis import render_diagnosis
    from envprobe.sources.config import IndexConfig

    if args.module is not None and not _MODULE_NAME.fullmatch(args.module):
        raise UsageError(f"-m {args.module!r} is not a module name")
    traceback = _read_traceback(args.traceback) if args.traceback is not None else None
    python = args.python or default_python()
    find_links = tuple(_absolute(link) for link in args.find_links)
    pass_env = tuple(dict.fromkeys(args.pass_env))

    def read_config() -> IndexConfig:
        return IndexConfig.from_pip(index_url=args.index_url,
                                    extra_index_urls=tuple(args.extra_index_urls),
                                    find_links=find_links, no_index=args.no_index)

    def install_options(config: IndexConfig) -> InstallOptions:
        return InstallOptions.from_sources(config, installer=args.installer, pass_env=pass_env,
                                           network=args.network, allow_sdist=True)

    request = DiagnoseRequest(
        python=python,
        code=import_code([args.module]) if args.module else (args.code or ""),
        traceback=traceback, timeout=args.timeout,
        options=InstallOptions(installer=args.installer, pass_env=pass_env,
                               network=args.network, allow_sdist=True),
        verify=args.verify or args.fix, fix=args.fix, max_installs=args.max_installs,
        refresh=args.refresh, probes=args.probes,
    )
    # pip's configuration is read on a thread while the environment is read and the code runs.
    sources = Sources(read_config, install_options)
    installs = args.verify or args.fix
    store = (Store(args.store) if args.store else Store.default()) if installs else None
    console = Console(stderr=True)
    with spinner(console, quiet=args.json) as progress:
        if store is not None:
            with store:
                result = diagnose(request, sources, store, progress)
        else:
            result = diagnose(request, sources, None, progress)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        Console().print(render_diagnosis(result))
    return 0 if result.works else 1


def _read_traceback(path: Path) -> str:
    """The pasted traceback; a file that is not there or not text is bad input."""
    try:
        data = sys.stdin.buffer.read(_MAX_TRACEBACK_BYTES) if str(path) == "-" \
            else path.read_bytes()[:_MAX_TRACEBACK_BYTES]
    except OSError as error:
        raise UsageError(f"cannot read the traceback {path}: {error.strerror or error}") from None
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise UsageError(f"the traceback {path} is empty")
    return text
