"""The solve loop end to end on the fake chain: real index, real pip, real venvs.

The chain (see conftest): toolkit imports ModelFilter from fakehub, which
fakehub exports up to 1.1 (through a lazy table from 1.0) and drops in 2.0;
formers 5.0 needs fakehub>=2.0; lightning pulls formers in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nemo_fixture import write_fake_nemo
from trap_chain import build_keyword_removal
from wheelfactory import serve_dists

from envprobe.model.scenario import load_scenario
from envprobe.solving.workflow import solve_scenario

CHAIN = """
[scenario]
name = "chain"
probe = ["import toolkit", "import lightning"]
timeout = 60

[packages]
toolkit = "*"
fakehub = "*"
formers = "{formers}"
lightning = "*"

[budget]
max_installs = {budget}
{fallback}
"""


def scenario_file(tmp_path: Path, *, formers: str = "*", budget: int = 6,
                  fallback: str = "") -> Path:
    path = tmp_path / "chain.toml"
    path.write_text(CHAIN.format(formers=formers, budget=budget, fallback=fallback))
    return path


def solve(path: Path, index_url: str, **kwargs):
    return solve_scenario(load_scenario(path), index_url=index_url, **kwargs)


@pytest.mark.slow
def test_satisfiable_chain_finds_working_set_and_exact_boundary(tmp_path, chain_index):
    result = solve(scenario_file(tmp_path), chain_index)

    assert result.status == "solved", result.reason
    assert result.pins == {"toolkit": "1.1", "fakehub": "1.1", "formers": "4.0",
                           "lightning": "1.0"}
    assert result.installed["fakehub"] == "1.1"
    [boundary] = result.boundaries
    assert (boundary.package, boundary.symbol, boundary.last_with, boundary.first_without) == (
        "fakehub", "ModelFilter", "1.1", "2.0")
    # The release past the boundary, installed alone and asked, confirmed it: no install
    # of the whole set with fakehub 2.0 was needed.
    assert boundary.method == "micro-probe" and not boundary.confirmed_by
    assert [line.split(":")[0] for line in result.micro_probes] == ["fakehub 2.0"]
    [rule] = result.rules
    assert rule.package == "toolkit" and rule.requires == "fakehub<2.0"
    assert "toolkit/core.py" in rule.because
    # proposal (fails), proposal (passes)
    assert result.installs == 2
    first = result.attempts[0].outcome
    assert first.failure.kind.value == "missing_symbol"
    assert (first.failure.package, first.failure.version) == ("fakehub", "2.1")


KEYWORD_CHAIN = """
[scenario]
name = "keyword"
probe = ["import caller", "assert caller.run()"]
[packages]
caller = "*"
audiolib = "*"
[budget]
max_installs = 4
"""


@pytest.fixture(scope="module")
def keyword_index(tmp_path_factory: pytest.TempPathFactory):
    """`audiolib` drops load()'s `mmap` keyword in 2.0; `caller` passes it. A keyword is
    no name a release alone can be asked about, so its boundary is confirmed by a probe."""
    dists = tmp_path_factory.mktemp("keyword-dists")
    build_keyword_removal(dists, without=("2.0", "2.1"))
    with serve_dists(dists, tmp_path_factory.mktemp("keyword-index")) as url:
        yield url


@pytest.mark.slow
def test_a_confirmation_runs_beside_the_next_proposal_and_changes_nothing(
        tmp_path, keyword_index, monkeypatch):
    path = tmp_path / "keyword.toml"
    path.write_text(KEYWORD_CHAIN)
    together = solve(path, keyword_index)
    monkeypatch.setenv("ENVPROBE_STORE", str(tmp_path / "sequential.sqlite3"))
    alone = solve(path, keyword_index, parallel=False)

    assert together.side_by_side == 2 and alone.side_by_side == 0
    assert [a.purpose for a in together.attempts] == ["proposal", "confirm", "proposal"]
    assert [a.pins for a in together.attempts] == [a.pins for a in alone.attempts]
    assert [a.outcome.probe_id for a in together.attempts] == [1, 2, 3]
    for field in ("status", "pins", "installed", "rules", "boundaries", "notes"):
        assert getattr(together, field) == getattr(alone, field), field
    assert together.boundaries[0].confirmed_by == (2,)
    assert together.pins["audiolib"] == "1.0"


@pytest.mark.slow
def test_second_run_answers_from_the_store_with_zero_installs(tmp_path, chain_index):
    path = scenario_file(tmp_path)
    first = solve(path, chain_index)
    again = solve(path, chain_index)

    # The same question: the stored answer, nothing probed, scanned or learned again.
    assert again.from_store and not first.from_store
    assert again.to_dict() | {"from_store": False} == first.to_dict()
    # A changed scenario file is a new question: solved again, every probe from the store.
    path.write_text(path.read_text() + "# edited\n")
    anew = solve(path, chain_index)
    assert not anew.from_store and anew.status == "solved" and anew.pins == first.pins
    assert anew.installs == 0 and anew.cache_hits == first.probes
    env_root = Path(os.environ["ENVPROBE_ENV_ROOT"])
    assert list(env_root.glob("run-*")) == []  # no run folder left (the slots' locks stay)


@pytest.mark.slow
def test_unsatisfiable_chain_is_proved_with_its_chain_and_hands_off(tmp_path, chain_index):
    fallback = '[fallback]\nmodel = "absent.nemo"\n'
    result = solve(scenario_file(tmp_path, formers=">=5", fallback=fallback), chain_index)

    assert result.status == "unsatisfiable", result.reason
    assert result.pins == {}
    chain = "\n".join(result.chain)
    assert "formers 5.0 declares fakehub>=2.0" in chain
    assert "fakehub<2.0" in chain and "ModelFilter" in chain
    assert result.fallback is not None
    assert result.fallback["status"] == "skipped"
    assert "model file not found" in result.fallback["message"]


@pytest.mark.slow
def test_budget_exhaustion_is_undecided_not_a_verdict(tmp_path, chain_index):
    result = solve(scenario_file(tmp_path, budget=1), chain_index)

    assert result.status == "undecided"
    assert "budget" in result.reason
    assert result.installs == 1
    assert result.pins == {}


@pytest.mark.slow
@pytest.mark.parametrize("when", ["unsolved", "unsatisfiable"])
def test_an_undecided_solve_exports_only_when_the_scenario_says_unsolved(tmp_path, chain_index,
                                                                         when):
    model = write_fake_nemo(tmp_path / "m.nemo", layers=1)
    fallback = f'[fallback]\nmodel = "{model}"\noutput = "{tmp_path / "onnx"}"\nwhen = "{when}"\n'
    result = solve(scenario_file(tmp_path, budget=1, fallback=fallback), chain_index)

    assert result.status == "undecided"
    if when == "unsatisfiable":
        assert result.fallback is None and not (tmp_path / "onnx").exists()
        return
    assert result.fallback["status"] == "ok", result.fallback
    assert "undecided" in result.fallback["why"]
    assert (tmp_path / "onnx" / "model.onnx").is_file()


@pytest.mark.slow
def test_result_json_has_the_documented_shape(tmp_path, chain_index):
    data = json.loads(json.dumps(solve(scenario_file(tmp_path), chain_index).to_dict()))
    assert data["status"] == "solved"
    assert set(data) >= {"status", "pins", "rules", "boundaries", "probes", "installs"}
    assert {"package", "versions", "requires", "because"} <= set(data["rules"][0])
    assert {"package", "symbol", "last_with", "first_without"} <= set(data["boundaries"][0])


@pytest.mark.slow
def test_a_solve_killed_after_its_first_probe_resumes_from_the_store(tmp_path, chain_index):
    path = scenario_file(tmp_path)
    store = Path(os.environ["ENVPROBE_STORE"])
    killed = subprocess.Popen(
        [sys.executable, "-m", "envprobe", "solve", str(path), "--index-url", chain_index,
         "--report", str(tmp_path / "R.md"), "--constraints-out", str(tmp_path / "c.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _recorded(store):
            assert killed.poll() is None and time.monotonic() < deadline, "no probe recorded"
            time.sleep(0.05)
    finally:
        killed.kill()  # SIGKILL: no cleanup code of envprobe runs
        killed.wait()

    result = solve(path, chain_index)

    assert result.status == "solved", result.reason
    first = result.attempts[0].outcome
    assert first.cached and first.probe_id == 1, "the recorded probe is not run again"


def _recorded(store: Path) -> int:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM probes").fetchone()[0]
    except sqlite3.Error:
        return 0
