"""`envprobe diagnose` on real removals from public packages, in real environments.

Run by hand (it uses the package index of pip's configuration, and uv to
build the environments quickly):

    python bench/bench_diagnose.py [--cases bench/diagnose_cases.toml] [--only NAME ...]

Each case of the list is a set a user could install (the importer, and the
provider at a release its declared requirements allow, past the removal),
the code that fails, and the boundary checked by hand from the releases'
sources. The environment is built once under a temporary folder and kept for
re-runs; then `envprobe diagnose --json` runs twice: cold (an empty envprobe
cache: every page, metadata file and wheel fetched, the code run) and warm
(the same cache again: the environment unchanged, so the kept run of the code
is reused). Micro-probes are allowed (`--no-probes` forbids them for the
whole run). Prints a Markdown table and the median and worst times, and
writes every diagnosis to `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from envprobe.probing.backends.uv import find_uv
from envprobe.sources.config import IndexConfig

ROOT = Path(tempfile.gettempdir()) / "envprobe-bench-diagnose"


def build(case: dict, uv: str, sources: list[str]) -> Path:
    """The user's environment for `case`, built once (a marker file says it is complete)."""
    env = ROOT / case["name"]
    done = env / ".built"
    if done.exists():
        return env
    shutil.rmtree(env, ignore_errors=True)
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(env / "bin" / "python"),
                    "--index-strategy", "unsafe-best-match", *sources, *case["install"]],
                   check=True)
    done.write_text("")
    return env


def diagnose(env: Path, case: dict, cache: Path, extra: list[str]) -> tuple[float, dict]:
    environ = {**os.environ, "ENVPROBE_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "envprobe", "diagnose", "--python",
                           str(env / "bin" / "python"), "-c", case["code"], "--json", *extra],
                          capture_output=True, text=True, env=environ, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        return seconds, {"error": done.stderr.strip()[-500:]}
    return seconds, json.loads(done.stdout)


def judge(case: dict, data: dict) -> tuple[bool, bool, str]:
    """(boundary exact, fix right, what was found) against the hand-checked boundary."""
    expect = case["expect"]
    found = [b for b in data.get("boundaries", []) if b["package"] == expect["package"]
             and b["symbol"] == expect["symbol"]]
    if not found:
        failure = (data.get("failure") or {})
        return False, False, f"no boundary ({failure.get('kind')}: {failure.get('name')})"
    b = found[0]
    if expect.get("direction", "removed") == "removed":
        exact = (b["last_with"], b["first_without"]) == (expect["last_with"],
                                                         expect["first_without"])
        words = f"{b['last_with']} / {b['first_without']}"
    else:
        exact = (b["last_without"], b["first_with"]) == (expect["last_without"],
                                                         expect["first_with"])
        words = f"{b['last_without']} / {b['first_with']} (added)"
    fixes = data.get("fixes") or []
    right = bool(fixes) and _right(fixes[0], expect)
    return exact, right, words


def _right(fix: dict, expect: dict) -> bool:
    """The best fix lands the provider on the good side, or moves the importer off the name."""
    from packaging.version import Version

    landed = fix["versions"].get(expect["package"])
    if landed is None:
        return bool(expect.get("importer")) and expect["importer"] in fix["versions"]
    if expect.get("direction", "removed") == "removed":
        return Version(landed) < Version(expect["first_without"])
    return Version(landed) >= Version(expect["first_with"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO / "bench" / "diagnose_cases.toml")
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--out", type=Path, default=ROOT / "results.json")
    parser.add_argument("--no-probes", action="store_true", help="forbid micro-probes")
    args = parser.parse_args()
    uv = find_uv()
    if uv is None:
        sys.exit("uv is needed to build the environments: pip install uv")
    config = IndexConfig.from_pip()
    sources = [*(["--index-url", config.index_url] if config.index_url else []),
               *(arg for url in config.extra_index_urls for arg in ("--extra-index-url", url))]
    cases = tomllib.loads(args.cases.read_text())["case"]
    cases = [c for c in cases if not args.only or c["name"] in args.only]
    ROOT.mkdir(parents=True, exist_ok=True)
    rows, results, cold_times, warm_times, unwaited = [], {}, [], [], []
    for case in cases:
        env = build(case, uv, sources)
        with tempfile.TemporaryDirectory(prefix="cache-", dir=ROOT) as cache:
            extra = ["--no-probes"] if args.no_probes else []
            cold, first = diagnose(env, case, Path(cache), extra)
            warm, data = diagnose(env, case, Path(cache), extra)
        exact, right, words = judge(case, data)
        cold_times.append(cold)
        warm_times.append(warm)
        # What waiting for pip's configuration (a pip subprocess or two) cost the warm run.
        unwaited.append(warm - (data.get("phases") or {}).get("sources", 0.0))
        results[case["name"]] = {"cold": cold, "warm": warm, "exact": exact, "right": right,
                                 "diagnosis": data, "first": first}
        rows.append(f"| {case['name']} | {case['expect']['package']} {case['expect']['symbol']} "
                    f"| {words} | {'yes' if exact else 'NO'} | {'yes' if right else 'NO'} "
                    f"| {cold:.1f} | {warm:.1f} | {len(data.get('scanned', []))} "
                    f"| {first.get('micro_probe_count', 0)} "
                    f"| {'yes' if (data.get('run') or {}).get('reused') else 'no'} |")
        print(rows[-1], flush=True)
    args.out.write_text(json.dumps(results, indent=1))
    print("\n| case | removed | boundary found | exact | right fix | cold s | warm s | wheels "
          "| micro-probes | run reused |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    exact = sum(r["exact"] for r in results.values())
    right = sum(r["right"] for r in results.values())
    micro = sum(r["first"].get("micro_probe_count", 0) for r in results.values())
    print(f"\n{len(results)} cases: {exact} exact boundaries, {right} right fixes, "
          f"{micro} micro-probes; "
          f"cold median {statistics.median(cold_times):.1f} s, worst {max(cold_times):.1f} s; "
          f"warm median {statistics.median(warm_times):.1f} s, worst {max(warm_times):.1f} s; "
          f"warm without the wait for pip's configuration: median "
          f"{statistics.median(unwaited):.1f} s, worst {max(unwaited):.1f} s")


if __name__ == "__main__":
    main()
