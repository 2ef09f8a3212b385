"""Turn what the probe child reported (or failed to report) into a typed failure.

The child writes facts (exception, missing name, providing distribution,
frames); the kind is read from them, never guessed: when no known shape fits,
the answer is `probe_error` with the traceback, since a wrong specific kind
would teach the solver a false rule.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envprobe.model.outcome import Failure, FailureKind, Frame
from envprobe.probing.evidence import EXCERPT_LINES, excerpt, requirements_in

__all__ = ["crashed", "from_child", "timed_out"]

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


_MISSING_KINDS = {
    "symbol": FailureKind.MISSING_SYMBOL,
    "module": FailureKind.MISSING_MODULE,
    "attribute": FailureKind.MISSING_ATTRIBUTE,
    "keyword": FailureKind.REMOVED_KEYWORD,
}


def from_child(data: Mapping[str, Any], installed: Mapping[str, str]) -> Failure | None:
    """The failure in the child's JSON report, or None when the probe code passed."""
    if data.get("status") == "ok":
        return None
    failure = _failure(data, installed)
    ahead = tuple(_failure(_suspect_report(item), installed) for item in data.get("ahead") or ())
    return replace(failure, ahead=ahead) if ahead else failure


def _suspect_report(item: Mapping[str, Any]) -> dict[str, Any]:
    """A read-ahead suspect in the shape of a failure report, so it is typed the same way."""
    missing = item["missing"]
    what = f"module {missing['name']!r}" if missing["kind"] == "module" else (
        f"name {missing['name']!r} from {missing['module']!r}")
    return {"status": "error", "missing": missing, "importer": item["importer"], "frames": [],
            "exception": {"type": "ImportError",
                          "message": f"read ahead, not run: the installed files lack {what}"}}


def _failure(data: Mapping[str, Any], installed: Mapping[str, str]) -> Failure:
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
        return Failure(
            _MISSING_KINDS[missing["kind"]],
            name=missing["name"],
            module=missing.get("module"),
            function=missing.get("function"),
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
    if data.get("warning"):
        raiser = next((f for f in reversed(frames) if f.package), None)
        return Failure(FailureKind.WARNING_ERROR,
                       package=canonicalize_name(raiser.package) if raiser else None,
                       version=raiser.version if raiser else None, **evidence)
    return Failure(FailureKind.PROBE_ERROR, **evidence)


# pyarrow's "pyarrow requires NumPy 2.0 or newer, found 1.26.4": a floor in words.
_OR_NEWER = re.compile(
    r"\brequires?\s+([A-Za-z0-9][A-Za-z0-9._-]*)\s+(?:version\s+)?v?([0-9][0-9.]*[0-9])"
    r"\s+or\s+(?:newer|later|higher)\b.*\b(?:found|installed|but)\b", re.IGNORECASE | re.DOTALL)


def _dependency_check(message: str) -> tuple[str, ...]:
    candidates = [m for pattern in _DEPENDENCY_CHECKS for m in pattern.findall(message)]
    candidates += [f"{name}>={floor}" for name, floor in _OR_NEWER.findall(message)]
    return tuple(r for r in requirements_in(candidates) if Requirement(r).specifier)


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
