"""What landed in an environment: every importable distribution and its version.

Asking runs the environment's interpreter, and with it every `.pth` file the
installed packages brought: untrusted code, so it runs sealed and watched
like the probe itself, and writes its answer to a file its output cannot mix
with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from pathlib import Path

from packaging.utils import canonicalize_name

from envprobe.probing import processes, sealed

__all__ = ["installed_distributions"]

_LIST_DISTRIBUTIONS = (
    "import json, sys\nfrom importlib import metadata\n"
    "names = [(d.metadata['Name'], d.version) for d in metadata.distributions()]\n"
    "with open(sys.argv[1], 'w') as out:\n    json.dump(names, out)\n"
)
_SECONDS = 120.0


def installed_distributions(python: str, run_dir: Path, passed: Iterable[str] = (),
                            hidden: AbstractSet[str] = frozenset()) -> dict[str, str]:
    """name -> version of everything `python` can import (a base layer included).

    `hidden` names what the environment was seeded with (pip in a
    virtualenv) and the probe did not ask for: it says nothing about the set.
    Empty when the interpreter cannot even start: the probe then says why.
    """
    answer = run_dir / "installed.json"
    processes.run([python, "-I", "-c", _LIST_DISTRIBUTIONS, str(answer)],
                  log_path=run_dir / "installed.log", timeout=_SECONDS, cwd=run_dir,
                  env=sealed.probe_environ(run_dir, passed))
    try:
        listed = json.loads(answer.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    installed: dict[str, str] = {}
    for name, version in listed:
        if name:
            installed.setdefault(canonicalize_name(name), version)  # first on sys.path wins
    for name in hidden:
        installed.pop(name, None)
    return dict(sorted(installed.items()))
