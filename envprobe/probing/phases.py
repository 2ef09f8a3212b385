"""What a long install is doing now, read from its log as it grows.

A NeMo install runs for minutes; "installing 11 requirement(s)" for all of
them tells the user nothing. pip and uv both say what they are at
(collecting, downloading, building, installing), so a thread follows the
log the installer writes and reports the phase, its subject and the time
spent so far. It never changes what is installed: it only reads.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["Phase", "phase_of", "watch_log"]

_POLL_SECONDS = 0.5

# (pattern, phase): its first group, if any, names the subject; pip's words, then uv's.
_MARKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s*Collecting (\S+)"), "resolving"),
    (re.compile(r"^\s*Downloading (\S+)"), "downloading"),
    (re.compile(r"^\s*(?:Building wheel for|Building|Built) (\S+)"), "building"),
    (re.compile(r"^\s*Getting requirements to build wheel"), "building"),
    (re.compile(r"^\s*Installing collected packages: (.+)"), "installing"),
    (re.compile(r"^\s*Resolved (\d+ packages?)"), "resolved"),
    (re.compile(r"^\s*Prepared (\d+ packages?)"), "downloaded"),
    (re.compile(r"^\s*Installed (\d+ packages?)"), "installed"),
)


class Phase:
    """The installer's current phase, its subject, and how many subjects it has met."""

    def __init__(self) -> None:
        self.name = ""
        self.subject = ""
        self.counts: dict[str, int] = {}

    def read(self, line: str) -> bool:
        """Take one log line; True when it moved the phase or its subject."""
        found = phase_of(line)
        if found is None:
            return False
        name, subject = found
        self.counts[name] = self.counts.get(name, 0) + 1
        changed = (name, subject) != (self.name, self.subject)
        self.name, self.subject = name, subject
        return changed

    def words(self) -> str:
        if not self.name:
            return ""
        count = self.counts.get(self.name, 0)
        many = f" #{count}" if self.name in ("downloading", "resolving") and count > 1 else ""
        return f"{self.name} [{self.subject}{many}]" if self.subject else self.name


def phase_of(line: str) -> tuple[str, str] | None:
    """(phase, subject) a log line announces, or None."""
    for pattern, name in _MARKS:
        if match := pattern.search(line):
            subject = match.group(1) if match.groups() else ""
            if name == "installing":
                subject = f"{len(subject.split(','))} packages"
            return name, subject
    return None


@contextlib.contextmanager
def watch_log(log_path: Path | None, label: str, say: Callable[[str], None],
              *, tick: float = _POLL_SECONDS) -> Iterator[Phase]:
    """Report `label: phase (N s)` while the block runs and the log at `log_path` grows
    (just `label (N s)` without a log to follow)."""
    phase, stop = Phase(), threading.Event()
    started = time.monotonic()

    def follow() -> None:
        offset, partial = 0, ""
        while not stop.wait(tick):
            chunk = _read_from(log_path, offset) if log_path is not None else b""
            offset += len(chunk)
            lines = (partial + chunk.decode("utf-8", "replace")).split("\n")
            partial = lines.pop()
            for line in lines:
                phase.read(line.split("\r")[-1])
            words = phase.words()
            elapsed = f"({time.monotonic() - started:.0f} s)"
            say(f"{label}: {words} {elapsed}" if words else f"{label} {elapsed}")

    thread = threading.Thread(target=follow, name="install-phases", daemon=True)
    thread.start()
    try:
        yield phase
    finally:
        stop.set()
        thread.join(timeout=5 * tick)  # a daemon: never let a stuck report hold up the work


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read()
    except OSError:
        return b""  # not written yet
