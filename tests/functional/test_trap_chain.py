"""The made-up chain of an old web framework, solved in fewer installs than it has traps.

Three dependencies each removed a name `oldweb` imports (one only visible
through a re-export from a private submodule, one whose good releases ship
only an sdist): the solve must find every boundary without a confirming
install of the whole set, and end on the releases just before them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from trap_chain import TRAPS, build_trap_chain, chain_scenario
from wheelfactory import serve_index, write_simple_index

from envprobe.model.scenario import load_scenario
from envprobe.solving.workflow import solve_scenario


@pytest.fixture(scope="module")
def chain_url(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("trap-chain-index")
    write_simple_index(build_trap_chain(tmp_path_factory.mktemp("trap-chain")), root)
    with serve_index(root) as url:
        yield url


def solve(tmp_path: Path, url: str, *, allow_sdist: bool):
    path = tmp_path / "oldweb.toml"
    path.write_text(chain_scenario(allow_sdist=allow_sdist, max_installs=8))
    return solve_scenario(load_scenario(path), index_url=url)


@pytest.mark.slow
def test_each_trap_costs_one_install_and_the_pins_sit_just_before_each_removal(
        tmp_path, chain_url):
    result = solve(tmp_path, chain_url, allow_sdist=True)

    assert result.status == "solved", result.reason
    # One failing install and the pass: the first trap was met, the other two read
    # ahead from that install's files (oldweb imports all three at module level).
    assert result.installs == 2, [a.to_dict() for a in result.attempts]
    [failure] = [a.outcome.failure for a in result.attempts if a.outcome.failure]
    assert (failure.package, failure.name) == TRAPS[0][:2]
    assert {(s.package, s.name) for s in failure.ahead} >= {trap[:2] for trap in TRAPS[1:]}
    found = {b.package: (b.symbol, b.last_with, b.first_without) for b in result.boundaries}
    assert found == {dist: (name, last, first) for dist, name, last, first in TRAPS}
    assert {b.method for b in result.boundaries} == {"micro-probe"}
    assert result.pins | result.installed == result.installed  # every pin is what landed
    assert {dist: result.installed[dist] for dist, *_ in TRAPS} == {
        dist: last for dist, _, last, _ in TRAPS}
    assert all(rule.requires == f"{dist}<{first}"
               for rule, (dist, _, _, first) in zip(result.rules, TRAPS, strict=True))
    # The edges were asked of the releases alone, not installed with the whole set.
    assert sorted(line.split(":")[0] for line in result.micro_probes) == sorted(
        f"{dist} {first}" for dist, _, _, first in TRAPS)


@pytest.mark.slow
def test_without_sdists_the_answer_says_the_good_release_ships_no_wheel(tmp_path, chain_url):
    result = solve(tmp_path, chain_url, allow_sdist=False)

    assert result.status != "solved"
    [signer] = [rule for rule in result.rules if rule.requires.startswith("signer")]
    assert "signer 1.1 provides it, ships no wheel for" in signer.because
    assert "usable with allow_sdist" in signer.because
    assert result.installs <= len(TRAPS)
