"""What a long install is doing now, read from its log as it grows.

A NeMo install runs for minutes; "installing 11 requirement(s)" for all of
them tells the user nothing. pip and uv both say what they are at
(collecting, downloading, building, installing), so the log the installer
writes is read as it grows, and the phase, its subject and the time spent
so far are reported. It never changes what is installed: it only reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["LogWatcher", "Phase", "phase_of"]

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


class LogWatcher:
    """`tick()` reads what the log gained and reports `label: phase [subject] (N s)`.

    It is ticked by `processes.run` from the thread that waits for the command,
    so progress needs no thread of its own (and no lock a Ctrl-C could strand).
    Without a log (`log_path` None) it reports `label (N s)`.
    """

    def __init__(self, log_path: Path | None, label: str, say: Callable[[str], None]) -> None:
        self.phase = Phase()
        self._log_path, self._label, self._say = log_path, label, say
        self._offset, self._partial = 0, ""
        self._started = time.monotonic()

    def tick(self) -> None:
        chunk = _read_from(self._log_path, self._offset) if self._log_path is not None else b""
        self._offset += len(chunk)
        lines = (self._partial + chunk.decode("utf-8", "replace")).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self.phase.read(line.split("\r")[-1])
        words = self.phase.words()
        elapsed = f"({time.monotonic() - self._started:.0f} s)"
        self._say(f"{self._label}: {words} {elapsed}" if words else f"{self._label} {elapsed}")


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read()
    except OSError:
        return b""  # not written yet
