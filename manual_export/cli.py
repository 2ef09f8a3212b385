"""`export` and `transcribe` subcommands, registered into any argparse CLI.

Exit codes: 0 done, 1 exported but failed validation, 2 bad input (one line
on stderr, never a traceback). With `--json`, stdout carries exactly one JSON
object, errors included.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from manual_export.errors import ExportError

# The same default as the validator's, without importing torch to build --help.
FP32_TOLERANCE = 1e-4

__all__ = ["register"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_MB = 1024**2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export` and `transcribe` to `subparsers`; each sets `func=handler(args) -> int`."""
    export = subparsers.add_parser(
        "export",
        help="turn a Conformer-CTC .nemo into a validated ONNX folder, without NeMo",
        description="Rebuild the model from a .nemo archive, export ONNX (opset 17), "
        "and check it against the PyTorch rebuild.",
    )
    export.add_argument("model", metavar="MODEL.nemo", help="NeMo archive (plain or gzip tar)")
    export.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="output folder")
    export.add_argument("--int8", action="store_true", help="also write model.int8.onnx")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.add_argument(
        "--max-member-mb",
        type=_positive_int,
        default=4096,
        metavar="N",
        help="refuse archive members larger than N MiB (default 4096)",
    )
    export.add_argument(
        "--check-long",
        action="store_true",
        help="also validate an input past 5000 encoder frames (needs GBs for large models)",
    )
    export.add_argument(
        "--tolerance",
        type=float,
        default=FP32_TOLERANCE,
        metavar="X",
        help=f"largest accepted |log-prob difference| ONNX vs PyTorch (default {FP32_TOLERANCE:g})",
    )
    export.set_defaults(func=run_export)

    transcribe = subparsers.add_parser(
        "transcribe",
        help="transcribe a WAV file with an exported folder (onnxruntime, no torch)",
    )
    transcribe.add_argument("out_dir", metavar="OUTDIR", help="folder written by `export`")
    transcribe.add_argument("audio", metavar="AUDIO.wav", help="16 kHz mono WAV")
    transcribe.add_argument("--json", action="store_true", help="print one JSON object")
    transcribe.set_defaults(func=run_transcribe)


def run_export(args: argparse.Namespace) -> int:
    """Handler for `export`."""
    from manual_export.api import export_nemo

    started = time.perf_counter()
    console = Console(stderr=True)
    try:
        with _progress(console, quiet=args.json) as progress:
            report = export_nemo(
                args.model,
                args.output,
                int8=args.int8,
                progress=progress,
                max_member_bytes=args.max_member_mb * _MB,
                long_input=args.check_long,
                tolerance=args.tolerance,
            )
    except (ExportError, OSError) as exc:
        fields = {"onnx": None, "max_abs_diff": None, "frames_checked": 0}
        return _fail(args, exc, started, fields)
    if args.json:
        _print_json(report.to_dict())
    else:
        _show_export(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def run_transcribe(args: argparse.Namespace) -> int:
    """Handler for `transcribe`; the decoding lives in `manual_export.transcribe`."""
    from manual_export.transcribe import transcribe

    started = time.perf_counter()
    try:
        result = transcribe(args.out_dir, args.audio)
    except (ExportError, ValueError, OSError) as exc:
        return _fail(args, exc, started, {"text": None, "frame_ids": [], "frames": 0})
    if args.json:
        _print_json(result.to_dict())
    else:
        Console().print(result.to_dict()["text"], markup=False, highlight=False)
    return EXIT_OK


def _fail(
    args: argparse.Namespace, exc: BaseException, started: float, fields: dict[str, Any]
) -> int:
    message = _one_line(exc)
    print(f"error: {message}", file=sys.stderr)
    if args.json:
        seconds = round(time.perf_counter() - started, 3)
        _print_json({"status": "error", "error": message, **fields, "seconds": seconds})
    return getattr(exc, "exit_code", EXIT_BAD_INPUT)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str))


@contextmanager
def _progress(console: Console, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the current step; silent under --json."""
    if quiet or not console.is_terminal:
        yield lambda _message: None
        return
    with console.status("starting") as status:
        yield lambda message: status.update(f"{message} ...")


def _show_export(report: Any) -> None:
    console = Console()
    verdict = "[green]passed[/]" if report.ok else "[red]FAILED[/]"
    table = Table(title=f"export {verdict}", show_header=False)
    table.add_row("model", f"{report.model_class}, {report.vocab_size} tokens + blank")
    table.add_row("onnx", report.onnx)
    table.add_row(
        "max |Δ log-prob|", f"{report.max_abs_diff:.3g} over {report.frames_checked} frames"
    )
    if report.int8_onnx:
        table.add_row("int8 onnx", report.int8_onnx)
        table.add_row(
            "int8 vs fp32",
            f"max |Δ| {report.int8_max_abs_diff:.3g}, "
            f"argmax agreement {report.int8_argmax_agreement:.1%}",
        )
    table.add_row("validation", report.validation)
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value
