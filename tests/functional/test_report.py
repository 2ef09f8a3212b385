"""Renderers on hand-built results shaped like the NeMo case: solved, unsatisfiable, undecided.

The values are written out here rather than produced by a solve, so each
assertion checks one renderer against evidence whose every id is known.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from rich.console import Console

from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome, Status
from envprobe.model.result import Attempt, SolveResult
from envprobe.model.rules import Boundary, ImportCheck, Rule
from envprobe.report import (
    build_matrices,
    matrix_svg,
    render_constraints,
    render_json,
    render_markdown,
    render_outcome,
    render_terminal,
    replace_section,
    uv_overrides,
    write_report,
)
from envprobe.report.sections import SectionError

HUB = "huggingface-hub"
NEMO = "nemo-toolkit"
BECAUSE = (f"{NEMO} 1.23.0 imports ModelFilter from huggingface_hub in "
           f"nemo/core/classes/common.py:23; {HUB} provides it up to 0.23.5 and not from 0.24.0")
SVG = "{http://www.w3.org/2000/svg}"
REPO = Path(__file__).resolve().parents[2]


def missing_model_filter(hub: str) -> Failure:
    return Failure(FailureKind.MISSING_SYMBOL,
                   f"cannot import name 'ModelFilter' from 'huggingface_hub' ({hub})",
                   name="ModelFilter", module="huggingface_hub", package=HUB, version=hub,
                   importer="nemo/core/classes/common.py:23", importer_package=NEMO,
                   importer_version="1.23.0")


def attempt(purpose: str, probe_id: int, nemo: str, hub: str, *, passed: bool = False,
            cached: bool = False, installed: dict[str, str] | None = None) -> Attempt:
    pins = {NEMO: nemo, HUB: hub, "transformers": "4.40.0"}
    outcome = ProbeOutcome(
        status=Status.OK if passed else Status.FAILED,
        pins=pins,
        failure=None if passed else missing_model_filter(hub),
        installed=installed or dict(pins),
        installer="pip",
        cached=cached,
        probe_id=probe_id,
    )
    return Attempt(purpose, pins, outcome)


BOUNDARY = Boundary(
    package=HUB, symbol="ModelFilter", module="huggingface_hub",
    last_with="0.23.5", first_without="0.24.0", method="static+probe", confirmed_by=(4,),
    checked=(("0.21.4", True), ("0.22.2", True), ("0.23.0", True), ("0.23.5", True),
             ("0.24.0", False), ("0.24.5", False), ("0.25.0", False)),
)
RULE = Rule(
    requires=f"{HUB}<0.24.0", because=BECAUSE, kind="missing_symbol", package=NEMO,
    when_imports=ImportCheck("huggingface_hub", "ModelFilter"), evidence=(3, 4),
    scanned=tuple(f"huggingface_hub-{v}-py3-none-any.whl" for v, _ in BOUNDARY.checked),
    boundary=BOUNDARY.key,
)
INSTALLED = {NEMO: "1.23.0", "huggingface_hub": "0.23.5", "transformers": "4.40.0",
             "numpy": "1.26.4", "torch": "2.3.0+cpu", "Pillow": "10.3.0"}


@pytest.fixture
def solved() -> SolveResult:
    return SolveResult(
        scenario="nemo-asr", status="solved", reason="probe #7 passed",
        pins={NEMO: "1.23.0", HUB: "0.23.5", "transformers": "4.40.0"},
        installed=INSTALLED, installer="pip", python="3.11.7", platform="linux_x86_64",
        rules=[RULE], boundaries=[BOUNDARY],
        attempts=[
            attempt("proposal", 3, "1.23.0", "0.25.0"),
            attempt("confirm", 4, "1.23.0", "0.24.0"),
            attempt("proposal", 5, "1.22.0", "0.24.0", cached=True),
            attempt("proposal", 7, "1.23.0", "0.23.5", passed=True, installed=INSTALLED),
        ],
        notes=["transformers 4.40.0 warns about torch at import time"],
        scans=9, seconds=83.44,
    )


@pytest.fixture
def unsatisfiable() -> SolveResult:
    chain = [f"{NEMO}[asr]>=1.18,<2 (scenario)",
             f"{HUB}<0.24.0 (rule: {NEMO} imports ModelFilter)",
             f"{HUB}>=0.24.0 (transformers 4.46.0 depends on it)"]
    return SolveResult(
        scenario="nemo-asr", status="unsatisfiable", reason="no candidate set is left in range",
        pins={}, installed={}, installer="uv", python="3.11.7", platform="linux_x86_64",
        rules=[RULE], boundaries=[BOUNDARY],
        attempts=[attempt("proposal", 3, "1.23.0", "0.25.0")],
        chain=chain, scans=7, seconds=12.0,
        fallback={"model": "m.nemo", "status": "unavailable",
                  "message": "no exporter is installed (No module named 'torch')"},
    )


@pytest.fixture
def undecided() -> SolveResult:
    return SolveResult(
        scenario="nemo-asr", status="undecided", reason="the install budget (1) ran out",
        pins={}, installed={}, installer="pip", python="3.11.7", platform="linux_x86_64",
        attempts=[attempt("proposal", 3, "1.23.0", "0.25.0")], seconds=5.0,
    )


# markdown -----------------------------------------------------------------------------


def test_solved_section_states_verdict_pins_installer_and_chain_with_evidence(solved):
    text = render_markdown(solved)

    assert text.startswith("## nemo-asr\n")
    assert "**Verdict: solved" in text and "probe #7 passed" in text
    assert f"| {HUB} | 0.23.5 |" in text
    assert "Found with pip" in text
    assert (f"- {BECAUSE} (static scan of 7 wheels, confirmed by probe #4)") in text
    assert (f"- `{NEMO}` releases that import `ModelFilter` require `{HUB}<0.24.0` — because {BECAUSE} — "
            "evidence: probes #3, #4; 7 wheels scanned") in text
    assert (f"| {HUB} | ModelFilter | huggingface_hub | 0.23.5 | 0.24.0 | static+probe | #4 |"
            in text)
    assert "4 probes, 3 real installs, 1 cache hit, 9 static scans, wall time 83.4 s" in text
    assert text.rstrip().endswith("- transformers 4.40.0 warns about torch at import time")


def test_attempts_table_shows_what_changed_the_result_and_the_cache(solved):
    text = render_markdown(solved)

    assert (f"| #3 | proposal | {HUB} 0.25.0, {NEMO} 1.23.0, transformers 4.40.0 | "
            "missing symbol 'ModelFilter' in huggingface_hub (huggingface-hub 0.25.0) | no |"
            in text)
    assert f"| #4 | confirm | {HUB} 0.25.0 → 0.24.0 |" in text
    assert f"| #5 | proposal | {NEMO} 1.23.0 → 1.22.0 |" in text and "| yes |" in text
    assert f"| #7 | proposal | {HUB} 0.24.0 → 0.23.5, {NEMO} 1.22.0 → 1.23.0 | passed | no |" \
        in text


def test_unsatisfiable_section_gives_the_chain_and_the_fallback(unsatisfiable):
    text = render_markdown(unsatisfiable)

    assert "**Verdict: unsatisfiable" in text
    assert "These requirements cannot all hold:" in text
    for line in unsatisfiable.chain:
        assert f"- {line}" in text
    assert "### Working pins" not in text and "[tool.uv]" not in text
    assert "Status: **unavailable**" in text and "no exporter is installed" in text


def test_fallback_that_exported_shows_its_proof(unsatisfiable):
    unsatisfiable.fallback = {"status": "ok", "onnx": "out/model.onnx", "max_abs_diff": 1.2e-05,
                              "frames_checked": 480}
    text = render_markdown(unsatisfiable)

    assert "Status: **ok**." in text and "- ONNX model: `out/model.onnx`" in text
    assert "- max abs diff against PyTorch: 1.2e-05" in text and "- frames checked: 480" in text


def test_boundary_found_by_bisection_names_the_probes_behind_it(solved):
    solved.boundaries = [dataclasses.replace(BOUNDARY, method="probe", confirmed_by=())]

    assert f"- {BECAUSE} (bisection with real installs (#3, #4))" in render_markdown(solved)


def test_undecided_section_has_no_answer_and_no_matrix(undecided):
    text = render_markdown(undecided)

    assert "**Verdict: undecided" in text and "budget (1) ran out" in text
    assert "Working pins" not in text and "Compatibility matrix" not in text
    assert build_matrices(undecided) == []


def test_solved_section_carries_the_uv_block(solved):
    text = render_markdown(solved, matrix_images=["report-figures/nemo-asr-hub-ModelFilter.svg"])

    assert "```toml\n[tool.uv]\noverride-dependencies = [" in text
    assert "![compatibility matrix: " in text and "(report-figures/nemo-asr-hub-ModelFilter.svg)" in text


# matrix ----------------------------------------------------------------------------------


def test_matrix_cells_combine_probes_and_static_scans(solved):
    [matrix] = build_matrices(solved)

    assert (matrix.importer, matrix.package) == (NEMO, HUB)
    assert matrix.rows == ("1.22.0", "1.23.0")
    assert matrix.columns == ("0.21.4", "0.22.2", "0.23.0", "0.23.5", "0.24.0", "0.24.5",
                              "0.25.0")
    assert matrix.cell("1.23.0", "0.23.5").text == "pass"
    assert matrix.cell("1.23.0", "0.23.5").probes == (7,)
    assert matrix.cell("1.23.0", "0.24.0").text == "missing_symbol"
    assert matrix.cell("1.23.0", "0.25.0").probes == (3,)
    assert matrix.cell("1.22.0", "0.24.0").text == "missing_symbol"
    assert matrix.cell("1.22.0", "0.23.5").text == "has ModelFilter (static)"
    assert matrix.cell("1.23.0", "0.24.5").text == "lacks ModelFilter (static)"


def test_matrix_ignores_probes_that_failed_over_another_name(solved):
    other = attempt("confirm", 8, "1.22.0", "0.23.5")
    other.outcome.failure = dataclasses.replace(other.outcome.failure, name="HfFolder")
    solved.attempts.append(other)
    [matrix] = build_matrices(solved)

    assert matrix.cell("1.22.0", "0.23.5").text == "has ModelFilter (static)"


def test_matrix_without_importer_is_one_row_of_the_package(solved):
    solved.rules = [Rule(requires=f"{HUB}<0.24.0", because="the probe imports ModelFilter",
                         kind="missing_symbol", evidence=(3,), boundary=BOUNDARY.key)]
    [matrix] = build_matrices(solved)

    assert matrix.importer is None and matrix.rows == ("any",)
    assert matrix.cell("any", "0.23.5").text == "pass"
    assert matrix.cell("any", "0.24.0").text == "missing_symbol"


def test_matrix_markdown_table_in_the_section(solved):
    text = render_markdown(solved)

    assert (f"| {NEMO} \\ {HUB} | 0.21.4 | 0.22.2 | 0.23.0 | 0.23.5 | 0.24.0 | 0.24.5 | 0.25.0 |"
            in text)
    assert ("| 1.23.0 | has ModelFilter (static) | has ModelFilter (static) | "
            "has ModelFilter (static) | pass | missing_symbol | lacks ModelFilter (static) | "
            "missing_symbol |") in text


def test_svg_is_well_formed_with_one_coloured_rect_per_cell(solved):
    unreadable = (("0.26.0", None),)
    solved.boundaries = [dataclasses.replace(BOUNDARY, checked=BOUNDARY.checked + unreadable)]
    root = ET.fromstring(matrix_svg(build_matrices(solved)[0]))

    cells = [r for r in root.iter(f"{SVG}rect") if r.get("class", "").startswith("cell ")]
    assert len(cells) == 2 * 8
    fills = {r.get("class"): r.get("fill") for r in cells}
    assert len(set(fills.values())) == 5, "pass, fail, has, lacks and not-probed differ"
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "0.23.5" in texts and "1.22.0" in texts and "lacks ModelFilter" in texts
    assert float(root.get("width")) > 0 and float(root.get("height")) > 0


# constraints and uv ----------------------------------------------------------------------


def requirements_of(text: str) -> list[Requirement]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [Requirement(line) for line in lines]


def test_a_pin_says_which_rule_kept_it_off_its_newest_release(solved):
    """A rule on the pinned package's newer releases, broken by another pin, holds it back."""
    check = Rule(requires="numpy>=2.0", because="pyarrow 26.0.1 checks numpy at import time",
                 kind="dependency_check", package="pyarrow", versions=">=26.0.0")
    undeclared = Rule(requires="einops", because="nemo imports einops but does not declare it",
                      kind="undeclared", package=NEMO)
    result = dataclasses.replace(
        solved, rules=[check, undeclared],
        pins={**solved.pins, "pyarrow": "25.0.1", "numpy": "1.26.4", "einops": "0.8.2"})
    text = render_constraints(result, today=datetime.date(2025, 1, 2))
    lines = text.splitlines()

    assert lines[lines.index("pyarrow==25.0.1") - 1] == (
        "# kept out of pyarrow >=26.0.0 by rule: pyarrow 26.0.1 checks numpy at import time; "
        "probe #7 passed")
    assert lines[lines.index("einops==0.8.2") - 1] == (
        "# required by rule: nemo imports einops but does not declare it; probe #7 passed")


