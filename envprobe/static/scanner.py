"""Static questions about a release, answered from its files without installing it.

This is the cheap layer between declared metadata and real installs: one
read of a wheel (its directory and a few members, by range requests where
the index allows; the answer cached) answers "does huggingface_hub 0.23.5 export ModelFilter?"
or "does nemo_toolkit 1.22.0 import it?" in well under a second. A release
is read from its wheel for the target; failing that, from its wheel for
another CPython (only read, never installed: markupsafe 2.0.1 has none for
3.11, yet its modules bind the same names in the one it has for 3.9); failing
that, from its sdist's module sources.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.tags import Tag, cpython_tags, sys_tags
from packaging.version import Version

from envprobe.static.imports import import_sites
from envprobe.static.layout import has_module
from envprobe.static.namespaces import provides_symbol
from envprobe.static.sdist_tree import SdistTooLarge, is_sdist
from envprobe.static.signatures import accepts_keyword
from envprobe.static.source import ScanSource

if TYPE_CHECKING:
    from envprobe.sources.index import PackageIndex

__all__ = ["StaticScanner"]

# A multi-GB wheel is dearer to download than the probe it would save.
_MAX_WHEEL_BYTES = 256 << 20


class StaticScanner:
    """Answers True, False, or None (no wheel to read, or the code is too dynamic).

    `tags` are the target interpreter's wheel tags, most preferred first; the
    index picks the best wheel by that order. None means this interpreter's.
    `scanned` lists the wheels read so far, in the order first read.
    """

    def __init__(self, index: PackageIndex, tags: Sequence[Tag] | None = None) -> None:
        self._index = index
        self._tags = tuple(tags) if tags is not None else None
        self._other_tags = _other_pythons(tuple(tags) if tags is not None else tuple(sys_tags()))
        self._answers: dict[tuple, bool | None] = {}
        self.scanned: list[str] = []

    @property
    def count(self) -> int:
        """How many distinct wheels were read."""
        return len(self.scanned)

    def provides(self, name: str, version: Version, module: str, symbol: str) -> bool | None:
        """Whether `module` of this release binds `symbol`."""

        def compute() -> bool | None:
            wheel = self._wheel(name, version)
            if wheel is None:
                return None
            present = has_module(wheel, module)
            return provides_symbol(wheel, module, symbol) if present else present

        return self._memo(("provides", name, version, module, symbol), compute)

    def has_module(self, name: str, version: Version, module: str) -> bool | None:
        """Whether this release ships the (dotted) `module`."""

        def compute() -> bool | None:
            wheel = self._wheel(name, version)
            return None if wheel is None else has_module(wheel, module)

        return self._memo(("module", name, version, module), compute)

    def imports(self, name: str, version: Version, module: str, symbol: str) -> bool | None:
        """Whether this release's code imports `symbol` from `module` (or `module` itself).

        An empty `symbol` asks about importing the module at all. Imports
        under `if TYPE_CHECKING:` or guarded by a `try` do not count: they
        cannot be what made a probe fail.
        """

        def compute() -> bool | None:
            wheel = self._wheel(name, version)
            if wheel is None:
                return None
            top = module.split(".")[0]
            for site in import_sites(wheel, top):
                if site.typing_only or site.optional:
                    continue  # never runs, or survives the name's absence
                if not symbol:
                    if site.module == module or site.module.startswith(module + "."):
                        return True
                    if module in {f"{site.module}.{n}" for n in site.names}:
                        return True
                elif symbol in site.names:
                    return True
            return False

        return self._memo(("imports", name, version, module, symbol), compute)

    def accepts_keyword(self, name: str, version: Version, module: str, function: str,
                        keyword: str) -> bool | None:
        """Whether this release's `module.function` (qualified name) takes `keyword`."""

        def compute() -> bool | None:
            wheel = self._wheel(name, version)
            return None if wheel is None else accepts_keyword(wheel, module, function, keyword)

        return self._memo(("keyword", name, version, module, function, keyword), compute)

    def names_at(self, name: str, version: Version, module: str, file: str,
                 line: int) -> tuple[str, ...]:
        """Names one import statement (at `file`:`line` of this release) takes from `module`."""
        wheel = self._wheel(name, version)
        if wheel is None:
            return ()
        sites = import_sites(wheel, module.split(".")[0])
        return tuple(n for site in sites
                     if site.file == file and site.line == line and site.module == module
                     for n in site.names)

    def has_wheel(self, name: str, version: Version) -> bool:
        """Whether this release has a wheel for the target small enough to read (or install
        alone): a question it leaves open is then one of dynamic code, not of missing files."""
        dist_file = self._index.best_wheel(name, version, self._tags)
        return dist_file is not None and (dist_file.size or 0) <= _MAX_WHEEL_BYTES

    @property
    def python_tag(self) -> str:
        """The target's own interpreter tag ("cp311"), for words about missing wheels."""
        return next(iter(self._tags or sys_tags())).interpreter

    def _wheel(self, name: str, version: Version) -> Path | ScanSource | None:
        """The file a scan reads: the target's wheel, another CPython's, else the sdist.

        The index hands it out unread: a remote wheel is read by ranges as
        the scans go, and a scan answered from the cache reads nothing.
        """
        dist_file = self._index.best_wheel(name, version, self._tags)
        if dist_file is None or (dist_file.size or 0) > _MAX_WHEEL_BYTES:
            dist_file = self._index.best_wheel(name, version, self._other_tags)
        if dist_file is None or (dist_file.size or 0) > _MAX_WHEEL_BYTES:
            dist_file = self._sdist(name, version)
        if dist_file is None:
            return None
        archive = self._index.archive(dist_file)
        if dist_file.filename not in self.scanned:
            self.scanned.append(dist_file.filename)
        return archive

    def _sdist(self, name: str, version: Version):
        """The release's source archive (a .tar.gz before a .zip), small enough to read."""
        found = [f for f in self._index.files(name, version)
                 if not f.is_wheel and not f.yanked and is_sdist(Path(f.filename))
                 and (f.size or 0) <= _MAX_WHEEL_BYTES]
        return min(found, key=lambda f: not f.filename.endswith(".tar.gz"), default=None)

    def _memo(self, key: tuple, compute: Callable[[], bool | None]) -> bool | None:
        if key not in self._answers:
            try:
                self._answers[key] = compute()
            except (SdistTooLarge, OSError, tarfile.TarError, zipfile.BadZipFile, EOFError):
                self._answers[key] = None  # an archive a scan cannot read tells nothing
        return self._answers[key]


def _other_pythons(tags: tuple[Tag, ...]) -> tuple[Tag, ...]:
    """Other CPython versions' tags on the target's platforms, the nearest versions first."""
    own = set(tags)
    platforms = list(dict.fromkeys(tag.platform for tag in tags if tag.platform != "any"))
    minor = next((int(t.interpreter[3:]) for t in tags
                  if t.interpreter.startswith("cp3") and t.interpreter[3:].isdigit()), 11)
    others = [tag for other in sorted(range(6, 20), key=lambda m: abs(m - minor))
              if other != minor
              for tag in cpython_tags((3, other), platforms=platforms or None)]
    return tuple(dict.fromkeys(tag for tag in others if tag not in own))
