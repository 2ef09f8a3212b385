"""Where a transducer's time goes, per operator: onnxruntime's graphs against NeMo's eager model.

Run by hand (not part of the tests):

    python bench/profile_transducer.py [--layers 6] [--seconds 10] [--runs 5] [--top 25]
                                       [--workdir DIR [--reuse]] [--json OUT]

Builds a model of the Parakeet-TDT-0.6B shape (`bench_transducer.SHAPES`) with only
`--layers` Conformer layers (each layer costs the same as in the full model, and the
export takes seconds instead of minutes), exports it, and on `--seconds` of random
features, one thread:

- onnxruntime's encoder under its profiler: each node's minimum over `--runs` runs
  (the least disturbed one), summed per operator type, and the `--top` nodes; matrix
  products also get their rate in GFLOP/s (multiply-adds x 2 from the input shapes),
  which says whether a node runs at GEMM speed or is worth rewriting;
- NeMo's eager encoder (the PyTorch rebuild, NeMo's operations) under PyTorch's
  profiler: self CPU time per aten operator over one run after warm-up;
- greedy decoding of the encoder's output on both sides: CPU time per call of the
  prediction network and of the joint.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from bench_transducer import SHAPES, build_nemo, export_in_child

from manual_export.archive import read_archive
from manual_export.config import parse_config
from manual_export.model import EncDecTransducer
from manual_export.transducer_runtime import SplitSteps
from manual_export.transducer_validate import TorchSteps, decode_batch

_PRODUCTS = ("MatMul", "FusedMatMul", "Gemm")


def _session(path: Path, profile_prefix: str | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _product_flops(event: dict) -> float:
    """2 x multiply-adds of a matrix-product node, from its recorded input and output shapes.

    The inner size is A's elements per output row (A's size x N / C's size), which
    holds whether or not the node transposes A (`FusedMatMul`), as long as A is not
    broadcast over C's batch dimensions (true of every product these graphs hold).
    """
    inputs = [next(iter(s.values())) for s in event["args"].get("input_type_shape", [])]
    outputs = [next(iter(s.values())) for s in event["args"].get("output_type_shape", [])]
    if not inputs or not outputs or not math.prod(outputs[0]):
        return 0.0
    inner = math.prod(inputs[0]) * outputs[0][-1] / math.prod(outputs[0])
    return 2.0 * math.prod(outputs[0]) * inner


def profile_onnxruntime(encoder: Path, features: np.ndarray, runs: int, work: Path) -> dict:
    """Per node: the minimum time over `runs`; per operator type: the sum of those minima."""
    session = _session(encoder, str(work / "ort-profile"))
    feeds = {"audio_signal": features, "length": np.array([features.shape[-1]])}
    cpu = []
    for _ in range(runs):
        started = time.process_time()
        session.run(None, feeds)
        cpu.append(time.process_time() - started)
    trace = Path(session.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    durations: dict[str, list[float]] = collections.defaultdict(list)
    kinds, flops = {}, {}
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        name = event["name"].removesuffix("_kernel_time")
        durations[name].append(event["dur"] / 1e6)
        kinds[name] = event["args"]["op_name"]
        if kinds[name] in _PRODUCTS:
            flops[name] = _product_flops(event)
    minima = {name: min(values) for name, values in durations.items()}
    per_type: dict[str, float] = collections.Counter()
    for name, seconds in minima.items():
        per_type[kinds[name]] += seconds
    product_seconds = sum(minima[name] for name in flops)
    return {
        "cpu_seconds_per_run": cpu,
        "sum_of_node_minima": sum(minima.values()),
        "per_type": dict(sorted(per_type.items(), key=lambda kv: -kv[1])),
        "products_gflop_per_s": sum(flops.values()) / product_seconds / 1e9 if flops else None,
        "nodes": [{"node": name, "op": kinds[name], "seconds": seconds,
                   **({"gflop_per_s": flops[name] / seconds / 1e9} if name in flops else {})}
                  for name, seconds in sorted(minima.items(), key=lambda kv: -kv[1])],
    }


def profile_pytorch(model: EncDecTransducer, features: np.ndarray, runs: int) -> dict:
    """Self CPU time per aten operator over one profiled run, after `runs` timed ones."""
    from torch.profiler import ProfilerActivity, profile

    audio, length = torch.from_numpy(features), torch.tensor([features.shape[-1]])
    cpu = []
    with torch.inference_mode():
        for _ in range(runs):
            started = time.process_time()
            model.encoder(audio, length)
            cpu.append(time.process_time() - started)
        with profile(activities=[ProfilerActivity.CPU]) as profiler:
            model.encoder(audio, length)
    per_op = {e.key: {"seconds": e.self_cpu_time_total / 1e6, "calls": e.count}
              for e in profiler.key_averages()}
    return {"cpu_seconds_per_run": cpu,
            "per_op": dict(sorted(per_op.items(), key=lambda kv: -kv[1]["seconds"]))}


class _TimedSteps:
    """Wraps `predict` and `joint` of a steps object, adding up CPU time and calls of each."""

    def __init__(self, steps) -> None:
        self.steps = steps
        self.seconds = {"predict": 0.0, "joint": 0.0}
        self.calls = {"predict": 0, "joint": 0}

    def _timed(self, kind: str, *args):
        started = time.process_time()
        result = getattr(self.steps, kind)(*args)
        self.seconds[kind] += time.process_time() - started
        self.calls[kind] += 1
        return result

    def predict(self, token, state):
        return self._timed("predict", token, state)

    def joint(self, frame, g):
        return self._timed("joint", frame, g)

    def per_call(self) -> dict:
        return {kind: {"calls": self.calls[kind],
                       "ms_per_call": 1e3 * self.seconds[kind] / max(self.calls[kind], 1)}
                for kind in self.seconds}


def profile_decoding(model: EncDecTransducer, out: Path, features: np.ndarray) -> dict:
    """Both sides decode the onnxruntime encoder's output (the same frames, so the same work)."""
    encoded, lengths = _session(out / "encoder-model.onnx").run(
        None, {"audio_signal": features, "length": np.array([features.shape[-1]])})
    sides = {"pytorch": TorchSteps(model),
             "onnxruntime": SplitSteps(_session(out / "sherpa-onnx/decoder.onnx"),
                                       _session(out / "sherpa-onnx/joiner.onnx"))}
    results = {}
    for side, steps in sides.items():
        decode_batch(steps, encoded, lengths, model)  # warm-up
        timed = _TimedSteps(steps)
        tokens = decode_batch(timed, encoded, lengths, model)[0]["tokens"]
        results[side] = {"tokens": len(tokens), **timed.per_call()}
    return results


