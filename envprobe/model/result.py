"""What a solve established, as values: its verdict, its probes and why each ran.

`SolveResult` round-trips through JSON, so the store keeps it and `envprobe
report` re-renders it without probing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from envprobe.model.outcome import ProbeOutcome
from envprobe.model.rules import Boundary, Rule

__all__ = ["Attempt", "Purpose", "SolveResult", "Verdict"]


class Verdict(enum.StrEnum):
    """How a solve ended; never one reported as another."""

    SOLVED = "solved"  # a probe of the proposed set passed
    UNSATISFIABLE = "unsatisfiable"  # metadata plus learned rules leave no candidate in range
    UNDECIDED = "undecided"  # budget spent, or a failure taught nothing new


class Purpose(enum.StrEnum):
    """Why a probe ran."""

    PROPOSAL = "proposal"  # the resolver's newest set under what is known
    CONFIRM = "confirm"  # one release past a statically found boundary
    BISECT = "bisect"  # a step of a boundary search with real installs
    EDGE = "edge"  # one end of a map's window


@dataclass
class Attempt:
    """One probe the solve ran (or found in the store), and why."""

    purpose: Purpose
    pins: dict[str, str]
    outcome: ProbeOutcome

    def __post_init__(self) -> None:
        self.purpose = Purpose(self.purpose)

    def to_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose.value, "pins": self.pins, "outcome": self.outcome.to_dict()}


@dataclass
class SolveResult:
    scenario: str
    status: Verdict
    reason: str
    pins: dict[str, str]
    installed: dict[str, str]
    installer: str
    python: str
    platform: str
    rules: list[Rule] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scans: int = 0
    micro_probes: list[str] = field(default_factory=list)  # "release: what it answered"
    side_by_side: int = 0  # probes that ran beside another one (confirmation and proposal)
    # project built without isolation -> what its sdist declares for the build
    build_requirements: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    fallback: dict[str, Any] | None = None
    question: str = ""  # the key of the question this answers (scenario file, sources)
    from_store: bool = False  # this run answered from the store's last solve, unchanged

    def __post_init__(self) -> None:
        self.status = Verdict(self.status)

    @property
    def probes(self) -> int:
        return len(self.attempts)

    @property
    def installs(self) -> int:
        return sum(1 for a in self.attempts if not a.outcome.cached)

    @property
    def cache_hits(self) -> int:
        return self.probes - self.installs

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "status": self.status.value,
            "reason": self.reason,
            "pins": self.pins,
            "installed": self.installed,
            "installer": self.installer,
            "python": self.python,
            "platform": self.platform,
            "rules": [r.to_dict() for r in self.rules],
            "boundaries": [b.to_dict() for b in self.boundaries],
            "chain": self.chain,
            "notes": self.notes,
            "probes": self.probes,
            "installs": self.installs,
            "cache_hits": self.cache_hits,
            "static_scans": self.scans,
            "micro_probes": self.micro_probes,
            "side_by_side": self.side_by_side,
            "build_requirements": self.build_requirements,
            "seconds": round(self.seconds, 2),
            "attempts": [a.to_dict() for a in self.attempts],
            "fallback": self.fallback,
            "question": self.question,
            "from_store": self.from_store,
        }


    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SolveResult:
        """Rebuild a stored result, so `envprobe report` renders without probing."""
        return cls(
            scenario=data["scenario"],
            status=Verdict(data["status"]),
            reason=data["reason"],
            pins=dict(data.get("pins") or {}),
            installed=dict(data.get("installed") or {}),
            installer=data.get("installer", ""),
            python=data.get("python", ""),
            platform=data.get("platform", ""),
            rules=[Rule.from_dict(r) for r in data.get("rules", [])],
            boundaries=[Boundary.from_dict(b) for b in data.get("boundaries", [])],
            attempts=[
                Attempt(Purpose(a["purpose"]), dict(a["pins"]), ProbeOutcome.from_dict(a["outcome"]))
                for a in data.get("attempts", [])
            ],
            chain=list(data.get("chain", [])),
            notes=list(data.get("notes", [])),
            scans=int(data.get("static_scans", 0)),
            micro_probes=list(data.get("micro_probes", [])),
            side_by_side=int(data.get("side_by_side", 0)),
            build_requirements={k: list(v) for k, v in
                                (data.get("build_requirements") or {}).items()},
            seconds=float(data.get("seconds", 0.0)),
            fallback=data.get("fallback"),
            question=str(data.get("question", "")),
        )
