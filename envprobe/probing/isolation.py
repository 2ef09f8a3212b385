"""Which isolation a probe ran under, said with its outcome.

A user reading an outcome must know whether the code ran sealed, with
network or not, and how its processes were tracked: `ProbeOutcome.isolation`
carries these facts into the probe JSON, the store and the report.
"""

from __future__ import annotations

from typing import Any

from envprobe.model.requests import InstallOptions

__all__ = ["isolation"]


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
