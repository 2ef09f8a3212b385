"""Show, from the releases' own files, the evidence for each benchmark boundary.

Run by hand:  python bench/check_boundaries.py [--only NAME ...]

For every case of bench/diagnose_cases.toml it downloads the two releases on
either side of the expected boundary with pip (any file: wheel or sdist) and
prints the lines of the module's source that bind the name (or the module's
files, for a removed module), so a person can read that the name is there in
one and gone from the other, and which releases of the index lie between the
two (there must be none). It shares no code with envprobe's scanner.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from packaging.version import Version

from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex


def fetch(package: str, version: str, folder: Path, index: PackageIndex) -> Path | None:
    """pip's choice for this machine; else, for a release pip cannot fetch here (no wheel
    for this Python and an sdist that does not build), any wheel the index has, or its sdist."""
    target = folder / f"{package}-{version}"
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d",
                    str(target), f"{package}=={version}"], check=False, capture_output=True)
    files = sorted(target.glob("*"), key=lambda p: not p.name.endswith(".whl"))
    if files:
        return files[0]
    listed = sorted(index.files(package, version),
                    key=lambda f: (not f.is_wheel, not f.filename.endswith((".whl", ".tar.gz"))))
    return index.download(listed[0]) if listed else None


def members(archive: Path) -> dict[str, str]:
    """Python files of a wheel or sdist: path inside the package tree -> text."""
    found: dict[str, str] = {}
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.endswith(".py"):
                    found[name] = zf.read(name).decode("utf-8", "replace")
    else:
        with tarfile.open(archive) as tf:
            for member in tf.getmembers():
                if member.isfile() and member.name.endswith(".py"):
                    data = tf.extractfile(member)
                    if data is not None:
                        found[member.name.split("/", 1)[1]] = data.read().decode("utf-8", "replace")
    return found


def evidence(files: dict[str, str], module: str, symbol: str) -> list[str]:
    path = module.replace(".", "/")
    candidates = {k: v for k, v in files.items()
                  if k.endswith((f"{path}.py", f"{path}/__init__.py"))
                  and not k.startswith(("tests/", "test/"))}
    if symbol == module:  # a removed module: its files are the evidence
        return sorted(k for k in files if f"{path}/" in k or k.endswith(f"{path}.py"))[:5]
    pattern = re.compile(rf"(^(def|class)\s+{re.escape(symbol)}\b|^{re.escape(symbol)}\s*[:=]|"
                         rf"\bimport\b.*\b{re.escape(symbol)}\b|^\s+{re.escape(symbol)},?\s*$|"
                         rf"['\"]{re.escape(symbol)}['\"])")
    lines = []
    for name, text in sorted(candidates.items()):
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                lines.append(f"{name}:{number}: {line.strip()[:110]}")
    lines += sorted(k for k in files if k.endswith((f"{path}/{symbol}.py",
                                                    f"{path}/{symbol}/__init__.py")))
    if not candidates:
        lines.append(f"(no {path}.py or {path}/__init__.py in this release)")
    return lines[:6]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=REPO / "bench" / "diagnose_cases.toml")
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()
    cases = tomllib.loads(args.cases.read_text())["case"]
    index = PackageIndex(IndexConfig.from_pip())
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            if args.only and case["name"] not in args.only:
                continue
            expect = case["expect"]
            module = expect.get("module", expect["symbol"])
            sides = (("last_with", "first_without") if expect.get("direction", "removed")
                     == "removed" else ("last_without", "first_with"))
            print(f"== {case['name']}: {expect['package']} {expect['symbol']} in {module}")
            low, high = (Version(expect[side]) for side in sides)
            between = [str(v) for v in index.versions(expect["package"]) if low < v < high]
            print(f"  releases between: {', '.join(between) or 'none'}")
            for side in sides:
                archive = fetch(expect["package"], expect[side], Path(tmp), index)
                print(f"  {side} {expect[side]}: {archive.name if archive else 'NOT FOUND'}")
                if archive is not None:
                    for line in evidence(members(archive), module, expect["symbol"]) or ["(none)"]:
                        print(f"    {line}")


if __name__ == "__main__":
    main()
