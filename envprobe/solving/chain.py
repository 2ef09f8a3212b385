"""Why no set exists, in words: the requirements an impossible resolution could not join.

The solve states it as its proof of `unsatisfiable`; the map, for each column
release no set holds.
"""

from __future__ import annotations

from packaging.version import Version
from resolvelib.resolvers import ResolutionImpossible

from envprobe.solving.provider import Need

__all__ = ["conflict_chain"]


def conflict_chain(impossible: ResolutionImpossible) -> list[str]:
    """The requirements that cannot all hold, each in words, with the rule behind it.

    Releases of one project that declare the same requirement are said once, as a run
    ("transformers 4.36.0 … 4.40.2 (12 releases) declare huggingface-hub>=0.19.3"):
    a resolution may weigh hundreds of them.
    """
    lines: list[str] = []
    runs: dict[tuple[str, str], list[Version]] = {}
    for cause in impossible.causes:
        need: Need = cause.requirement
        if need.parent is not None and need.rule is None:
            key = (need.parent.name, f"{need.name}{need.specifier or ' (any version)'}")
            if key not in runs:
                runs[key] = []
                lines.append(key)  # type: ignore[arg-type]  # said once its run is known
            runs[key].append(need.parent.version)
        elif (text := need.describe()) not in lines:
            lines.append(text)
    return [line if isinstance(line, str) else _run_words(line, runs[line]) for line in lines]


def _run_words(key: tuple[str, str], versions: list[Version]) -> str:
    parent, required = key
    found = sorted(set(versions))
    if len(found) == 1:
        return f"{parent} {found[0]} declares {required}"
    return f"{parent} {found[0]} … {found[-1]} ({len(found)} releases) declare {required}"
