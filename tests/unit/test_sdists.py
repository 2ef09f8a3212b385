"""Declared build requirements, read from sdist archives without building them."""

from __future__ import annotations

import zipfile

import pytest
from wheelfactory import build_sdist

from envprobe.static.sdists import SETUP_PY_DEFAULT, build_requirements

SETUPTOOLS = '[build-system]\nrequires = ["setuptools>=61", "Cython<3"]\n'


@pytest.mark.parametrize(("files", "expected"), [
    ({"pyproject.toml": SETUPTOOLS}, ("setuptools>=61", "Cython<3")),
    ({"setup.py": "from setuptools import setup\n"}, SETUP_PY_DEFAULT),
    ({"pyproject.toml": "[tool.black]\nline-length = 80\n"}, SETUP_PY_DEFAULT),
    ({"pyproject.toml": "[build-system\nnot toml"}, SETUP_PY_DEFAULT),
    ({"pyproject.toml": "[build-system]\nrequires = 'setuptools'\n"}, SETUP_PY_DEFAULT),
    ({"sub/pyproject.toml": SETUPTOOLS, "setup.py": ""}, SETUP_PY_DEFAULT),
])
def test_a_tar_sdist_declares_its_build_requirements_or_gets_the_setup_py_default(
        tmp_path, files, expected):
    assert build_requirements(build_sdist(tmp_path, "proj", "1.0", files)) == expected


def test_a_zip_sdist_is_read_too(tmp_path):
    path = tmp_path / "proj-1.0.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("proj-1.0/pyproject.toml", SETUPTOOLS)

    assert build_requirements(path) == ("setuptools>=61", "Cython<3")


def test_an_unreadable_archive_gets_the_default(tmp_path):
    path = tmp_path / "proj-1.0.tar.gz"
    path.write_bytes(b"not an archive")

    assert build_requirements(path) == SETUP_PY_DEFAULT
