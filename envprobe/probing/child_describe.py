"""What a failed probe's code shows: the exception, the missing name, who provides it.

Loaded by `child.py` only when the code failed (a passing probe never reads
this file). Like `child.py` it runs in the probe's environment with the
standard library only, on any Python 3.8+: it reports facts (exception,
missing name, providing distribution, frames, the imports read ahead); the
host turns them into a typed failure.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback

# Frames of the import machinery say nothing about who asked for the import.
_BOOTSTRAP_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
_HERE = os.path.dirname(os.path.abspath(__file__))
_CHILD_FILE = os.path.normcase(os.path.join(_HERE, "child.py"))  # its frame runs the code
# How Python words its import and call errors (`re.match` compiles each once).
_CANNOT_IMPORT = r"^cannot import name '([^']+)' from '([^']+)'"
_NO_ATTRIBUTE = r"^module '([^']+)' has no attribute '([^']+)'"
_UNEXPECTED_KEYWORD = r"^([\w.<>]+)\(\) got an unexpected keyword argument '(\w+)'"
_MAX_FRAMES = 60


class _Distributions:
    """Maps files and top-level modules to installed distributions, built once on demand."""

    def __init__(self) -> None:
        self._by_file: dict[str, tuple[str, str]] | None = None

    def by_file(self) -> dict[str, tuple[str, str]]:
        if self._by_file is None:
            from importlib import metadata

            self._by_file = {}
            for dist in metadata.distributions():
                name, version = dist.metadata["Name"], dist.version
                for entry in dist.files or ():
                    path = _normal(str(dist.locate_file(entry)))
                    self._by_file.setdefault(path, (name, version))
        return self._by_file

    def owner_of_file(self, path: str | None) -> tuple[str, str] | None:
        if not path:
            return None
        return self.by_file().get(_normal(path))

    def owner_of_module(self, module: str) -> tuple[str, str] | None:
        """The distribution that ships `module`, or None when none or several do."""
        loaded = sys.modules.get(module)
        owner = self.owner_of_file(getattr(loaded, "__file__", None))
        if owner:
            return owner
        from importlib import metadata

        top = module.partition(".")[0]
        finder = getattr(metadata, "packages_distributions", None)
        if finder is not None:
            names = sorted(set(finder().get(top, ())))
        else:
            names = sorted(
                {name for path, (name, _) in self.by_file().items() if _top_level(path) == top}
            )
        if len(names) != 1:
            return None
        return names[0], metadata.version(names[0])


def _normal(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _top_level(path: str) -> str | None:
    for root in _search_roots():
        if path.startswith(root + os.sep):
            rest = path[len(root) + 1 :]
            return rest.split(os.sep, 1)[0].rsplit(".py", 1)[0]
    return None


def _search_roots() -> list[str]:
    # Longest first, so a file is shown relative to the most specific entry.
    roots = {_normal(p) for p in sys.path if p and os.path.isdir(p)}
    return sorted(roots, key=len, reverse=True)


def _relative(path: str) -> str:
    """A file as seen from its sys.path entry (`toolkit/core.py`), stable across runs."""
    if path.startswith("<"):
        return path
    full = _normal(path)
    for root in _search_roots():
        if full.startswith(root + os.sep):
            return full[len(root) + 1 :].replace(os.sep, "/")
    return path


def _frames(exc: BaseException, dists: _Distributions) -> list[dict]:
    frames = []
    for summary in traceback.extract_tb(exc.__traceback__):
        if summary.filename in _BOOTSTRAP_FILES or _normal(summary.filename) == _CHILD_FILE:
            continue
        owner = dists.owner_of_file(summary.filename) if not summary.filename.startswith("<") else None
        frames.append(
            {
                "file": _relative(summary.filename),
                "abs_file": summary.filename,
                "line": summary.lineno or 0,
                "function": summary.name,
                "package": owner[0] if owner else None,
                "version": owner[1] if owner else None,
            }
        )
    return frames[-_MAX_FRAMES:]


def _missing(exc: BaseException) -> dict | None:
    """The missing module, name, attribute or keyword, from the exception's own facts."""
    message = str(exc)
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return {"kind": "module", "name": exc.name, "module": exc.name}
    if isinstance(exc, ImportError):
        match = re.match(_CANNOT_IMPORT, message)
        if match and "partially initialized module" not in message:
            return {"kind": "symbol", "name": match.group(1), "module": match.group(2)}
        return None
    if isinstance(exc, AttributeError):
        return _missing_attribute(exc)
    if isinstance(exc, TypeError):
        return _removed_keyword(exc)
    return None


def _missing_attribute(exc: AttributeError) -> dict | None:
    """A module attribute gone at call time, however the module words its refusal.

    Python sets `obj` and `name` on its own AttributeErrors; a module-level
    `__getattr__` (numpy's "`np.sctypes` was removed ...") raises one with a
    message of its own, so the name is read from that function's argument.
    """
    target = getattr(exc, "obj", None)
    if isinstance(target, type(sys)) and getattr(exc, "name", None):
        return {"kind": "attribute", "name": exc.name, "module": target.__name__}
    match = re.match(_NO_ATTRIBUTE, str(exc))
    if match:
        return {"kind": "attribute", "name": match.group(2), "module": match.group(1)}
    frame = _innermost(exc)
    if frame is None or frame.f_code.co_name != "__getattr__":
        return None
    hook = frame.f_globals.get("__getattr__")
    if getattr(hook, "__code__", None) is not frame.f_code or not frame.f_code.co_argcount:
        return None  # a class's __getattr__, not the module's
    name = frame.f_locals.get(frame.f_code.co_varnames[0])
    module = frame.f_globals.get("__name__")
    if isinstance(name, str) and isinstance(module, str):
        return {"kind": "attribute", "name": name, "module": module}
    return None


