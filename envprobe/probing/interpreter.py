"""Facts about the probe's interpreter that the solver needs before any install.

Markers and wheel tags must be evaluated for the Python the probes run on,
which need not be the one envprobe runs on; the facts are asked of that
interpreter once, with a stdlib-only snippet. (Version and platform as the
store keys them come from `envs.interpreter`.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

from packaging import tags
from packaging.markers import default_environment
from packaging.version import Version

from envprobe.errors import EnvironmentSetupError

__all__ = ["Interpreter", "describe"]

_SNIPPET = """
import json, os, platform, sys
impl = sys.implementation
info = impl.version
version = f"{info.major}.{info.minor}.{info.micro}"
if info.releaselevel != "final":
    version += info.releaselevel[0] + str(info.serial)
print(json.dumps({
    "implementation_name": impl.name,
    "implementation_version": version,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}))
"""


@dataclass(frozen=True)
class Interpreter:
    path: str
    environment: dict[str, str]
    tags: frozenset[tags.Tag]

    @property
    def version(self) -> Version:
        return Version(self.environment["python_full_version"])


@lru_cache(maxsize=8)
def describe(python: str) -> Interpreter:
    """Marker environment and supported wheel tags of `python`."""
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return Interpreter(python, dict(default_environment()), frozenset(tags.sys_tags()))
    try:
        answer = subprocess.run(
            [python, "-c", _SNIPPET], capture_output=True, text=True, timeout=60, check=True
        )
        environment = json.loads(answer.stdout)
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as error:
        raise EnvironmentSetupError(f"cannot run the probe interpreter {python}: {error}") from None
    major, minor = (int(p) for p in environment["python_version"].split("."))
    platforms = list(tags.platform_tags())
    supported = list(tags.cpython_tags((major, minor), platforms=platforms))
    supported += list(tags.compatible_tags((major, minor), platforms=platforms))
    return Interpreter(python, environment, frozenset(supported))
