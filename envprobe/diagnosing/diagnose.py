"""`diagnose`: the environment the user already has, explained, and the smallest fix.

The order is the design's "cheap before dear": list what is installed and
run the code (or read the traceback) with the user's interpreter, read-only
(both kept, and reused while the environment's fingerprint is unchanged);
type the failure as a probe would; let the solver's teachers find the
boundary from wheels (a micro-probe of one release in a throwaway folder
where a wheel cannot tell, unless forbidden); derive the fixes from the
rules they teach; and install the set only when asked (`--verify`: one
probe of a throwaway copy; `--fix`: as many as it takes, within a budget).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from envprobe.diagnosing import names
from envprobe.diagnosing.failure import from_traceback, run_code
from envprobe.diagnosing.fixes import find_fixes, needs_from
from envprobe.diagnosing.inventory import Inventory, read_inventory
from envprobe.diagnosing.releases import Releases
from envprobe.diagnosing.run_cache import RunCache, SeenEnvironment, StoredRun
from envprobe.diagnosing.seeded import SeededSolve, boundary_rules
from envprobe.diagnosing.sources import Sources
from envprobe.diagnosing.verify import Copy, seeded_fix, verify
from envprobe.errors import EnvprobeError, UsageError
from envprobe.model.diagnosis import Diagnosis, MissingName
from envprobe.model.outcome import Failure, ProbeOutcome, Status
from envprobe.model.requests import InstallOptions
from envprobe.model.rules import Boundary, Rule
from envprobe.probing.interpreter import describe
from envprobe.probing.run_folders import run_directory
from envprobe.probing.store import Store

__all__ = ["DiagnoseRequest", "diagnose"]


@dataclass(frozen=True)
class DiagnoseRequest:
    """What to diagnose: code to run with `python`, or a traceback already seen.

    `options` are how the code runs (passed variables, network); the sources
    to install from come with the `Sources` given beside the request.
    """

    python: str
    code: str = ""
    traceback: str | None = None
    timeout: float = 300.0
    options: InstallOptions = field(default_factory=InstallOptions)
    verify: bool = False
    fix: bool = False
    max_installs: int = 4
    refresh: bool = False  # run the code again even when the environment is unchanged
    probes: bool = True  # micro-probes may settle what the wheels cannot


def diagnose(request: DiagnoseRequest, sources: Sources, store: Store | None,
             say: Callable[[str], None] = lambda text: None,
             cache: RunCache | None = None) -> Diagnosis:
    """Explain why the code fails in the user's environment; never write to it."""
    started = time.monotonic()
    cache = cache or RunCache()
    with run_directory() as run_dir:
        seen = _environment(request.python, run_dir, cache, say)
        interpreter, inventory = seen.interpreter, seen.inventory
        diagnosis = Diagnosis(status="works", python=interpreter.executable, code=request.code,
                              distributions=len(inventory.dists),
                              declared_conflicts=seen.conflicts)
        diagnosis.phases["environment"] = time.monotonic() - started
        failure = _failure(request, interpreter.executable, inventory, seen.fingerprint,
                           run_dir, cache, sources, diagnosis, say)
        diagnosis.phases["failure"] = time.monotonic() - started - diagnosis.phases["environment"]
    diagnosis.status = "works" if failure is None else "broken"
    diagnosis.failure = failure
    diagnosis.installer = "pip" if "pip" in inventory.dists or not shutil.which("uv") else "uv"
    if failure is not None:
        waited = time.monotonic()
        releases = Releases(sources.index(), interpreter, inventory,
                            probes=sources.options() if request.probes else None)
        diagnosis.phases["sources"] = time.monotonic() - waited
        try:
            _explain(diagnosis, failure, inventory, releases, request, sources, store, say,
                     cache, seen.fingerprint)
        finally:
            diagnosis.micro_probes = [*diagnosis.kept_micro_probes,
                                      *releases.scanner.micro_probes]
            releases.close()
    diagnosis.seconds = time.monotonic() - started
    return diagnosis


