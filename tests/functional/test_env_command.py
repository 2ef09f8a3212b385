"""`envprobe env` and the constraints header, checked the hard way: fresh venvs, empty caches.

Made-up packages on 127.0.0.1: `needscy` is an sdist whose build imports
`fakecython` without declaring it (the pattern of `test_solver_traps`), so
it installs with an empty pip cache only through the steps the solve
learned; `needsbk` is the same through a build backend it declares
(`fakebackend`, as youtokentome's setup.py has setuptools), which a build
without isolation needs too; `app` needs `helper`, whose newest release is
not the answer's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_solver_traps import BACKEND, PYPROJECT
from wheelfactory import build_sdist, build_wheel, serve_dists

from envprobe.model.outcome import ProbeOutcome, Status
from envprobe.model.result import Attempt, SolveResult
from envprobe.model.rules import Rule
from envprobe.model.scenario import load_scenario
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.installed import installed_distributions
from envprobe.probing.interpreter import describe
from envprobe.probing.store import Store
from envprobe.report.constraints import render_constraints, uv_overrides
from envprobe.solving.workflow import solve_scenario

HERE = describe(sys.executable)
BECAUSE = ("building needscy imports fakecython, which its build requirements do not "
           "declare: pre-install it and build without isolation")
DECLARED_BACKEND = '[build-system]\nrequires = ["fakebackend"]\nbuild-backend = "fakebackend"\n'
JSON_KEYS = {"status", "dir", "python", "installed", "steps", "probe", "seconds"}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    dists = tmp_path_factory.mktemp("env-dists")
    build_wheel(dists, "fakecython", "3.0", {"fakecython/__init__.py": ""})
    build_sdist(dists, "needscy", "1.0", {"pyproject.toml": PYPROJECT, "backend.py": BACKEND})
    build_wheel(dists, "fakebackend", "1.0",
                {"fakebackend/__init__.py": BACKEND.replace("needscy", "needsbk")})
    build_sdist(dists, "needsbk", "1.0", {"pyproject.toml": DECLARED_BACKEND})
    for version in ("1.0", "2.0"):
        build_wheel(dists, "helper", version, {"helper/__init__.py": f"V = {version!r}\n"})
    build_wheel(dists, "app", "1.0", {"app/__init__.py": "import helper\n"}, requires=["helper"])
    with serve_dists(dists, tmp_path_factory.mktemp("env-index")) as url:
        yield url


def scenario(folder: Path, packages: str, probe: str, installer: str = "pip") -> Path:
    path = folder / "kept.toml"
    path.write_text(f'[scenario]\nname = "kept"\nprobe = ["{probe}"]\n[packages]\n{packages}\n'
                    f'[install]\ninstaller = "{installer}"\nallow_sdist = true\n'
                    "[budget]\nmax_installs = 4\n")
    return path


def envprobe(*args: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envprobe", *args], cwd=cwd,
                          env={**os.environ, **environ}, capture_output=True, text=True,
                          timeout=300, check=False)


def answer(installed: dict[str, str], *, installer: str = "pip", build: str | None = None,
           status: str = "solved", python: str = HERE.version) -> SolveResult:
    """A stored answer shaped as a solve leaves it: the passing probe's set, its rules.

    `build` names the project a rule says to build without isolation after
    pre-installing `fakecython`.
    """
    rules = [Rule(requires="fakecython", because=BECAUSE.replace("needscy", build),
                  kind="build", package=build, evidence=(1,),
                  install_option="build_without_isolation")] if build else []
    pins = {n: v for n, v in installed.items() if n in ("needscy", "needsbk", "app")}
    outcome = ProbeOutcome(status=Status.OK, pins=pins, installed=installed, installer=installer,
                           probe_id=2, requirements=[f"{n}=={v}" for n, v in pins.items()])
    return SolveResult(scenario="kept", status=status, reason="probe #2 passed", pins=pins,
                       installed=installed, installer=installer, python=python,
                       platform=HERE.platform, rules=rules,
                       attempts=[Attempt("proposal", pins, outcome)])


def store(result: SolveResult) -> None:
    with Store.default() as opened:
        opened.save_solve(result.scenario, result.to_dict())


@pytest.mark.slow
def test_solved_set_builds_in_a_new_folder_with_an_empty_pip_cache(tmp_path, index):
    path = scenario(tmp_path, 'needscy = "*"', "import needscy")
    result = solve_scenario(load_scenario(path), index_url=index)
    assert result.status == "solved" and result.rules, result.reason
    empty = tmp_path / "empty-pip-cache"
    empty.mkdir()

    built = envprobe("env", "kept.toml", "venv", "--json", "--index-url", index, cwd=tmp_path,
                     PIP_CACHE_DIR=str(empty))

    assert built.returncode == 0, built.stderr
    data = json.loads(built.stdout)
    assert JSON_KEYS <= set(data)
    assert (data["status"], data["answer"], data["probe"]) == (
        "ok", "store", {"status": "ok", "failure": None})
    assert data["installed"] == result.installed == {"fakecython": "3.0", "needscy": "1.0"}
    assert any("--no-build-isolation" in step for step in data["steps"])
    assert data["python"] == str(tmp_path / "venv" / "bin" / "python")
    inside = subprocess.run([data["python"], "-c", "import needscy; print(needscy.BUILT_WITH)"],
                            capture_output=True, text=True, check=True)
    assert inside.stdout.strip() == "fakecython"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "empty-pip-cache", "kept.toml", "venv"], "nothing beside the environment"

    again = envprobe("env", "kept.toml", "venv", "--index-url", index, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "not empty" in again.stderr

    forced = envprobe("env", "kept.toml", "venv", "--force", "--index-url", index, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "the probe code passed there" in forced.stdout


@pytest.mark.slow
def test_a_scenario_never_solved_is_solved_first(tmp_path, index):
    scenario(tmp_path, 'needscy = "*"', "import needscy", installer="uv")

    built = envprobe("env", "kept.toml", "venv", "--json", "--index-url", index, cwd=tmp_path)

    assert built.returncode == 0, built.stderr
    data = json.loads(built.stdout)
    assert (data["status"], data["answer"], data["installer"]) == ("ok", "solve", "uv")
    assert "solving it first" in built.stderr
    assert any("--no-build-isolation-package needscy" in step for step in data["steps"])
    assert data["installed"] == {"fakecython": "3.0", "needscy": "1.0"}
    with Store.default() as opened:
        assert opened.last_solve("kept")["status"] == "solved"
    assert "seconds" in data and data["seconds"]["solve"] > 0


@pytest.mark.slow
def test_a_build_without_isolation_gets_the_backend_its_project_declares(tmp_path, index):
    """An answer whose rule names only the undeclared module, as the stored NeMo one does."""
    store(answer({"fakebackend": "1.0", "fakecython": "3.0", "needsbk": "1.0"}, build="needsbk"))
    scenario(tmp_path, 'needsbk = "*"', "import needsbk")
    empty = tmp_path / "empty-pip-cache"
    empty.mkdir()

    built = envprobe("env", "kept.toml", "venv", "--json", "--index-url", index, cwd=tmp_path,
                     PIP_CACHE_DIR=str(empty))

    assert built.returncode == 0, built.stderr + built.stdout
    data = json.loads(built.stdout)
    assert data["steps"][0].endswith("fakebackend==1.0 fakecython==3.0"), data["steps"]
    assert data["installed"] == {"fakebackend": "1.0", "fakecython": "3.0", "needsbk": "1.0"}


def test_the_answers_exact_set_is_installed_not_a_new_resolution(tmp_path, index):
    store(answer({"app": "1.0", "helper": "1.0"}))
    scenario(tmp_path, 'app = "*"', "import app, helper; assert helper.V == '1.0', helper.V")

    built = envprobe("env", "kept.toml", "venv", "--json", "--index-url", index, cwd=tmp_path)

    assert built.returncode == 0, built.stderr
    data = json.loads(built.stdout)
    assert data["installed"] == {"app": "1.0", "helper": "1.0"}, "helper 2.0 is newer"
    assert data["steps"] == [step for step in data["steps"] if "--no-build-isolation" not in step]


def test_a_probe_that_fails_in_the_new_environment_exits_1_and_keeps_it(tmp_path, index):
    store(answer({"app": "1.0", "helper": "1.0"}))
    scenario(tmp_path, 'app = "*"', "import app, nosuchmodule")

    built = envprobe("env", "kept.toml", "venv", "--json", "--index-url", index, cwd=tmp_path)

    assert built.returncode == 1, built.stderr
    data = json.loads(built.stdout)
    assert (data["status"], data["probe"]["status"]) == ("failed", "failed")
    assert data["probe"]["failure"]["kind"] == "missing_module"
    assert (tmp_path / "venv" / "pyvenv.cfg").exists()


@pytest.mark.parametrize(("case", "expected"), [
    ("folder with files", "not empty"),
    ("folder with files, --force", "is not a virtual environment"),
    ("a file", "is not a folder"),
    ("a link to an environment, --force", "is a symbolic link"),
    ("unsatisfiable", "ended unsatisfiable"),
    ("another python", "proven on Python 2.7.18"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case, expected):
    scenario(tmp_path, 'app = "*"', "import app")
    target = tmp_path / "venv"
    if case.startswith("folder"):
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    elif case == "a file":
        target.write_text("mine")
    elif case.startswith("a link"):
        (tmp_path / "real").mkdir()
        (tmp_path / "real" / "pyvenv.cfg").write_text("home = /usr/bin\n")
        target.symlink_to(tmp_path / "real")
    elif case == "unsatisfiable":
        store(answer({}, status="unsatisfiable"))
    else:
        store(answer({"app": "1.0"}, python="2.7.18"))
    force = ["--force"] if case.endswith("--force") else []

    refused = envprobe("env", "kept.toml", "venv", *force, "--no-index", cwd=tmp_path)

    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and expected in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    if case.startswith("folder"):
        assert (target / "notes.txt").read_text() == "mine", "--force deletes no user files"
    if case.startswith("a link"):
        assert (tmp_path / "real" / "pyvenv.cfg").exists()


def header_commands(text: str) -> list[str]:
    """The commands the constraints file's header gives, as written."""
    return [line.removeprefix("#   ") for line in text.splitlines() if line.startswith("#   ")]