def test_constraints_file_pins_the_answer_then_the_locked_rest(solved):
    text = render_constraints(solved, today=datetime.date(2025, 1, 2))
    lines = text.splitlines()

    assert [str(r) for r in requirements_of(text)] == [
        f"{HUB}==0.23.5", f"{NEMO}==1.23.0", "transformers==4.40.0",
        "numpy==1.26.4", "pillow==10.3.0", "torch==2.3.0+cpu",
    ]
    assert "# python 3.11.7 on linux_x86_64, installer pip, written 2025-01-02" in lines
    hub = lines.index(f"{HUB}==0.23.5")
    assert lines[hub - 1] == (f"# kept to <0.24.0 by rule: {BECAUSE}; probe #7 passed")
    assert lines[lines.index("transformers==4.40.0") - 1] == (
        "# the newest release that declared metadata and the rules allow; probe #7 passed")
    assert "# the rest of the environment that passed (probe #7), locked" in lines


@pytest.mark.parametrize("case", ["unsatisfiable", "undecided"])
def test_constraints_without_an_answer_are_comments_saying_why(case, request):
    result = request.getfixturevalue(case)
    text = render_constraints(result)

    assert requirements_of(text) == []
    assert all(line.startswith("#") for line in text.splitlines())
    assert f"# no pins: the solve ended {case}" in text
    assert uv_overrides(result) == ""


