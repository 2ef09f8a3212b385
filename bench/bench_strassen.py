"""Fewer multiplications: the encoder's weight products as one level of Strassen-Winograd, timed.

Run by hand (not part of the tests). An experiment the exporter does not use:

    python bench/bench_strassen.py --workdir DIR [--layers N] [--repeats 3] [--json OUT]

Takes the folder that `bench_transducer.py` exported into DIR/out (builds and exports
the Parakeet-TDT-0.6B shape there first, with `--layers` layers, when DIR holds none),
rewrites every product of its encoder by a weight of at least 1024 x 1024 as 7 products
of half-size blocks and 15 block additions (Winograd's form of Strassen's algorithm:
one multiplication in eight fewer, weights stored as 7 blocks instead of 4), and writes
that encoder to DIR/out-strassen beside the same decoder and joiner. Then: the
rewritten encoder's max |diff| against the plain one, the memory a session of each
takes (each in a fresh process), and PyTorch, the plain graphs and the rewritten ones
timed in the same interleaved rounds of one process (`bench_transducer.speed`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from bench_transducer import SECONDS, SHAPES, build_nemo, export_in_child, speed

# Products by narrower weights stay as they are (in the 0.6B encoder: the 512-wide halves of
# the position projection); the gain was measured on 1024-wide and wider products only.
SMALLEST = 1024
_SHARED = {"strassen_zero4": [0, 0, 0, 0], "strassen_zero1": [0], "strassen_two": [2],
           "strassen_axis1": [1]}


def _blocks(weight: np.ndarray) -> dict[str, np.ndarray]:
    """The 7 right-hand operands of Winograd's form, from the weight's four half-size blocks."""
    k, n = weight.shape[0] // 2, weight.shape[1] // 2
    b11, b12, b21, b22 = weight[:k, :n], weight[:k, n:], weight[k:, :n], weight[k:, n:]
    t1 = b12 - b11
    t2 = b22 - t1
    return {"B11": b11, "B21": b21, "B22": b22, "T1": t1, "T2": t2, "T3": b22 - b12,
            "T4": t2 - b21}


def _strassen(prefix: str, a: str, y: str, weight: np.ndarray):
    """Nodes and initializers computing y = a @ weight for a (1, T, K), any T (odd T padded)."""
    blocks = _blocks(weight)
    names = {**{name: prefix + name for name in blocks}, "k_split": prefix + "k_split"}
    initializers = [numpy_helper.from_array(np.ascontiguousarray(block), names[name])
                    for name, block in blocks.items()]
    half_k = weight.shape[0] // 2
    initializers.append(numpy_helper.from_array(np.array([half_k, half_k]), names["k_split"]))
    nodes = []

    def node(op: str, inputs: list[str], outputs: list[str], **attributes) -> None:
        resolved = [names.get(i, i if i in _SHARED or i == a else prefix + i) for i in inputs]
        nodes.append(helper.make_node(op, resolved, [prefix + o for o in outputs], **attributes))

    # Pad an odd T with one zero row, split rows and columns in halves.
    node("Shape", [a], ["shape"])
    node("Gather", ["shape", "strassen_axis1"], ["T"], axis=0)
    node("Mod", ["T", "strassen_two"], ["odd"])
    node("Concat", ["strassen_zero4", "odd", "strassen_zero1"], ["pads"], axis=0)
    node("Pad", [a, "pads"], ["padded"])
    node("Add", ["T", "odd"], ["even"])
    node("Div", ["even", "strassen_two"], ["half"])
    node("Concat", ["half", "half"], ["t_split"], axis=0)
    node("Split", ["padded", "t_split"], ["top", "bottom"], axis=1)
    node("Split", ["top", "k_split"], ["A11", "A12"], axis=2)
    node("Split", ["bottom", "k_split"], ["A21", "A22"], axis=2)
    node("Add", ["A21", "A22"], ["S1"])
    node("Sub", ["S1", "A11"], ["S2"])
    node("Sub", ["A11", "A21"], ["S3"])
    node("Sub", ["A12", "S2"], ["S4"])
    for product, left, right in (("M1", "A11", "B11"), ("M2", "A12", "B21"), ("M3", "S4", "B22"),
                                 ("M4", "A22", "T4"), ("M5", "S1", "T1"), ("M6", "S2", "T2"),
                                 ("M7", "S3", "T3")):
        node("MatMul", [left, right], [product])
    node("Add", ["M1", "M2"], ["C11"])
    node("Add", ["M1", "M6"], ["U2"])
    node("Add", ["U2", "M7"], ["U3"])
    node("Add", ["U2", "M5"], ["U4"])
    node("Add", ["U4", "M3"], ["C12"])
    node("Sub", ["U3", "M4"], ["C21"])
    node("Add", ["U3", "M5"], ["C22"])
    node("Concat", ["C11", "C12"], ["top_rows"], axis=2)
    node("Concat", ["C21", "C22"], ["bottom_rows"], axis=2)
    node("Concat", ["top_rows", "bottom_rows"], ["rows"], axis=1)
    nodes.append(helper.make_node("Slice", [prefix + "rows", "strassen_zero1", prefix + "T",
                                            "strassen_axis1"], [y]))
    return nodes, initializers


def rewrite(source: Path, target: Path) -> int:
    """Write `source`'s encoder with its large weight products rewritten; returns how many."""
    model = onnx.load(str(source))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    uses = Counter(name for node in graph.node for name in node.input)
    nodes, rewritten = [], 0
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if (weight is None or len(weight.dims) != 2 or min(weight.dims) < SMALLEST
                or any(size % 2 for size in weight.dims) or uses[weight.name] > 1):
            nodes.append(node)
            continue
        new_nodes, initializers = _strassen(f"strassen{rewritten}_", node.input[0],
                                            node.output[0], numpy_helper.to_array(weight))
        nodes += new_nodes
        graph.initializer.extend(initializers)
        graph.initializer.remove(weight)
        rewritten += 1
    graph.initializer.extend(numpy_helper.from_array(np.array(v, np.int64), k)
                             for k, v in _SHARED.items())
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(target), save_as_external_data=True, location=target.name + ".data")
    return rewritten


