"""`python -m manual_export export|transcribe ...`: the same subcommands envprobe registers."""

from __future__ import annotations

import argparse
import sys

from manual_export.cli import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m manual_export")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
