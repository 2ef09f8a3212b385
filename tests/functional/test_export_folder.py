"""The export folder is written whole or not at all, and never over the user's own files."""

from __future__ import annotations

import json

import pytest
from nemo_fixture import write_fake_nemo

from manual_export.api import export_nemo
from manual_export.errors import ExportError


@pytest.fixture(scope="module")
def small_nemo(tmp_path_factory):
    return write_fake_nemo(tmp_path_factory.mktemp("nemo") / "small.nemo", layers=1)


def _user_folder(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("model.onnx", "model.int8.onnx", "config.json"):
        (folder / name).write_text(f"the user's own {name}")
    return folder


def test_a_folder_the_export_did_not_write_is_refused_and_left_untouched(tmp_path, small_nemo):
    folder = _user_folder(tmp_path)
    before = {p.name: p.read_text() for p in folder.iterdir()}
    with pytest.raises(ExportError, match="not empty.*--force"):
        export_nemo(small_nemo, folder)
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging folder left behind"


def test_force_replaces_it_whole_and_an_earlier_export_is_replaced_without_force(
        tmp_path, small_nemo):
    folder = _user_folder(tmp_path)
    report = export_nemo(small_nemo, folder, force=True)
    assert report.ok
    assert not (folder / "model.int8.onnx").exists(), "nothing of the old folder survives"
    assert json.loads((folder / "validation.json").read_text())["passed"] is True
    assert report.onnx == str(folder / "model.onnx")

    again = export_nemo(small_nemo, folder)
    assert again.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_export_leaves_no_half_written_folder(tmp_path):
    broken = tmp_path / "broken.nemo"
    broken.write_bytes(b"not a tar")
    with pytest.raises(ExportError):
        export_nemo(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.nemo"]
