"""Where envprobe keeps its caches, its store and its throwaway environments.

All of it lives outside the project tree, in the user's cache and data
directories, so a probe never dirties the repository it is run from.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["bytecode_dir", "cache_dir", "default_store_path", "env_root"]


def cache_dir() -> Path:
    """Index responses, downloaded wheels and static scans (safe to delete)."""
    if override := os.environ.get("ENVPROBE_CACHE"):
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "envprobe"


def bytecode_dir() -> Path:
    """Bytecode that probes' imports compiled, kept for the next probes (safe to delete)."""
    return cache_dir() / "bytecode"


def default_store_path() -> Path:
    """The SQLite store of probes, outcomes and rules (the evidence: keep it)."""
    if override := os.environ.get("ENVPROBE_STORE"):
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "envprobe" / "store.sqlite3"


def env_root() -> Path:
    """Parent of every throwaway environment; one subfolder per live run."""
    if override := os.environ.get("ENVPROBE_ENV_ROOT"):
        return Path(override)
    return cache_dir() / "envs"
