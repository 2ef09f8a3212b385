"""Read the probe child's JSON report, trusting nothing in it.

The report is written by a process that ran untrusted code: that code may
have written the file itself, cut it short or filled it with anything. A
report that does not have the child's shape is refused with the reason
(the probe then counts as `crashed`), and its texts are cut to a bounded
size before they become evidence in the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["MAX_MESSAGE", "InvalidReport", "read_child_report"]

MAX_MESSAGE = 2000  # characters of an exception message kept
_MAX_TRACEBACK = 8000
_MAX_BYTES = 8 * 1024 * 1024
_FRAME_KEYS = {"file": str, "line": int, "function": str, "package": (str, type(None)),
               "version": (str, type(None))}
_MISSING_KEYS = {"kind": str, "name": str, "module": (str, type(None)),
                 "function": (str, type(None)), "package": (str, type(None)),
                 "version": (str, type(None))}
# What the child can find missing (see child.py `_missing`).
_MISSING_KINDS = ("symbol", "module", "attribute", "keyword")
_MAX_SUSPECTS = 30  # imports read ahead of a failure (child_lookahead.py)
_EXCEPTION_KEYS = {"type": str, "message": str, "name": (str, type(None))}


class InvalidReport(Exception):
    """The report is not what the child writes; the message says how, for the evidence."""


def read_child_report(path: Path) -> dict[str, Any] | None:
    """The report at `path`; None when there is none; `InvalidReport` saying what is wrong."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InvalidReport(f"it could not be read: {error.strerror or error}") from None
    if len(raw) > _MAX_BYTES:
        raise InvalidReport("it is larger than any report the child writes")
    try:
        report = json.loads(raw)
    except ValueError:
        raise InvalidReport("it is not JSON") from None
    if not isinstance(report, dict) or report.get("status") not in ("ok", "error"):
        raise InvalidReport("it has no status of `ok` or `error`")
    if report["status"] == "ok":
        return {"status": "ok"}
    return {
        "status": "error",
        "exception": _exception(report.get("exception")),
        "missing": _missing(report.get("missing")),
        "warning": report.get("warning") is True,
        "importer": _record(report.get("importer"), _FRAME_KEYS, "importer", optional=True),
        "frames": [_record(f, _FRAME_KEYS, "frame") for f in _list(report.get("frames"))],
        "traceback": _text(report.get("traceback"), "traceback")[-_MAX_TRACEBACK:],
        "ahead": [_suspect(item) for item in _list(report.get("ahead"))[:_MAX_SUSPECTS]],
    }


def _suspect(value: Any) -> dict[str, Any]:
    """One import the child read ahead: a missing name or module and who imports it."""
    if not isinstance(value, dict) or set(value) != {"missing", "importer"}:
        raise InvalidReport("its read-ahead is not what the child writes")
    missing = _missing(value["missing"])
    if missing is None or missing["kind"] not in ("symbol", "module"):
        raise InvalidReport("its read-ahead names no missing symbol or module")
    return {"missing": missing, "importer": _record(value["importer"], _FRAME_KEYS, "importer")}


def _exception(value: Any) -> dict[str, Any]:
    exception = _record(value, _EXCEPTION_KEYS, "exception")
    exception["message"] = _cut(exception["message"])
    return exception


def _missing(value: Any) -> dict[str, Any] | None:
    missing = _record(value, _MISSING_KEYS, "missing", optional=True)
    if missing is not None and missing["kind"] not in _MISSING_KINDS:
        raise InvalidReport(f"its missing kind {missing['kind']!r} is unknown")
    return missing


def _record(value: Any, keys: dict[str, Any], what: str, *, optional: bool = False) -> Any:
    """A dict with exactly the known keys of the right types (absent optional ones are None)."""
    if value is None and optional:
        return None
    if not isinstance(value, dict) or not set(value) <= set(keys):
        raise InvalidReport(f"its {what} is not what the child writes")
    record = {}
    for key, kind in keys.items():
        item = value.get(key)
        accepted = kind if isinstance(kind, tuple) else (kind,)
        if item is None and type(None) in accepted:
            record[key] = None
        elif not isinstance(item, accepted) or isinstance(item, bool):
            raise InvalidReport(f"its {what} has no valid {key!r}")
        else:
            record[key] = _cut(item) if isinstance(item, str) else item
    return record


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidReport("its frames or read-ahead are not a list")
    return value


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidReport(f"its {what} is not text")
    return value


def _cut(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " …"
