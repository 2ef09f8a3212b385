"""Prove the exported ONNX computes what the rebuilt PyTorch model computes.

Both run on the same random features (normalised features are roughly unit
Gaussian, padding is NeMo's 0.0). Compared over valid frames only: the
largest absolute log-prob difference, the encoded lengths (exactly), and the
greedy CTC path. An argmax disagreement only counts against the export when
PyTorch's top two classes are further apart than twice the tolerance: closer
than that, either answer is the same model within float noise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from manual_export.model import EncDecCTC

__all__ = [
    "DEFAULT_CASES",
    "FP32_TOLERANCE",
    "INT8_MIN_AGREEMENT",
    "LONG_CASE",
    "CaseResult",
    "ValidationCase",
    "ValidationReport",
    "greedy_transcript",
    "validate_onnx",
]

FP32_TOLERANCE = 1e-4
# Int8 weights move log-probs by far more than float noise, so the int8 file is
# judged on its greedy path instead: the share of valid frames whose argmax
# matches the fp32 PyTorch model.
INT8_MIN_AGREEMENT = 0.9


@dataclass(frozen=True)
class ValidationCase:
    """One batch of random features: one item per length (feature frames), padded to the longest."""

    name: str
    lengths: tuple[int, ...]


DEFAULT_CASES = (
    ValidationCase("batch1", (400,)),
    ValidationCase("padded_batch3", (1000, 617, 123)),
)
# 20008 feature frames -> 5002 encoder frames at 4x: past the 5000-row table
# NeMo's own export bakes in. Attention memory grows with its square, so this
# case is opt-in.
LONG_CASE = ValidationCase("long_batch1", (20008,))


@dataclass(frozen=True)
class CaseResult:
    name: str
    lengths: list[int]
    encoded_lengths: list[int]
    lengths_match: bool
    max_abs_diff: float
    frames_checked: int
    argmax_agreement: float
    unexplained_argmax_mismatches: int
    transcripts_match: bool
    torch_transcript: str
    onnx_transcript: str
    torch_seconds: float
    onnx_seconds: float


@dataclass(frozen=True)
class ValidationReport:
    onnx: str
    tolerance: float | None
    min_agreement: float | None
    passed: bool
    max_abs_diff: float
    frames_checked: int
    argmax_agreement: float
    cases: list[CaseResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_onnx(
    model: EncDecCTC,
    onnx_path: Path,
    vocabulary: Sequence[str],
    *,
    cases: Sequence[ValidationCase] = DEFAULT_CASES,
    tolerance: float | None = FP32_TOLERANCE,
    min_agreement: float | None = None,
    seed: int = 0,
) -> ValidationReport:
    """Run every case through PyTorch and onnxruntime and judge the ONNX file.

    Pass `tolerance` to judge by log-prob difference (fp32), or `min_agreement`
    to judge by greedy-path agreement (int8). Lengths must match exactly either way.
    """
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(seed)
    feat_in = model.config.encoder.feat_in
    pad_value = float(model.config.preprocessor.pad_value)
    margin = 2 * tolerance if tolerance is not None else 0.0
    results = [
        _run_case(case, model, session, vocabulary, feat_in, pad_value, margin, generator)
        for case in cases
    ]
    frames = sum(r.frames_checked for r in results)
    max_diff = max(r.max_abs_diff for r in results)
    agreement = sum(r.argmax_agreement * r.frames_checked for r in results) / max(frames, 1)
    passed = all(r.lengths_match for r in results)
    if tolerance is not None:
        passed = passed and max_diff <= tolerance
        passed = passed and not any(r.unexplained_argmax_mismatches for r in results)
    if min_agreement is not None:
        passed = passed and agreement >= min_agreement
    return ValidationReport(
        onnx=str(onnx_path),
        tolerance=tolerance,
        min_agreement=min_agreement,
        passed=passed,
        max_abs_diff=max_diff,
        frames_checked=frames,
        argmax_agreement=agreement,
        cases=results,
    )


def _run_case(
    case: ValidationCase,
    model: EncDecCTC,
    session: ort.InferenceSession,
    vocabulary: Sequence[str],
    feat_in: int,
    pad_value: float,
    margin: float,
    generator: torch.Generator,
) -> CaseResult:
    lengths = torch.tensor(case.lengths, dtype=torch.int64)
    features = torch.randn(len(case.lengths), feat_in, max(case.lengths), generator=generator)
    padding = torch.arange(features.size(2)).unsqueeze(0) >= lengths.unsqueeze(1)
    features = features.masked_fill(padding.unsqueeze(1), pad_value)

    started = time.perf_counter()
    with torch.inference_mode():
        torch_logprobs, torch_lengths = model(features, lengths)
    torch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    onnx_logprobs, onnx_lengths = session.run(
        None, {"audio_signal": features.numpy(), "length": lengths.numpy()}
    )
    onnx_seconds = time.perf_counter() - started

    torch_logprobs = torch_logprobs.numpy()
    torch_lengths = torch_lengths.numpy()
    lengths_match = torch_lengths.dtype == onnx_lengths.dtype and np.array_equal(
        torch_lengths, onnx_lengths
    )
    lengths_match = lengths_match and onnx_logprobs.shape == torch_logprobs.shape
    max_diff, frames, agreeing, unexplained = 0.0, 0, 0, 0
    for item, n in enumerate(torch_lengths):
        expected, actual = torch_logprobs[item, :n], onnx_logprobs[item, :n]
        max_diff = max(max_diff, float(np.abs(expected - actual).max(initial=0.0)))
        same = expected.argmax(-1) == actual.argmax(-1)
        top2 = np.sort(expected, axis=-1)[:, -2:]
        unexplained += int(np.sum(~same & (top2[:, 1] - top2[:, 0] > margin)))
        agreeing += int(same.sum())
        frames += int(n)
    return CaseResult(
        name=case.name,
        lengths=list(case.lengths),
        encoded_lengths=torch_lengths.tolist(),
        lengths_match=bool(lengths_match),
        max_abs_diff=max_diff,
        frames_checked=frames,
        argmax_agreement=agreeing / max(frames, 1),
        unexplained_argmax_mismatches=unexplained,
        transcripts_match=all(
            greedy_transcript(torch_logprobs[i, :n], vocabulary)
            == greedy_transcript(onnx_logprobs[i, :n], vocabulary)
            for i, n in enumerate(torch_lengths)
        ),
        torch_transcript=greedy_transcript(torch_logprobs[0, : torch_lengths[0]], vocabulary),
        onnx_transcript=greedy_transcript(onnx_logprobs[0, : torch_lengths[0]], vocabulary),
        torch_seconds=torch_seconds,
        onnx_seconds=onnx_seconds,
    )


def greedy_transcript(logprobs: np.ndarray, vocabulary: Sequence[str]) -> str:
    """Best path: argmax per frame, merge repeats, drop the blank (last id), join pieces."""
    ids = logprobs.argmax(-1)
    keep = np.ones(len(ids), dtype=bool)
    keep[1:] = ids[1:] != ids[:-1]
    blank = len(vocabulary)
    pieces = [vocabulary[i] for i in ids[keep] if i != blank]
    return "".join(pieces).replace("\u2581", " ").strip()
