"""What commands show a person on stderr: a spinner while they work, errors in one line.

Commands hand the spinner's callback to the engine, which reports steps as
plain strings and never prints; under `--json` or when stderr is not a
terminal the callback does nothing, so stdout and logs stay clean.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich costs a tenth of a second to import: only where something is shown
    from rich.console import Console

_LASTS_SECONDS = 2.0  # a phase shorter than this gets no line of its own in a plain log

__all__ = ["event_lines", "one_line", "spinner"]


@contextmanager
def spinner(console: Console | None, *, quiet: bool,
            clock: Callable[[], float] = time.monotonic) -> Iterator[Callable[[str], None]]:
    """Yield a callback that shows its latest message beside a spinner (`console`: None
    only when `quiet`)."""
    if quiet or console is None:
        yield lambda message: None
        return
    if not console.is_terminal:
        yield _plain_lines(console, clock)
        return
    with console.status("starting") as status:
        yield lambda message: status.update(message)


def _plain_lines(console: Console, clock: Callable[[], float]) -> Callable[[str], None]:
    """Without a terminal: a line for each phase that lasts (a log, not a spinner: the time
    and the package of the moment are left out; a short run stays silent)."""
    current = {"key": "", "since": 0.0, "shown": ""}

    def show(message: str) -> None:
        key = re.sub(r"\s*[\[(][^\])]*[\])]", "", message)  # no [subject], no (elapsed)
        now = clock()
        if key != current["key"]:
            current.update(key=key, since=now)
        elif now - current["since"] >= _LASTS_SECONDS and current["shown"] != key:
            current["shown"] = key
            # Written straight to the stream: this runs on the progress thread, and rich's
            # lock must never be one an interrupted main thread waits on.
            console.file.write(f"... {key}\n")
            console.file.flush()

    return show


def event_lines(console: Console, progress: Callable[[str], None], name: str,
                shown: dict[str, str]) -> Callable[[str, str], None]:
    """An engine's event callback: every event on the spinner, the notable ones (`shown`:
    kind -> leading word) also as a line of their own, terminal or not."""

    def events(kind: str, text: str) -> None:
        if kind == "progress" or console.is_terminal:  # a plain log has the lines below
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
