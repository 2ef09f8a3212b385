"""What a source distribution declares it needs to build, read from the archive, never run.

Building without isolation skips the step where the installer puts a
project's declared build requirements into a private build environment, so
whoever turns isolation off must install them first: the `[build-system]
requires` of its `pyproject.toml`, or, for a project without one, what pip
assumes for a `setup.py` (setuptools). A learned build rule names only the
module the build lacked (Cython); without the backend beside it, the
unisolated build fails on a machine whose pip cache holds no built wheel.
"""

from __future__ import annotations

import tarfile
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["SETUP_PY_DEFAULT", "build_requirements"]

# What pip installs to build a project that declares no build system (PEP 517's fallback).
SETUP_PY_DEFAULT = ("setuptools>=40.8.0",)
_MAX_PYPROJECT_BYTES = 1 << 20


def build_requirements(sdist: Path) -> tuple[str, ...]:
    """The build requirements `sdist` declares, or the setup.py default when it declares none."""
    text = _pyproject(sdist)
    if text is None:
        return SETUP_PY_DEFAULT
    try:
        system = tomllib.loads(text).get("build-system")
    except tomllib.TOMLDecodeError:
        return SETUP_PY_DEFAULT
    requires = system.get("requires") if isinstance(system, dict) else None
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        return SETUP_PY_DEFAULT
    return tuple(requires)


def _pyproject(sdist: Path) -> str | None:
    """`<root>/pyproject.toml` of a .tar.gz (any tar) or .zip sdist; None when absent."""
    if zipfile.is_zipfile(sdist):
        with zipfile.ZipFile(sdist) as archive:
            for info in archive.infolist():
                if _is_top_pyproject(info.filename) and info.file_size <= _MAX_PYPROJECT_BYTES:
                    return archive.read(info).decode("utf-8", errors="replace")
        return None
    try:
        with tarfile.open(sdist) as archive:
            for member in archive:
                if (member.isfile() and _is_top_pyproject(member.name)
                        and member.size <= _MAX_PYPROJECT_BYTES):
                    stream = archive.extractfile(member)
                    return stream.read().decode("utf-8", errors="replace") if stream else None
    except (tarfile.TarError, OSError):
        return None
    return None


def _is_top_pyproject(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[1] == "pyproject.toml"
