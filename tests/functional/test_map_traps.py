"""`envprobe map` on the traps the real NeMo map exposed (see tests/map_packages.py).

Real wheels, a real index on 127.0.0.1, real installs, a real local process pool.
"""

from __future__ import annotations

import json

import pytest
from map_packages import TRAPS_SCENARIO, build_trap_packages
from wheelfactory import serve_index, write_simple_index

from envprobe.cli import main
from envprobe.mapping.workflow import map_scenario
from envprobe.model.scenario import load_scenario
from envprobe.probing.executors import LocalExecutor
from envprobe.probing.store import Store


@pytest.fixture(scope="module")
def trap_run(tmp_path_factory):
    """(the map, its scenario file, its store)."""
    dists = build_trap_packages(tmp_path_factory.mktemp("trap-dists"))
    root = tmp_path_factory.mktemp("trap-index")
    write_simple_index(dists, root)
    path = tmp_path_factory.mktemp("trap-scenario") / "trapmap.toml"
    path.write_text(TRAPS_SCENARIO)
    executor = LocalExecutor(2)
    try:
        with serve_index(root) as url:
            store = path.parent / "store.sqlite3"
            yield map_scenario(load_scenario(path), index_url=url, executor=executor,
                               store_path=store), path, store, url
    finally:
        executor.close()


@pytest.fixture
def trap_map(trap_run):
    return trap_run[0]


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
    probed = {probe for w in row.windows.values() for _, _, probe in w.cells.values()
              if probe is not None}
    assert 1 <= len(probed) <= 2, "one probe per edge teaches the clash; no walk follows"


@pytest.mark.slow
def test_a_long_run_of_declared_clashes_is_resolved_and_each_release_says_why(trap_map):
    row = trap_map.rows[2]
    assert row.version == "3.0" and row.status.value == "works", row
    assert (row.windows["hub2"].lowest, row.windows["hub2"].highest) == ("1.0", "1.0")
    window = row.windows["tf2"]
    assert (window.lowest, window.highest, window.suggested) == ("1.0", "4.0", "<5.0")
    assert window.upper.reason.value == "declared" and "hub2" in window.upper.words
    states = [state for state, _, _ in window.cells.values()]
    assert states == ["works", "inside", "inside", "works", *["declared"] * 8]
    for version, (state, words, _) in window.cells.items():
        if state == "declared":  # each release resolved, and its own clash said
            assert f"tf2 {version} declares hub2>=2" in words, (version, words)

    low = trap_map.rows[3]
    assert low.version == "4.0" and low.status.value == "works", low
    window = low.windows["tf2"]
    assert (window.lowest, window.highest, window.suggested) == ("5.0", "12.0", ">=5.0")
    assert window.lower.reason.value == "declared"
    assert [s for s, _, _ in window.cells.values()] == ["declared"] * 4 + ["works"] + \
        ["inside"] * 6 + ["works"]


@pytest.mark.slow
def test_several_lessons_about_the_rest_of_the_set_do_not_blame_the_column(trap_map):
    row = trap_map.rows[4]
    assert row.version == "5.0" and row.status.value == "works", row
    window = row.windows["hub2"]
    assert (window.lowest, window.highest) == ("1.0", "3.0"), window.cells
    assert [s for s, _, _ in window.cells.values()] == ["works", "inside", "works"]
    learned = {r.requires for r in trap_map.rules}
    assert {"d1!=2.0", "d2!=2.0"} <= learned


@pytest.mark.slow
def test_report_renders_a_stored_map_from_the_store_and_from_its_json(trap_run, tmp_path,
                                                                        capsys):
    result, scenario, store, _ = trap_run
    report = tmp_path / "REPORT.md"
    assert main(["report", str(scenario), "--map", "--store", str(store),
                 "--report", str(report), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(result.to_dict()))
    text = report.read_text()
    assert "<!-- envprobe:trapmap-map:start -->" in text
    assert "app2 1.0 declares hub2 without bounds; works with 1.0 … 3.0" in text
    assert (tmp_path / "report-figures" / "trapmap-map-hub2.svg").read_text().count(
        'class="window"') == 4
    map_json = scenario.parent / "trapmap.map.json"
    assert json.loads(map_json.read_text())["rows"] == data["rows"]

    again = tmp_path / "again" / "REPORT.md"
    again.parent.mkdir()
    assert main(["report", str(map_json), "--report", str(again)]) == 0
    out = capsys.readouterr().out
    assert "app2 2.0: broken" in out
    assert "app2 1.0 declares hub2 without bounds; works with 1.0 … 3.0" in out
    assert again.read_text().split("<!-- envprobe:trapmap-map:start -->")[1] == \
        text.split("<!-- envprobe:trapmap-map:start -->")[1]


@pytest.mark.slow
def test_a_map_that_starts_from_the_stores_rules_is_answered_by_the_store_next_time(trap_run):
    """The first map learned its rules on the way, so rows decided early were probed with
    fewer projects pinned than a map that starts from all of them proposes: the second
    map probes those again. From then on the sets are the same and the store answers."""
    first, path, store, url = trap_run
    executor = LocalExecutor(2)
    try:
        second, third = (map_scenario(load_scenario(path), index_url=url, executor=executor,
                                      store_path=store) for _ in range(2))
    finally:
        executor.close()
    assert second.installs < first.installs
    assert third.installs == 0 and third.probes > 0
    assert _verdicts(third) == _verdicts(second) == _verdicts(first)


def _verdicts(result):
    """Each row's status and, per column, its window and every release's state."""
    return [(row.version, row.status, {column: (w.lowest, w.highest,
                                                [state for state, _, _ in w.cells.values()])
                                       for column, w in row.windows.items()})
            for row in result.rows]


@pytest.mark.parametrize("make, words", [
    (lambda folder: folder / "nothing.map.json", "cannot read a map"),
    (lambda folder: _written(folder / "x.map.json", '{"rows": 3}'), "not a map"),
    (lambda folder: _written(folder / "trapmap.toml", TRAPS_SCENARIO), "the store has no map"),
])
def test_report_of_a_map_that_is_not_there_is_one_line_and_exit_2(tmp_path, capsys, make,
                                                                    words):
    path = make(tmp_path)
    with Store(tmp_path / "empty.sqlite3"):
        pass  # a store that holds no map
    assert main(["report", str(path), "--map", "--store", str(tmp_path / "empty.sqlite3"),
                 "--report", str(tmp_path / "REPORT.md")]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err


def _written(path, text):
    path.write_text(text)
    return path
