"""`envprobe solve` and `envprobe report` as a user runs them: a real process each time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from envprobe.cli.report import report_path
from envprobe.probing.store import Store

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """
[scenario]
name = "chain"
probe = ["import toolkit", "import lightning"]

[packages]
toolkit = "*"
fakehub = "*"
formers = "*"
lightning = "*"
"""


def envprobe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envprobe", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_solve_writes_report_constraints_and_json_then_report_rerenders(tmp_path, chain_index):
    (tmp_path / "chain.toml").write_text(SCENARIO)
    (tmp_path / "REPORT.md").write_text("# Figures\n\nkept as is\n")

    solved = envprobe("solve", "chain.toml", "--json", "--index-url", chain_index, cwd=tmp_path)

    assert solved.returncode == 0, solved.stderr
    result = json.loads(solved.stdout)
    assert result["status"] == "solved"
    assert result["pins"]["fakehub"] == "1.1"
    report = (tmp_path / "REPORT.md").read_text()
    assert report.startswith("# Figures\n\nkept as is\n")
    assert "(report-figures/chain-fakehub-ModelFilter.svg)" in report
    assert (tmp_path / "report-figures" / "chain-fakehub-ModelFilter.svg").exists()
    assert solved.stderr.splitlines()[-3:] == [
        "wrote REPORT.md", "wrote report-figures/chain-fakehub-ModelFilter.svg", "wrote chain.txt"]
    lines = (tmp_path / "chain.txt").read_text().splitlines()
    pinned = {Requirement(line).name: str(Requirement(line).specifier)
              for line in lines if line and not line.startswith("#")}
    assert pinned["fakehub"] == "==1.1" and pinned["toolkit"] == "==1.1"

    (tmp_path / "chain.txt").unlink()
    again = envprobe("report", "chain.toml", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["pins"] == result["pins"]
    assert (tmp_path / "chain.txt").exists()


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        (SCENARIO.replace('toolkit = "*"', 'toolkit = "not a range"'), "[packages] toolkit"),
        (SCENARIO + "\n[pins]\nnosuchproject = '1.0'\n", "nosuchproject"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, chain_index, scenario, expected):
    (tmp_path / "s.toml").write_text(scenario)
    answer = envprobe("solve", "s.toml", "--index-url", chain_index, cwd=tmp_path)
    assert answer.returncode == 2
    assert expected in answer.stderr
    assert "Traceback" not in answer.stderr


def test_unreachable_index_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    answer = envprobe("solve", "s.toml", "--index-url", "http://127.0.0.1:9/simple/",
                      cwd=tmp_path)
    assert answer.returncode == 2
    assert answer.stderr.count("\n") == 1 and "Traceback" not in answer.stderr


def test_report_without_a_stored_solve_says_so(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    answer = envprobe("report", "s.toml", cwd=tmp_path)
    assert answer.returncode == 2
    assert "run `envprobe solve` first" in answer.stderr


def stored_nemo_solve(store: Path) -> None:
    result = json.loads((REPO / "constraints" / "nemo-asr-import.result.json").read_text())
    with Store(store) as db:
        db.save_solve("nemo-asr", {**result, "scenario": "nemo-asr"})


def test_report_of_a_scenario_elsewhere_is_written_beside_it(tmp_path):
    elsewhere, here = tmp_path / "elsewhere", tmp_path / "here"
    elsewhere.mkdir()
    here.mkdir()
    (elsewhere / "nemo.toml").write_text(SCENARIO.replace('"chain"', '"nemo-asr"'))
    stored_nemo_solve(tmp_path / "store.sqlite3")

    answer = envprobe("report", str(elsewhere / "nemo.toml"), "--store",
                      str(tmp_path / "store.sqlite3"), cwd=here)

    assert answer.returncode == 0, answer.stderr
    assert list(here.iterdir()) == []
    figures = sorted((elsewhere / "report-figures").iterdir())
    assert len(figures) == 4
    wrote = [line.removeprefix("wrote ") for line in answer.stderr.splitlines()]
    assert wrote[0] == str(elsewhere / "REPORT.md") and wrote[-1] == str(elsewhere / "nemo-asr.txt")
    assert sorted(wrote[1:-1]) == [str(f) for f in figures]


def test_report_goes_where_report_says(tmp_path):
    (tmp_path / "nemo.toml").write_text(SCENARIO.replace('"chain"', '"nemo-asr"'))
    stored_nemo_solve(tmp_path / "store.sqlite3")

    answer = envprobe("report", "nemo.toml", "--store", "store.sqlite3", "--json",
                      "--report", "docs/Findings.md", cwd=tmp_path)

    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["scenario"] == "nemo-asr"
    assert (tmp_path / "docs" / "Findings.md").exists()
    assert len(list((tmp_path / "docs" / "findings-figures").iterdir())) == 4
    assert not (tmp_path / "REPORT.md").exists()


def test_default_report_path_is_here_or_beside_a_scenario_elsewhere(tmp_path):
    (tmp_path / "project" / "constraints").mkdir(parents=True)
    here = tmp_path / "project"

    assert report_path(here / "constraints" / "s.toml", here) == Path("REPORT.md")
    assert report_path(tmp_path / "s.toml", here) == tmp_path / "REPORT.md"


@pytest.mark.parametrize(("flag", "target"), [
    ("--report", "folder"), ("--report", "under-a-file"), ("--report", "not-utf8"),
    ("--constraints-out", "folder"), ("--constraints-out", "under-a-file"),
])
def test_an_unwritable_output_is_one_line_and_the_stored_result_survives(tmp_path, flag, target):
    (tmp_path / "nemo.toml").write_text(SCENARIO.replace('"chain"', '"nemo-asr"'))
    stored_nemo_solve(tmp_path / "store.sqlite3")
    (tmp_path / "folder").mkdir()
    (tmp_path / "not-utf8").write_bytes(b"\xff\xfe\x80 not text")
    path = {"folder": tmp_path / "folder", "under-a-file": tmp_path / "nemo.toml" / "out",
            "not-utf8": tmp_path / "not-utf8"}[target]
    if target == "not-utf8":  # a report is updated in place; a constraints file is rewritten
        path = path.rename(tmp_path / "old.md")

    answer = envprobe("report", str(tmp_path / "nemo.toml"), "--store",
                      str(tmp_path / "store.sqlite3"), flag, str(path), cwd=tmp_path)

    assert answer.returncode == 2
    assert answer.stderr.count("\n") == 1 and answer.stderr.startswith("envprobe: ")
    assert "Traceback" not in answer.stderr
    again = envprobe("report", str(tmp_path / "nemo.toml"), "--store",
                     str(tmp_path / "store.sqlite3"), "--json", cwd=tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["scenario"] == "nemo-asr"
