"""StaticScanner against a stand-in index: which wheel it reads, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.tags import Tag
from packaging.version import Version
from wheelfactory import build_wheel

from envprobe.static.scanner import StaticScanner

_HUB = {
    "hub/__init__.py": "from hub.api import Filter\n__all__ = ['Filter']\n",
    "hub/api.py": "class Filter: pass\n",
}
_USER = {
    "user/__init__.py": "from typing import TYPE_CHECKING\n"
    "from hub import Filter, Other\n"
    "import hub.api\n"
    "try:\n    from hub import Guarded\nexcept ImportError:\n    Guarded = None\n"
    "if TYPE_CHECKING:\n    from hub import ForTypes\n",
}


@dataclass(frozen=True)
class _File:
    filename: str
    size: int | None


class _Index:
    """Just the two calls the scanner makes; remembers what it was asked."""

    def __init__(self, folder: Path, sizes: dict[str, int] | None = None) -> None:
        self._folder = folder
        self._sizes = sizes or {}
        self.asked: list[tuple[str, Version, object]] = []
        self.downloads = 0

    def best_wheel(self, name: str, version: Version, tags: object) -> _File | None:
        self.asked.append((name, version, tags))
        filename = f"{name}-{version}-py3-none-any.whl"
        if not (self._folder / filename).is_file():
            return None
        return _File(filename, self._sizes.get(name))

    def files(self, name: str, version: Version) -> list:
        return []

    def archive(self, dist: _File) -> Path:
        self.downloads += 1
        return self._folder / dist.filename


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    build_wheel(tmp_path, "hub", "1.0", _HUB)
    build_wheel(tmp_path, "user", "1.0", _USER)
    return tmp_path


def test_tags_reach_the_index_in_preference_order(folder: Path):
    tags = [Tag("cp311", "cp311", "manylinux_2_17_x86_64"), Tag("py3", "none", "any"),
            Tag("cp311", "abi3", "manylinux_2_17_x86_64")]
    index = _Index(folder)
    StaticScanner(index, tags).has_module("hub", Version("1.0"), "hub")
    StaticScanner(index).has_module("hub", Version("1.0"), "hub")
    assert [asked[2] for asked in index.asked] == [tuple(tags), None]


def test_provides_and_has_module(folder: Path):
    scanner = StaticScanner(_Index(folder))
    v1 = Version("1.0")
    assert scanner.provides("hub", v1, "hub", "Filter") is True
    assert scanner.provides("hub", v1, "hub", "Missing") is False
    assert scanner.provides("hub", v1, "hub.gone", "Filter") is False
    assert scanner.has_module("hub", v1, "hub.api") is True
    assert scanner.has_module("hub", v1, "hub.gone") is False
    assert scanner.provides("hub", Version("2.0"), "hub", "Filter") is None
    assert scanner.has_module("hub", Version("2.0"), "hub") is None


def test_answers_are_memoised_and_wheels_counted_once(folder: Path):
    index = _Index(folder)
    scanner = StaticScanner(index)
    for _ in range(3):
        scanner.provides("hub", Version("1.0"), "hub", "Filter")
    scanner.has_module("hub", Version("1.0"), "hub")
    scanner.imports("user", Version("1.0"), "hub", "Filter")
    assert len(index.asked) == 3
    assert scanner.scanned == ["hub-1.0-py3-none-any.whl", "user-1.0-py3-none-any.whl"]
    assert scanner.count == 2


def test_oversized_wheel_is_not_downloaded(folder: Path):
    index = _Index(folder, sizes={"hub": 1 << 40})
    scanner = StaticScanner(index)
    assert scanner.provides("hub", Version("1.0"), "hub", "Filter") is None
    assert index.downloads == 0 and scanner.count == 0


def test_imports_that_never_run_or_are_guarded_do_not_count(folder: Path):
    scanner = StaticScanner(_Index(folder))
    v1 = Version("1.0")
    assert scanner.imports("user", v1, "hub", "Filter") is True
    assert scanner.imports("user", v1, "hub", "Other") is True
    assert scanner.imports("user", v1, "hub", "Guarded") is False
    assert scanner.imports("user", v1, "hub", "ForTypes") is False
    assert scanner.imports("user", v1, "hub.api", "") is True
    assert scanner.imports("user", v1, "hub.cli", "") is False
    assert scanner.imports("user", Version("2.0"), "hub", "Filter") is None


def test_names_at_one_import_statement(folder: Path):
    scanner = StaticScanner(_Index(folder))
    v1 = Version("1.0")
    assert scanner.names_at("user", v1, "hub", "user/__init__.py", 2) == ("Filter", "Other")
    assert scanner.names_at("user", v1, "hub", "user/__init__.py", 3) == ()
    assert scanner.names_at("user", Version("2.0"), "hub", "user/__init__.py", 2) == ()
