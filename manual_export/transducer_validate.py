"""Prove the exported transducer graphs compute what the rebuilt PyTorch model computes.

On random features (as the CTC check): the encoder's outputs over valid
frames and its lengths; every graph of both layouts on random prediction
states; and greedy decoding end to end, where the tokens from onnxruntime
(through sherpa-onnx's split graphs and through onnx-asr's fused graph) must
equal the PyTorch model's.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from manual_export.greedy import greedy_transducer
from manual_export.model import EncDecTransducer
from manual_export.transducer_export import DECODER_JOINT_NAME, ENCODER_NAME, SHERPA_DIR
from manual_export.transducer_runtime import FusedSteps, SplitSteps, open_session, zero_state
from manual_export.validate import DEFAULT_CASES, FP32_TOLERANCE, ValidationCase

__all__ = ["TorchSteps", "TransducerReport", "decode_batch", "random_features", "validate_transducer"]


class TorchSteps:
    """`predict` and `joint` with the PyTorch rebuild, for the reference decode.

    oneDNN's LSTM costs tens of milliseconds per single-step call on CPU (it
    prepares its kernels each time); the plain kernel takes well under one.
    """

    def __init__(self, model: EncDecTransducer) -> None:
        self.model = model

    def predict(self, token: int, state: Any) -> tuple[Any, Any]:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a notice about Intel GPUs when the flag is set
            with torch.backends.mkldnn.flags(enabled=False):
                g, h, c = self.model.decoder(torch.tensor([[token]]),
                                             torch.from_numpy(state[0]), torch.from_numpy(state[1]))
        return g, (h.numpy(), c.numpy())

    def joint(self, frame: np.ndarray, g: Any) -> np.ndarray:
        with torch.inference_mode():
            return self.model.joint(torch.from_numpy(frame).view(1, 1, -1), g).numpy().reshape(-1)


def decode_batch(steps: Any, encoded: np.ndarray, lengths: np.ndarray,
                 model: EncDecTransducer) -> list[dict[str, list[int]]]:
    """Greedy decoding of every item of (B, D, T) encoder outputs, NeMo's way."""
    transducer = model.config.transducer
    assert transducer is not None
    state = zero_state(transducer.pred_rnn_layers, transducer.pred_hidden)
    return [
        asdict(greedy_transducer(
            encoded[b, :, : int(n)].T, steps.predict, steps.joint, state,
            blank=transducer.blank_id, max_symbols=transducer.max_symbols,
            durations=transducer.durations))
        for b, n in enumerate(lengths)
    ]


