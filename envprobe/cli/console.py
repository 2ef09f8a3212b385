"""What commands show a person on stderr: a spinner while they work, errors in one line.

Commands hand the spinner's callback to the engine, which reports steps as
plain strings and never prints; under `--json` or when stderr is not a
terminal the callback does nothing, so stdout and logs stay clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

__all__ = ["event_lines", "one_line", "spinner"]


@contextmanager
def spinner(console: Console, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """Yield a callback that shows its latest message beside a spinner."""
    if quiet or not console.is_terminal:
        yield lambda message: None
        return
    with console.status("starting") as status:
        yield lambda message: status.update(message)


def event_lines(console: Console, progress: Callable[[str], None], name: str,
                shown: dict[str, str]) -> Callable[[str, str], None]:
    """An engine's event callback: every event on the spinner, the notable ones (`shown`:
    kind -> leading word) also as a line of their own, terminal or not."""

    def events(kind: str, text: str) -> None:
        progress(f"{name}: {text}")
        if kind in shown:
            console.print(f"{shown[kind]} {text}", highlight=False, markup=False)

    return events


def one_line(error: BaseException) -> str:
    """The error's message folded onto one line; an OSError as `file: reason`."""
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return " ".join(str(error).split()) or type(error).__name__
