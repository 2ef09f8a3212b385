"""The text kept as evidence: log excerpts, and the requirements a message quotes.

Installer logs and the probe child's output are read by different parsers;
both keep the same bounded excerpt and read requirements the same careful way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from envprobe.model.pins import normalize_requirement

__all__ = ["EXCERPT_LINES", "MAX_LINE", "bounded_line", "excerpt", "project_name", "requirements_in"]

EXCERPT_LINES = 40
MAX_LINE = 1600  # characters kept of one line: an excerpt stays under 64 KB whatever was printed

_NOISE = re.compile(
    r"^\s*(Requirement already satisfied|Collecting |Downloading |Using cached |Looking in"
    r"|Obtaining |Processing |Installing build dependencies|Getting requirements"
    r"|Preparing metadata|\s*━|Using Python|Resolved \d|Prepared \d)"
)


def excerpt(log: str, lines: int = EXCERPT_LINES) -> str:
    """The last `lines` lines of `log` that are not routine progress, each cut to `MAX_LINE`."""
    kept = [text for text in log.splitlines() if text.strip() and not _NOISE.match(text)]
    return "\n".join(bounded_line(text.rstrip()) for text in kept[-lines:])


def bounded_line(text: str) -> str:
    """`text` cut to `MAX_LINE` characters, saying how much was cut."""
    if len(text) <= MAX_LINE:
        return text
    return f"{text[:MAX_LINE]} … ({len(text) - MAX_LINE} more characters)"


def requirements_in(texts: Iterable[str]) -> tuple[str, ...]:
    """Normalised requirements for the texts that parse; the rest are not guessed at."""
    found: list[str] = []
    for text in texts:
        try:
            normal = normalize_requirement(Requirement(text.strip().strip("`'\"").rstrip(".;")))
        except InvalidRequirement:
            continue
        if normal not in found:
            found.append(normal)
    return tuple(found)


def project_name(requirement: str) -> NormalizedName:
    """The project a quoted requirement (or bare name) is about."""
    try:
        return canonicalize_name(Requirement(requirement.strip("`'\"")).name)
    except InvalidRequirement:
        return canonicalize_name(requirement)
