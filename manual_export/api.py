"""`export_nemo`: the one call behind `envprobe export` and the solver's fallback.

Input problems (a broken or hostile archive, an unsupported model, weights
that do not fit) raise an `ExportError` before anything is written. A model
that exports but fails its parity check comes back as a report with status
"failed": the files stay for inspection, and `validation.json` says why.

The folder is written whole or not at all: the export is built in a hidden
sibling folder and renamed into place. A non-empty folder that an earlier
export did not write is refused unless `force`: it may hold the user's work.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from manual_export.archive import (
    DEFAULT_MAX_MEMBER_BYTES,
    DEFAULT_MAX_TOTAL_BYTES,
    read_archive,
)
from manual_export.config import parse_config, resolve_vocabulary
from manual_export.errors import ExportError
from manual_export.export import (
    SIDE_FILE_NAMES,
    export_onnx,
    quantize_int8,
    sherpa_metadata,
    write_metadata,
    write_side_files,
)
from manual_export.model import build_model
from manual_export.transducer_export import DECODER_JOINT_NAME, ENCODER_NAME, SHERPA_DIR
from manual_export.transducer_folder import CTC_DIR, write_transducer_folder
from manual_export.transducer_int8 import INT8_NAMES
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
    family: str = "ctc"
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
    force: bool = False,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> ExportReport:
    """Turn a Conformer CTC, RNNT, TDT or hybrid `.nemo` into a validated ONNX folder.

    `long_input` adds a check past 5000 encoder frames; its attention memory
    grows with the square of the length, so it is meant for small models.
    """
    started = time.perf_counter()
    step = progress or (lambda _message: None)
    model_path, final_dir = Path(model_path), Path(out_dir)
    _check_output(final_dir, force)

    step("reading archive")
    archive = read_archive(
        model_path, max_member_bytes=max_member_bytes, max_total_bytes=max_total_bytes
    )
    config = parse_config(archive.config)
    vocabulary = resolve_vocabulary(config, archive.artifact)
    step("rebuilding model")
    model = build_model(config, archive.state_dict)

    out_dir = _staging_folder(final_dir)
    try:
        report = _export_into(out_dir, final_dir, model, config, vocabulary, archive,
                              model_path, step, int8=int8, long_input=long_input,
                              tolerance=tolerance)
        _move_into_place(out_dir, final_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _export_into(out_dir: Path, final_dir: Path, model: Any, config: Any, vocabulary: list[str],
                 archive: Any, model_path: Path, step: Progress, *, int8: bool,
                 long_input: bool, tolerance: float) -> ExportReport:
    """Write and validate every file in `out_dir`; paths in the report name `final_dir`."""
    if config.transducer is not None:
        return _transducer_into(out_dir, final_dir, model, config, vocabulary, archive,
                                model_path, step, int8=int8, long_input=long_input,
                                tolerance=tolerance)
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

    passed = fp32.passed and (int8_report is None or int8_report.passed)
    summary["passed"] = passed
    validation_path = out_dir / VALIDATION_NAME
    validation_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files.append(validation_path)
    def final(path: Path) -> str:
        return str(final_dir / path.relative_to(out_dir))

    return ExportReport(
        status="ok" if passed else "failed",
        onnx=final(onnx_path),
        max_abs_diff=fp32.max_abs_diff,
        frames_checked=fp32.frames_checked,
        seconds=0.0,
        model_class=config.model_class,
        vocab_size=len(vocabulary),
        int8_onnx=final(out_dir / INT8_NAME) if int8 else None,
        int8_max_abs_diff=int8_report.max_abs_diff if int8_report else None,
        int8_argmax_agreement=int8_report.argmax_agreement if int8_report else None,
        files=[final(path) for path in files],
        validation=final(validation_path),
    )


def _transducer_into(out_dir: Path, final_dir: Path, model: Any, config: Any,
                     vocabulary: list[str], archive: Any, model_path: Path, step: Progress, *,
                     int8: bool, long_input: bool, tolerance: float) -> ExportReport:
    folder = write_transducer_folder(out_dir, model, vocabulary, archive.state_dict, step,
                                     tolerance=tolerance, long_input=long_input, int8=int8)
    summary = {"source": str(model_path), **folder.summary, "passed": folder.passed}
    validation_path = out_dir / VALIDATION_NAME
    validation_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")

    def final(path: Path) -> str:
        return str(final_dir / path.relative_to(out_dir))

    return ExportReport(
        status="ok" if folder.passed else "failed",
        onnx=final(out_dir / ENCODER_NAME),
        max_abs_diff=folder.max_abs_diff,
        frames_checked=folder.frames_checked,
        seconds=0.0,
        model_class=config.model_class,
        vocab_size=len(vocabulary),
        family=config.family,
        # For a transducer, "agreement" is over tokens: 1 - edits / fp32 tokens.
        int8_onnx=final(out_dir / INT8_NAMES[0]) if folder.int8 else None,
        int8_max_abs_diff=folder.int8["encoder_max_abs_diff"] if folder.int8 else None,
        int8_argmax_agreement=folder.int8["token_agreement"] if folder.int8 else None,
        files=[final(path) for path in [*folder.files, validation_path]],
        validation=final(validation_path),
    )


def _check_output(folder: Path, force: bool) -> None:
    """Refuse, before any work, a folder that holds anything but an earlier export."""
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder}: exists and is not a directory")
    if force or not folder.is_dir() or not any(folder.iterdir()) or _written_by_export(folder):
        return
    raise ExportError(
        f"{folder}: not empty and not written by an earlier export; choose another folder "
        "or pass --force to replace it"
    )


def _written_by_export(folder: Path) -> bool:
    """An earlier export's folder: its validation.json, and only files an export writes."""
    try:
        summary = json.loads((folder / VALIDATION_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    ours = {ONNX_NAME, INT8_NAME, VALIDATION_NAME, ENCODER_NAME, DECODER_JOINT_NAME, SHERPA_DIR,
            CTC_DIR, *INT8_NAMES, *SIDE_FILE_NAMES}
    return (isinstance(summary, dict) and {"source", "fp32"} <= summary.keys()
            and all(entry.name in ours or entry.name.endswith(".onnx.data")
                    for entry in folder.iterdir()))


def _staging_folder(final_dir: Path) -> Path:
    """A hidden sibling of the output folder: same file system, so the rename is atomic."""
    parent = final_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".{final_dir.name}.export-{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as error:
        raise ExportError(f"{final_dir}: cannot write there ({error.strerror})") from None
    return staging


def _move_into_place(staging: Path, final_dir: Path) -> None:
    """Swap the finished folder in; the replaced one is removed only after the swap."""
    old = None
    if final_dir.exists():
        old = staging.with_name(f".{final_dir.name}.replaced-{secrets.token_hex(4)}")
        os.rename(final_dir, old)
    os.rename(staging, final_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
