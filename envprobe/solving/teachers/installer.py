"""Failures the installer reports before any code runs: conflicts, missing files, builds.

Each rests on the installer's own log, parsed into typed values by the
probing layer; nothing here reads installer wording.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from envprobe.model.rules import InstallOption, Rule, RuleKind
from envprobe.solving.teachers.common import Case, Lesson, Tools, ids, release_words, requirement

__all__ = ["build_failed", "declared_conflict", "no_distribution", "valid_versions"]


def declared_conflict(tools: Tools, case: Case, lesson: Lesson) -> None:
    """Each "X V depends on R" line becomes a rule; R's project joins the resolution.

    The resolver only weighs projects it tracks; a project that is no target
    (helper, required by two targets in ranges that do not meet) is where the
    conflict lives, so tracking it is what lets the next proposal avoid it.
    """
    for demand in case.failure.demands:
        required = requirement(demand.requirement)
        if required is None or demand.package is None:
            continue
        parent = canonicalize_name(demand.package)
        lesson.universe |= {parent, canonicalize_name(required.name)}
        lesson.rules.append(Rule(
            requires=str(required),
            because=f"the installer reports: {demand.package}{demand.versions} depends on "
                    f"{demand.requirement}",
            kind=RuleKind.DECLARED,
            package=parent,
            versions=valid_versions(demand.versions),
            evidence=ids(case.outcome),
        ))


def valid_versions(text: str) -> str:
    """The installer's version range as a specifier packaging accepts.

    uv writes `torch>=2.13.0,<=2.13.0+cpu`; PEP 440 allows a local label only after
    `==` or `!=`. Without it, `<=2.13.0` admits the same releases (a bound without a
    label ignores candidates' labels). A range still unreadable covers every release.
    """
    try:
        SpecifierSet(text)
        return text
    except InvalidSpecifier:
        parts = [p.strip() for p in text.split(",")]
        cleaned = ",".join(p if p.startswith(("==", "!=")) else re.sub(r"\+[A-Za-z0-9.]*$", "", p)
                           for p in parts)
    try:
        SpecifierSet(cleaned)
        return cleaned
    except InvalidSpecifier:
        return ""


def no_distribution(tools: Tools, case: Case, lesson: Lesson) -> None:
    """A pinned release with no file for this interpreter is excluded; others are tracked."""
    failure = case.failure
    required = requirement(failure.name or "")
    if required is None:
        lesson.notes.append(f"cannot tell what has no distribution: {failure.message}")
        return
    name = canonicalize_name(required.name)
    if name in case.pins:
        lesson.rules.append(Rule(
            requires=f"{name}!={case.pins[name]}",
            because=f"no installable file of {name} {case.pins[name]} for this interpreter",
            kind=RuleKind.NO_DISTRIBUTION,
            evidence=ids(case.outcome),
        ))
    lesson.universe.add(name)


def build_failed(tools: Tools, case: Case, lesson: Lesson) -> None:
    """A build that imports an undeclared module: pre-install it, build without isolation."""
    failure = case.failure
    built, missing = failure.package, failure.name
    if not (built and missing):
        lesson.notes.append(f"a build failed without naming its cause: {failure.message}")
        return
    lesson.rules.append(Rule(
        requires=str(canonicalize_name(missing.split(".")[0])),
        because=f"building {release_words(built, failure.version)} imports {missing}, which "
                f"its build requirements do not declare: pre-install it and build without "
                f"isolation",
        kind=RuleKind.BUILD,
        package=canonicalize_name(built),
        evidence=ids(case.outcome),
        install_option=InstallOption.BUILD_WITHOUT_ISOLATION,
    ))
