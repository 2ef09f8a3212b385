"""The result as rich renderables, for a terminal as narrow as 80 columns.

Prose (a rule's reason, an attempt's failure) never goes into a table cell,
where a narrow terminal cuts it into one or two words a line: each rule and
each attempt is a block, its first line saying what it is and its evidence
indented under it. Only short values (names, versions) sit in tables.

Nothing here prints: the caller hands the group to its own Console, so the
engine stays silent and tests can record the output. Every text goes in as a
`Text`, never as markup, because package extras (`nemo_toolkit[asr]`) and
error messages are full of square brackets.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from envprobe.report.matrix import Cell, Matrix, build_matrices
from envprobe.report.words import (
    attempt_verdict,
    boundary_for,
    cost_sentence,
    evidence_words,
    pin_changes,
    probe_ids,
)

if TYPE_CHECKING:
    from envprobe.model.result import Attempt, SolveResult
    from envprobe.model.rules import Rule

__all__ = ["render_terminal"]

_COLOUR = {"solved": "green", "unsatisfiable": "red", "undecided": "yellow"}
_CELL_STYLE = {"pass": "green", "fail": "red", "has": "green", "lacks": "red",
               "unknown": "dim"}
_INDENT = 4
_MATRIX_LEGEND = ("matrix cells: pass or a failure kind = a real probe; has or lacks = a "
                  "static scan of the wheel; · = not probed")


def render_terminal(result: SolveResult) -> Group:
    """Verdict panel, then pins, why, rules, boundaries, attempts, matrices and cost."""
    parts: list[RenderableType] = [_verdict(result)]
    if result.pins:
        parts += _heading(f"Working pins (found with {result.installer})")
        parts.append(_pins(result.pins))
    if result.chain:
        parts += _heading("These requirements cannot all hold:")
        parts += [_bullet(line) for line in result.chain]
    if result.rules:
        parts += _heading("Rules learned")
        parts += [_rule(rule, result) for rule in result.rules]
    if result.boundaries:
        parts += _heading("Boundaries")
        parts.append(_boundaries(result))
    if result.attempts:
        parts += _heading("Attempts")
        parts.append(_attempts(result.attempts))
    matrices = build_matrices(result)
    for matrix in matrices:
        parts += _heading(f"Compatibility matrix: {matrix.title}")
        parts.append(_matrix(matrix))
    if matrices:
        parts.append(_indented(Text(_MATRIX_LEGEND, style="dim")))
    if result.fallback is not None:
        parts += [Text(), _fallback(result.fallback)]
    if result.notes:
        parts += _heading("Notes")
        parts += [_bullet(note, style="dim") for note in result.notes]
    parts += _heading("Cost")
    parts.append(Text(cost_sentence(result)))
    return Group(*parts)


def _heading(title: str) -> list[RenderableType]:
    return [Text(), Text(title, style="bold")]


def _indented(text: Text) -> Padding:
    """`text` wrapped at the console's width less the indent, every line indented."""
    return Padding(text, (0, 0, 0, _INDENT))


def _bullet(text: str, style: str = "") -> Table:
    """`• text`, its continuation lines aligned under the text, not under the bullet."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(Text("•"), Text(text, style=style))
    return grid


def _verdict(result: SolveResult) -> Panel:
    colour = _COLOUR.get(result.status, "white")
    body = Text(f"{result.reason}\n", style=colour)
    body.append(f"python {result.python} on {result.platform}, installer {result.installer}",
                style="dim")
    return Panel(body, title=Text(f"{result.scenario}: {result.status}", style=f"bold {colour}"),
                 title_align="left", border_style=colour)


def _pins(pins: dict[str, str]) -> Padding:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, style="bold")
    for name, version in sorted(pins.items()):
        table.add_row(Text(name), Text(version))
    return Padding(table, (0, 0, 0, 2))


def _rule(rule: Rule, result: SolveResult) -> Group:
    """The rule on one line; under it where it applies, why, and how it was established."""
    who = "every set" if rule.package is None else f"{rule.package} {rule.versions}".rstrip()
    lines: list[RenderableType] = [Text.assemble(("• ", "bold"), who, " requires ",
                                                 (rule.requires, "bold"))]
    check = rule.when_imports
    if check is not None:
        what = f"{check.symbol} from {check.module}" if check.symbol else check.module
        lines.append(_indented(Text(f"applies to releases that import {what}", style="dim")))
    lines.append(_indented(Text(f"because {rule.because}")))
    evidence = evidence_words(rule, boundary_for(rule, result.boundaries)) \
        or probe_ids(rule.evidence)
    if evidence:
        lines.append(_indented(Text(f"evidence: {evidence}", style="dim")))
    return Group(*lines)


def _boundaries(result: SolveResult) -> Padding:
    table = Table(box=None, header_style="dim", padding=(0, 2, 0, 0), pad_edge=False)
    for column in ("package", "symbol", "last with", "first without", "found by"):
        table.add_column(column)
    for b in result.boundaries:
        confirmed = f" ({probe_ids(b.confirmed_by)})" if b.confirmed_by else ""
        table.add_row(Text(b.package), Text(b.symbol), Text(b.last_with or "—"),
                      Text(b.first_without or "—"), Text(f"{b.method}{confirmed}"))
    return Padding(table, (0, 0, 0, 2))


def _attempts(attempts: list[Attempt]) -> Table:
    """Probe id and purpose in narrow columns; the result and the pin changes beside them."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, justify="right")
    grid.add_column(no_wrap=True)
    grid.add_column()
    previous = None
    for attempt in attempts:
        outcome = attempt.outcome
        probe = f"#{outcome.probe_id}" if outcome.probe_id is not None else "—"
        said = Text(attempt_verdict(attempt), style="green" if outcome else "red")
        if outcome.cached:
            said.append(" (from the store)", style="dim")
        said.append(f"\n{pin_changes(previous, attempt.pins)}", style="dim")
        grid.add_row(Text(probe), Text(str(attempt.purpose)), said)
        previous = attempt.pins
    return grid


def _matrix(matrix: Matrix) -> Padding:
    """Transposed, so the many releases of the package run down the page, not across it.

    Neighbouring releases that read the same in every column share one line.
    """
    table = Table(box=None, header_style="dim", padding=(0, 2, 0, 0), pad_edge=False)
    table.add_column(matrix.package, no_wrap=True)
    for row in matrix.rows:
        table.add_column(f"{matrix.importer} {row}" if matrix.importer else row)
    columns = zip(matrix.columns, zip(*matrix.cells))
    for _, same in groupby(columns, key=lambda column: [_said(c) for c in column[1]]):
        run = list(same)
        first, last = run[0][0], run[-1][0]
        label = first if len(run) == 1 else f"{first} – {last} ({len(run)})"
        table.add_row(Text(label), *(Text(_said(c), style=_CELL_STYLE[c.state])
                                     for c in run[0][1]))
    return Padding(table, (0, 0, 0, 2))


def _said(cell: Cell) -> str:
    """Static cells drop the symbol (the title names it) to keep the columns narrow."""
    return {"has": "has", "lacks": "lacks"}.get(cell.state, cell.text)


def _fallback(fallback: dict[str, Any]) -> Text:
    text = Text(f"Fallback export: {fallback.get('status', 'unknown')}", style="bold")
    if fallback.get("onnx"):
        text.append(f" — {fallback['onnx']} (max abs diff {fallback.get('max_abs_diff')}, "
                    f"{fallback.get('frames_checked')} frames checked)", style="not bold")
    if fallback.get("message"):
        text.append(f" — {fallback['message']}", style="not bold")
    return text
