"""A source distribution as the tree of modules it would install, read from the archive.

Old releases of popular projects ship no wheel for today's Pythons, only an
sdist; its module sources answer "does release X bind S?" as well as a
wheel does, once the package root is found (`src/`, `lib/`, `python/` or the
top folder). Nothing is extracted or run: members are read into memory
under size budgets, and links, absolute paths and `..` are ignored. What a
build may add (compiled extensions, files it writes) is recorded, so an
absence inside such a tree is never read as proof.
"""

from __future__ import annotations

import contextlib
import re
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from envprobe.static.source import ScanSource, scan_source

__all__ = ["SdistFiles", "SdistTooLarge", "is_sdist"]

_ROOTS = ("src/", "lib/", "python/", "")
# Top-level names in a project folder that are not what it installs.
_NOT_INSTALLED = frozenset({
    "src", "lib", "python", "tests", "test", "testing", "docs", "doc", "examples", "example",
    "benchmarks", "bench", "scripts", "tools", "build", "ci", "setup", "conftest", "noxfile",
    "tasks", "versioneer", "fabfile", "ez_setup", "distribute_setup",
})
_NATIVE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".pyx", ".rs", ".f", ".f90", ".cu", ".m")
_BUILD_FILES = frozenset({"setup.py", "setup.cfg", "pyproject.toml"})
_MAX_MEMBER_BYTES = 8 << 20
_MAX_SOURCE_BYTES = 96 << 20  # all Python sources together
_MAX_MEMBERS = 200_000
_MAX_TOTAL_BYTES = 1 << 30  # everything the archive unpacks to, read or skipped
# `write_to = "src/pkg/_version.py"` and the like: a module the build writes.
_WRITTEN = re.compile(r"""['"]([\w./-]+\.py)['"]""")


class SdistTooLarge(ValueError):
    """The archive exceeds a budget: reading it would cost more than it can save."""