def _anonymous_mb() -> float:
    """This process's anonymous resident memory (prepacked weights, arenas), not mapped files."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("RssAnon:")[1].split()[0]) / 1024


def _session_growth_mb(encoder: str) -> float:
    import onnxruntime as ort

    before = _anonymous_mb()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(encoder, options, providers=["CPUExecutionProvider"])
    grown = _anonymous_mb() - before
    del session
    return grown


def session_memory_mb(encoder: Path) -> float:
    """Memory a session of `encoder` takes, measured in a fresh process (this one has freed and
    reused too much to tell)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_session_growth_mb, (str(encoder),))


def max_abs_diff(plain: Path, strassen: Path, feat_in: int) -> dict[str, float]:
    """Max |diff| of the two encoders' outputs on 10 s and 60 s of random features (odd T)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    sessions = [ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                for path in (plain, strassen)]
    rng = np.random.default_rng(1)
    diffs = {}
    for seconds in SECONDS:
        features = rng.standard_normal((1, feat_in, seconds * 100 + 8), np.float32)
        feeds = {"audio_signal": features, "length": np.array([features.shape[-1]])}
        first, second = (session.run(None, feeds)[0] for session in sessions)
        diffs[f"{seconds}s"] = float(np.abs(first - second).max())
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--layers", type=int, default=SHAPES["parakeet-0.6b"]["layers"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-strassen-"))
    work.mkdir(parents=True, exist_ok=True)
    nemo, out, rewritten = work / "model.nemo", work / "out", work / "out-strassen"
    report: dict = {}
    if not (out / "validation.json").exists():
        build_nemo(nemo, {**SHAPES["parakeet-0.6b"], "layers": args.layers})
        report["export"] = export_in_child(nemo, out)
    shutil.rmtree(rewritten, ignore_errors=True)
    rewritten.mkdir()
    (rewritten / "sherpa-onnx").symlink_to(out / "sherpa-onnx")
    report["products_rewritten"] = rewrite(out / "encoder-model.onnx",
                                           rewritten / "encoder-model.onnx")
    feat_in = json.loads((out / "config.json").read_text())["features"]
    encoders = out / "encoder-model.onnx", rewritten / "encoder-model.onnx"
    report["max_abs_diff"] = max_abs_diff(*encoders, feat_in)
    report["session_anonymous_mb"] = {side: session_memory_mb(path)
                                      for side, path in zip(("plain", "strassen"), encoders)}
    print(json.dumps(report), flush=True)
    report["load_average_before"] = os.getloadavg()
    report["speed"] = speed(nemo, {"onnxruntime": out, "onnxruntime_strassen": rewritten},
                            args.repeats)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
