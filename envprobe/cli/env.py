"""`envprobe env`: the answer as a real environment the user keeps, proven by the probe there.

Exit 0 when the scenario's code passes in the new environment, 1 when the
install or the code fails (the folder is kept, for a look inside); bad
input (a folder not ours to fill, a verdict other than solved) raises and
`envprobe.cli.main` turns it into one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from envprobe.cli import options
from envprobe.cli.console import event_lines, spinner

if TYPE_CHECKING:
    from envprobe.solving.keep import KeptEnvironment

__all__ = ["env_command", "register"]

# Events worth a line of their own on stderr, and the word that leads it.
_SHOWN = {"learn": "learned:", "warning": "warning:", "fallback": "fallback:"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `env` to the envprobe parser."""
    env = subparsers.add_parser(
        "env",
        help="build a kept environment with a scenario's solved set, and prove it there",
        description=(
            "Create a virtual environment at DIR with the exact set the scenario's last solve "
            "proved (solving first when the store has none), applying every learned install "
            "step (build requirements pre-installed, builds without isolation), then run the "
            "scenario's probe code in it. Exit 0 the probe passed, 1 the install or the probe "
            "failed (DIR is kept), 2 bad input."
        ),
    )
    env.add_argument("scenario", type=Path, help="scenario file (TOML)")
    env.add_argument("dir", type=Path, metavar="DIR",
                     help="folder for the new environment: missing or empty")
    env.add_argument("--force", action="store_true",
                     help="replace the virtual environment already in DIR (a folder holding "
                     "anything else is never deleted)")
    options.add_sources(env)
    options.add_installer(env, default=None, fallback="the installer the answer was found with")
    options.add_store(env)
    options.add_json(env, "the environment built and the probe's result")
    env.set_defaults(func=env_command)


def env_command(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command's start would pay for them.
    from rich.console import Console

    from envprobe.model.scenario import load_scenario
    from envprobe.solving.keep import keep_environment

    scenario = load_scenario(args.scenario)
    console = Console(stderr=True)
    with spinner(console, quiet=args.json) as progress:
        kept = keep_environment(
            scenario,
            args.dir,
            force=args.force,
            index_url=args.index_url,
            extra_index_urls=args.extra_index_urls,
            find_links=args.find_links,
            no_index=args.no_index,
            installer=args.installer,
            store_path=args.store,
            events=event_lines(console, progress, scenario.name, _SHOWN),
        )
    if args.json:
        print(json.dumps(kept.to_dict()))
    else:
        print(_summary(kept))
    return 0 if kept.ok else 1


def _summary(kept: KeptEnvironment) -> str:
    """A few lines for a person: where the environment is, and whether it passed."""
    where = "the store's answer" if kept.answer == "store" else "solved just now"
    took = f"{kept.seconds.get('total', 0.0):.1f} s"
    if kept.failure is None:
        return (f"{kept.folder}: {len(kept.installed)} packages of {kept.scenario} ({where}) "
                f"with {kept.installer}, the probe code passed there ({took})\n"
                f"use it: {kept.python}")
    lines = [f"{kept.folder}: FAILED {kept.failure.summary()}"]
    if kept.failure.log_excerpt:
        lines += ["", kept.failure.log_excerpt.rstrip(), ""]
    lines.append(f"the environment is kept at {kept.folder} for a look (--force replaces it)")
    return "\n".join(lines)
