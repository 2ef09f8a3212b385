"""`envprobe diagnose` reuses its run of the code (and the boundaries it found) while the
environment is unchanged.

A real virtual environment of made-up packages, changed between diagnoses
with real pip: an unchanged environment answers from the kept run (and says
when it ran), `--refresh` runs the code again, and any install, upgrade or
removal there runs it again too, so a changed outcome is seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build_chain
from test_diagnose import snapshot
from wheelfactory import build_wheel

from envprobe.cli import main
from envprobe.diagnosing.run_cache import fingerprint

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = build_chain(tmp_path_factory.mktemp("reuse-dists"))
    build_wheel(out, "bystander", "1.0", {"bystander/__init__.py": ""})
    return out


@pytest.fixture
def venv(dists: Path, tmp_path: Path) -> Path:
    """toolkit 1.0 beside fakehub 2.0, which dropped the ModelFilter toolkit imports."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip(venv, dists, "toolkit==1.0", "fakehub==2.0")
    return venv


def pip(venv: Path, dists: Path, *argv: str, command: str = "install") -> None:
    extra = ["--no-index", "--find-links", str(dists), "--no-deps"] if command == "install" \
        else ["-y"]
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", command, "-q", *extra, *argv],
                   check=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull,
                                    "PIP_DISABLE_PIP_VERSION_CHECK": "1"})


def run(venv: Path, dists: Path, capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, dict]:
    before = snapshot(venv)
    code = main(["diagnose", "--python", str(venv / "bin" / "python"), "--no-index",
                 "--find-links", str(dists), "--json", "-m", "toolkit", *argv])
    assert snapshot(venv) == before, "the user's environment changed"
    return code, json.loads(capsys.readouterr().out)


def test_an_unchanged_environment_answers_from_the_kept_run(venv, dists, capsys):
    code, first = run(venv, dists, capsys)
    assert code == 1 and first["run"]["reused"] is False
    code, again = run(venv, dists, capsys)
    assert code == 1 and again["run"] == first["run"] | {"reused": True}
    assert any("environment unchanged" in note for note in again["notes"])
    assert any(note.startswith("boundaries as found at") for note in again["notes"])
    assert again["failure"] == first["failure"] and again["rules"] == first["rules"]
    assert again["boundaries"] == first["boundaries"] and again["fixes"] == first["fixes"]
    code, refreshed = run(venv, dists, capsys, "--refresh")
    assert code == 1 and refreshed["run"]["reused"] is False
    assert not any(note.startswith("boundaries as found") for note in refreshed["notes"])
    assert refreshed["boundaries"] == first["boundaries"]


def test_any_change_to_the_environment_runs_the_code_again(venv, dists, capsys):
    assert run(venv, dists, capsys)[0] == 1
    pip(venv, dists, "bystander==1.0")  # nothing the code imports: a run all the same
    code, data = run(venv, dists, capsys)
    assert code == 1 and data["run"]["reused"] is False
    pip(venv, dists, "fakehub==1.1")  # the fix, made by hand: the new run sees it
    code, data = run(venv, dists, capsys)
    assert (code, data["status"], data["run"]["reused"]) == (0, "works", False)
    pip(venv, dists, "bystander", command="uninstall")
    code, data = run(venv, dists, capsys)
    assert (code, data["run"]["reused"]) == (0, False)
    assert run(venv, dists, capsys)[1]["run"]["reused"] is True


def test_the_fingerprint_follows_installs_upgrades_and_removals(venv, dists):
    path = tuple(str(p) for p in (venv / "lib").glob("python*/site-packages"))
    seen = [fingerprint(path)]
    for argv, command in ((("bystander==1.0",), "install"), (("fakehub==1.1",), "install"),
                          (("bystander",), "uninstall")):
        pip(venv, dists, *argv, command=command)
        seen.append(fingerprint(path))
    assert len(set(seen)) == len(seen)
    assert fingerprint(path) == seen[-1]  # and it is stable while nothing changes
