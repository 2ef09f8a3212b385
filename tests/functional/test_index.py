"""Index access against real indexes on 127.0.0.1 and real find-links folders."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import wheelfactory
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version
from wheelfactory import build_sdist, build_wheel, serve_index, write_simple_index

from envprobe.errors import EnvprobeError, IndexUnreachable, UnknownPackage
from envprobe.paths import cache_dir
from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex

# Captured before the hermetic fixture hides them: live tests use the real configuration.
_ALPHA_REQUIRES = [
    "beta>=1",
    "gamma; python_version < '3'",
    "delta; sys_platform == 'no-such-platform'",
]


def _build_dists(folder: Path) -> Path:
    build_wheel(
        folder, "alpha", "1.0", {"alpha/__init__.py": ""},
        requires=_ALPHA_REQUIRES, requires_python=">=3.8", extras={"fast": ["epsilon>=2"]},
    )
    build_wheel(folder, "alpha", "1.5", {"alpha/__init__.py": ""})
    build_wheel(folder, "alpha", "2.0", {"alpha/__init__.py": ""}, requires=["beta>=2"])
    build_wheel(folder, "beta", "1.0", {"beta.py": ""})
    build_wheel(folder, "multi", "1.0", {"multi.py": ""}, tag="cp39-cp39-win_amd64")
    build_wheel(folder, "multi", "1.0", {"multi.py": ""})
    build_sdist(folder, "oldsd", "1.0", {"setup.py": ""})
    build_sdist(folder, "newsd", "1.0", {
        "setup.py": "",
        "PKG-INFO": "Metadata-Version: 2.2\nName: newsd\nVersion: 1.0\n"
                    "Requires-Python: >=3.9\nRequires-Dist: beta>=1\n\n",
    })
    build_sdist(folder, "dynsd", "1.0", {
        "setup.py": "",
        "PKG-INFO": "Metadata-Version: 2.2\nName: dynsd\nVersion: 1.0\nDynamic: Requires-Dist\n\n",
    })
    return folder


def _annotate(root: Path, project: str, filename: str, *, html: str, entry: dict) -> None:
    """Add attributes to one file of a written index (yanked, requires-python)."""
    page = root / "simple" / project
    text = (page / "index.html").read_text()
    anchor = f'<a href="../../files/{filename}#'
    assert anchor in text
    (page / "index.html").write_text(text.replace(anchor, f"<a {html} " + anchor[3:]))
    data = json.loads((page / "index.json").read_text())
    for item in data["files"]:
        if item["filename"] == filename:
            item.update(entry)
    (page / "index.json").write_text(json.dumps(data))


def _write_index(dists: Path, root: Path, *, metadata_files: bool = True) -> Path:
    write_simple_index(dists, root, metadata_files=metadata_files)
    _annotate(root, "alpha", "alpha-1.5-py3-none-any.whl",
              html='data-yanked="broken build"', entry={"yanked": "broken build"})
    _annotate(root, "alpha", "alpha-1.0-py3-none-any.whl",
              html='data-requires-python="&gt;=3.8"', entry={"requires-python": ">=3.8"})
    return root


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_dists(tmp_path_factory.mktemp("dists"))


@pytest.fixture(scope="module")
def json_index(dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PEP 691 JSON pages and PEP 658 metadata files."""
    with serve_index(_write_index(dists, tmp_path_factory.mktemp("json-index"))) as url:
        yield url


