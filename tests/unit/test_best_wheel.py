"""Which wheel of a release suits a target: its tags are read in order, most preferred first."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.tags import Tag

from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex

MANYLINUX = Tag("cp311", "cp311", "manylinux_2_17_x86_64")
LINUX = Tag("cp311", "cp311", "linux_x86_64")
ABI3 = Tag("cp38", "abi3", "manylinux_2_17_x86_64")


@pytest.fixture
def index(tmp_path: Path) -> PackageIndex:
    """A find-links folder of empty files: ranking reads filenames only."""
    for tag in (MANYLINUX, LINUX, ABI3):
        (tmp_path / f"demo-1.0-{tag}.whl").write_bytes(b"")
    (tmp_path / "demo-1.0.tar.gz").write_bytes(b"")
    config = IndexConfig(index_url="", no_index=True, find_links=(str(tmp_path),))
    return PackageIndex(config, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("order", [
    (MANYLINUX, LINUX, ABI3),
    (LINUX, ABI3, MANYLINUX),
    (ABI3, MANYLINUX, LINUX),
])
def test_the_first_tag_the_target_prefers_wins(index: PackageIndex, order: tuple[Tag, ...]):
    best = index.best_wheel("demo", "1.0", tags=order)
    assert best is not None and best.filename == f"demo-1.0-{order[0]}.whl"
    # An iterator, as `sys_tags()` gives, is read in the same order.
    assert index.best_wheel("demo", "1.0", tags=iter(order)) == best


def test_a_tag_listed_twice_keeps_its_first_place(index: PackageIndex):
    best = index.best_wheel("demo", "1.0", tags=[LINUX, MANYLINUX, LINUX])
    assert best is not None and best.filename == f"demo-1.0-{LINUX}.whl"


def test_pure_python_wins_over_any_compiled_wheel(index: PackageIndex, tmp_path: Path):
    (tmp_path / "demo-1.0-py3-none-any.whl").write_bytes(b"")
    fresh = PackageIndex(index.config, cache_dir=tmp_path / "cache")
    best = fresh.best_wheel("demo", "1.0", tags=[MANYLINUX, Tag("py3", "none", "any")])
    assert best is not None and best.is_pure


def test_no_wheel_for_unknown_tags(index: PackageIndex):
    assert index.best_wheel("demo", "1.0", tags=[Tag("cp27", "cp27mu", "linux_i686")]) is None
