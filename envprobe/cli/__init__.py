"""The `envprobe` command: one parser, one module per subcommand.

Exit codes: 0 success, 1 the probe or solve failed, 2 bad usage or input (one
line on stderr, never a traceback), 130 interrupted. `main` is the one place
that maps errors to exit codes; handlers return 0 or 1 and raise the rest
(export and transcribe excepted: their JSON contract, see `cli.export`).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Sequence

from envprobe import __version__
from envprobe.cli import diagnose, env, export, probe, report, solve
from envprobe.cli import map as map_
from envprobe.cli.console import one_line
from envprobe.errors import EnvprobeError, UsageError

__all__ = ["build_parser", "main", "run"]

EXIT_FAILED, EXIT_INTERRUPTED = 1, 130
# The module that registers each command: a command line that names one builds its parser
# alone (every command's arguments are 6 ms of argparse, a probe's start pays them).
_COMMANDS = {"probe": probe, "solve": solve, "diagnose": diagnose, "map": map_,
             "report": report, "env": env, "export": export, "transcribe": export}
# Set by a command that ended with nothing left to close (`probe`: its answer printed and
# stored, its processes and folder gone); `run` then skips the interpreter's teardown.
_nothing_left_open = False


class _Terminated(Exception):
    """SIGTERM, turned into an exception so cleanup code runs as for Ctrl-C."""


class _UsageError(UsageError):
    """A parse error, said by the parser that met it (`envprobe` or `envprobe solve`)."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(self.prog, message)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser of every command; of the command `argv` starts with, when it names one."""
    parser = _Parser(
        prog="envprobe",
        description="Find Python package sets that really import, with evidence.",
    )
    parser.add_argument("--version", action="version", version=f"envprobe {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    chosen = _COMMANDS.get(argv[0]) if argv else None
    for command in (chosen,) if chosen else dict.fromkeys(_COMMANDS.values()):
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    global _nothing_left_open
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
        code = args.func(args)
        _nothing_left_open = getattr(args, "nothing_left_open", False)
        return code
    except EnvprobeError as error:
        prog = getattr(error, "prog", "envprobe")
        print(f"{prog}: {_unprefixed(one_line(error), prog)}", file=sys.stderr)
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


def run() -> None:
    """The `envprobe` program: `main`, then the exit.

    After a command that leaves nothing open, the interpreter's teardown of
    the modules it imported (20 ms, a twentieth of a small probe) is skipped.
    """
    code = main()
    if _nothing_left_open:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _unprefixed(message: str, prog: str) -> str:
    """The message without a program prefix of its own: the line says `envprobe:` once."""
    prefix = re.compile(rf"^(?:{re.escape(prog)}|envprobe(?: \w+)?):\s*")
    while (shorter := prefix.sub("", message, count=1)) != message:
        message = shorter
    return message or "failed"


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated()
