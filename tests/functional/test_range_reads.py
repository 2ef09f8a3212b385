"""Scans of remote wheels by range requests, against real HTTP servers on 127.0.0.1.

The wheel is built here with a large incompressible member the scans never
read, so "fetched only what it read" shows as a small fraction of the file.
Each server speaks real HTTP: one honours `Range`, one ignores it (full
download), and two misbehave (a size that contradicts itself, offsets that
are not the ones asked for), which must end in one clear error.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version
from wheelfactory import build_wheel, write_simple_index

from envprobe.errors import EnvprobeError
from envprobe.sources.config import IndexConfig
from envprobe.sources.index import PackageIndex
from envprobe.sources.ranges import BadRanges, RemoteArchive
from envprobe.sources.transport import Transport
from envprobe.static.scanner import StaticScanner

_FILLER_BYTES = 4 << 20
_SOURCES = {
    "bulky/__init__.py": "from bulky.api import Client, connect\n__all__ = ['Client', 'connect']\n",
    "bulky/api.py": "import json\n\nclass Client:\n    pass\n\n"
                    "def connect(url, *, timeout=10, retries=3):\n    return Client()\n",
    "bulky/tools.py": "from json import dumps\n\ndef dump(value):\n    return dumps(value)\n",
}
_QUESTIONS = [
    ("provides", ("bulky", "Client")),
    ("provides", ("bulky", "Gone")),
    ("has_module", ("bulky.tools",)),
    ("has_module", ("bulky.absent",)),
    ("imports", ("json", "dumps")),
    ("accepts_keyword", ("bulky.api", "connect", "retries")),
    ("accepts_keyword", ("bulky.api", "connect", "verify")),
]


class _Served:
    """What the server sent: body bytes and requests, per path."""

    def __init__(self) -> None:
        self.bytes = 0
        self.ranges: list[str | None] = []
        self.connections: set[int] = set()  # the handlers (one per connection) that sent files


def _handler(root: Path, mode: str, served: _Served):
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # connections stay open between requests

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def handle(self) -> None:
            with contextlib.suppress(ConnectionResetError):  # a client that refused an answer
                super().handle()

        def do_GET(self) -> None:
            if not self.path.startswith("/files/"):
                return super().do_GET()
            data = (root / self.path.lstrip("/")).read_bytes()
            asked = self.headers.get("Range")
            served.ranges.append(asked)
            served.connections.add(id(self))
            if mode == "ignores" or asked is None:
                return self._send(200, data, None)
            first, last = _parse_range(asked, len(data))
            body, total = data[first:last + 1], len(data)
            if mode == "lies":
                total += 4096
            elif mode == "garbage" and not asked.startswith("bytes=-"):
                first, last = first + 7, last + 7  # the tail is honest, later ranges are not
            self._send(206, body, f"bytes {first}-{last}/{total}")

        def _send(self, status: int, body: bytes, content_range: str | None) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if content_range:
                self.send_header("Content-Range", content_range)
            self.end_headers()
            self.wfile.write(body)
            served.bytes += len(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


def _parse_range(header: str, size: int) -> tuple[int, int]:
    first, last = re.fullmatch(r"bytes=(\d*)-(\d*)", header).groups()
    if not first:
        return max(0, size - int(last)), size - 1
    return int(first), min(int(last) if last else size - 1, size - 1)


@contextlib.contextmanager
def _serve(root: Path, mode: str) -> Iterator[tuple[str, _Served]]:
    served = _Served()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, mode, served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(index root, the wheel) for a wheel whose filler is most of its bytes.

    The index offers no PEP 658 metadata files: metadata comes from the wheel.
    """
    dists = tmp_path_factory.mktemp("dists")
    filler = os.urandom(_FILLER_BYTES).decode("latin-1")  # text the zip cannot shrink much
    # The sources first, the filler between them and the directory at the end.
    wheel = build_wheel(dists, "bulky", "1.0", {**_SOURCES, "bulky/data/filler.txt": filler},
                        requires=["json-tools>=2"])
    root = tmp_path_factory.mktemp("site")
    write_simple_index(dists, root, metadata_files=False)
    return root, wheel


def _answers(scanner: StaticScanner) -> list[object]:
    version = Version("1.0")
    return [getattr(scanner, kind)("bulky", version, *args) for kind, args in _QUESTIONS]


def _scan_through(url: str, cache: Path) -> tuple[list[object], StaticScanner, PackageIndex]:
    index = PackageIndex(IndexConfig(index_url=url), cache_dir=cache)
    scanner = StaticScanner(index)
    return _answers(scanner), scanner, index


def _full_download_answers(wheel: Path, folder: Path) -> list[object]:
    """The same questions asked of the wheel on disk, through a find-links folder."""
    (folder / wheel.name).parent.mkdir(parents=True, exist_ok=True)
    (folder / wheel.name).write_bytes(wheel.read_bytes())
    config = IndexConfig(index_url="", no_index=True, find_links=(str(folder),))
    return _answers(StaticScanner(PackageIndex(config, cache_dir=folder / "cache")))


