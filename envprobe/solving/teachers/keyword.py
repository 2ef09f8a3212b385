"""Removed keyword: the code calls a function with a keyword the function no longer takes.

The callee's distribution is searched for the release where the keyword
left its signature: by reading the function's definition in each release's
wheel where the scanner can, else by bisecting with real installs. The rule
holds the caller's releases (those that import the callee's module) to the
callee's releases that still take the keyword.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from envprobe.model.rules import ImportCheck, Rule, RuleKind
from envprobe.solving.teachers.common import (
    Case,
    Lesson,
    Tools,
    ids,
    installed_version,
    release_words,
    where,
)
from envprobe.solving.teachers.symbol import find_boundary, good_side, no_wheel_words

__all__ = ["removed_keyword"]


def removed_keyword(tools: Tools, case: Case, lesson: Lesson) -> None:
    failure = case.failure
    keyword, function, module = failure.name or "", failure.function or "", failure.module or ""
    owner = canonicalize_name(failure.package) if failure.package else None
    failing = installed_version(owner, failure.version, case) if owner else None
    if not (keyword and function and module and owner and failing):
        lesson.notes.append(f"cannot tell whose function dropped keyword {keyword!r}: "
                            f"{failure.message}")
        return
    releases = tools.releases(owner)
    label = f"{function}({keyword}=)"
    search, boundary = find_boundary(
        tools, case, lesson, owner, failing, releases, label, module,
        lambda v: tools.scanner.accepts_keyword(owner, v, module, function, keyword))
    lesson.boundaries.append(boundary)
    if not search.found or search.direction != "removed":
        lesson.notes.append(f"no release of {owner} that was checked takes keyword {keyword!r} "
                            f"in {function}()")
        return
    importer = canonicalize_name(failure.importer_package) if failure.importer_package else None
    who = release_words(importer, failure.importer_version) if importer else "the probe"
    lesson.learn(Rule(
        requires=f"{owner}{good_side(tools, owner, search, releases)}",
        because=f"{who} calls {module}.{function}() with keyword {keyword}{where(failure)}; "
                f"{owner} takes it up to {search.last_with} and not from {search.first_without}"
                f"{no_wheel_words(tools, owner, search, releases)}",
        kind=RuleKind.REMOVED_KEYWORD,
        package=importer,
        when_imports=ImportCheck(module, "", failure.importer_version) if importer else None,
        evidence=ids(case.outcome, *lesson.probes),
        scanned=case.scanned(tools),
        boundary=boundary.key,
    ))
