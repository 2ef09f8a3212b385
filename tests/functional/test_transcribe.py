"""End to end: a fake .nemo exported by our exporter, transcribed with NumPy and onnxruntime."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from exported_model import export_small_model, write_test_wav

from manual_export.features import FeatureConfig, compute_features
from manual_export.transcribe import ModelDirError, Transcript, read_tokens, transcribe

REPO = Path(__file__).resolve().parents[2]
SECONDS = 2.37  # not a whole number of hops, so the frame arithmetic is exercised


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_small_model(tmp_path_factory.mktemp("transcribe"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    return path, write_test_wav(path, SECONDS)


def _expected_frames(num_samples: int, version: str) -> int:
    feature_frames = num_samples // 160 + (1 if version == "<=2.4" else 0)
    return _ceil_div(feature_frames, 4)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _direct_frame_ids(folder: Path, samples: np.ndarray, version: str) -> list[int]:
    """The same pipeline by hand: features, one ONNX call, argmax over the valid frames."""
    settings = json.loads((folder / "config.json").read_text())
    with np.load(folder / "features.npz") as buffers:
        window, fb = buffers["window"], buffers["fb"]
    config = FeatureConfig.from_dict(settings, nemo_version=version)
    feats, lengths = compute_features(
        samples[None], np.array([samples.size]), config, window=window, fb=fb
    )
    session = onnxruntime.InferenceSession(
        str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    (logprobs,) = session.run(["logprobs"], {"audio_signal": feats, "length": lengths})
    valid = _ceil_div(int(lengths[0]), 4)
    return logprobs[0, :valid].argmax(axis=-1).tolist()


def _collapse(frame_ids: list[int], tokens: list[str]) -> str:
    blank = tokens.index("<blk>")
    kept = [key for key, _ in itertools.groupby(frame_ids) if key != blank]
    return "".join(tokens[i] for i in kept).replace("\u2581", " ").strip()


@pytest.mark.parametrize("version", ["<=2.4", ">=2.5"])
def test_transcript_matches_direct_onnx_decoding(
    exported: Path, audio: tuple[Path, np.ndarray], version: str
) -> None:
    wav_path, samples = audio
    result = transcribe(exported, wav_path, nemo_version=version)
    assert isinstance(result, Transcript)
    assert result.frames == len(result.frame_ids) == _expected_frames(samples.size, version)
    assert result.frame_ids == _direct_frame_ids(exported, samples, version)
    tokens = read_tokens(exported / "tokens.txt")
    assert result.text == _collapse(result.frame_ids, tokens)
    assert len(set(result.frame_ids)) > 1, "random weights should still give varied frames"


def test_character_model(tmp_path: Path, audio: tuple[Path, np.ndarray]) -> None:
    """A character vocabulary's space label comes back as a space in the text."""
    exported = export_small_model(tmp_path, bpe=False)
    tokens = read_tokens(exported / "tokens.txt")
    assert len(tokens) == 29 and tokens[0] == "\u2581"
    result = transcribe(exported, audio[0])
    assert result.frame_ids == _direct_frame_ids(exported, audio[1], "<=2.4")
    assert result.text == _collapse(result.frame_ids, tokens)
    assert "\u2581" not in result.text


def test_json_shape(exported: Path, audio: tuple[Path, np.ndarray]) -> None:
    data = json.loads(json.dumps(transcribe(exported, audio[0]).to_dict()))
    assert set(data) == {"text", "frame_ids", "frames", "seconds"}
    assert isinstance(data["text"], str)
    assert all(isinstance(i, int) for i in data["frame_ids"])
    assert data["frames"] == len(data["frame_ids"])
    assert 0 < data["seconds"] < 30


def test_no_torch_on_the_path(exported: Path, audio: tuple[Path, np.ndarray]) -> None:
    """In a fresh interpreter, transcribing never imports torch."""
    script = (
        "import json, sys\n"
        "from manual_export.transcribe import transcribe\n"
        f"result = transcribe({str(exported)!r}, {str(audio[0])!r})\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'frame_ids': result.frame_ids}))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["torch"] is False
    assert report["frame_ids"] == transcribe(exported, audio[0]).frame_ids


def test_rebuilt_buffers_when_features_npz_is_absent(
    exported: Path, audio: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    """Without features.npz the window and filterbank are rebuilt (the fixture has real ones)."""
    copy = shutil.copytree(exported, tmp_path / "copy")
    (copy / "features.npz").unlink()
    assert transcribe(copy, audio[0]).frame_ids == transcribe(exported, audio[0]).frame_ids


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        ("model.onnx", "model.onnx: no such file"),
        ("tokens.txt", "tokens.txt: cannot read"),
        ("config.json", "config.json: cannot read"),
    ],
)
def test_incomplete_folder_refused(
    exported: Path, audio: tuple[Path, np.ndarray], tmp_path: Path, damage: str, match: str
) -> None:
    copy = shutil.copytree(exported, tmp_path / "copy")
    (copy / damage).unlink()
    with pytest.raises(ModelDirError, match=match):
        transcribe(copy, audio[0])


@pytest.mark.parametrize(
    ("damage", "content", "match"),
    [
        ("model.onnx", b"\x08garbage, not a protobuf" * 20, "model.onnx: onnxruntime cannot load"),
        ("features.npz", b"PK\x03\x04 garbage", "features.npz: not a NumPy .npz"),
        ("features.npz", b"\x80\x04pickled", "features.npz: not a NumPy .npz"),
    ],
)
def test_corrupt_files_are_named_in_one_line(
    exported: Path, audio: tuple[Path, np.ndarray], tmp_path: Path, damage: str,
    content: bytes, match: str
) -> None:
    copy = shutil.copytree(exported, tmp_path / "copy")
    (copy / damage).write_bytes(content)
    with pytest.raises(ModelDirError, match=match) as raised:
        transcribe(copy, audio[0])
    assert "\n" not in str(raised.value)


def test_tokens_without_blank_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text("\u2581a 0\nb 1\n", encoding="utf-8")
    with pytest.raises(ModelDirError, match="last token must be <blk>"):
        read_tokens(path)


def test_space_label_survives(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text("  0\na 1\n<blk> 2\n", encoding="utf-8")
    assert read_tokens(path) == [" ", "a", "<blk>"]
