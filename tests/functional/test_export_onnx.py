"""The exported folder: ONNX interface, parity on batches and long inputs, side files, int8."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from nemo_fixture import write_fake_nemo

from manual_export.api import export_nemo
from manual_export.archive import read_archive


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One BPE model exported once, with int8, shared by the checks below."""
    work = tmp_path_factory.mktemp("export")
    nemo = write_fake_nemo(work / "small.nemo", seed=5)
    report = export_nemo(nemo, work / "out", int8=True)
    return nemo, work / "out", report


def test_report_shape_and_status(exported):
    _, out_dir, report = exported
    payload = report.to_dict()
    assert {"status", "onnx", "max_abs_diff", "frames_checked", "seconds"} <= set(payload)
    assert payload["status"] == "ok"
    assert payload["onnx"] == str(out_dir / "model.onnx")
    assert 0 <= payload["max_abs_diff"] <= 1e-4
    assert payload["frames_checked"] == 100 + 250 + 155 + 31
    json.dumps(payload)


def test_one_file_serves_batch_one_and_a_padded_batch_of_three(exported):
    _, out_dir, _ = exported
    summary = json.loads((out_dir / "validation.json").read_text())
    assert summary["passed"] is True
    cases = {case["name"]: case for case in summary["fp32"]["cases"]}
    assert cases["batch1"]["lengths"] == [400]
    assert cases["padded_batch3"]["encoded_lengths"] == [250, 155, 31]
    for case in cases.values():
        assert case["lengths_match"] and case["max_abs_diff"] <= 1e-4
        assert case["argmax_agreement"] == 1.0 and case["transcripts_match"]
        assert case["torch_transcript"]  # peaked posteriors: not all blank


def test_onnx_interface(exported):
    _, out_dir, _ = exported
    model = onnx.load(str(out_dir / "model.onnx"))
    assert {op.domain: op.version for op in model.opset_import}[""] == 17
    session = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs = {i.name: (i.type, i.shape) for i in session.get_inputs()}
    outputs = {o.name: (o.type, o.shape) for o in session.get_outputs()}
    assert inputs == {
        "audio_signal": ("tensor(float)", ["batch", 80, "time"]),
        "length": ("tensor(int64)", ["batch"]),
    }
    assert outputs == {
        "logprobs": ("tensor(float)", ["batch", "frames", 33]),
        "encoded_lengths": ("tensor(int64)", ["batch"]),
    }
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    assert metadata["vocab_size"] == "33"
    assert metadata["subsampling_factor"] == "4"
    assert metadata["normalize_type"] == "per_feature"
    assert metadata["model_type"] == "EncDecCTCModelBPE"


