"""Flags that several commands share, declared once so their names and help never drift.

Each `add_*` function adds one group of flags to a subcommand's parser; the
argparse types reject bad numbers at parse time, so handlers never see them.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envprobe.model.choices import INSTALLERS, MAX_SECONDS
from envprobe.paths import default_store_path

__all__ = [
    "add_installer",
    "add_isolation",
    "add_json",
    "add_refresh",
    "add_sources",
    "add_store",
    "positive_float",
    "positive_int",
    "seconds",
]


def _positive(kind: Callable[[str], float], words: str,
              most: float | None = None) -> Callable[[str], Any]:
    """An argparse type: a finite `kind(text)` above zero (NaN and inf are not), up to `most`."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"not {words}: {text!r}") from None
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be a positive finite number: {text!r}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:g}: {text!r}")
        return value

    return parse


positive_float = _positive(float, "a number")
positive_int = _positive(int, "a whole number")
seconds = _positive(float, "a number of seconds", most=MAX_SECONDS)


def add_sources(parser: argparse.ArgumentParser) -> None:
    """Package sources, as pip's options; unset ones come from pip's configuration."""
    parser.add_argument("--index-url", metavar="URL",
                        help="package index to install from (default: pip's configuration)")
    parser.add_argument("--extra-index-url", dest="extra_index_urls", action="append",
                        default=[], metavar="URL", help="an additional package index (repeatable)")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR",
                        help="a folder (or URL) of distributions to install from (repeatable)")
    # None, not False: "not given" lets pip's own configuration decide.
    parser.add_argument("--no-index", action="store_true", default=None,
                        help="use no package index, only --find-links")


def add_installer(parser: argparse.ArgumentParser, *, default: str | None, fallback: str) -> None:
    """`--installer`; `fallback` says in words what an unset flag means for this command."""
    parser.add_argument("--installer", choices=INSTALLERS, default=default,
                        help=f"pip (in a virtualenv) or uv; auto picks uv when it is installed "
                        f"(default: {fallback})")


def add_isolation(parser: argparse.ArgumentParser) -> None:
    """What the untrusted processes of a probe may see besides the minimum they need."""
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                        type=_variable_name,
                        help="let builds and the probe code see this environment variable "
                        "(repeatable); by default they see only what installers need, and a "
                        "throwaway HOME")
    parser.add_argument("--network", action="store_true",
                        help="let the probe code use the network (installs always may); by "
                        "default it has none where the kernel allows user namespaces")


def _variable_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        raise argparse.ArgumentTypeError(f"not an environment variable name: {text!r}")
    return text


def add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=Path, metavar="PATH",
                        help=f"SQLite store of probes and results (default: "
                        f"{default_store_path()}, or $ENVPROBE_STORE)")


def add_refresh(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--refresh", action="store_true",
                        help="probe again even where the store holds an answer")


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true",
                        help=f"print exactly one JSON object ({what}) on stdout")
