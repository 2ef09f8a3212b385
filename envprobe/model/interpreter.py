"""The Python the probes run on, as one value.

Markers, wheel tags and the store's key must all describe the target
interpreter, which need not be the one envprobe runs on. The tags are kept in
packaging's order (most preferred first), so "the best of several compatible
wheels" is the first one in that order, never an arbitrary pick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.tags import Tag
from packaging.version import Version

__all__ = ["TargetInterpreter"]


@dataclass(frozen=True)
class TargetInterpreter:
    """Executable, version, platform, marker environment and ordered wheel tags."""

    executable: str
    version: str  # "3.11.7", as platform.python_version() says: part of the store's key
    platform: str  # "linux-x86_64", as sysconfig.get_platform() says: part of the store's key
    environment: dict[str, str] = field(hash=False)  # PEP 508 marker variables
    tags: tuple[Tag, ...] = ()  # most preferred first, as packaging.tags.sys_tags() orders them

    @property
    def python_version(self) -> Version:
        return Version(self.version)