def _removed_keyword(exc: TypeError) -> dict | None:
    """`f() got an unexpected keyword argument 'k'`: which function, from which module.

    The error is raised at the call site, before the callee runs, so the
    callee is found from the call expression on the raising line, evaluated
    in that frame; a callee it cannot find still yields the keyword and name.
    """
    match = re.match(_UNEXPECTED_KEYWORD, str(exc))
    if not match:
        return None
    function, keyword = match.groups()
    found = {"kind": "keyword", "name": keyword, "function": function, "module": None}
    frame = _innermost(exc)
    callee = _callee(frame, keyword) if frame is not None else None
    module = getattr(callee, "__module__", None)
    if isinstance(module, str):
        found["module"] = module
    return found


def _callee(frame, keyword: str):  # (types.FrameType, str) -> object | None
    """The object called with `keyword` on the frame's current line, if it can be named."""
    import ast
    import linecache

    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    try:
        tree = ast.parse(line.rstrip(":") if line.endswith(":") else line)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg == keyword for k in node.keywords):
            try:
                expression = compile(ast.Expression(node.func), "<callee>", "eval")
                callee = eval(expression, frame.f_globals, frame.f_locals)
            except Exception:  # noqa: BLE001 - any failure means: not nameable
                return None
            return getattr(callee, "__func__", callee)
    return None


def _innermost(exc: BaseException):  # -> types.FrameType | None
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame if tb is not None else None


def _module_file(module: str) -> str | None:
    loaded = sys.modules.get(module)
    path = getattr(loaded, "__file__", None)
    return _normal(path) if path else None


def _probe_traceback(exc: BaseException):  # -> types.TracebackType | None
    """The traceback without this script's own frame."""
    tb = exc.__traceback__
    if tb is not None and _normal(tb.tb_frame.f_code.co_filename) == _CHILD_FILE:
        return tb.tb_next
    return tb


def _describe(exc: BaseException, dists: _Distributions) -> dict:
    frames = _frames(exc, dists)
    missing = _missing(exc)
    lacking_file = None
    if missing is not None:
        if missing["kind"] == "keyword":
            owner = dists.owner_of_module(missing["module"]) if missing["module"] else None
        elif missing["kind"] in ("symbol", "attribute"):
            lacking_file = _module_file(missing["module"])
            owner = dists.owner_of_file(getattr(exc, "path", None)) or dists.owner_of_module(
                missing["module"]
            )
        else:
            # The parent package of a missing submodule may well be installed.
            owner = dists.owner_of_module(missing["module"].partition(".")[0])
        missing["package"], missing["version"] = owner if owner else (None, None)
    importer = None
    for frame in reversed(frames):
        if lacking_file and _normal(frame["abs_file"]) == lacking_file:
            continue
        importer = frame
        break
    kind = type(exc)
    qualname = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    for frame in frames:
        del frame["abs_file"]
    return {
        "status": "error",
        "exception": {
            "type": qualname,
            "message": str(exc),
            "name": getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
        },
        "missing": missing,
        "warning": isinstance(exc, Warning),
        "importer": importer,
        "frames": frames,
        "traceback": "".join(traceback.format_exception(kind, exc, _probe_traceback(exc)))[-8000:],
    }


def _time_left(started: float) -> float:
    """Seconds reading ahead may take: at most 20, and never into the probe's timeout (the
    host's clock started before the child's, at `started`; 5 s are kept for that and for
    writing the report)."""
    try:
        timeout = float(os.environ.get("ENVPROBE_PROBE_TIMEOUT", "0"))
    except ValueError:
        return 0.0
    return min(20.0, timeout - (time.monotonic() - started) - 5.0)


def _read_ahead(code: str, dists: _Distributions, seconds: float) -> list:
    """The imports the probe would meet next (`child_lookahead.py`); never fails the report."""
    if seconds <= 0.5:
        return []
    try:
        import importlib.util

        path = os.path.join(_HERE, "child_lookahead.py")
        sys.dont_write_bytecode = True  # nothing of ours is cached by the probe's interpreter
        spec = importlib.util.spec_from_file_location("_envprobe_lookahead", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.read_ahead(code, dists, _relative, seconds)
    except Exception:  # noqa: BLE001 - reading ahead is a bonus, the failure is the report
        return []


def report(exc: BaseException, code: str, started: float) -> dict:
    """The failure report `child.py` writes; `started` is the child's start (monotonic)."""
    dists = _Distributions()
    result = _describe(exc, dists)
    if isinstance(exc, ImportError):
        result["ahead"] = _read_ahead(code, dists, _time_left(started))
    return result
