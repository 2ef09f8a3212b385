"""Proof that a fix works: the user's exact set, changed, installed into a throwaway copy.

`verify` is one probe (the store answers it when it ran before; the layer
and download caches are the probes' own). `repair` keeps going: a copy that
fails in a new way is diagnosed like the user's environment was, statically,
and the next smallest change is added, until the code runs or the install
budget is spent. The user's environment is only ever read.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from envprobe.diagnosing.fixes import command_for, find_fixes, needs_from
from envprobe.diagnosing.inventory import Installed, Inventory
from envprobe.diagnosing.releases import Releases
from envprobe.errors import EnvprobeError
from envprobe.model.diagnosis import Fix
from envprobe.model.outcome import FailureKind, ProbeOutcome
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.probing.probe import run_probe
from envprobe.probing.store import Store

__all__ = ["Copy", "repair", "verify"]

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


def repair(first: Fix, copy: Copy, python: str, installer: str, max_installs: int) -> Fix:
    """Add the next smallest change until the code runs in the copy, or the budget ends."""
    fix, seen = first, set()
    outcome = verify(fix, copy)
    while not fix.verified and copy.installs < max_installs:
        failure = outcome.failure
        if failure is None or failure.kind in _NOT_RUN or failure.summary() in seen:
            break
        seen.add(failure.summary())
        moved = _moved(copy.inventory, fix.versions, copy.releases)
        lesson = copy.releases.teacher().learn(outcome, moved.pins())
        needs = needs_from(lesson.rules, lesson.boundaries, failure.importer_package)
        more = find_fixes(needs, moved, copy.releases, python, installer)
        if not more:
            break
        step = more[0]
        changes = {**fix.changes, **step.changes}
        extras = {**fix.extras, **step.extras}
        fix = Fix(changes=changes, command=command_for(changes, python, installer, extras),
                  moves=[*fix.moves, *step.moves], versions={**fix.versions, **step.versions},
                  extras=extras)
        outcome = verify(fix, copy)
    return fix


def _moved(inventory: Inventory, versions: dict[str, str], releases: Releases) -> Inventory:
    """The inventory as it would be with `versions` installed (their metadata from the index)."""
    dists = dict(inventory.dists)
    for name, version in versions.items():
        key: NormalizedName = canonicalize_name(name)
        try:
            requires = tuple(str(r) for r in releases.declared(key, Version(version)))
        except EnvprobeError:
            requires = ()
        old = dists.get(key)
        dists[key] = Installed(key, version, requires, old.tops if old else ())
    return replace(inventory, dists=dists)
