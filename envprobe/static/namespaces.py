"""What `from module import X` would find in a release, read from its wheel's source.

The boundary finder asks "which releases of Q still provide S?" for dozens
of releases; installing each costs minutes, reading its wheel milliseconds.
Nothing here imports or executes wheel code, and every answer says whether
it is conclusive: an absent name proves nothing when the module can produce
names this reading cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envprobe.static.cache import cached_scan
from envprobe.static.facts import ModuleFacts, collect_facts
from envprobe.static.layout import WheelFiles, open_files
from envprobe.static.lazy import lazy_names
from envprobe.static.sdist_tree import SdistFiles
from envprobe.static.source import ScanSource
from envprobe.static.syntax import parse_source

__all__ = ["NamespaceScan", "module_namespace", "provides_symbol"]


@dataclass(frozen=True)
class NamespaceScan:
    """Names that `from module import X` would find, read from source.

    `complete` is False when the module can produce names this scan cannot
    see (an unreadable lazy `__getattr__`, a star-import from another
    distribution, compiled code, a file that does not parse); then a name's
    absence proves nothing, and `unresolved` says why.
    """

    names: frozenset[str]
    complete: bool = True
    lazy_names: frozenset[str] = frozenset()
    declared_all: frozenset[str] | None = None
    unresolved: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Sorted lists, so one scan always writes the same bytes."""
        return {
            "names": sorted(self.names),
            "complete": self.complete,
            "lazy_names": sorted(self.lazy_names),
            "declared_all": None if self.declared_all is None else sorted(self.declared_all),
            "unresolved": list(self.unresolved),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NamespaceScan:
        return cls(
            names=frozenset(data["names"]),
            complete=data["complete"],
            lazy_names=frozenset(data["lazy_names"]),
            declared_all=None if data["declared_all"] is None else frozenset(data["declared_all"]),
            unresolved=tuple(data["unresolved"]),
        )


def module_namespace(wheel_path: Path | ScanSource, module: str) -> NamespaceScan | None:
    """What `module` exports, or None when the wheel does not install it."""

    def scan() -> NamespaceScan | None:
        with open_files(wheel_path) as wheel:
            return _NamespaceReader(wheel).scan(module)

    return cached_scan(
        wheel_path, "namespace", module, scan,
        encode=lambda found: {"scan": None if found is None else found.to_json()},
        decode=lambda data: None if data["scan"] is None else NamespaceScan.from_json(data["scan"]),
    )


def provides_symbol(wheel_path: Path | ScanSource, module: str, name: str) -> bool | None:
    """True if `from module import name` finds it, False if not, None if the scan cannot tell.

    A module the wheel does not install gives False, as the import would
    fail; callers that must tell "no module" from "no name" ask `has_module`.
    """
    scan = module_namespace(wheel_path, module)
    if scan is None:
        return False
    if name in scan.names:
        return True
    return False if scan.complete else None


def _absolute_module(module: str, is_package: bool, level: int, target: str | None) -> str | None:
    """Resolve `from <level dots><target> import ...` written inside `module`."""
    if level == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(base) - 1:
        return None
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


class _NamespaceReader:
    """Namespaces of the modules of one open wheel, following star-imports inside it."""

    def __init__(self, wheel: WheelFiles | SdistFiles) -> None:
        self._wheel = wheel
        self._done: dict[str, NamespaceScan | None] = {}
        self._visiting: set[str] = set()
        self._unreadable_all: set[str] = set()

    def scan(self, module: str) -> NamespaceScan | None:
        if module not in self._done:
            located = self._wheel.locate(module)
            self._visiting.add(module)
            try:
                self._done[module] = None if located is None else self._scan_located(
                    module, *located
                )
            finally:
                self._visiting.discard(module)
        return self._done[module]

    def _scan_located(self, module: str, kind: str, source_file: str | None) -> NamespaceScan:
        children = self._wheel.children(module) if kind in ("package", "namespace") else frozenset()
        if kind == "namespace" or source_file is None:
            return NamespaceScan(names=children)
        if kind in ("extension", "built"):
            return NamespaceScan(
                names=frozenset(), complete=False,
                unresolved=(f"{source_file} is compiled code" if kind == "extension"
                            else f"{source_file} is built, not shipped, by the sdist",),
            )
        tree = parse_source(self._wheel.read(source_file))
        if tree is None:
            return NamespaceScan(
                names=children, complete=False,
                unresolved=(f"{source_file} does not parse on this Python",),
            )
        facts = collect_facts(tree, source_file)
        unresolved = list(facts.unresolved)
        if kind == "package" and (unsure := self._wheel.children_unsure(module)):
            unresolved.append(unsure)
        lazy = lazy_names(facts, source_file, unresolved)
        declared, all_readable = set(facts.declared_all), facts.all_readable
        for name in facts.all_refs:  # `__all__ += sub.__all__`: numpy's way of re-exporting
            found = self._referenced_all(module, kind == "package", name, facts)
            all_readable &= found is not None
            declared |= found or set()
        names = facts.names | children | declared | lazy
        for level, target in facts.star_imports:
            names |= self._star_names(
                _absolute_module(module, kind == "package", level, target),
                f"{'.' * level}{target or ''}", source_file, unresolved,
            )
        if facts.has_all and not all_readable:
            self._unreadable_all.add(module)
        return NamespaceScan(
            names=frozenset(names),
            complete=not unresolved,
            lazy_names=frozenset(lazy),
            declared_all=frozenset(declared) if facts.has_all and all_readable else None,
            unresolved=tuple(dict.fromkeys(unresolved)),
        )

    def _referenced_all(self, module: str, is_package: bool, name: str,
                        facts: ModuleFacts) -> set[str] | None:
        """The `__all__` of the module `name` stands for here; None when it cannot be read."""
        if name in facts.imported:
            level, source, attribute = facts.imported[name]
            base = _absolute_module(module, is_package, level, source)
            target = (f"{base}.{attribute}" if base else attribute) if attribute else base
        else:  # `from .sub import *` binds the submodule `sub` in its package too
            target = f"{module}.{name}" if is_package else None
        if target is None or target in self._visiting or self._wheel.locate(target) is None:
            return None
        scan = self.scan(target)
        return None if scan is None or scan.declared_all is None else set(scan.declared_all)

    def _star_names(
        self, absolute: str | None, written: str, where: str, unresolved: list[str]
    ) -> set[str]:
        """Names `from <absolute> import *` brings in, as far as this wheel shows."""
        if absolute is None or self._wheel.locate(absolute) is None:
            unresolved.append(f"{where} star-imports {written}, which this wheel does not hold")
            return set()
        if absolute in self._visiting:
            # An import cycle: the partner is half-initialised at that moment anyway.
            return set()
        scan = self.scan(absolute)
        if scan is None:
            return set()
        if scan.declared_all is not None:
            return set(scan.declared_all)
        if absolute in self._unreadable_all:
            unresolved.append(f"{where} star-imports {written}, whose __all__ cannot be read")
        unresolved.extend(scan.unresolved)
        return {name for name in scan.names if not name.startswith("_")}
