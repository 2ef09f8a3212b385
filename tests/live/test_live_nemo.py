"""The mission's real case against the real package index (by hand: pytest -m live).

Heavy: each real install of nemo_toolkit[asr] takes minutes and gigabytes,
so this never runs in CI. Its figures go into REPORT.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.live


@pytest.fixture(autouse=True)
def machine_setup(real_machine: None) -> None:
    """The machine's own pip configuration, store and caches: a by-hand
    `envprobe solve` run before this test makes it a warm run."""


def test_nemo_asr_scenario_reaches_a_verdict_with_evidence(tmp_path: Path):
    answer = subprocess.run(
        [sys.executable, "-m", "envprobe", "solve", str(ROOT / "constraints" / "nemo-asr-import.toml"),
         "--json", "--report", str(tmp_path / "REPORT.md"),
         "--constraints-out", str(tmp_path / "nemo-asr.txt")],
        capture_output=True, text=True, timeout=3 * 3600, check=False,
    )
    assert answer.returncode in (0, 1), answer.stderr[-2000:]
    result = json.loads(answer.stdout)
    assert result["status"] in ("solved", "unsatisfiable")
    if result["status"] == "solved":
        assert result["pins"]["nemo-toolkit"].startswith("1.")
        assert (tmp_path / "nemo-asr.txt").read_text().count("==") >= len(result["pins"])
    else:
        assert result["chain"], "an unsatisfiable verdict must name its chain"
    symbols = {b["symbol"] for b in result["boundaries"]}
    assert "ModelFilter" in symbols, "the hub boundary must be discovered, not assumed"
