"""Benchmark the manual exporter on a model of stt_en_conformer_ctc_small's shape.

Run by hand (not part of the tests):

    python bench/bench_export.py [--threads N] [--repeats 5] [--json OUT.json]

Measures, in one run on this machine:
- export: wall time of each `export_nemo` step and the peak RSS of a child
  process doing only the export (so the benchmark's own tensors do not count);
- inference on 10 s and 60 s of audio-equivalent features (1000 and 6000
  frames): PyTorch eager vs onnxruntime fp32 vs onnxruntime int8, rounds
  interleaved so load drift hits all three alike, median of `--repeats`;
- parity of each ONNX file against the eager model on those same inputs.

Weights are random (the real checkpoint is not downloaded); speed depends only
on the shape, and parity is measured on the same random weights for both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from nemo_fixture import REAL_SMALL_SHAPE, write_fake_nemo

from manual_export.archive import read_archive
from manual_export.config import parse_config
from manual_export.model import build_model

FRAMES = {"10 s": 1000, "60 s": 6000}

_CHILD = """
import json, resource, sys, time
from manual_export.api import export_nemo
marks = []
started = time.perf_counter()
report = export_nemo(sys.argv[1], sys.argv[2], int8=True,
                     progress=lambda step: marks.append((step, time.perf_counter())))
ended = time.perf_counter()
steps = {}
for (step, at), (_, nxt) in zip(marks, marks[1:] + [("end", ended)]):
    steps[step] = round(nxt - at, 3)
print(json.dumps({"report": report.to_dict(), "steps": steps,
                  "seconds": round(ended - started, 3),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        work = Path(tmp)
        nemo = write_fake_nemo(work / "small.nemo", **REAL_SMALL_SHAPE)
        export = _export_in_child(nemo, work / "out")
        inference = _inference(nemo, work / "out", args.threads, args.repeats)
    figures = {
        "machine": {"cpus": os.cpu_count(), "threads": args.threads},
        "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__},
        "model": REAL_SMALL_SHAPE,
        "export": export,
        "inference": inference,
    }
    _print(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def _export_in_child(nemo: Path, out_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(nemo), str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    child = json.loads(result.stdout.strip().splitlines()[-1])
    report = child["report"]
    return {
        "seconds_total": child["seconds"],
        "seconds_by_step": child["steps"],
        "peak_rss_mb": round(child["peak_rss_mb"], 1),
        "status": report["status"],
        "validation_max_abs_diff": report["max_abs_diff"],
        "validation_frames": report["frames_checked"],
        "int8_validation_max_abs_diff": report["int8_max_abs_diff"],
        "int8_validation_argmax_agreement": report["int8_argmax_agreement"],
        "nemo_mb": round(nemo.stat().st_size / 1e6, 1),
        "onnx_mb": round((out_dir / "model.onnx").stat().st_size / 1e6, 1),
        "int8_onnx_mb": round((out_dir / "model.int8.onnx").stat().st_size / 1e6, 1),
    }


def _inference(nemo: Path, out_dir: Path, threads: int, repeats: int) -> dict:
    torch.set_num_threads(threads)
    archive = read_archive(nemo)
    model = build_model(parse_config(archive.config), archive.state_dict)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    sessions = {
        name: ort.InferenceSession(str(out_dir / file), options, providers=["CPUExecutionProvider"])
        for name, file in (("onnx_fp32", "model.onnx"), ("onnx_int8", "model.int8.onnx"))
    }
    generator = torch.Generator().manual_seed(0)
    results = {
        label: _measure(model, sessions, torch.randn(1, 80, frames, generator=generator), repeats)
        for label, frames in FRAMES.items()
    }
    results["parent_peak_rss_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return results


def _measure(model, sessions: dict, features: torch.Tensor, repeats: int) -> dict:
    """Interleaved timing of eager PyTorch and each ONNX session on one input."""
    lengths = torch.tensor([features.shape[2]])
    feeds = {"audio_signal": features.numpy(), "length": lengths.numpy()}

    def run_torch():
        with torch.inference_mode():
            return model(features, lengths)[0].numpy()

    runners = {"torch_eager": run_torch}
    for name, session in sessions.items():
        runners[name] = lambda session=session: session.run(["logprobs"], feeds)[0]
    outputs = {name: run() for name, run in runners.items()}  # warm-up, and parity inputs
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = outputs["torch_eager"][0]
    return {
        "frames": features.shape[2],
        "median_seconds": {name: round(value, 4) for name, value in medians.items()},
        "all_seconds": {name: [round(v, 4) for v in values] for name, values in times.items()},
        "speedup_fp32_vs_torch": round(medians["torch_eager"] / medians["onnx_fp32"], 2),
        "speedup_int8_vs_torch": round(medians["torch_eager"] / medians["onnx_int8"], 2),
        "fp32_max_abs_diff": float(np.abs(outputs["onnx_fp32"][0] - reference).max()),
        "int8_max_abs_diff": float(np.abs(outputs["onnx_int8"][0] - reference).max()),
        "int8_argmax_agreement": float(
            np.mean(outputs["onnx_int8"][0].argmax(-1) == reference.argmax(-1))
        ),
    }


def _print(figures: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    export = figures["export"]
    console.print(
        f"export: {export['seconds_total']:.1f} s total {export['seconds_by_step']}, "
        f"peak RSS {export['peak_rss_mb']:.0f} MB, model.onnx {export['onnx_mb']} MB, "
        f"int8 {export['int8_onnx_mb']} MB, status {export['status']}"
    )
    table = Table(title=f"inference, median of runs, {figures['machine']['threads']} threads")
    for column in (
        "input",
        "torch eager s",
        "ORT fp32 s",
        "ORT int8 s",
        "fp32 x",
        "int8 x",
        "fp32 max|Δ|",
        "int8 max|Δ|",
        "int8 argmax",
    ):
        table.add_column(column)
    for label in FRAMES:
        row = figures["inference"][label]
        m = row["median_seconds"]
        table.add_row(
            f"{label} ({row['frames']} frames)",
            f"{m['torch_eager']:.3f}",
            f"{m['onnx_fp32']:.3f}",
            f"{m['onnx_int8']:.3f}",
            f"{row['speedup_fp32_vs_torch']:.2f}",
            f"{row['speedup_int8_vs_torch']:.2f}",
            f"{row['fp32_max_abs_diff']:.2e}",
            f"{row['int8_max_abs_diff']:.2e}",
            f"{row['int8_argmax_agreement']:.1%}",
        )
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
