"""What landed in an environment: every importable distribution and its version.

Asking runs the environment's interpreter, and with it every `.pth` file the
installed packages brought: untrusted code, so it runs sealed and watched
like the probe itself, and writes its answer to a file its output cannot mix
with. A probe's own child makes the same list before it runs the code
(`child.py`); this runs it alone, for an environment where no code runs
or the child could not say.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path

from packaging.utils import canonicalize_name

from envprobe.probing import processes, sealed

__all__ = ["CHILD_SCRIPT", "installed_distributions", "read_installed"]

CHILD_SCRIPT = Path(__file__).with_name("child.py")
_SECONDS = 120.0
_MAX_BYTES = 8 * 1024 * 1024  # far above any real list: more is not the child's writing


def installed_distributions(python: str, run_dir: Path, passed: Iterable[str] = (),
                            hidden: AbstractSet[str] = frozenset()) -> dict[str, str]:
    """name -> version of everything `python` can import (a base layer included).

    `hidden` names what the environment was seeded with (pip in a
    virtualenv) and the probe did not ask for: it says nothing about the set.
    Empty when the interpreter cannot even start: the probe then says why.
    """
    answer = run_dir / "installed.json"
    processes.run([python, "-I", str(CHILD_SCRIPT), "--installed", str(answer)],
                  log_path=run_dir / "installed.log", timeout=_SECONDS, cwd=run_dir,
                  env=sealed.probe_environ(run_dir, passed))
    return read_installed(answer, hidden) or {}


def read_installed(answer: Path, hidden: AbstractSet[str] = frozenset()) -> dict[str, str] | None:
    """The list `child.py` wrote, `hidden` left out; None when there is none to read."""
    try:
        with open(answer, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            return None
        listed = json.loads(raw)
        installed: dict[str, str] = {}
        for name, version in listed:
            if name:
                installed.setdefault(canonicalize_name(name), str(version))  # first on sys.path
    except (OSError, ValueError, TypeError):
        return None
    for name in hidden:
        installed.pop(name, None)
    return dict(sorted(installed.items()))
