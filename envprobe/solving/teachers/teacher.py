"""The dispatcher: hand a failed probe to the teacher of its failure kind.

Teachers never guess: a rule is only written when the failure's evidence (the
child's structured outcome, the installer's parsed log, a static scan of
wheels, or a confirming probe) supports it, and the rule says which of those
it rests on. A failure that teaches nothing new makes the solver stop with
`undecided`, not loop.
"""

from __future__ import annotations

from collections.abc import Callable

from packaging.requirements import Requirement
from packaging.utils import NormalizedName
from packaging.version import Version

from envprobe.model.outcome import FailureKind, ProbeOutcome
from envprobe.solving.teachers.common import Case, Defer, Lesson, Reprobe, Scanner, Tools
from envprobe.solving.teachers.dependency import dependency_check
from envprobe.solving.teachers.heuristic import blame
from envprobe.solving.teachers.installer import build_failed, declared_conflict, no_distribution
from envprobe.solving.teachers.keyword import removed_keyword
from envprobe.solving.teachers.module import missing_module
from envprobe.solving.teachers.symbol import missing_symbol

__all__ = ["Teacher"]

_TEACHERS: dict[FailureKind, Callable[[Tools, Case, Lesson], None]] = {
    FailureKind.MISSING_SYMBOL: missing_symbol,
    FailureKind.MISSING_ATTRIBUTE: missing_symbol,  # the same question, asked at call time
    FailureKind.REMOVED_KEYWORD: removed_keyword,
    FailureKind.MISSING_MODULE: missing_module,
    FailureKind.DEPENDENCY_CHECK: dependency_check,
    FailureKind.DECLARED_CONFLICT: declared_conflict,
    FailureKind.NO_DISTRIBUTION: no_distribution,
    FailureKind.BUILD_FAILED: build_failed,
}


class Teacher:
    """Learns from failures; owns no state beyond the tools it is given."""

    def __init__(
        self,
        scanner: Scanner,
        releases: Callable[[str], list[Version]],
        reprobe: Reprobe,
        declared: Callable[[str, Version], list[Requirement]],
        released: Callable[[str, Version], str | None],
        confirm: bool = True,
        extras: Callable[[str, Version], dict[str, list[Requirement]]] | None = None,
        micro_probed: Callable[[str, Version], bool] | None = None,
        defer: Defer | None = None,
        known: Callable[[str], list[Version]] | None = None,
        wheeled: Callable[[str, Version], bool] | None = None,
    ) -> None:
        self._tools = Tools(scanner, releases, reprobe, declared, released, confirm, extras,
                            micro_probed, defer, known, wheeled)

    def learn(self, outcome: ProbeOutcome, pins: dict[NormalizedName, Version]) -> Lesson:
        lesson = Lesson()
        if outcome.failure is None:
            return lesson
        case = Case(outcome.failure, outcome, pins, len(self._tools.scanner.scanned))
        _TEACHERS.get(outcome.failure.kind, blame)(self._tools, case, lesson)
        return lesson
