"""pip's configuration as the real pip reports it: files, `PIP_*` variables, interpreters."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from envprobe.errors import EnvprobeError
from envprobe.sources import config as pip_config
from envprobe.sources.config import IndexConfig, default_index_url, read_pip_settings


@pytest.fixture
def pip_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Command lines of the pip processes the configuration reader starts."""
    runs: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        runs.append(list(argv))
        return real_run(argv, **kwargs)

    monkeypatch.setattr(pip_config.subprocess, "run", counting_run)
    return runs


@pytest.fixture
def own_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Per-user and global configuration folders that only this test writes to."""
    for variable in ("HOME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    return tmp_path


def _interpreter(folder: Path, *, with_pip: bool) -> str:
    """A venv whose pip (when `with_pip`) is this interpreter's, seen through its site-packages."""
    venv.create(folder, with_pip=False, system_site_packages=with_pip)
    return str(folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))


def test_default_index_is_pips_own_whatever_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    default = default_index_url()
    assert default.startswith("https://") and "127.0.0.1" not in default
    assert IndexConfig.from_pip().index_url == default

    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = http://127.0.0.1:1/configured/\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:2/env/")
    assert default_index_url() == default
    assert default_index_url(sys.executable) == default


def test_config_file_sections_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\n"
        "index-url = http://127.0.0.1:1/global/\n"
        "extra-index-url =\n    http://127.0.0.1:2/a/\n    http://127.0.0.1:3/b/\n"
        "find-links = /wheels/one /wheels/two\n"
        "[install]\n"
        "index-url = http://127.0.0.1:4/install/\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    config = IndexConfig.from_pip()
    assert config.index_url == "http://127.0.0.1:4/install/"
    assert config.extra_index_urls == ("http://127.0.0.1:2/a/", "http://127.0.0.1:3/b/")
    assert config.find_links == ("/wheels/one", "/wheels/two")
    assert not config.no_index

    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:5/env/")
    monkeypatch.setenv("PIP_NO_INDEX", "yes")
    monkeypatch.setenv("PIP_CERT", str(tmp_path / "bundle.pem"))
    config = IndexConfig.from_pip()
    assert config.index_url == "http://127.0.0.1:5/env/"
    assert config.no_index and config.index_urls == ()
    assert config.cert == str(tmp_path / "bundle.pem")
    assert config.find_links == ("/wheels/one", "/wheels/two")


def test_explicit_arguments_apply_like_pips_command_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:1/configured/")
    monkeypatch.setenv("PIP_FIND_LINKS", "/configured")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    config = IndexConfig.from_pip(
        index_url="http://127.0.0.1:2/mine/",
        extra_index_urls=["http://127.0.0.1:3/extra/"],
        find_links=["/mine"],
        no_index=False,
    )
    assert config.index_url == "http://127.0.0.1:2/mine/"
    assert config.index_urls == ("http://127.0.0.1:2/mine/", "http://127.0.0.1:3/extra/")
    assert config.find_links == ("/configured", "/mine")
    assert not config.no_index


def test_not_a_yes_no_value_is_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PIP_NO_INDEX", "perhaps")
    with pytest.raises(EnvprobeError, match="PIP_NO_INDEX|no-index"):
        IndexConfig.from_pip()


def test_the_target_interpreters_own_pip_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_files: Path
):
    # Site configuration lives in the interpreter's prefix: only its pip sees it.
    monkeypatch.delenv("PIP_CONFIG_FILE")
    target = _interpreter(tmp_path / "target", with_pip=True)
    site_file = tmp_path / "target" / "pip.conf"
    site_file.write_text("[global]\nindex-url = http://127.0.0.1:7/site/\n")
    assert read_pip_settings(target)["index-url"] == "http://127.0.0.1:7/site/"
    assert IndexConfig.from_pip(python=target).index_url == "http://127.0.0.1:7/site/"
    assert "index-url" not in read_pip_settings()


