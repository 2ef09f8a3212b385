"""The compact file table hands back exactly the files the pages listed."""

from __future__ import annotations

from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.sources.file_table import FileTable
from envprobe.sources.pages import Link, dist_file

_BASE = "https://files.example/packages/ab/cd/"
_LINKS = [
    Link("demo-1.0-py3-none-any.whl", _BASE + "demo-1.0-py3-none-any.whl", sha256="a" * 64,
         metadata_url=_BASE + "demo-1.0-py3-none-any.whl.metadata", metadata_sha256="b" * 64,
         size=1234, upload_time="2024-01-02T03:04:05Z", requires_python=">=3.8"),
    Link("demo-1.0.tar.gz", _BASE + "demo-1.0.tar.gz", sha256="C" * 64),  # kept as written
    # A URL that does not end in the (unquoted) file name, and a metadata URL of its own.
    Link("demo-2.0+local-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         _BASE + "demo-2.0%2Blocal-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         metadata_url="https://elsewhere.example/demo.metadata"),
    Link("demo-3.0-py3-none-any.whl", _BASE + "demo-3.0-py3-none-any.whl", yanked=True),
]


def test_files_come_back_as_listed_and_yanked_releases_are_left_out():
    dists = [dist_file(canonicalize_name("demo"), link) for link in _LINKS]
    table = FileTable(dists)
    assert table.files() == dists
    assert table.files(Version("1.0")) == dists[:2]
    assert table.files(Version("9.9")) == []
    assert table.versions(yanked=False) == [Version("1.0"), Version("2.0+local")]
    assert table.versions(yanked=True)[-1] == Version("3.0")
    shared = FileTable([dists[0]]).files()[0].tags
    assert shared is table.files(Version("1.0"))[0].tags  # one tag set for equal tags
