"""Which of a failed probe's read-ahead suspects the provider's release really lacks.

The probe child lists imports it would have met next (`probing/child_lookahead.py`),
judged by a cheap look at the installed files. A suspect becomes a case to learn
from only when the static reading of the provider's release says the name is
not there (a missing module needs no check: no finder on the environment's
`sys.path` knew it). Each one learned here is an install not spent on meeting it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from packaging.version import InvalidVersion, Version

from envprobe.model.outcome import FailureKind, ProbeOutcome
from envprobe.model.rules import BoundaryKey

__all__ = ["read_ahead_cases"]


def read_ahead_cases(outcome: ProbeOutcome, scanner,
                     known: Callable[[], set[BoundaryKey]]) -> Iterator[ProbeOutcome]:
    """The outcome again, once per proven suspect, with that suspect as its failure.

    Lazy, so each suspect is weighed after the lessons before it: a name whose
    boundary an earlier case already found (`known`) is not asked again.
    """
    failure = outcome.failure
    if failure is None:
        return
    met = (failure.module, failure.name)
    for suspect in failure.ahead:
        if (suspect.module, suspect.name) == met:
            continue
        if (suspect.package, suspect.module, suspect.name) in known():
            continue
        if suspect.kind is FailureKind.MISSING_SYMBOL and not _lacks(scanner, suspect):
            continue
        yield replace(outcome, failure=suspect)


def _lacks(scanner, suspect) -> bool:
    """The static reading of the provider's release says the name is not there."""
    if not (suspect.package and suspect.version and suspect.module and suspect.name):
        return False
    try:
        version = Version(suspect.version)
    except InvalidVersion:
        return False
    return scanner.provides(suspect.package, version, suspect.module, suspect.name) is False
