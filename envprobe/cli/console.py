"""What commands show a person on stderr: a spinner while they work, errors in one line.

Commands hand the spinner's callback to the engine, which reports steps as
plain strings and never prints; under `--json` or when stderr is not a
terminal the callback does nothing, so stdout and logs stay clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

__all__ = ["one_line", "spinner"]


@contextmanager
def spinner(console: Console, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """Yield a callback that shows its latest message beside a spinner."""
    if quiet or not console.is_terminal:
        yield lambda message: None
        return
    with console.status("starting") as status:
        yield lambda message: status.update(message)


def one_line(error: BaseException) -> str:
    """The error's message folded onto one line; an OSError as `file: reason`."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__