def _print(report: dict, top: int) -> None:
    ort_side, torch_side = report["onnxruntime"], report["pytorch"]
    total = ort_side["sum_of_node_minima"]
    print(f"\nonnxruntime encoder: CPU per run {[round(s, 3) for s in ort_side['cpu_seconds_per_run']]}"
          f" s, sum of node minima {total:.3f} s, matrix products at"
          f" {ort_side['products_gflop_per_s'] or 0:.1f} GFLOP/s")
    for kind, seconds in ort_side["per_type"].items():
        if seconds >= total / 1000:
            print(f"  {kind:28s} {seconds * 1e3:9.1f} ms {100 * seconds / total:5.1f} %")
    print(f"top {top} nodes:")
    for node in ort_side["nodes"][:top]:
        rate = f"{node['gflop_per_s']:6.1f} GFLOP/s" if "gflop_per_s" in node else ""
        print(f"  {node['seconds'] * 1e3:8.2f} ms {node['op']:20s} {rate:15s} {node['node']}")
    torch_total = sum(op["seconds"] for op in torch_side["per_op"].values())
    print(f"\nPyTorch encoder: CPU per run {[round(s, 3) for s in torch_side['cpu_seconds_per_run']]}"
          f" s, profiled self time {torch_total:.3f} s")
    for name, op in list(torch_side["per_op"].items())[:top]:
        print(f"  {name:32s} {op['seconds'] * 1e3:9.1f} ms {100 * op['seconds'] / torch_total:5.1f} %"
              f" {op['calls']:5d} calls")
    print(f"\ngreedy decoding: {json.dumps(report['decoding'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true",
                        help="profile the model and export already in --workdir")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.layers < 1 or args.seconds < 1 or args.runs < 1:
        parser.error("--layers, --seconds and --runs must be at least 1")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="profile-transducer-"))
    work.mkdir(parents=True, exist_ok=True)
    nemo, out = work / "model.nemo", work / "out"
    report: dict = {"layers": args.layers, "seconds": args.seconds, "runs": args.runs}
    if not (args.reuse and (out / "validation.json").exists()):
        build_nemo(nemo, {**SHAPES["parakeet-0.6b"], "layers": args.layers})
        report["export"] = export_in_child(nemo, out)
    torch.set_num_threads(1)
    archive = read_archive(nemo)
    model = EncDecTransducer(parse_config(archive.config))
    model.load_state_dict(archive.state_dict)
    model.eval().requires_grad_(False)
    rng = np.random.default_rng(0)
    features = rng.standard_normal((1, model.config.encoder.feat_in, args.seconds * 100),
                                   np.float32)
    report["load_average_before"] = os.getloadavg()
    report["onnxruntime"] = profile_onnxruntime(out / "encoder-model.onnx", features, args.runs,
                                                work)
    report["pytorch"] = profile_pytorch(model, features, args.runs)
    report["decoding"] = profile_decoding(model, out, features)
    report["load_average_after"] = os.getloadavg()
    _print(report, args.top)
    print(f"\nload average before {report['load_average_before']}, after"
          f" {report['load_average_after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
