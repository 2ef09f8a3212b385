"""What every installer backend shares: the environment it made, its steps, its flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envprobe.errors import UsageError
from envprobe.model.requests import InstallOptions

__all__ = ["Environment", "InstallStep", "at_pins", "check_find_links", "source_args"]


@dataclass(frozen=True)
class Environment:
    """A created environment: its folder, its interpreter and where packages land."""

    root: Path
    python: str
    site_packages: Path


@dataclass(frozen=True)
class InstallStep:
    """One installer command; `label` names its log file (`pre-install.log`)."""

    label: str
    argv: tuple[str, ...]


def at_pins(wanted: Sequence[str], requirements: Sequence[str]) -> list[str]:
    """Each of `wanted`, at the set's own requirement for it when the set names it.

    Pre-installed build requirements and projects built alone must be the
    versions the main install will keep, or it would reinstall them.
    """
    pinned = {canonicalize_name(Requirement(r).name): r for r in requirements}
    return [pinned.get(canonicalize_name(Requirement(w).name), w) for w in wanted]


def source_args(options: InstallOptions) -> list[str]:
    """The binary policy and the package sources, spelled the same by pip and uv."""
    binary = [] if options.allow_sdist else ["--only-binary", ":all:"]
    return binary + options.index_args()


def check_find_links(links: tuple[str, ...]) -> None:
    """A find-links folder that is not there is a typo, not a project no source knows."""
    for link in links:
        parts = urlsplit(link)
        if len(parts.scheme) > 1 and parts.scheme != "file":
            continue  # a URL: the installer reaches it, or says it could not
        if parts.scheme == "file":
            from urllib.request import url2pathname  # a tenth of a second: only when needed

            folder = Path(url2pathname(parts.path))
        else:
            folder = Path(link)
        if not folder.exists():
            raise UsageError(f"the find-links folder {link} does not exist")