def fresh_shell(tmp_path: Path, index: str) -> dict[str, str]:
    """A fresh machine's shell: `python3.X` and uv on PATH, the index configured, empty caches."""
    shims = tmp_path / "shims"
    shims.mkdir()
    (shims / f"python{HERE.version.rsplit('.', 1)[0]}").symlink_to(sys.executable)
    uv = find_uv()
    path = os.pathsep.join([str(shims), *([str(Path(uv).parent)] if uv else []),
                            os.environ["PATH"]])
    for cache in ("pip-cache", "uv-cache"):
        (tmp_path / cache).mkdir()
    return {**os.environ, "PATH": path, "PIP_INDEX_URL": index, "UV_INDEX_URL": index,
            "PIP_CACHE_DIR": str(tmp_path / "pip-cache"), "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
            "UV_PYTHON_DOWNLOADS": "never"}


def shell(command: str, folder: Path, environ: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=folder, env=environ,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_the_constraints_headers_commands_install_the_set_as_written(tmp_path, index, installer):
    result = answer({"fakecython": "3.0", "needscy": "1.0"}, installer=installer,
                    build="needscy")
    folder = tmp_path / "answer"
    folder.mkdir()
    (folder / "kept.txt").write_text(render_constraints(result))
    environ = fresh_shell(tmp_path, index)
    commands = header_commands((folder / "kept.txt").read_text())
    assert len(commands) == (4 if installer == "pip" else 3)

    if installer == "pip":  # what the header used to say fails here: the steps matter
        plain = shell(f"{commands[0]} && .venv/bin/pip install -c kept.txt needscy==1.0 "
                      "&& rm -rf .venv", folder, environ)
        assert plain.returncode != 0 and "fakecython" in plain.stdout + plain.stderr
    for command in commands:
        done = shell(command, folder, environ)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

    python = str(folder / ".venv" / "bin" / "python")
    assert installed_distributions(python, tmp_path, hidden=frozenset({"pip", "setuptools"})) == \
        result.installed


@pytest.mark.slow
def test_a_fresh_solve_learns_the_backend_too_and_its_header_installs_as_written(tmp_path,
                                                                                 index):
    path = scenario(tmp_path, 'needsbk = "*"', "import needsbk")
    result = solve_scenario(load_scenario(path), index_url=index)
    assert result.status == "solved", result.reason
    assert [r.requires for r in result.rules] == ["fakecython", "fakebackend"]
    folder = tmp_path / "answer"
    folder.mkdir()
    (folder / "kept.txt").write_text(render_constraints(result))
    environ = fresh_shell(tmp_path, index)

    for command in header_commands((folder / "kept.txt").read_text()):
        done = shell(command, folder, environ)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

    python = str(folder / ".venv" / "bin" / "python")
    assert installed_distributions(python, tmp_path, hidden=frozenset({"pip", "setuptools"})) == \
        result.installed


@pytest.mark.slow
def test_the_uv_block_builds_the_set_with_uv_sync(tmp_path, index):
    result = answer({"fakecython": "3.0", "needscy": "1.0"}, build="needscy")
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "user-project"\nversion = "0"\ndependencies = ["needscy"]\n\n'
        + uv_overrides(result))
    environ = fresh_shell(tmp_path, index)

    done = shell(f"uv sync --python {sys.executable}", project, environ)

    assert done.returncode == 0, done.stderr
    assert "needscy==1.0" in done.stderr
