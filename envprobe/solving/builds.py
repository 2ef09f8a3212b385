"""What a project built without isolation needs beside the module its build lacked.

The learned rule names only what the build lacked (Cython); the backend the
sdist declares (setuptools) came with isolation before, or from a wheel pip
had cached. Whoever turns isolation off must install both, and a pip cache
that already holds the built wheel hides the second.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name

from envprobe.model.rules import InstallOption, Rule
from envprobe.sources.index import PackageIndex
from envprobe.static.sdists import build_requirements

__all__ = ["declared_build", "declared_builds"]


def declared_build(index: PackageIndex, name: str, version: str) -> tuple[str, ...]:
    """What `name`'s sdist declares for its build; () when no sdist is listed (nothing builds)."""
    sdists = [f for f in index.files(name, version) if not f.is_wheel and not f.yanked]
    if not sdists:
        return ()
    return build_requirements(index.download(sdists[0]))


def declared_builds(index: PackageIndex, rules: list[Rule],
                    installed: dict[str, str]) -> dict[str, list[str]]:
    """project -> its declared build requirements, for every unisolated build in the set."""
    held = {canonicalize_name(n): v for n, v in installed.items()}
    found: dict[str, list[str]] = {}
    for rule in rules:
        if rule.install_option is not InstallOption.BUILD_WITHOUT_ISOLATION or not rule.package:
            continue
        name = canonicalize_name(rule.package)
        if name in held and name not in found:
            found[name] = list(declared_build(index, name, held[name]))
    return found
