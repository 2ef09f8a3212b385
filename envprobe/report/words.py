"""Plain-word sentences about a solve result, shared by every renderer.

Markdown, terminal and constraints output say the same things about the same
evidence; writing each sentence once keeps them from drifting apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.model.rules import Boundary, Rule

if TYPE_CHECKING:
    from envprobe.model.result import Attempt, SolveResult

__all__ = [
    "attempt_verdict",
    "boundary_for",
    "chain_sentences",
    "cost_sentence",
    "evidence_words",
    "passing_probe",
    "pin_changes",
    "pin_evidence",
    "probe_ids",
    "version_key",
    "versions_of",
]



def probe_ids(ids: Iterable[int | None]) -> str:
    """`#3, #4`, or an empty string when no probe is known."""
    return ", ".join(f"#{i}" for i in ids if i is not None)


def version_key(text: str) -> tuple[int, Version | str]:
    """Sorts versions numerically; text that is no PEP 440 version goes last."""
    try:
        return (0, Version(text))
    except InvalidVersion:
        return (1, text)


def versions_of(attempt: Attempt) -> dict[str, str]:
    """Every version the attempt's environment held, by canonical name.

    The pins the solver chose win over what the installer reported, so a
    cached outcome with a sparse `installed` still counts.
    """
    found = {canonicalize_name(n): v for n, v in attempt.outcome.installed.items()}
    found.update({canonicalize_name(n): v for n, v in attempt.pins.items()})
    return found


def boundary_for(rule: Rule, boundaries: Iterable[Boundary]) -> Boundary | None:
    """The boundary a rule rests on: the one whose key the rule carries, if any."""
    if rule.boundary is None:
        return None
    package, module, symbol = rule.boundary
    wanted = (canonicalize_name(package), module, symbol)
    return next((b for b in boundaries
                 if (canonicalize_name(b.package), b.module, b.symbol) == wanted), None)


def evidence_words(rule: Rule, boundary: Boundary | None) -> str:
    """How a rule was established: static scans, bisection probes, confirmations."""
    parts = []
    if boundary is not None:
        wheels = len(boundary.checked)
        scanned = f"static scan of {wheels} wheel{'s' if wheels != 1 else ''}"
        if boundary.method == "probe":
            parts.append(f"bisection with real installs ({probe_ids(rule.evidence)})"
                         if rule.evidence else "bisection with real installs")
        elif boundary.method == "micro-probe":
            parts.append(f"{wheels} release{'s' if wheels != 1 else ''} checked: the wheel "
                         "read, and where it could not tell, the release installed alone and "
                         "asked (micro-probe)")
        else:
            parts.append(scanned)
        if boundary.confirmed_by:
            parts.append(f"confirmed by probe {probe_ids(boundary.confirmed_by)}")
        elif boundary.method == "static":
            parts.append("not confirmed by a probe")
    elif rule.evidence:
        parts.append(f"probe {probe_ids(rule.evidence)}")
    return ", ".join(parts)


def chain_sentences(result: SolveResult) -> list[str]:
    """One sentence per learned rule: what it says and the evidence behind it."""
    sentences = []
    for rule in result.rules:
        evidence = evidence_words(rule, boundary_for(rule, result.boundaries))
        sentences.append(f"{rule.because} ({evidence})" if evidence else rule.because)
    return sentences


def attempt_verdict(attempt: Attempt) -> str:
    outcome = attempt.outcome
    if outcome:
        return "passed"
    return outcome.failure.summary() if outcome.failure else "failed"


def pin_changes(previous: dict[str, str] | None, current: dict[str, str]) -> str:
    """What an attempt changed against the one before: `a 1.0 → 1.1`, `+b 2.0`, `-c`."""
    if previous is None:
        return ", ".join(f"{n} {v}" for n, v in sorted(current.items()))
    changes = []
    for name in sorted(set(previous) | set(current)):
        before, after = previous.get(name), current.get(name)
        if before == after:
            continue
        if before is None:
            changes.append(f"+{name} {after}")
        elif after is None:
            changes.append(f"-{name}")
        else:
            changes.append(f"{name} {before} → {after}")
    return ", ".join(changes) or "none (same pins)"


def passing_probe(result: SolveResult) -> int | None:
    """The id of the last probe that passed: the proof behind a `solved` answer."""
    for attempt in reversed(result.attempts):
        if attempt.outcome:
            return attempt.outcome.probe_id
    return None


def pin_evidence(result: SolveResult, name: str) -> str:
    """Why `name` is pinned where it is: the rules that bound it, and the passing probe."""
    wanted = canonicalize_name(name)
    reasons = []
    for rule in result.rules:
        if rule.target != wanted or not _applies(rule, result.pins):
            continue
        if rule.install_option:
            reasons.append(f"pre-installed for building {rule.package} by rule: {rule.because}")
        elif rule.requirement.specifier:
            reasons.append(f"kept to {rule.requirement.specifier} by rule: {rule.because}")
        else:
            reasons.append(f"required by rule: {rule.because}")
    reasons += [f"kept out of {name} {rule.versions} by rule: {rule.because}"
                for rule in _binding_elsewhere(result, wanted)]
    if not reasons:
        reasons.append("the newest release that declared metadata and the rules allow")
    passed = passing_probe(result)
    if passed is not None:
        reasons.append(f"probe #{passed} passed")
    return "; ".join(reasons)


def cost_sentence(result: SolveResult) -> str:
    micro = len(result.micro_probes)
    return (
        f"{result.probes} probe{'s' if result.probes != 1 else ''}, "
        f"{result.installs} real install{'s' if result.installs != 1 else ''}, "
        f"{result.cache_hits} cache hit{'s' if result.cache_hits != 1 else ''}, "
        f"{result.scans} static scan{'s' if result.scans != 1 else ''}, "
        + (f"{micro} micro-probe{'s' if micro != 1 else ''}, " if micro else "")
        + f"wall time {result.seconds:.1f} s"
    )


def _binding_elsewhere(result: SolveResult, name: str) -> list[Rule]:
    """Rules on releases of `name` the pins avoid because the pins break their requirement.

    `pyarrow >=26.0.0 requires numpy>=2.0` with numpy held at 1.26.4 is why
    pyarrow is not at its newest release.
    """
    pins = {canonicalize_name(n): v for n, v in result.pins.items()}
    found = []
    for rule in result.rules:
        if rule.package is None or canonicalize_name(rule.package) != name or not rule.versions:
            continue
        mine, theirs = pins.get(name), pins.get(rule.target)
        if mine is None or theirs is None or rule.covers(Version(mine)):
            continue
        if not rule.requirement.specifier.contains(theirs, prereleases=True):
            found.append(rule)
    return found


def _applies(rule: Rule, pins: dict[str, str]) -> bool:
    """Whether a rule can have bound the chosen pins.

    Its condition must hold, and the pin it targets must obey it: the solver
    never picks a version a binding rule forbids.
    """
    chosen = {canonicalize_name(n): v for n, v in pins.items()}
    try:
        if rule.package is not None and (
                rule.package not in chosen or not rule.covers(Version(chosen[rule.package]))):
            return False
        target = chosen.get(rule.target)
        return target is None or rule.requirement.specifier.contains(
            Version(target), prereleases=True)
    except InvalidVersion:
        return False
