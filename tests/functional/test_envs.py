"""Throwaway environments: cleanup, the sweep of dead runs, the target interpreter,
the installer backends and the shared base layer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.tags import sys_tags
from probe_packages import build_probe_packages, find_links_options

from envprobe.errors import EnvironmentSetupError, UsageError
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.paths import cache_dir, env_root
from envprobe.probing.backends import backend_for
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.interpreter import describe
from envprobe.probing.layers import layer_key
from envprobe.probing.probe import run_probe
from envprobe.probing.run_folders import run_directory, sweep_stale_runs

needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")

# Passes only when `heavy` is importable but was not installed into the
# environment itself: it must come from the base layer's folder.
FROM_BASE_LAYER = """\
import os, sysconfig
import heavy, light
own = os.path.join(sysconfig.get_paths()["purelib"], "heavy")
assert not os.path.exists(own), "heavy was installed into the environment"
assert os.sep + "layers" + os.sep in heavy.__file__, heavy.__file__
"""
IMPORTABLE = "import heavy, light\nassert heavy.VERSION == '1.0'\n"


@pytest.fixture(scope="session")
def probe_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_probe_packages(tmp_path_factory.mktemp("probe-dists"))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_run_directory_is_removed_even_when_the_body_fails():
    with pytest.raises(RuntimeError), run_directory() as path:
        (path / "env").mkdir()
        raise RuntimeError("boom")
    assert not path.exists()


def test_sweep_removes_runs_of_dead_processes_only():
    root = env_root()
    root.mkdir(parents=True)
    dead = root / f"run-{dead_pid()}-abc"
    (dead / "env").mkdir(parents=True)
    with run_directory() as live:
        other = root / "not-a-run"
        other.mkdir()
        assert sweep_stale_runs(root) == []  # nothing stale left: run_directory swept it
        assert not dead.exists()
        assert live.exists() and other.exists()


def test_run_folders_keep_their_paths_from_one_probe_to_the_next():
    # uv remembers an environment's interpreter by its path: a probe reuses a free slot.
    with run_directory() as first:
        (first / "env").mkdir()
        with run_directory() as second:
            assert second != first and list(second.iterdir()) == []
    assert not first.exists() and not second.exists()
    with run_directory() as again:
        assert again == first


def test_a_slot_a_killed_run_left_is_emptied_when_taken():
    root = env_root()
    left = root / "run-0" / "env" / "lib"
    left.mkdir(parents=True)
    (left / "junk.py").write_text("x = 1")
    with run_directory() as path:
        assert path == root / "run-0"
        assert list(path.iterdir()) == []


def test_a_slot_another_live_run_holds_is_neither_taken_nor_swept():
    hold = ("import sys\n"
            "from envprobe.probing.run_folders import run_directory\n"
            "with run_directory() as path:\n"
            "    (path / 'mine').write_text('x')\n"
            "    print(path, flush=True)\n"
            "    sys.stdin.readline()\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", hold],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, ENVPROBE_ENV_ROOT=str(env_root())),
    )
    try:
        held = Path(holder.stdout.readline().strip())
        assert held.name == "run-0"
        with run_directory() as mine:
            assert mine.name == "run-1"
            assert sweep_stale_runs() == []
            assert (held / "mine").read_text() == "x"
    finally:
        holder.communicate("\n", timeout=30)
    assert not held.exists()


def test_sweep_treats_a_reused_pid_as_dead():
    root = env_root()
    reused = root / f"run-{os.getpid()}-old"
    reused.mkdir(parents=True)
    (reused / "owner.json").write_text(json.dumps({"pid": os.getpid(), "start": -1}))
    assert sweep_stale_runs(root) == [reused]


def another_python() -> str | None:
    """Some CPython other than the one running the tests, where the machine has one."""
    for name in ("python3.12", "python3.10", "python3.13", "/usr/bin/python3"):
        found = shutil.which(name)
        if not found:
            continue
        asked = subprocess.run([found, "-c", "import sys; print(sys.executable)"],
                               capture_output=True, text=True, check=False)
        real = asked.stdout.strip()  # a launcher (pyenv's shims) names the real one
        if asked.returncode == 0 and real and not os.path.samefile(real, sys.executable):
            return real
    return None


def interpreter_facts(python: str) -> dict:
    facts = ("import json, sys, site; print(json.dumps({'prefix': sys.prefix, "
             "'base_prefix': sys.base_prefix, 'version': list(sys.version_info[:2]), "
             "'site': site.getsitepackages()}))")
    return json.loads(subprocess.run([python, "-I", "-c", facts], capture_output=True,
                                     text=True, check=True).stdout)


@needs_uv
def test_uv_environment_for_envprobes_own_python_is_written_without_a_command(tmp_path):
    env = backend_for("uv").begin_create(tmp_path / "env", sys.executable)()
    assert not (tmp_path / "create.log").exists()  # no `uv venv` ran
    facts = interpreter_facts(env.python)
    assert facts["prefix"] == str(tmp_path / "env")
    assert facts["base_prefix"] == sys.base_prefix
    assert facts["site"] == [str(env.site_packages)] and list(env.site_packages.iterdir()) == []


@needs_uv
def test_uv_environment_for_another_python_comes_from_uv_venv(tmp_path):
    other = another_python()
    if other is None:
        pytest.skip("no other CPython on this machine")
    env = backend_for("uv").begin_create(tmp_path / "env", other)()
    assert (tmp_path / "create.log").exists()
    facts = interpreter_facts(env.python)
    assert facts["prefix"] == str(tmp_path / "env")
    assert facts["version"] == interpreter_facts(other)["version"]
    assert str(env.site_packages) in facts["site"]  # Debian's Python lists more folders


def test_installer_choice():
    assert backend_for("pip").name == "pip"
    assert backend_for("auto").name == ("uv" if find_uv() else "pip")
    with pytest.raises(UsageError, match="unknown installer"):
        backend_for("conda")


def test_options_key_is_stable_and_normalised():
    first = InstallOptions(base=("Torch == 2.13.0",), no_build_isolation=("Some_Pkg",),
                           installer="pip")
    second = InstallOptions(base=("torch==2.13.0",), no_build_isolation=("some-pkg",),
                            installer="pip")
    assert first.key() == second.key()
    assert first.key()["base"] == ["torch==2.13.0"]
    assert first.key()["no_build_isolation"] == ["some-pkg"]
    assert InstallOptions(no_index=True, find_links=("/w",), index_url="http://127.0.0.1:1/s/",
                          extra_index_urls=("http://127.0.0.1:2/s/",)).index_args() == [
        "--no-index", "--index-url", "http://127.0.0.1:1/s/",
        "--extra-index-url", "http://127.0.0.1:2/s/", "--find-links", "/w"]


def test_interpreter_facts_and_a_missing_interpreter():
    here = describe(sys.executable)
    assert here.version == ".".join(map(str, sys.version_info[:3]))
    assert str(here.python_version) == here.version
    assert here.tags == tuple(sys_tags())
    with pytest.raises(EnvironmentSetupError):
        describe("/no/such/python")


def test_another_interpreter_is_asked_once_and_its_tags_keep_packagings_order(tmp_path):
    """Through a link, the same Python is "another" one: the stdlib-only query must
    give exactly what packaging gives inside it, most preferred tag first."""
    alias = tmp_path / "python"
    alias.symlink_to(os.path.realpath(sys.executable))
    asked = describe(str(alias))
    here = describe(sys.executable)
    assert asked.tags == here.tags
    assert (asked.version, asked.platform, asked.environment) == (
        here.version, here.platform, here.environment)
    assert describe(str(alias)) is asked


def test_base_layer_is_built_once_and_pip_does_not_reinstall_it(probe_dists):
    options = find_links_options(probe_dists, installer="pip", base=("heavy==1.0",))
    first = run_probe(ProbeRequest(("light==1.0",), FROM_BASE_LAYER, options=options))
    assert first, first.failure
    assert first.installed == {"heavy": "1.0", "light": "1.0"}
    layers = [p for p in (cache_dir() / "layers").iterdir() if p.is_dir()]
    assert len(layers) == 1
    built_at = (layers[0] / "layer.json").stat().st_mtime_ns

    again = run_probe(ProbeRequest(("light==1.0",), FROM_BASE_LAYER + "#2", options=options))
    assert again, again.failure
    assert (layers[0] / "layer.json").stat().st_mtime_ns == built_at
    assert [p for p in (cache_dir() / "layers").iterdir() if p.is_dir()] == layers
    assert again.seconds["base"] < first.seconds["base"]


@needs_uv
def test_uv_finds_the_base_layer_linked_into_site_packages(probe_dists):
    """uv ignores .pth paths, so the layer's files are hard-linked in instead of reinstalled."""
    options = find_links_options(probe_dists, installer="uv", base=("heavy==1.0",))
    layer = cache_dir() / "layers" / layer_key(describe(sys.executable), options)
    same_file_as_layer = (
        IMPORTABLE
        + f"import os\nassert os.path.samefile(heavy.__file__, {str(layer / 'site')!r}"
        + " + '/heavy/__init__.py')\n"
    )
    outcome = run_probe(ProbeRequest(("light==1.0",), same_file_as_layer, options=options))
    assert outcome, outcome.failure
    assert outcome.installed == {"heavy": "1.0", "light": "1.0"}


def test_a_base_layer_that_cannot_be_built_fails_the_probe(probe_dists):
    options = find_links_options(probe_dists, installer="pip", base=("heavy==7.0",))
    outcome = run_probe(ProbeRequest(("light==1.0",), IMPORTABLE, options=options))
    assert outcome.failure.kind.value == "no_distribution"
    assert outcome.failure.name == "heavy"
    assert not [p for p in (cache_dir() / "layers").iterdir() if p.is_dir()]
