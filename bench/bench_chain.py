"""Installs, micro-probes, scans and wall time of a solve through a made-up trap chain.

Run by hand (nothing leaves the machine: the chain is built here and served
on 127.0.0.1):

    python bench/bench_chain.py [--rounds 3] [--installer uv|pip] [--attempts]

The chain (`tests/trap_chain.py`): an old web framework whose three
dependencies each removed a name it imports, one of them only visible
through a re-export from a private submodule, one whose older releases are
sdist-only. Target: at most one install per trap plus the final passing
probe. Each round solves from an empty store and an empty envprobe cache
(pip's and uv's caches are kept: the chain's files are tiny). `--attempts`
prints every probe of the last round with why it ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from trap_chain import TRAPS, build_trap_chain, chain_scenario
from wheelfactory import serve_index, write_simple_index

from envprobe.model.scenario import load_scenario
from envprobe.solving.workflow import solve_scenario


def solve_once(work: Path, url: str, installer: str):
    """One solve from an empty store and cache; the result and its wall time."""
    store, cache = work / "store.sqlite3", work / "cache"
    store.unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["ENVPROBE_CACHE"] = str(cache)
    os.environ["ENVPROBE_ENV_ROOT"] = str(work / "envs")
    scenario = work / "oldweb.toml"
    scenario.write_text(chain_scenario(allow_sdist=True, max_installs=12, installer=installer))
    started = time.perf_counter()
    result = solve_scenario(load_scenario(scenario), index_url=url, store_path=store,
                            refresh=True)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--installer", choices=("uv", "pip"), default="uv")
    parser.add_argument("--attempts", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="chain-bench-"))
    rows = []
    try:
        root = work / "index"
        write_simple_index(build_trap_chain(work / "dists"), root)
        with serve_index(root) as url:
            for _ in range(args.rounds):
                result, seconds = solve_once(work, url, args.installer)
                rows.append((result, seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    last = rows[-1][0]
    print(f"installer: {args.installer}; traps: {len(TRAPS)}; target: at most "
          f"{len(TRAPS) + 1} installs; rounds: {args.rounds}\n")
    print("| round | verdict | installs | micro-probes | scans | wall |")
    print("|---|---|---|---|---|---|")
    for number, (result, seconds) in enumerate(rows, 1):
        print(f"| {number} | {result.status} | {result.installs} | {len(result.micro_probes)}"
              f" | {result.scans} | {seconds:.1f} s |")
    print(f"\nmedian wall {statistics.median(s for _, s in rows):.1f} s; pins: "
          + ", ".join(f"{name} {last.pins.get(name, '-')}" for name, *_ in TRAPS))
    for boundary in last.boundaries:
        print(f"boundary: {boundary.key} {boundary.last_with} / {boundary.first_without}"
              f" ({boundary.method})")
    for name, _, last_with, first_without in TRAPS:
        found = [b for b in last.boundaries if b.package == name]
        if not found or (found[0].last_with, found[0].first_without) != (last_with,
                                                                          first_without):
            print(f"WRONG or missing boundary for {name}: expected {last_with} / {first_without}")
    if args.attempts:
        print()
        for attempt in last.attempts:
            failure = attempt.outcome.failure
            print(f"- {attempt.purpose}: {attempt.pins} -> "
                  f"{failure.summary() if failure else 'passed'}")
        for line in last.micro_probes:
            print(f"  micro-probe: {line}")
        for note in last.notes:
            print(f"  note: {note}")


if __name__ == "__main__":
    main()
