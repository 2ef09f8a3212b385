"""`envprobe map` on made-up packages, checked cell by cell (see tests/map_packages.py).

Real wheels, a real index on 127.0.0.1, real pip, real throwaway environments,
probes run by a real local process pool.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from map_packages import MAP_SCENARIO, build_map_packages
from wheelfactory import serve_dists

from envprobe.cli import main
from envprobe.mapping.workflow import map_scenario
from envprobe.model.scenario import load_scenario
from envprobe.probing.executors import LocalExecutor

# row -> column -> (lowest, highest, suggested, lower reason, upper reason, states by release)
EXPECTED = {
    "1.0": {
        "hub": ("0.9", "1.1", "<2.0,>=0.9", "no_file", "boundary",
                "no_file works inside works lacks lacks"),
        "ext": ("1.0", "1.0", "<2.0", "range", "declared", "works declared"),
    },
    "2.0": {
        "hub": ("1.0", "1.1", "<2.0,>=1.0", "boundary", "boundary",
                "no_file lacks works works lacks lacks"),
        "ext": ("1.0", "1.0", "<2.0", "range", "declared", "works declared"),
    },
    "3.0": {
        "hub": ("2.1", "2.1", ">=2.1", "declared", "range",
                "no_file declared declared declared declared works"),
        "ext": ("2.0", "2.0", ">=2.0", "declared", "range", "declared works"),
    },
}


@pytest.fixture(scope="module")
def map_index(tmp_path_factory):
    dists = build_map_packages(tmp_path_factory.mktemp("map-dists"))
    with serve_dists(dists, tmp_path_factory.mktemp("map-index")) as url:
        yield url


@pytest.fixture
def scenario_path(tmp_path: Path) -> Path:
    path = tmp_path / "appmap.toml"
    path.write_text(MAP_SCENARIO)
    return path


def shape(result) -> dict:
    """Everything a map decides, without probe ids, timings or who ran it."""
    rows = {}
    for row in result.rows:
        rows[row.version] = (row.status.value, {
            column: (w.lowest, w.highest, w.declared, w.suggested,
                     w.lower.reason.value if w.lower else None,
                     w.upper.reason.value if w.upper else None,
                     " ".join(state for state, _, _ in w.cells.values()))
            for column, w in row.windows.items()})
    return rows


def run_map(path: Path, url: str, **kwargs):
    executor = LocalExecutor(2)
    try:
        return map_scenario(load_scenario(path), index_url=url, executor=executor, **kwargs)
    finally:
        executor.close()


@pytest.mark.slow
def test_the_map_finds_every_window_with_its_reason_cell_by_cell(scenario_path, map_index):
    result = run_map(scenario_path, map_index)

    got = shape(result)
    assert [row.version for row in result.rows] == ["1.0", "2.0", "3.0", "4.0"]
    for version, columns in EXPECTED.items():
        status, windows = got[version]
        assert status == "works", (version, result.rows)
        for column, (low, high, suggested, below, above, states) in columns.items():
            lowest, highest, _, should, lower, upper, cells = windows[column]
            assert (lowest, highest, should, lower, upper, cells) == \
                (low, high, suggested, below, above, states), (version, column)
    # a row no column release works with: the scans say so, one probe confirms it
    status, windows = got["4.0"]
    assert status == "broken"
    assert windows["hub"][0] is None
    assert windows["hub"][6] == "no_file lacks lacks lacks lacks fails"
    assert windows["ext"][6] == "unknown unknown", "no probe is spent on its other columns"
    [row4] = [r for r in result.rows if r.version == "4.0"]
    assert "Gone" in row4.windows["hub"].cells["2.1"][1]
    # evidence: the edges name what they rest on
    row1 = result.rows[0].windows["hub"]
    assert "only an sdist" in row1.lower.words
    assert "lacks hub.Old" in row1.upper.words and "app/__init__.py:1" in row1.upper.words
    assert row1.upper.scanned, "the wheels read are the boundary's evidence"
    assert row1.lower.probe and row1.upper.probe
    assert result.rows[2].windows["hub"].declared == ">=2.1"
    assert result.rows[0].windows["hub"].declared == ""  # declared, without bounds
    assert result.rows[0].windows["ext"].declared is None  # not declared at all
    assert result.installs <= 6 and result.probes == result.installs
    assert result.executor == "local" and result.workers == 2


@pytest.mark.slow
def test_a_second_map_answers_from_the_store_and_writes_every_output(scenario_path, map_index,
                                                                       tmp_path, capsys):
    first = run_map(scenario_path, map_index)
    report = tmp_path / "REPORT.md"
    code = main(["map", str(scenario_path), "--index-url", map_index, "--json", "--jobs", "2",
                 "--report", str(report)])

    assert code == 1 - first.decided
    data = json.loads(capsys.readouterr().out)
    assert data["installs"] == 0 and data["probes"] == first.probes
    assert data["rows_package"] == "app" and data["executor"] == "local"
    assert {r["version"]: r["status"] for r in data["rows"]} == \
        {"1.0": "works", "2.0": "works", "3.0": "works", "4.0": "broken"}
    window = data["rows"][0]["windows"]["hub"]
    assert (window["lowest"], window["highest"], window["suggested"]) == ("0.9", "1.1",
                                                                          "<2.0,>=0.9")
    text = report.read_text()
    assert "<!-- envprobe:appmap-map:start -->" in text
    assert "app 1.0 declares hub without bounds; works with 0.9 … 1.1; should declare " \
           "<2.0,>=0.9" in text
    svg = (tmp_path / "report-figures" / "appmap-map-hub.svg").read_text()
    assert svg.count('class="window"') == 3 and 'class="cell lacks"' in svg
    patch = (tmp_path / "appmap.map-metadata.toml").read_text()
    assert 'version = "2.0"\nrequires-dist = ["hub<2.0,>=1.0"]' in patch
    assert "app 4.0: broken" in patch
    constraints = (tmp_path / "appmap.map-constraints" / "app-1.0.txt").read_text()
    assert "app==1.0\n" in constraints and "hub<2.0,>=0.9\n" in constraints
    assert json.loads((tmp_path / "appmap.map.json").read_text())["rows"] == data["rows"]


@pytest.mark.parametrize("argv, words", [
    (["--rows", "nothere"], "--rows nothere: not a package"),
    (["--columns", "hub,nothere"], "--columns nothere: not a package"),
    (["--columns", "app"], "it is the rows package"),
    (["--ray-address", "127.0.0.1:1"], "--ray-address needs --executor ray"),
])
def test_bad_input_is_one_line_and_exit_2_before_any_probe(scenario_path, capsys, argv, words):
    assert main(["map", str(scenario_path), "--no-index", *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
