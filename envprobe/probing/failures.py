"""Turn installer logs and the probe child's report into typed failures.

Every kind is recognised from explicit text the installer or the exception
wrote, and the lines that prove it are kept. When no known shape matches,
the answer is the generic kind with the excerpt (`install_failed`,
`probe_error`): a wrong specific kind would teach the solver a false rule.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from envprobe.model.outcome import Demand, Failure, FailureKind, Frame
from envprobe.model.pins import normalize_requirement

__all__ = [
    "crashed",
    "excerpt",
    "from_child",
    "from_install_log",
    "index_unreachable",
    "lists_files_of",
    "no_versions_at_all",
    "timed_out",
]

EXCERPT_LINES = 40

# --- installer logs ---------------------------------------------------------

_BUILD_MARKERS = (
    "Failed building wheel",
    "metadata-generation-failed",
    "subprocess-exited-with-error",
    "Failed to build",
    "Failed to download and build",
)
_MISSING_BUILD_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
_PIP_BUILD_PACKAGE = (
    re.compile(r"Failed building wheel for ([A-Za-z0-9._-]+)"),
    re.compile(r"Failed to build '([A-Za-z0-9._-]+)'"),
    re.compile(r"for ([A-Za-z0-9._-]+) did not run successfully"),
    re.compile(r"based projects \(([A-Za-z0-9._-]+)\)"),
)
_PIP_COLLECTING = re.compile(r"^\s*Collecting ([A-Za-z0-9._-]+)", re.MULTILINE)
_UV_BUILD_PACKAGE = re.compile(r"Failed to (?:download and )?build `([^`]+)`")
_PIP_CONFLICT = re.compile(r"ResolutionImpossible|conflicting dependencies")
_PIP_CAUSE = re.compile(
    r"^\s*(?:The user requested(?: \(constraint\))?|(?P<who>\S+) (?P<version>\S+) depends on)"
    r" (?P<req>.+)$"
)
_PIP_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_PIP_NO_VERSION = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)(?: \(from [^)]*\))?"
    r" \(from versions: ([^)]*)\)"
)
_PIP_WRONG_PYTHON = re.compile(r"Package '([^']+)' requires a different Python: (.+)$")
_UV_NO_SOLUTION = "No solution found when resolving"
_UV_UNKNOWN = re.compile(
    r"Because ([A-Za-z0-9._-]+) was not found in the (?:package registry|provided package locations)"
)
_UV_NO_VERSION = re.compile(r"there is no version of ([^\s,]+)")
_UV_NO_FILE = re.compile(
    r"([A-Za-z0-9._-]+)==\S+ has no (?:wheels with a matching|usable wheels|source distribution)"
)
_UV_WRONG_PYTHON = re.compile(
    r"current Python version \(\S+\) does not satisfy (\S+) and ([A-Za-z0-9._-]+)"
)
_SPECIFIER = r"(?:===|==|!=|~=|<=|>=|<|>)[^\s,]+"
# "lib>=1.5 depends on helper<2", "all versions of lib depend on ...", "lib==1.5 depends on ...".
_UV_DEPENDS = re.compile(
    rf"(?:all versions of )?(?P<who>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?"
    rf"(?P<versions>{_SPECIFIER}(?:,{_SPECIFIER})*)? depends? on (?P<req>.+?)(?=, | and |\. |\.$|$)"
)
_UV_REQUIRED = re.compile(r"you require (.+?)(?=, we can conclude|\. |\.$|$)")
_UNREACHABLE = re.compile(
    r"(Connection refused|Failed to establish a new connection|Name or service not known"
    r"|Temporary failure in name resolution|tcp connect error|dns error|Network is unreachable"
    r"|No route to host|timed out)",
    re.IGNORECASE,
)
_NOISE = re.compile(
    r"^\s*(Requirement already satisfied|Collecting |Downloading |Using cached |Looking in"
    r"|Obtaining |Processing |Installing build dependencies|Getting requirements"
    r"|Preparing metadata|\s*━|Using Python|Resolved \d|Prepared \d)"
)


def excerpt(log: str, lines: int = EXCERPT_LINES) -> str:
    """The last `lines` lines of `log` that are not routine progress."""
    kept = [line.rstrip() for line in log.splitlines() if line.strip() and not _NOISE.match(line)]
    return "\n".join(kept[-lines:])


def from_install_log(log: str, installer: str) -> Failure:
    """The failure an installer's (non-zero) run shows; `install_failed` when none fits."""
    text = _strip_uv_prefixes(log) if installer == "uv" else log
    for parse in (_build_failure, _conflict, _no_distribution):
        failure = parse(text, installer)
        if failure is not None:
            return failure
    return Failure(FailureKind.INSTALL_FAILED, _first_error(text), log_excerpt=excerpt(log))


