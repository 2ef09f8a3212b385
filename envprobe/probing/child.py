"""Run probe code inside a throwaway environment and write one JSON outcome.

This file is executed by path with the environment's own interpreter, where
envprobe is not installed: it must use the standard library only and run on
any Python 3.8+. It reports facts (exception, missing name, providing
distribution, frames); the host turns them into a typed failure.

Usage: python -I child.py OUTCOME_JSON CODE_FILE [INSTALLED_JSON]
       python -I child.py --installed INSTALLED_JSON

With ENVPROBE_BYTECODE (a folder) in its environment, it links the bytecode
kept from earlier probes into the environment before the code runs and keeps
what the code's imports compiled after its outcome is written
(`child_bytecode.py`); the variable is removed before the code can see it.

With INSTALLED_JSON it first writes there the (name, version) of every
importable distribution, before the code can change anything: the probe
learns what landed in the environment without starting another process.

Code that passes pays only for the interpreter's start and this short file:
the failure's description (`child_describe.py`, with json, re and traceback)
is read only when the code failed, and what a passing probe writes is
written by hand.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import time

_STARTED = time.monotonic()
_HERE = os.path.dirname(os.path.abspath(__file__))  # before the code can change the cwd


def _describe(exc: BaseException, code: str) -> dict:
    """The failure report, by `child_describe.py` (read only now: a passing probe never
    compiles it); the exception alone if the code broke what loading it needs."""
    try:
        import importlib.util

        sys.dont_write_bytecode = True  # nothing of ours is cached by the probe's interpreter
        spec = importlib.util.spec_from_file_location(
            "_envprobe_describe", os.path.join(_HERE, "child_describe.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.report(exc, code, _STARTED)
    except Exception as problem:  # noqa: BLE001 - the report must still be written
        kind = type(exc)
        return {"status": "error", "missing": None, "warning": False, "importer": None,
                "frames": [], "traceback": f"(not described: {problem!r})",
                "exception": {"type": kind.__qualname__, "message": str(exc), "name": None}}


def _bytecode_keeper(code_path: str):  # -> child_bytecode.Keeper | None
    """The keeper of bytecode across probes, when the host named its store; None else,
    and None if it cannot start (the probe then compiles what it imports, as before).

    Bytecode newer than the code file is this run's own: the host writes that
    file after the install ended, by the file system's own clock.
    """
    store = os.environ.pop("ENVPROBE_BYTECODE", None)
    if not store:
        return None
    try:
        since = os.stat(code_path).st_mtime
        path = os.path.join(_HERE, "child_bytecode.py")
        with open(path, "rb") as handle:
            source = handle.read()
        namespace = {"__name__": "_envprobe_bytecode", "__file__": path}
        exec(compile(source, path, "exec"), namespace)  # noqa: S102 - our own file
        timeout = float(os.environ.get("ENVPROBE_PROBE_TIMEOUT") or 0)
        # Keeping stops 5 s before the probe's deadline, as reading ahead does.
        deadline = _STARTED + timeout - 5.0 if timeout > 0 else None
        return namespace["Keeper"](store, since, deadline)
    except Exception:  # noqa: BLE001 - a head start, never a reason to fail
        return None


def list_installed(path: str) -> None:
    """(name, version) of every distribution this interpreter can import, in sys.path order."""
    names = _read_dist_infos()
    if names is None:
        from importlib import metadata

        names = [(dist.metadata["Name"], dist.version) for dist in metadata.distributions()]
    pairs = ", ".join(f"[{_json_text(name)}, {_json_text(version)}]" for name, version in names)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"[{pairs}]")


def _json_text(text):  # (str | None) -> str
    """`text` as a JSON string, ASCII only (as json.dumps writes it), or null."""
    if text is None:
        return "null"
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code > 0xFFFF:  # a surrogate pair
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def _read_dist_infos():  # -> list[tuple[str | None, str | None]] | None
    """What `importlib.metadata.distributions()` lists, read from the `.dist-info` and
    `.egg-info` folders of sys.path directly: importing importlib.metadata (email's
    parser among it) costs more than the reading. None where a sys.path entry or a
    record is of another shape (a zip, an egg, an egg-info file): importlib then answers."""
    names = []
    for entry in sys.path:
        if not entry or not os.path.exists(entry):
            continue
        if not os.path.isdir(entry):
            return None
        for child in os.listdir(entry):
            if child.endswith(".egg"):
                return None
            if not child.endswith((".dist-info", ".egg-info")):
                continue
            folder = os.path.join(entry, child)
            if not os.path.isdir(folder):
                return None
            record = "METADATA" if child.endswith(".dist-info") else "PKG-INFO"
            names.append(_name_and_version(os.path.join(folder, record)))
    return names


def _name_and_version(path: str):  # -> tuple[str | None, str | None]
    """The first `Name:` and `Version:` of a metadata file's header block."""
    found = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            for line in handle:
                if not line.strip():
                    break  # the body (the description) starts here
                key, sep, value = line.partition(":")
                key = key.strip().lower()  # header names are not case-sensitive
                if sep and key in ("name", "version") and key not in found:
                    found[key] = value.strip()
    except OSError:
        pass
    return found.get("name"), found.get("version")


def main(outcome_path: str, code_path: str, installed_path: str | None = None) -> None:
    faulthandler.enable()  # a segfault then leaves a Python traceback in the log
    keeper = _bytecode_keeper(code_path)
    if keeper is not None:
        _best_effort(keeper.seed)
    if installed_path is not None:
        list_installed(installed_path)
    with open(code_path, encoding="utf-8") as handle:
        code = handle.read()
    started = time.perf_counter()
    try:
        exec(compile(code, "<probe>", "exec"), {"__name__": "__main__"})  # noqa: S102 - the job
        result: dict = {"status": "ok"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and friends are outcomes too
        elapsed = time.perf_counter() - started
        result = _describe(exc, code)
    else:
        elapsed = time.perf_counter() - started
    result["seconds"] = {"code": elapsed}
    partial = outcome_path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        if result["status"] == "ok":
            handle.write(f'{{"status": "ok", "seconds": {{"code": {elapsed!r}}}}}')
        else:
            import json

            json.dump(result, handle)
    os.replace(partial, outcome_path)
    if keeper is not None:
        _best_effort(keeper.keep)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter shutdown: imported packages may hang or crash in atexit
    # hooks, and the outcome is already on disk.
    os._exit(0)


def _best_effort(step) -> None:
    try:
        step()
    except Exception:  # noqa: BLE001, S110 - the outcome never depends on the bytecode store
        pass


if __name__ == "__main__":
    if sys.argv[1] == "--installed":
        list_installed(sys.argv[2])
    else:
        main(*sys.argv[1:4])
