"""`export_nemo`: the one call behind `envprobe export` and the solver's fallback.

Input problems (a broken or hostile archive, an unsupported model, weights
that do not fit) raise an `ExportError` before anything is written. A model
that exports but fails its parity check comes back as a report with status
"failed": the files stay for inspection, and `validation.json` says why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from manual_export.archive import DEFAULT_MAX_MEMBER_BYTES, read_archive
from manual_export.config import parse_config, resolve_vocabulary
from manual_export.errors import ExportError
from manual_export.export import (
    export_onnx,
    quantize_int8,
    sherpa_metadata,
    write_metadata,
    write_side_files,
)
from manual_export.model import build_model
from manual_export.validate import (
    DEFAULT_CASES,
    FP32_TOLERANCE,
    INT8_MIN_AGREEMENT,
    LONG_CASE,
    validate_onnx,
)

__all__ = ["ExportReport", "export_nemo"]

ONNX_NAME = "model.onnx"
INT8_NAME = "model.int8.onnx"
VALIDATION_NAME = "validation.json"

Progress = Callable[[str], None]


@dataclass
class ExportReport:
    """What one export produced and how well it matched the PyTorch rebuild."""

    status: str
    onnx: str
    max_abs_diff: float
    frames_checked: int
    seconds: float
    model_class: str
    vocab_size: int
    int8_onnx: str | None = None
    int8_max_abs_diff: float | None = None
    int8_argmax_agreement: float | None = None
    files: list[str] = field(default_factory=list)
    validation: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_nemo(
    model_path: str | Path,
    out_dir: str | Path,
    *,
    int8: bool = False,
    progress: Progress | None = None,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
    long_input: bool = False,
    tolerance: float = FP32_TOLERANCE,
) -> ExportReport:
    """Turn a Conformer-CTC `.nemo` into a validated ONNX folder at `out_dir`.

    `long_input` adds a check past 5000 encoder frames; its attention memory
    grows with the square of the length, so it is meant for small models.
    """
    started = time.perf_counter()
    step = progress or (lambda _message: None)
    model_path, out_dir = Path(model_path), Path(out_dir)

    step("reading archive")
    archive = read_archive(model_path, max_member_bytes=max_member_bytes)
    config = parse_config(archive.config)
    vocabulary = resolve_vocabulary(config, archive.artifact)
    step("rebuilding model")
    model = build_model(config, archive.state_dict)

    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / ONNX_NAME
    step("exporting ONNX")
    export_onnx(model, onnx_path)
    write_metadata(onnx_path, sherpa_metadata(config, vocabulary))
    files = [onnx_path, *write_side_files(out_dir, config, vocabulary, archive.state_dict)]

    cases = (*DEFAULT_CASES, LONG_CASE) if long_input else DEFAULT_CASES
    step("validating ONNX against PyTorch")
    fp32 = validate_onnx(model, onnx_path, vocabulary, cases=cases, tolerance=tolerance)
    summary: dict[str, Any] = {"source": str(model_path), "fp32": fp32.to_dict(), "int8": None}
    int8_report = None
    if int8:
        int8_path = out_dir / INT8_NAME
        step("quantizing to int8")
        quantize_int8(onnx_path, int8_path)
        files.append(int8_path)
        step("validating int8 ONNX")
        int8_report = validate_onnx(
            model,
            int8_path,
            vocabulary,
            cases=DEFAULT_CASES,
            tolerance=None,
            min_agreement=INT8_MIN_AGREEMENT,
        )
        summary["int8"] = int8_report.to_dict()
    else:
        # A quantized file left by an earlier run would not match this export.
        (out_dir / INT8_NAME).unlink(missing_ok=True)

    passed = fp32.passed and (int8_report is None or int8_report.passed)
    summary["passed"] = passed
    validation_path = out_dir / VALIDATION_NAME
    validation_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files.append(validation_path)
    return ExportReport(
        status="ok" if passed else "failed",
        onnx=str(onnx_path),
        max_abs_diff=fp32.max_abs_diff,
        frames_checked=fp32.frames_checked,
        seconds=round(time.perf_counter() - started, 3),
        model_class=config.model_class,
        vocab_size=len(vocabulary),
        int8_onnx=str(out_dir / INT8_NAME) if int8 else None,
        int8_max_abs_diff=int8_report.max_abs_diff if int8_report else None,
        int8_argmax_agreement=int8_report.argmax_agreement if int8_report else None,
        files=[str(path) for path in files],
        validation=str(validation_path),
    )
