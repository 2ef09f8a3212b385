"""Micro-probes: one release alone, one question, in a second or two.

A wheel's source cannot always say whether a module binds a name: C
extensions, a module `__getattr__` that refuses names in words of its own,
namespaces filled at import time. The release's own code can. A micro-probe
installs just that release (no dependencies, wheels only) into a plain
folder and asks the interpreter, started without site-packages, to import
the module and look the name up, exactly as `from module import name` would.
Only when the module needs its dependencies to import is the release
installed again with them. Either way it costs a download and an import,
not a full install of the whole set.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.requests import InstallOptions
from envprobe.probing import processes, sealed
from envprobe.probing.backends import Environment, InstallerBackend
from envprobe.probing.run_folders import run_directory
from envprobe.probing.store import Store

__all__ = ["MicroProber"]

_INSTALL_SECONDS = 300.0
_ASK_SECONDS = 120.0
_MARK = "ENVPROBE-MICRO "
# Run by the target interpreter with -I -S: the stdlib and the release's folder only.
_ASK = r"""
import importlib, json, sys
folder, module, name, refusals = sys.argv[1:5]
sys.path.insert(0, folder)
def absent(exc, wanted):
    missing = exc.name or ""
    return missing == wanted or wanted.startswith(missing + ".")
def failed(exc, doing, wanted):
    if isinstance(exc, ModuleNotFoundError):
        if absent(exc, wanted):
            return False, "no module " + wanted, ""
        return None, "%s needs %s" % (doing, exc.name), exc.name or ""
    return None, "%s raised %s: %s" % (doing, type(exc).__name__, exc), ""
def look():
    try:
        loaded = importlib.import_module(module)
    except BaseException as exc:
        if refusals and not isinstance(exc, ModuleNotFoundError):
            return False, "importing %s raised %s: %s" % (module, type(exc).__name__, exc), ""
        return failed(exc, "importing " + module, module)
    if not name:
        return True, "module %s imports" % module, ""
    try:
        if hasattr(loaded, name):  # runs a module __getattr__, as the importer's code does
            return True, "%s.%s exists" % (module, name), ""
    except BaseException as exc:
        return failed(exc, "looking up %s.%s" % (module, name), "")
    submodule = module + "." + name  # `from m import s` also finds a submodule s
    try:
        importlib.import_module(submodule)
    except BaseException as exc:
        value, why, needs = failed(exc, "importing " + submodule, submodule)
        return value, ("%s has no %s" % (module, name)) if value is False else why, needs
    return True, submodule + " is a submodule", ""
