"""Warm probe of a small pin set vs the plain venv + install + import, pip and uv.

Run by hand (it uses the package index of pip's configuration):

    python bench/bench_probe.py [--rounds 5] [--pin six==1.16.0 ...] [--import six ...]
    python bench/bench_probe.py --rounds 3 --base torch==2.13.0 --import torch
    python bench/bench_probe.py --installer uv --before /path/to/an/older/checkout

Contenders: the plain shell line (`python -m venv X && X/bin/pip install PINS
&& X/bin/python -c 'import M'`, and its uv twin `uv venv && uv pip install &&
python -c`, in the same folder each round, and in a new folder each round as
a probe's environment is), the `envprobe probe --json` command (a store
miss: each run's code differs by a comment, so the store holds no answer
and it really installs; with uv, also with no bytecode kept from earlier
probes, its folder moved aside before each run), and `run_probe` called
in-process as the solver calls it. Each round runs every contender once, in rotating order, so a
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
pip's configuration, the store, run folders). `--installer` keeps one
installer's contenders; `--before DIR` adds the command as another checkout
of envprobe runs it (`envprobe probe (before)`), in the same rounds: a
change's before and after, side by side. `--as-installed` runs each command
as a user who installed envprobe has it: the checkout installed (not
editable) into a virtual environment of its own with the same uv, its
`envprobe` program run; the checkout run from source pays for this
machine's site-packages (an editable install's finder and a certificate
hook, two `.pth` files that start with every Python using them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
from envprobe.paths import bytecode_dir
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.probe import import_code, run_probe
from envprobe.sources.config import IndexConfig

DEFAULT_PINS = ["six==1.16.0", "packaging==24.1", "idna==3.7", "attrs==23.2.0"]
DEFAULT_IMPORTS = ["six", "packaging.version", "idna", "attrs"]


PHASES: dict[str, list[dict[str, float]]] = {}
NEW_FOLDER = "plain uv, a new folder each time"  # contender -> each run's phases and wall time
COMPILING = "envprobe probe, no kept bytecode, uv"


def shell(command: str, env: dict[str, str], name: str = "",
          cwd: Path = REPO) -> Callable[[], None]:
    """A shell line; with `name`, its stdout is a probe's JSON outcome, whose phases are kept.

    It runs in `cwd`: `python -m envprobe` imports envprobe from the current
    folder before PYTHONPATH, so the folder is the checkout it measures.
    """
    def run() -> None:
        started = time.perf_counter()
        done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True,
                              check=False, cwd=cwd)
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


def installed_copy(checkout: Path, folder: Path, uv: str | None) -> Path:
    """`checkout` installed (not editable) into a new virtual environment at `folder`,
    with the uv this bench's plain lines run; its `envprobe` program."""
    source = folder.with_name(f"{folder.name}-source")  # pip builds in the tree it is given
    shutil.copytree(checkout, source, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", "build", "tests", "bench"))
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    same_uv = []
    if uv:
        version = subprocess.run([uv, "--version"], capture_output=True, text=True,
                                 check=True).stdout.split()[1]
        same_uv = [f"uv=={version}"]
    done = subprocess.run([str(folder / "bin" / "pip"), "install", "-q",
                           "--disable-pip-version-check", str(source), *same_uv],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"installing {checkout} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return folder / "bin" / "envprobe"


def contenders(pins: list[str], base: list[str], imports: list[str], work: Path,
               uv: str | None, before: Path | None = None,
               as_installed: bool = False) -> dict[str, Callable[[], None]]:
    env = dict(os.environ, ENVPROBE_STORE=str(work / "store.sqlite3"),
               ENVPROBE_ENV_ROOT=str(work / "envs"), PYTHONPATH=str(REPO))
    # The older checkout keeps a store of its own: its schema may differ.
    older = dict(env, PYTHONPATH=str(before), ENVPROBE_STORE=str(work / "before.sqlite3"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed envprobe has its bytecode
    if as_installed:  # the installed programs import their own copy, nothing from here
        env.pop("PYTHONPATH")
        older.pop("PYTHONPATH")
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
    arguments = ("probe --json "
                 + " ".join(f"--pin {shlex.quote(p)}" for p in pins)
                 + " ".join(f" --base {shlex.quote(b)}" for b in base))
    # A store miss, as a new question meets it: the store is there, but each run's code
    # differs by a comment, so it holds no answer (module names need no shell quoting).
    missed = (f' --code "{"; ".join(f"import {m}" for m in imports)}  # run $(date +%s%N)"')
    asked = "".join(f" --import {m}" for m in imports)  # the same question every time
    program = f"{python} -m envprobe"
    program_before = program
    if as_installed:
        program = str(installed_copy(REPO, work / "installed", uv))
        if before is not None:
            program_before = str(installed_copy(before, work / "installed-before", uv))
    probe = f"{program} {arguments}{missed}"
    probe_before = f"{program_before} {arguments}{missed}"

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
    if before is not None:
        chosen["envprobe probe (before), pip"] = shell(f"{probe_before} --installer pip", older,
                                                       "envprobe probe (before), pip", before)
    if uv:
        # What envprobe passes too: pip's meaning of several indexes (search them all).
        strategy = "--index-strategy unsafe-best-match" if config.extra_index_urls else ""
        chosen |= {
            "plain uv": shell(f"rm -rf {venv} && {uv} venv -q --python {python} {venv} && {uv} pip"
                              f" install -q --python {venv}/bin/python {sources} {strategy}"
                              f" {everything} && {venv}/bin/python -c {code}", env),
            # uv keeps what it learns of an interpreter by the interpreter's path: the line
            # above reuses its folder, so from the second round on it never asks its
            # Python; a new folder each time (as every probe's is) asks it each time.
            NEW_FOLDER: shell(f"rm -rf {work}/new-* && fresh=$(mktemp -d {work}/new-XXXXXX)"
                              f" && {uv} venv -q --python {python} $fresh/env && {uv} pip"
                              f" install -q --python $fresh/env/bin/python {sources} {strategy}"
                              f" {everything} && $fresh/env/bin/python -c {code}", env),
            "envprobe probe, uv": shell(f"{probe} --installer uv", env, "envprobe probe, uv"),
            # The same with no bytecode kept from earlier probes: each run compiles what it
            # imports, as the plain line does. The store folder is moved aside first (a
            # rename: removing its files would be timed too), and removed with the cache.
            COMPILING: shell(f"{{ mv {shlex.quote(str(bytecode_dir()))}"
                             f" {shlex.quote(str(bytecode_dir()))}-$(date +%s%N) || true; }}"
                             f" 2>/dev/null && {probe} --installer uv", env, COMPILING),
            "run_probe, uv": in_process(request("uv")),
        }
        if before is not None:
            chosen["envprobe probe (before), uv"] = shell(f"{probe_before} --installer uv", older,
                                                          "envprobe probe (before), uv", before)
    chosen["answered from the store"] = shell(f"{program} {arguments}{asked} --installer pip",
                                              env)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pin", dest="pins", action="append")
    parser.add_argument("--base", action="append", default=[])
    parser.add_argument("--import", dest="imports", action="append")
    parser.add_argument("--installer", choices=["pip", "uv"],
                        help="only this installer's contenders (and the store's answer)")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="also run the command from this checkout of envprobe")
    parser.add_argument("--as-installed", action="store_true",
                        help="run each command from a non-editable install of its checkout in"
                        " a virtual environment of its own, as a user has it")
    parser.add_argument("--pairs", type=int, default=0, metavar="N",
                        help="then N paired runs of the command against each plain line (and"
                        " the --before command): the ratio pair by pair, wall and CPU")
    args = parser.parse_args()
    pins = args.pins or ([] if args.base and args.imports else DEFAULT_PINS)
    imports = args.imports or DEFAULT_IMPORTS

    loaded = load_average()
    work = Path(tempfile.mkdtemp(prefix="probe-bench-"))
    cache = Path(tempfile.mkdtemp(prefix="probe-bench-cache-"))
    os.environ["ENVPROBE_CACHE"] = str(cache)  # a fresh base layer, built in the warm-up
    try:
        chosen = contenders(pins, args.base, imports, work, find_uv(),
                            args.before.resolve() if args.before else None, args.as_installed)
        if args.installer:
            chosen = {name: run for name, run in chosen.items()
                      if name.endswith(f", {args.installer}") or name.startswith(
                          ("answered", f"plain {args.installer}"))}
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
        paired = run_pairs(chosen, args.pairs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    print(f"pins: {' '.join(pins) or '-'}; base: {' '.join(args.base) or '-'};"
          f" imports: {', '.join(imports)}; rounds: {args.rounds};"
          f" commands: {'installed' if args.as_installed else 'from the checkout'}\n")
    print(f"load average (1, 5, 15 min): at the start {loaded}, at the end {load_average()}\n")
    print("| contender | median | min | this / plain (medians) | plain / this |")
    print("|---|---|---|---|---|")
    for name, seconds in times.items():
        plain = times.get(f"plain {name.rsplit(' ', 1)[-1]}", next(
            times[key] for key in times if key.startswith("plain")))
        ratio = statistics.median(seconds) / statistics.median(plain)
        shown = "" if name.startswith("plain") else f"{ratio:.2f}x | {1 / ratio:.2f}x"
        print(f"| {name} | {statistics.median(seconds):.2f} s | {min(seconds):.2f} s"
              f" | {shown or ' | '} |")
    if NEW_FOLDER in times:
        print(f"\nAgainst `{NEW_FOLDER}` (medians):")
        for name, seconds in times.items():
            if name.endswith(", uv"):
                ratio = statistics.median(seconds) / statistics.median(times[NEW_FOLDER])
                print(f"- {name}: {ratio:.2f}x")
    print_phases()
    print_pairs(paired, args.pairs)


Pairs = dict[tuple[str, str], list[tuple[float, float, float, float]]]


def run_pairs(chosen: dict[str, Callable[[], None]], count: int) -> Pairs:
    """The command against each plain line and the older command, in pairs: (wall, CPU)
    of each side, the order alternating. CPU is the whole process tree's (children waited)."""
    def timed(run: Callable[[], None]) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    paired: Pairs = {}
    against = {"uv": ("plain uv", NEW_FOLDER, "envprobe probe (before), uv"),
               "pip": ("plain pip", "envprobe probe (before), pip")}
    for installer, others in against.items():
        command = f"envprobe probe, {installer}"
        for other in others:
            if command not in chosen or other not in chosen:
                continue
            for number in range(count):
                first, second = (command, other) if number % 2 == 0 else (other, command)
                results = {first: timed(chosen[first]), second: timed(chosen[second])}
                paired.setdefault((command, other), []).append((*results[command],
                                                                *results[other]))
    return paired


def print_pairs(paired: Pairs, count: int) -> None:
    for (command, other), runs in paired.items():
        walls = sorted(a / b for a, _, b, _ in runs)
        print(f"\n`{command}` against `{other}`, {count} pairs: wall"
              f" {statistics.median(walls):.2f}x (pairs from {walls[0]:.2f}x to {walls[-1]:.2f}x);"
              f" CPU {statistics.median(c for _, c, _, _ in runs):.2f} s against"
              f" {statistics.median(c for _, _, _, c in runs):.2f} s"
              f" ({statistics.median(sorted(a / b for _, a, _, b in runs)):.2f}x)")


def load_average() -> str:
    loadavg = Path("/proc/loadavg")
    return " ".join(loadavg.read_text().split()[:3]) if loadavg.exists() else "unknown"


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
