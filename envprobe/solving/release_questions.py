"""A teacher's questions about one release: its wheel first, then the release itself.

The static scan answers most questions for the price of a download. Where it
cannot tell (a C extension, a module `__getattr__`, a namespace built at
import), a micro-probe installs that release alone (wheels only) and
asks it, seconds instead of the minutes a full install of the set costs.
"""

from __future__ import annotations

from packaging.version import Version

from envprobe.probing.micro import MicroProber
from envprobe.static.scanner import StaticScanner

__all__ = ["ReleaseQuestions"]


class ReleaseQuestions:
    """The `Scanner` the teachers use; `micro_probed` tells which releases were asked."""

    def __init__(self, scanner: StaticScanner, micro: MicroProber | None = None) -> None:
        self._scanner = scanner
        self._micro = micro
        self._asked: set[tuple[str, Version]] = set()

    @property
    def scanned(self) -> list[str]:
        return self._scanner.scanned

    @property
    def count(self) -> int:
        return self._scanner.count

    @property
    def micro_probes(self) -> list[str]:
        """Each micro-probe's question and answer, in order: its evidence."""
        return list(self._micro.asked) if self._micro else []

    @property
    def python_tag(self) -> str:
        return self._scanner.python_tag

    def has_wheel(self, name: str, version: Version) -> bool:
        return self._scanner.has_wheel(name, version)

    def micro_probed(self, name: str, version: Version) -> bool:
        return (name, version) in self._asked

    def provides(self, name: str, version: Version, module: str, symbol: str) -> bool | None:
        """The wheel's answer; where its code is too dynamic to read, the release's own.

        Only a release with a wheel small enough to read is asked: without one,
        installing it alone would cost a build or a multi-GB download.
        """
        found = self._scanner.provides(name, version, module, symbol)
        if found is None and self._micro is not None and self._scanner.has_wheel(name, version):
            self._asked.add((name, version))
            found = self._micro.provides(name, str(version), module, symbol)
        return found

    def provides_alone(self, name: str, version: Version, module: str,
                       symbol: str) -> bool | None:
        """The release's own answer, asked even where its wheel was read: one release
        installed alone, seconds, where a confirming install of the whole set costs more."""
        if self._micro is None or not self._scanner.has_wheel(name, version):
            return None
        self._asked.add((name, version))
        return self._micro.provides(name, str(version), module, symbol)

    def has_module(self, name: str, version: Version, module: str) -> bool | None:
        """A wheel's file list settles this; a release without one could not be asked either."""
        return self._scanner.has_module(name, version, module)

    def imports(self, name: str, version: Version, module: str, symbol: str) -> bool | None:
        return self._scanner.imports(name, version, module, symbol)

    def names_at(self, name: str, version: Version, module: str, file: str,
                 line: int) -> tuple[str, ...]:
        return self._scanner.names_at(name, version, module, file, line)

    def accepts_keyword(self, name: str, version: Version, module: str, function: str,
                        keyword: str) -> bool | None:
        return self._scanner.accepts_keyword(name, version, module, function, keyword)

    def imports_alongside(self, name: str, version: Version, module: str,
                          alongside: tuple[str, ...]) -> bool | None:
        """Whether the release imports beside exact pins: only running it can tell."""
        if self._micro is None or not self._scanner.has_wheel(name, version):
            return None
        self._asked.add((name, version))
        return self._micro.imports_alongside(name, str(version), module, alongside).answer

    def close(self) -> None:
        if self._micro is not None:
            self._micro.close()
