"""`envprobe export` and `envprobe transcribe`: the fallback when no package set imports.

The exporter's libraries (torch, onnx, onnxruntime, numpy, pyyaml) are the
`export` extra, so `manual_export` is imported only inside the handlers:
`--help`, `probe`, `solve` and `report` work without them, and these two
commands say in one line what to install. With `--json`, stdout carries
exactly one JSON object, errors included, so these handlers report their own
errors (one line, the JSON object, exit 2) instead of raising to `main`.
Exit 0 done, 1 exported but failed validation, 2 bad input or a missing extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from envprobe.cli import options
from envprobe.cli.console import one_line, spinner

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["export_command", "register", "transcribe_command"]

# The validator's default, written out so building --help needs no torch.
FP32_TOLERANCE = 1e-4
EXTRA_HINT = "pip install 'envprobe[export]'"
EXTRA_MODULES = frozenset({"torch", "onnx", "onnxruntime", "numpy", "yaml"})
_MB = 1024**2


class _MissingExtra(Exception):
    """A library of the `export` extra is not installed."""

    exit_code = 2

    def __init__(self, command: str, missing: ImportError) -> None:
        super().__init__(f"{command} needs the export extra ({missing.name} is not "
                         f"installed): {EXTRA_HINT}")


def _missing_extra(command: str, error: ImportError) -> _MissingExtra:
    """The error to report, or `error` itself again when it is not a missing extra (a bug)."""
    if (error.name or "").partition(".")[0] not in EXTRA_MODULES:
        raise error
    return _MissingExtra(command, error)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export` and `transcribe` to the envprobe parser."""
    export = subparsers.add_parser(
        "export",
        help="turn a Conformer CTC/RNNT/TDT .nemo into a validated ONNX folder, without NeMo",
        description="Rebuild the model from a .nemo archive, export ONNX (opset 17), "
        f"and check it against the PyTorch rebuild. Needs the export extra: {EXTRA_HINT}.",
    )
    export.add_argument("model", metavar="MODEL.nemo", help="NeMo archive (plain or gzip tar)")
    export.add_argument("-o", "--output", metavar="OUTDIR", required=True,
                        help="output folder, written whole or not at all; a non-empty folder "
                        "that an earlier export did not write is refused")
    export.add_argument("--force", action="store_true",
                        help="replace OUTDIR even when it holds files an export did not write")
    export.add_argument("--int8", action="store_true", help="also write model.int8.onnx")
    options.add_json(export, "the export report")
    export.add_argument("--max-member-mb", type=options.positive_int, default=4096, metavar="N",
                        help="refuse archive members larger than N MiB (default 4096)")
    export.add_argument("--max-total-mb", type=options.positive_int, default=5120, metavar="N",
                        help="refuse archives whose members add up to more than N MiB "
                        "(default 5120)")
    export.add_argument("--check-long", action="store_true",
                        help="also validate an input past 5000 encoder frames "
                        "(needs GBs for large models)")
    export.add_argument("--tolerance", type=options.positive_float, default=FP32_TOLERANCE,
                        metavar="X", help="largest accepted |log-prob difference| ONNX vs "
                        f"PyTorch (default {FP32_TOLERANCE:g})")
    export.set_defaults(func=export_command)

    transcribe = subparsers.add_parser(
        "transcribe",
        help="transcribe a WAV file with an exported folder (onnxruntime, no torch)",
        description=f"Decode a 16 kHz mono WAV with a folder written by `export`. Needs "
        f"onnxruntime and numpy (the export extra: {EXTRA_HINT}), not torch.",
    )
    transcribe.add_argument("out_dir", metavar="OUTDIR", help="folder written by `export`")
    transcribe.add_argument("audio", metavar="AUDIO.wav", nargs="+",
                            help="16 kHz mono WAV; several are decoded as one batch")
    transcribe.add_argument("--head", choices=("rnnt", "ctc"), default=None,
                            help="decoder of a hybrid RNNT-CTC model (default rnnt)")
    options.add_json(transcribe, "the transcript (with several files: {\"results\": [...]})")
    transcribe.set_defaults(func=transcribe_command)


def export_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    failed = {"onnx": None, "max_abs_diff": None, "frames_checked": 0}
    try:
        from manual_export.api import export_nemo
        from manual_export.errors import ExportError
    except ImportError as missing:
        return _fail(args, _missing_extra("export", missing), started, failed)
    from rich.console import Console  # here: only these commands show a table

    try:
        with spinner(Console(stderr=True), quiet=args.json) as progress:
            report = export_nemo(
                args.model,
                args.output,
                int8=args.int8,
                progress=progress,
                max_member_bytes=args.max_member_mb * _MB,
                max_total_bytes=args.max_total_mb * _MB,
                force=args.force,
                long_input=args.check_long,
                tolerance=args.tolerance,
            )
    except (ExportError, OSError) as error:
        return _fail(args, error, started, failed)
    if args.json:
        _print_json(report.to_dict())
    else:
        Console().print(_export_table(report))
    return 0 if report.ok else 1


def transcribe_command(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    failed = {"text": None, "frame_ids": [], "frames": 0}
    try:
        from manual_export.errors import ExportError
        from manual_export.transcribe import transcribe_many
    except ImportError as missing:
        return _fail(args, _missing_extra("transcribe", missing), started, failed)
    try:
        results = transcribe_many(args.out_dir, args.audio, head=args.head)
    except (ExportError, ValueError, OSError) as error:
        return _fail(args, error, started, failed)
    if args.json:
        payloads = [result.to_dict() for result in results]
        _print_json(payloads[0] if len(payloads) == 1 else {"results": payloads})
    else:
        from rich.console import Console

        for result in results:
            Console().print(result.to_dict()["text"], markup=False, highlight=False)
    return 0


def _fail(args: argparse.Namespace, error: BaseException, started: float,
          fields: dict[str, Any]) -> int:
    """One line on stderr; under --json also the error as the one object on stdout."""
    message = one_line(error)
    print(f"envprobe: {message}", file=sys.stderr)
    if args.json:
        seconds = round(time.perf_counter() - started, 3)
        _print_json({"status": "error", "error": message, **fields, "seconds": seconds})
    return getattr(error, "exit_code", 2)


def _print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, default=str))


def _export_table(report: Any) -> Table:
    from rich.table import Table

    verdict = "[green]passed[/]" if report.ok else "[red]FAILED[/]"
    table = Table(title=f"export {verdict}", show_header=False)
    table.add_row("model", f"{report.model_class} ({report.family}), "
                  f"{report.vocab_size} tokens + blank")
    table.add_row("onnx", report.onnx)
    measure = "log-prob" if report.family == "ctc" else "output"
    table.add_row(f"max |Δ {measure}|",
                  f"{report.max_abs_diff:.3g} over {report.frames_checked} frames")
    if report.int8_onnx:
        table.add_row("int8 onnx", report.int8_onnx)
        table.add_row("int8 vs fp32", f"max |Δ| {report.int8_max_abs_diff:.3g}, "
                      f"argmax agreement {report.int8_argmax_agreement:.1%}")
    table.add_row("validation", report.validation)
    table.add_row("seconds", f"{report.seconds:.1f}")
    return table
