"""The sealed environments: what installers and probe code keep, and the caches they share."""

from __future__ import annotations

from pathlib import Path

import pytest

from envprobe.probing.sealed import home_of, installer_environ, probe_environ


@pytest.fixture
def user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user with a secret, proxies, a locale, pip settings and default cache places."""
    home = tmp_path / "user"
    for name, value in {"HOME": str(home), "MY_API_TOKEN": "s3cret", "AWS_SECRET_ACCESS_KEY": "k",
                        "https_proxy": "http://127.0.0.1:3128", "LC_ALL": "C.UTF-8",
                        "SSL_CERT_FILE": "/etc/ca.pem", "PIP_DEFAULT_TIMEOUT": "7",
                        "UV_HTTP_TIMEOUT": "9", "PYTHONPATH": "/host", "VIRTUAL_ENV": "/venv",
                        "XDG_CACHE_HOME": str(home / "cache"),
                        "XDG_CONFIG_HOME": str(home / "config")}.items():
        monkeypatch.setenv(name, value)
    for name in ("PIP_CACHE_DIR", "UV_CACHE_DIR", "PIP_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    return home


def test_installers_keep_what_they_need_and_nothing_else(user, tmp_path):
    env = installer_environ(tmp_path / "run")
    assert {"MY_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "PYTHONPATH", "VIRTUAL_ENV"}.isdisjoint(env)
    assert env["https_proxy"] == "http://127.0.0.1:3128" and env["LC_ALL"] == "C.UTF-8"
    assert env["SSL_CERT_FILE"] == "/etc/ca.pem"
    assert env["PIP_DEFAULT_TIMEOUT"] == "7" and env["UV_HTTP_TIMEOUT"] == "9"
    assert env["HOME"] == str(tmp_path / "run" / "home") and Path(env["HOME"]).is_dir()
    assert env["PYTHONNOUSERSITE"] == "1"


def test_installers_share_the_users_caches(user, tmp_path):
    env = installer_environ(tmp_path / "run")
    assert env["PIP_CACHE_DIR"] == str(user / "cache" / "pip")
    assert env["UV_CACHE_DIR"] == str(user / "cache" / "uv")


def test_the_probe_code_gets_no_installer_settings(user, tmp_path):
    env = probe_environ(tmp_path / "run")
    assert not [name for name in env if name.startswith(("PIP_", "UV_"))]
    assert "MY_API_TOKEN" not in env and env["https_proxy"] == "http://127.0.0.1:3128"


def test_passed_names_are_kept_and_win(user, tmp_path):
    env = probe_environ(tmp_path / "run", ("MY_API_TOKEN", "HOME", "NOT_SET_ANYWHERE"))
    assert env["MY_API_TOKEN"] == "s3cret" and env["HOME"] == str(user)
    assert "NOT_SET_ANYWHERE" not in env


def test_the_users_configuration_is_copied_and_its_cache_choice_wins(user, tmp_path):
    pip_conf = user / "config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True)
    pip_conf.write_text("[global]\ncache-dir = /big/pip\ntimeout = 60\n")
    uv_toml = user / "config" / "uv" / "uv.toml"
    uv_toml.parent.mkdir(parents=True)
    uv_toml.write_text('native-tls = true\n')
    env = installer_environ(tmp_path / "run")
    home = home_of(tmp_path / "run")
    assert (home / ".config" / "pip" / "pip.conf").read_text() == pip_conf.read_text()
    assert (home / ".config" / "uv" / "uv.toml").read_text() == 'native-tls = true\n'
    assert "PIP_CACHE_DIR" not in env  # pip.conf's cache-dir decides
    assert env["UV_CACHE_DIR"] == str(user / "cache" / "uv")
    (home / ".config" / "pip" / "pip.conf").write_text("changed by a build")
    assert pip_conf.read_text().startswith("[global]")  # a copy, never the user's file


@pytest.mark.parametrize(("text", "chooses"), [
    ("[global]\nextra-index-url = file:///srv/simple\n", False),  # sources only: not parsed
    ("[global]\n# cache-dir = /big/pip, some day\n", False),  # named, but not set
    ("[install]\nCache-Dir = /big/pip\n", True),  # pip's options are case-blind
])
def test_a_pip_cache_folder_is_chosen_only_by_a_cache_dir_setting(user, tmp_path, text, chooses):
    pip_conf = user / "config" / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True)
    pip_conf.write_text(text)
    env = installer_environ(tmp_path / "run")
    assert ("PIP_CACHE_DIR" not in env) is chooses
