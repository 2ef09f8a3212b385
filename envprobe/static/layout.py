"""A wheel as the tree of files it installs, read from the zip without installing it.

Scans ask where a dotted module lives (package, module, extension or
namespace folder) and what a package holds; `.dist-info` metadata and
non-library `.data` schemes never land on `sys.path`, so they are left out.
`open_files` opens a wheel or an sdist (`sdist_tree`) behind the same questions.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from envprobe.static.cache import cached_scan
from envprobe.static.sdist_tree import SdistFiles, is_sdist
from envprobe.static.source import ScanSource, scan_source

__all__ = ["WheelFiles", "has_module", "open_files"]

_EXTENSION_SUFFIXES = (".so", ".pyd")


def has_module(source: Path | ScanSource, dotted: str) -> bool | None:
    """Whether the wheel (or sdist) installs `dotted` as a package, namespace package,
    module or extension; None when an sdist's build may add it unseen."""

    def scan() -> bool | None:
        with open_files(source) as files:
            if files.locate(dotted) is not None:
                return True
            return None if files.absence_unsure(dotted) else False

    return cached_scan(source, "module", dotted, scan,
                       encode=lambda found: {"found": found}, decode=lambda data: data["found"])


def open_files(source: Path | ScanSource
               ) -> contextlib.AbstractContextManager[WheelFiles | SdistFiles]:
    """The installed layout of a wheel, or of an sdist as far as its sources show it."""
    archive = scan_source(source)
    opener = SdistFiles.open if is_sdist(Path(archive.filename)) else WheelFiles.open
    return opener(archive)


def _installed_path(member: str) -> str | None:
    """Where a zip member lands relative to site-packages; None for metadata and data."""
    if member.endswith("/"):
        return None
    head, _, rest = member.partition("/")
    if head.endswith(".dist-info"):
        return None
    if head.endswith(".data"):
        scheme, _, inner = rest.partition("/")
        return inner if scheme in ("purelib", "platlib") and inner else None
    return member


def _extension_module(filename: str) -> str | None:
    """`fast.cpython-311-x86_64-linux-gnu.so` -> `fast`; None for other files."""
    if filename.endswith(_EXTENSION_SUFFIXES):
        return filename.partition(".")[0]
    return None


@dataclass
class WheelFiles:
    """The installed layout of an open wheel: files, folders and how to read them."""

    archive: zipfile.ZipFile
    members: dict[str, str] = field(default_factory=dict)
    folders: set[str] = field(default_factory=set)
    extensions: dict[str, str] = field(default_factory=dict)
    source: ScanSource | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, source: Path | ScanSource) -> Iterator[WheelFiles]:
        """Only the zip's directory is read here; members are read when asked for."""
        scanned = scan_source(source)
        with scanned.open() as stream, zipfile.ZipFile(stream) as archive:
            wheel = cls(archive, source=scanned)
            for member in archive.namelist():
                installed = _installed_path(member)
                if installed is None:
                    continue
                wheel.members[installed] = member
                folder, _, filename = installed.rpartition("/")
                while folder and folder not in wheel.folders:
                    wheel.folders.add(folder)
                    folder = folder.rpartition("/")[0]
                stem = _extension_module(filename)
                if stem is not None:
                    module_path = f"{installed.rpartition('/')[0]}/{stem}".lstrip("/")
                    wheel.extensions[module_path] = installed
            yield wheel

    def read(self, path: str) -> bytes:
        return self.archive.read(self.members[path])

    def python_files(self) -> list[str]:
        return sorted(path for path in self.members if path.endswith(".py"))

    def read_each(self, paths: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) of each file, in the order they lie in the archive: a wheel read
        by ranges is then read front to back, in few requests."""
        infos = {path: self.archive.getinfo(self.members[path]) for path in paths}
        if self.source is not None:
            self.source.will_read(sum(info.compress_size for info in infos.values()))
        offsets = {path: info.header_offset for path, info in infos.items()}
        for path in sorted(offsets, key=offsets.__getitem__):
            yield path, self.read(path)

    def locate(self, dotted: str) -> tuple[str, str | None] | None:
        """(kind, source file) of a module: package, module, extension or namespace."""
        base = dotted.replace(".", "/")
        if f"{base}/__init__.py" in self.members:
            return "package", f"{base}/__init__.py"
        if f"{base}.py" in self.members:
            return "module", f"{base}.py"
        if base in self.extensions:
            return "extension", self.extensions[base]
        if base in self.folders:
            return "namespace", None
        return None

    def absence_unsure(self, dotted: str) -> str | None:
        """A wheel lists every file it installs: an absence is always proof."""
        return None

    def children_unsure(self, dotted: str) -> str | None:
        """A wheel names every module of a package."""
        return None

    def children(self, dotted: str) -> frozenset[str]:
        """Names of the modules and packages directly inside package `dotted`."""
        prefix = dotted.replace(".", "/") + "/"
        names = set()
        for path in [*self.members, *self.folders]:
            if not path.startswith(prefix):
                continue
            head, slash, _ = path[len(prefix):].partition("/")
            name = head if slash else (
                head[: -len(".py")] if head.endswith(".py") else _extension_module(head)
            )
            if name and name.isidentifier() and name != "__init__":
                names.add(name)
        return frozenset(names)