def index_unreachable(log: str) -> str | None:
    """The connection error, when the installer could not reach an index at all."""
    match = _UNREACHABLE.search(log)
    return match.group(1) if match else None


def no_versions_at_all(failure: Failure, log: str, installer: str) -> bool | None:
    """Whether the installer found no version of `failure.name` anywhere.

    True/False when the log says so; None when it cannot tell (pip's "from
    versions: none" also covers files for another Python) and the caller must ask.
    """
    if failure.kind is not FailureKind.NO_DISTRIBUTION or not failure.name:
        return False
    if installer == "uv":
        text = _strip_uv_prefixes(log)
        return any(canonicalize_name(m) == failure.name for m in _UV_UNKNOWN.findall(text))
    for requirement, versions in _PIP_NO_VERSION.findall(log):
        if _project(requirement) == failure.name and versions.strip() == "none":
            return None if "Ignored the following" not in log else False
    return False


def lists_files_of(log: str, name: str) -> bool:
    """Whether a (debug) installer log names any distribution file of project `name`."""
    wanted = canonicalize_name(name)
    for url in re.findall(r"(?:https?|file)://[^\s)]+", log):
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        try:
            if filename.endswith(".whl"):
                project = parse_wheel_filename(filename)[0]
            else:
                project = parse_sdist_filename(filename)[0]
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        if canonicalize_name(project) == wanted:
            return True
    return False


def _strip_uv_prefixes(log: str) -> str:
    """uv draws its error chain with `cause:` or box characters; keep the words."""
    return re.sub(r"^\s*(?:cause:|[│├╰─▶×]+)\s*", "", log, flags=re.MULTILINE)


def _build_failure(log: str, installer: str) -> Failure | None:
    if not any(marker in log for marker in _BUILD_MARKERS):
        return None
    module = _MISSING_BUILD_MODULE.search(log)
    package = None
    patterns = (_UV_BUILD_PACKAGE,) if installer == "uv" else _PIP_BUILD_PACKAGE
    for pattern in patterns:
        if match := pattern.search(log):
            package = _project(match.group(1))
            break
    if package is None and installer != "uv":
        package = _last_collected(log)
    what = f"building {package}" if package else "building a source distribution"
    reason = f": no module named {module.group(1)!r}" if module else ""
    return Failure(
        FailureKind.BUILD_FAILED,
        f"{what} failed{reason}",
        name=module.group(1) if module else None,
        package=package,
        log_excerpt=excerpt(log),
    )


def _last_collected(log: str) -> str | None:
    """The project pip was working on when the first build step failed.

    pip's "Getting requirements to build wheel did not run successfully" names
    no project; the `Collecting NAME` line just before it does.
    """
    first_error = min((i for m in _BUILD_MARKERS if (i := log.find(m)) >= 0), default=len(log))
    collected = _PIP_COLLECTING.findall(log[:first_error])
    return _project(collected[-1]) if collected else None


def _conflict(log: str, installer: str) -> Failure | None:
    if installer == "uv":
        if _UV_NO_SOLUTION not in log or _uv_missing_distribution(log):
            return None
        words = " ".join(log.split())
        requested = [r for group in _UV_REQUIRED.findall(words) for r in group.split(" and ")]
        demands = [_demand(m["req"], m["who"], m["versions"] or "")
                   for m in _UV_DEPENDS.finditer(words)]
    else:
        if not _PIP_CONFLICT.search(log):
            return None
        causes = [m for line in log.splitlines() if (m := _PIP_CAUSE.match(line))]
        requested = [m["req"] for m in causes if not m["who"]]
        demands = [_demand(m["req"], m["who"], f"=={m['version']}") for m in causes if m["who"]]
    demands += [_demand(text) for text in requested]
    found = tuple(dict.fromkeys(d for d in demands if d is not None))
    requirements = tuple(dict.fromkeys(d.requirement for d in found))
    names = [canonicalize_name(Requirement(r).name) for r in requirements]
    # The project the conflict is about is the one required more than once.
    contested = {name for name in names if names.count(name) > 1} or set(names)
    return Failure(
        FailureKind.DECLARED_CONFLICT,
        _first_error(log),
        name=contested.pop() if len(contested) == 1 else None,
        requirements=requirements,
        demands=found,
        log_excerpt=excerpt(log),
    )


def _demand(requirement: str, package: str | None = None, versions: str = "") -> Demand | None:
    """A conflict line as a value; None when its requirement does not parse."""
    parsed = _parse_all([requirement])
    if not parsed:
        return None
    return Demand(parsed[0], _project(package) if package else None, versions)


def _uv_missing_distribution(log: str) -> tuple[str, str] | None:
    """(project, reason) when uv's chain starts from a missing distribution."""
    if match := _UV_UNKNOWN.search(log):
        return match.group(1), "not found in any configured index or find-links folder"
    if match := _UV_NO_VERSION.search(log):
        return match.group(1), f"there is no version of {match.group(1)}"
    if match := _UV_NO_FILE.search(log):
        return match.group(1), "no file fits this Python or platform"
    if match := _UV_WRONG_PYTHON.search(log):
        return match.group(2), f"it requires {match.group(1)}"
    return None


