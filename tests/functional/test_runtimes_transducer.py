"""Exported transducer folders, unedited, in onnx-asr and sherpa-onnx.

onnx-asr computes NeMo >= 2.5 features in NumPy; with our features in the same
mode, `transcribe` must decode exactly its tokens (on the TDT fixture both also
equal NeMo 1.23's own transcript). sherpa-onnx computes its own
kaldi-native-fbank features and caps symbols per frame differently, and the
random fixtures flip on small feature changes, so only its contract is
checked: it loads both layouts' sherpa-onnx folder, takes the TDT model for
one, and emits tokens from our tokens.txt.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sherpa_decode import sherpa_tokens

from manual_export.api import export_nemo
from manual_export.transcribe import read_tokens, transcribe_many

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nemo"
WAVS = [FIXTURES / "audio_0.wav", FIXTURES / "audio_1.wav"]
TYPES = {"rnnt_conformer": "nemo-conformer-rnnt", "tdt_fastconformer": "nemo-conformer-tdt",
         "hybrid_fastconformer": "nemo-conformer-rnnt"}


def _spaced(piece: str) -> str:
    """Both runtimes show SentencePiece's word-start mark as a space."""
    return piece.replace("\u2581", " ")


@pytest.fixture(scope="module", params=sorted(TYPES))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("runtimes-transducer") / request.param
    assert export_nemo(FIXTURES / f"{request.param}.nemo", out).ok
    return request.param, out


def test_onnx_asr_decodes_our_tokens(exported) -> None:
    onnx_asr = pytest.importorskip("onnx_asr", reason="onnx-asr not installed")
    name, out = exported
    model = onnx_asr.load_model(TYPES[name], out)
    # One padded batch on both sides: batching moves the last frames' features.
    theirs = model.with_timestamps().recognize([str(wav) for wav in WAVS])
    ours = transcribe_many(out, WAVS, nemo_version=">=2.5")
    pieces = [_spaced(piece) for piece in read_tokens(out / "tokens.txt")]
    assert [[_spaced(t) for t in r.tokens] for r in theirs] == [
        [pieces[i] for i in r.tokens] for r in ours]
    if name.startswith("tdt"):
        nemo = json.loads((FIXTURES / f"{name}.json").read_text())["nemo_transcripts"]
        assert [r.text for r in theirs] == nemo


def test_sherpa_onnx_loads_and_decodes(exported) -> None:
    sherpa_onnx = pytest.importorskip("sherpa_onnx", reason="sherpa-onnx not installed")
    _, out = exported
    folder = out / "sherpa-onnx"
    recognizer = sherpa_onnx.OfflineRecognizer.from_transducer(
        encoder=str(folder / "encoder.onnx"), decoder=str(folder / "decoder.onnx"),
        joiner=str(folder / "joiner.onnx"), tokens=str(folder / "tokens.txt"),
        model_type="nemo_transducer", num_threads=1)
    pieces = {_spaced(piece) for piece in read_tokens(folder / "tokens.txt")}
    for wav in WAVS:
        tokens = sherpa_tokens(recognizer, wav)
        assert tokens and {_spaced(t) for t in tokens} <= pieces


def test_sherpa_onnx_sees_the_tdt_model(exported, capfd: pytest.CaptureFixture[str]) -> None:
    sherpa_onnx = pytest.importorskip("sherpa_onnx", reason="sherpa-onnx not installed")
    name, out = exported
    folder = out / "sherpa-onnx"
    sherpa_onnx.OfflineRecognizer.from_transducer(
        encoder=str(folder / "encoder.onnx"), decoder=str(folder / "decoder.onnx"),
        joiner=str(folder / "joiner.onnx"), tokens=str(folder / "tokens.txt"),
        model_type="nemo_transducer", num_threads=1, debug=True)
    log = capfd.readouterr().err
    if name.startswith("tdt"):
        assert "TDT model. vocab_size: 31, num_durations: 5" in log
    else:
        assert "TDT model." not in log and "vocab_size=30" in log
