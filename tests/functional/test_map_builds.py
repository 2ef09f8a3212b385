"""`envprobe map` where a window's edge is a build that fails on this Python.

As nemo_toolkit 1.21.0's lower edges needed a transformers old enough to need a
tokenizers with no wheel for this interpreter (see `build_build_packages`): the
build fails without naming a cause, the solver keeps the project to releases
with a wheel, and the map moves inwards and says why the edge is where it is.
Real wheels and sdists, a real index on 127.0.0.1, real installs.
"""

from __future__ import annotations

import pytest
from map_packages import BUILD_SCENARIO, build_build_packages
from wheelfactory import serve_index, write_simple_index

from envprobe.mapping.workflow import map_scenario
from envprobe.model.scenario import load_scenario
from envprobe.probing.executors import LocalExecutor
from envprobe.report.map import map_lines


@pytest.mark.slow
def test_an_edge_that_needs_a_failing_build_moves_inwards_and_a_hole_is_no_inside(tmp_path):
    dists = build_build_packages(tmp_path / "dists")
    write_simple_index(dists, tmp_path / "index")
    path = tmp_path / "buildmap.toml"
    path.write_text(BUILD_SCENARIO)
    executor = LocalExecutor(2)
    try:
        with serve_index(tmp_path / "index") as url:
            result = map_scenario(load_scenario(path), index_url=url, executor=executor,
                                  store_path=tmp_path / "store.sqlite3")
    finally:
        executor.close()

    [row] = result.rows
    assert (row.version, row.status.value) == ("1.0", "works"), row
    window = row.windows["hub4"]
    assert (window.lowest, window.highest, window.suggested) == ("2.0", "4.0", "!=3.0,>=2.0")
    assert [state for state, _, _ in window.cells.values()] == ["unbuilt", "works", "unbuilt",
                                                                "works"]
    assert window.lower.reason.value == "build"
    assert window.lower.outside == "1.0"
    assert "toks" in window.lower.words and "without naming a cause" in window.lower.words
    [rule] = [r for r in result.rules if r.kind == "no_wheel"]
    assert (rule.package, rule.requires) == (None, "toks>=2.0")
    assert window.lower.evidence == list(rule.evidence), "the failed build is the edge's proof"
    assert result.installs == 3, "the failed build, then one probe per edge"
    assert "app4 1.0 declares hub4 without bounds; works with 2.0 … 4.0 save 3.0;" in \
        "\n".join(map_lines(result))