@dataclass
class TransducerReport:
    onnx: str
    tolerance: float
    passed: bool
    max_abs_diff: float
    frames_checked: int
    encoder_max_abs_diff: float
    lengths_match: bool
    graph_max_abs_diff: dict[str, float]
    tokens_match: bool
    tokens_emitted: int
    cases: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_transducer(
    model: EncDecTransducer,
    out_dir: Path,
    *,
    cases: Sequence[ValidationCase] = DEFAULT_CASES,
    tolerance: float = FP32_TOLERANCE,
    seed: int = 0,
) -> TransducerReport:
    """Judge every graph in `out_dir` against `model`; greedy tokens must be identical."""
    sherpa = out_dir / SHERPA_DIR
    encoder = open_session(out_dir / ENCODER_NAME)
    split = SplitSteps(open_session(sherpa / "decoder.onnx"), open_session(sherpa / "joiner.onnx"))
    fused = FusedSteps(open_session(out_dir / DECODER_JOINT_NAME), model.config.encoder.d_model)
    generator = torch.Generator().manual_seed(seed)
    graph_diff = _graph_diffs(model, out_dir, generator)

    encoder_diff, frames, lengths_ok, tokens_ok, emitted, results = 0.0, 0, True, True, 0, []
    for case in cases:
        features, lengths = random_features(model, case, generator)
        with torch.inference_mode():
            expected, expected_lengths = (t.numpy() for t in model.encoder(features, lengths))
        actual, actual_lengths = encoder.run(
            None, {"audio_signal": features.numpy(), "length": lengths.numpy()})
        same_lengths = bool(actual.shape == expected.shape
                            and np.array_equal(actual_lengths, expected_lengths))
        diff = max(float(np.abs(expected[b, :, :n] - actual[b, :, :n]).max(initial=0.0))
                   for b, n in enumerate(expected_lengths))
        reference = decode_batch(TorchSteps(model), expected, expected_lengths, model)
        via_split = decode_batch(split, actual, expected_lengths, model)
        via_fused = decode_batch(fused, actual, expected_lengths, model)
        same_tokens = reference == via_split == via_fused
        encoder_diff, frames = max(encoder_diff, diff), frames + int(expected_lengths.sum())
        lengths_ok, tokens_ok = lengths_ok and same_lengths, tokens_ok and same_tokens
        emitted += sum(len(r["tokens"]) for r in reference)
        results.append({"name": case.name, "lengths": list(case.lengths),
                        "encoded_lengths": expected_lengths.tolist(), "lengths_match": same_lengths,
                        "encoder_max_abs_diff": diff, "tokens_match": same_tokens,
                        "torch_tokens": [r["tokens"] for r in reference],
                        "onnx_tokens": [r["tokens"] for r in via_split]})
    max_diff = max(encoder_diff, *graph_diff.values())
    return TransducerReport(
        onnx=str(out_dir / ENCODER_NAME), tolerance=tolerance,
        passed=lengths_ok and tokens_ok and max_diff <= tolerance, max_abs_diff=max_diff,
        frames_checked=frames, encoder_max_abs_diff=encoder_diff, lengths_match=lengths_ok,
        graph_max_abs_diff=graph_diff, tokens_match=tokens_ok, tokens_emitted=emitted,
        cases=results)


def random_features(model: EncDecTransducer, case: ValidationCase,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One case's padded batch of unit-Gaussian features, padding at NeMo's pad value."""
    lengths = torch.tensor(case.lengths, dtype=torch.int64)
    features = torch.randn(len(case.lengths), model.config.encoder.feat_in, max(case.lengths),
                           generator=generator)
    padding = torch.arange(features.size(2)).unsqueeze(0) >= lengths.unsqueeze(1)
    return features.masked_fill(padding.unsqueeze(1), model.config.preprocessor.pad_value), lengths


def _graph_diffs(model: EncDecTransducer, out_dir: Path,
                 generator: torch.Generator) -> dict[str, float]:
    """Largest |difference| of every output of the three state-taking graphs, random inputs."""
    transducer = model.config.transducer
    assert transducer is not None
    batch, steps, frames = 3, 4, 5
    targets = torch.randint(0, transducer.blank_id + 1, (batch, steps), generator=generator)
    targets[:, 0] = transducer.blank_id
    shape = (transducer.pred_rnn_layers, batch, transducer.pred_hidden)
    inputs = {
        "encoder_outputs": torch.randn(batch, model.config.encoder.d_model, frames,
                                       generator=generator),
        "targets": targets.to(torch.int32),
        "target_length": torch.full((batch,), steps, dtype=torch.int32),
        "input_states_1": torch.randn(shape, generator=generator),
        "input_states_2": torch.randn(shape, generator=generator),
    }
    with torch.inference_mode():
        g, h, c = model.decoder(inputs["targets"], inputs["input_states_1"],
                                inputs["input_states_2"])
        logits = model.joint(inputs["encoder_outputs"].transpose(1, 2), g)
    inputs["decoder_outputs"] = g.transpose(1, 2)
    expected = {
        DECODER_JOINT_NAME: [logits, None, h, c],
        f"{SHERPA_DIR}/decoder.onnx": [g.transpose(1, 2), None, h, c],
        f"{SHERPA_DIR}/joiner.onnx": [logits],
    }
    diffs = {}
    for name, wanted in expected.items():
        session = open_session(out_dir / name)
        feed = {i.name: inputs[i.name].numpy() for i in session.get_inputs()}
        got = session.run(None, feed)
        diffs[name] = max(float(np.abs(w.numpy() - o).max())
                          for w, o in zip(wanted, got, strict=True) if w is not None)
    return diffs
