"""The environment variables a build or a probe child sees: only what it needs.

envprobe installs and runs releases nobody vetted, so their processes get
no copy of the caller's environment (tokens, keys, the real HOME). They get
what installers need (PATH, locale, temp folder, proxies, certificates, pip
and uv settings), the user's pip and uv caches so caching keeps working, a
throwaway HOME inside the run folder (holding a copy of the user's pip and uv
configuration files), and only the variables the user passes by name.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["home_of", "installer_environ", "probe_environ"]

_KEPT = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "XDG_CONFIG_DIRS",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
})
_KEPT_PREFIXES = ("LC_",)
_INSTALLER_PREFIXES = ("PIP_", "UV_")  # pip's and uv's own settings; PIP_CERT among them
_HOME = "home"


def home_of(run_dir: Path) -> Path:
    """The throwaway HOME of a run, created on first use."""
    home = run_dir / _HOME
    if not home.exists():
        home.mkdir(parents=True)
        _copy_configuration(home)
    return home


def installer_environ(run_dir: Path, passed: Iterable[str] = ()) -> dict[str, str]:
    """What an installer and the builds it runs see."""
    env = _base(run_dir)
    env.update({k: v for k, v in os.environ.items() if k.startswith(_INSTALLER_PREFIXES)})
    home = home_of(run_dir)
    if "PIP_CACHE_DIR" not in env and not _configures_cache(home, _pip_files):
        env["PIP_CACHE_DIR"] = str(_pip_cache())
    if "UV_CACHE_DIR" not in env and not _configures_cache(home, _uv_files):
        env["UV_CACHE_DIR"] = str(_user_cache() / "uv")
    return _with_passed(env, passed)


def probe_environ(run_dir: Path, passed: Iterable[str] = ()) -> dict[str, str]:
    """What the probe code (and whatever it starts) sees: no installer settings either."""
    return _with_passed(_base(run_dir), passed)


def _base(run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _KEPT or k.startswith(_KEPT_PREFIXES)}
    env["HOME"] = str(home_of(run_dir))
    env["PYTHONNOUSERSITE"] = "1"  # the user's site-packages would leak host packages in
    return env


def _with_passed(env: dict[str, str], passed: Iterable[str]) -> dict[str, str]:
    """The user's own choice wins, HOME included."""
    env.update({name: os.environ[name] for name in passed if name in os.environ})
    return env


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _pip_cache() -> Path:
    """pip's default cache folder (what pip's own appdirs answer)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "pip"
    return _user_cache() / "pip"


def _user_config() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _pip_files() -> list[tuple[Path, str]]:
    """The user's pip configuration files, each with its place under a HOME."""
    return [(_user_config() / "pip" / "pip.conf", ".config/pip/pip.conf"),
            (Path.home() / ".pip" / "pip.conf", ".pip/pip.conf"),
            (Path.home() / "Library/Application Support/pip/pip.conf",
             "Library/Application Support/pip/pip.conf")]


def _uv_files() -> list[tuple[Path, str]]:
    return [(_user_config() / "uv" / "uv.toml", ".config/uv/uv.toml")]


def _copy_configuration(home: Path) -> None:
    """Copies, not links: a build may write to its HOME but never to the user's files."""
    for source, relative in (*_pip_files(), *_uv_files()):
        if source.is_file():
            target = home / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _configures_cache(home: Path, files) -> bool:
    """Whether a copied configuration file chooses its own cache folder (it then wins).

    The parsers (7 ms with their imports, before every install) are used only
    for a file that names `cache-dir` at all (most name sources, not caches).
    """
    for _, relative in files():
        path = home / relative
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            continue  # none there, or one the installer cannot read either
        if "cache-dir" not in text.lower():
            continue
        import configparser
        import tomllib

        try:
            if path.suffix == ".toml":
                if "cache-dir" in tomllib.loads(text):
                    return True
            else:
                parser = configparser.ConfigParser()
                parser.read_string(text)
                if any(parser.has_option(section, "cache-dir") for section in parser.sections()):
                    return True
        except (OSError, ValueError, configparser.Error):
            continue
    return False
