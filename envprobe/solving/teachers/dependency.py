"""Import-time dependency check: a package rejected an installed version and raised.

The message names the range it wanted ("helperlib>=1.0,<2 is required ...");
the failure parser extracted it. The rule is about the checking release only,
since another release may check for something else.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from envprobe.model.rules import Rule, RuleKind
from envprobe.solving.teachers.common import Case, Lesson, Tools, ids, release_words, requirement

__all__ = ["dependency_check"]


def dependency_check(tools: Tools, case: Case, lesson: Lesson) -> None:
    failure = case.failure
    # The raising frame's distribution did the check; `package` is the one it rejected.
    last = failure.frames[-1] if failure.frames else None
    checker = failure.importer_package or (last.package if last else None)
    version = failure.importer_version or (last.version if last else None)
    who = release_words(checker, version) if checker else "a package"
    for text in failure.requirements:
        required = requirement(text)
        if required is None:
            continue
        lesson.rules.append(Rule(
            requires=str(required),
            because=f"{who} checks at import time: {failure.message}",
            kind=RuleKind.DEPENDENCY_CHECK,
            package=canonicalize_name(checker) if checker else None,
            versions=f"=={version}" if checker and version else "",
            evidence=ids(case.outcome),
        ))
        lesson.universe.add(canonicalize_name(required.name))
        if checker:
            lesson.universe.add(canonicalize_name(checker))