def _environment(python: str, run_dir: Path, cache: RunCache,
                 say: Callable[[str], None]) -> SeenEnvironment:
    """The interpreter and its installed set: as kept when nothing changed, else read."""
    kept = cache.environment(python)
    if kept is not None:
        return kept
    interpreter = describe(python)
    say(f"reading what {python} has installed")
    inventory = read_inventory(interpreter.executable, run_dir, interpreter.environment)
    return cache.keep_environment(python, interpreter, inventory)


def _failure(request: DiagnoseRequest, python: str, inventory: Inventory, environment: str,
             run_dir: Path, cache: RunCache, sources: Sources, diagnosis: Diagnosis,
             say: Callable[[str], None]) -> Failure | None:
    """The pasted traceback's failure, the kept run's, or a new run's (the index read beside)."""
    if request.traceback is not None:
        failure = from_traceback(request.traceback, inventory)
        if failure is None:
            raise UsageError("the traceback holds no exception line to explain")
        return failure
    question = {"code": request.code, "timeout": request.timeout,
                "pass_env": sorted(set(request.options.pass_env)),
                "network": request.options.network}
    kept = None if request.refresh else cache.run(python, question, environment)
    if kept is not None:
        diagnosis.ran_at, diagnosis.run_reused = kept.ran_at, True
        diagnosis.notes.append(f"ran the code at {kept.clock()}; environment unchanged "
                               "(--refresh runs it again)")
        return kept.failure
    say("running the code with that interpreter (read-only)")
    ran_at = time.time()
    with sources.prefetching(inventory.dists):
        failure, seconds = run_code(python, run_dir, request.code, request.timeout,
                                    request.options, inventory)
    diagnosis.ran_at = ran_at
    cache.keep_run(python, question, environment, StoredRun(failure, ran_at, seconds))
    return failure


def _explain(diagnosis: Diagnosis, failure: Failure, inventory: Inventory, releases: Releases,
             request: DiagnoseRequest, sources: Sources, store: Store | None,
             say: Callable[[str], None], cache: RunCache, environment: str) -> None:
    """Boundaries, other missing names and fixes, from the wheels; installs only on request."""
    say(f"searching the releases for the boundary: {failure.summary()}")
    mark = time.monotonic()
    key = {"environment": environment, "code": request.code, "probes": request.probes,
           "sources": repr(releases.index.config),
           "failure": {k: v for k, v in failure.to_dict().items() if k != "log_excerpt"}}
    kept = None if request.refresh else cache.recall("lesson", key)
    if kept is not None:
        _take_lesson(diagnosis, kept)
    elif not _learn(diagnosis, failure, inventory, releases, request):
        return
    else:
        cache.remember("lesson", key, _lesson_record(diagnosis, releases))
    diagnosis.phases["boundaries"] = time.monotonic() - mark
    say("choosing the smallest change")
    mark = time.monotonic()
    needs = needs_from(diagnosis.rules, diagnosis.boundaries, failure.importer_package)
    diagnosis.fixes = find_fixes(needs, inventory, releases, diagnosis.python,
                                 diagnosis.installer)
    diagnosis.involved = _involved(inventory, failure, needs)
    if not diagnosis.fixes:
        _nearest_set(diagnosis, inventory, releases, failure)
    diagnosis.scanned = list(dict.fromkeys([*diagnosis.scanned, *releases.scanner.scanned]))
    diagnosis.phases["fixes"] = time.monotonic() - mark
    if not (request.verify or request.fix) or not diagnosis.fixes:
        return
    code = request.code or _code_of(failure)
    if not code:
        diagnosis.notes.append("nothing to run in a copy: a traceback shows no import to repeat")
        return
    if store is None:
        raise UsageError("--verify and --fix record their probe: a store is needed")
    copy = Copy(inventory, releases, sources.options(), code, request.timeout, store, say)
    if request.fix:
        say("solving from the environment's own releases, tried in a throwaway copy")
        best, notes = seeded_fix(diagnosis.rules, diagnosis.boundaries,
                                 failure.importer_package, copy, diagnosis.python,
                                 diagnosis.installer, request.max_installs)
        diagnosis.notes += notes
        if best is not None:
            diagnosis.fixes = [best, *(f for f in diagnosis.fixes if f.changes != best.changes)]
    else:
        say("verifying the fix in a throwaway copy of the environment")
        verify(diagnosis.fixes[0], copy)


