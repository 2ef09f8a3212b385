"""Failures the installer reports before any code runs: conflicts, missing files, builds.

Each rests on the installer's own log, parsed into typed values by the
probing layer; nothing here reads installer wording.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

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
    """A build that imports an undeclared module: pre-install it, build without isolation.

    A build that fails without naming a cause (tokenizers' Rust toolchain) is taken
    as a build or wheel problem on this Python: the project is kept to its releases
    that ship a wheel for this interpreter, so the resolver moves on to a set that
    installs rather than give up.
    """
    failure = case.failure
    built, missing = failure.package, failure.name
    if built and not missing and \
            (rule := _wheels_only(tools, case, canonicalize_name(built))) is not None:
        lesson.learn(rule)
        return
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


def _wheels_only(tools: Tools, case: Case, name: NormalizedName) -> Rule | None:
    """`name` kept to the releases with a wheel for this interpreter, or None when the
    index's files cannot say so (no release has one, or the failed one had one)."""
    if tools.wheeled is None or tools.known is None:
        return None
    releases = tools.known(name)
    with_wheel = [v for v in releases if tools.wheeled(name, v)]
    without = [v for v in releases if v not in with_wheel]
    failed = _failed_release(case, name)
    if not with_wheel or not without or (failed is not None and failed in with_wheel):
        return None
    # Exactly the releases with a wheel: a floor at the first, holes for any after it.
    floor = min(with_wheel)
    specifier = ",".join([f">={floor}", *(f"!={v}" for v in without if v > floor)])
    probe = f" (probe #{case.outcome.probe_id})" if case.outcome.probe_id is not None else ""
    return Rule(
        requires=f"{name}{specifier}",
        because=f"building {release_words(name, str(failed) if failed else None)} from its "
                f"sdist failed without naming a cause{probe}; inferred from that failed build: "
                f"{name}'s releases without a wheel for this interpreter do not build here, so "
                f"only releases with one are kept",
        kind=RuleKind.NO_WHEEL,
        evidence=ids(case.outcome),
    )


def _failed_release(case: Case, name: NormalizedName) -> Version | None:
    """The release whose build failed: as the log states it, else as the set pinned it."""
    if case.failure.version:
        try:
            return Version(case.failure.version)
        except InvalidVersion:
            pass
    return case.pins.get(name)
