"""`envprobe probe`: install one pin set into a throwaway environment and run code there.

Exit 0 when the code ran, 1 when the probe failed; bad input raises and
`envprobe.cli.main` turns it into one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from envprobe.cli import options
from envprobe.errors import UsageError

if TYPE_CHECKING:
    from envprobe.model.requests import InstallOptions

__all__ = ["probe_command", "register"]

_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `probe` to the envprobe parser."""
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
    options.add_sources(probe)
    probe.add_argument("--allow-sdist", action="store_true",
                       help="allow building from source distributions (default: wheels only)")
    probe.add_argument("--base", action="append", default=[], metavar="REQ",
                       help="a heavy requirement (e.g. torch==2.13.0) kept in a shared base "
                       "layer that is installed once and reused by every probe (repeatable)")
    options.add_installer(probe, default="auto", fallback="auto")
    probe.add_argument("--timeout", type=options.seconds, default=300.0, metavar="S",
                       help="seconds the probe code may run before its processes are killed "
                       "(default: 300)")
    options.add_isolation(probe)
    options.add_refresh(probe)
    options.add_store(probe)
    options.add_json(probe, "the outcome")
    probe.set_defaults(func=probe_command, nothing_left_open=True)


def probe_command(args: argparse.Namespace) -> int:
    """Run one probe and show its outcome.

    The probe's watchdog starts first (a Python start, 30 ms), while the
    input is checked; nothing is made on disk before the input is known
    good. Then the environment is begun, so it is created while pip's
    configuration is read and the store asked. On a store miss (or with
    `--refresh`) the install is begun there too, before the rest of the
    engine is imported.
    """
    from envprobe.probing import processes

    with processes.supervised() as supervisor:
        supervisor.start()
        return _probe(args, supervisor)


def _probe(args: argparse.Namespace, supervisor) -> int:  # (..., processes.Supervisor)
    from envprobe.model.pins import parse_requirements
    from envprobe.probing.backends.common import check_find_links
    from envprobe.probing.head_start import head_start
    from envprobe.probing.interpreter import executable_of

    parse_requirements([*args.pins, *args.base])
    for module in args.imports or ():
        if not _MODULE_NAME.fullmatch(module):
            raise UsageError(f"--import {module!r} is not a module name")
    check_find_links(tuple(_absolute(link) for link in args.find_links))
    with head_start(args.installer, executable_of(args.python), supervisor) as head:
        from envprobe.model.requests import ProbeRequest, import_code
        from envprobe.probing.store import Store

        request = ProbeRequest(
            requirements=tuple(args.pins),
            code=import_code(args.imports) if args.imports else args.code,
            python=args.python,
            options=_install_options(args),
            timeout=args.timeout,
        )
        store = Store(args.store) if args.store else Store.default()
        with store:
            if head is not None and (args.refresh or not _stored(store, request, head.installer)):
                head.begin_install(args.pins, request.options)  # a store miss: install now
            # The rest of the engine is imported while the set installs; rich and the
            # renderers only for a person: `--json` is a probe's fastest start.
            from envprobe.cli.console import spinner
            from envprobe.probing.probe import run_probe

            console = None if args.json else _console(stderr=True)
            with spinner(console, quiet=args.json) as progress:
                outcome = run_probe(request, store=store, refresh=args.refresh,
                                    progress=progress, head=head)
        if args.json:
            print(json.dumps(outcome.to_dict()), flush=True)
        else:
            from envprobe.report import render_outcome

            _console().print(render_outcome(outcome))
    return 0 if outcome else 1


def _stored(store, request, installer: str) -> bool:  # (Store, ProbeRequest, str)
    """Whether the store holds this probe's answer, as `run_probe` asks it (the installer
    that runs, the interpreter's version and platform)."""
    from dataclasses import replace

    from envprobe.probing.interpreter import store_key_facts

    keyed = replace(request, options=replace(request.options, installer=installer))
    return store.lookup(keyed, *store_key_facts(request.python)) is not None


def _console(**kwargs: bool):  # -> rich.console.Console
    from rich.console import Console

    return Console(**kwargs)


def _absolute(link: str) -> str:
    """A find-links folder as given here: installers run elsewhere, in the run folder."""
    if len(urlsplit(link).scheme) > 1:
        return link
    return os.path.abspath(link)


def _install_options(args: argparse.Namespace) -> InstallOptions:
    """Reading pip's configuration imports pip's internals: only when a probe needs it."""
    from envprobe.model.requests import InstallOptions
    from envprobe.sources.config import IndexConfig

    config = IndexConfig.from_pip(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_urls),
        find_links=tuple(_absolute(link) for link in args.find_links),
        no_index=args.no_index,
    )
    return InstallOptions.from_sources(
        config, allow_sdist=args.allow_sdist, installer=args.installer, base=tuple(args.base),
        pass_env=tuple(dict.fromkeys(args.pass_env)), network=args.network,
    )

