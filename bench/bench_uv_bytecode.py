"""uv with and without `--compile-bytecode`: install plus the probe's first import, side by side.

pip compiles every installed module to bytecode; uv does not unless asked.
A probe imports once, in a fresh environment, so the question is the total:
compiling everything at install time, or letting the interpreter compile
only the modules the import touches. Run by hand (the package index of
pip's configuration, passed to uv):

    python bench/bench_uv_bytecode.py [--rounds 5] [--pin sympy==1.14.0 ...] [--import sympy ...]

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


def one_probe(uv: str, sources: list[str], pins: list[str], imports: list[str],
              compile_bytecode: bool) -> tuple[float, float]:
    """(install seconds, first-import seconds) in a new environment."""
    with tempfile.TemporaryDirectory(prefix="uv-bytecode-") as folder:
        env = Path(folder) / "env"
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(env)], check=True)
        python = str(env / "bin" / "python")
        argv = [uv, "pip", "install", "--quiet", "--python", python, *sources, *pins]
        if compile_bytecode:
            argv.append("--compile-bytecode")
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        installed = time.perf_counter() - started
        code = "; ".join(f"import {m}" for m in imports)
        started = time.perf_counter()
        subprocess.run([python, "-c", code], check=True)
        return installed, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pin", action="append", dest="pins")
    parser.add_argument("--import", action="append", dest="imports")
    args = parser.parse_args()
    pins, imports = args.pins or DEFAULT_PINS, args.imports or DEFAULT_IMPORTS
    uv = find_uv()
    if uv is None or shutil.which(uv) is None:
        sys.exit("uv is not installed")
    options = InstallOptions.from_sources(IndexConfig.from_pip(), installer="uv")
    sources = ["--index-strategy", "unsafe-best-match", *source_args(options)]
    one_probe(uv, sources, pins, imports, True)  # warm uv's cache
    times: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for round_ in range(args.rounds):
        for compile_bytecode in ((True, False) if round_ % 2 else (False, True)):
            times[compile_bytecode].append(one_probe(uv, sources, pins, imports, compile_bytecode))
    print(f"pins: {' '.join(pins)}; import: {', '.join(imports)}; {args.rounds} rounds, medians\n")
    print("| uv | install s | first import s | total s |")
    print("|---|---|---|---|")
    totals = {}
    for compile_bytecode, runs in times.items():
        install = statistics.median(i for i, _ in runs)
        first = statistics.median(r for _, r in runs)
        totals[compile_bytecode] = statistics.median(i + r for i, r in runs)
        label = "--compile-bytecode" if compile_bytecode else "no bytecode"
        print(f"| {label} | {install:.2f} | {first:.2f} | {totals[compile_bytecode]:.2f} |")
    print(f"\ntotal, compiled / not compiled: {totals[True] / totals[False]:.2f}")


if __name__ == "__main__":
    main()