@pytest.fixture(scope="module")
def html_index(dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HTML pages only (no JSON form) and no metadata files: the oldest kind of index."""
    root = _write_index(dists, tmp_path_factory.mktemp("html-index"), metadata_files=False)
    for page in (root / "simple").glob("*/index.json"):
        page.unlink()
    with serve_index(root) as url:
        yield url


@pytest.fixture
def requests_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths the test servers were asked for, in order."""
    seen: list[str] = []

    def log_request(handler: wheelfactory._IndexHandler, *_args: object) -> None:
        seen.append(handler.path)

    monkeypatch.setattr(wheelfactory._IndexHandler, "log_request", log_request)
    return seen


def _index(url: str, **options: object) -> PackageIndex:
    return PackageIndex(IndexConfig.from_pip(index_url=url), **options)


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple/"


# -- listing ------------------------------------------------------------------


@pytest.mark.parametrize("form", ["json_index", "html_index"])
def test_versions_exclude_yanked_in_both_page_forms(form: str, request: pytest.FixtureRequest):
    index = _index(request.getfixturevalue(form))
    assert index.versions("Alpha") == [Version("1.0"), Version("2.0")]
    yanked = index.files("alpha", "1.5")
    assert [dist.yanked for dist in yanked] == [True]


@pytest.mark.parametrize("form", ["json_index", "html_index"])
def test_files_carry_hashes_requires_python_and_tags(form: str, request: pytest.FixtureRequest):
    (dist,) = _index(request.getfixturevalue(form)).files("alpha", "1.0")
    assert dist.filename == "alpha-1.0-py3-none-any.whl"
    assert dist.url.endswith("/files/alpha-1.0-py3-none-any.whl")
    assert dist.requires_python == ">=3.8"
    assert dist.is_wheel and dist.is_pure and len(dist.sha256) == 64
    assert dist.tags == frozenset({Tag("py3", "none", "any")})
    if form == "json_index":
        assert dist.metadata_url == dist.url + ".metadata"
    else:
        assert dist.metadata_url is None


def test_html_page_legacy_metadata_attribute(dists: Path, tmp_path: Path):
    root = _write_index(dists, tmp_path / "legacy")
    page = root / "simple" / "beta" / "index.html"
    text = page.read_text()
    start = text.index(' data-core-metadata="')
    page.write_text(text[:start] + text[text.index('"', start + 21) + 1:])
    (root / "simple" / "beta" / "index.json").unlink()
    with serve_index(root) as url:
        (dist,) = _index(url).files("beta")
        assert dist.metadata_url == dist.url + ".metadata"
        assert dist.metadata_sha256 and len(dist.metadata_sha256) == 64


def test_find_links_folder_as_path_and_file_url(dists: Path):
    for location in (str(dists), dists.as_uri()):
        index = PackageIndex(IndexConfig.from_pip(no_index=True, find_links=[location]))
        assert index.versions("alpha") == [Version("1.0"), Version("1.5"), Version("2.0")]
        release = index.metadata("alpha", "2.0")
        assert release.source == "alpha-2.0-py3-none-any.whl"
        assert release.requires_dist == (Requirement("beta>=2"),)


def test_sources_are_merged(json_index: str, tmp_path: Path):
    build_wheel(tmp_path, "alpha", "3.0", {"alpha/__init__.py": ""})
    index = PackageIndex(IndexConfig.from_pip(index_url=json_index, find_links=[str(tmp_path)]))
    assert index.versions("alpha") == [Version("1.0"), Version("2.0"), Version("3.0")]


def test_best_wheel_prefers_pure_python_and_honours_target_tags(json_index: str):
    index = _index(json_index)
    assert index.best_wheel("multi", "1.0").filename == "multi-1.0-py3-none-any.whl"
    windows = [Tag("cp39", "cp39", "win_amd64")]
    assert index.best_wheel("multi", "1.0", tags=windows).filename.endswith("win_amd64.whl")
    assert index.best_wheel("multi", "1.0", tags=[Tag("cp27", "cp27mu", "linux_i686")]) is None


# -- metadata -----------------------------------------------------------------


def test_metadata_comes_from_pep658_file_without_downloading_the_wheel(
    json_index: str, requests_seen: list[str]
):
    index = _index(json_index)
    release = index.metadata("alpha", "1.0")
    assert release.source == "alpha-1.0-py3-none-any.whl.metadata"
    assert release.complete
    assert release.requires_python == SpecifierSet(">=3.8")
    assert release.provides_extra == frozenset({"fast"})
    assert [str(req) for req in release.requires_dist[:3]] == [
        str(Requirement(line)) for line in _ALPHA_REQUIRES
    ]
    assert "/files/alpha-1.0-py3-none-any.whl.metadata" in requests_seen
    assert "/files/alpha-1.0-py3-none-any.whl" not in requests_seen
    assert not (cache_dir() / "files").exists()


def test_metadata_from_the_wheel_when_no_metadata_file(html_index: str, requests_seen: list[str]):
    index = _index(html_index)
    release = index.metadata("alpha", "1.0")
    assert release.source == "alpha-1.0-py3-none-any.whl"
    assert release.requires_python == SpecifierSet(">=3.8")
    assert "/files/alpha-1.0-py3-none-any.whl" in requests_seen
    assert list((cache_dir() / "files").glob("*/alpha-1.0-py3-none-any.whl"))


def test_sdist_metadata_is_complete_only_when_declared_static(json_index: str):
    index = _index(json_index)
    declared = index.metadata("newsd", "1.0")
    assert declared.complete and declared.requires_dist == (Requirement("beta>=1"),)
    assert declared.requires_python == SpecifierSet(">=3.9")
    assert index.dependencies_known("newsd", "1.0")
    for project in ("oldsd", "dynsd"):
        release = index.metadata(project, "1.0")
        assert not release.complete and release.requires_dist == ()
        assert release.source == f"{project}-1.0.tar.gz"
        # An empty list here means "unknown", and the index says so.
        assert index.dependencies(project, "1.0") == []
        assert not index.dependencies_known(project, "1.0")


def test_wheel_dependencies_are_known_even_when_there_are_none(json_index: str):
    index = _index(json_index)
    assert index.dependencies("beta", "1.0") == []
    assert index.dependencies_known("beta", "1.0")


def test_dependencies_evaluate_markers_and_extras(json_index: str):
    index = _index(json_index)
    assert index.dependencies("alpha", "1.0") == [Requirement("beta>=1")]
    with_extra = index.dependencies("alpha", "1.0", extras=["FAST"])
    assert [req.name for req in with_extra] == ["beta", "epsilon"]
    old_python = index.dependencies("alpha", "1.0", environment={"python_version": "2.7"})
    assert [req.name for req in old_python] == ["beta", "gamma"]


# -- errors -------------------------------------------------------------------


def test_unknown_package_names_the_package_and_where_it_looked(json_index: str, dists: Path):
    index = PackageIndex(IndexConfig.from_pip(index_url=json_index, find_links=[str(dists)]))
    with pytest.raises(UnknownPackage) as caught:
        index.versions("no-such-thing")
    message = str(caught.value)
    assert "\n" not in message
    assert "'no-such-thing'" in message and json_index in message and str(dists) in message
    with pytest.raises(UnknownPackage, match="no release 9.9"):
        index.metadata("alpha", "9.9")


def test_unreachable_index_is_one_line(tmp_path: Path):
    url = _closed_port_url()
    with pytest.raises(IndexUnreachable) as caught:
        PackageIndex(IndexConfig.from_pip(index_url=url), timeout=5).versions("alpha")
    message = str(caught.value)
    assert "\n" not in message and url in message and "alpha" in message
    assert caught.value.exit_code == 2


def test_download_rejects_bytes_that_do_not_match_the_listing(html_index: str):
    index = _index(html_index)
    (dist,) = index.files("beta")
    with pytest.raises(EnvprobeError, match="sha256 mismatch"):
        index.download(dataclasses.replace(dist, sha256="0" * 64))
    assert index.download(dist).read_bytes()[:2] == b"PK"


# -- caching ------------------------------------------------------------------


def test_second_run_makes_no_request(json_index: str, requests_seen: list[str]):
    first = _index(json_index)
    first.versions("alpha")
    first.metadata("alpha", "1.0")
    assert requests_seen
    requests_seen.clear()
    second = _index(json_index)
    assert second.versions("alpha") == [Version("1.0"), Version("2.0")]
    assert second.metadata("alpha", "1.0").requires_python == SpecifierSet(">=3.8")
    assert requests_seen == []


def test_stale_pages_and_refresh_ask_again_but_metadata_stays(
    json_index: str, requests_seen: list[str]
):
    _index(json_index).metadata("alpha", "1.0")
    requests_seen.clear()
    _index(json_index, page_ttl=0).metadata("alpha", "1.0")
    assert requests_seen == ["/simple/alpha/"]
    requests_seen.clear()
    _index(json_index, refresh=True).versions("alpha")
    assert requests_seen == ["/simple/alpha/"]


# -- certificates ---------------------------------------------------------------


def test_unreadable_certificate_bundle_is_one_line(tmp_path: Path):
    config = IndexConfig.from_pip(index_url="http://127.0.0.1:1/")
    with pytest.raises(EnvprobeError, match="certificate bundle"):
        PackageIndex(dataclasses.replace(config, cert=str(tmp_path / "missing.pem")))


# -- the real package index (by hand: pytest -m live) ------------------------------


@pytest.mark.live
def test_live_versions_and_metadata(real_machine: None):
    index = PackageIndex(IndexConfig.from_pip())
    started = time.perf_counter()
    versions = index.versions("huggingface_hub")
    listed = time.perf_counter() - started
    assert versions == sorted(versions) and len(versions) > 10
    started = time.perf_counter()
    release = index.metadata("nemo_toolkit", "1.23.0")
    read = time.perf_counter() - started
    print(f"\nhuggingface_hub: {len(versions)} releases ({versions[0]} .. {versions[-1]}), "
          f"listed in {listed:.2f}s; nemo_toolkit 1.23.0 metadata from {release.source} "
          f"in {read:.2f}s")
    core = [str(req) for req in release.requires_dist if "extra" not in str(req.marker)]
    print(f"  core requirements: {', '.join(core)}; extras: {sorted(release.provides_extra)}")
    assert release.complete
    assert any(canonicalize_name(req.name) == "huggingface-hub" for req in release.requires_dist)
