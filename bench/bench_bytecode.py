"""Bytecode or not: install plus the probe's first import, side by side, for uv and for pip.

pip compiles every installed module to bytecode unless told `--no-compile`;
uv does not unless asked (`--compile-bytecode`).
A probe imports once, in a fresh environment, so the question is the total:
compiling everything at install time, or letting the interpreter compile
only the modules the import touches. Run by hand (the package index of
pip's configuration, passed to uv):

    python bench/bench_bytecode.py [--installer uv|pip] [--rounds 5] [--pin P ...] [--import M ...]

Each round runs both contenders in rotating order after an untimed warm-up
that fills uv's download cache. Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from envprobe.model.requests import InstallOptions
from envprobe.probing.backends.common import source_args
from envprobe.probing.backends.uv import find_uv
from envprobe.sources.config import IndexConfig

DEFAULT_PINS = ["sympy==1.14.0", "networkx==3.4.2", "jinja2==3.1.4"]
DEFAULT_IMPORTS = ["sympy", "networkx", "jinja2"]


def one_probe(installer: str, sources: list[str], pins: list[str], imports: list[str],
              compile_bytecode: bool) -> tuple[float, float]:
    """(install seconds, first-import seconds) in a new environment."""
    with tempfile.TemporaryDirectory(prefix="bytecode-") as folder:
        env = Path(folder) / "env"
        python = str(env / "bin" / "python")
        if installer == "pip":
            subprocess.run([sys.executable, "-m", "virtualenv", "--quiet", "--no-periodic-update",
                            str(env)], check=True)
            argv = [python, "-m", "pip", "install", "--quiet", *sources, *pins]
            argv += [] if compile_bytecode else ["--no-compile"]
        else:
            subprocess.run([installer, "venv", "--quiet", "--python", sys.executable, str(env)],
                           check=True)
            argv = [installer, "pip", "install", "--quiet", "--python", python, *sources, *pins]
            argv += ["--compile-bytecode"] if compile_bytecode else []
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        installed = time.perf_counter() - started
        code = "; ".join(f"import {m}" for m in imports)
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        return installed, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installer", choices=("uv", "pip"), default="uv")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pin", action="append", dest="pins")
    parser.add_argument("--import", action="append", dest="imports")
    args = parser.parse_args()
    pins, imports = args.pins or DEFAULT_PINS, args.imports or DEFAULT_IMPORTS
    if args.installer == "uv":
        installer = find_uv()
        if installer is None or shutil.which(installer) is None:
            sys.exit("uv is not installed")
        options = InstallOptions.from_sources(IndexConfig.from_pip(), installer="uv")
        sources = ["--index-strategy", "unsafe-best-match", *source_args(options)]
    else:
        installer, sources = "pip", []  # pip reads its own configuration
    one_probe(installer, sources, pins, imports, True)  # warm the download cache
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for round_ in range(args.rounds):
        for compile_bytecode in ((True, False) if round_ % 2 else (False, True)):
            times[compile_bytecode].append(
                one_probe(installer, sources, pins, imports, compile_bytecode))
    print(f"pins: {' '.join(pins)}; import: {', '.join(imports)}; {args.rounds} rounds, medians\n")
    print(f"| {args.installer} | install s | first import s | total s |")
    print("|---|---|---|---|")
    totals = {}
    for compile_bytecode, runs in times.items():
        install = statistics.median(i for i, _ in runs)
        first = statistics.median(r for _, r in runs)
        totals[compile_bytecode] = statistics.median(i + r for i, r in runs)
        label = "bytecode compiled" if compile_bytecode else "no bytecode"
        print(f"| {label} | {install:.2f} | {first:.2f} | {totals[compile_bytecode]:.2f} |")
    print(f"\ntotal, compiled / not compiled: {totals[True] / totals[False]:.2f}")


if __name__ == "__main__":
    main()
