"""Proof that a fix works: the user's exact set, changed, installed into a throwaway copy.

`verify` is one probe (the store answers it when it ran before; the layer
and download caches are the probes' own). `seeded_fix` keeps going: a solve
seeded with the installed releases proposes the nearest consistent set, the
copy tries it, a new failure there is taught like the user's was (wheels,
micro-probes) and the solve runs again, until the code runs or the install
budget is spent. The user's environment is only ever read.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from packaging.version import Version

from envprobe.diagnosing.inventory import Inventory
from envprobe.diagnosing.releases import Releases
from envprobe.diagnosing.seeded import SeededSolve, boundary_rules
from envprobe.errors import EnvprobeError
from envprobe.model.diagnosis import Fix
from envprobe.model.outcome import FailureKind, ProbeOutcome
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.model.rules import Boundary, Rule
from envprobe.probing.probe import run_probe
from envprobe.probing.store import Store

__all__ = ["Copy", "seeded_fix", "verify"]

# The copy never got to run the code: the fix is neither proven nor refuted.
_NOT_RUN = (FailureKind.DECLARED_CONFLICT, FailureKind.NO_DISTRIBUTION,
            FailureKind.BUILD_FAILED, FailureKind.INSTALL_FAILED)
_LEFT_OUT = frozenset({"pip"})  # the installer's own seed, nothing the code imports


class Copy:
    """How to install the user's set elsewhere: the releases any source still offers."""

    def __init__(self, inventory: Inventory, releases: Releases, options: InstallOptions,
                 code: str, timeout: float, store: Store,
                 say: Callable[[str], None]) -> None:
        self.inventory, self.releases, self.options = inventory, releases, options
        self.code, self.timeout, self.store, self.say = code, timeout, store, say
        self.installs = 0
        pins = {n: v for n, v in inventory.pins().items() if n not in _LEFT_OUT}
        with ThreadPoolExecutor(max_workers=8) as pool:
            offered = list(pool.map(lambda item: item[1] in self._known(item[0]), pins.items()))
        self.pins = {n: v for (n, v), ok in zip(pins.items(), offered, strict=True) if ok}
        self.local_only = sorted(set(pins) - set(self.pins))

    def _known(self, name: str) -> list[Version]:
        try:
            return self.releases.index.versions(name)
        except EnvprobeError:
            return []

    def run(self, versions: dict[str, str],
            extras: dict[str, list[str]] | None = None) -> ProbeOutcome:
        """Probe the set with `versions` changed (moved ones with their `extras`); counted
        when it really installs."""
        pins = {**{n: str(v) for n, v in self.pins.items()}, **versions}
        chosen = {n: f"[{','.join(e)}]" for n, e in (extras or {}).items() if e and n in versions}
        request = ProbeRequest(requirements=tuple(f"{n}{chosen.get(n, '')}=={v}"
                                                  for n, v in sorted(pins.items())),
                               code=self.code, python=self.releases.interpreter.executable,
                               options=self.options, timeout=self.timeout)
        outcome = run_probe(request, store=self.store, progress=self.say)
        self.installs += 0 if outcome.cached else 1
        return outcome


def verify(fix: Fix, copy: Copy) -> ProbeOutcome:
    """Run the code in a copy with `fix` applied and say so on the fix."""
    outcome = copy.run(fix.versions, fix.extras)
    fix.probe_id = outcome.probe_id
    if outcome:
        fix.verified = True
    elif outcome.failure is not None and outcome.failure.kind in _NOT_RUN:
        fix.note = f"the changed set could not be installed: {outcome.failure.summary()}"
    else:
        fix.verified = False
        fix.note = f"still fails: {outcome.failure.summary() if outcome.failure else 'unknown'}"
    if copy.local_only:
        fix.note = (f"{fix.note}; " if fix.note else "") + (
            "left out of the copy (no source offers their installed release): "
            + ", ".join(copy.local_only))
    return outcome


def seeded_fix(rules: list[Rule], boundaries: list[Boundary], importer: str | None,
               copy: Copy, python: str, installer: str, max_installs: int) -> tuple[
                   Fix | None, list[str]]:
    """A solve seeded with the environment: the nearest consistent set under what was
    learned, tried in the copy; a failure there teaches more rules, and it resolves again,
    until the code runs or the install budget is spent. Returns the last change tried."""
    solve = SeededSolve(copy.inventory, copy.releases)
    rules = [*rules, *boundary_rules(boundaries, rules, importer, copy.inventory)]
    kept = _kept_rules(copy)
    rules += [r for r in kept if r not in rules]
    fix, notes, tried = None, [], set()
    while copy.installs < max_installs and len(tried) <= 2 * max_installs:
        whole = solve.resolve(rules)
        if isinstance(whole, str):
            notes.append(f"the seeded solve stopped: {whole}")
            break
        fix = solve.fix_of(whole, python, installer)
        if not fix.changes or tuple(sorted(fix.versions.items())) in tried:
            notes.append("the seeded solve has nothing new to try")
            break
        tried.add(tuple(sorted(fix.versions.items())))
        copy.say(f"trying in the copy: {', '.join(fix.moves)}")
        outcome = verify(fix, copy)
        if fix.verified is not False or outcome.failure is None:
            break
        lesson = copy.releases.teacher().learn(outcome, whole)
        new = [r for r in lesson.rules if r not in rules]
        if not new:
            notes.append(f"nothing new to learn from the copy: {outcome.failure.summary()}")
            break
        rules += new
    copy.store.save_solve(_rules_key(copy), {
        "status": "solved" if fix is not None and fix.verified else "undecided",
        "rules": [r.to_dict() for r in rules], "pins": dict(fix.versions) if fix else {}})
    return fix, notes


def _rules_key(copy: Copy) -> str:
    """Where the store keeps what fixing this environment taught (a solve's row)."""
    return f"diagnose {copy.releases.interpreter.executable}"


def _kept_rules(copy: Copy) -> list[Rule]:
    """The rules an earlier --fix of this environment learned: no install spent twice."""
    stored = copy.store.last_solve(_rules_key(copy)) or {}
    return [Rule.from_dict(data) for data in stored.get("rules", [])]
