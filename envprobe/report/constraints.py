"""The answer as a pip constraints file and as a uv `override-dependencies` block.

Every line of the constraints file is either a comment or one `name==version`
that `pip install -c` accepts; evidence rides in comments above each pin, so
the file explains itself and still works. A result without an answer gives a
file with only comments: valid, and saying why it is empty.
"""

from __future__ import annotations

import datetime
import json

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.model.result import SolveResult, Verdict
from envprobe.report.words import passing_probe, pin_evidence

__all__ = ["locked_rest", "render_constraints", "uv_overrides"]


def _pin(name: str, version: str) -> str:
    """`==` where the version is PEP 440, `===` (arbitrary equality) where it is not."""
    try:
        Version(version)
    except InvalidVersion:
        return f"{name}==={version}"
    return f"{name}=={version}"


def _comment(text: str) -> str:
    """One comment line, whatever the text: a stray newline would make a requirement of it."""
    return "# " + " ".join(text.split())


def locked_rest(result: SolveResult) -> dict[str, str]:
    """What the passing environment held beyond the decided pins, by canonical name."""
    decided = {canonicalize_name(n) for n in result.pins}
    rest = {canonicalize_name(n): v for n, v in result.installed.items()}
    return {n: rest[n] for n in sorted(rest) if n not in decided}


def render_constraints(result: SolveResult, *, today: datetime.date | None = None) -> str:
    """The text of `constraints/<scenario>.txt`."""
    day = (today or datetime.date.today()).isoformat()
    lines = [
        _comment(f"envprobe constraints for scenario {result.scenario!r}"),
        _comment(f"verdict: {result.status} ({result.reason})"),
        _comment(f"python {result.python} on {result.platform}, installer {result.installer}, "
                 f"written {day}"),
    ]
    if result.status is not Verdict.SOLVED:
        lines.append(_comment(f"no pins: the solve ended {result.status}, "
                              "so there is no answer to pin."))
        lines += [_comment(f"- {line}") for line in result.chain]
        return "\n".join(lines) + "\n"
    command = "uv pip" if result.installer == "uv" else "pip"
    lines += [
        _comment(f"found with {result.installer}, and proven for it only: "
                 f"{command} install -c <this file> <targets>"),
        "",
        "# decided pins",
    ]
    for name, version in sorted(result.pins.items()):
        lines.append(_comment(pin_evidence(result, name)))
        lines.append(_pin(name, version))
    rest = locked_rest(result)
    if rest:
        passed = passing_probe(result)
        which = f" (probe #{passed})" if passed is not None else ""
        lines += ["", f"# the rest of the environment that passed{which}, locked"]
        lines += [_pin(name, version) for name, version in rest.items()]
    return "\n".join(lines) + "\n"


def uv_overrides(result: SolveResult) -> str:
    """A `[tool.uv]` TOML block pinning the same set; empty when there is no answer.

    The rest of the passing environment is pinned too: uv resolves unpinned
    packages differently from pip, and the answer was proven for this set.
    """
    if result.status is not Verdict.SOLVED:
        return ""
    entries = [f"    {json.dumps(_pin(n, v))}," for n, v in sorted(result.pins.items())]
    rest = locked_rest(result)
    if rest:
        entries.append("    # the rest of the environment that passed, locked")
        entries += [f"    {json.dumps(_pin(n, v))}," for n, v in rest.items()]
    return "[tool.uv]\noverride-dependencies = [\n" + "\n".join(entries) + "\n]\n"
