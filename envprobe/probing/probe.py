"""One probe: install a pin set into a throwaway environment and run code in it.

`run_probe` answers from the store when the same probe was run before;
otherwise it prepares an environment, runs `child.py` with the environment's
interpreter (sealed, watched, under a timeout, without network unless asked),
and turns whatever happened into a `ProbeOutcome` that says which isolation
was in force. Nothing the probe code does to its folder or its report ends in
envprobe's traceback: an untrustworthy report is a `crashed` probe. The engine
never prints: progress goes to the caller's callback.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome, Status
from envprobe.model.pins import exact_pins, parse_requirements
from envprobe.model.requests import InstallOptions, ProbeRequest, import_code
from envprobe.paths import bytecode_dir
from envprobe.probing import processes, sealed
from envprobe.probing.backends import backend_for
from envprobe.probing.backends.common import check_find_links
from envprobe.probing.child_report import InvalidReport, read_child_report
from envprobe.probing.environment import Prepared, prepare
from envprobe.probing.evidence import excerpt
from envprobe.probing.head_start import HeadStart
from envprobe.probing.installed import CHILD_SCRIPT, installed_distributions, read_installed
from envprobe.probing.interpreter import describe
from envprobe.probing.isolation import isolation
from envprobe.probing.phases import LogWatcher
from envprobe.probing.store import Store

__all__ = ["check_find_links", "import_code", "run_child", "run_probe"]

_REPORT, _LISTING = "outcome.json", "installed.json"  # what the child writes, in its folder


def run_probe(
    request: ProbeRequest,
    *,
    store: Store | None = None,
    refresh: bool = False,
    progress: Callable[[str], None] | None = None,
    head: HeadStart | None = None,
) -> ProbeOutcome:
    """Run `request` (or answer it from `store`) and return what happened.

    `head` is the environment `envprobe probe` began before it asked the
    store; it is used when it is the installer and interpreter this probe needs.

    A failed probe is an outcome, not an exception. Raised instead, as
    `EnvprobeError`s: a malformed requirement or an installer that is not
    installed (`UsageError`), a requested project that exists nowhere
    (`UnknownPackage`), an index that cannot be reached (`IndexUnreachable`),
    an environment that cannot be created.
    """
    say = progress or (lambda message: None)
    requirements = parse_requirements(request.requirements)
    check_find_links(request.options.find_links)
    interpreter = describe(request.python)
    backend = backend_for(request.options.installer)
    # The store keys on the installer that runs, whatever the caller chose.
    request = replace(request, options=replace(request.options, installer=backend.name))
    if store is not None and not refresh:
        stored = store.lookup(request, interpreter.version, interpreter.platform)
        if stored is not None:
            say(f"answered from the store (probe {stored.probe_id})")
            return stored
    outcome = ProbeOutcome(
        status=Status.OK,
        pins=exact_pins(requirements),
        python=interpreter.version,
        platform=interpreter.platform,
        installer=backend.name,
        code=request.code,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        requirements=list(request.requirements),
        isolation=isolation(request.options),
    )
    begun = (head.take(backend.name, interpreter.executable, request.requirements,
                       request.options) if head is not None else None)
    # One watchdog for the probe's commands (environment, install, code), started now
    # (or the head start's): its start overlaps the run folder's, and two more are saved.
    with processes.supervised() as supervisor:
        supervisor.start()
        with prepare(request, interpreter, backend, say, list_installed=False,
                     begun=begun) as ready:
            outcome.seconds.update(ready.seconds)
            outcome.command = ready.command
            outcome.failure, outcome.log_excerpt = ready.failure, ready.log_excerpt
            if ready.failure is None:
                outcome.failure, done, outcome.installed = _run_listing_child(
                    ready, request, LogWatcher(None, "running the probe code", say).tick)
                outcome.seconds["run"], outcome.log_excerpt = done.seconds, excerpt(done.output)
                outcome.isolation = isolation(request.options, done.network, done.reaper)
            if outcome.failure is not None:
                outcome.status = Status.FAILED
    if store is not None:
        outcome.probe_id = store.record(request, outcome)
    return outcome


def run_child(python: str, run_dir: Path, code: str, timeout: float, options: InstallOptions,
              installed: dict[str, str], *, read_only: bool = False,
              on_tick: Callable[[], None] | None = None,
              ) -> tuple[Failure | None, processes.Completed]:
    """Run the probe code; the failure (None when it passed) and how its process ended.

    The code runs in a folder of its own: its report, its code file and its
    log live beside that folder, where code that writes `outcome.json` or
    deletes its working directory does not reach them by accident.
    `read_only` is for an environment that is not ours (`diagnose`): no
    bytecode is written there, by the child or any Python it starts.
    """
    done, private = _run_child_process(python, run_dir, code, timeout, options,
                                       read_only=read_only, on_tick=on_tick)
    return _typed(done, private / _REPORT, installed, timeout), done


def _run_listing_child(ready: Prepared, request: ProbeRequest, on_tick: Callable[[], None],
                       ) -> tuple[Failure | None, processes.Completed, dict[str, str]]:
    """Run the probe code in a child that first lists what is installed, before the code.

    Its list types the failure as a separate listing would; a child that
    could not write one (or code that spoiled it) gets the separate listing.
    """
    options = request.options
    done, private = _run_child_process(ready.env.python, ready.run_dir, request.code,
                                       request.timeout, options, on_tick=on_tick,
                                       list_installed=True, read_ahead=True,
                                       bytecode=bytecode_dir())
    installed = read_installed(private / _LISTING, ready.hidden)
    if installed is None:
        try:
            installed = installed_distributions(ready.env.python, ready.run_dir,
                                                options.pass_env, ready.hidden)
        except OSError:  # the code removed its run folder, environment and all
            installed = {}
    return _typed(done, private / _REPORT, installed, request.timeout), done, installed


def _run_child_process(python: str, run_dir: Path, code: str, timeout: float,
                       options: InstallOptions, *, read_only: bool = False,
                       on_tick: Callable[[], None] | None = None,
                       list_installed: bool = False, read_ahead: bool = False,
                       bytecode: Path | None = None) -> tuple[processes.Completed, Path]:
    """The child, run; how it ended and the private folder that holds its report.

    `read_ahead` only where a solver learns from the suspects (a probe): reading
    ahead of a failed import costs up to 20 s on a NeMo-sized tree. `bytecode`
    is the folder of bytecode kept across probes (`child_bytecode.py`): only
    for a throwaway environment, never one that is not ours.
    """
    work = run_dir / "work"
    work.mkdir()
    private = Path(tempfile.mkdtemp(prefix="child-", dir=run_dir))
    code_path = private / "probe_code.py"
    code_path.write_text(code, encoding="utf-8")
    flags = ["-I", "-B"] if read_only else ["-I"]
    env = sealed.probe_environ(run_dir, options.pass_env)
    # The child reads ahead of a failed import only within this (child.py `_time_left`):
    # reading ahead must never turn a failure into a timeout. Unset, it never reads ahead.
    if read_ahead:
        env["ENVPROBE_PROBE_TIMEOUT"] = str(timeout)
    if read_only:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    elif bytecode is not None:
        env["ENVPROBE_BYTECODE"] = str(bytecode)
    listing = [str(private / _LISTING)] if list_installed else []
    done = processes.run(
        [python, *flags, str(CHILD_SCRIPT), str(private / _REPORT), str(code_path), *listing],
        log_path=private / "child.log", timeout=timeout, cwd=work, env=env,
        network=options.network, on_tick=on_tick,
    )
    return done, private


def _typed(done: processes.Completed, outcome_path: Path, installed: dict[str, str],
           timeout: float) -> Failure | None:
    """The failure the child's report (or its absence) shows; None when the code passed.

    The failure typing (`child_failures`, its patterns compiled on import) is
    read only for a failure: a passing probe never needs it.
    """
    report = None
    if not done.timed_out:
        try:
            report = read_child_report(outcome_path)
        except InvalidReport as problem:
            return Failure(FailureKind.CRASHED, f"the probe's outcome file is not the one the "
                           f"probe process writes ({problem}): the probe code changed it",
                           log_excerpt=excerpt(done.output))
        if report is not None and report.get("status") == "ok":
            return None
    from envprobe.probing import child_failures

    if done.timed_out:
        return child_failures.timed_out(timeout, done.output)
    if report is None:
        return child_failures.crashed(done.returncode, done.output)
    return child_failures.from_child(report, installed)
