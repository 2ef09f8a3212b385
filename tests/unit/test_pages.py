"""Index pages as indexes write them (PEP 503 HTML, PEP 691 JSON), read without a network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.sources.pages import (
    Link,
    MalformedPage,
    dist_file,
    links_from_html,
    links_from_json,
    links_in_folder,
)

PAGE = "http://127.0.0.1:9/simple/demo/"
SHA = "a" * 64
META_SHA = "b" * 64

HTML = f"""<!DOCTYPE html>
<html><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256={SHA.upper()}"
   data-requires-python="&gt;=3.8" data-core-metadata="sha256={META_SHA}">demo-1.0</a>
<a href="/files/demo-1.1.tar.gz#md5=0123" data-yanked="">demo-1.1</a>
<a href="http://127.0.0.1:9/demo-2.0-py3-none-any.whl" data-dist-info-metadata="true">2</a>
<a href="demo-2.1-py3-none-any.whl" data-core-metadata="false">2.1</a>
<a>no href</a>
</body></html>
"""


def test_html_anchors_become_links_with_hashes_python_range_and_yanked():
    first, second, third, fourth = links_from_html(HTML, PAGE)
    assert first == Link(
        filename="demo-1.0-py3-none-any.whl",
        url="http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl",
        sha256=SHA,
        requires_python=">=3.8",
        metadata_url="http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl.metadata",
        metadata_sha256=META_SHA,
    )
    assert second.url == "http://127.0.0.1:9/files/demo-1.1.tar.gz"
    assert second.sha256 is None and second.yanked and second.metadata_url is None
    # The attribute PEP 714 replaced still offers the metadata file.
    assert third.metadata_url == third.url + ".metadata" and third.metadata_sha256 is None
    assert fourth.url == PAGE + "demo-2.1-py3-none-any.whl" and fourth.metadata_url is None


def test_html_base_element_decides_where_relative_links_point():
    page = '<base href="/elsewhere/"><a href="demo-1.0.tar.gz">x</a>'
    (link,) = links_from_html(page, PAGE)
    assert link.url == "http://127.0.0.1:9/elsewhere/demo-1.0.tar.gz"


def test_html_filename_is_unquoted_from_the_url():
    (link,) = links_from_html('<a href="demo%2Bextra-1.0.tar.gz">x</a>', PAGE)
    assert link.filename == "demo+extra-1.0.tar.gz"


def _json_page(*files: dict) -> bytes:
    page = {"meta": {"api-version": "1.1"}, "name": "demo", "files": list(files)}
    return json.dumps(page).encode()


def test_json_entries_become_links_with_pep658_and_pep700_fields():
    body = _json_page(
        {
            "filename": "demo-1.0-py3-none-any.whl",
            "url": "../../files/demo-1.0-py3-none-any.whl#sha256=ignored",
            "hashes": {"sha256": SHA},
            "requires-python": ">=3.8",
            "core-metadata": {"sha256": META_SHA},
            "size": 1234,
            "upload-time": "2024-01-02T03:04:05.000000Z",
        },
        {"filename": "demo-1.1.tar.gz", "url": "/files/demo-1.1.tar.gz", "hashes": {},
         "yanked": "", "requires-python": ""},
        {"filename": "demo-1.2.tar.gz", "url": "/files/demo-1.2.tar.gz", "hashes": {},
         "yanked": False, "dist-info-metadata": True},
    )
    first, second, third = links_from_json(body, PAGE)
    assert first == Link(
        filename="demo-1.0-py3-none-any.whl",
        url="http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl",
        sha256=SHA,
        requires_python=">=3.8",
        metadata_url="http://127.0.0.1:9/files/demo-1.0-py3-none-any.whl.metadata",
        metadata_sha256=META_SHA,
        size=1234,
        upload_time="2024-01-02T03:04:05.000000Z",
    )
    # An empty reason still means yanked; an empty Requires-Python means none.
    assert second.yanked and second.requires_python is None and second.sha256 is None
    assert not third.yanked and third.metadata_url == third.url + ".metadata"


@pytest.mark.parametrize(
    "body", [b"<html>", b"{}", b"[]", b'{"files": 3}', b'{"files": [{"filename": "x"}]}']
)
def test_a_page_that_is_not_json_is_malformed(body: bytes):
    with pytest.raises(MalformedPage, match=PAGE):
        links_from_json(body, PAGE)


def test_find_links_folder_lists_its_files_only(tmp_path: Path):
    (tmp_path / "demo-1.0.tar.gz").write_bytes(b"12345")
    (tmp_path / "demo-0.9-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "demo-2.0.tar.gz").write_bytes(b"")
    links = links_in_folder(tmp_path)
    assert [link.filename for link in links] == ["demo-0.9-py3-none-any.whl", "demo-1.0.tar.gz"]
    assert links[1].url == (tmp_path / "demo-1.0.tar.gz").as_uri() and links[1].size == 5


def test_dist_file_reads_the_filename_for_one_project_only():
    demo = canonicalize_name("Demo")
    compiled = "Demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    wheel = dist_file(demo, Link(compiled, "u", yanked=True))
    assert wheel is not None and wheel.is_wheel and not wheel.is_pure and wheel.yanked
    assert wheel.version == Version("1.0")
    assert wheel.tags == frozenset({Tag("cp311", "cp311", "manylinux_2_17_x86_64")})
    sdist = dist_file(demo, Link("demo-1.0.tar.gz", "u"))
    assert sdist is not None and not sdist.is_wheel and not sdist.is_pure and not sdist.tags
    pure = dist_file(demo, Link("demo-1.0-py2.py3-none-any.whl", "u"))
    assert pure is not None and pure.is_pure
    assert dist_file(demo, Link("other-1.0.tar.gz", "u")) is None
    assert dist_file(demo, Link("demo-not_a_version.tar.gz", "u")) is None
    assert dist_file(demo, Link("demo-1.0-bad.whl", "u")) is None
    assert dist_file(demo, Link("README.txt", "u")) is None
