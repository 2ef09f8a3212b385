"""Missing module: no installed distribution ships a module the code imports.

The module usually comes from a distribution nobody declared (`pkg_resources`
from an old setuptools). Which one? The release of each candidate that was
current when the importer came out answers it in one wheel read; failing an
upload date, the likeliest candidates are scanned. The owner's releases are
then searched for the one that dropped the module.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import packages_distributions

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.errors import EnvprobeError
from envprobe.model.rules import BoundaryMethod, ImportCheck, Rule, RuleKind, specifier_for
from envprobe.solving.boundary import gallop_static
from envprobe.solving.teachers import undeclared
from envprobe.solving.teachers.common import (
    Case,
    Lesson,
    Tools,
    boundary_of,
    ids,
    installed_version,
    where,
)

__all__ = ["missing_module"]

_MAX_OWNER_CANDIDATES = 12
_SIMILAR = 0.6


def missing_module(tools: Tools, case: Case, lesson: Lesson) -> None:
    failure = case.failure
    module = failure.name or ""
    if not module:
        lesson.notes.append(f"no module name in: {failure.message}")
        return
    # An extra of the importer that names a provider is better evidence than any
    # scan of the environment's past, and costs one metadata read and one wheel.
    if undeclared.from_importers_extras(tools, case, lesson, module):
        return
    candidates = _owner_candidates(tools, case, module)
    era = (tools.released(failure.importer_package, Version(failure.importer_version))
           if failure.importer_package and failure.importer_version else None)
    dated = _owner_in_era(tools, case, module, candidates, era) if era is not None else None
    importer = canonicalize_name(failure.importer_package) if failure.importer_package else None
    for owner in [dated] if dated else candidates[:_MAX_OWNER_CANDIDATES]:
        failing = installed_version(owner, None, case)
        if failing is None:
            continue
        releases = tools.releases(owner)
        search = gallop_static(
            releases, failing, lambda v, o=owner: tools.scanner.has_module(o, v, module)
        )
        if not search.found or search.direction != "removed":
            continue
        boundary = boundary_of(owner, module, module, search, BoundaryMethod.STATIC)
        lesson.boundaries.append(boundary)
        lesson.learn(Rule(
            requires=f"{owner}{specifier_for(search.allowed(releases), releases)}",
            because=f"{importer or 'the probe'} imports module {module}{where(failure)}; "
                    f"{owner} shipped it up to {search.last_with} and not from "
                    f"{search.first_without}",
            kind=RuleKind.MISSING_MODULE,
            package=importer,
            when_imports=ImportCheck(module, "", failure.importer_version) if importer else None,
            evidence=ids(case.outcome),
            scanned=case.scanned(tools),
            boundary=boundary.key,
        ))
        return
    if undeclared.from_the_index(tools, case, lesson, module):
        return
    lesson.notes.append(f"no installed distribution ever shipped module {module!r}, and no "
                        "project on the index was found to provide it")


def _owner_candidates(tools: Tools, case: Case, module: str) -> list[NormalizedName]:
    """Distributions that may once have shipped `module`, likeliest first."""
    ranked: list[NormalizedName] = []
    if case.failure.package:
        ranked.append(canonicalize_name(case.failure.package))
    # A hint, not evidence: envprobe's own interpreter may still have an older
    # release that ships the module (setuptools and pkg_resources, say). The
    # wheel scan is what proves it either way.
    top = module.split(".")[0]
    ranked += [canonicalize_name(d) for d in _distributions_here().get(top, [])
               if canonicalize_name(d) not in ranked]
    installed = {canonicalize_name(n): v for n, v in case.outcome.installed.items()}
    dependents = _dependents(tools, installed)
    key = canonicalize_name(top)

    def likelihood(name: NormalizedName) -> tuple[bool, int, float]:
        # A similar name first (scikit-learn ships sklearn); then the distributions
        # most of the environment leans on, where undeclared imports usually land.
        similarity = difflib.SequenceMatcher(None, key, name).ratio()
        return similarity < _SIMILAR, -dependents.get(name, 0), -similarity

    ranked += sorted((n for n in installed if n not in ranked), key=likelihood)
    return ranked


@functools.cache
def _distributions_here() -> Mapping[str, list[str]]:
    """Top-level module -> distributions in envprobe's own interpreter; read once (~0.3 s)."""
    return packages_distributions()


def _owner_in_era(tools: Tools, case: Case, module: str, candidates: list[NormalizedName],
                  era: str) -> NormalizedName | None:
    """The first candidate whose release current when the importer came out ships `module`.

    The importer was written against the world of its release date, so one
    wheel per candidate (its newest release from then) answers the question;
    checked in parallel, likeliest first, a batch at a time.
    """
    def shipped_then(name: NormalizedName) -> bool:
        installed = installed_version(name, None, case)
        then = [v for v in tools.releases(name)
                if installed is not None and v < installed
                and (tools.released(name, v) or "~") <= era]
        return bool(then) and tools.scanner.has_module(name, then[-1], module) is True

    with ThreadPoolExecutor(max_workers=8) as pool:
        for start in range(0, len(candidates), 16):
            batch = candidates[start:start + 16]
            for name, shipped in zip(batch, pool.map(shipped_then, batch), strict=True):
                if shipped:
                    return name
    return None


def _dependents(tools: Tools, installed: dict[NormalizedName, str]) -> dict[NormalizedName, int]:
    """How many installed distributions declare each one (metadata only, in parallel)."""

    def requires(item: tuple[NormalizedName, str]) -> set[NormalizedName]:
        try:
            return {canonicalize_name(r.name) for r in tools.declared(item[0], Version(item[1]))}
        except (EnvprobeError, InvalidVersion, OSError):
            return set()

    counts: dict[NormalizedName, int] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for names in pool.map(requires, installed.items()):
            for name in names:
                counts[name] = counts.get(name, 0) + 1
    return counts
