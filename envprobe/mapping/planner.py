"""The solve's own machinery, driven one edge at a time for the map.

A map asks the solver's questions many times with different projects held:
"with row R and column release v fixed, what would a solve install?" This
subclass exposes exactly that (proposal, probe request, lesson), so the map
uses the same resolver, the same learned rules and the same teachers as
`solve`, and records its probes as a solve's attempts (one budget for both).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from envprobe.model.outcome import ProbeOutcome
from envprobe.model.requests import ProbeRequest
from envprobe.model.result import Attempt, Purpose
from envprobe.solving.solver import Solver, _chain

__all__ = ["Conflict", "MapSolver"]


@dataclass(frozen=True)
class Conflict:
    """No set holds these releases together: the requirements that clash, in words."""

    chain: tuple[str, ...]

    @property
    def words(self) -> str:
        return "; ".join(self.chain) or "no consistent set"


class MapSolver(Solver):
    """A solver whose steps the map calls directly, with its clock started at creation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._started = time.monotonic()  # the teachers' re-probes check the time budget

    def pins_for(self, fixed: dict[NormalizedName, Version]
                 ) -> dict[NormalizedName, Version] | Conflict:
        """The set a solve would install with `fixed` held, or why none exists."""
        try:
            return self._propose(fixed)
        except ResolutionImpossible as impossible:
            return Conflict(tuple(_chain(impossible)))
        except ResolutionTooDeep:
            return Conflict(("the resolver gave up (too many rounds)",))

    def request_for(self, pins: dict[NormalizedName, Version]) -> ProbeRequest:
        """The probe of `pins`, as `solve` would run it (extras, build steps, base layer)."""
        return self._request(pins)

    def stored(self, request: ProbeRequest) -> ProbeOutcome | None:
        if self.refresh and request.requirements not in self._refreshed:
            return None
        return self.store.lookup(request, self.interpreter.version, self.interpreter.platform)

    def record(self, request: ProbeRequest, pins: dict[NormalizedName, Version],
               outcome: ProbeOutcome) -> ProbeOutcome:
        """Keep an edge probe: in the store when it ran now, and as an attempt either way."""
        if not outcome.cached:
            outcome.probe_id = self.store.record(request, outcome)
            self._refreshed.add(request.requirements)
        self.attempts.append(Attempt(Purpose.EDGE, {n: str(v) for n, v in pins.items()},
                                     outcome))
        return outcome

    def learn(self, outcome: ProbeOutcome, pins: dict[NormalizedName, Version]) -> bool:
        """Teach the failure to the solve's teachers; True when a rule or project is new."""
        return self._learn(outcome, pins)

    @property
    def installs(self) -> int:
        return sum(1 for a in self.attempts if not a.outcome.cached)

    def out_of_time(self) -> bool:
        return self._out_of_time()
