"""The exported folder, unedited, in the two runtimes people deploy NeMo CTC models with.

onnx-asr computes NeMo >= 2.5 features in NumPy, so with our features in the
same mode it must see the same frames and decode the same tokens. sherpa-onnx
computes its own (kaldi-native-fbank) features, so only its contract is checked:
it loads the folder, decodes, and its tokens come from our tokens.txt.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from exported_model import export_small_model, write_test_wav

from manual_export.features import FeatureConfig, compute_features
from manual_export.transcribe import read_tokens, transcribe

SECONDS = 3.0
FRAME_SECONDS = 0.04  # 10 ms hop x subsampling 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_small_model(tmp_path_factory.mktemp("runtimes"))


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    return path, write_test_wav(path, SECONDS, seed=1)


def _runs(frame_ids: list[int], blank: int) -> list[tuple[int, int]]:
    """(token id, first frame) of every emitted token."""
    emitted, frame = [], 0
    for token, group in itertools.groupby(frame_ids):
        if token != blank:
            emitted.append((token, frame))
        frame += len(list(group))
    return emitted


def test_onnx_asr_features_match_ours(audio: tuple[Path, np.ndarray]) -> None:
    pytest.importorskip("onnx_asr", reason="onnx-asr wheel not installable here")
    from onnx_asr.preprocessors.numpy_preprocessor import NemoPreprocessorNumpy

    samples = audio[1]
    theirs, their_len = NemoPreprocessorNumpy("nemo80")(samples[None], np.array([samples.size]))
    ours, our_len = compute_features(
        samples[None], np.array([samples.size]), FeatureConfig(nemo_version=">=2.5")
    )
    assert their_len.tolist() == our_len.tolist()
    valid = int(our_len[0])
    np.testing.assert_allclose(theirs[..., :valid], ours[..., :valid], atol=1e-4)


def test_onnx_asr_decodes_the_folder_like_we_do(
    exported: Path, audio: tuple[Path, np.ndarray]
) -> None:
    onnx_asr = pytest.importorskip("onnx_asr", reason="onnx-asr wheel not installable here")
    wav_path, samples = audio
    model = onnx_asr.load_model("nemo-conformer-ctc", str(exported)).with_timestamps()
    result = model.recognize(samples, sample_rate=16000)
    assert isinstance(result.text, str)

    ours = transcribe(exported, wav_path, nemo_version=">=2.5")
    tokens = [piece.replace("\u2581", " ") for piece in read_tokens(exported / "tokens.txt")]
    emitted = _runs(ours.frame_ids, blank=len(tokens) - 1)
    assert emitted, "random weights should still emit tokens"
    assert result.tokens == [tokens[token] for token, _ in emitted]
    np.testing.assert_allclose(result.timestamps, [FRAME_SECONDS * frame for _, frame in emitted])


def test_sherpa_onnx_decodes_the_folder(exported: Path, audio: tuple[Path, np.ndarray]) -> None:
    sherpa_onnx = pytest.importorskip(
        "sherpa_onnx", reason="sherpa-onnx wheel not installable here"
    )
    samples = audio[1]
    recognizer = sherpa_onnx.OfflineRecognizer.from_nemo_ctc(
        model=str(exported / "model.onnx"), tokens=str(exported / "tokens.txt"), num_threads=1
    )
    stream = recognizer.create_stream()
    stream.accept_waveform(16000, samples)
    recognizer.decode_stream(stream)
    result = stream.result

    assert isinstance(result.text, str) and result.text.strip()
    # sherpa-onnx reports pieces with the word-start mark already turned into a space.
    pieces = {piece.replace("\u2581", " ") for piece in read_tokens(exported / "tokens.txt")[:-1]}
    assert result.tokens and set(result.tokens) <= pieces
    assert "".join(result.tokens).strip() == result.text.strip()
    # sherpa-onnx keeps length // 4 encoder frames; every token starts inside them.
    frames = (samples.size // 160) // 4
    assert max(result.timestamps) < frames * FRAME_SECONDS
