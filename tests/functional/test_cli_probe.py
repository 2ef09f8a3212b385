"""`envprobe probe` as a user meets it: output, exit codes, one-line errors, Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from probe_packages import SLEEPER_PIDS, build_probe_packages, process_running

from envprobe.cli import _COMMANDS, build_parser, main
from envprobe.errors import UsageError
from envprobe.paths import env_root
from envprobe.probing.backends.uv import find_uv

REPO = Path(__file__).resolve().parents[2]
needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
INSTALLERS = ["pip", pytest.param("uv", marks=needs_uv)]


@pytest.fixture(scope="session")
def probe_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_probe_packages(tmp_path_factory.mktemp("probe-dists"))


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *words: str) -> None:
    """`envprobe: message`, or `envprobe probe: message` from the subcommand's parser; once.

    A phase that lasted (`... install`) may be logged before it, as on any long run.
    """
    lines = [line for line in err.strip().splitlines() if not line.startswith("... ")]
    assert len(lines) == 1, err
    assert re.match(r"envprobe( probe)?: ", lines[0]), lines[0]
    assert not re.match(r"envprobe( probe)?: envprobe", lines[0]), lines[0]
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_json_is_one_object_and_a_repeat_is_answered_from_the_store(capsys, chain_index):
    argv = ["probe", "--pin", "toolkit==1.0", "--pin", "fakehub==2.0", "--import", "toolkit",
            "--index-url", chain_index, "--installer", "pip"]
    code, out, _ = run_cli(capsys, *argv, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["status"] == "failed" and data["cached"] is False
    assert {k: data["failure"][k] for k in ("kind", "name", "module", "package", "version")} == {
        "kind": "missing_symbol", "name": "ModelFilter", "module": "fakehub",
        "package": "fakehub", "version": "2.0"}
    assert data["pins"] == {"toolkit": "1.0", "fakehub": "2.0"}
    assert data["installed"] == {"fakehub": "2.0", "toolkit": "1.0"}
    assert set(data["seconds"]) == {"create", "install", "run"}

    code, out, _ = run_cli(capsys, *argv)
    assert code == 1
    assert "FAILED" in out and "ModelFilter" in out and "toolkit/core.py:1" in out
    assert "from the store" in out


@needs_uv
def test_a_refreshed_probe_installs_again_whatever_the_store_holds(capsys, chain_dists):
    argv = ["probe", "--pin", "toolkit==1.1", "--pin", "fakehub<2", "--import", "toolkit",
            "--no-index", "--find-links", str(chain_dists), "--installer", "uv", "--json"]
    first = json.loads(run_cli(capsys, *argv)[1])
    code, out, _ = run_cli(capsys, *argv, "--refresh")
    again = json.loads(out)
    assert code == 0 and again["status"] == "ok"
    assert again["probe_id"] != first["probe_id"] and again["seconds"]["install"] > 0
    assert again["installed"] == first["installed"] == {"fakehub": "1.1", "toolkit": "1.1"}
    assert list(env_root().glob("run-*")) == []


def test_a_passing_probe_exits_zero(capsys, chain_dists):
    code, out, _ = run_cli(capsys, "probe", "--pin", "toolkit==1.1", "--pin", "fakehub<2",
                           "--code", "import toolkit; assert toolkit.core", "--no-index",
                           "--find-links", str(chain_dists), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["status"] == "ok" and data["failure"] is None
    assert data["installed"]["fakehub"] == "1.1"


@pytest.mark.parametrize("argv", [
    ["probe", "--pin", "toolkit=1.0", "--import", "toolkit"],
    ["probe", "--pin", "toolkit==1.0"],
    ["probe", "--pin", "toolkit==1.0", "--import", "toolkit", "--code", "pass"],
    ["probe", "--pin", "toolkit==1.0", "--import", "not a module"],
    ["probe", "--import", "x", "--timeout", "-1"],
    ["probe", "--import", "x", "--installer", "conda"],
    ["probe", "--import", "x", "--pass-env", "NOT A NAME"],
    ["probe", "--pin", "x==1", "--import", "x", "--no-index", "--find-links", "/no/such/folder"],
    ["probe", "--pin", "x==1", "--import", "x", "--python", "/bin/ls"],
    ["probe", "--pin", "x=1", "--import", "x", "--refresh"],  # its install is begun early
    ["nonsense"],
])
def test_bad_usage_is_one_line_and_exit_2(capsys, argv):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert not env_root().exists()


@pytest.mark.parametrize("installer", INSTALLERS)
def test_unknown_package_is_one_line_and_exit_2(capsys, chain_dists, installer):
    code, _, err = run_cli(capsys, "probe", "--pin", "no-such-project==1.0", "--import", "x",
                           "--no-index", "--find-links", str(chain_dists), "--installer", installer)
    assert code == 2
    assert_one_line_error(err, "no-such-project")
    assert list(env_root().glob("run-*")) == []  # the slots' lock files stay


@pytest.mark.parametrize("installer", INSTALLERS)
def test_unreachable_index_is_one_line_and_exit_2(capsys, monkeypatch, installer):
    monkeypatch.setenv("PIP_RETRIES", "0")  # keep the test fast; the outcome is the same
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, _, err = run_cli(capsys, "probe", "--pin", "fakehub==1.0", "--import", "fakehub",
                           "--index-url", f"http://127.0.0.1:{port}/simple/",
                           "--installer", installer)
    assert code == 2
    assert_one_line_error(err, "could not be reached")


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["probe", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for option in ("--pin", "--import", "--code", "--python", "--index-url", "--extra-index-url",
                   "--find-links", "--no-index", "--allow-sdist", "--base", "--installer",
                   "--timeout", "--pass-env", "--network", "--refresh", "--store", "--json"):
        assert option in text


def test_a_command_line_builds_the_parser_of_its_command_alone_and_reads_it_the_same():
    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == set(_COMMANDS)  # every command is named where it is registered
    line = ["probe", "--pin", "six==1.16.0", "--import", "six", "--refresh", "--json",
            "--timeout", "9", "--installer", "uv"]
    alone = build_parser(line)
    assert set(next(a for a in alone._actions
                    if isinstance(a, argparse._SubParsersAction)).choices) == {"probe"}
    assert vars(alone.parse_args(line)) == vars(build_parser().parse_args(line))


def test_ctrl_c_mid_probe_removes_the_environment_and_exits_130(probe_dists, tmp_path):
    pid_file = tmp_path / "pids"
    env = dict(os.environ, **{SLEEPER_PIDS: str(pid_file)})
    # As from a terminal: a suite started in the background (`cmd &` in a script) has
    # SIGINT ignored, its children inherit that, and Python then never raises
    # KeyboardInterrupt. A handler of our own is reset to the default in the child.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "envprobe", "probe", "--pin", "sleeper==1.0", "--import",
             "sleeper", "--no-index", "--find-links", str(probe_dists), "--timeout", "120",
             "--pass-env", SLEEPER_PIDS],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the probe never started"
        time.sleep(0.1)
    assert list(env_root().glob("run-*"))

    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert_one_line_error(err, "interrupted")
    assert list(env_root().glob("run-*")) == []
    for pid in map(int, pid_file.read_text().split()):
        assert not process_running(pid), f"process {pid} of the probe survived"



def test_an_error_that_names_the_program_itself_is_still_prefixed_once(capsys, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise UsageError("envprobe: envprobe probe: the store said no")

    monkeypatch.setattr("envprobe.probing.probe.run_probe", refuse)
    code, _, err = run_cli(capsys, "probe", "--pin", "x==1", "--import", "x")
    assert code == 2
    assert_one_line_error(err, "the store said no")


@pytest.mark.parametrize("installer", INSTALLERS)
def test_the_program_skips_its_teardown_after_a_probe_yet_says_everything(chain_dists, installer):
    # `python -m envprobe probe` ends with os._exit: the JSON and the exit code must be whole.
    from faults import run_envprobe

    common = ["probe", "--no-index", "--find-links", str(chain_dists), "--installer", installer]
    failed = run_envprobe(*common, "--pin", "toolkit==1.0", "--pin", "fakehub==2.0",
                          "--import", "toolkit", "--json")
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["failure"]["name"] == "ModelFilter"
    passed = run_envprobe(*common, "--pin", "toolkit==1.1", "--pin", "fakehub<2",
                          "--import", "toolkit")
    assert passed.returncode == 0, passed.stderr
    assert "toolkit" in passed.stdout and passed.stdout.endswith("\n")
    assert list(env_root().glob("run-*")) == []


def test_an_environment_root_that_cannot_hold_folders_is_one_line_and_exit_2(
        capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ENVPROBE_ENV_ROOT", str(blocker / "envs"))
    code, out, err = run_cli(capsys, "probe", "--pin", "x==1", "--import", "x")
    assert code == 2 and out == ""
    assert_one_line_error(err, "ENVPROBE_ENV_ROOT", str(blocker / "envs"))
