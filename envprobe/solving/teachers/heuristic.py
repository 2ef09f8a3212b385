"""Any other failure: exclude the release whose own code raised.

A heuristic, and labelled so in the rule: the frame that raised is evidence
of where the error surfaced, not proof of where it was caused.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from envprobe.model.rules import Rule, RuleKind
from envprobe.solving.teachers.common import Case, Lesson, Tools, ids

__all__ = ["blame"]


def blame(tools: Tools, case: Case, lesson: Lesson) -> None:
    failure = case.failure
    frame = next((f for f in reversed(failure.frames) if f.package and f.version), None)
    if frame is None:
        lesson.notes.append(f"nothing to learn from {failure.kind.value}: {failure.message}")
        return
    name = canonicalize_name(frame.package)
    lesson.rules.append(Rule(
        requires=f"{name}!={frame.version}",
        because=f"heuristic: {failure.kind.value} raised in {name} {frame.version} "
                f"({frame.file}:{frame.line}): {failure.message}",
        kind=RuleKind.BLAMED,
        evidence=ids(case.outcome),
    ))
    lesson.universe.add(name)
