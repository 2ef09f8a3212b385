"""The solver's boundary search on real removals, without a full install of any set.

Run by hand (it reads the package index of pip's configuration):

    python bench/bench_boundaries.py [--only NAME ...] [--cache DIR]

For each case of bench/diagnose_cases.toml and bench/boundary_cases.toml it
starts where a solve would after the failing probe: the owner at the release
the case installs. It runs the solver's own `find_boundary` (static reading of
the releases' files, then micro-probes of single releases) with every real
probe refused, so a case the cheap layers cannot settle ends undecided
instead of installing. Each result is compared with the hand-checked boundary:
exact, wrong, or undecided. The envprobe cache starts empty (a temporary
folder unless `--cache` is given), so times include every download.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = (REPO / "bench" / "diagnose_cases.toml", REPO / "bench" / "boundary_cases.toml")


def _tools(index, interpreter, refused: list[str]):
    """The solver's teacher tools: its scanner and micro-prober, and no real installs."""
    from envprobe.errors import UsageError
    from envprobe.model.requests import InstallOptions
    from envprobe.probing.backends import backend_for
    from envprobe.probing.micro import MicroProber
    from envprobe.solving.provider import SolveProvider
    from envprobe.solving.release_questions import ReleaseQuestions
    from envprobe.solving.teachers.common import Tools
    from envprobe.static.scanner import StaticScanner

    config = index.config
    options = InstallOptions(index_url=config.index_url,
                             extra_index_urls=tuple(config.extra_index_urls),
                             find_links=tuple(config.find_links), no_index=config.no_index)
    try:
        backend = backend_for("auto")
    except UsageError:
        backend = backend_for("pip")
    questions = ReleaseQuestions(StaticScanner(index, interpreter.tags),
                                 MicroProber(interpreter, backend, options))
    provider = SolveProvider(
        index, universe=(), rules=[], pins={}, extras={},
        python_version=interpreter.python_version, tags=frozenset(interpreter.tags),
        environment=interpreter.environment, allow_sdist=False,
        imports_symbol=lambda candidate, rule: True,
    )

    def releases(name: str) -> list:
        return [v for v in index.versions(name) if provider.installable(name, v)]

    def reprobe(fixed, purpose):  # a full install: refused, and counted
        refused.append(f"{purpose}: {', '.join(f'{n}=={v}' for n, v in fixed.items())}")

    tools = Tools(questions, releases, reprobe, lambda n, v: [], lambda n, v: None,
                  confirm=False, micro_probed=questions.micro_probed, known=index.versions)
    return tools, questions


def run_case(case: dict, index, interpreter) -> dict:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome, Status
    from envprobe.solving.teachers.common import Case, Lesson
    from envprobe.solving.teachers.symbol import find_boundary

    expect = case["expect"]
    owner = canonicalize_name(expect["package"])
    module, symbol = expect.get("module", expect["symbol"]), expect["symbol"]
    pins = {canonicalize_name(r.name): Version(str(next(iter(r.specifier)).version))
            for r in map(Requirement, case["install"])}
    failing = pins[owner]
    refused: list[str] = []
    tools, questions = _tools(index, interpreter, refused)
    failure = Failure(FailureKind.MISSING_SYMBOL, f"cannot import {symbol}", name=symbol,
                      module=module, package=owner, version=str(failing))
    outcome = ProbeOutcome(Status.FAILED, {n: str(v) for n, v in pins.items()}, failure)
    if symbol == module:  # a removed module: the question is whether the release ships it
        def static(v):
            return questions.has_module(owner, v, module)
    else:
        def static(v):
            return questions.provides(owner, v, module, symbol)
    started = time.perf_counter()
    try:
        search, boundary = find_boundary(tools, Case(failure, outcome, pins), Lesson(), owner,
                                         failing, tools.releases(owner), symbol, module, static)
    finally:
        questions.close()
    seconds = time.perf_counter() - started
    if expect.get("direction", "removed") == "removed":
        wanted = (expect["last_with"], expect["first_without"])
        found = (search.last_with, search.first_without) if search.direction == "removed" else None
    else:
        wanted = (expect["last_without"], expect["first_with"])
        found = (search.last_without, search.first_with) if search.direction == "added" else None
    if found is None:
        verdict = "undecided"
    else:
        verdict = "exact" if tuple(str(v) for v in found) == wanted else "wrong"
    micro = sorted({str(v) for v in search.checked if questions.micro_probed(owner, v)})
    return {"name": case["name"], "verdict": verdict, "seconds": seconds,
            "found": " / ".join(str(v) for v in found) if found else "-",
            "method": str(boundary.method), "checked": len(search.checked),
            "files": len(questions.scanned), "micro": micro, "refused": refused,
            "read": [f for f in questions.scanned if not f.endswith(".whl")
                     or ("-cp3" in f and f"-{questions.python_tag}-" not in f
                         and "abi3" not in f)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envprobe-bench-boundaries-") as empty:
        os.environ["ENVPROBE_CACHE"] = str(args.cache or empty)
        from envprobe.probing.interpreter import describe
        from envprobe.sources.config import IndexConfig
        from envprobe.sources.index import PackageIndex

        index = PackageIndex(IndexConfig.from_pip(), cache_dir=Path(os.environ["ENVPROBE_CACHE"]))
        interpreter = describe(sys.executable)
        cases = [c for path in CASES for c in tomllib.loads(path.read_text())["case"]
                 if not args.only or c["name"] in args.only]
        rows = []
        print("| case | boundary found | verdict | method | releases checked | micro-probed "
              "| seconds | read without a wheel for this Python |\n|---|---|---|---|---|---|---|---|")
        for case in cases:
            result = run_case(case, index, interpreter)
            rows.append(result)
            print(f"| {result['name']} | {result['found']} | {result['verdict']} "
                  f"| {result['method']} | {result['checked']} | {len(result['micro'])} "
                  f"| {result['seconds']:.1f} | {', '.join(result['read']) or '-'} |", flush=True)
    exact = sum(r["verdict"] == "exact" for r in rows)
    wrong = sum(r["verdict"] == "wrong" for r in rows)
    times = [r["seconds"] for r in rows]
    with_micro = sum(bool(r["micro"]) for r in rows)
    print(f"\n{len(rows)} cases: {exact} exact ({100 * exact / len(rows):.0f} %), {wrong} wrong, "
          f"{len(rows) - exact - wrong} undecided; {with_micro} needed micro-probes "
          f"({sum(len(r['micro']) for r in rows)} releases asked), "
          f"{sum(len(r['refused']) for r in rows)} full installs asked for and refused; "
          f"median {statistics.median(times):.1f} s, worst {max(times):.1f} s")


if __name__ == "__main__":
    main()
