"""A stored probe run again, with the bytecode earlier probes kept and without it, in pairs.

Run by hand after a solve (it installs for real, from the caches that solve
filled):

    python bench/bench_kept_bytecode.py --store STORE [--probe-id N] [--pairs 3]

It reads the probe's requirements, options and code from the store (by
default its newest passing probe) and runs `run_probe` on them in pairs,
the order alternating: once with `<cache>/bytecode/` as the earlier probes
left it, once with that folder moved aside (each run then compiles what it
imports, as every probe did before the store existed; the folder is put
back after). Prints each run's phases and the medians. Set ENVPROBE_CACHE,
ENVPROBE_ENV_ROOT and UV_CACHE_DIR as the solve had them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.paths import bytecode_dir
from envprobe.probing.probe import run_probe


def stored_request(store: Path, probe_id: int | None) -> tuple[int, ProbeRequest]:
    """The probe `probe_id` (default: the newest that passed) as a request to run again."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    query = ("SELECT id, requirements, options, code, timeout FROM probes WHERE "
             + ("id = ?" if probe_id is not None else "status = 'ok' ORDER BY id DESC LIMIT 1"))
    row = db.execute(query, (probe_id,) if probe_id is not None else ()).fetchone()
    if row is None:
        sys.exit(f"no such probe in {store}")
    number, requirements, options, code, timeout = row
    fields = {key: tuple(value) if isinstance(value, list) else value
              for key, value in json.loads(options).items()}
    return number, ProbeRequest(tuple(json.loads(requirements)), code,
                                options=InstallOptions(**fields), timeout=timeout)


def run(request: ProbeRequest, kept: bool) -> dict[str, float]:
    aside = bytecode_dir().with_name("bytecode-aside")
    if not kept:
        bytecode_dir().rename(aside)
    try:
        started = time.perf_counter()
        outcome = run_probe(request)
        wall = time.perf_counter() - started
    finally:
        if not kept:  # this run's own store goes; the earlier probes' comes back
            shutil.rmtree(bytecode_dir(), ignore_errors=True)
            aside.rename(bytecode_dir())
    if not outcome:
        sys.exit(f"the probe failed: {outcome.failure.summary()}")
    return {**outcome.seconds, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--probe-id", type=int)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    number, request = stored_request(args.store, args.probe_id)
    if not bytecode_dir().is_dir():
        sys.exit(f"no kept bytecode at {bytecode_dir()}: run the solve first")
    load = Path("/proc/loadavg").read_text().split()[:3]
    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for pair in range(args.pairs):
        for kept in ((True, False) if pair % 2 == 0 else (False, True)):
            runs[kept].append(run(request, kept))
            print(f"pair {pair + 1}, {'kept' if kept else 'compiling'}: "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in runs[kept][-1].items()), flush=True)
    print(f"\nprobe {number}, {args.pairs} pairs, load at the start {' '.join(load)},"
          f" at the end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    for phase in ("install", "run", "wall"):
        kept = statistics.median(r.get(phase, 0.0) for r in runs[True])
        compiling = statistics.median(r.get(phase, 0.0) for r in runs[False])
        print(f"- {phase}: kept {kept:.2f} s, compiling {compiling:.2f} s"
              f" ({compiling / kept:.2f}x)" if kept else f"- {phase}: -")


if __name__ == "__main__":
    main()
