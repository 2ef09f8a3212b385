"""Bytes and time of static scans of real wheels: range reads against full downloads.

Run by hand from the repository root, with the package index reachable:
``PYTHONPATH=. python bench/bench_range_reads.py [-n 3] [--full-max-mb 300] [--case SPEC ...]``.
A case is ``project[==version]:module:name:imported`` (newest release when no
version): the scan asks whether the wheel ships `module`, whether `module`
binds `name` (the "names" workload: the directory and a few members) and
where the wheel imports `imported` (the "imports" workload: every Python
file that mentions it, so most of a pure-Python wheel). Each round runs both
contenders with empty caches (scans and files), one after the other; the
project page is read before the clock starts. Sources are pip's
configuration, as envprobe's. A wheel larger than `--full-max-mb` is only
range-read. Medians per case and ratios are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex
from envprobe.sources.ranges import RemoteArchive
from envprobe.static.imports import import_sites
from envprobe.static.layout import has_module
from envprobe.static.namespaces import provides_symbol

CASES = (
    "huggingface_hub:huggingface_hub:HfApi:httpx",
    "transformers:transformers:AutoModel:huggingface_hub",
    "nemo_toolkit==1.23.0:nemo.core:ModelPT:huggingface_hub",
    "torch:torch:Tensor:numpy",
)
MB = 1 << 20


def _round(config: IndexConfig, project: str, version: str, spec: list[str], *,
           full: bool) -> dict:
    """One contender on empty caches, per workload."""
    module, name, imported = spec[1:]
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as scratch:
        os.environ["ENVPROBE_CACHE"] = str(Path(scratch) / "scans")
        index = PackageIndex(config, cache_dir=Path(scratch))
        dist = index.best_wheel(project, version)
        started = time.perf_counter()
        source = index.download(dist) if full else index.archive(dist)
        names = (has_module(source, module), provides_symbol(source, module, name))
        names_wall, names_bytes = time.perf_counter() - started, _fetched(source, dist)
        sites = len(import_sites(source, imported))
        return {"names": (names_wall, names_bytes),
                "imports": (time.perf_counter() - started, _fetched(source, dist)),
                "answer": (*names, sites), "kind": type(source).__name__}


def _fetched(source, dist) -> tuple[int, int]:
    """(bytes, requests) that crossed the network so far for this wheel."""
    if isinstance(source, RemoteArchive):
        return source.fetched, source.requests
    return (dist.size or Path(source).stat().st_size, 1) if isinstance(source, Path) else (0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3, help="rounds per case (medians)")
    parser.add_argument("--full-max-mb", type=float, default=300)
    parser.add_argument("--case", action="append", help="project[==version]:module:name:imported")
    args = parser.parse_args()
    config = IndexConfig.from_pip()
    with tempfile.TemporaryDirectory(prefix="bench-range-pages-") as pages:  # to pick wheels
        rows = _rows(args, config, Path(pages))
    _table(rows)


def _rows(args: argparse.Namespace, config: IndexConfig, pages: Path) -> list[tuple]:
    rows = []
    for case in args.case or CASES:
        spec = case.split(":")
        project, _, version = spec[0].partition("==")
        index = PackageIndex(config, cache_dir=pages)
        version = version or str(index.versions(project)[-1])
        dist = index.best_wheel(project, version)
        if dist is None:
            print(f"{project} {version}: no wheel for this interpreter", file=sys.stderr)
            continue
        size = dist.size or 0
        ranged, full = [], []
        for _ in range(args.n):
            ranged.append(_round(config, project, version, spec, full=False))
            if size <= args.full_max_mb * MB:
                full.append(_round(config, project, version, spec, full=True))
        answers = {str(r["answer"]) for r in ranged + full}
        assert len(answers) == 1, f"{project}: range and full answers differ: {answers}"
        rows.append((f"{project} {version}", size, ranged, full))
        print(f"{project} {version}: {ranged[0]['kind']}, answer {ranged[0]['answer']}",
              file=sys.stderr)
    return rows


def _table(rows: list[tuple]) -> None:
    print("| wheel | size MB | workload | range: MB (requests) | range s | full s | "
          "fewer bytes | time ratio full/range |")
    print("|---|---|---|---|---|---|---|---|")
    for label, size, ranged, full in rows:
        for workload in ("names", "imports"):
            r_wall = statistics.median(r[workload][0] for r in ranged)
            r_bytes = statistics.median(r[workload][1][0] for r in ranged) / MB
            r_requests = statistics.median(r[workload][1][1] for r in ranged)
            f_wall = statistics.median(r[workload][0] for r in full) if full else None
            head = f"| {label} | {size / MB:.1f} | {workload} | {r_bytes:.2f} ({r_requests:.0f}) "
            print(head + f"| {r_wall:.2f} | " + (
                f"{f_wall:.2f} | {size / MB / max(r_bytes, 1e-9):.0f}× | {f_wall / r_wall:.1f}× |"
                if f_wall is not None else "not run | — | — |"))


if __name__ == "__main__":
    main()
