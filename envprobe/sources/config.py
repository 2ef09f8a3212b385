"""Where packages come from, as pip itself sees it.

envprobe must look at exactly the sources the installer will use, so the
index, extra indexes, find-links folders and certificate bundle are read from
pip's own configuration (files in pip's order, then `PIP_*` variables) at run
time, and the default index is asked of the installed pip. No index host is
written in this code.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from envprobe.errors import EnvprobeError

__all__ = ["IndexConfig", "default_index_url", "read_pip_settings"]

# pip applies config sections in this order, later ones winning: `global`, then
# the command's own section, then the environment (`PIP_*`, kept under ":env:").
_SECTIONS = ("global", "install", ":env:")
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})


def _pip_config_items() -> list[tuple[str, str]]:
    """pip's merged configuration as `section.key -> value` pairs.

    In-process through pip's own loader (exact file order and `os.devnull`
    rule); through `pip config list` when pip's internals are not importable.
    """
    try:
        from pip._internal.configuration import Configuration
        from pip._internal.exceptions import ConfigurationError
    except ImportError:
        return _pip_config_items_from_cli()
    configuration = Configuration(isolated=False)
    try:
        configuration.load()
    except ConfigurationError as error:
        raise EnvprobeError(f"pip configuration is unreadable: {error}") from None
    return [(key, str(value)) for key, value in configuration.items()]


def _pip_config_items_from_cli() -> list[tuple[str, str]]:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvprobeError(f"cannot read pip's configuration: {last_line}")
    items = []
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            items.append((key.strip(), str(ast.literal_eval(value.strip()))))
    return items


def read_pip_settings() -> dict[str, str]:
    """The effective value of each install setting (`index-url`, `find-links`, ...)."""
    by_section: dict[str, dict[str, str]] = {}
    for key, value in _pip_config_items():
        section, _, name = key.rpartition(".")
        by_section.setdefault(section, {})[name.replace("_", "-")] = value
    settings: dict[str, str] = {}
    for section in _SECTIONS:
        settings.update(by_section.get(section, {}))
    return settings


def default_index_url() -> str:
    """pip's built-in index URL, asked of the installed pip (never written here).

    pip keeps it in an internal constant; when that moves, pip's own help
    text still states it, so the CLI is the fallback.
    """
    try:
        from pip._internal.models.index import PyPI

        return PyPI.simple_url
    except (ImportError, AttributeError):
        return _default_index_url_from_help()


def _default_index_url_from_help() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--help"],
        capture_output=True, text=True, check=False,
    )
    match = re.search(r"--index-url\b.*?\(default\s+(\S+?)\)", result.stdout, re.DOTALL)
    if match is None:
        raise EnvprobeError("cannot learn pip's default index URL: is pip installed?")
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
    ) -> IndexConfig:
        """pip's configuration with explicit arguments applied as pip's command line would.

        A given `index_url` or `no_index` replaces the configured one; extra
        indexes and find-links add to the configured ones, because pip itself
        appends command-line values to configured lists and the installer we
        hand these sources to still reads its configuration.
        """
        settings = read_pip_settings()
        configured_no_index = settings.get("no-index")
        return cls(
            index_url=index_url or settings.get("index-url") or default_index_url(),
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
