"""One probe: install a pin set into a throwaway environment and run code in it.

`run_probe` answers from the store when the same probe was run before;
otherwise it prepares an environment, runs `child.py` with the environment's
interpreter in its own process group under a timeout, and turns whatever
happened into a `ProbeOutcome`. The engine never prints: progress goes to the
caller's callback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from envprobe.model.outcome import Failure, ProbeOutcome, Status
from envprobe.model.pins import exact_pins, parse_requirements
from envprobe.model.requests import ProbeRequest
from envprobe.probing import child_failures, processes
from envprobe.probing.backends import backend_for
from envprobe.probing.environment import Prepared, prepare
from envprobe.probing.evidence import excerpt
from envprobe.probing.interpreter import describe
from envprobe.probing.store import Store

__all__ = ["import_code", "run_probe"]

CHILD_SCRIPT = Path(__file__).with_name("child.py")


def import_code(modules: list[str] | tuple[str, ...]) -> str:
    """Probe code that imports each module in order, as `--import` does."""
    return "".join(f"import {module}\n" for module in modules)


def run_probe(
    request: ProbeRequest,
    *,
    store: Store | None = None,
    refresh: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ProbeOutcome:
    """Run `request` (or answer it from `store`) and return what happened.

    A failed probe is an outcome, not an exception. Raised instead, as
    `EnvprobeError`s: a malformed requirement or an installer that is not
    installed (`UsageError`), a requested project that exists nowhere
    (`UnknownPackage`), an index that cannot be reached (`IndexUnreachable`),
    an environment that cannot be created.
    """
    say = progress or (lambda message: None)
    requirements = parse_requirements(request.requirements)
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
    )
    with prepare(request, interpreter, backend, say) as ready:
        outcome.seconds.update(ready.seconds)
        outcome.command = ready.command
        outcome.installed = ready.installed
        outcome.failure, outcome.log_excerpt = ready.failure, ready.log_excerpt
        if ready.failure is None:
            say("running the probe code")
            outcome.failure, outcome.seconds["run"], outcome.log_excerpt = _run_child(
                ready, request)
        if outcome.failure is not None:
            outcome.status = Status.FAILED
    if store is not None:
        outcome.probe_id = store.record(request, outcome)
    return outcome


def _run_child(ready: Prepared, request: ProbeRequest) -> tuple[Failure | None, float, str]:
    """Run the probe code; (failure or None, wall seconds, output tail)."""
    code_path, outcome_path = ready.run_dir / "probe_code.py", ready.run_dir / "outcome.json"
    code_path.write_text(request.code, encoding="utf-8")
    done = processes.run(
        [ready.env.python, "-I", str(CHILD_SCRIPT), str(outcome_path), str(code_path)],
        log_path=ready.run_dir / "child.log", timeout=request.timeout, cwd=ready.run_dir,
        env=processes.clean_environ(),
    )
    tail = excerpt(done.output)
    if outcome_path.exists():
        report = json.loads(outcome_path.read_text())
        return child_failures.from_child(report, ready.installed), done.seconds, tail
    if done.timed_out:
        return child_failures.timed_out(request.timeout, done.output), done.seconds, tail
    return child_failures.crashed(done.returncode, done.output), done.seconds, tail
