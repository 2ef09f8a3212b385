"""A virtual environment for the running CPython, written here in a millisecond.

`uv venv` is a process start and 50 ms of a probe's critical path. For the
interpreter that runs envprobe itself, on Linux, everything it writes that an
install or an import reads is known here without asking anyone: the base
interpreter, its version, and the layout of PEP 405 (`pyvenv.cfg` beside
`bin/`, interpreter links, an empty site-packages). Any other interpreter
(another Python, a free-threaded build, another platform) gets `uv venv`.
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from pathlib import Path

__all__ = ["write_venv"]


def write_venv(path: Path, executable: str) -> Path | None:
    """Write an empty environment at `path` for `executable`; its site-packages, or None
    when `executable` is not this process's own CPython on Linux (the caller then
    runs `uv venv`)."""
    base = Path(getattr(sys, "_base_executable", None) or sys.executable)
    if not _is_this_cpython(executable) or not base.is_file():
        return None
    major, minor = sys.version_info[:2]
    site_packages = path / "lib" / f"python{major}.{minor}" / "site-packages"
    site_packages.mkdir(parents=True)
    if sys.maxsize > 2**32:
        (path / "lib64").symlink_to("lib")  # as the standard library's venv does on 64-bit Linux
    (path / "bin").mkdir()
    for name in ("python", f"python{major}", f"python{major}.{minor}"):
        (path / "bin" / name).symlink_to(base)
    (path / "pyvenv.cfg").write_text(
        f"home = {base.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {platform.python_version()}\n"
        f"executable = {base}\n",
        encoding="utf-8",
    )
    return site_packages


def _is_this_cpython(executable: str) -> bool:
    if sys.platform != "linux" or sys.implementation.name != "cpython":
        return False
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        return False  # its site-packages is lib/python3.Nt: left to uv
    try:
        return os.path.samefile(executable, sys.executable)
    except OSError:
        return False