def test_uv_block_is_toml_with_the_same_pins(solved):
    data = tomllib.loads(uv_overrides(solved))

    overrides = data["tool"]["uv"]["override-dependencies"]
    assert overrides[:3] == [f"{HUB}==0.23.5", f"{NEMO}==1.23.0", "transformers==4.40.0"]
    assert "torch==2.3.0+cpu" in overrides and len(overrides) == 6


def with_build_rule(result: SolveResult, installer: str = "pip") -> SolveResult:
    """The solved case after learning that youtokentome's build needs Cython (probe #1)."""
    rule = Rule(requires="Cython", because="building youtokentome imports Cython, which its "
                "build requirements do not declare", kind="build", package="youtokentome",
                evidence=(1,), install_option="build_without_isolation")
    installed = {**INSTALLED, "cython": "3.0.10", "youtokentome": "1.0.6"}
    return dataclasses.replace(result, rules=[*result.rules, rule], installed=installed,
                               installer=installer)


def header_commands(text: str) -> list[str]:
    return [line.removeprefix("#   ") for line in text.splitlines() if line.startswith("#   ")]


def test_constraints_header_gives_the_commands_that_rebuild_it_learned_steps_included(solved):
    text = render_constraints(with_build_rule(solved))

    assert header_commands(text) == [
        "python3.11 -m venv .venv",
        ".venv/bin/pip install -c nemo-asr.txt cython==3.0.10",
        ".venv/bin/pip install -c nemo-asr.txt --no-build-isolation --no-deps youtokentome==1.0.6",
        (f".venv/bin/pip install -c nemo-asr.txt {HUB}==0.23.5 {NEMO}==1.23.0 "
         "transformers==4.40.0"),
    ]
    assert ("# learned from probe #1: building youtokentome imports Cython, which its build "
            "requirements do not declare") in text
    assert ("# or in one command, which also runs the scenario's probe there: "
            "envprobe env nemo-asr.toml .venv") in text
    assert len(requirements_of(text)) == 8, "the header's commands are comments, not pins"


