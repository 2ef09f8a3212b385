"""A diagnosis as a rich panel: what failed, why, the fix, and its evidence.

It reads a `Diagnosis` and prints nothing. Texts go in as `Text`, never
markup: requirements carry square brackets.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from envprobe.model.diagnosis import Diagnosis, Fix
from envprobe.model.rules import Boundary

__all__ = ["render_diagnosis"]

_VERIFIED = {True: ("verified", "green"), False: ("refuted", "red"), None: ("not run", "dim")}


def render_diagnosis(diagnosis: Diagnosis) -> Panel:
    parts: list[RenderableType] = []
    failure = diagnosis.failure
    if failure is not None:
        parts.append(Text(failure.summary(), style="bold red"))
        grid = Table.grid(padding=(0, 2))
        importer = " ".join(v for v in (failure.importer, failure.importer_package,
                                        failure.importer_version) if v)
        for label, value in (("message", failure.message), ("importer", importer),
                             ("installed", ", ".join(f"{n} {v}" for n, v in
                                                     diagnosis.involved.items())),
                             ("also missing", ", ".join(f"{m.name} (from {m.module})"
                                                        for m in diagnosis.also_missing))):
            if value:
                grid.add_row(Text(label, style="dim"), Text(value))
        parts.append(grid)
    if diagnosis.boundaries:
        parts.append(Text("why", style="bold"))
        parts += [Text(f"  {_boundary_words(b)}") for b in diagnosis.boundaries]
    if diagnosis.fixes:
        parts.append(Text("fix" if len(diagnosis.fixes) == 1 else "fixes, best first",
                          style="bold"))
        parts += [_fix(i, fix) for i, fix in enumerate(diagnosis.fixes, 1)]
    if diagnosis.declared_conflicts:
        parts.append(Text("declared conflicts already in the environment (pip check)",
                          style="bold"))
        parts += [Text(f"  {line}") for line in diagnosis.declared_conflicts]
    if diagnosis.notes:
        parts += [Text(f"note: {note}", style="yellow") for note in diagnosis.notes]
    wheels = f" · {len(diagnosis.scanned)} wheels read" if diagnosis.scanned else ""
    micro = f" · {len(diagnosis.micro_probes)} micro-probes" if diagnosis.micro_probes else ""
    parts.append(Text(f"{diagnosis.python} · {diagnosis.distributions} distributions"
                      f"{wheels}{micro} · {diagnosis.seconds:.1f} s", style="dim"))
    verdict, colour = ("WORKS", "green") if diagnosis.works else ("BROKEN", "red")
    title = Text.assemble((verdict, f"bold {colour}"), " ",
                          diagnosis.code.strip().replace("\n", "; ") or "the traceback")
    return Panel(Group(*parts), title=title, title_align="left", border_style=colour)


def _boundary_words(boundary: Boundary) -> str:
    where = f"{boundary.symbol} in {boundary.module}" if boundary.symbol != boundary.module \
        else f"module {boundary.module}"
    if boundary.direction == "removed":
        said = (f"{boundary.package} has {where} up to {boundary.last_with}, "
                f"not from {boundary.first_without}")
    elif boundary.direction == "added":
        said = (f"{boundary.package} has {where} from {boundary.first_with} on, "
                f"not up to {boundary.last_without}")
    else:
        said = f"no boundary found for {where} in {boundary.package}"
    checked = len(boundary.checked)
    return f"{said} ({boundary.method.value}, {checked} releases read)"


def _fix(number: int, fix: Fix) -> RenderableType:
    word, colour = _VERIFIED[fix.verified]
    lines = [Text.assemble(f"  {number}. ", (fix.command, "bold"), "  ", (word, colour))]
    if fix.moves:
        lines.append(Text(f"     {'; '.join(fix.moves)}", style="dim"))
    if fix.note:
        lines.append(Text(f"     {fix.note}", style="dim"))
    return Group(*lines)
