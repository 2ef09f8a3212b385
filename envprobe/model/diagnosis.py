"""What `envprobe diagnose` found about an environment the user already has, as values.

One `Diagnosis` is computed by the diagnosing layer, printed as JSON or as a
panel by the report layer, and carries its evidence (the typed failure, the
boundaries with every release they checked, the wheels read) like a solve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from envprobe.model.outcome import Failure
from envprobe.model.rules import Boundary, Rule

__all__ = ["Diagnosis", "Fix", "MissingName"]


@dataclass(frozen=True)
class MissingName:
    """One name of the failing `from m import a, b` that the installed `m` lacks too."""

    name: str
    module: str
    package: str | None
    version: str | None


@dataclass
class Fix:
    """A change to the environment: package -> specifier, and the command that makes it.

    `verified` is True or False once a throwaway copy of the environment with
    the change ran the code, None when nobody tried (or the copy could not be
    installed: `note` says why). `moves` says what the change does in words.
    """

    changes: dict[str, str]
    command: str
    moves: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # the releases the change lands on
    extras: dict[str, list[str]] = field(default_factory=dict)  # kept: what the user installed
    verified: bool | None = None
    note: str = ""
    probe_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"changes": dict(self.changes), "command": self.command, "moves": list(self.moves),
                "versions": dict(self.versions), "extras": dict(self.extras),
                "verified": self.verified, "note": self.note, "probe_id": self.probe_id}


@dataclass
class Diagnosis:
    """Whether the code runs in the environment and, when not, why and what to change."""

    status: str  # "works" or "broken"
    python: str
    code: str
    failure: Failure | None = None
    involved: dict[str, str] = field(default_factory=dict)  # package -> installed version
    also_missing: list[MissingName] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    declared_conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)  # wheels read: the static evidence
    installer: str = "pip"
    distributions: int = 0
    micro_probes: list[str] = field(default_factory=list)  # each release asked alone, answered
    kept_micro_probes: list[str] = field(default_factory=list)  # of those, asked in an earlier run
    ran_at: float | None = None  # when the code ran (seconds since the epoch); None: traceback
    run_reused: bool = False  # that run was an earlier one, the environment unchanged since
    phases: dict[str, float] = field(default_factory=dict)  # seconds: where the time went
    seconds: float = 0.0

    @property
    def works(self) -> bool:
        return self.status == "works"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "python": self.python,
            "code": self.code,
            "failure": self.failure.to_dict() if self.failure else None,
            "involved": dict(self.involved),
            "also_missing": [vars(m) for m in self.also_missing],
            "boundaries": [b.to_dict() for b in self.boundaries],
            "rules": [r.to_dict() for r in self.rules],
            "fixes": [f.to_dict() for f in self.fixes],
            "declared_conflicts": list(self.declared_conflicts),
            "notes": list(self.notes),
            "scanned": list(self.scanned),
            "installer": self.installer,
            "distributions": self.distributions,
            "micro_probes": list(self.micro_probes),
            "micro_probe_count": len(self.micro_probes) - len(self.kept_micro_probes),
            "run": None if self.ran_at is None else {
                "ran_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.ran_at)),
                "reused": self.run_reused},
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
            "seconds": round(self.seconds, 3),
        }