def test_constraints_header_pre_installs_what_the_unisolated_sdist_declares(solved):
    """A fresh venv without an old wheel in pip's cache needs the declared backend too."""
    result = dataclasses.replace(
        with_build_rule(solved), build_requirements={"youtokentome": ["setuptools>=40.8.0"]},
        installed={**with_build_rule(solved).installed, "setuptools": "81.0.0"})
    text = render_constraints(result)

    assert header_commands(text)[1] == (
        ".venv/bin/pip install -c nemo-asr.txt cython==3.0.10 setuptools==81.0.0")
    again = SolveResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.build_requirements == {"youtokentome": ["setuptools>=40.8.0"]}


def test_constraints_header_names_the_files_and_the_targets_the_probe_asked_for(solved):
    passed = solved.attempts[-1].outcome
    passed.requirements = [f"{NEMO}[asr]==1.23.0", "torch==2.3.0"]
    text = render_constraints(solved, file_name="answer.txt", scenario_file="my scenario.toml")

    assert header_commands(text) == [
        "python3.11 -m venv .venv",
        f".venv/bin/pip install -c answer.txt '{NEMO}[asr]==1.23.0' torch==2.3.0",
    ]
    assert text.count("envprobe env 'my scenario.toml' .venv") == 1


def test_constraints_header_for_uv_turns_isolation_off_per_project(solved):
    text = render_constraints(with_build_rule(solved, installer="uv"))

    assert header_commands(text) == [
        "uv venv --python 3.11 .venv",
        "uv pip install --python .venv/bin/python -c nemo-asr.txt cython==3.0.10",
        ("uv pip install --python .venv/bin/python -c nemo-asr.txt "
         f"--no-build-isolation-package youtokentome {HUB}==0.23.5 {NEMO}==1.23.0 "
         "transformers==4.40.0"),
    ]


