"""`envprobe map` on the traps the real NeMo map exposed (see tests/map_packages.py).

Real wheels, a real index on 127.0.0.1, real installs, a real local process pool.
"""

from __future__ import annotations

import pytest
from map_packages import TRAPS_SCENARIO, build_trap_packages
from wheelfactory import serve_index, write_simple_index

from envprobe.mapping.workflow import map_scenario
from envprobe.model.scenario import load_scenario
from envprobe.probing.executors import LocalExecutor


@pytest.fixture(scope="module")
def trap_map(tmp_path_factory):
    dists = build_trap_packages(tmp_path_factory.mktemp("trap-dists"))
    root = tmp_path_factory.mktemp("trap-index")
    write_simple_index(dists, root)
    path = tmp_path_factory.mktemp("trap-scenario") / "trapmap.toml"
    path.write_text(TRAPS_SCENARIO)
    executor = LocalExecutor(2)
    try:
        with serve_index(root) as url:
            yield map_scenario(load_scenario(path), index_url=url, executor=executor,
                               store_path=path.parent / "store.sqlite3")
    finally:
        executor.close()


@pytest.mark.slow
def test_a_name_imported_only_where_the_probe_never_goes_does_not_cut_the_window(trap_map):
    row = trap_map.rows[0]
    assert row.version == "1.0" and row.status.value == "works", row
    window = row.windows["hub2"]
    assert (window.lowest, window.highest) == ("1.0", "3.0")
    assert [state for state, _, _ in window.cells.values()] == ["works", "inside", "works"]


@pytest.mark.slow
def test_a_row_no_set_holds_is_broken_by_its_clash_said_once(trap_map):
    row = trap_map.rows[1]
    assert row.version == "2.0" and row.status.value == "broken"
    assert "app2 2.0 holds with no set of the scenario" in row.reason
    assert "tool" in row.reason, "the clash names the requirement behind it"
    window = row.windows["hub2"]
    assert window.lowest is None
    assert {state for state, _, _ in window.cells.values()} <= {"fails", "declared"}
    probed = {probe for _, _, probe in window.cells.values() if probe is not None}
    assert 1 <= len(probed) <= 2, "one probe per edge teaches the clash; no walk follows"
    assert trap_map.installs <= 4
