"""Import-time dependency check: a package rejected an installed version and raised.

The message names the range it wanted ("helperlib>=1.0,<2 is required ...",
"pyarrow requires NumPy 2.0 or newer"); the failure parser extracted it. The
rule binds the checking package only, since another release may check for
something else. Which releases check is asked of the releases themselves:
each installed alone beside the rejected version, in a micro-probe, the
search galloping out from the failing release. Without that answer the rule
binds the failing release alone, and the solver learns one release at a time.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.model.outcome import Failure
from envprobe.model.rules import Rule, RuleKind
from envprobe.solving.boundary import Search, gallop_static
from envprobe.solving.teachers.common import Case, Lesson, Tools, ids, release_words, requirement

__all__ = ["dependency_check"]


def dependency_check(tools: Tools, case: Case, lesson: Lesson) -> None:
    failure = case.failure
    checker, version, module = _checker(failure)
    who = release_words(checker, version) if checker else "a package"
    for text in failure.requirements:
        required = requirement(text)
        if required is None:
            continue
        versions = f"=={version}" if checker and version else ""
        because = f"{who} checks at import time: {failure.message}"
        search = _checking_releases(tools, failure, checker, version, module, required)
        if search is not None and search.found:
            versions, edge = _edge_words(search)
            because += f"; {checker} releases {edge} (each release asked beside " \
                       f"{_rejected(failure, required)}, micro-probes)"
        lesson.rules.append(Rule(
            requires=str(required),
            because=because,
            kind=RuleKind.DEPENDENCY_CHECK,
            package=canonicalize_name(checker) if checker else None,
            versions=versions,
            evidence=ids(case.outcome),
        ))
        lesson.universe.add(canonicalize_name(required.name))
        if checker:
            lesson.universe.add(canonicalize_name(checker))


def _checker(failure: Failure) -> tuple[str | None, str | None, str | None]:
    """The distribution whose code raised, its release, and its top-level module.

    The raising frame may be compiled code no distribution lists (pyarrow's
    `lib.pyx`); the innermost frame that has an owner is then the checker.
    """
    owned = [f for f in failure.frames if f.package]
    last = owned[-1] if owned else None
    checker = failure.importer_package or (last.package if last else None)
    version = failure.importer_version or (last.version if last else None)
    module = last.file.split("/")[0] if last and last.package == checker else None
    return checker, version, module


def _rejected(failure: Failure, required: Requirement) -> str:
    """The pin the check refused, e.g. `numpy==1.26.4`."""
    name = failure.package or required.name
    return f"{name}=={failure.version}" if failure.version else name


def _checking_releases(tools: Tools, failure: Failure, checker: str | None,
                       version: str | None, module: str | None,
                       required: Requirement) -> Search | None:
    """Which releases of the checker refuse the rejected version, by micro-probes."""
    if not (checker and version and module and failure.version):
        return None
    try:
        failing = Version(version)
    except InvalidVersion:
        return None
    name = canonicalize_name(checker)
    beside = (_rejected(failure, required),)
    return gallop_static(tools.releases(name), failing, lambda v: tools.scanner.imports_alongside(
        name, v, module, beside))


def _edge_words(search: Search) -> tuple[str, str]:
    """The checking releases as a specifier, and in words."""
    if search.direction == "removed":
        return (f">={search.first_without}",
                f"up to {search.last_with} accept it; from {search.first_without} on they refuse it")
    return (f"<{search.first_with}",
            f"up to {search.last_without} refuse it; from {search.first_with} on they accept it")
