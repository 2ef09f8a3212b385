"""Tiny real packages, one per failure kind the probe engine must recognise.

`build_probe_packages` writes them into a find-links folder (test modules
wrap it in a session fixture); `find_links_options` installs from folders only.
"""

from __future__ import annotations

from pathlib import Path

from wheelfactory import build_sdist, build_wheel

from envprobe.model.requests import InstallOptions

SLEEPER_PIDS = "SLEEPER_PIDS"  # where the sleeping package writes its pid and its helper's

_SLEEPER = f'''\
import os, subprocess, sys, time
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(os.environ["{SLEEPER_PIDS}"], "w") as handle:
    handle.write(f"{{os.getpid()}} {{helper.pid}}")
time.sleep(120)
'''

# An in-tree build backend that needs a module nobody installed: the build
# fails the way an sdist with an undeclared build requirement does.
_BROKEN_BACKEND_PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""
_BROKEN_BACKEND = "import numpyy_build_helper\n"

DEPENDENCY_CHECK_MESSAGE = (
    "faketok>=0.11.1,!=0.11.3,<0.14 is required for a normal functioning of this module, "
    "but found faketok=={found}."
)


def build_probe_packages(out: Path) -> Path:
    """Write every probe test package into `out` and return it."""
    build_wheel(out, "attrhub", "1.0", {"attrhub/__init__.py": "class Other:\n    pass\n"})
    build_wheel(
        out, "attruser", "1.0",
        {"attruser/__init__.py": "import attrhub\n\nTHING = attrhub.Thing\n"},
        requires=["attrhub"],
    )
    build_wheel(out, "needsmod", "1.0", {"needsmod/__init__.py": "import vanished_module\n"})
    build_wheel(out, "faketok", "0.15.0", {"faketok/__init__.py": ""})
    check = (
        "from importlib.metadata import version\n"
        f"raise ImportError({DEPENDENCY_CHECK_MESSAGE!r}.format(found=version('faketok')))\n"
    )
    build_wheel(out, "depcheck", "1.0", {"depcheck/__init__.py": check}, requires=["faketok"])
    for version in ("0.5", "1.0"):
        build_wheel(out, "heavy", version, {"heavy/__init__.py": f'VERSION = "{version}"\n'})
    build_wheel(out, "light", "1.0", {"light/__init__.py": "import heavy\n"}, requires=["heavy>=1"])
    build_wheel(out, "ca", "1.0", {"ca/__init__.py": ""}, requires=["heavy<1"])
    build_wheel(out, "cb", "1.0", {"cb/__init__.py": ""}, requires=["heavy>=1"])
    build_wheel(out, "oldpy", "1.0", {"oldpy/__init__.py": ""}, requires_python="<3.0")
    build_wheel(out, "cp27only", "1.0", {"cp27only/__init__.py": ""}, tag="cp27-cp27mu-linux_x86_64")
    build_sdist(
        out, "brokenbuild", "1.0",
        {"pyproject.toml": _BROKEN_BACKEND_PYPROJECT, "backend.py": _BROKEN_BACKEND},
    )
    build_wheel(out, "sleeper", "1.0", {"sleeper/__init__.py": _SLEEPER})
    build_wheel(
        out, "segv", "1.0",
        {"segv/__init__.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"},
    )
    build_wheel(out, "exits", "1.0", {"exits/__init__.py": "import os\nos._exit(3)\n"})
    build_wheel(
        out, "badinit", "1.0",
        {"badinit/__init__.py": "raise RuntimeError('no accelerator found')\n"},
    )
    return out


def find_links_options(*folders: Path, **changes: object) -> InstallOptions:
    """Install options that use only `folders`, never an index."""
    return InstallOptions(no_index=True, find_links=tuple(str(f) for f in folders), **changes)


def process_running(pid: int) -> bool:
    """True when `pid` exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
