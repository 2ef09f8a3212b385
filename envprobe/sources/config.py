"""Where packages come from, as pip itself sees it.

envprobe must look at exactly the sources the installer will use, so the
index, extra indexes, find-links folders and certificate bundle are read from
pip's own configuration (files in pip's order, then `PIP_*` variables) at run
time, and the default index is asked of the installed pip. No index host is
written in this code.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from envprobe.errors import EnvprobeError

__all__ = ["IndexConfig", "default_index_url", "read_pip_settings"]

# pip applies config sections in this order, later ones winning: `global`, then
# the command's own section, then the environment (`PIP_*`, kept under ":env:").
_SECTIONS = ("global", "install", ":env:")
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})
# What decides which configuration files pip reads, besides the interpreter.
_FILE_PLACES = ("PIP_CONFIG_FILE", "HOME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "APPDATA")
# `PIP_*` variables pip does not treat as settings.
_NOT_SETTINGS = frozenset({"version", "help"})


def _pip(python: str, *args: str, env: Mapping[str, str]) -> str:
    """Standard output of `python -m pip ARGS`; a one-line error when pip cannot answer."""
    try:
        result = subprocess.run(
            [python, "-m", "pip", *args], capture_output=True, check=False,
            env={**env, "PYTHONIOENCODING": "utf-8"}, encoding="utf-8", errors="replace",
        )
    except OSError as error:
        raise EnvprobeError(f"cannot run pip with {python}: {error.strerror or error}") from None
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvprobeError(f"pip {' '.join(args)} failed with {python}: {last_line}")
    return result.stdout


def _without_pip_variables(keep: Iterable[str] = ()) -> dict[str, str]:
    return {
        key: value for key, value in os.environ.items()
        if not key.startswith("PIP_") or key in keep
    }


@functools.lru_cache(maxsize=32)
def _file_items(python: str, places: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The configuration files' settings as (`section.key`, value), merged in pip's order.

    `pip config list` of `python`, run without `PIP_*` variables (but with
    `PIP_CONFIG_FILE`, `os.devnull` included) so that it lists the files
    only. Kept per interpreter and per `places` (the variables in
    `_FILE_PLACES`), since pip takes half a second to start: a file edited
    during the run is not read again.
    """
    listing = _pip(python, "config", "list", env=_without_pip_variables(keep=("PIP_CONFIG_FILE",)))
    items = []
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        try:
            text = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise EnvprobeError(f"cannot read pip's configuration line {line!r}") from None
        items.append((key.strip(), str(text)))
    return tuple(items)


def _environment_items() -> list[tuple[str, str]]:
    """`PIP_*` variables as pip reads them: `PIP_NO_INDEX` is `:env:.no-index`.

    `pip config list` would list them too; read here, they are always
    current and a new value does not cost a pip call.
    """
    return [
        (":env:." + key[4:].lower().replace("_", "-"), value)
        for key, value in os.environ.items()
        if key.startswith("PIP_") and key[4:].lower() not in _NOT_SETTINGS
    ]


def read_pip_settings(python: str | None = None) -> dict[str, str]:
    """The effective value of each install setting (`index-url`, `find-links`, ...).

    `python` is the interpreter whose pip is asked (default: this one), since
    a target interpreter's site configuration may differ from ours.
    """
    by_section: dict[str, dict[str, str]] = {}
    places = tuple((key, os.environ[key]) for key in _FILE_PLACES if key in os.environ)
    for key, value in [*_file_items(python or sys.executable, places), *_environment_items()]:
        section, _, name = key.rpartition(".")
        by_section.setdefault(section, {})[name.replace("_", "-")] = value
    settings: dict[str, str] = {}
    for section in _SECTIONS:
        settings.update(by_section.get(section, {}))
    return settings


def default_index_url(python: str | None = None) -> str:
    """pip's built-in index URL, asked of the installed pip (never written here).

    pip's help text states the default of `--index-url`. pip fills that
    default from its configuration, so the help is asked with no `PIP_*`
    variable and no configuration file: what remains is pip's own.
    """
    return _default_index_url(python or sys.executable)


@functools.lru_cache(maxsize=8)
def _default_index_url(python: str) -> str:
    help_text = _pip(
        python, "install", "--help", env=_without_pip_variables() | {"PIP_CONFIG_FILE": os.devnull}
    )
    match = re.search(r"--index-url\b.*?\(default\s+(\S+?)\)", help_text, re.DOTALL)
    if match is None:
        raise EnvprobeError("cannot learn pip's default index URL from `pip install --help`")
    return match.group(1)


def _as_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvprobeError(f"pip setting {name}={value!r} is not a yes/no value")


def _as_list(value: str | None) -> tuple[str, ...]:
    # pip splits multi-valued settings on any whitespace, newlines included.
    return tuple(value.split()) if value else ()


def _expand_path(link: str) -> str:
    return os.path.expanduser(link) if link.startswith("~") else link


def _merged(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


@dataclass(frozen=True)
class IndexConfig:
    """The package sources of one run: what pip would use, plus explicit choices."""

    index_url: str
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None

    @classmethod
    def from_pip(
        cls,
        *,
        index_url: str | None = None,
        extra_index_urls: Iterable[str] = (),
        find_links: Iterable[str] = (),
        no_index: bool | None = None,
        python: str | None = None,
    ) -> IndexConfig:
        """pip's configuration with explicit arguments applied as pip's command line would.

        A given `index_url` or `no_index` replaces the configured one; extra
        indexes and find-links add to the configured ones, because pip itself
        appends command-line values to configured lists and the installer we
        hand these sources to still reads its configuration. `python` is the
        interpreter whose pip is asked (default: this one).
        """
        with ThreadPoolExecutor(max_workers=1) as pool:
            # Both are answers of a pip subprocess (about a second each): asked side by side.
            default = pool.submit(default_index_url, python) if index_url is None else None
            settings = read_pip_settings(python)
            chosen = index_url or settings.get("index-url") or default.result()  # type: ignore[union-attr]
        configured_no_index = settings.get("no-index")
        return cls(
            index_url=chosen,
            extra_index_urls=_merged(_as_list(settings.get("extra-index-url")), extra_index_urls),
            find_links=tuple(
                _expand_path(link)
                for link in _merged(_as_list(settings.get("find-links")), find_links)
            ),
            no_index=(
                no_index if no_index is not None
                else configured_no_index is not None and _as_bool("no-index", configured_no_index)
            ),
            cert=settings.get("cert") or None,
        )

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Every index to search, main first; none with `no_index`."""
        if self.no_index:
            return ()
        return _merged([self.index_url], self.extra_index_urls)
