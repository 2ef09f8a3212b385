"""The result as rich renderables, for the terminal.

Nothing here prints: the caller hands the group to its own Console, so the
engine stays silent and tests can record the output. Every text goes in as a
`Text`, never as markup, because package extras (`nemo_toolkit[asr]`) and
error messages are full of square brackets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from envprobe.report.matrix import Cell, Matrix, build_matrices
from envprobe.report.words import (
    attempt_verdict,
    boundary_for,
    chain_sentences,
    cost_sentence,
    evidence_words,
    pin_changes,
    probe_ids,
)

if TYPE_CHECKING:
    from envprobe.model.result import SolveResult

__all__ = ["render_terminal"]

_COLOUR = {"solved": "green", "unsatisfiable": "red", "undecided": "yellow"}
_CELL_STYLE = {"pass": "black on green", "fail": "white on red", "has": "green",
               "lacks": "red", "unknown": "dim"}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=Text(title, style="bold"), title_justify="left", expand=False)
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    return table


def _row(table: Table, *cells: object, style: str | None = None) -> None:
    table.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in cells), style=style)


def render_terminal(result: SolveResult) -> Group:
    """Verdict panel, then pins, why, rules, boundaries, attempts, matrix and cost."""
    parts: list[RenderableType] = [_verdict(result)]
    if result.pins:
        pins = _table(f"Working pins (found with {result.installer})", "package", "version")
        for name, version in sorted(result.pins.items()):
            _row(pins, name, version)
        parts.append(pins)
    if result.chain:
        parts.append(Text("These requirements cannot all hold:\n" +
                          "\n".join(f"  • {line}" for line in result.chain)))
    if result.rules:
        rules = _table("Rules learned", "package", "versions", "requires", "because", "evidence")
        for rule in result.rules:
            evidence = evidence_words(rule, boundary_for(rule, result.boundaries))
            _row(rules, rule.package or "every set", rule.versions or "*", rule.requires,
                 rule.because, evidence or probe_ids(rule.evidence))
        parts.append(rules)
    if result.boundaries:
        bounds = _table("Boundaries", "package", "symbol", "module", "last with",
                        "first without", "method", "confirmed by")
        for b in result.boundaries:
            _row(bounds, b.package, b.symbol, b.module, b.last_with or "—",
                 b.first_without or "—", b.method, probe_ids(b.confirmed_by) or "—")
        parts.append(bounds)
    if result.attempts:
        parts.append(_attempts(result))
    parts += [_matrix(matrix) for matrix in build_matrices(result)]
    if result.fallback is not None:
        parts.append(_fallback(result.fallback))
    parts += [Text(f"• {note}", style="dim") for note in result.notes]
    parts.append(Text(f"Cost: {cost_sentence(result)}", style="bold"))
    return Group(*parts)


def _verdict(result: SolveResult) -> Panel:
    colour = _COLOUR.get(result.status, "white")
    body = Text(f"{result.reason}\n", style=colour)
    body.append(f"python {result.python} on {result.platform}, installer {result.installer}",
                style="dim")
    for sentence in chain_sentences(result):
        body.append(f"\n• {sentence}")
    return Panel(body, title=Text(f"{result.scenario}: {result.status}", style=f"bold {colour}"),
                 title_align="left", border_style=colour)


def _fallback(fallback: dict[str, Any]) -> Text:
    text = Text(f"Fallback export: {fallback.get('status', 'unknown')}", style="bold")
    if fallback.get("onnx"):
        text.append(f" — {fallback['onnx']} (max abs diff {fallback.get('max_abs_diff')}, "
                    f"{fallback.get('frames_checked')} frames checked)", style="not bold")
    if fallback.get("message"):
        text.append(f" — {fallback['message']}", style="not bold")
    return text


def _attempts(result: SolveResult) -> Table:
    table = _table("Attempts", "probe", "purpose", "pins changed", "result", "cached")
    previous = None
    for attempt in result.attempts:
        outcome = attempt.outcome
        probe = f"#{outcome.probe_id}" if outcome.probe_id is not None else "—"
        verdict = Text(attempt_verdict(attempt), style="green" if outcome else "red")
        _row(table, probe, attempt.purpose, pin_changes(previous, attempt.pins), verdict,
             "yes" if outcome.cached else "no")
        previous = attempt.pins
    return table


def _matrix(matrix: Matrix) -> Table:
    table = _table(f"Compatibility matrix: {matrix.title}", matrix.importer or "",
                   *matrix.columns)
    for row, cells in zip(matrix.rows, matrix.cells):
        _row(table, Text(row, style="bold"), *(_matrix_cell(c) for c in cells))
    return table


def _matrix_cell(cell: Cell) -> Text:
    """Static cells drop the symbol, which the title names, to keep the grid narrow."""
    text = {"has": "has (static)", "lacks": "lacks (static)"}.get(cell.state, cell.text)
    return Text(text, style=_CELL_STYLE[cell.state])
