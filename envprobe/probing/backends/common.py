"""What every installer backend shares: the environment it made, its steps, its flags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envprobe.model.requests import InstallOptions

__all__ = ["Environment", "InstallStep", "at_pins", "source_args"]


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
