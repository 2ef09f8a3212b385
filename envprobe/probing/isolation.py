"""Which isolation a probe ran under, said with its outcome.

A user reading an outcome must know whether the code ran sealed, with
network or not, and how its processes were tracked. `ProbeOutcome` has no
field for it yet, so `IsolatedOutcome` adds one: it is a `ProbeOutcome` to
every reader, and its `to_dict` (the probe JSON, the stored outcome) carries
`isolation`. Outcomes recorded before sealing existed read back with an
empty one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from envprobe.model.outcome import ProbeOutcome
from envprobe.model.requests import InstallOptions

__all__ = ["IsolatedOutcome", "describe_isolation", "isolation"]


@dataclass
class IsolatedOutcome(ProbeOutcome):
    """A `ProbeOutcome` that says which isolation was in force (see `isolation`)."""

    isolation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"isolation": dict(self.isolation)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IsolatedOutcome:
        outcome = cast(IsolatedOutcome, super().from_dict(data))
        outcome.isolation = dict(data.get("isolation") or {})
        return outcome


def isolation(options: InstallOptions, network: str | None = None,
              processes: str | None = None) -> dict[str, Any]:
    """What was in force: `network` and `processes` as the probe code's run had them
    (None when the code never ran)."""
    return {
        "environment": "sealed",  # minimal variables, plus only the passed ones
        "passed": sorted(set(options.pass_env)),
        "home": "throwaway",
        "network": network,  # "none" or "host"
        "network_requested": options.network,
        "processes": processes,  # "subreaper" or "process group"
    }


def describe_isolation(facts: Mapping[str, Any]) -> str:
    """One line for a person; empty for an outcome recorded before isolation was said."""
    if not facts:
        return ""
    passed = facts.get("passed") or []
    parts = [f"sealed environment (passed: {', '.join(passed)})" if passed
             else "sealed environment", f"{facts.get('home', 'throwaway')} HOME"]
    network = facts.get("network")
    if network == "none":
        parts.append("no network")
    elif network == "host":
        parts.append("network: asked for" if facts.get("network_requested")
                     else "network: not isolated (no user namespaces here)")
    if facts.get("processes"):
        parts.append(f"processes tracked by {facts['processes']}")
    return " · ".join(parts)
