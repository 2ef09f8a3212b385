"""What landed in an environment: every importable distribution and its version."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Set as AbstractSet

from packaging.utils import canonicalize_name

from envprobe.probing.processes import clean_environ

__all__ = ["installed_distributions"]

_LIST_DISTRIBUTIONS = (
    "import json\nfrom importlib import metadata\n"
    "print(json.dumps([(d.metadata['Name'], d.version) for d in metadata.distributions()]))"
)


def installed_distributions(python: str, hidden: AbstractSet[str] = frozenset()) -> dict[str, str]:
    """name -> version of everything `python` can import (a base layer included).

    `hidden` names what the environment was seeded with (pip in a
    virtualenv) and the probe did not ask for: it says nothing about the set.
    """
    answer = subprocess.run(
        [python, "-I", "-c", _LIST_DISTRIBUTIONS],
        capture_output=True, text=True, env=clean_environ(), check=True, timeout=120,
    )
    installed: dict[str, str] = {}
    for name, version in json.loads(answer.stdout):
        if name:
            installed.setdefault(canonicalize_name(name), version)  # first on sys.path wins
    for name in hidden:
        installed.pop(name, None)
    return dict(sorted(installed.items()))
