"""What the index says about releases, for the user's interpreter, in one place.

The solver's own pieces answer: `SolveProvider.installable` (a file that
installs on this interpreter), the index's declared metadata and upload
times, and a `StaticScanner` over the interpreter's wheel tags (it reads
other Pythons' wheels and sdists where this one has none), so the
diagnosis reads the same caches and reaches the same boundaries as a solve.
Where a wheel's code is too dynamic to read (a module `__getattr__`), a
micro-probe may install that one release alone into a throwaway folder and
ask it, as the solver does; never into the user's environment.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.diagnosing.inventory import Inventory
from envprobe.errors import EnvprobeError
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.requests import InstallOptions
from envprobe.probing.micro import MicroProber
from envprobe.solving.provider import SolveProvider
from envprobe.solving.release_questions import ReleaseQuestions
from envprobe.solving.solver import micro_backend
from envprobe.solving.teachers import Teacher
from envprobe.sources.index import PackageIndex
from envprobe.static.scanner import StaticScanner

__all__ = ["Releases"]


class Releases:
    """Releases, declared requirements and wheel scans of any project, for one interpreter."""

    def __init__(self, index: PackageIndex, interpreter: TargetInterpreter,
                 installed: Inventory | None = None,
                 probes: InstallOptions | None = None) -> None:
        """`probes`: the sources micro-probes install from; None forbids them (wheels only)."""
        self.index = index
        self.interpreter = interpreter
        self._installed = installed
        micro = (MicroProber(interpreter, micro_backend(probes), probes)
                 if probes is not None else None)
        self.scanner = ReleaseQuestions(StaticScanner(index, interpreter.tags), micro)
        self._provider = SolveProvider(
            index, universe=(), rules=[], pins={}, extras={},
            python_version=interpreter.python_version, tags=frozenset(interpreter.tags),
            environment=interpreter.environment, allow_sdist=True,
            imports_symbol=lambda candidate, rule: True,
        )
        self._releases: dict[str, list[Version]] = {}
        self._declared: dict[tuple[str, Version, tuple[str, ...]], list[Requirement]] = {}

    def releases(self, name: str) -> list[Version]:
        """Installable releases, ascending; none when no source knows the project."""
        if name not in self._releases:
            try:
                known = sorted(self.index.versions(name))
            except EnvprobeError:
                known = []
            self._releases[name] = [v for v in known if self._provider.installable(name, v)]
        return self._releases[name]

    def declared(self, name: str, version: Version,
                 extras: tuple[str, ...] = ()) -> list[Requirement]:
        """What a release requires (with `extras`): an installed one's own metadata (whose
        extras in use are installed already), else the index's."""
        here = self._installed.dists.get(canonicalize_name(name)) if self._installed else None
        if here is not None and here.parsed_version() == version:
            return self._installed.declared(name)  # type: ignore[union-attr]
        key = (canonicalize_name(name), version, tuple(sorted(extras)))
        if key not in self._declared:  # the fix search asks the same release many times
            self._declared[key] = self.index.dependencies(name, version, extras,
                                                          self.interpreter.environment)
        return self._declared[key]

    def released(self, name: str, version: Version) -> str | None:
        times = [f.upload_time for f in self.index.files(name, version) if f.upload_time]
        return min(times) if times else None

    def extras(self, name: str, version: Version) -> dict[str, list[Requirement]]:
        """extra -> the requirements only that extra selects on the probe's interpreter."""
        return self.index.metadata(name, version).by_extra(self.interpreter.environment)

    def teacher(self) -> Teacher:
        """The solver's teachers without full probes: wheels, and micro-probes if allowed."""
        return Teacher(self.scanner, self.releases, lambda fixed, purpose: None, self.declared,
                       self.released, confirm=False, extras=self.extras,
                       micro_probed=self.scanner.micro_probed)

    def close(self) -> None:
        """Remove the micro-probes' folders."""
        self.scanner.close()

