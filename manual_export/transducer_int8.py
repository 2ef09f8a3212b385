"""Int8 copies of a transducer export, in both runtime layouts, and how far they drift.

Dynamic quantization (onnxruntime's, int8 weights, activations quantized per
call) of the encoder and of the prediction/joint graphs. Names follow what the
runtimes look for: onnx-asr loads `encoder-model.int8.onnx` and
`decoder_joint-model.int8.onnx` with `quantization="int8"`; sherpa-onnx takes
any path, and its own NeMo releases call them `encoder.int8.onnx` and so on.

Int8 weights move outputs far past float noise, and with random weights the
greedy path can flip, so drift is measured and reported (tokens against the
fp32 ONNX, as an edit distance), never a reason to fail the export. What must
hold is that every int8 file loads and decodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from manual_export.export import quantize_int8, write_metadata
from manual_export.model import EncDecTransducer
from manual_export.transducer_export import (
    DECODER_JOINT_NAME,
    ENCODER_NAME,
    SHERPA_DIR,
    copy_onnx,
)
from manual_export.transducer_runtime import FusedSteps, SplitSteps, open_session
from manual_export.transducer_validate import decode_batch, random_features
from manual_export.validate import DEFAULT_CASES, ValidationCase

__all__ = ["INT8_NAMES", "int8_name", "quantize_transducer", "token_edits",
           "transducer_int8_drift"]


def int8_name(name: str) -> str:
    """`encoder-model.onnx` -> `encoder-model.int8.onnx` (the runtimes' naming)."""
    return name.removesuffix(".onnx") + ".int8.onnx"


INT8_NAMES = (int8_name(ENCODER_NAME), int8_name(DECODER_JOINT_NAME))
_SHERPA_GRAPHS = ("decoder.onnx", "joiner.onnx")


def quantize_transducer(out_dir: Path) -> list[Path]:
    """Write the int8 graphs beside the fp32 ones; returns every file written.

    The encoder is quantized once; sherpa-onnx's copy gets its metadata
    (read from the fp32 sherpa encoder) and, past 2 GB, its own weights file.
    """
    sherpa = out_dir / SHERPA_DIR
    written = []
    for name in (ENCODER_NAME, DECODER_JOINT_NAME):
        written += quantize_int8(out_dir / name, out_dir / int8_name(name))
    encoder = sherpa / int8_name("encoder.onnx")
    written += [encoder, *copy_onnx(out_dir / int8_name(ENCODER_NAME), encoder)]
    metadata = onnx.load(str(sherpa / "encoder.onnx"), load_external_data=False).metadata_props
    write_metadata(encoder, {entry.key: entry.value for entry in metadata})
    for name in _SHERPA_GRAPHS:
        written += quantize_int8(sherpa / name, sherpa / int8_name(name))
    return written


def token_edits(reference: Sequence[int], other: Sequence[int]) -> int:
    """Levenshtein distance between two token sequences (insertions, deletions, swaps)."""
    previous = list(range(len(other) + 1))
    for i, token in enumerate(reference, start=1):
        current = [i]
        for j, candidate in enumerate(other, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (token != candidate)))
        previous = current
    return previous[-1]


def transducer_int8_drift(
    model: EncDecTransducer,
    out_dir: Path,
    *,
    cases: Sequence[ValidationCase] = DEFAULT_CASES,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the fp32 and int8 ONNX files on the same random features and compare.

    Tokens of the int8 files (sherpa-onnx's split graphs and onnx-asr's fused
    graph) against the fp32 split graphs: edits over the fp32 token count.
    """
    sherpa = out_dir / SHERPA_DIR
    fp32_encoder = open_session(out_dir / ENCODER_NAME)
    encoders = [open_session(out_dir / int8_name(ENCODER_NAME)),
                open_session(sherpa / int8_name("encoder.onnx"))]
    fp32 = SplitSteps(open_session(sherpa / "decoder.onnx"), open_session(sherpa / "joiner.onnx"))
    split = SplitSteps(*(open_session(sherpa / int8_name(name)) for name in _SHERPA_GRAPHS))
    fused = FusedSteps(open_session(out_dir / int8_name(DECODER_JOINT_NAME)),
                       model.config.encoder.d_model)
    generator = torch.Generator().manual_seed(seed)
    encoder_diff, reference_tokens, edits, items, identical = 0.0, 0, 0, 0, 0
    layouts_agree, results = True, []
    for case in cases:
        features, lengths = (t.numpy() for t in random_features(model, case, generator))
        feed = {"audio_signal": features, "length": lengths}
        expected, expected_lengths = fp32_encoder.run(None, feed)
        actual, actual_lengths = encoders[0].run(None, feed)
        copy, _ = encoders[1].run(None, feed)
        layouts_agree = layouts_agree and np.array_equal(actual, copy) and np.array_equal(
            actual_lengths, expected_lengths)
        encoder_diff = max(encoder_diff, *(
            float(np.abs(expected[b, :, :n] - actual[b, :, :n]).max(initial=0.0))
            for b, n in enumerate(expected_lengths)))
        reference = decode_batch(fp32, expected, expected_lengths, model)
        via_split = decode_batch(split, actual, expected_lengths, model)
        via_fused = decode_batch(fused, actual, expected_lengths, model)
        layouts_agree = layouts_agree and via_split == via_fused
        case_edits = [token_edits(r["tokens"], q["tokens"])
                      for r, q in zip(reference, via_split, strict=True)]
        reference_tokens += sum(len(r["tokens"]) for r in reference)
        edits += sum(case_edits)
        items += len(reference)
        identical += sum(e == 0 for e in case_edits)
        results.append({"name": case.name, "token_edits": case_edits,
                        "fp32_tokens": [r["tokens"] for r in reference],
                        "int8_tokens": [q["tokens"] for q in via_split]})
    return {
        "files": [*INT8_NAMES, *(f"{SHERPA_DIR}/{int8_name(name)}"
                                 for name in ("encoder.onnx", *_SHERPA_GRAPHS))],
        "loaded": True,
        "layouts_agree": layouts_agree,
        "encoder_max_abs_diff": encoder_diff,
        "fp32_tokens": reference_tokens,
        "token_edits": edits,
        "token_agreement": max(0.0, 1.0 - edits / reference_tokens) if reference_tokens else 1.0,
        "identical_items": identical,
        "items": items,
        "cases": results,
    }
