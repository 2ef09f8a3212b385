"""Core metadata as wheels and sdists state it, and when its requirements are known."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envprobe.errors import EnvprobeError
from envprobe.sources.metadata import (
    parse_metadata,
    sdist_pkg_info,
    unknown_metadata,
    wheel_metadata_text,
)

DEMO = canonicalize_name("demo")
V1 = Version("1.0")

WHEEL_METADATA = """\
Metadata-Version: 2.1
Name: Demo
Version: 1.0
Requires-Python: >=3.9
Provides-Extra: Fast_Path
Requires-Dist: beta>=1
Requires-Dist: gamma; extra == "fast-path"

A description body that is not a header.
"""


def _parse(text: str, *, from_sdist: bool = False):
    return parse_metadata(text, project=DEMO, version=V1, source="here", from_sdist=from_sdist)


def test_wheel_metadata_states_requirements_python_and_extras():
    release = _parse(WHEEL_METADATA)
    assert release.name == "demo" and release.version == V1 and release.source == "here"
    assert release.requires_dist == (
        Requirement("beta>=1"), Requirement('gamma; extra == "fast-path"')
    )
    assert release.requires_python == SpecifierSet(">=3.9")
    assert release.provides_extra == frozenset({"fast-path"})
    assert release.complete


def test_a_requirement_that_does_not_parse_keeps_the_others_but_is_not_complete():
    release = _parse("Metadata-Version: 2.1\nName: demo\nRequires-Dist: beta>=1\n"
                     "Requires-Dist: ???\n\n")
    assert release.requires_dist == (Requirement("beta>=1"),) and not release.complete


def test_an_unparsable_python_range_is_no_range():
    release = _parse("Metadata-Version: 2.1\nName: demo\nRequires-Python: three\n\n")
    assert release.requires_python is None and release.complete


@pytest.mark.parametrize(("header", "known"), [
    ("Metadata-Version: 2.2\n", True),
    ("Metadata-Version: 2.4\n", True),
    ("Metadata-Version: 2.1\n", False),  # before 2.2, an sdist may leave out what it computes
    ("", False),
    ("Metadata-Version: 2.2\nDynamic: Requires-Dist\n", False),
    ("Metadata-Version: 2.2\nDynamic: requires-python\n", True),
])
def test_sdist_requirements_are_known_only_when_declared_static(header: str, known: bool):
    release = _parse(f"{header}Name: demo\nRequires-Python: >=3.9\nRequires-Dist: beta\n\n",
                     from_sdist=True)
    assert release.complete is known
    assert release.requires_dist == ((Requirement("beta"),) if known else ())
    dynamic_python = "requires-python" in header.lower()
    assert release.requires_python == (None if dynamic_python else SpecifierSet(">=3.9"))


def test_a_release_without_metadata_knows_nothing():
    release = unknown_metadata(DEMO, V1, "demo-1.0.tar.gz")
    assert not release.complete and release.requires_dist == ()
    assert release.requires_python is None and release.source == "demo-1.0.tar.gz"


def _tar(path: Path, members: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))
    return path


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


@pytest.mark.parametrize("pack", [_tar, _zip])
def test_sdist_pkg_info_is_the_one_at_the_root(tmp_path: Path, pack):
    suffix = ".tar.gz" if pack is _tar else ".zip"
    sdist = pack(tmp_path / f"demo-1.0{suffix}", {
        "demo-1.0/demo.egg-info/PKG-INFO": "nested",
        "demo-1.0/PKG-INFO": "root",
    })
    assert sdist_pkg_info(sdist) == "root"
    bare = pack(tmp_path / f"bare-1.0{suffix}", {"bare-1.0/setup.py": ""})
    assert sdist_pkg_info(bare) is None


def test_wheel_metadata_text_reads_the_dist_info(tmp_path: Path):
    wheel = _zip(tmp_path / "demo-1.0-py3-none-any.whl", {
        "demo/__init__.py": "",
        "demo-1.0.dist-info/METADATA": WHEEL_METADATA,
    })
    assert wheel_metadata_text(wheel) == WHEEL_METADATA
    broken = _zip(tmp_path / "broken-1.0-py3-none-any.whl", {"broken/__init__.py": ""})
    with pytest.raises(EnvprobeError, match="broken-1.0-py3-none-any.whl has no"):
        wheel_metadata_text(broken)
