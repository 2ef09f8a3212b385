"""`export` and `transcribe` subcommands: exit codes, one-line errors, one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from nemo_fixture import write_fake_nemo

from envprobe.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nemo(tmp_path_factory):
    return write_fake_nemo(tmp_path_factory.mktemp("cli") / "m.nemo", layers=1)


def _single_json(text: str) -> dict:
    payload = json.loads(text)  # fails on anything but exactly one JSON document
    assert isinstance(payload, dict)
    return payload


def test_export_json(tmp_path, nemo, capsys):
    code = main(["export", str(nemo), "-o", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    payload = _single_json(captured.out)
    assert code == 0
    assert payload["status"] == "ok"
    assert payload["onnx"] == str(tmp_path / "out" / "model.onnx")
    assert payload["max_abs_diff"] <= 1e-4 and payload["frames_checked"] > 0
    assert payload["seconds"] > 0


def test_export_human_output(tmp_path, nemo, capsys):
    assert main(["export", str(nemo), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "export passed" in out and "EncDecCTCModelBPE" in out


def test_failed_parity_exits_1(tmp_path, nemo, capsys):
    args = ["export", str(nemo), "-o", str(tmp_path / "out"), "--json", "--tolerance", "1e-12"]
    assert main(args) == 1
    assert _single_json(capsys.readouterr().out)["status"] == "failed"


def test_bad_archive_json_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.nemo"
    bad.write_bytes(b"not a tar at all" * 10)
    code = main(["export", str(bad), "-o", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    payload = _single_json(captured.out)
    assert code == 2
    assert payload["status"] == "error" and "not a tar archive" in payload["error"]
    assert payload["onnx"] is None and payload["frames_checked"] == 0
    assert captured.err.count("\n") == 1 and captured.err.startswith("envprobe: ")
    assert not (tmp_path / "out").exists()


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path):
    missing = tmp_path / "nowhere.nemo"
    result = subprocess.run(
        [sys.executable, "-m", "envprobe", "export", str(missing), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"envprobe: {missing}: no such file\n"
    assert result.stdout == ""


def test_transcribe_json(tmp_path, nemo, capsys):
    out_dir = tmp_path / "out"
    assert main(["export", str(nemo), "-o", str(out_dir), "--json"]) == 0
    capsys.readouterr()
    wav = tmp_path / "tone.wav"
    samples = (0.3 * np.sin(np.arange(16000) * 0.05) * 32767).astype("<i2")
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(samples.tobytes())
    code = main(["transcribe", str(out_dir), str(wav), "--json"])
    payload = _single_json(capsys.readouterr().out)
    assert code == 0
    assert {"text", "frame_ids", "frames", "seconds"} <= set(payload)
    assert len(payload["frame_ids"]) == payload["frames"] == (100 + 1 - 1) // 4 + 1


def test_transcribe_missing_folder_exits_2(tmp_path, capsys):
    code = main(["transcribe", str(tmp_path / "none"), str(tmp_path / "a.wav"), "--json"])
    captured = capsys.readouterr()
    assert code == 2
    assert _single_json(captured.out)["status"] == "error"
    assert captured.err.count("\n") == 1
