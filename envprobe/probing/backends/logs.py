"""The failure shapes every installer's log can show, built the same way for each.

A backend reads its own wording (which lines name the conflict, the missing
project, the failed build) and hands the pieces here; every kind keeps the
lines that prove it. When no known shape matches, the answer is the generic
`install_failed` with the excerpt: a wrong specific kind would teach the
solver a false rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from packaging.requirements import Requirement
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename

from envprobe.model.outcome import Demand, Failure, FailureKind
from envprobe.probing.evidence import bounded_line, excerpt, project_name, requirements_in

__all__ = [
    "build_failed",
    "declared_conflict",
    "demand",
    "first_build_error",
    "first_error",
    "first_failure",
    "index_unreachable",
    "is_build_failure",
    "no_distribution",
]

_BUILD_MARKERS = (
    "Failed building wheel",
    "metadata-generation-failed",
    "subprocess-exited-with-error",
    "Failed to build",
    "Failed to download and build",
)
_SDIST_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*-[0-9][A-Za-z0-9.!+_-]*\.(?:tar\.gz|zip)")
_MISSING_BUILD_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
# Connection errors as pip (urllib3) and uv (reqwest) word them.
_UNREACHABLE = re.compile(
    r"(Connection refused|Failed to establish a new connection|Name or service not known"
    r"|Temporary failure in name resolution|tcp connect error|dns error|Network is unreachable"
    r"|No route to host|timed out)",
    re.IGNORECASE,
)


def index_unreachable(log: str) -> str | None:
    """The connection error, when the installer could not reach an index at all."""
    match = _UNREACHABLE.search(log)
    return match.group(1) if match else None


def is_build_failure(log: str) -> bool:
    return any(marker in log for marker in _BUILD_MARKERS)


def first_build_error(log: str) -> int:
    """Where the first build failure is reported in `log` (its length when none is)."""
    return min((i for m in _BUILD_MARKERS if (i := log.find(m)) >= 0), default=len(log))


def build_failed(log: str, package: str | None, version: str | None = None) -> Failure:
    """A source build failed; `package` (and `version`) is what was being built, when the
    log names it. A version the installer does not state is read from the sdist's file
    name where the log shows it."""
    found = _MISSING_BUILD_MODULE.search(log)
    module = found.group(1) if found else None
    if package and not version:
        version = _sdist_version(log, package)
    what = f"building {package} {version or ''}".rstrip() if package \
        else "building a source distribution"
    reason = f": no module named {module!r}" if module else ""
    return Failure(
        FailureKind.BUILD_FAILED,
        f"{what} failed{reason}",
        name=module,
        package=package,
        version=version,
        log_excerpt=excerpt(log),
    )


def _sdist_version(log: str, package: str) -> str | None:
    """The release of `package` whose sdist the log names (the first one), if any."""
    for match in _SDIST_FILE.finditer(log):
        try:
            name, version = parse_sdist_filename(match.group(0))
        except InvalidSdistFilename:
            continue
        if canonicalize_name(name) == canonicalize_name(package):
            return str(version)
    return None


def demand(requirement: str, package: str | None = None, versions: str = "") -> Demand | None:
    """A conflict line as a value; None when its requirement does not parse."""
    parsed = requirements_in([requirement])
    if not parsed:
        return None
    return Demand(parsed[0], project_name(package) if package else None, versions)


def declared_conflict(log: str, demands: Iterable[Demand | None]) -> Failure:
    """The installer proved the set contradicts declared metadata; `demands` say who needs what."""
    found = tuple(dict.fromkeys(d for d in demands if d is not None))
    requirements = tuple(dict.fromkeys(d.requirement for d in found))
    names = [canonicalize_name(Requirement(r).name) for r in requirements]
    # The project the conflict is about is the one required more than once.
    contested = {name for name in names if names.count(name) > 1} or set(names)
    return Failure(
        FailureKind.DECLARED_CONFLICT,
        first_error(log),
        name=contested.pop() if len(contested) == 1 else None,
        requirements=requirements,
        demands=found,
        log_excerpt=excerpt(log),
    )


def no_distribution(log: str, requirement: str, reason: str) -> Failure:
    """No file of `requirement` installs here; pip's "Ignored the following" lines are kept."""
    ignored = [line.strip() for line in log.splitlines() if "Ignored the following" in line]
    return Failure(
        FailureKind.NO_DISTRIBUTION,
        f"no installable distribution for {requirement}: {reason}",
        name=project_name(requirement),
        requirements=requirements_in([requirement]),
        log_excerpt=excerpt(log) + ("\n" + "\n".join(ignored) if ignored else ""),
    )


def first_failure(text: str, log: str,
                  parsers: Iterable[Callable[[str], Failure | None]]) -> Failure:
    """The first shape a parser recognises in `text` (the `log` as the installer's own
    words); when none does, `install_failed` with its first error line and the excerpt."""
    for parse in parsers:
        if (failure := parse(text)) is not None:
            return failure
    return Failure(FailureKind.INSTALL_FAILED, first_error(text), log_excerpt=excerpt(log))


def first_error(log: str) -> str:
    """The installer's first error line (or its last line), bounded."""
    for text in log.splitlines():
        stripped = text.strip()
        if stripped.startswith(("ERROR:", "error:")):
            return bounded_line(stripped.split(":", 1)[1].strip())
    lines = [text.strip() for text in log.splitlines() if text.strip()]
    return bounded_line(lines[-1]) if lines else "the installer failed without output"
