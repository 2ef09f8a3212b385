"""Confirmation probes run beside the next proposal, not before it.

A statically found boundary whose release past it could not be asked alone
(a micro-probe, `teachers/symbol.py`) is confirmed by one probe of that
release with the set. The rule it teaches does not wait for that probe (a confirmation only
adds evidence, or a note that the probe disagreed), so the next proposal
does not depend on it either: the two are independent, and run side by side
on the executor `envprobe map` uses. Nothing about the answer changes: the
confirmation's pins are resolved when the teacher asks (with the rules known
then, as a sequential run would), both outcomes are recorded in the order a
sequential run records them, and where the budget cannot pay for both at
once they run one after the other, confirmation first.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome
from envprobe.model.result import Purpose
from envprobe.model.rules import Boundary, BoundaryMethod
from envprobe.probing.executors import LocalExecutor, Lost

if TYPE_CHECKING:
    from envprobe.solving.solver import Solver

__all__ = ["Confirmations"]


@dataclass(frozen=True)
class _Pending:
    pins: dict[NormalizedName, Version]
    boundary: tuple[str, str, str]
    kind: FailureKind
    name: str | None


class Confirmations:
    """The solver's put-off confirmations; `enabled` only while `solve()` runs its loop."""

    def __init__(self, solver: Solver) -> None:
        self._solver = solver
        self.pending: list[_Pending] = []
        self.enabled = False
        self.side_by_side = 0  # probes that ran beside another one

    def defer(self, fixed: dict[str, Version], boundary: Boundary, failure: Failure) -> bool:
        """Queue the confirmation of `boundary`; False when it must run now (or cannot run)."""
        if not self.enabled:
            return False
        try:
            pins = self._solver._propose({canonicalize_name(n): v for n, v in fixed.items()})
        except (ResolutionImpossible, ResolutionTooDeep):
            return True  # no consistent set: a sequential run could not probe it either
        self.pending.append(_Pending(pins, boundary.key, failure.kind, failure.name))
        return True

    def probe_with(self, proposal: dict[NormalizedName, Version]) -> ProbeOutcome:
        """Probe the pending confirmations and `proposal`; the proposal's outcome."""
        solver, pending, self.pending = self._solver, self.pending, []
        jobs = [(p.pins, Purpose.CONFIRM) for p in pending] + [(proposal, Purpose.PROPOSAL)]
        fresh = [i for i, (pins, _) in enumerate(jobs) if solver._stored(solver._request(pins)) is None]
        used = sum(1 for a in solver.attempts if not a.outcome.cached)
        outcomes: dict[int, ProbeOutcome] = {}
        if len(fresh) > 1 and used + len(fresh) <= solver.max_installs \
                and not solver._out_of_time():
            outcomes = self._together(jobs, fresh)
        results = []
        for index, (pins, purpose) in enumerate(jobs):
            if index in outcomes:
                results.append(solver._take(pins, purpose, outcomes[index]))
            elif purpose is Purpose.PROPOSAL:
                results.append(solver._probe(pins, purpose))  # may raise the budget's end
            else:
                results.append(solver._probe_or_none(pins, purpose))
        for job, outcome in zip(pending, results, strict=False):
            if outcome is not None:
                self._apply(job, outcome)
        return results[-1]

    def flush(self) -> None:
        """Run what is still pending, one by one: a verdict reached without another
        proposal must not lose the confirmations a sequential run would have made."""
        pending, self.pending = self.pending, []
        for job in pending:
            outcome = self._solver._probe_or_none(job.pins, Purpose.CONFIRM)
            if outcome is not None:
                self._apply(job, outcome)

    def _together(self, jobs: list[tuple[dict[NormalizedName, Version], Purpose]],
                  fresh: list[int]) -> dict[int, ProbeOutcome]:
        solver = self._solver
        requests = {index: solver._request(jobs[index][0]) for index in fresh}
        solver.events("install", f"{len(fresh)} probes side by side: "
                                 + ", ".join(str(jobs[i][1]) for i in fresh))
        executor = LocalExecutor(jobs=min(len(fresh), os.cpu_count() or 1))
        outcomes = {}
        try:
            for index, result in executor.run(requests):
                if isinstance(result, Lost):
                    continue  # run again on its own below, as a sequential run would
                outcome = ProbeOutcome.from_dict(result)
                outcome.probe_id = None
                outcomes[index] = outcome
        finally:
            executor.close()
        for index in sorted(outcomes):  # recorded in the order a sequential run records them
            outcomes[index].probe_id = solver.store.record(requests[index], outcomes[index])
            solver._refreshed.add(requests[index].requirements)
        self.side_by_side += len(outcomes)
        return outcomes

    def _apply(self, job: _Pending, outcome: ProbeOutcome) -> None:
        """What `confirm_boundary` would have concluded, applied to the boundary and rules."""
        solver = self._solver
        again = outcome.failure
        at = next((i for i, b in enumerate(solver.boundaries) if b.key == job.boundary), None)
        if at is None:
            return
        boundary = solver.boundaries[at]
        if again and again.kind is job.kind and again.name == job.name and outcome.probe_id:
            solver.boundaries[at] = dataclasses.replace(
                boundary, confirmed_by=(outcome.probe_id,),
                method=BoundaryMethod.STATIC_AND_PROBE)
            solver.rules = [
                dataclasses.replace(r, evidence=(*r.evidence, outcome.probe_id))
                if r.boundary == job.boundary and outcome.probe_id not in r.evidence else r
                for r in solver.rules]
        else:
            edge = boundary.first_without if boundary.direction == "removed" \
                else boundary.last_without
            solver.notes.append(
                f"static boundary at {boundary.package} {edge} NOT confirmed by probe: "
                f"{again.summary() if again else 'it passed'}")

