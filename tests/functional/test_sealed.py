"""Probes run sealed: builds and probe code see no secret of the caller, no real HOME and,
where the kernel allows it, no network, unless the user passes them on purpose."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest
from faults import build_quiet
from probe_packages import find_links_options
from wheelfactory import build_sdist

from envprobe.cli import main
from envprobe.model.outcome import FailureKind
from envprobe.model.requests import ProbeRequest
from envprobe.probing.probe import run_probe

TOKEN = "MY_API_TOKEN"
DUMP_ENVIRONMENT = (
    "import json, os, sys\n"
    "json.dump(dict(os.environ), open({path!r}, 'w'))\n"
    "raise ImportError('dumped the environment')\n"
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sealed-dists")
    build_quiet(out)
    return out


def cli_probe(capsys: pytest.CaptureFixture, dists: Path, code: str, *more: str) -> tuple[int, dict]:
    code_ = main(["probe", "--pin", "quiet==1.0", "--code", code, "--no-index",
                  "--find-links", str(dists), "--json", *more])
    return code_, json.loads(capsys.readouterr().out)


def test_the_probe_code_sees_no_secret_and_no_real_home(capsys, dists, monkeypatch):
    monkeypatch.setenv(TOKEN, "s3cret")
    code = (f"import os\nassert {TOKEN!r} not in os.environ\n"
            f"assert os.path.expanduser('~') != {str(Path.home())!r}\n"
            "assert os.path.isdir(os.path.expanduser('~'))\n")
    exit_code, outcome = cli_probe(capsys, dists, code)
    assert exit_code == 0, outcome["failure"]
    isolation = outcome["isolation"]
    assert (isolation["environment"], isolation["home"], isolation["passed"]) == (
        "sealed", "throwaway", [])


def test_a_variable_passed_by_name_is_seen(capsys, dists, monkeypatch):
    monkeypatch.setenv(TOKEN, "s3cret")
    code = f"import os\nassert os.environ[{TOKEN!r}] == 's3cret'\n"
    exit_code, outcome = cli_probe(capsys, dists, code, "--pass-env", TOKEN)
    assert exit_code == 0, outcome["failure"]
    assert outcome["isolation"]["passed"] == [TOKEN]


def test_builds_see_installer_settings_but_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN, "s3cret")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "7")
    dump = tmp_path / "environment.json"
    pyproject = '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    build_sdist(tmp_path / "dists", "dumper", "1.0",
                {"pyproject.toml": pyproject, "backend.py": DUMP_ENVIRONMENT.format(path=str(dump))})
    options = find_links_options(tmp_path / "dists", allow_sdist=True, installer="pip")
    outcome = run_probe(ProbeRequest(("dumper==1.0",), "import dumper\n", options=options))
    assert outcome.failure.kind is FailureKind.BUILD_FAILED
    seen = json.loads(dump.read_text())
    assert TOKEN not in seen
    assert seen["PIP_DEFAULT_TIMEOUT"] == "7" and seen["PYTHONNOUSERSITE"] == "1"
    assert Path(seen["HOME"]).name == "home" and Path(seen["HOME"]) != Path.home()
    assert "PIP_CACHE_DIR" in seen and "UV_CACHE_DIR" in seen


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_probe_code_has_no_network_unless_asked(capsys, dists, local_server):
    code = f"import urllib.request\nurllib.request.urlopen({local_server!r}, timeout=5).read()\n"
    exit_code, outcome = cli_probe(capsys, dists, code)
    if outcome["isolation"]["network"] == "host":
        pytest.skip("no user namespaces here: the network cannot be cut")
    assert exit_code == 1 and outcome["isolation"]["network"] == "none"
    assert "URLError" in outcome["failure"]["message"]

    exit_code, outcome = cli_probe(capsys, dists, code, "--network")
    assert exit_code == 0, outcome["failure"]
    assert outcome["isolation"]["network"] == "host"
    assert outcome["isolation"]["network_requested"] is True


def test_without_network_the_code_still_has_a_loopback(capsys, dists):
    code = ("import socket\nserver = socket.socket()\nserver.bind(('127.0.0.1', 0))\n"
            "server.listen()\nsocket.create_connection(server.getsockname(), timeout=5).close()\n")
    exit_code, outcome = cli_probe(capsys, dists, code)
    assert exit_code == 0, outcome["failure"]