def is_sdist(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"))


@dataclass
class SdistFiles:
    """The same questions as `WheelFiles` (locate, children, read, python_files) for an sdist.

    `native` tells that the build compiles code (so a package may gain
    modules the archive does not name); `ambiguous` lists top-level names
    found under two roots, which are then not located at all; `opaque` holds
    modules whose text cannot be read (written by the build, or too large).
    """

    sources: dict[str, bytes] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    native: bool = False
    ambiguous: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)

    @classmethod
    @contextlib.contextmanager
    def open(cls, source: Path | ScanSource) -> Iterator[SdistFiles]:
        files = _read_archive(scan_source(source))
        yield cls.from_files(files)

    @classmethod
    def from_files(cls, files: dict[str, bytes | None]) -> SdistFiles:
        """Map project-relative paths (None: a file whose text was not needed) to installed ones."""
        tree = cls()
        tree.native = any(p.endswith(_NATIVE_SUFFIXES) for p in files)
        written = {m for text in (files.get(b) for b in _BUILD_FILES) if text
                   for m in _WRITTEN.findall(text.decode("utf-8", "replace"))}
        written |= {p[: -len(".in")] for p in files if p.endswith(".py.in")}
        everything = {**{w.lstrip("./"): None for w in written}, **files}
        roots: dict[str, set[str]] = {}
        for project_path in everything:
            for root in _ROOTS:
                if project_path.startswith(root):
                    top = _top_name(project_path[len(root):])
                    if top and top not in _NOT_INSTALLED:
                        roots.setdefault(top, set()).add(root)
        tree.ambiguous = {top for top, found in roots.items() if len(found) > 1}
        for project_path, data in everything.items():
            for root in _ROOTS:
                installed = project_path[len(root):]
                top = _top_name(installed) if project_path.startswith(root) else None
                if top is None or roots.get(top) != {root}:
                    continue
                tree.members.add(installed)
                if installed.endswith(".py"):
                    if data is None:
                        tree.opaque.add(installed)
                    else:
                        tree.sources[installed] = data
                folder = installed.rpartition("/")[0]
                while folder and folder not in tree.folders:
                    tree.folders.add(folder)
                    folder = folder.rpartition("/")[0]
        return tree

    def read(self, path: str) -> bytes:
        return self.sources[path]

    def python_files(self) -> list[str]:
        return sorted(self.sources)

    def read_each(self, paths: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(path, bytes) of each file; an sdist's sources are already in memory."""
        return ((path, self.sources[path]) for path in paths)

    def locate(self, dotted: str) -> tuple[str, str | None] | None:
        """(kind, source file); kind "built" for a module the build compiles or writes."""
        base = dotted.replace(".", "/")
        for candidate, kind in ((f"{base}/__init__.py", "package"), (f"{base}.py", "module")):
            if candidate in self.opaque:
                return "built", candidate
            if candidate in self.members:
                return kind, candidate
        if any(f"{base}{suffix}" in self.members for suffix in (".pyx", ".c", ".rs")):
            return "built", f"{base}.pyx"
        if base in self.folders:
            return "namespace", None
        return None

    def children(self, dotted: str) -> frozenset[str]:
        prefix = dotted.replace(".", "/") + "/"
        names = set()
        for path in [*self.members, *self.folders]:
            if path.startswith(prefix):
                head, slash, _ = path[len(prefix):].partition("/")
                name = head if slash else head.partition(".")[0] if head.endswith(
                    (".py", ".pyx")) else ""
                if name.isidentifier() and name != "__init__":
                    names.add(name)
        return frozenset(names)

    def children_unsure(self, dotted: str) -> str | None:
        """Why package `dotted` may hold modules `children` does not name; None if it cannot."""
        return "the sdist compiles code, which may add modules it does not name" \
            if self.native else None

    def absence_unsure(self, dotted: str) -> str | None:
        """Why a module missing from this tree might still be installed; None if it cannot be."""
        top = dotted.partition(".")[0]
        if top in self.ambiguous:
            return f"the sdist holds {top} under more than one folder"
        if self.locate(top) is None:
            return f"the sdist's layout does not show where {top} lives"
        if self.native:
            return "the sdist compiles code, which may add modules it does not name"
        return None


def _top_name(installed: str) -> str | None:
    head, slash, _ = installed.partition("/")
    if not slash:
        return head[: -len(".py")] if head.endswith(".py") and head[:-3].isidentifier() else None
    return head if head.isidentifier() else None


def _safe_name(name: str) -> str | None:
    """The path inside the project folder; None for links out of it or odd names."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith("/") or ".." in parts or len(parts) < 2:
        return None
    return "/".join(parts[1:])  # the project folder every sdist starts with


def _wanted(path: str) -> bool:
    """Members whose text a scan reads: Python sources and the build's own files."""
    return path.endswith(".py") or path in _BUILD_FILES


def _read_archive(source: ScanSource) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = {}
    budget, total = [_MAX_SOURCE_BYTES], [_MAX_TOTAL_BYTES]

    def keep(name: str, size: int, read) -> None:
        total[0] -= size
        if len(files) >= _MAX_MEMBERS or total[0] < 0:
            raise SdistTooLarge(f"{source.filename} unpacks to more than a scan reads")
        inner = _safe_name(name)
        if inner is None:
            return
        if not _wanted(inner) or size > _MAX_MEMBER_BYTES:
            files[inner] = None
            return
        budget[0] -= size
        if budget[0] < 0:
            raise SdistTooLarge(f"{source.filename} holds more Python source than a scan reads")
        files[inner] = read()[: _MAX_MEMBER_BYTES]

    with source.open() as stream:
        if source.filename.endswith(".zip"):
            with zipfile.ZipFile(stream) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        keep(info.filename, info.file_size, lambda i=info: archive.read(i))
            return files
        with tarfile.open(fileobj=stream) as archive:
            for member in archive:
                if member.isfile():
                    keep(member.name, member.size,
                         lambda m=member: archive.extractfile(m).read())  # type: ignore[union-attr]
    return files
