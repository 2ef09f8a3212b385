"""Benchmark the transducer exporter on a Parakeet-TDT-0.6B-shaped model (random weights).

Run by hand (not part of the tests):

    python bench/bench_transducer.py [--shape parakeet-0.6b|small] [--repeats 3] [--json OUT]
                                     [--workdir DIR [--reuse]] [--before CHECKOUT]

In one run on this machine:
- builds the `.nemo` from the committed TDT fixture's NeMo-written config, resized
  to the shape (FastConformer 24 x 1024, 8x dw_striding, 128 mels, 2 x 640 LSTM,
  640 joint, 1024 tokens, durations 0-4), random weights;
- export: wall time and the peak RSS of a child process doing only the export,
  file sizes (external data past 2 GB), validation verdict;
- loads the folder in onnx-asr and sherpa-onnx when they are installed;
- encoder + greedy TDT decoding on 10 s and 60 s of features (1000 and 6000
  frames), one thread each: PyTorch eager vs onnxruntime, interleaved rounds,
  median of `--repeats` of CPU time (encoder and decoding apart) and wall
  time, the load average before and after, and whether both decoded the same
  tokens;
- with `--before CHECKOUT` (another checkout of this repository, e.g. the commit
  before a graph change): the same `.nemo` exported by that checkout's
  exporter too, its graphs timed in the same interleaved rounds
  (`onnxruntime_before`), so a change to the exported graphs is measured side
  by side with the current graphs and PyTorch.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from manual_export.archive import read_archive
from manual_export.config import parse_config
from manual_export.model import EncDecTransducer
from manual_export.transducer_runtime import SplitSteps
from manual_export.transducer_validate import TorchSteps, decode_batch

FIXTURE = REPO / "tests" / "fixtures" / "nemo" / "tdt_fastconformer.nemo"
SHAPES = {
    "parakeet-0.6b": {"layers": 24, "d_model": 1024, "heads": 8, "channels": 256,
                      "features": 128, "pred": 640, "joint": 640, "vocab": 1024},
    "small": {"layers": 4, "d_model": 256, "heads": 4, "channels": 128, "features": 80,
              "pred": 320, "joint": 320, "vocab": 256},
}
SECONDS = (10, 60)
# Both sides run on one thread in this process, so CPU time (process_time) is the
# work done; wall time is also kept, but on a shared machine it mostly measures
# the other users.
_TIMES = ("wall", "cpu", "encoder_cpu", "decoding_cpu")


def build_nemo(path: Path, shape: dict) -> None:
    """The fixture's NeMo-written config, resized; weights drawn by our rebuild's init."""
    raw = read_archive(FIXTURE).config
    raw["preprocessor"]["features"] = shape["features"]
    raw["encoder"].update(feat_in=shape["features"], n_layers=shape["layers"],
                          d_model=shape["d_model"], n_heads=shape["heads"],
                          ff_expansion_factor=4, subsampling_conv_channels=shape["channels"])
    vocabulary = [f"\u2581p{i}" for i in range(shape["vocab"])]
    raw["labels"] = vocabulary
    raw["model_defaults"].update(enc_hidden=shape["d_model"], pred_hidden=shape["pred"],
                                 joint_hidden=shape["joint"])
    raw["decoder"]["vocab_size"] = shape["vocab"]
    raw["decoder"]["prednet"]["pred_hidden"] = shape["pred"]
    raw["joint"].update(num_classes=shape["vocab"], vocabulary=vocabulary)
    raw["joint"]["jointnet"].update(encoder_hidden=shape["d_model"], pred_hidden=shape["pred"],
                                    joint_hidden=shape["joint"])
    raw["decoding"]["greedy"]["max_symbols"] = 10
    torch.manual_seed(0)
    model = EncDecTransducer(parse_config(raw))
    with torch.no_grad():
        model.joint.joint_net[-1].weight.mul_(8.0)  # a random joint must still emit tokens
    state = io.BytesIO()
    torch.save(model.state_dict(), state)
    config = yaml.safe_dump(raw).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (("./model_config.yaml", config),
                           ("./model_weights.ckpt", state.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def export_in_child(nemo: Path, out: Path, repo: Path = REPO) -> dict:
    """Export in a fresh process so its peak RSS is the export's alone (`repo`'s exporter)."""
    script = (
        "import json, resource, sys, time\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        "from manual_export.api import export_nemo\n"
        "started = time.perf_counter()\n"
        f"report = export_nemo({str(nemo)!r}, {str(out)!r}, force=True)\n"
        "print(json.dumps({'status': report.status, 'max_abs_diff': report.max_abs_diff,"
        " 'seconds': time.perf_counter() - started,"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        return {"status": "error", "error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def runtimes(out: Path) -> dict:
    results: dict = {}
    try:
        import onnx_asr

        model = onnx_asr.load_model("nemo-conformer-tdt", out)
        wav = REPO / "tests" / "fixtures" / "nemo" / "audio_0.wav"
        results["onnx_asr"] = {"loaded": True, "text_chars": len(model.recognize(str(wav)))}
    except Exception as error:  # noqa: BLE001 - report whatever the runtime raises
        results["onnx_asr"] = {"loaded": False, "error": str(error)[:300]}
    try:
        import sherpa_onnx

        folder = out / "sherpa-onnx"
        sherpa_onnx.OfflineRecognizer.from_transducer(
            encoder=str(folder / "encoder.onnx"), decoder=str(folder / "decoder.onnx"),
            joiner=str(folder / "joiner.onnx"), tokens=str(folder / "tokens.txt"),
            model_type="nemo_transducer", num_threads=1)
        results["sherpa_onnx"] = {"loaded": True}
    except Exception as error:  # noqa: BLE001
        results["sherpa_onnx"] = {"loaded": False, "error": str(error)[:300]}
    return results


def speed(nemo: Path, outs: dict[str, Path], repeats: int) -> dict:
    """PyTorch against each exported folder in `outs` (side name -> folder), interleaved."""
    import onnxruntime as ort

    torch.set_num_threads(1)
    archive = read_archive(nemo)
    model = EncDecTransducer(parse_config(archive.config))
    model.load_state_dict(archive.state_dict)
    model.eval().requires_grad_(False)
    del archive
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1

    def session(out: Path, name: str):
        return ort.InferenceSession(str(out / name), options, providers=["CPUExecutionProvider"])

    graphs = {side: (session(out, "encoder-model.onnx"),
                     SplitSteps(session(out, "sherpa-onnx/decoder.onnx"),
                                session(out, "sherpa-onnx/joiner.onnx")))
              for side, out in outs.items()}

    def pytorch(audio, audio_length):
        with torch.inference_mode():
            encoded, lengths = (t.numpy() for t in model.encoder(
                torch.from_numpy(audio), torch.from_numpy(audio_length)))
        return encoded, lengths, TorchSteps(model)

    def onnxruntime(encoder, steps):
        def encode(audio, audio_length):
            encoded, lengths = encoder.run(None, {"audio_signal": audio, "length": audio_length})
            return encoded, lengths, steps
        return encode

    encoders = {"pytorch": pytorch, **{side: onnxruntime(*pair) for side, pair in graphs.items()}}
    rng = np.random.default_rng(0)
    results = {}
    for seconds in SECONDS:
        frames = seconds * 100
        features = rng.standard_normal((1, model.config.encoder.feat_in, frames), np.float32)
        length = np.array([frames])
        timings: dict[str, dict[str, list[float]]] = {
            side: {kind: [] for kind in _TIMES} for side in encoders}
        tokens = {}
        for _ in range(repeats):
            for side, encode in encoders.items():
                wall, cpu = time.perf_counter(), time.process_time()
                encoded, lengths, decoder = encode(features, length)
                encoder_cpu = time.process_time() - cpu
                tokens[side] = decode_batch(decoder, encoded, lengths, model)
                times = timings[side]
                times["wall"].append(time.perf_counter() - wall)
                times["cpu"].append(time.process_time() - cpu)
                times["encoder_cpu"].append(encoder_cpu)
                times["decoding_cpu"].append(times["cpu"][-1] - encoder_cpu)
        medians = {side: {kind: statistics.median(values) for kind, values in times.items()}
                   for side, times in timings.items()}
        results[f"{seconds}s"] = {
            "median_seconds": medians,
            **{f"speedup_{kind}{_suffix(side)}": medians["pytorch"][kind] / medians[side][kind]
               for side in graphs for kind in ("cpu", "wall", "encoder_cpu")},
            "tokens": len(tokens["pytorch"][0]["tokens"]),
            **{f"same_tokens{_suffix(side)}": tokens["pytorch"] == tokens[side] for side in graphs},
        }
        print(json.dumps({f"{seconds}s": results[f"{seconds}s"]}), flush=True)
    return results


def _suffix(side: str) -> str:
    """Result keys keep their old names for the current graphs: `speedup_cpu`, `_before` added."""
    return side.removeprefix("onnxruntime")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="parakeet-0.6b")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true",
                        help="time the model and export already in --workdir (no rebuild)")
    parser.add_argument("--before", type=Path, default=None, metavar="CHECKOUT",
                        help="also export with the exporter of this checkout and time its graphs")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-transducer-"))
    work.mkdir(parents=True, exist_ok=True)
    nemo, out = work / "model.nemo", work / "out"
    report: dict = {"shape": args.shape}
    if not (args.reuse and (out / "validation.json").exists()):
        started = time.perf_counter()
        build_nemo(nemo, SHAPES[args.shape])
        report["build_seconds"] = time.perf_counter() - started
        print(json.dumps(report), flush=True)
        report["export"] = export_in_child(nemo, out)
    outs = {"onnxruntime": out}
    if args.before:
        before = work / "out-before"
        if not (args.reuse and (before / "validation.json").exists()):
            report["export_before"] = export_in_child(nemo, before, args.before.resolve())
        outs["onnxruntime_before"] = before
    report["nemo_mb"] = nemo.stat().st_size / 2**20
    report["files_mb"] = {str(p.relative_to(out)): round(p.stat().st_size / 2**20, 1)
                          for p in sorted(out.rglob("*")) if p.is_file()}
    print(json.dumps(report), flush=True)
    report["runtimes"] = runtimes(out)
    print(json.dumps(report["runtimes"]), flush=True)
    report["load_average_before"] = os.getloadavg()
    report["speed"] = speed(nemo, outs, args.repeats)
    report["load_average_after"] = os.getloadavg()
    report["bench_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
