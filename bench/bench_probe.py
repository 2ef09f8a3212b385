"""Warm probe of a small pin set vs the plain venv + install + import, pip and uv.

Run by hand (it uses the package index of pip's configuration):

    python bench/bench_probe.py [--rounds 5] [--pin six==1.16.0 ...] [--import six ...]
    python bench/bench_probe.py --rounds 3 --base torch==2.13.0 --import torch

Contenders: the plain shell line (`python -m venv X && X/bin/pip install PINS
&& X/bin/python -c 'import M'`, and its uv twin `uv venv && uv pip install &&
python -c`), the `envprobe probe --json` command (`--refresh`, so it really
installs: a store miss), and `run_probe` called in-process as the solver
calls it. Each round runs every contender once, in rotating order, so a
noisy neighbour on the shared cores hits them alike; a first untimed round
warms pip's and uv's caches (this run's own), virtualenv's app-data, the base layer,
envprobe's own bytecode and its copy of pip's configuration (as an installed
envprobe has them: the command runs without PYTHONDONTWRITEBYTECODE). With
`--base`, the plain lines install the base requirements too and envprobe
keeps them in its base layer.

Prints a Markdown table (medians, and each contender's time over the plain
line of its installer), then where the command's time goes: the phases its
outcome reports (create, base, install, run: the probe child, which lists
what is installed, then runs the code) and the rest of the wall time (start-up,
pip's configuration, the store, run folders).
"""

from __future__ import annotations

import argparse
import json
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


PHASES: dict[str, list[dict[str, float]]] = {}  # contender -> each run's phases and wall time


def shell(command: str, env: dict[str, str], name: str = "") -> Callable[[], None]:
    """A shell line; with `name`, its stdout is a probe's JSON outcome, whose phases are kept."""
    def run() -> None:
        started = time.perf_counter()
        done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                              check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:  # every contender must really install and import
            sys.exit(f"failed ({done.returncode}): {command}\n"
                     f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
        if name:
            seconds = json.loads(done.stdout)["seconds"]
            PHASES.setdefault(name, []).append({**seconds, "wall": wall})
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
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed envprobe has its bytecode
    # pip's and uv's caches of this run alone, warmed by the first round: another
    # session's installer holding the user's cache does not stall one contender.
    env.update(PIP_CACHE_DIR=str(work / "pip-cache"), UV_CACHE_DIR=str(work / "uv-cache"))
    os.environ.update({key: env[key] for key in ("ENVPROBE_ENV_ROOT", "PIP_CACHE_DIR",
                                                  "UV_CACHE_DIR")})
    config = IndexConfig.from_pip()
    sources = " ".join(shlex.quote(a) for a in InstallOptions.from_sources(config).index_args())
    everything = " ".join(shlex.quote(p) for p in [*base, *pins])
    code = shlex.quote("; ".join(f"import {m}" for m in imports))
    python = shlex.quote(sys.executable)
    venv = work / "plain"
    probe = (f"{python} -m envprobe probe --json --refresh "
             + " ".join(f"--pin {shlex.quote(p)}" for p in pins)
             + " ".join(f" --base {shlex.quote(b)}" for b in base)
             + "".join(f" --import {m}" for m in imports))

    def request(installer: str) -> ProbeRequest:
        options = InstallOptions.from_sources(config, installer=installer, base=tuple(base))
        return ProbeRequest(tuple(pins), import_code(imports), options=options)

    chosen = {
        "plain pip": shell(f"rm -rf {venv} && {python} -m venv {venv} && {venv}/bin/pip install"
                           f" -q --disable-pip-version-check {everything}"
                           f" && {venv}/bin/python -c {code}", env),
        "envprobe probe, pip": shell(f"{probe} --installer pip", env, "envprobe probe, pip"),
        "run_probe, pip": in_process(request("pip")),
    }
    if uv:
        # What envprobe passes too: pip's meaning of several indexes (search them all).
        strategy = "--index-strategy unsafe-best-match" if config.extra_index_urls else ""
        chosen |= {
            "plain uv": shell(f"rm -rf {venv} && {uv} venv -q --python {python} {venv} && {uv} pip"
                              f" install -q --python {venv}/bin/python {sources} {strategy}"
                              f" {everything} && {venv}/bin/python -c {code}", env),
            "envprobe probe, uv": shell(f"{probe} --installer uv", env, "envprobe probe, uv"),
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
        PHASES.clear()
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
    print("| contender | median | min | this / plain (medians) | plain / this |")
    print("|---|---|---|---|---|")
    for name, seconds in times.items():
        plain = times.get(f"plain {name.rsplit(' ', 1)[-1]}", times["plain pip"])
        ratio = statistics.median(seconds) / statistics.median(plain)
        shown = "" if name.startswith("plain") else f"{ratio:.2f}x | {1 / ratio:.2f}x"
        print(f"| {name} | {statistics.median(seconds):.2f} s | {min(seconds):.2f} s"
              f" | {shown or ' | '} |")
    print_phases()


def print_phases() -> None:
    """Medians of each phase of the command's runs; `other` is the wall time outside them."""
    for name, runs in PHASES.items():
        phases = sorted({key for run in runs for key in run} - {"wall"})
        print(f"\n{name}: where the time goes (medians of {len(runs)} runs)\n")
        print("| phase | median |")
        print("|---|---|")
        for phase in phases:
            print(f"| {phase} | {statistics.median(run.get(phase, 0.0) for run in runs):.3f} s |")
        other = [run["wall"] - sum(run.get(phase, 0.0) for phase in phases) for run in runs]
        print(f"| other (start-up, configuration, store, folders) | "
              f"{statistics.median(other):.3f} s |")
        print(f"| wall | {statistics.median(run['wall'] for run in runs):.3f} s |")


if __name__ == "__main__":
    main()
