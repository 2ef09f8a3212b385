"""Fill an export folder for a transducer: both runtime layouts, a hybrid's CTC head, checks.

Layout (the root is onnx-asr's, `sherpa-onnx/` is sherpa-onnx's, `ctc/` is the
CTC folder a hybrid model also gets, the same as a CTC model's export):

    encoder-model.onnx  decoder_joint-model.onnx  vocab.txt  tokens.txt
    config.json  features.npz  validation.json
    sherpa-onnx/{encoder,decoder,joiner}.onnx  sherpa-onnx/tokens.txt
    ctc/{model.onnx,tokens.txt,vocab.txt,config.json,features.npz}

With `int8`, also `encoder-model.int8.onnx`, `decoder_joint-model.int8.onnx`
and `sherpa-onnx/{encoder,decoder,joiner}.int8.onnx` (see transducer_int8).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from manual_export.export import export_onnx, sherpa_metadata, write_metadata, write_side_files
from manual_export.model import CTCHead, EncDecTransducer
from manual_export.transducer_export import export_transducer, write_transducer_side_files
from manual_export.transducer_int8 import quantize_transducer, transducer_int8_drift
from manual_export.transducer_validate import validate_transducer
from manual_export.validate import DEFAULT_CASES, LONG_CASE, validate_onnx

__all__ = ["CTC_DIR", "TransducerFolder", "write_transducer_folder"]

CTC_DIR = "ctc"


@dataclass
class TransducerFolder:
    files: list[Path]
    summary: dict[str, Any]
    passed: bool
    max_abs_diff: float
    frames_checked: int
    int8: dict[str, Any] | None = None


def write_transducer_folder(
    out_dir: Path,
    model: EncDecTransducer,
    vocabulary: Sequence[str],
    state_dict: Mapping[str, torch.Tensor],
    step: Callable[[str], None],
    *,
    tolerance: float,
    long_input: bool,
    int8: bool = False,
) -> TransducerFolder:
    """Export, write side files and validate; `summary` becomes validation.json.

    Int8 drift is reported in the summary, never failed on: with random or
    real weights alike, int8 is judged by the user, the files only have to load.
    """
    cases = (*DEFAULT_CASES, LONG_CASE) if long_input else DEFAULT_CASES
    step("exporting ONNX (encoder, prediction network, joint)")
    files = export_transducer(model, out_dir)
    files += write_transducer_side_files(out_dir, model, vocabulary, state_dict)
    step("validating ONNX against PyTorch")
    report = validate_transducer(model, out_dir, cases=cases, tolerance=tolerance)
    summary: dict[str, Any] = {"family": model.config.family, "fp32": report.to_dict(),
                               "int8": None, "ctc": None}
    if int8:
        step("quantizing to int8")
        files += quantize_transducer(out_dir)
        step("comparing int8 with fp32")
        summary["int8"] = transducer_int8_drift(model, out_dir, cases=DEFAULT_CASES)
    passed, max_diff = report.passed, report.max_abs_diff
    if model.config.decoder is not None:
        ctc_dir = out_dir / CTC_DIR
        ctc_dir.mkdir()
        head = CTCHead(model)
        step("exporting the CTC head")
        export_onnx(head, ctc_dir / "model.onnx")
        write_metadata(ctc_dir / "model.onnx", sherpa_metadata(model.config, vocabulary))
        files += [ctc_dir / "model.onnx",
                  *write_side_files(ctc_dir, model.config, vocabulary, state_dict)]
        step("validating the CTC head")
        ctc = validate_onnx(head, ctc_dir / "model.onnx", vocabulary, cases=cases,
                            tolerance=tolerance)
        summary["ctc"] = ctc.to_dict()
        passed, max_diff = passed and ctc.passed, max(max_diff, ctc.max_abs_diff)
    return TransducerFolder(files, summary, passed, max_diff, report.frames_checked,
                            summary["int8"])