@pytest.mark.parametrize(("batch", "frames"), [(2, 9), (5, 131), (1, 1)])
def test_shapes_unlike_the_tracing_example(exported, batch, frames):
    _, out_dir, _ = exported
    session = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    lengths = np.maximum(1, frames - np.arange(batch) * 3).astype(np.int64)
    features = np.random.default_rng(0).standard_normal((batch, 80, frames), dtype=np.float32)
    logprobs, encoded = session.run(None, {"audio_signal": features, "length": lengths})
    assert logprobs.shape == (batch, (frames - 1) // 4 + 1, 33)
    assert encoded.tolist() == ((lengths - 1) // 4 + 1).tolist()
    assert np.allclose(np.exp(logprobs).sum(-1), 1.0, atol=1e-5)


def test_side_files(exported):
    nemo, out_dir, _ = exported
    archive = read_archive(nemo)
    tokens = (out_dir / "tokens.txt").read_text(encoding="utf-8").splitlines()
    vocabulary = archive.config["decoder"]["vocabulary"]
    assert tokens[:3] == ["<unk> 0", "▁ 1", "▁e 2"]
    assert tokens[-1] == f"<blk> {len(vocabulary)}" and len(tokens) == len(vocabulary) + 1
    assert (out_dir / "vocab.txt").read_text(encoding="utf-8").splitlines() == tokens

    settings = json.loads((out_dir / "config.json").read_text())
    assert settings["model_type"] == "nemo-conformer-ctc"
    assert settings["features_size"] == 80 and settings["subsampling_factor"] == 4
    assert settings["normalize"] == "per_feature" and settings["n_fft"] == 512
    assert settings["win_length"] == 400 and settings["hop_length"] == 160
    assert settings["preemph"] == 0.97 and settings["log_zero_guard_value"] == 2**-24

    buffers = np.load(out_dir / "features.npz")
    state = archive.state_dict
    assert np.array_equal(buffers["window"], state["preprocessor.featurizer.window"].numpy())
    assert np.array_equal(buffers["fb"], state["preprocessor.featurizer.fb"].numpy())


def test_int8_model_is_written_validated_and_labelled(exported):
    _, out_dir, report = exported
    assert report.int8_onnx == str(out_dir / "model.int8.onnx")
    summary = json.loads((out_dir / "validation.json").read_text())
    assert summary["int8"]["passed"] and summary["int8"]["argmax_agreement"] >= 0.9
    assert report.int8_max_abs_diff == summary["int8"]["max_abs_diff"] > 1e-4
    metadata = {e.key: e.value for e in onnx.load(str(out_dir / "model.int8.onnx")).metadata_props}
    assert metadata["vocab_size"] == "33"
    assert (out_dir / "model.int8.onnx").stat().st_size < (out_dir / "model.onnx").stat().st_size


def test_input_past_5000_encoder_frames(tmp_path):
    # One head and one layer keep the 5002 x 10003 attention matrices cheap.
    nemo = write_fake_nemo(tmp_path / "tiny.nemo", layers=1, d_model=32, n_heads=1, kernel=7)
    report = export_nemo(nemo, tmp_path / "out", long_input=True)
    summary = json.loads((tmp_path / "out" / "validation.json").read_text())
    long_case = next(c for c in summary["fp32"]["cases"] if c["name"] == "long_batch1")
    assert long_case["encoded_lengths"] == [5002]
    assert long_case["lengths_match"] and long_case["max_abs_diff"] <= 1e-4
    assert report.ok


def test_char_model_gzip_archive_and_dw_striding(tmp_path):
    nemo = write_fake_nemo(
        tmp_path / "char.nemo", bpe=False, gzip=True, subsampling="dw_striding", layers=1
    )
    report = export_nemo(nemo, tmp_path / "out")
    assert report.ok and report.model_class == "EncDecCTCModel" and report.vocab_size == 28
    tokens = (tmp_path / "out" / "tokens.txt").read_text(encoding="utf-8").splitlines()
    assert tokens[0] == "▁ 0" and tokens[-1] == "<blk> 28"


def test_failed_parity_is_a_failed_export(tmp_path):
    nemo = write_fake_nemo(tmp_path / "m.nemo", layers=1)
    report = export_nemo(nemo, tmp_path / "out", tolerance=1e-12)
    assert report.status == "failed" and not report.ok
    assert json.loads((tmp_path / "out" / "validation.json").read_text())["passed"] is False


def test_stale_int8_file_is_removed(tmp_path):
    nemo = write_fake_nemo(tmp_path / "m.nemo", layers=1)
    out_dir = tmp_path / "out"
    assert export_nemo(nemo, out_dir, int8=True).int8_onnx is not None
    report = export_nemo(nemo, out_dir)
    assert report.int8_onnx is None and not (out_dir / "model.int8.onnx").exists()


def test_rebuilt_model_matches_onnx_on_fresh_inputs(exported):
    """Parity outside the validator's own cases, to keep the validator honest."""
    nemo, out_dir, _ = exported
    from manual_export.config import parse_config
    from manual_export.model import build_model

    archive = read_archive(nemo)
    model = build_model(parse_config(archive.config), archive.state_dict)
    features = torch.randn(2, 80, 333, generator=torch.Generator().manual_seed(9))
    lengths = torch.tensor([333, 201])
    with torch.inference_mode():
        expected, expected_lengths = model(features, lengths)
    session = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    actual, actual_lengths = session.run(
        None, {"audio_signal": features.numpy(), "length": lengths.numpy()}
    )
    assert actual_lengths.tolist() == expected_lengths.tolist() == [84, 51]
    for item, n in enumerate(actual_lengths):
        assert np.abs(actual[item, :n] - expected[item, :n].numpy()).max() <= 1e-4


def test_attention_is_one_fused_node_per_layer_and_padded_frames_match_too(exported):
    """The graph's attention is onnxruntime's MultiHeadAttention, and it masks as NeMo does.

    Every frame is compared, padded ones included, on a batch whose shortest
    item keeps a single encoder frame.
    """
    nemo, out_dir, _ = exported
    from manual_export.config import parse_config
    from manual_export.model import build_model

    archive = read_archive(nemo)
    config = parse_config(archive.config)
    graph = onnx.load(str(out_dir / "model.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("MultiHeadAttention") == config.encoder.n_layers
    assert "Softmax" not in ops
    model = build_model(config, archive.state_dict)
    features = torch.randn(3, 80, 97, generator=torch.Generator().manual_seed(4))
    lengths = torch.tensor([97, 40, 1])
    with torch.inference_mode():
        expected, expected_lengths = model(features, lengths)
    session = ort.InferenceSession(str(out_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    actual, actual_lengths = session.run(
        None, {"audio_signal": features.numpy(), "length": lengths.numpy()}
    )
    assert actual_lengths.tolist() == expected_lengths.tolist() == [25, 10, 1]
    assert np.abs(actual - expected.numpy()).max() <= 1e-4
