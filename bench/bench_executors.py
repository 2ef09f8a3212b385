"""Probes fanned out: 2 local workers against 1, and Ray's overhead per probe against the pool.

Run by hand (no network: the map's made-up packages from a find-links folder):

    python bench/bench_executors.py [--rounds 3] [--ray] [--probe-seconds S]

Eight distinct real probes (a virtualenv, a pip install of three tiny wheels,
the probe code in a child process), no store, so every one installs. Each
round runs every contender once, in rotating order, so a noisy neighbour on
the shared cores hits them alike; a first untimed round warms pip's cache and
virtualenv's app-data. Ray's overhead is also measured on a no-op task, where
only the scheduling shows. `--probe-seconds S` makes each probe's code busy
for S seconds of CPU after its imports, as a real probe is (NeMo's import is
about 15 s of CPU), so the figure is probe-bound rather than install-bound.
Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from map_packages import build_map_packages

from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.probing.executors import LocalExecutor, RayExecutor

PAIRS = [("1.0", "0.9"), ("1.0", "1.0"), ("1.0", "1.1"), ("2.0", "1.0"), ("2.0", "1.1"),
         ("3.0", "2.1"), ("4.0", "2.0"), ("4.0", "2.1")]


def busy_code(seconds: float) -> str:
    """Probe code that spends `seconds` of CPU, standing in for a heavy import."""
    if seconds <= 0:
        return ""
    return (f"import time\nend = time.process_time() + {seconds!r}\n"
            "while time.process_time() < end:\n    sum(range(1000))\n")


def requests(folder: Path, probe_seconds: float) -> dict[int, ProbeRequest]:
    options = InstallOptions(no_index=True, find_links=(str(folder),), installer="pip")
    code = "import app\nimport ext\n" + busy_code(probe_seconds)
    return {i: ProbeRequest((f"app=={a}", f"hub=={h}", "ext==2.0" if h >= "2" else "ext==1.0"),
                            code, options=options, timeout=60 + 4 * probe_seconds)
            for i, (a, h) in enumerate(PAIRS)}


def noop(n: int) -> int:
    return n


def timed(executor, items) -> float:
    started = time.monotonic()
    results = dict(executor.run(items))
    assert len(results) == len(items)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="also measure a local Ray instance")
    parser.add_argument("--probe-seconds", type=float, default=0.0,
                        help="CPU seconds each probe's code spends after its imports")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envprobe-bench-") as scratch:
        root = Path(scratch)
        os.environ.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(root / "pip-cache"),
                          ENVPROBE_CACHE=str(root / "cache"), ENVPROBE_ENV_ROOT=str(root / "envs"))
        items = requests(build_map_packages(root / "dists"), args.probe_seconds)
        noops = {i: i for i in range(200)}
        contenders: dict[str, tuple[Callable[[], float], int]] = {}
        one, two = LocalExecutor(1), LocalExecutor(2)
        contenders["local pool, 1 worker"] = (lambda: timed(one, items), len(items))
        contenders["local pool, 2 workers"] = (lambda: timed(two, items), len(items))
        noop_pool = LocalExecutor(2, task=noop)
        contenders["local pool, 2 workers, no-op"] = (lambda: timed(noop_pool, noops), len(noops))
        if args.ray:
            ray_probe = RayExecutor(jobs=2)
            ray_noop = RayExecutor(task=noop)
            contenders["ray, 2 CPUs"] = (lambda: timed(ray_probe, items), len(items))
            contenders["ray, 2 CPUs, no-op"] = (lambda: timed(ray_noop, noops), len(noops))
        names = list(contenders)
        for name in names:  # warm-up, untimed
            contenders[name][0]()
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                times[name].append(contenders[name][0]())
        for executor in (one, two, noop_pool):
            executor.close()
        if args.ray:
            ray_probe.close()
        print(f"{len(items)} probes ({args.probe_seconds:g} s of probe code each), "
              f"{os.cpu_count()} cores, {args.rounds} rounds (medians)\n")
        print("| contender | tasks | seconds | per task (ms) |\n|---|---|---|---|")
        for name in names:
            median = statistics.median(times[name])
            print(f"| {name} | {contenders[name][1]} | {median:.2f} | "
                  f"{1000 * median / contenders[name][1]:.1f} |")
        ratio = statistics.median(times[names[0]]) / statistics.median(times[names[1]])
        print(f"\n2 workers vs 1: {ratio:.2f}x")


if __name__ == "__main__":
    main()
