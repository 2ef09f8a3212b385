"""`envprobe diagnose` on a real, already built environment of made-up packages.

One virtual environment holds every broken case at once (as a user's does);
each test diagnoses one import, and checks that the environment is
byte-for-byte what it was: the same files with the same contents, no
`__pycache__` added, the same installed set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import build_chain
from wheelfactory import build_wheel

from envprobe.cli import main
from envprobe.probing.store import Store

pytestmark = pytest.mark.slow

_CHECKER = (
    "from importlib.metadata import version\n"
    "found = version('vlib')\n"
    "if not found.startswith('1.'):\n"
    "    raise ImportError(f'vlib>=1.0,<2 is required for a normal functioning of this module, "
    "but found vlib=={found}.')\n"
)

# What the user installed: every case's importer, and providers past their boundaries.
INSTALLED = ["toolkit==1.0", "fakehub==2.0", "formers==5.0", "pairhub==2.0", "moduser==1.0",
             "modhost==2.0", "checker==1.0", "vlib==2.0", "impuser==1.0", "imphub==2.0",
             "impdep==2.0", "twostep==1.0", "hubone==2.0", "hubtwo==2.0",
             "xuser==1.0", "xhub==2.0", "xdep==2.0", "speechlib==1.0", "dynhub==2.0",
             "euser==1.0", "ehub==2.0", "edep==2.0", "elib==1.0"]

# A name bound where no reading of the source can see it: only running the release tells.
_DYNAMIC = "globals().update({{name: object() for name in {names!r}.split()}})\n"


def build_cases(out: Path) -> Path:
    build_chain(out)
    # Two names of one import: Beta left in 1.5, Alpha in 2.0.
    for version, names in (("1.0", "Alpha Beta"), ("1.5", "Alpha"), ("2.0", "")):
        body = "".join(f"class {n}:\n    pass\n" for n in names.split())
        build_wheel(out, "pairhub", version, {"pairhub/__init__.py": body or "VERSION = 2\n"})
    # A module of a distribution nobody declared: modhost dropped legacy_mod in 2.0.
    build_wheel(out, "modhost", "1.0", {"modhost/__init__.py": "", "legacy_mod.py": "X = 1\n"})
    build_wheel(out, "modhost", "2.0", {"modhost/__init__.py": ""})
    build_wheel(out, "moduser", "1.0", {"moduser/__init__.py": "import legacy_mod\n"})
    # An import-time version check.
    for version in ("1.0", "1.5", "2.0"):
        build_wheel(out, "vlib", version, {"vlib/__init__.py": ""})
    build_wheel(out, "checker", "1.0", {"checker/__init__.py": _CHECKER}, requires=["vlib"])
    # Moving the provider back would drag impdep along; the importer's next release is one move.
    build_wheel(out, "imphub", "1.0", {"imphub/__init__.py": "class Old:\n    pass\n"})
    build_wheel(out, "imphub", "2.0", {"imphub/__init__.py": "class New:\n    pass\n"})
    build_wheel(out, "impuser", "1.0", {"impuser/__init__.py": "from imphub import Old\n"},
                requires=["imphub>=1.0"])
    build_wheel(out, "impuser", "1.1", {"impuser/__init__.py": "from imphub import New\n"},
                requires=["imphub>=2.0"])
    build_wheel(out, "impdep", "1.0", {"impdep/__init__.py": ""}, requires=["imphub>=1.0"])
    build_wheel(out, "impdep", "2.0", {"impdep/__init__.py": ""}, requires=["imphub>=2.0"])
    # Two removals met one after the other: only the second run shows the second.
    for hub, name in (("hubone", "First"), ("hubtwo", "Second")):
        build_wheel(out, hub, "1.0", {f"{hub}/__init__.py": f"class {name}:\n    pass\n"})
        build_wheel(out, hub, "2.0", {f"{hub}/__init__.py": ""})
    build_wheel(out, "twostep", "1.0", {
        "twostep/__init__.py": "from hubone import First\nfrom twostep import second\n",
        "twostep/second.py": "from hubtwo import Second\n"}, requires=["hubone", "hubtwo"])
    # The importer installed with an extra ([speech]) that must survive its move;
    # its other extra ([video]) is not installed and must not be added.
    build_wheel(out, "xhub", "1.0", {"xhub/__init__.py": "class Old:\n    pass\n"})
    build_wheel(out, "xhub", "2.0", {"xhub/__init__.py": "class New:\n    pass\n"})
    build_wheel(out, "xdep", "1.0", {"xdep/__init__.py": ""}, requires=["xhub>=1.0"])
    build_wheel(out, "xdep", "2.0", {"xdep/__init__.py": ""}, requires=["xhub>=2.0"])
    build_wheel(out, "speechlib", "1.0", {"speechlib/__init__.py": ""})
    for version, imports, floor in (("1.0", "Old", "1.0"), ("1.1", "New", "2.0")):
        build_wheel(out, "xuser", version, {"xuser/__init__.py": f"from xhub import {imports}\n"},
                    requires=[f"xhub>={floor}"],
                    extras={"speech": ["speechlib>=1.0"], "video": ["videolib>=1.0"]})
    # No one-package move does it: ehub cannot go back (edep has no release that accepts
    # it), and the importer's next release needs its extra's library moved too.
    build_wheel(out, "ehub", "1.0", {"ehub/__init__.py": "class Old:\n    pass\n"})
    build_wheel(out, "ehub", "2.0", {"ehub/__init__.py": "class New:\n    pass\n"})
    build_wheel(out, "edep", "2.0", {"edep/__init__.py": ""}, requires=["ehub>=2.0"])
    for version in ("1.0", "2.0"):
        build_wheel(out, "elib", version, {"elib/__init__.py": ""})
    for version, imports, floor in (("1.0", "Old", "elib<2"), ("1.1", "New", "elib>=2")):
        build_wheel(out, "euser", version, {"euser/__init__.py": f"from ehub import {imports}\n"},
                    requires=["ehub"], extras={"speech": [floor]})
    for version, names in (("1.0", "Gone Kept"), ("1.5", "Gone Kept"), ("2.0", "Kept")):
        build_wheel(out, "dynhub", version, {"dynhub/__init__.py": _DYNAMIC.format(names=names)})
    return out


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cases(tmp_path_factory.mktemp("diagnose-dists"))


@pytest.fixture(scope="module")
def user_env(dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's environment, built the way a user builds one (venv + pip); no bytecode
    compiled, so an import that wrote any would show."""
    venv = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                    "--find-links", str(dists), "--no-deps", "--no-compile", *INSTALLED],
                   check=True, env=env)
    for cache in list(venv.rglob("__pycache__")):  # pip's and setuptools' own bytecode too
        shutil.rmtree(cache)
    return venv


