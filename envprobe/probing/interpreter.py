"""Ask the target interpreter, once, what the probes and the solver need to know of it.

The target need not be the Python envprobe runs on, and need not have
`packaging` installed, so it runs a stdlib-only snippet (any Python 3.8+) that
reports the raw facts; its wheel tags are then computed here, in the order
`packaging.tags.sys_tags()` would give them inside that interpreter.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from functools import cache
from typing import Any

from packaging import tags
from packaging.markers import default_environment

from envprobe.errors import EnvironmentSetupError
from envprobe.model.interpreter import TargetInterpreter

__all__ = ["describe", "executable_of", "store_key_facts"]

_SNIPPET = """
import importlib.machinery, json, os, platform, sys, sysconfig
impl = sys.implementation
info = impl.version
version = "%d.%d.%d" % (info.major, info.minor, info.micro)
if info.releaselevel != "final":
    version += info.releaselevel[0] + str(info.serial)
debug = sysconfig.get_config_var("Py_DEBUG")
if debug is None:
    debug = hasattr(sys, "gettotalrefcount") or "_d.pyd" in importlib.machinery.EXTENSION_SUFFIXES
print(json.dumps({
    "executable": sys.executable,
    "platform": sysconfig.get_platform(),
    "is_32bit": sys.maxsize <= 2**32,
    "nodot": sysconfig.get_config_var("py_version_nodot"),
    "debug": bool(debug),
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX") or "",
    "environment": {
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
    },
}))
"""
_HOST_IS_32BIT = sys.maxsize <= 2**32
# What packaging names a 32-bit interpreter's platform on a 64-bit Linux.
_LINUX_32BIT = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}


def executable_of(python: str) -> str:
    """The executable `describe(python)` names; envprobe's own without describing it
    (its wheel tags, computed while a probe's install runs)."""
    if (shutil.which(python) or python) == sys.executable:
        return sys.executable
    return describe(python).executable


def store_key_facts(python: str) -> tuple[str, str]:
    """The (version, platform) a probe is stored under, as `describe(python)` gives them;
    envprobe's own without its wheel tags (the store is asked before they are needed)."""
    if (shutil.which(python) or python) == sys.executable:
        return default_environment()["python_full_version"], sysconfig.get_platform()
    interpreter = describe(python)
    return interpreter.version, interpreter.platform


@cache
def describe(python: str) -> TargetInterpreter:
    """The interpreter `python` (a path or a name on PATH); asked once per run."""
    path = shutil.which(python) or python
    if path == sys.executable:
        return TargetInterpreter(
            executable=sys.executable,
            version=default_environment()["python_full_version"],
            platform=sysconfig.get_platform(),
            environment=dict(default_environment()),
            tags=tuple(tags.sys_tags()),
        )
    try:
        answer = subprocess.run(
            # -B: asking must not write bytecode into the environment (its .pth files run).
            [path, "-I", "-B", "-c", _SNIPPET], capture_output=True, text=True, timeout=60,
            check=True,
        )
        facts = json.loads(answer.stdout)
        environment = facts["environment"]
        return TargetInterpreter(
            executable=facts["executable"],
            version=environment["python_full_version"],
            platform=facts["platform"],
            environment=environment,
            tags=_ordered_tags(facts),
        )
    except (OSError, subprocess.SubprocessError, ValueError, LookupError, TypeError) as error:
        # Whatever the program printed stays out: one short line names it and why.
        shown = python if len(python) <= 200 else python[:200] + "…"
        raise EnvironmentSetupError(
            f"{shown!r} is not a Python 3 interpreter envprobe can use ({_why(error)})"
        ) from None


def _why(error: Exception) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return f"it exited with code {error.returncode}"
    if isinstance(error, subprocess.TimeoutExpired):
        return "it did not answer within a minute"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return "it did not answer as Python 3.8 or later does"


def _ordered_tags(facts: dict[str, Any]) -> tuple[tags.Tag, ...]:
    """What `sys_tags()` yields inside the interpreter these facts describe."""
    environment = facts["environment"]
    version = tuple(int(part) for part in environment["python_version"].split("."))[:2]
    nodot = facts["nodot"] or f"{version[0]}{version[1]}"
    platforms = _platforms(facts)
    if environment["implementation_name"] == "cpython":
        threading = "t" if version >= (3, 13) and facts["free_threaded"] else ""
        abis = [f"cp{nodot}{threading}{'d' if facts['debug'] else ''}"]
        if facts["debug"]:
            abis.append(f"cp{nodot}{threading}")  # debug builds load release extensions too
        specific = tags.cpython_tags(version, abis, platforms)
        interpreter: str | None = f"cp{nodot}"
    else:
        name = tags.INTERPRETER_SHORT_NAMES.get(environment["implementation_name"],
                                               environment["implementation_name"])
        specific = tags.generic_tags(f"{name}{nodot}", _generic_abis(facts["ext_suffix"]),
                                     platforms)
        interpreter = "pp3" if name == "pp" else None
    return (*specific, *tags.compatible_tags(version, interpreter, platforms))


def _platforms(facts: dict[str, Any]) -> list[str]:
    """Platform tags, best first.

    On the same platform and word size as envprobe's own interpreter, the
    host's list (manylinux, musllinux, macOS versions) fits: same machine, same
    C library. Otherwise only the interpreter's own platform tag is claimed:
    fewer wheels than it may accept, never one it cannot load.
    """
    if facts["platform"] == sysconfig.get_platform() and facts["is_32bit"] == _HOST_IS_32BIT:
        return list(tags.platform_tags())
    own = _normalize(facts["platform"])
    return [_LINUX_32BIT.get(own, own) if facts["is_32bit"] else own]


def _generic_abis(ext_suffix: str) -> list[str]:
    """The ABI an extension suffix names (".pypy310-pp73-x86_64-linux-gnu.so": pypy310_pp73)."""
    parts = ext_suffix.split(".")
    if len(parts) < 3 or not parts[1]:
        return []
    soabi = parts[1]
    if soabi.startswith("cpython"):
        abi = "cp" + soabi.split("-")[1]
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith(("pypy", "graalpy")):
        abi = "-".join(soabi.split("-")[: 2 if soabi.startswith("pypy") else 3])
    else:
        abi = soabi
    return [_normalize(abi)]


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")