def test_uv_block_carries_the_learned_build_requirements(solved):
    data = tomllib.loads(uv_overrides(with_build_rule(solved)))

    assert data["tool"]["uv"]["extra-build-dependencies"] == {"youtokentome": ["cython==3.0.10"]}
    assert "youtokentome==1.0.6" in data["tool"]["uv"]["override-dependencies"]
    assert "extra-build-dependencies" not in uv_overrides(solved)


# json ------------------------------------------------------------------------------------


def test_json_has_the_issue_keys_and_is_stable(solved):
    data = json.loads(render_json(solved))

    assert data["status"] == "solved" and data["pins"][HUB] == "0.23.5"
    assert data["rules"][0]["package"] == NEMO and data["rules"][0]["versions"] == "*"
    assert {"requires", "because"} <= set(data["rules"][0])
    assert (data["boundaries"][0]["last_with"], data["boundaries"][0]["first_without"]) == (
        "0.23.5", "0.24.0")
    assert (data["probes"], data["installs"]) == (4, 3)
    solved.pins = dict(reversed(solved.pins.items()))
    assert json.loads(render_json(solved)) == data


# terminal --------------------------------------------------------------------------------


def recorded(result: SolveResult) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(render_terminal(result))
    return console.export_text()


def test_terminal_shows_verdict_tables_and_cost(solved):
    text = recorded(solved)

    assert "nemo-asr: solved" in text and "probe #7 passed" in text
    assert "Working pins (found with pip)" in text
    for title in ("Rules learned", "Boundaries", "Attempts", "Compatibility matrix"):
        assert title in text
    assert "missing symbol 'ModelFilter'" in text
    assert "4 probes, 3 real installs, 1 cache hit, 9 static scans" in text


def test_terminal_keeps_square_brackets_literal(unsatisfiable):
    text = recorded(unsatisfiable)

    assert "nemo-asr: unsatisfiable" in text
    assert f"{NEMO}[asr]>=1.18,<2" in text
    assert "Fallback export: unavailable — no exporter is installed" in text


