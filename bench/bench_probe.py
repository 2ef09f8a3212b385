"""Warm probe of a small pin set vs the naive venv + install + import, pip and uv.

Run by hand (it uses the package index of pip's configuration):

    python bench/bench_probe.py [--rounds 5] [--pin six==1.16.0 ...] [--import six ...]
    python bench/bench_probe.py --rounds 3 --base torch==2.13.0 --import torch

Contenders: the naive shell line (`python -m venv X && X/bin/pip install PINS
&& X/bin/python -c 'import M'`, and its uv twin), the `envprobe probe` command
(`--refresh`, so it really installs), and `run_probe` called in-process as the
solver calls it. Each round runs every contender once, in rotating order, so a
noisy neighbour on the shared cores hits them alike; a first untimed round
warms pip's and uv's download caches, virtualenv's app-data and the base
layer. With `--base`, the naive lines install the base requirements too and
envprobe keeps them in its base layer. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.probe import import_code, run_probe
from envprobe.sources.config import IndexConfig

DEFAULT_PINS = ["six==1.16.0", "packaging==24.1", "idna==3.7", "attrs==23.2.0"]
DEFAULT_IMPORTS = ["six", "packaging.version", "idna", "attrs"]


def shell(command: str, env: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:  # every contender must really install and import
            sys.exit(f"failed ({done.returncode}): {command}\n"
                     f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return run


def in_process(request: ProbeRequest) -> Callable[[], None]:
    def run() -> None:
        outcome = run_probe(request)
        if not outcome:
            sys.exit(f"probe failed: {outcome.failure.summary()}")
    return run


def contenders(pins: list[str], base: list[str], imports: list[str], work: Path,
               uv: str | None) -> dict[str, Callable[[], None]]:
    env = dict(os.environ, ENVPROBE_STORE=str(work / "store.sqlite3"),
               ENVPROBE_ENV_ROOT=str(work / "envs"), PYTHONPATH=str(REPO))
    os.environ.update(ENVPROBE_ENV_ROOT=env["ENVPROBE_ENV_ROOT"])
    config = IndexConfig.from_pip()
    sources = " ".join(shlex.quote(a) for a in InstallOptions.from_sources(config).index_args())
    everything = " ".join(shlex.quote(p) for p in [*base, *pins])
    code = shlex.quote("; ".join(f"import {m}" for m in imports))
    python = shlex.quote(sys.executable)
    venv = work / "naive"
    probe = (f"{python} -m envprobe probe --json --refresh "
             + " ".join(f"--pin {shlex.quote(p)}" for p in pins)
             + " ".join(f" --base {shlex.quote(b)}" for b in base)
             + "".join(f" --import {m}" for m in imports))

    def request(installer: str) -> ProbeRequest:
        options = InstallOptions.from_sources(config, installer=installer, base=tuple(base))
        return ProbeRequest(tuple(pins), import_code(imports), options=options)

    chosen = {
        "naive pip": shell(f"rm -rf {venv} && {python} -m venv {venv} && {venv}/bin/pip install"
                           f" -q --disable-pip-version-check {everything}"
                           f" && {venv}/bin/python -c {code}", env),
        "envprobe probe, pip": shell(f"{probe} --installer pip", env),
        "run_probe, pip": in_process(request("pip")),
    }
    if uv:
        # What envprobe passes too: pip's meaning of several indexes (search them all).
        strategy = "--index-strategy unsafe-best-match" if config.extra_index_urls else ""
        chosen |= {
            "naive uv": shell(f"rm -rf {venv} && {uv} venv -q --python {python} {venv} && {uv} pip"
                              f" install -q --python {venv}/bin/python {sources} {strategy}"
                              f" {everything} && {venv}/bin/python -c {code}", env),
            "envprobe probe, uv": shell(f"{probe} --installer uv", env),
            "run_probe, uv": in_process(request("uv")),
        }
    chosen["answered from the store"] = shell(f"{probe.replace(' --refresh', '')} --installer pip",
                                              env)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pin", dest="pins", action="append")
    parser.add_argument("--base", action="append", default=[])
    parser.add_argument("--import", dest="imports", action="append")
    args = parser.parse_args()
    pins = args.pins or ([] if args.base and args.imports else DEFAULT_PINS)
    imports = args.imports or DEFAULT_IMPORTS

    work = Path(tempfile.mkdtemp(prefix="probe-bench-"))
    cache = Path(tempfile.mkdtemp(prefix="probe-bench-cache-"))
    os.environ["ENVPROBE_CACHE"] = str(cache)  # a fresh base layer, built in the warm-up
    try:
        chosen = contenders(pins, args.base, imports, work, find_uv())
        for run in chosen.values():  # warm-up, not timed
            run()
        times: dict[str, list[float]] = {name: [] for name in chosen}
        names = list(chosen)
        for round_number in range(args.rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                chosen[name]()
                times[name].append(time.perf_counter() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    print(f"pins: {' '.join(pins) or '-'}; base: {' '.join(args.base) or '-'};"
          f" imports: {', '.join(imports)}; rounds: {args.rounds}\n")
    print("| contender | median | min | naive / this (medians) |")
    print("|---|---|---|---|")
    for name, seconds in times.items():
        naive = times.get(f"naive {name.rsplit(' ', 1)[-1]}", times["naive pip"])
        ratio = statistics.median(naive) / statistics.median(seconds)
        print(f"| {name} | {statistics.median(seconds):.2f} s | {min(seconds):.2f} s"
              f" | {'' if name.startswith('naive') else f'{ratio:.2f}x'} |")


if __name__ == "__main__":
    main()
