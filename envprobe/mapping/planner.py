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

from envprobe.solving.solver import Solver, conflict_chain

__all__ = ["Conflict", "pins_for"]


@dataclass(frozen=True)
class Conflict:
    """No set holds these releases together: the requirements that clash, in words."""

    chain: tuple[str, ...]

    @property
    def words(self) -> str:
        return "; ".join(self.chain) or "no consistent set"


def pins_for(solver: Solver, fixed: dict[NormalizedName, Version]
             ) -> dict[NormalizedName, Version] | Conflict:
    """The set a solve would install with `fixed` held, or why none exists."""
    try:
        return solver.propose(fixed)
    except ResolutionImpossible as impossible:
        return Conflict(tuple(conflict_chain(impossible)))
    except ResolutionTooDeep:
        return Conflict(("the resolver gave up (too many rounds)",))
