"""What a row release takes from a column project, and which column releases have it.

Read from wheels, without installing: the row release's import sites of the
column's top-level modules, then, per name, a gallop over the column's
releases (`gallop_static`) for the run that provides it. A name *added* in a
release bounds the window from below just as a removal bounds it from above.
Where a wheel cannot be read the answer is None and probes decide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.mapping.reached import reached_files
from envprobe.solving.boundary import Search, gallop_static
from envprobe.sources.index import PackageIndex
from envprobe.static.imports import import_sites
from envprobe.static.layout import WheelFiles
from envprobe.static.scanner import StaticScanner

__all__ = ["Run", "Use", "Uses"]


@dataclass(frozen=True)
class Use:
    """`from module import name` (or `import module`, name "") at `site` of the row release."""

    module: str
    name: str
    site: str

    @property
    def words(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module


@dataclass
class Run:
    """The releases (positions low..high) that provide one use; empty when none do."""

    use: Use
    low: int | None
    high: int | None
    added: Search | None = None  # the search that found where it arrived, if it did
    removed: Search | None = None  # the search that found where it left, if it did
    unknown: bool = False  # some wheel could not be read: probes must decide

    @property
    def empty(self) -> bool:
        return self.low is None and not self.unknown


@dataclass
class Uses:
    """Static questions of one map, with the wheels they read (the scans' evidence)."""

    index: PackageIndex
    scanner: StaticScanner
    tags: Sequence[Tag]
    starts: list[str] = field(default_factory=list)  # the modules the probe code imports
    scanned: list[str] = field(default_factory=list)
    _tops: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _reached: dict[tuple[str, Version], frozenset[str] | None] = field(default_factory=dict)

    def of(self, row: str, version: Version, column: str,
           column_releases: Sequence[Version]) -> list[Use] | None:
        """What this row release imports from `column` where the probe's imports run it
        (`reached`); None: no wheel."""
        wheel = self._wheel(row, version)
        if wheel is None:
            return None
        if (row, version) not in self._reached:
            self._reached[row, version] = reached_files(wheel, self.starts)
        reached = self._reached[row, version]
        found: dict[tuple[str, str], Use] = {}
        for top in self._top_modules(column, column_releases):
            for site in import_sites(wheel, top):
                if site.typing_only or site.optional:
                    continue  # never runs, or survives the name's absence
                if reached is not None and (site.in_function or site.file not in reached):
                    continue  # not run by importing what the probe imports
                where = f"{site.file}:{site.line}"
                for name in site.names or ("",):
                    found.setdefault((site.module, name), Use(site.module, name, where))
        return sorted(found.values(), key=lambda u: (u.module, u.name))

    def run(self, column: str, releases: Sequence[Version], use: Use) -> Run:
        """Where `use` is provided among `releases` (ascending), assuming one contiguous run."""
        has = self._predicate(column, use)
        if not releases:
            return Run(use, None, None)
        top, result = len(releases) - 1, Run(use, None, None)
        answer = has(releases[top])
        if answer is None:
            return Run(use, None, None, unknown=True)
        high = top
        if not answer:
            result.removed = gallop_static(releases, releases[top], has)
            if result.removed.direction != "removed" or result.removed.last_with is None:
                result.unknown = None in result.removed.checked.values()
                return result
            high = releases.index(result.removed.last_with)
        low = 0
        bottom = has(releases[0])
        if bottom is None:
            result.unknown = True
        elif not bottom:
            result.added = gallop_static(releases[: high + 1], releases[0], has)
            if result.added.direction != "added" or result.added.first_with is None:
                result.unknown = True
                return result
            low = releases.index(result.added.first_with)
        result.low, result.high = low, high
        return result

    def _predicate(self, column: str, use: Use) -> Callable[[Version], bool | None]:
        def has(version: Version) -> bool | None:
            if not use.name:
                return self.scanner.has_module(column, version, use.module)
            answer = self.scanner.provides(column, version, use.module, use.name)
            if answer is False and self.scanner.has_module(
                    column, version, f"{use.module}.{use.name}"):
                return True  # `from package import submodule`
            return answer

        return has

    def _top_modules(self, column: str, releases: Sequence[Version]) -> tuple[str, ...]:
        """The column's top-level import names, from its newest readable wheel."""
        if column not in self._tops:
            tops: tuple[str, ...] = (canonicalize_name(column).replace("-", "_"),)
            for version in reversed(releases):
                wheel = self._wheel(column, version)
                if wheel is not None:
                    with WheelFiles.open(wheel) as files:
                        names = {p.split("/")[0].removesuffix(".py")
                                 for p in files.python_files()}
                    tops = tuple(sorted(n for n in names if n.isidentifier())) or tops
                    break
            self._tops[column] = tops
        return self._tops[column]

    def _wheel(self, name: str, version: Version):
        dist = self.index.best_wheel(name, version, self.tags)
        if dist is None:
            return None
        archive = self.index.archive(dist)
        if dist.filename not in self.scanned:
            self.scanned.append(dist.filename)
        return archive
