"""`envprobe export` and `envprobe transcribe` on transducer models (NeMo-made fixtures)."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from envprobe.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nemo"
WAVS = [str(FIXTURES / "audio_0.wav"), str(FIXTURES / "audio_1.wav")]


@pytest.fixture(scope="module")
def tdt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-tdt") / "out"
    assert main(["export", str(FIXTURES / "tdt_fastconformer.nemo"), "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-hybrid") / "out"
    assert main(["export", str(FIXTURES / "hybrid_fastconformer.nemo"), "-o", str(out)]) == 0
    return out


def _nemo(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_export_json_names_the_family(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["export", str(FIXTURES / "rnnt_conformer.nemo"), "-o", str(out), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["status"] == "ok" and payload["family"] == "rnnt"
    assert payload["onnx"] == str(out / "encoder-model.onnx")
    names = {str(Path(f).relative_to(out)) for f in payload["files"]}
    assert {"encoder-model.onnx", "decoder_joint-model.onnx", "vocab.txt", "config.json",
            "sherpa-onnx/encoder.onnx", "sherpa-onnx/decoder.onnx", "sherpa-onnx/joiner.onnx",
            "sherpa-onnx/tokens.txt", "validation.json"} <= names
    validation = json.loads((out / "validation.json").read_text())
    assert validation["passed"] and validation["fp32"]["tokens_match"]
    # An earlier export's folder is replaced without --force, sherpa-onnx/ included.
    assert main(["export", str(FIXTURES / "rnnt_conformer.nemo"), "-o", str(out)]) == 0


def test_transcribe_tdt_json_has_tokens_timesteps_durations(tdt: Path, capsys) -> None:
    assert main(["transcribe", str(tdt), WAVS[0], WAVS[1], "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    greedy = _nemo("tdt_fastconformer")["greedy"]
    assert [r["tokens"] for r in results] == [g["tokens"] for g in greedy]
    assert [r["timesteps"] for r in results] == [g["timesteps"] for g in greedy]
    assert [r["durations"] for r in results] == [g["durations"] for g in greedy]
    assert [r["text"] for r in results] == _nemo("tdt_fastconformer")["nemo_transcripts"]


def test_transcribe_single_file_prints_text(tdt: Path, capsys) -> None:
    assert main(["transcribe", str(tdt), WAVS[0]]) == 0
    assert capsys.readouterr().out.strip() == _nemo("tdt_fastconformer")["nemo_transcripts"][0]


def test_hybrid_heads(hybrid: Path, capsys) -> None:
    assert (hybrid / "ctc" / "model.onnx").is_file()
    assert main(["transcribe", str(hybrid), *WAVS, "--json"]) == 0
    rnnt = json.loads(capsys.readouterr().out)["results"]
    assert [r["tokens"] for r in rnnt] == [g["tokens"] for g in _nemo("hybrid_fastconformer")["greedy"]]
    assert "durations" not in rnnt[0]
    assert main(["transcribe", str(hybrid), *WAVS, "--json", "--head", "ctc"]) == 0
    ctc = json.loads(capsys.readouterr().out)["results"]
    assert "frame_ids" in ctc[0]


def test_wrong_head_is_one_line_exit_2(tdt: Path, capsys) -> None:
    assert main(["transcribe", str(tdt), WAVS[0], "--head", "ctc"]) == 2
    err = capsys.readouterr().err
    assert "no CTC head" in err and err.count("\n") == 1


def test_multiblank_joint_is_refused(tmp_path: Path, capsys) -> None:
    """A joint with extra outputs that are not TDT durations: one line, exit 2, nothing written."""
    source = FIXTURES / "rnnt_conformer.nemo"
    broken = tmp_path / "multiblank.nemo"
    with tarfile.open(source) as src, tarfile.open(broken, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("model_config.yaml"):
                config = yaml.safe_load(data)
                config["joint"]["num_extra_outputs"] = 2
                config["decoding"]["model_type"] = "multiblank"
                config["decoding"]["big_blank_durations"] = [2, 4]
                data = yaml.safe_dump(config).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    out = tmp_path / "out"
    assert main(["export", str(broken), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "joint.num_extra_outputs" in err and err.count("\n") == 1
    assert not out.exists()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_no_torch_on_the_transducer_path(tdt: Path) -> None:
    """In a fresh interpreter, transcribing with a transducer folder never imports torch."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    script = (
        "import json, sys\n"
        "from manual_export.transcribe import transcribe_many\n"
        f"results = transcribe_many({str(tdt)!r}, {WAVS!r})\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, "
        "'tokens': [r.tokens for r in results]}))\n"
    )
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["torch"] is False
    assert report["tokens"] == [g["tokens"] for g in _nemo("tdt_fastconformer")["greedy"]]
