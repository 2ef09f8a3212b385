"""The NeMo-free rebuild, its ONNX export and `transcribe` against outputs NeMo itself computed.

The fixtures in tests/fixtures/nemo were made by NeMo 1.23's own classes
(tests/live/make_nemo_fixtures.py, run by hand in a NeMo environment): one
tiny random model per family with every tensor perturbed, and NeMo's
features, encoder outputs, CTC log-probs, prediction-network outputs, joint
logits and greedy tokens on a padded batch of two waveforms. Nothing here
needs NeMo.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from manual_export.api import export_nemo
from manual_export.archive import read_archive
from manual_export.config import parse_config
from manual_export.features import FeatureConfig, compute_features
from manual_export.model import build_model
from manual_export.transcribe import greedy_ctc, ids_to_text, read_tokens, transcribe_many
from manual_export.transducer_runtime import open_session
from manual_export.transducer_validate import TorchSteps, decode_batch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nemo"
WAVS = [FIXTURES / "audio_0.wav", FIXTURES / "audio_1.wav"]
CTC = ("ctc_conformer", "ctc_fastconformer")
TRANSDUCERS = ("rnnt_conformer", "tdt_fastconformer", "hybrid_fastconformer")
FAMILIES = CTC + TRANSDUCERS
TOLERANCE = 1e-4
FEATURE_TOLERANCE = 5e-4  # the NumPy front end against NeMo's torch one (onnx-asr's bar)


def _fixture(name: str) -> tuple[dict, dict, object, object]:
    reference = dict(np.load(FIXTURES / f"{name}.npz"))
    info = json.loads((FIXTURES / f"{name}.json").read_text())
    archive = read_archive(FIXTURES / f"{name}.nemo")
    config = parse_config(archive.config)
    return reference, info, archive, config


@pytest.fixture(scope="module", params=FAMILIES)
def family(request: pytest.FixtureRequest):
    reference, info, archive, config = _fixture(request.param)
    model = build_model(config, archive.state_dict)  # strict: every NeMo key, nothing else
    return request.param, reference, info, archive, config, model


def _valid_max_diff(actual: np.ndarray, expected: np.ndarray, lengths: np.ndarray,
                    time_axis: int) -> float:
    diffs = []
    for b, n in enumerate(lengths):
        index = [b] + [slice(None)] * (actual.ndim - 1)
        index[time_axis] = slice(0, int(n))
        diffs.append(np.abs(actual[tuple(index)] - expected[tuple(index)]).max())
    return float(max(diffs))


def test_family_is_read_from_the_config(family) -> None:
    name, _, info, _, config, _ = family
    expected = {"ctc": "ctc", "rnnt": "rnnt", "tdt": "tdt", "hybrid": "rnnt"}[name.split("_")[0]]
    assert config.family == expected
    assert config.model_class == info["nemo_class"]
    assert (config.decoder is not None) == (name.startswith(("ctc", "hybrid")))


def test_features_match_nemo(family) -> None:
    _, reference, _, archive, config, _ = family
    features, lengths = compute_features(
        reference["signal"], reference["signal_length"],
        FeatureConfig.from_dict(config.feature_settings()),
        window=archive.state_dict["preprocessor.featurizer.window"].numpy(),
        fb=archive.state_dict["preprocessor.featurizer.fb"].numpy())
    assert np.array_equal(lengths, reference["feature_length"])
    assert _valid_max_diff(features, reference["features"], lengths, 2) <= FEATURE_TOLERANCE


def test_encoder_matches_nemo(family) -> None:
    _, reference, _, _, _, model = family
    with torch.inference_mode():
        encoded, lengths = model.encoder(torch.from_numpy(reference["features"]),
                                         torch.from_numpy(reference["feature_length"]))
    assert np.array_equal(lengths.numpy(), reference["encoded_length"])
    diff = _valid_max_diff(encoded.numpy(), reference["encoded"], lengths.numpy(), 2)
    assert diff <= TOLERANCE, diff


def test_ctc_head_matches_nemo(family) -> None:
    name, reference, _, _, config, model = family
    if config.decoder is None:
        pytest.skip("no CTC head")
    head = model.decoder if name in CTC else model.ctc_decoder
    encoded = torch.from_numpy(reference["encoded"])
    with torch.inference_mode():
        logprobs = head(encoded).numpy()
    lengths = reference["encoded_length"]
    assert _valid_max_diff(logprobs, reference["ctc_logprobs"], lengths, 1) <= TOLERANCE
    for b, n in enumerate(lengths):
        assert np.array_equal(logprobs[b, :n].argmax(-1),
                              reference["ctc_logprobs"][b, :n].argmax(-1))


def test_prediction_network_and_joint_match_nemo(family) -> None:
    _, reference, _, _, config, model = family
    if config.transducer is None:
        pytest.skip("CTC model")
    labels = torch.from_numpy(reference["pred_labels"])
    batch, layers, hidden = labels.size(0), config.transducer.pred_rnn_layers, config.transducer.pred_hidden
    sos = torch.full((batch, 1), config.transducer.blank_id)
    zeros = torch.zeros(layers, batch, hidden)
    with torch.inference_mode():
        g, _, _ = model.decoder(torch.cat([sos, labels], 1), zeros, zeros)
        frames = torch.from_numpy(reference["encoded"]).transpose(1, 2)
        picked = torch.stack([frames[b, reference["joint_frames"][b]] for b in range(batch)])
        logits = model.joint(picked, g)
    assert np.abs(g.numpy() - reference["pred_out"]).max() <= TOLERANCE
    assert np.abs(logits.numpy() - reference["joint_logits"]).max() <= TOLERANCE


def test_greedy_decoding_matches_nemo(family) -> None:
    _, reference, info, _, config, model = family
    if config.transducer is None:
        pytest.skip("CTC model")
    ours = decode_batch(TorchSteps(model), reference["encoded"], reference["encoded_length"], model)
    assert [r["tokens"] for r in ours] == [g["tokens"] for g in info["greedy"]]
    assert [r["timesteps"] for r in ours] == [g["timesteps"] for g in info["greedy"]]
    if config.transducer.is_tdt:
        assert [r["durations"] for r in ours] == [g["durations"] for g in info["greedy"]]


@pytest.fixture(scope="module")
def exported(family, tmp_path_factory: pytest.TempPathFactory):
    name = family[0]
    out = tmp_path_factory.mktemp("nemo-parity") / name
    report = export_nemo(FIXTURES / f"{name}.nemo", out)
    return family, out, report


def test_export_validates(exported) -> None:
    _, out, report = exported
    assert report.ok, json.loads((out / "validation.json").read_text())
    assert report.max_abs_diff <= TOLERANCE


def test_exported_encoder_matches_nemo(exported) -> None:
    (name, reference, *_), out, _ = exported
    path = out / ("model.onnx" if name in CTC else "encoder-model.onnx")
    outputs = open_session(path).run(None, {"audio_signal": reference["features"],
                                            "length": reference["feature_length"]})
    lengths = reference["encoded_length"]
    assert np.array_equal(outputs[1], lengths)
    if name in CTC:
        assert _valid_max_diff(outputs[0], reference["ctc_logprobs"], lengths, 1) <= TOLERANCE
    else:
        assert _valid_max_diff(outputs[0], reference["encoded"], lengths, 2) <= TOLERANCE


def _nemo_ctc_texts(reference: dict, tokens: list[str]) -> list[str]:
    """NeMo's greedy CTC transcripts, from the log-probs its forward pass computed."""
    return [
        ids_to_text(greedy_ctc(reference["ctc_logprobs"][b, :n].argmax(-1).tolist(),
                               len(tokens) - 1), tokens)
        for b, n in enumerate(reference["encoded_length"])
    ]


