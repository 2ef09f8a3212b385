"""Undeclared dependency: the code imports a module that no installed distribution provides.

On some code paths a package imports a module it never declares (NeMo's
export path imports `einops`, declared only in NeMo's `tts` extra; torch's
ONNX exporter imports `onnxscript`). Which distribution provides it, best
evidence first: the importer's own extras (a `Requires-Dist` with an
`extra == ...` marker naming it), then the project whose name is the
module's, then projects the importer or its environment mention whose
wheels ship that top-level module. Each candidate is confirmed by reading
one wheel, so the rule never names a distribution that lacks the module.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.errors import EnvprobeError
from envprobe.model.rules import ImportCheck, Rule, RuleKind
from envprobe.solving.teachers.common import Case, Lesson, Tools, ids, release_words, where

__all__ = ["from_importers_extras", "from_the_index"]

_MAX_CANDIDATES = 16
_SIMILAR = 0.6


def from_importers_extras(tools: Tools, case: Case, lesson: Lesson, module: str) -> bool:
    """The best evidence: the importer declares a provider of `module` in one of its extras."""
    importer, version = _importer(case)
    if importer is None or version is None or tools.extras is None:
        return False
    top = module.split(".")[0]
    offered: dict[NormalizedName, tuple[Requirement, list[str]]] = {}
    for extra, requirements in _safely(lambda: tools.extras(importer, version).items()):
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            offered.setdefault(name, (requirement, []))[1].append(extra)
    for requirement, extras in _likeliest(offered.values(), top, key=lambda item: item[0].name):
        if _ships(tools, requirement, top):
            names = ", ".join(repr(e) for e in sorted(extras))
            _learn(tools, case, lesson, module, requirement,
                   f"{importer} declares {canonicalize_name(requirement.name)} only in its "
                   f"extra {names}")
            return True
    return False


def from_the_index(tools: Tools, case: Case, lesson: Lesson, module: str) -> bool:
    """The project named as the module, then projects the environment mentions, by wheel."""
    top = module.split(".")[0]
    named = canonicalize_name(top.replace("_", "-"))
    if _ships(tools, Requirement(named), top):
        _learn(tools, case, lesson, module, Requirement(named),
               f"the project named {named} ships module {top}")
        return True
    mentioned = _mentioned(tools, case) - {named}
    for name in _likeliest(sorted(mentioned), top, key=str)[:_MAX_CANDIDATES]:
        if _ships(tools, Requirement(name), top):
            _learn(tools, case, lesson, module, Requirement(name),
                   f"{name}'s wheel ships module {top}")
            return True
    return False


def _learn(tools: Tools, case: Case, lesson: Lesson, module: str, provider: Requirement,
           evidence: str) -> None:
    failure = case.failure
    importer, version = _importer(case)
    name = canonicalize_name(provider.name)
    requires = f"{name}{provider.specifier}"
    who = release_words(importer, failure.importer_version) if importer else "the probe"
    lesson.learn(Rule(
        requires=requires,
        because=f"{who} imports {module} on this code path{where(failure)} but does not "
                f"declare it; {module} comes from {name} ({evidence})",
        kind=RuleKind.UNDECLARED,
        package=importer,
        when_imports=ImportCheck(module, "", str(version)) if importer and version else None,
        evidence=ids(case.outcome),
        scanned=case.scanned(tools),
    ))


def _importer(case: Case) -> tuple[NormalizedName | None, Version | None]:
    failure = case.failure
    if not failure.importer_package:
        return None, None
    name = canonicalize_name(failure.importer_package)
    try:
        return name, Version(failure.importer_version) if failure.importer_version else None
    except ValueError:
        return name, None


def _ships(tools: Tools, requirement: Requirement, top: str) -> bool:
    """Whether the newest release `requirement` allows ships the top-level module `top`."""
    name = canonicalize_name(requirement.name)
    releases = [v for v in _safely(lambda: tools.releases(name))
                if requirement.specifier.contains(v, prereleases=False)]
    return bool(releases) and tools.scanner.has_module(name, releases[-1], top) is True


def _mentioned(tools: Tools, case: Case) -> set[NormalizedName]:
    """Projects the installed distributions require (any extra) but the probe did not install."""
    installed = {canonicalize_name(n): v for n, v in case.outcome.installed.items()}
    mentioned: set[NormalizedName] = set()
    if tools.extras is None:
        return mentioned
    for name, text in installed.items():
        try:
            version = Version(text)
        except ValueError:
            continue
        for requirements in _safely(lambda n=name, v=version: tools.extras(n, v).values()):
            mentioned |= {canonicalize_name(r.name) for r in requirements}
    return mentioned - set(installed)


def _likeliest(items: Iterable, top: str, *, key) -> list:
    """Exact name first, then similar names, then the rest in their given order."""
    wanted = canonicalize_name(top.replace("_", "-"))

    def rank(item) -> tuple[bool, float]:
        name = canonicalize_name(key(item))
        similarity = difflib.SequenceMatcher(None, wanted, name).ratio()
        return name != wanted, -similarity if similarity >= _SIMILAR else 0.0

    return sorted(items, key=rank)


def _safely(call) -> list:
    """The answer, or nothing when the index does not know the project."""
    try:
        return list(call())
    except (EnvprobeError, OSError, ValueError):
        return []
