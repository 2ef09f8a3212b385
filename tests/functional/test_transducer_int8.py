"""`--int8` for transducers: int8 graphs in both layouts, loaded by both runtimes, drift reported.

On NeMo-made fixtures with random weights int8 moves the greedy path, so the
export must pass whatever the drift; what must hold is that the drift figures
are the ones the files give, and that onnx-asr (`quantization="int8"`) and
sherpa-onnx load the int8 files unchanged and decode with them.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import onnx
import pytest
from sherpa_decode import sherpa_tokens

from envprobe.cli import main
from manual_export.transcribe import read_tokens
from manual_export.transducer_int8 import token_edits

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nemo"
WAVS = [FIXTURES / "audio_0.wav", FIXTURES / "audio_1.wav"]
TYPES = {"rnnt_conformer": "nemo-conformer-rnnt", "tdt_fastconformer": "nemo-conformer-tdt",
         "hybrid_fastconformer": "nemo-conformer-rnnt"}
INT8_FILES = ("encoder-model.int8.onnx", "decoder_joint-model.int8.onnx",
              "sherpa-onnx/encoder.int8.onnx", "sherpa-onnx/decoder.int8.onnx",
              "sherpa-onnx/joiner.int8.onnx")


@pytest.fixture(scope="module", params=sorted(TYPES))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("int8-transducer") / request.param
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["export", str(FIXTURES / f"{request.param}.nemo"), "-o", str(out), "--int8",
                     "--json"])
    return request.param, out, code, json.loads(printed.getvalue())


def test_int8_files_are_written_smaller_and_reported(exported) -> None:
    _, out, code, _ = exported
    assert code == 0, "int8 drift never fails the export"
    summary = json.loads((out / "validation.json").read_text())
    drift = summary["int8"]
    assert summary["passed"] and drift["files"] == list(INT8_FILES) and drift["loaded"]
    for name in INT8_FILES:
        fp32 = out / name.replace(".int8", "")
        assert (out / name).stat().st_size < fp32.stat().st_size, name
    assert drift["layouts_agree"], "both layouts' int8 files decode alike"
    assert 1e-4 < drift["encoder_max_abs_diff"] < 1.0
    metadata = {e.key: e.value for e in onnx.load(str(out / "sherpa-onnx/encoder.int8.onnx"),
                                                  load_external_data=False).metadata_props}
    assert {"vocab_size", "pred_rnn_layers", "pred_hidden", "normalize_type"} <= metadata.keys()


def test_drift_figures_are_the_tokens_own(exported) -> None:
    _, out, _, _ = exported
    drift = json.loads((out / "validation.json").read_text())["int8"]
    pairs = [(fp32, int8) for case in drift["cases"]
             for fp32, int8 in zip(case["fp32_tokens"], case["int8_tokens"], strict=True)]
    edits = [token_edits(fp32, int8) for fp32, int8 in pairs]
    assert drift["fp32_tokens"] == sum(len(fp32) for fp32, _ in pairs) > 0
    assert drift["token_edits"] == sum(edits)
    assert drift["identical_items"] == sum(fp32 == int8 for fp32, int8 in pairs)
    assert drift["items"] == len(pairs)
    assert drift["token_agreement"] == pytest.approx(
        max(0.0, 1 - sum(edits) / drift["fp32_tokens"]))


@pytest.mark.parametrize(("reference", "other", "edits"), [
    ([], [], 0), ([1, 2, 3], [1, 2, 3], 0), ([1, 2, 3], [1, 3], 1), ([1, 2], [2, 1], 2),
    ([], [4, 4], 2), ([5, 6, 7], [5, 9, 7, 8], 2),
])
def test_token_edits(reference, other, edits) -> None:
    assert token_edits(reference, other) == edits


def test_onnx_asr_loads_the_int8_files(exported) -> None:
    onnx_asr = pytest.importorskip("onnx_asr", reason="onnx-asr not installed")
    name, out, _, _ = exported
    # quantization="int8" makes onnx-asr look for the *.int8.onnx names, and only those.
    model = onnx_asr.load_model(TYPES[name], out, quantization="int8")
    pieces = {piece.replace("\u2581", " ") for piece in read_tokens(out / "tokens.txt")}
    results = model.with_timestamps().recognize([str(wav) for wav in WAVS])
    assert any(r.tokens for r in results)
    assert {t for r in results for t in r.tokens} <= pieces


def test_sherpa_onnx_loads_the_int8_files(exported, capfd: pytest.CaptureFixture[str]) -> None:
    sherpa_onnx = pytest.importorskip("sherpa_onnx", reason="sherpa-onnx not installed")
    name, out, _, _ = exported
    folder = out / "sherpa-onnx"
    recognizer = sherpa_onnx.OfflineRecognizer.from_transducer(
        encoder=str(folder / "encoder.int8.onnx"), decoder=str(folder / "decoder.int8.onnx"),
        joiner=str(folder / "joiner.int8.onnx"), tokens=str(folder / "tokens.txt"),
        model_type="nemo_transducer", num_threads=1, debug=True)
    assert ("TDT model. vocab_size: 31" in capfd.readouterr().err) == name.startswith("tdt")
    pieces = {piece.replace("\u2581", " ") for piece in read_tokens(folder / "tokens.txt")}
    emitted = [t.replace("\u2581", " ") for wav in WAVS for t in sherpa_tokens(recognizer, wav)]
    assert emitted and set(emitted) <= pieces


def test_cli_json_carries_the_int8_figures(exported, tmp_path: Path) -> None:
    name, out, _, payload = exported
    drift = json.loads((out / "validation.json").read_text())["int8"]
    assert payload["int8_onnx"] == str(out / "encoder-model.int8.onnx")
    assert payload["int8_argmax_agreement"] == drift["token_agreement"]
    assert payload["int8_max_abs_diff"] == drift["encoder_max_abs_diff"]
    assert set(INT8_FILES) <= {str(Path(f).relative_to(out)) for f in payload["files"]}
    if not name.startswith("tdt"):
        return  # the replacement below is the same for every family
    # An int8 folder counts as an earlier export's: replaced without --force.
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", str(FIXTURES / f"{name}.nemo"), "-o", str(copy), "--json"]) == 0
    assert not (copy / "encoder-model.int8.onnx").exists()
