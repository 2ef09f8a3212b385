"""What one probe asks for: the pin set, the code that must run, how to install.

Plain values, no I/O: the CLI, the solver and the tests build them, the
probing layer carries them out and the store keys on them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

from packaging.utils import canonicalize_name

from envprobe.model.choices import AUTO
from envprobe.model.pins import normalize_requirement

__all__ = ["AUTO", "IndexSources", "InstallOptions", "ProbeRequest", "import_code"]


class IndexSources(Protocol):
    """Where packages come from, as the sources layer reads pip's configuration."""

    @property
    def index_url(self) -> str | None: ...
    @property
    def extra_index_urls(self) -> tuple[str, ...]: ...
    @property
    def find_links(self) -> tuple[str, ...]: ...
    @property
    def no_index(self) -> bool: ...


@dataclass(frozen=True)
class InstallOptions:
    """How a pin set is installed; every field changes what a probe can find."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    allow_sdist: bool = False
    installer: str = AUTO  # "auto" or a backend's name
    no_build_isolation: tuple[str, ...] = ()
    pre_install: tuple[str, ...] = ()
    base: tuple[str, ...] = ()
    pass_env: tuple[str, ...] = ()  # host variables, by name, that builds and the probe see
    network: bool = False  # the probe code may use the network (installs always may)

    def key(self) -> dict:
        """The options as stored with a probe.

        The installer must be resolved first (`backend_for(...).name`): a
        probe records the installer that ran, and "auto" names none. The
        isolation options join the key only when set, so keys of probes
        recorded before they existed stay the same.
        """
        if self.installer == AUTO:
            raise ValueError("resolve the installer before keying install options")
        key = {
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "no_index": self.no_index,
            "allow_sdist": self.allow_sdist,
            "installer": self.installer,
            "no_build_isolation": sorted({canonicalize_name(n) for n in self.no_build_isolation}),
            "pre_install": sorted(normalize_requirement(r) for r in self.pre_install),
            "base": sorted(normalize_requirement(r) for r in self.base),
        }
        if self.pass_env:
            key["pass_env"] = sorted(set(self.pass_env))
        if self.network:
            key["network"] = True
        return key

    @classmethod
    def from_sources(cls, sources: IndexSources, **rest: Any) -> InstallOptions:
        """Options naming the sources pip would use, so uv and the store see the same ones."""
        return cls(
            index_url=sources.index_url,
            extra_index_urls=sources.extra_index_urls,
            find_links=sources.find_links,
            no_index=sources.no_index,
            **rest,
        )

    def index_args(self) -> list[str]:
        """Index and find-links flags; pip and uv spell them the same."""
        args = ["--no-index"] if self.no_index else []
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        return args


@dataclass(frozen=True)
class ProbeRequest:
    """What to install (PEP 508 requirements; `==` ones are pins) and what must run."""

    requirements: tuple[str, ...]
    code: str
    python: str = sys.executable
    options: InstallOptions = field(default_factory=InstallOptions)
    timeout: float = 300.0


def import_code(modules: list[str] | tuple[str, ...]) -> str:
    """Probe code that imports each module in order, as `--import` does."""
    return "".join(f"import {module}\n" for module in modules)
