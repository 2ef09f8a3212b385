"""Peak memory of envprobe's scan-heavy work, each run in a fresh interpreter.

Run by hand from the repository root, with the package index reachable:
``python bench/bench_scan_memory.py [-n 3] [--before ../main]``. Two workloads,
each the part of a solve that the issue blamed for its memory:

- pages: every project of the NeMo answer (``constraints/nemo-asr.txt``,
  about 180): its files, its releases and the newest release's dependencies,
  the project pages read from a warm page cache shared by every run;
- scans: static questions about real wheels (which module, which name, which
  imports; torch's wheel from the find-links folder included), with empty
  scan and file caches, the pages warm.

`--before` names another checkout (say the main branch's worktree): each
round then runs it and this tree one after the other, with the same caches,
and the table sets them side by side. Figures are medians of peak RSS
(`ru_maxrss` of the child) and wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANS = (
    "torch==2.13.0+cpu:torch:Tensor:numpy",
    "transformers:transformers.models.bert:BertModel:",
    "nemo_toolkit==1.23.0:nemo.core:ModelPT:huggingface_hub",
    "huggingface_hub==0.23.5:huggingface_hub:ModelFilter:",
    "datasets==2.14.4:datasets:Dataset:pyarrow",
    "pytorch_lightning==2.0.7:pytorch_lightning:Trainer:",
)
CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from packaging.version import Version
from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex
from envprobe.static.scanner import StaticScanner
workload, cache, args = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
index = PackageIndex(IndexConfig.from_pip(), cache_dir=cache, page_ttl=10**9)
started = time.perf_counter()
answers = []
if workload == "pages":
    for name in args:
        newest = index.versions(name)[-1]
        answers.append(len(index.dependencies(name, newest)))
else:
    scanner = StaticScanner(index)
    for case in args:
        spec, module, symbol, imported = case.split(":")
        name, _, version = spec.partition("==")
        version = Version(version) if version else index.versions(name)[-1]
        answers.append((scanner.has_module(name, version, module),
                        scanner.provides(name, version, module, symbol),
                        scanner.imports(name, version, imported, "") if imported else None))
print(json.dumps({"wall": time.perf_counter() - started, "answers": str(answers),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _projects() -> list[str]:
    lines = (ROOT / "constraints" / "nemo-asr.txt").read_text().splitlines()
    return [line.split("==")[0].strip() for line in lines
            if "==" in line and not line.lstrip().startswith("#")]


def _run(tree: Path, workload: str, warm: Path, args: list[str]) -> dict:
    """One run of `workload` with `tree`'s envprobe; file and scan caches start empty."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        cache = Path(scratch) / "cache"
        cache.mkdir()
        for shared in ("index", "metadata"):
            (warm / shared).mkdir(parents=True, exist_ok=True)
            (cache / shared).symlink_to(warm / shared)
        env = {**os.environ, "PYTHONPATH": str(tree), "ENVPROBE_CACHE": str(Path(scratch) / "scans")}
        done = subprocess.run([sys.executable, "-c", CHILD, workload, str(cache), *args],
                              env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree} {workload} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3, help="rounds (medians)")
    parser.add_argument("--before", type=Path, help="another checkout to run side by side")
    parser.add_argument("--scan", action="append", help="project[==version]:module:name:imported")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": ROOT} if args.before else {"this": ROOT}
    warm = Path(tempfile.mkdtemp(prefix="bench-memory-pages-"))
    workloads = {"pages": _projects(), "scans": list(args.scan or SCANS)}
    try:
        for workload, items in workloads.items():  # warm the shared pages, untimed
            _run(ROOT, workload, warm, items)
        results = {(w, t): [] for w in workloads for t in trees}
        for _ in range(args.n):
            for workload, items in workloads.items():
                for label, tree in trees.items():
                    results[workload, label].append(_run(tree, workload, warm, items))
    finally:
        shutil.rmtree(warm, ignore_errors=True)
    print("| workload | " + " | ".join(f"{t} peak MB | {t} s" for t in trees) + " | same answers |")
    print("|---|" + "---|---|" * len(trees) + "---|")
    for workload in workloads:
        cells, answers = [], set()
        for label in trees:
            runs = results[workload, label]
            answers |= {run["answers"] for run in runs}
            cells.append(f"{statistics.median(r['peak_mb'] for r in runs):.0f} | "
                         f"{statistics.median(r['wall'] for r in runs):.1f}")
        print(f"| {workload} | " + " | ".join(cells) + f" | {'yes' if len(answers) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()
