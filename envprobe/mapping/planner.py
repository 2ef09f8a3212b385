"""The solve's question, asked with some projects held: the map's one use of the solver.

A map asks "with row R and column release v fixed, what would a solve
install?" many times. The solver's public steps (`propose`, `request`,
`stored`, `keep`, `learn`) answer it with the same resolver, learned rules
and teachers as `solve`; the map's probes are the solver's attempts, so one
budget serves both. What the map adds is a clash in words instead of an
exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from envprobe.model.rules import RuleKind
from envprobe.solving.solver import Solver, conflict_chain

__all__ = ["Conflict", "pins_for"]


@dataclass(frozen=True)
class Conflict:
    """No set holds these releases together: the requirements that clash, in words."""

    chain: tuple[str, ...]
    unbuilt: bool = False  # it rests on a rule that keeps a project to releases with a wheel
    failed_build: int | None = None  # the probe whose failed build taught that rule

    @property
    def words(self) -> str:
        return "; ".join(self.chain) or "no consistent set"


def pins_for(solver: Solver, fixed: dict[NormalizedName, Version]
             ) -> dict[NormalizedName, Version] | Conflict:
    """The set a solve would install with `fixed` held, or why none exists."""
    try:
        return solver.propose(fixed)
    except ResolutionImpossible as impossible:
        return _conflict(solver, fixed, impossible)
    except ResolutionTooDeep:
        return Conflict(("the resolver gave up (too many rounds)",))


def _conflict(solver: Solver, fixed: dict[NormalizedName, Version],
              impossible: ResolutionImpossible) -> Conflict:
    """The clash in words; `unbuilt` when it rests on a rule keeping a project to its wheels.

    The resolver's last words may be about what those rules forced (old transformers
    need old tokenizers, which do not build, so no transformers takes hub 0.4), so a
    clash that the rules do not name is asked once more without them.
    """
    chain = tuple(conflict_chain(impossible))
    wheels_only = [r for r in solver.rules if r.kind is RuleKind.NO_WHEEL]
    if not wheels_only:
        return Conflict(chain)
    failed_build = next((p for r in wheels_only for p in r.evidence), None)
    if any(cause.requirement.rule in wheels_only for cause in impossible.causes):
        return Conflict(chain, True, failed_build)
    kept = list(solver.rules)
    solver.rules[:] = [r for r in kept if r.kind is not RuleKind.NO_WHEEL]
    try:
        solver.propose(fixed)
    except (ResolutionImpossible, ResolutionTooDeep):
        return Conflict(chain)
    finally:
        solver.rules[:] = kept
    return Conflict(chain + tuple(f"every set needs {r.requires} (learned: {r.because})"
                                  for r in wheels_only), True, failed_build)
