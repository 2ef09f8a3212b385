"""One probe's outcome as a rich panel: what `envprobe probe` shows a person.

It reads a `ProbeOutcome` and prints nothing; the command hands the panel to
its own console. Texts go in as `Text`, never markup: requirements carry
square brackets (`nemo_toolkit[asr]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from envprobe.model.outcome import Failure, ProbeOutcome

__all__ = ["render_outcome"]

_LOG_LINES = 12


def render_outcome(outcome: ProbeOutcome) -> Panel:
    """Verdict, failure and its evidence, the packages installed, where the answer came from."""
    parts: list[RenderableType] = []
    if outcome.failure is not None:
        parts += _failure(outcome.failure)
    if outcome.installed:
        table = Table("installed", "version", box=None, header_style="bold")
        for name, version in outcome.installed.items():
            pinned = outcome.pins.get(name)
            table.add_row(name, Text(version, style="bold" if pinned else ""))
        parts.append(table)
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in outcome.seconds.items())
    where = f"probe #{outcome.probe_id}" if outcome.probe_id is not None else "probe"
    source = "from the store" if outcome.cached else outcome.installer
    parts.append(Text(f"{where} · Python {outcome.python} · {source} · {seconds}", style="dim"))
    if isolated := describe_isolation(outcome.isolation):
        parts.append(Text(isolated, style="dim"))
    verdict, colour = ("OK", "green") if outcome else ("FAILED", "red")
    asked = outcome.requirements or [f"{n}=={v}" for n, v in outcome.pins.items()]
    title = Text.assemble((verdict, f"bold {colour}"), " ", " ".join(asked) or "no requirements")
    return Panel(Group(*parts), title=title, title_align="left", border_style=colour)


def _failure(failure: Failure) -> list[RenderableType]:
    parts: list[RenderableType] = [Text(failure.summary(), style="bold red")]
    evidence = Table.grid(padding=(0, 2))
    importer = " ".join(v for v in (failure.importer, failure.importer_package,
                                    failure.importer_version) if v)
    for label, value in (
        ("message", "" if failure.message in failure.summary() else failure.message),
        ("importer", importer),
        ("requirements", ", ".join(failure.requirements)),
    ):
        if value:
            evidence.add_row(Text(label, style="dim"), Text(value))
    if evidence.row_count:
        parts.append(evidence)
    if failure.log_excerpt:
        tail = "\n".join(failure.log_excerpt.splitlines()[-_LOG_LINES:])
        parts.append(Panel(Text(tail, style="dim"), title="evidence", title_align="left"))
    return parts


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
