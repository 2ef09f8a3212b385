"""One scenario's section of REPORT.md: verdict, answer, why, evidence, cost.

The section is written for a person who has never seen the tool: every claim
says which probe or scan backs it, and every table can be checked against
the JSON output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from envprobe.report.constraints import uv_overrides
from envprobe.report.matrix import build_matrices, matrix_markdown
from envprobe.report.words import (
    attempt_verdict,
    chain_sentences,
    cost_sentence,
    pin_changes,
    probe_ids,
)

if TYPE_CHECKING:
    from envprobe.model.result import SolveResult

__all__ = ["render_markdown"]

_VERDICT = {
    "solved": "solved: a pin set that really imports",
    "unsatisfiable": "unsatisfiable: no pin set in range can work",
    "undecided": "undecided: the budget ran out before an answer",
}


def _md(text: object) -> str:
    """Table-cell safe: pipes escaped, newlines folded."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines


def render_markdown(result: SolveResult, *, matrix_images: Sequence[str] = ()) -> str:
    """The section's Markdown, from its heading down.

    `matrix_images` are the SVGs' relative paths, one per boundary, in order.
    """
    lines = [f"## {result.scenario}", ""]
    lines += [f"**Verdict: {_VERDICT.get(result.status, result.status)}** — {result.reason}.", ""]
    lines += [f"Python {result.python} on {result.platform}; installer {result.installer}.", ""]
    lines += _pins(result)
    lines += _why(result)
    lines += _rules(result)
    lines += _boundaries(result)
    lines += _attempts(result)
    lines += _matrices(result, matrix_images)
    lines += ["### Cost", "", cost_sentence(result) + ".", ""]
    if snippet := uv_overrides(result):
        lines += ["### uv equivalent", "",
                  f"Found with {result.installer}; for uv, pin the same set in `pyproject.toml`:",
                  "", "```toml", snippet.rstrip("\n"), "```", ""]
    if result.fallback is not None:
        lines += _fallback(result.fallback)
    if result.notes:
        lines += ["### Notes", ""] + [f"- {_md(n)}" for n in result.notes] + [""]
    return "\n".join(lines)


def _pins(result: SolveResult) -> list[str]:
    if not result.pins:
        return []
    lines = ["### Working pins", ""]
    lines += _table(["package", "version"], [[n, v] for n, v in sorted(result.pins.items())])
    caveat = (f"Found with {result.installer}, and proven for {result.installer} only: another "
              "installer may resolve the unpinned rest differently and meet other failures, so "
              "lock the rest too (constraints file, or the uv block below).")
    return [*lines, "", caveat, ""]


def _why(result: SolveResult) -> list[str]:
    sentences = chain_sentences(result)
    if not (result.chain or sentences):
        return []
    lines = ["### Why", ""]
    if result.chain:
        lines += ["These requirements cannot all hold:", ""]
        lines += [f"- {_md(line)}" for line in result.chain] + [""]
    if sentences:
        intro = "Learned from probes and scans:" if result.chain else \
            "What the packages' metadata does not say:"
        lines += [intro, ""] + [f"- {_md(s)}" for s in sentences] + [""]
    return lines


def _rules(result: SolveResult) -> list[str]:
    if not result.rules:
        return []
    lines = ["### Rules learned", ""]
    for rule in result.rules:
        if rule.package is None:
            who = "every set"
        elif rule.when_imports is not None:
            what = rule.when_imports.symbol or rule.when_imports.module
            who = f"`{rule.package}` releases that import `{what}`"
        else:
            who = f"`{rule.package} {rule.versions or '*'}`"
        wheels = f"; {len(rule.scanned)} wheels scanned" if rule.scanned else ""
        probes = f"probes {probe_ids(rule.evidence)}" if rule.evidence else "no probe"
        verb = "require" if rule.package is not None and rule.when_imports is not None \
            else "requires"
        lines.append(f"- {who} {verb} `{rule.requires}` — because {_md(rule.because)} — "
                     f"evidence: {probes}{wheels}")
    return lines + [""]


def _boundaries(result: SolveResult) -> list[str]:
    if not result.boundaries:
        return []
    rows: list[list[Any]] = [
        [b.package, b.symbol, b.module, b.last_with or "—", b.first_without or "—",
         b.method, probe_ids(b.confirmed_by) or "—"]
        for b in result.boundaries
    ]
    header = ["package", "symbol", "module", "last with", "first without", "method",
              "confirmed by"]
    return ["### Boundaries", ""] + _table(header, rows) + [""]


def _attempts(result: SolveResult) -> list[str]:
    if not result.attempts:
        return []
    rows: list[list[Any]] = []
    previous = None
    for attempt in result.attempts:
        probe = f"#{attempt.outcome.probe_id}" if attempt.outcome.probe_id is not None else "—"
        rows.append([probe, attempt.purpose, pin_changes(previous, attempt.pins),
                     attempt_verdict(attempt), "yes" if attempt.outcome.cached else "no"])
        previous = attempt.pins
    header = ["probe", "purpose", "pins changed", "result", "cached"]
    return ["### Attempts", ""] + _table(header, rows) + [""]


def _matrices(result: SolveResult, images: Sequence[str]) -> list[str]:
    lines: list[str] = []
    for number, matrix in enumerate(build_matrices(result)):
        lines += [f"### Compatibility matrix: {matrix.title}", ""]
        if number < len(images):
            lines += [f"![compatibility matrix: {matrix.title}]({images[number]})", ""]
        lines += [matrix_markdown(matrix).rstrip("\n"), ""]
    if lines:
        legend = ("Cells: `pass` = a probe passed; a failure kind = a probe failed so; "
                  "`(static)` = only a scan of the wheel; `·` = not probed.")
        lines += [legend, ""]
    return lines


def _fallback(fallback: dict[str, Any]) -> list[str]:
    status = fallback.get("status", "unknown")
    lines = ["### Fallback: manual export", "", f"Status: **{status}**."]
    if fallback.get("why"):
        lines += ["", f"It ran because {_md(fallback['why'])}."]
    if fallback.get("onnx"):
        lines += ["", f"- ONNX model: `{fallback['onnx']}`"]
        for key, label in (("max_abs_diff", "max abs diff against PyTorch"),
                           ("frames_checked", "frames checked")):
            if fallback.get(key) is not None:
                lines.append(f"- {label}: {fallback[key]}")
    if fallback.get("message"):
        lines += ["", _md(fallback["message"])]
    return lines + [""]