def test_terminal_reads_at_80_columns_one_block_per_rule():
    stored = json.loads((REPO / "constraints" / "nemo-asr-import.result.json").read_text())
    result = SolveResult.from_dict(stored)
    console = Console(record=True, width=80, color_system=None)
    console.print(render_terminal(result))
    lines = console.export_text().splitlines()

    assert max(len(line) for line in lines) <= 80
    for rule in result.rules:
        [start] = [i for i, line in enumerate(lines)
                   if line.rstrip() == f"• {rule.package} requires {rule.requires}"]
        under = itertools.takewhile(lambda line: line.startswith("    "), lines[start + 1:])
        # the reason is indented under its rule and wrapped between words only
        assert f"because {' '.join(rule.because.split())}" in " ".join(" ".join(under).split())
    for name, version in result.pins.items():
        assert any(line.split() == [name, version] for line in lines), name


@pytest.mark.parametrize("case", ["solved", "unsatisfiable", "undecided"])
def test_terminal_fits_80_columns(case, request):
    console = Console(record=True, width=80, color_system=None)
    console.print(render_terminal(request.getfixturevalue(case)))

    assert max(len(line) for line in console.export_text().splitlines()) <= 80


def test_probe_outcome_panel_keeps_extras_and_shows_the_evidence():
    outcome = attempt("proposal", 3, "1.23.0", "0.25.0").outcome
    outcome.requirements = [f"{NEMO}[asr]==1.23.0", f"{HUB}==0.25.0"]
    outcome.seconds = {"create": 1.0, "install": 20.5, "run": 3.25}
    console = Console(record=True, width=80, color_system=None)
    console.print(render_outcome(outcome))
    text = console.export_text()

    assert f"FAILED {NEMO}[asr]==1.23.0 {HUB}==0.25.0" in text
    assert "missing symbol 'ModelFilter'" in text
    assert "nemo/core/classes/common.py:23 nemo-toolkit 1.23.0" in text
    assert "probe #3 · Python  · pip · create 1.0 s, install 20.5 s, run 3.2 s" in text


# sections and files ------------------------------------------------------------------------


def test_section_update_replaces_only_its_own_lines():
    before = ("# Report\r\n\r\nHand-written intro.\r\n\r\n<!-- envprobe:other:start -->\r\n"
              "other body\r\n<!-- envprobe:other:end -->\r\n")
    first = replace_section(before, "nemo-asr", "## nemo-asr\nold\n")
    assert first.startswith(before)
    assert first.endswith("<!-- envprobe:nemo-asr:start -->\r\n## nemo-asr\r\nold\r\n"
                          "<!-- envprobe:nemo-asr:end -->\r\n")

    tail = "\r\nHand-written outro.\r\n"
    second = replace_section(first + tail, "nemo-asr", "## nemo-asr\nnew\n")
    assert second == first.replace("old", "new") + tail
    assert replace_section(second, "nemo-asr", "## nemo-asr\nnew\n") == second


def test_section_with_broken_markers_is_refused():
    with pytest.raises(SectionError, match="nemo-asr"):
        replace_section("<!-- envprobe:nemo-asr:start -->\nno end\n", "nemo-asr", "x")


def test_write_report_writes_the_section_and_its_picture(solved, tmp_path: Path):
    report = tmp_path / "REPORT.md"
    report.write_text("# Findings\n\nKeep me.\n", encoding="utf-8")

    written = write_report(solved, report)

    picture = tmp_path / "report-figures" / "nemo-asr-huggingface-hub-ModelFilter.svg"
    assert written == [report, picture]
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Findings\n\nKeep me.\n\n<!-- envprobe:nemo-asr:start -->\n")
    assert "(report-figures/nemo-asr-huggingface-hub-ModelFilter.svg)" in text
    ET.parse(picture)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["REPORT.md", "report-figures"]
    assert [p.name for p in picture.parent.iterdir()] == [picture.name]


def test_each_report_keeps_its_figures_in_its_own_folder(solved, tmp_path: Path):
    written = write_report(solved, tmp_path / "docs" / "Findings.md")

    assert written[1] == tmp_path / "docs" / "findings-figures" / (
        "nemo-asr-huggingface-hub-ModelFilter.svg")
    assert "(findings-figures/nemo-asr-huggingface-hub-ModelFilter.svg)" in written[0].read_text()

