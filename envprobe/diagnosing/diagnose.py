"""`diagnose`: the environment the user already has, explained, and the smallest fix.

The order is the design's "cheap before dear": list what is installed and
run the code (or read the traceback) with the user's interpreter, read-only;
type the failure as a probe would; let the solver's teachers find the
boundary from wheels alone (no probe, no install); derive the fixes from the
rules they teach; and install something only when asked (`--verify`: one
probe of a throwaway copy; `--fix`: as many as it takes, within a budget).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from envprobe.diagnosing import names
from envprobe.diagnosing.failure import from_traceback, run_code
from envprobe.diagnosing.fixes import find_fixes, needs_from
from envprobe.diagnosing.inventory import Inventory, declared_conflicts, read_inventory
from envprobe.diagnosing.releases import Releases
from envprobe.diagnosing.verify import Copy, repair, verify
from envprobe.errors import EnvprobeError, UsageError
from envprobe.model.diagnosis import Diagnosis
from envprobe.model.outcome import Failure, ProbeOutcome, Status
from envprobe.model.requests import InstallOptions
from envprobe.probing.interpreter import describe
from envprobe.probing.run_folders import run_directory
from envprobe.probing.store import Store
from envprobe.sources.index import PackageIndex

__all__ = ["DiagnoseRequest", "diagnose"]


@dataclass(frozen=True)
class DiagnoseRequest:
    """What to diagnose: code to run with `python`, or a traceback already seen."""

    python: str
    code: str = ""
    traceback: str | None = None
    timeout: float = 300.0
    options: InstallOptions = field(default_factory=InstallOptions)
    verify: bool = False
    fix: bool = False
    max_installs: int = 4


def diagnose(request: DiagnoseRequest, index: PackageIndex, store: Store | None,
             say: Callable[[str], None] = lambda text: None) -> Diagnosis:
    """Explain why the code fails in the user's environment; never write to it."""
    started = time.monotonic()
    interpreter = describe(request.python)
    say(f"reading what {request.python} has installed")
    with run_directory() as run_dir:
        inventory = read_inventory(interpreter.executable, run_dir, interpreter.environment)
        if request.traceback is not None:
            failure = from_traceback(request.traceback, inventory)
            if failure is None:
                raise UsageError("the traceback holds no exception line to explain")
        else:
            say("running the code with that interpreter (read-only)")
            failure, _ = run_code(interpreter.executable, run_dir, request.code,
                                  request.timeout, request.options, inventory)
    installer = "pip" if "pip" in inventory.dists or not shutil.which("uv") else "uv"
    diagnosis = Diagnosis(status="works" if failure is None else "broken",
                          python=interpreter.executable, code=request.code,
                          failure=failure, installer=installer,
                          distributions=len(inventory.dists),
                          declared_conflicts=declared_conflicts(inventory))
    if failure is not None:
        _explain(diagnosis, failure, inventory, Releases(index, interpreter, inventory),
                 request, store, say)
    diagnosis.seconds = time.monotonic() - started
    return diagnosis


def _explain(diagnosis: Diagnosis, failure: Failure, inventory: Inventory, releases: Releases,
             request: DiagnoseRequest, store: Store | None, say: Callable[[str], None]) -> None:
    """Boundaries, other missing names and fixes, from the wheels; installs only on request."""
    say(f"searching the releases for the boundary: {failure.summary()}")
    outcome = ProbeOutcome(status=Status.FAILED, pins={}, failure=failure,
                           installed=inventory.versions(), python=releases.interpreter.version,
                           platform=releases.interpreter.platform, code=request.code)
    try:
        lesson = releases.teacher().learn(outcome, inventory.pins())
    except EnvprobeError as error:
        diagnosis.notes.append(f"the boundary search stopped: {error}")
        return
    diagnosis.rules, diagnosis.notes = list(lesson.rules), list(lesson.notes)
    diagnosis.also_missing = names.also_missing(failure, request.code, inventory.path, releases)
    known = {b.key for b in lesson.boundaries}
    diagnosis.boundaries = [*lesson.boundaries,
                            *names.boundaries_of(diagnosis.also_missing, releases, known)]
    say("choosing the smallest change")
    needs = needs_from(diagnosis.rules, diagnosis.boundaries, failure.importer_package)
    diagnosis.fixes = find_fixes(needs, inventory, releases, diagnosis.python,
                                 diagnosis.installer)
    diagnosis.involved = _involved(inventory, failure, needs)
    diagnosis.scanned = list(releases.scanner.scanned)
    if not diagnosis.fixes:
        diagnosis.notes.append("no change of one or two packages keeps every declared "
                               "requirement and clears the failure")
    if not (request.verify or request.fix) or not diagnosis.fixes:
        return
    code = request.code or _code_of(failure)
    if not code:
        diagnosis.notes.append("nothing to run in a copy: a traceback shows no import to repeat")
        return
    if store is None:
        raise UsageError("--verify and --fix record their probe: a store is needed")
    copy = Copy(inventory, releases, request.options, code, request.timeout, store, say)
    if request.fix:
        say("fixing in a throwaway copy of the environment")
        best = repair(diagnosis.fixes[0], copy, diagnosis.python, diagnosis.installer,
                      request.max_installs)
        if best.changes != diagnosis.fixes[0].changes:
            diagnosis.fixes.insert(0, best)
    else:
        say("verifying the fix in a throwaway copy of the environment")
        verify(diagnosis.fixes[0], copy)


def _involved(inventory: Inventory, failure: Failure, needs: list) -> dict[str, str]:
    """The installed releases the failure and its fixes are about."""
    named = [failure.package, failure.importer_package,
             *(n.target for n in needs), *(n.importer for n in needs)]
    versions = inventory.versions()
    return {canonicalize_name(n): versions[canonicalize_name(n)] for n in named
            if n and canonicalize_name(n) in versions}


def _code_of(failure: Failure) -> str:
    """The import a traceback shows, to repeat in a copy: the importer's own module."""
    if not failure.importer:
        return ""
    file = failure.importer.rpartition(":")[0]
    if not file.endswith(".py") or file.startswith(("<", "/")):
        return ""
    module = file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    return f"import {module}\n"