value, why, needs = look()
print("ENVPROBE-MICRO " + json.dumps({"answer": value, "why": why, "needs": needs}))
"""


@dataclasses.dataclass(frozen=True)
class MicroAnswer:
    """What one micro-probe established; `answer` None when it could not tell."""

    answer: bool | None
    why: str
    needs: str = ""  # a module of another distribution the import needed


class MicroProber:
    """Installs single releases into folders of one run and asks them questions.

    Answers are kept for the prober's life and, given a store, in the store (a
    definite answer only, keyed by the interpreter and the sources as well as the
    question), so the next run asks none again; `ran` counts the questions really
    asked. `asked` lists each question with its answer, the evidence a boundary
    found this way rests on. `close()` removes the folders (the run folder sweep
    removes them too if the process dies).
    """

    def __init__(self, interpreter: TargetInterpreter, backend: InstallerBackend,
                 options: InstallOptions, store: Store | None = None) -> None:
        self._interpreter = interpreter
        self._backend = backend
        # Wheels only: building an old sdist to answer one question would cost more
        # than the full install the micro-probe is meant to save.
        self._options = dataclasses.replace(options, allow_sdist=False, base=(), pre_install=(),
                                            no_build_isolation=())
        self._stack = contextlib.ExitStack()
        self._run: Path | None = None
        self._folders: dict[tuple[str, str, bool, tuple[str, ...]], Path | None] = {}
        self._answers: dict[tuple, MicroAnswer] = {}
        self._store = store
        self.asked: list[str] = []
        self.ran = 0

    def provides(self, name: str, version: str, module: str, symbol: str) -> bool | None:
        """Whether this release alone, imported, binds `module.symbol`."""
        return self.ask(name, version, module, symbol).answer

    def imports_alongside(self, name: str, version: str, module: str,
                          alongside: tuple[str, ...]) -> MicroAnswer:
        """Whether `module` of this release imports next to `alongside` (exact pins).

        The question an import-time version check raises: does release R
        accept numpy 1.26.4? An import that raises answers False, its message
        in `why`; a missing module of another project still means "cannot tell".
        """
        return self.ask(name, version, module, "", alongside=alongside, refusals=True)

    def ask(self, name: str, version: str, module: str, symbol: str, *,
            alongside: tuple[str, ...] = (), refusals: bool = False) -> MicroAnswer:
        key = (name, version, module, symbol, alongside, refusals)
        if key not in self._answers:
            stored, question = self._stored(key)
            found = stored or self._ask(name, version, module, symbol, alongside, refusals,
                                        False)
            if found.answer is None and found.needs:
                found = self._ask(name, version, module, symbol, alongside, refusals, True)
            if stored is None and found.answer is not None and self._store is not None:
                self._store.keep_micro_answer(question[0], question[1],
                                              dataclasses.asdict(found))
            self._answers[key] = found
            beside = f" beside {', '.join(alongside)}" if alongside else ""
            kept = " (kept in the store)" if stored else ""
            self.asked.append(f"{name} {version}{beside}: {found.why}{kept}")
        return self._answers[key]

    def _stored(self, key: tuple) -> tuple[MicroAnswer | None, tuple[str, dict]]:
        """The store's answer to this question from this interpreter and these sources."""
        parts = {"question": list(key), "python": self._interpreter.version,
                 "platform": self._interpreter.platform,
                 "executable": self._interpreter.executable,
                 "sources": dataclasses.replace(self._options,
                                                installer=self._backend.name).key()}
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        known = self._store.micro_answer(digest) if self._store is not None else None
        return (MicroAnswer(**known) if known else None), (digest, parts)

    def close(self) -> None:
        self._stack.close()
        self._run = None
        self._folders.clear()

    def _ask(self, name: str, version: str, module: str, symbol: str,
             alongside: tuple[str, ...], refusals: bool, with_dependencies: bool) -> MicroAnswer:
        self.ran += 1
        folder = self._install(name, version, with_dependencies, alongside)
        if folder is None:
            beside = f" beside {', '.join(alongside)}" if alongside else ""
            return MicroAnswer(None, f"no wheel of {name} {version}{beside} installs here")
        run = self._run_folder()
        done = processes.run(
            [self._interpreter.executable, "-I", "-S", "-c", _ASK, str(folder), module, symbol,
             "1" if refusals else ""],
            log_path=run / "ask.log", cwd=run, timeout=_ASK_SECONDS, network=False,
            env={**sealed.probe_environ(run), "PYTHONDONTWRITEBYTECODE": "1"},
        )
        for line in reversed(done.output.splitlines()):
            if line.startswith(_MARK):
                return _answer_from(line[len(_MARK):], f"{name} {version}")
        reason = "timed out" if done.timed_out else f"exited {done.returncode}"
        return MicroAnswer(None, f"the question to {name} {version} {reason}")

    def _install(self, name: str, version: str, with_dependencies: bool,
                 alongside: tuple[str, ...]) -> Path | None:
        key = (name, version, with_dependencies, alongside)
        if key not in self._folders:
            run = self._run_folder()
            label = re.sub(r"[^A-Za-z0-9._-]", "_", f"{name}-{version}")
            folder = run / f"{label}-{len(self._folders)}"
            shutil.rmtree(folder, ignore_errors=True)
            env = Environment(run, self._interpreter.executable, folder)
            argv = self._backend.target_command(env, [f"{name}=={version}", *alongside], self._options,
                                                folder, dependencies=with_dependencies,
                                                compile_bytecode=False)
            done = processes.run(argv, log_path=run / f"{folder.name}-install.log", cwd=run,
                                 timeout=_INSTALL_SECONDS,
                                 env=sealed.installer_environ(run, self._options.pass_env))
            self._folders[key] = folder if done.ok else None
        return self._folders[key]

    def _run_folder(self) -> Path:
        if self._run is None:
            self._run = self._stack.enter_context(run_directory())
        return self._run


def _answer_from(text: str, release: str) -> MicroAnswer:
    """The asking script's JSON line; anything else (the release's own code printed it)
    is no answer."""
    try:
        fields = json.loads(text)
        answer, why, needs = fields["answer"], str(fields["why"]), str(fields["needs"])
    except (ValueError, KeyError, TypeError):
        return MicroAnswer(None, f"the question to {release} got a malformed answer")
    if answer not in (True, False, None):
        return MicroAnswer(None, f"the question to {release} got a malformed answer")
    return MicroAnswer(answer, why, needs)
