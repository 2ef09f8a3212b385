"""A pin set: the requirements one probe installs, parsed and normalised once.

Requirements arrive as PEP 508 text from the command line, a scenario or the
solver. They are validated here with `packaging`, so a malformed one is a
one-line usage error, and normalised, so the store sees `Toolkit == 1.0` and
`toolkit==1.0` as the same probe.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from envprobe.errors import UsageError

__all__ = ["exact_pins", "exact_requirement", "normalize_requirement", "parse_requirements",
           "project_names"]


def parse_requirements(texts: Iterable[str]) -> tuple[Requirement, ...]:
    """Parse every requirement; the first malformed one is a `UsageError`."""
    parsed = []
    for text in texts:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0]
            raise UsageError(f"malformed requirement {text!r}: {reason}") from None
    return tuple(parsed)


def normalize_requirement(requirement: Requirement | str) -> str:
    """Canonical text of a requirement: normalised name, sorted extras, sorted specifiers."""
    req = Requirement(requirement) if isinstance(requirement, str) else requirement
    text = canonicalize_name(req.name)
    if req.extras:
        text += "[" + ",".join(sorted(canonicalize_name(e) for e in req.extras)) + "]"
    if req.url:
        text += f" @ {req.url}"
    text += ",".join(sorted(str(spec) for spec in req.specifier))
    if req.marker:
        text += f" ; {req.marker}"
    return text


def exact_pins(requirements: Iterable[Requirement]) -> dict[NormalizedName, str]:
    """name -> version for the requirements pinned with a single `==` (no wildcard)."""
    pins = {}
    for req in requirements:
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            pins[canonicalize_name(req.name)] = specs[0].version
    return pins


def project_names(requirements: Iterable[Requirement]) -> set[NormalizedName]:
    return {canonicalize_name(req.name) for req in requirements}


def exact_requirement(name: str, version: str) -> str:
    """`name==version`, or `name===version` for a version that is not PEP 440 (`==` would
    not parse): how an installed set is pinned exactly."""
    try:
        Version(version)
    except InvalidVersion:
        return f"{name}==={version}"
    return f"{name}=={version}"