def test_a_range_read_scan_answers_as_the_full_wheel_does_from_a_fraction_of_it(
        site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root, wheel = site
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "full-scans"))
    expected = _full_download_answers(wheel, tmp_path / "folder")
    assert expected == [True, False, True, False, True, True, False]
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "range-scans"))
    with _serve(root, "honours") as (url, served):
        answers, scanner, index = _scan_through(url, tmp_path / "cache")
    archive = index.archive(index.best_wheel("bulky", "1.0"))
    assert isinstance(archive, RemoteArchive)
    assert answers == expected
    assert scanner.scanned == [wheel.name]
    assert all(asked is not None for asked in served.ranges)
    assert len(served.ranges) >= 2  # the tail, then the members at the front
    assert len(served.connections) == 1  # one connection carried them all
    assert archive.fetched == served.bytes < wheel.stat().st_size / 20
    assert not (tmp_path / "cache" / "files").exists()  # nothing downloaded whole


def test_a_cached_scan_reads_no_bytes(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root, _wheel = site
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "scans"))
    with _serve(root, "honours") as (url, served):
        first, _scanner, _index = _scan_through(url, tmp_path / "cache-1")
        assert served.ranges
        served.ranges.clear()
        again, _scanner, _index = _scan_through(url, tmp_path / "cache-2")
    assert again == first
    assert served.ranges == []


def test_a_server_that_ignores_ranges_is_read_from_a_streamed_download(
        site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root, wheel = site
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "full-scans"))
    expected = _full_download_answers(wheel, tmp_path / "folder")
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "range-scans"))
    with _serve(root, "ignores") as (url, served):
        answers, _scanner, _index = _scan_through(url, tmp_path / "cache")
    assert answers == expected
    assert len(served.ranges) == 1  # the one request that found ranges ignored
    kept = list((tmp_path / "cache" / "files").rglob("*.whl"))
    assert [path.read_bytes() for path in kept] == [wheel.read_bytes()]


@pytest.mark.parametrize(("mode", "says"), [
    ("lies", "asked for the last"),
    ("garbage", "asked for bytes 0-"),
])
def test_a_server_whose_ranges_contradict_themselves_is_refused_in_one_line(
        site, tmp_path: Path, mode: str, says: str):
    root, _wheel = site
    with _serve(root, mode) as (url, _served):
        index = PackageIndex(IndexConfig(index_url=url), cache_dir=tmp_path / "cache")
        with pytest.raises(BadRanges, match=says) as caught:
            StaticScanner(index).provides("bulky", Version("1.0"), "bulky", "Client")
    assert isinstance(caught.value, EnvprobeError) and "\n" not in str(caught.value)


def test_metadata_without_a_metadata_file_is_read_from_the_wheel_by_ranges(
        site, tmp_path: Path):
    root, wheel = site
    with _serve(root, "honours") as (url, served):
        index = PackageIndex(IndexConfig(index_url=url), cache_dir=tmp_path / "cache")
        requires = [str(r) for r in index.dependencies("bulky", "1.0")]
    assert requires == ["json-tools>=2"]
    assert 0 < served.bytes < wheel.stat().st_size / 20


def test_a_server_whose_size_contradicts_the_listing_is_refused(site, tmp_path: Path):
    root, wheel = site
    with _serve(root, "honours") as (url, _served):
        index = PackageIndex(IndexConfig(index_url=url), cache_dir=tmp_path / "cache")
        listed = index.best_wheel("bulky", "1.0")
        archive = RemoteArchive(Transport(cert=None, timeout=10), listed.url, listed.filename,
                                sha256=listed.sha256, size=wheel.stat().st_size + 1,
                                fallback=tmp_path / "fallback" / listed.filename)
        with pytest.raises(BadRanges, match="the index lists"), archive.open():
            pass


def test_a_scan_that_reads_most_of_a_wheel_downloads_it_once_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Mostly Python (a pure-Python wheel of a few MB, as NeMo's): asking where it imports a
    # module reads every Python file, so one download beats a range request per 4 MiB.
    dists = tmp_path / "dists"
    text = base64.b64encode(os.urandom(6 << 20)).decode()
    wheel = build_wheel(dists, "bulky", "1.0", {**_SOURCES, "bulky/blob.py": f"BLOB = {text!r}\n"})
    assert wheel.stat().st_size > 4 << 20  # past what the first request fetches whole
    root = tmp_path / "site"
    write_simple_index(dists, root, metadata_files=False)
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "full-scans"))
    expected = _full_download_answers(wheel, tmp_path / "folder")
    monkeypatch.setenv("ENVPROBE_CACHE", str(tmp_path / "range-scans"))
    with _serve(root, "honours") as (url, served):
        index = PackageIndex(IndexConfig(index_url=url), cache_dir=tmp_path / "cache")
        scanner = StaticScanner(index)
        answers = _answers(scanner)
    archive = index.archive(index.best_wheel("bulky", "1.0"))
    assert answers == expected
    assert served.ranges.count(None) == 1, served.ranges  # one plain download
    assert sum(asked is not None for asked in served.ranges) <= 3  # the tail, the first members
    kept = list((tmp_path / "cache" / "files").rglob("*.whl"))
    assert [path.read_bytes() for path in kept] == [wheel.read_bytes()]
    assert archive.path == kept[0]