def snapshot(venv: Path) -> str:
    """Every file and folder under the environment, with its contents, as one hash."""
    digest = hashlib.sha256()
    for path in sorted(venv.rglob("*")):
        digest.update(str(path.relative_to(venv)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@pytest.fixture
def diagnose(user_env: Path, dists: Path, capsys: pytest.CaptureFixture):
    """Run `envprobe diagnose --json` on the user's environment; checks it was left as it was."""
    before = snapshot(user_env)

    def run(*argv: str) -> tuple[int, dict]:
        code = main(["diagnose", "--python", str(user_env / "bin" / "python"), "--no-index",
                     "--find-links", str(dists), "--json", *argv])
        out = capsys.readouterr().out
        assert snapshot(user_env) == before, "the user's environment changed"
        return code, json.loads(out)

    return run


def boundary(data: dict, symbol: str) -> tuple:
    found = next(b for b in data["boundaries"] if b["symbol"] == symbol)
    return found["package"], found["direction"], found["last_with"], found["first_without"]


def test_a_removed_name_gets_its_exact_boundary_and_the_provider_moved_below_it(diagnose):
    code, data = diagnose("-m", "toolkit")
    assert code == 1 and data["status"] == "broken"
    failure = data["failure"]
    assert (failure["kind"], failure["name"], failure["package"], failure["version"]) == (
        "missing_symbol", "ModelFilter", "fakehub", "2.0")
    assert (failure["importer"], failure["importer_package"]) == ("toolkit/core.py:1", "toolkit")
    assert boundary(data, "ModelFilter") == ("fakehub", "removed", "1.1", "2.0")
    best = data["fixes"][0]
    # formers 5.0 needs fakehub>=2.0: it moves too, or the fix would break its declaration.
    assert best["changes"] == {"fakehub": "<2.0", "formers": "==4.0"}
    assert best["versions"] == {"fakehub": "1.1", "formers": "4.0"}
    assert best["verified"] is None and "pip install" in best["command"]
    assert data["declared_conflicts"] == [] and data["seconds"] > 0


def test_every_missing_name_of_one_import_is_named_and_the_fix_clears_them_all(diagnose):
    code, data = diagnose("-c", "from pairhub import Alpha, Beta")
    assert code == 1
    assert data["failure"]["name"] == "Alpha"
    assert [m["name"] for m in data["also_missing"]] == ["Beta"]
    assert boundary(data, "Alpha") == ("pairhub", "removed", "1.5", "2.0")
    assert boundary(data, "Beta") == ("pairhub", "removed", "1.0", "1.5")
    assert data["fixes"][0]["versions"] == {"pairhub": "1.0"}


def test_a_module_gone_from_an_undeclared_dependency_points_at_its_old_owner(diagnose):
    code, data = diagnose("-m", "moduser")
    assert code == 1
    assert data["failure"]["kind"] == "missing_module"
    assert data["failure"]["name"] == "legacy_mod"
    assert boundary(data, "legacy_mod") == ("modhost", "removed", "1.0", "2.0")
    assert data["fixes"][0]["changes"] == {"modhost": "<2.0"}


def test_an_import_time_version_check_is_met_by_the_newest_release_it_accepts(diagnose):
    code, data = diagnose("-m", "checker")
    assert code == 1
    failure = data["failure"]
    assert failure["kind"] == "dependency_check"
    assert failure["requirements"] == ["vlib<2,>=1.0"]
    assert data["fixes"][0]["versions"] == {"vlib": "1.5"}


def test_the_importer_moves_when_moving_the_provider_would_change_more(diagnose):
    code, data = diagnose("-m", "impuser", "--verify")
    assert code == 1
    assert boundary(data, "Old") == ("imphub", "removed", "1.0", "2.0")
    first, second = data["fixes"][:2]
    assert first["changes"] == {"impuser": "==1.1"}
    assert first["verified"] is True and first["probe_id"] is not None
    assert second["changes"] == {"imphub": "<2.0", "impdep": "==1.0"}
    assert second["verified"] is None  # --verify proves the best fix only: one install


def test_running_the_users_code_does_not_read_ahead_of_its_failure(diagnose):
    # Reading ahead costs up to 20 s on a NeMo-sized tree and only a solver learns from it.
    code, data = diagnose("-m", "twostep")
    assert code == 1 and data["failure"]["name"] == "First"
    assert data["failure"]["ahead"] == []


def test_fix_keeps_going_until_the_code_runs_in_a_copy(diagnose):
    code, data = diagnose("-m", "twostep", "--fix")
    assert code == 1  # the user's environment still fails: it was not touched
    best = data["fixes"][0]
    assert best["versions"] == {"hubone": "1.0", "hubtwo": "1.0"}
    assert best["verified"] is True


def test_a_moved_importer_keeps_the_extras_the_user_installed(diagnose):
    code, data = diagnose("-m", "xuser")
    assert code == 1
    assert boundary(data, "Old") == ("xhub", "removed", "1.0", "2.0")
    moving = next(f for f in data["fixes"] if "xuser" in f["changes"])
    assert moving["versions"] == {"xuser": "1.1"}
    assert moving["extras"] == {"xuser": ["speech"]}  # not [video]: videolib is not installed
    assert "'xuser[speech]==1.1'" in moving["command"]


def test_the_nearest_consistent_set_is_proposed_when_no_single_move_does_it(diagnose):
    code, data = diagnose("-m", "euser")
    assert code == 1
    assert boundary(data, "Old") == ("ehub", "removed", "1.0", "2.0")
    best = data["fixes"][0]
    assert best["versions"] == {"euser": "1.1", "elib": "2.0"}
    assert "'euser[speech]==1.1'" in best["command"] and best["verified"] is None
    assert "nearest" in best["note"]


def test_a_micro_probe_settles_what_no_wheel_can_say(diagnose):
    code, data = diagnose("-c", "from dynhub import Gone")
    assert code == 1
    assert boundary(data, "Gone") == ("dynhub", "removed", "1.5", "2.0")
    assert data["micro_probe_count"] == len(data["micro_probes"]) >= 1
    assert data["fixes"][0]["versions"] == {"dynhub": "1.5"}
    code, data = diagnose("-c", "from dynhub import Gone", "--no-probes")
    assert code == 1 and data["micro_probe_count"] == 0
    assert not any(b["symbol"] == "Gone" and b["direction"] == "removed"
                   for b in data["boundaries"])


def test_fix_solves_from_the_installed_releases_and_prints_the_whole_change(diagnose):
    code, data = diagnose("-m", "toolkit", "--fix")
    assert code == 1
    best = data["fixes"][0]
    # fakehub to its nearest release with the name; formers 5.0 needs fakehub>=2.0,
    # so it steps back to its nearest release that accepts 1.1; nothing else moves.
    assert best["versions"] == {"fakehub": "1.1", "formers": "4.0"}
    assert best["moves"] == ["fakehub 2.0 -> 1.1", "formers 5.0 -> 4.0"]
    assert best["verified"] is True and "fakehub==1.1" in best["command"]
    with Store(os.environ["ENVPROBE_STORE"]) as store:  # what it learned, for the next --fix
        kept = store.last_solve(f"diagnose {data['python']}")
    assert kept["status"] == "solved" and kept["pins"] == best["versions"]
    assert any(r["requires"] == "fakehub<2.0" for r in kept["rules"])


def test_fix_moves_the_importer_when_that_is_the_nearest_consistent_set(diagnose):
    code, data = diagnose("-m", "impuser", "--fix")
    assert code == 1
    best = data["fixes"][0]
    assert best["versions"] == {"impuser": "1.1"} and best["verified"] is True


def test_fix_clears_every_missing_name_of_one_import(diagnose):
    code, data = diagnose("-c", "from pairhub import Alpha, Beta", "--fix")
    assert code == 1
    best = data["fixes"][0]
    assert best["versions"] == {"pairhub": "1.0"} and best["verified"] is True


def test_a_pasted_traceback_is_diagnosed_like_a_run(diagnose, user_env, tmp_path):
    run = subprocess.run([str(user_env / "bin" / "python"), "-I", "-B", "-c", "import toolkit"],
                         check=False, capture_output=True, text=True, cwd=tmp_path)
    pasted = tmp_path / "traceback.txt"
    pasted.write_text("some log line\n" + run.stderr)
    code, data = diagnose("--traceback", str(pasted))
    assert code == 1
    failure = data["failure"]
    assert (failure["name"], failure["package"], failure["importer"]) == (
        "ModelFilter", "fakehub", "toolkit/core.py:1")
    assert boundary(data, "ModelFilter") == ("fakehub", "removed", "1.1", "2.0")


def test_code_that_runs_is_said_to_work(diagnose):
    code, data = diagnose("-c", "import vlib")
    assert (code, data["status"], data["failure"], data["fixes"]) == (0, "works", None, [])


@pytest.mark.parametrize("argv, words", [
    (["-m", "not a module"], "not a module name"),
    (["--traceback", "/nonexistent/traceback.txt"], "cannot read the traceback"),
])
def test_bad_input_is_one_line_and_exit_2(argv, words, user_env, capsys):
    code = main(["diagnose", "--python", str(user_env / "bin" / "python"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1


def test_the_snapshot_would_see_an_import_that_wrote_bytecode(dists, tmp_path):
    """The control: without `-B`, an import into an uncompiled environment writes there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q",
                    "--no-index", "--find-links", str(dists), "--no-compile", "vlib==1.0"],
                   check=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    before = snapshot(venv)
    subprocess.run([python, "-I", "-c", "import vlib"], check=True)
    assert snapshot(venv) != before
