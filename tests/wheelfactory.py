"""Build tiny real distributions at test time and serve them as a real index.

Tests install these into real virtual environments with real pip, so every
wheel here is a valid wheel (METADATA, WHEEL, RECORD) and every index page
follows the simple repository API (PEP 503 HTML, PEP 691 JSON, PEP 658
metadata files), served over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

__all__ = ["build_sdist", "build_wheel", "serve_index", "write_simple_index"]


def _metadata_text(
    name: str,
    version: str,
    requires: Iterable[str],
    requires_python: str | None,
    extras: Mapping[str, Iterable[str]],
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires]
    for extra, reqs in extras.items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {req} ; extra == \"{extra}\"" for req in reqs]
    return "\n".join(lines) + "\n\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def build_wheel(
    out_dir: Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    *,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    extras: Mapping[str, Iterable[str]] | None = None,
    tag: str = "py3-none-any",
) -> Path:
    """Write `name-version-tag.whl` holding `files` (path inside site-packages -> text)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    contents: dict[str, bytes] = {path: text.encode() for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = _metadata_text(
        name, version, requires, requires_python, extras or {}
    ).encode()
    contents[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: wheelfactory\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in contents.items()]
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = out_dir / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    return path


def build_sdist(
    out_dir: Path,
    name: str,
    version: str,
    files: Mapping[str, str],
) -> Path:
    """Write `name-version.tar.gz`; `files` must include its setup.py or pyproject.toml."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    contents = dict(files)
    contents.setdefault("PKG-INFO", _metadata_text(name, version, (), None, {}))
    path = out_dir / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in contents.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _wheel_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def write_simple_index(dist_dir: Path, root: Path, *, metadata_files: bool = True,
                       upload_times: Mapping[str, str] | None = None) -> Path:
    """Lay out `root` as a simple repository of every file in `dist_dir`.

    Each project gets `index.html` (PEP 503) and `index.json` (PEP 691); each
    wheel gets a `.metadata` file (PEP 658) when `metadata_files` is set.
    `upload_times` (filename -> ISO 8601) go into the JSON pages (PEP 700).
    Returns `root / "simple"`, the index URL's folder.
    """
    simple = root / "simple"
    files_dir = root / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for dist in sorted(dist_dir.iterdir()):
        if dist.suffix == ".whl":
            project = canonicalize_name(parse_wheel_filename(dist.name)[0])
        elif dist.name.endswith(".tar.gz"):
            project = canonicalize_name(dist.name[: -len(".tar.gz")].rsplit("-", 1)[0])
        else:
            continue
        target = files_dir / dist.name
        target.write_bytes(dist.read_bytes())
        projects.setdefault(project, []).append(target)
    for project, dists in projects.items():
        page = simple / project
        page.mkdir(parents=True, exist_ok=True)
        links, entries = [], []
        for dist in dists:
            digest = hashlib.sha256(dist.read_bytes()).hexdigest()
            url = f"../../files/{dist.name}"
            attrs, entry = "", {"filename": dist.name, "url": url, "hashes": {"sha256": digest}}
            if upload_times and dist.name in upload_times:
                entry["upload-time"] = upload_times[dist.name]
            if metadata_files and dist.suffix == ".whl":
                meta = _wheel_metadata(dist)
                Path(f"{dist}.metadata").write_bytes(meta)
                meta_digest = hashlib.sha256(meta).hexdigest()
                attrs = f' data-dist-info-metadata="sha256={meta_digest}"'
                attrs += f' data-core-metadata="sha256={meta_digest}"'
                entry["core-metadata"] = {"sha256": meta_digest}
            links.append(f'<a href="{url}#sha256={digest}"{attrs}>{dist.name}</a><br/>')
            entries.append(entry)
        (page / "index.html").write_text(
            "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
        )
        (page / "index.json").write_text(
            json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": entries})
        )
    simple.mkdir(parents=True, exist_ok=True)
    (simple / "index.html").write_text(
        "<!DOCTYPE html><html><body>\n"
        + "\n".join(f'<a href="{p}/">{p}</a><br/>' for p in sorted(projects))
        + "\n</body></html>\n"
    )
    return simple


class _IndexHandler(http.server.SimpleHTTPRequestHandler):
    """Serves index.json to clients that ask for PEP 691 JSON, HTML otherwise."""

    def send_head(self):
        accept = self.headers.get("Accept", "")
        wants_json = "application/vnd.pypi.simple.v1+json" in accept
        folder = Path(self.translate_path(self.path))
        if wants_json and folder.is_dir() and (folder / "index.json").exists():
            body = (folder / "index.json").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@contextlib.contextmanager
def serve_index(root: Path) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 (a free port); yields the simple index URL."""

    def handler(*args, **kwargs):
        return _IndexHandler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def serve_dists(dist_dir: Path, root: Path) -> Iterator[str]:
    """`dist_dir`'s files as a simple index written under `root`, served on 127.0.0.1."""
    write_simple_index(dist_dir, root)
    with serve_index(root) as url:
        yield url