def _no_distribution(log: str, installer: str) -> Failure | None:
    if installer == "uv":
        found = _uv_missing_distribution(" ".join(log.split()))
        if found is None:
            return None
        requirement, reason = found
    elif match := _PIP_WRONG_PYTHON.search(log):
        requirement, reason = match.group(1), f"it requires a different Python: {match.group(2)}"
    elif match := _PIP_NO_MATCH.search(log):
        requirement = match.group(1)
        versions = _PIP_NO_VERSION.search(log)
        reason = f"available versions: {versions.group(2)}" if versions else "no matching file"
    else:
        return None
    name = _project(requirement)
    ignored = [line.strip() for line in log.splitlines() if "Ignored the following" in line]
    return Failure(
        FailureKind.NO_DISTRIBUTION,
        f"no installable distribution for {requirement}: {reason}",
        name=name,
        requirements=_parse_all([requirement]),
        log_excerpt=excerpt(log) + ("\n" + "\n".join(ignored) if ignored else ""),
    )


def _project(requirement: str) -> str:
    try:
        return canonicalize_name(Requirement(requirement.strip("`'\"")).name)
    except InvalidRequirement:
        return canonicalize_name(requirement)


def _parse_all(texts: Iterable[str]) -> tuple[str, ...]:
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


def _first_error(log: str) -> str:
    for line in log.splitlines():
        stripped = line.strip()
        if stripped.startswith(("ERROR:", "error:")):
            return stripped.split(":", 1)[1].strip()
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else "the installer failed without output"


# --- the probe child --------------------------------------------------------

_REQUIREMENT_TEXT = (
    r"[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
    r"(?:\s*,\s*(?:===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+)*"
)
# Shapes of import-time version checks, e.g. transformers' "X>=1,<2 is
# required for a normal functioning of this module, but found X==3",
# pkg_resources' "Requirement.parse('X<2')" and "P requires X>=1 but found 0.9".
_DEPENDENCY_CHECKS = (
    re.compile(rf"({_REQUIREMENT_TEXT})\s+is required"),
    re.compile(r"Requirement\.parse\('([^']+)'\)"),
    re.compile(rf"\brequires?\s+({_REQUIREMENT_TEXT})(?=.*\b(?:found|installed|but)\b)", re.DOTALL),
)


def from_child(data: Mapping[str, Any], installed: Mapping[str, str]) -> Failure | None:
    """The failure in the child's JSON report, or None when the probe code passed."""
    if data.get("status") == "ok":
        return None
    exception = data.get("exception") or {}
    message = f"{exception.get('type', 'Exception')}: {exception.get('message', '')}"
    frames = tuple(Frame(**frame) for frame in data.get("frames") or ())
    importer = data.get("importer") or {}
    evidence = {
        "message": message,
        "importer": f"{importer['file']}:{importer['line']}" if importer else None,
        "importer_package": importer.get("package"),
        "importer_version": importer.get("version"),
        "frames": frames,
        "log_excerpt": "\n".join((data.get("traceback") or "").splitlines()[-EXCERPT_LINES:]),
    }
    missing = data.get("missing")
    if missing:
        kind = FailureKind.MISSING_SYMBOL if missing["kind"] == "symbol" else FailureKind.MISSING_MODULE
        return Failure(
            kind,
            name=missing["name"],
            module=missing["module"],
            package=canonicalize_name(missing["package"]) if missing.get("package") else None,
            version=missing.get("version"),
            **evidence,
        )
    requirements = _dependency_check(exception.get("message", ""))
    if requirements:
        name = canonicalize_name(Requirement(requirements[0]).name)
        return Failure(
            FailureKind.DEPENDENCY_CHECK,
            name=name,
            package=name,
            version=installed.get(name),
            requirements=requirements,
            **evidence,
        )
    return Failure(FailureKind.PROBE_ERROR, **evidence)


def _dependency_check(message: str) -> tuple[str, ...]:
    candidates = [m for pattern in _DEPENDENCY_CHECKS for m in pattern.findall(message)]
    return tuple(r for r in _parse_all(candidates) if Requirement(r).specifier)


def timed_out(timeout: float, output: str) -> Failure:
    return Failure(
        FailureKind.TIMEOUT,
        f"the probe code was still running after {timeout:g} s; its process group was killed",
        log_excerpt=excerpt(output),
    )


def crashed(returncode: int, output: str) -> Failure:
    """The child ended without writing an outcome: a signal, or an exit before the end."""
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"exited with code {returncode}"
    return Failure(
        FailureKind.CRASHED,
        f"the probe process {how} without reporting an outcome",
        log_excerpt=excerpt(output),
    )
