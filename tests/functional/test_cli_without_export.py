"""Without the `export` extra: every command but export/transcribe works, and those two say what to install.

One child process hides torch, onnx, onnxruntime, numpy and yaml behind an
import hook that raises ImportError, then runs several command lines through
`envprobe.cli.main`, recording each one's exit code, output and which hidden
modules it asked for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envprobe.probing.store import Store

REPO = Path(__file__).resolve().parents[2]
HIDDEN = ("torch", "onnx", "onnxruntime", "numpy", "yaml")

CHILD = f"""
import contextlib, io, json, sys
from importlib.abc import MetaPathFinder

HIDDEN = {HIDDEN!r}
asked = []

class Hide(MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in HIDDEN:
            asked.append(name)
            raise ImportError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Hide())
for name in [n for n in sys.modules if n.partition(".")[0] in HIDDEN]:
    del sys.modules[name]

from envprobe.cli import main

runs = []
for argv in json.loads(sys.argv[1]):
    asked.clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exited:
            code = exited.code
    runs.append({{"code": code, "out": out.getvalue(), "err": err.getvalue(),
                 "asked": sorted(set(asked))}})
print(json.dumps(runs))
"""

SCENARIO = """
[scenario]
name = "{name}"
probe = ["import fakehub"]

[packages]
fakehub = "*"
"""


def run_without_export(argvs: list[list[str]], cwd: Path) -> list[dict]:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(argvs)], cwd=cwd, capture_output=True,
        text=True, timeout=300, check=False, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


def test_only_export_and_transcribe_need_the_extra(tmp_path, chain_dists):
    store = tmp_path / "store.sqlite3"
    stored = json.loads((REPO / "constraints" / "nemo-asr-import.result.json").read_text())
    with Store(store) as db:
        db.save_solve("nemo-asr", stored)
    (tmp_path / "nemo.toml").write_text(SCENARIO.format(name="nemo-asr"))
    (tmp_path / "hub.toml").write_text(SCENARIO.format(name="hub"))
    sources = ["--no-index", "--find-links", str(chain_dists), "--installer", "pip"]

    help_, report, solve, probe, export, transcribe, export_json = run_without_export([
        ["--help"],
        ["report", "nemo.toml", "--store", str(store)],
        ["solve", "hub.toml", "--json", *sources],
        ["probe", "--pin", "fakehub==2.1", "--import", "fakehub", *sources],
        ["export", "m.nemo", "-o", "out"],
        ["transcribe", "out", "a.wav"],
        ["export", "m.nemo", "-o", "out", "--json"],
    ], cwd=tmp_path)

    assert help_["code"] == 0 and "transcribe" in help_["out"]
    assert report["code"] == 0, report["err"]
    assert (tmp_path / "REPORT.md").exists()
    assert solve["code"] == 0, solve["err"]
    assert json.loads(solve["out"])["pins"] == {"fakehub": "2.1"}
    assert probe["code"] == 0 and "OK fakehub==2.1" in probe["out"]
    for run in (help_, report, solve, probe):
        assert run["asked"] == [], "a command outside export imported an exporter library"

    for run, command in ((export, "export"), (transcribe, "transcribe")):
        assert run["code"] == 2 and run["out"] == ""
        assert run["err"].count("\n") == 1, run["err"]
        assert run["err"].startswith(f"envprobe: {command} needs the export extra (")
        assert run["err"].endswith("pip install 'envprobe[export]'\n")
    assert export_json["code"] == 2
    assert json.loads(export_json["out"])["status"] == "error"
    assert not (tmp_path / "out").exists()


def test_a_broken_exporter_is_not_called_a_missing_extra():
    from envprobe.cli.export import _missing_extra

    broken = ImportError("cannot import name 'nothing'", name="manual_export.api")
    with pytest.raises(ImportError, match="nothing"):
        _missing_extra("export", broken)
