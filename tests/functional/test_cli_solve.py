"""`envprobe solve` and `envprobe report` as a user runs them: a real process each time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

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
    assert "ModelFilter" in report and (tmp_path / "report-chain-fakehub-ModelFilter.svg").exists()
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