def _asked(runs: list[list[str]]) -> list[str]:
    """The pip subcommands the reader ran, e.g. `config list`, `install --help`."""
    return sorted(" ".join(argv[3:]) for argv in runs)


def test_pip_is_asked_once_per_interpreter_and_files_then_answers_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pip_runs: list[list[str]]
):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nfind-links = /from-file\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert read_pip_settings()["find-links"] == "/from-file"
    assert read_pip_settings(sys.executable)["find-links"] == "/from-file"
    assert _asked(pip_runs) == ["config debug", "config list"]

    # A variable is read afresh without asking pip again; another file is not.
    monkeypatch.setenv("PIP_FIND_LINKS", "/from-env")
    assert read_pip_settings()["find-links"] == "/from-env"
    assert len(pip_runs) == 2
    other = tmp_path / "other.conf"
    other.write_text("[global]\nfind-links = /other\n")
    monkeypatch.delenv("PIP_FIND_LINKS")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(other))
    assert read_pip_settings()["find-links"] == "/other"
    assert len(pip_runs) == 4

    # The default index too is asked once, then kept: also for a later process.
    default = default_index_url()
    assert _asked(pip_runs[4:]) == ["--version", "install --help"]
    counted = (
        "import subprocess\nruns = []\nreal = subprocess.run\n"
        "def counting(argv, **kwargs):\n    runs.append(argv)\n    return real(argv, **kwargs)\n"
        "subprocess.run = counting\n"
        "from envprobe.sources.config import IndexConfig\n"
        "print(IndexConfig.from_pip().find_links, IndexConfig.from_pip().index_url, len(runs))\n"
    )
    later = subprocess.run([sys.executable, "-c", counted], capture_output=True, text=True,
                           check=True, env={**os.environ, "PIP_CONFIG_FILE": str(conf)})
    assert later.stdout.split() == ["('/from-file',)", default, "0"]


def test_a_changed_configuration_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pip_runs: list[list[str]]
):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nfind-links = /before\n")
    os.utime(conf, ns=(1_000_000_000, 1_000_000_000))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert read_pip_settings()["find-links"] == "/before"
    assert read_pip_settings()["find-links"] == "/before"
    assert len(pip_runs) == 2  # config list and config debug, once

    # Same size, same modification time: only the content differs, and the cache holds.
    conf.write_text("[global]\nfind-links = /after!\n")
    os.utime(conf, ns=(1_000_000_000, 1_000_000_000))
    assert read_pip_settings()["find-links"] == "/before"
    # A new modification time (an ordinary edit): read again.
    os.utime(conf, ns=(2_000_000_000, 2_000_000_000))
    assert read_pip_settings()["find-links"] == "/after!"
    # A new size alone: read again.
    conf.write_text("[global]\nfind-links = /after, longer\n")
    os.utime(conf, ns=(2_000_000_000, 2_000_000_000))
    assert read_pip_settings()["find-links"] == "/after, longer"
    assert len(pip_runs) == 6

    # A file pip looks for but did not find, once created, is read too.
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "absent.conf"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert "find-links" not in read_pip_settings()
    user = tmp_path / "xdg" / "pip" / "pip.conf"
    user.parent.mkdir(parents=True)
    user.write_text("[global]\nfind-links = /user\n")
    assert read_pip_settings()["find-links"] == "/user"


def test_no_pip_or_no_interpreter_is_one_line(tmp_path: Path):
    without_pip = _interpreter(tmp_path / "bare", with_pip=False)
    with pytest.raises(EnvprobeError) as caught:
        read_pip_settings(without_pip)
    assert "\n" not in str(caught.value) and "No module named pip" in str(caught.value)
    with pytest.raises(EnvprobeError, match="cannot run pip") as caught:
        read_pip_settings(str(tmp_path / "no-such-python"))
    assert "\n" not in str(caught.value)
