"""The failure to explain: the user's code run read-only, or a traceback they pasted.

Both end as the typed `Failure` a probe gives. Running reuses the probe
child as is (the user's interpreter, `-I -B`, a throwaway HOME and working
folder). A pasted traceback is read into the same facts the child reports
(exception, missing name, frames with their distributions, importer) and
typed by the same code, so a diagnosis never depends on which way it came.
"""

from __future__ import annotations

import re
from pathlib import Path

from envprobe.diagnosing.inventory import Inventory
from envprobe.model.outcome import Failure
from envprobe.model.requests import InstallOptions
from envprobe.probing import child_failures
from envprobe.probing.probe import run_child

__all__ = ["from_traceback", "run_code"]

_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)(?:, in (.+))?\s*$')
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt)|"
                        r"[A-Za-z_][\w.]*)(?::\s?(.*))?$")
_NO_MODULE = re.compile(r"^No module named '([^']+)'")
_CANNOT_IMPORT = re.compile(r"^cannot import name '([^']+)' from '([^']+)'(?: \(([^)]+)\))?")
_NO_ATTRIBUTE = re.compile(r"^module '([^']+)' has no attribute '([^']+)'")
_UNEXPECTED_KEYWORD = re.compile(r"^([\w.<>]+)\(\) got an unexpected keyword argument '(\w+)'")


def run_code(python: str, run_dir: Path, code: str, timeout: float, options: InstallOptions,
             inventory: Inventory) -> tuple[Failure | None, float]:
    """Run `code` with the user's interpreter through the probe child, writing nothing there."""
    failure, done = run_child(python, run_dir, code, timeout, options, inventory.versions(),
                              read_only=True)
    return failure, done.seconds


def from_traceback(text: str, inventory: Inventory) -> Failure | None:
    """The failure a pasted traceback shows; None when it holds no exception line."""
    blocks = text.split("Traceback (most recent call last):")
    last = blocks[-1] if len(blocks) > 1 else text
    frames, exception = [], None
    for line in last.splitlines():
        if match := _FRAME.match(line):
            frames.append(_frame(match.group(1), int(match.group(2)), match.group(3) or "",
                                 inventory))
        elif line and not line[0].isspace() and (match := _EXCEPTION.match(line.strip())):
            exception = (match.group(1), match.group(2) or "")
    if exception is None:
        return None
    kind, message = exception
    missing, lacking = _missing(kind, message, inventory)
    importer = next((f for f in reversed(frames)
                     if not (lacking and _same(f["abs_file"], lacking))), None)
    for frame in frames:
        del frame["abs_file"]
    report = {
        "status": "error",
        "exception": {"type": kind, "message": message},
        "missing": missing,
        "warning": kind.endswith("Warning"),
        "importer": importer,
        "frames": frames,
        "traceback": text[-8000:],
    }
    return child_failures.from_child(report, inventory.versions())


def _missing(kind: str, message: str, inventory: Inventory) -> tuple[dict | None, str | None]:
    """The child's `missing` facts, and the file that lacks the name (when said)."""
    found, lacking = None, None
    if kind.endswith("ModuleNotFoundError") and (match := _NO_MODULE.match(message)):
        found = {"kind": "module", "name": match.group(1), "module": match.group(1)}
    elif kind.endswith("ImportError") and (match := _CANNOT_IMPORT.match(message)):
        if "partially initialized module" not in message:
            found = {"kind": "symbol", "name": match.group(1), "module": match.group(2)}
            lacking = match.group(3)
    elif kind.endswith("AttributeError") and (match := _NO_ATTRIBUTE.match(message)):
        found = {"kind": "attribute", "name": match.group(2), "module": match.group(1)}
    elif kind.endswith("TypeError") and (match := _UNEXPECTED_KEYWORD.match(message)):
        found = {"kind": "keyword", "name": match.group(2), "function": match.group(1),
                 "module": None}
    if found is not None:
        owner = inventory.owner_of(found["module"]) if found["module"] else None
        found["package"], found["version"] = (owner.name, owner.version) if owner else (None, None)
    return found, lacking


def _frame(path: str, line: int, function: str, inventory: Inventory) -> dict:
    relative = _relative(path, inventory.path)
    owner = inventory.owner_of(relative.split("/")[0].removesuffix(".py")) \
        if relative != path else None
    return {"file": relative, "abs_file": path, "line": line, "function": function.strip(),
            "package": owner.name if owner else None,
            "version": owner.version if owner else None}


def _relative(path: str, roots: tuple[str, ...]) -> str:
    """The file as seen from the longest `sys.path` entry holding it (as the child says it)."""
    normal = path.replace("\\", "/")
    for root in sorted((r.replace("\\", "/").rstrip("/") for r in roots), key=len, reverse=True):
        if root and normal.startswith(root + "/"):
            return normal[len(root) + 1:]
    # A traceback from another machine: its site-packages folder still marks the root.
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in normal:
            return normal.rsplit(marker, 1)[1]
    return path


def _same(a: str, b: str) -> bool:
    return a.replace("\\", "/") == b.replace("\\", "/")