def _learn(diagnosis: Diagnosis, failure: Failure, inventory: Inventory, releases: Releases,
           request: DiagnoseRequest) -> bool:
    """The teachers' rules and boundaries, and the import's other missing names."""
    outcome = ProbeOutcome(status=Status.FAILED, pins={}, failure=failure,
                           installed=inventory.versions(), python=releases.interpreter.version,
                           platform=releases.interpreter.platform, code=request.code)
    try:
        lesson = releases.teacher().learn(outcome, inventory.pins())
    except EnvprobeError as error:
        diagnosis.notes.append(f"the boundary search stopped: {error}")
        return False
    diagnosis.rules = list(lesson.rules)
    diagnosis.notes += lesson.notes
    diagnosis.also_missing = names.also_missing(failure, request.code, inventory.path, releases)
    known = {b.key for b in lesson.boundaries}
    diagnosis.boundaries = [*lesson.boundaries,
                            *names.boundaries_of(diagnosis.also_missing, releases, known)]
    return True


def _lesson_record(diagnosis: Diagnosis, releases: Releases) -> dict:
    return {"rules": [r.to_dict() for r in diagnosis.rules],
            "boundaries": [b.to_dict() for b in diagnosis.boundaries],
            "also_missing": [vars(m) for m in diagnosis.also_missing],
            "notes": [n for n in diagnosis.notes if not n.startswith("ran the code at")],
            "scanned": list(releases.scanner.scanned),
            "micro_probes": releases.scanner.micro_probes}


def _take_lesson(diagnosis: Diagnosis, kept: dict) -> None:
    """What an earlier diagnosis of the same failure here found, as it found it."""
    diagnosis.rules = [Rule.from_dict(r) for r in kept["rules"]]
    diagnosis.boundaries = [Boundary.from_dict(b) for b in kept["boundaries"]]
    diagnosis.also_missing = [MissingName(**m) for m in kept["also_missing"]]
    diagnosis.notes += kept["notes"]
    diagnosis.scanned = list(kept["scanned"])
    diagnosis.kept_micro_probes = list(kept["micro_probes"])
    clock = time.strftime("%H:%M", time.localtime(kept["kept_at"]))
    diagnosis.notes.append(f"boundaries as found at {clock} for this failure in this "
                           "environment (--refresh searches again)")


def _nearest_set(diagnosis: Diagnosis, inventory: Inventory, releases: Releases,
                 failure: Failure) -> None:
    """No move of one package and its dependents does it: the seeded solve's nearest set."""
    rules = [*diagnosis.rules, *boundary_rules(diagnosis.boundaries, diagnosis.rules,
                                               failure.importer_package, inventory)]
    solve = SeededSolve(inventory, releases)
    try:
        whole = solve.resolve(rules)
    except EnvprobeError as error:
        whole = str(error)
    if isinstance(whole, str) or whole == solve.prefer:
        diagnosis.notes.append("no change keeps every declared requirement and clears the "
                               f"failure{': ' + whole if isinstance(whole, str) else ''}")
        return
    fix = solve.fix_of(whole, diagnosis.python, diagnosis.installer)
    fix.note = "the nearest set the declared requirements and the learned rules allow"
    diagnosis.fixes.append(fix)


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