def test_transcribe_gives_nemos_tokens(exported) -> None:
    (name, reference, info, *_), out, _ = exported
    results = transcribe_many(out, WAVS)
    if name in CTC:
        assert [r.text for r in results] == _nemo_ctc_texts(reference,
                                                            read_tokens(out / "tokens.txt"))
        return
    assert [r.tokens for r in results] == [g["tokens"] for g in info["greedy"]]
    assert [r.timesteps for r in results] == [g["timesteps"] for g in info["greedy"]]
    assert [r.text for r in results] == [t.strip() for t in info["nemo_transcripts"]]
    tokens = read_tokens(out / "tokens.txt")
    for result, greedy in zip(results, info["greedy"], strict=True):
        assert result.text == ids_to_text(greedy["tokens"], tokens)
        if info["tdt"]:
            assert result.durations == greedy["durations"]
        else:
            assert result.durations is None


def test_hybrid_ctc_head_transcribes_like_nemo(exported) -> None:
    (name, reference, *_), out, _ = exported
    if not name.startswith("hybrid"):
        pytest.skip("not a hybrid")
    results = transcribe_many(out, WAVS, head="ctc")
    assert [r.text for r in results] == _nemo_ctc_texts(reference,
                                                        read_tokens(out / "tokens.txt"))
