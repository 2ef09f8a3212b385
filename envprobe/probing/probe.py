"""One probe: install a pin set into a throwaway environment and run code in it.

`run_probe` answers from the store when the same probe was run before;
otherwise it creates an environment, installs, runs `child.py` with the
environment's interpreter in its own process group under a timeout, and
turns whatever happened into a `ProbeOutcome`. The engine never prints:
progress goes to the caller's callback.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from envprobe.errors import IndexUnreachable, UnknownPackage
from envprobe.model.outcome import Failure, FailureKind, ProbeOutcome, Status
from envprobe.model.pins import exact_pins, parse_requirements, project_names
from envprobe.probing import environments as envs
from envprobe.probing import failures, processes
from envprobe.probing.environments import InstallOptions
from envprobe.probing.store import Store

__all__ = ["ProbeRequest", "import_code", "run_probe"]

CHILD_SCRIPT = Path(__file__).with_name("child.py")


@dataclass(frozen=True)
class ProbeRequest:
    """What to install (PEP 508 requirements; `==` ones are pins) and what must run."""

    requirements: tuple[str, ...]
    code: str
    python: str = sys.executable
    options: InstallOptions = field(default_factory=InstallOptions)
    timeout: float = 300.0


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
    `EnvprobeError`s: a malformed requirement (`UsageError`), a requested
    project that exists nowhere (`UnknownPackage`), an index that cannot be
    reached (`IndexUnreachable`), an environment that cannot be created.
    """
    say = progress or (lambda message: None)
    requirements = parse_requirements(request.requirements)
    interp = envs.interpreter(request.python)
    if store is not None and not refresh:
        stored = store.lookup(request, interp.version, interp.platform)
        if stored is not None:
            say(f"answered from the store (probe {stored.probe_id})")
            return stored
    installer = envs.resolve_installer(request.options.installer)
    outcome = ProbeOutcome(
        status=Status.OK,
        pins=exact_pins(requirements),
        python=interp.version,
        platform=interp.platform,
        installer=installer,
        code=request.code,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        requirements=list(request.requirements),
    )
    with envs.run_directory() as run_dir:
        _probe_in(run_dir, request, interp, installer, outcome, say)
    if store is not None:
        outcome.probe_id = store.record(request, outcome)
    return outcome


def _probe_in(run_dir: Path, request: ProbeRequest, interp: envs.Interpreter, installer: str,
              outcome: ProbeOutcome, say: Callable[[str], None]) -> None:
    options = request.options
    say(f"creating a {installer} environment for Python {interp.version}")
    started = time.perf_counter()
    env = envs.create_environment(run_dir / "env", interp, installer)
    outcome.seconds["create"] = time.perf_counter() - started

    if options.base:
        say(f"attaching the base layer ({', '.join(options.base)})")
        started = time.perf_counter()
        built = envs.attach_base_layer(env, options, run_dir)
        outcome.seconds["base"] = time.perf_counter() - started
        if built is not None and not built.ok:
            _fail_install(outcome, built, env, request, run_dir)
            return

    say(f"installing {len(request.requirements)} requirement(s) with {installer}")
    done = envs.install(env, request.requirements, options, run_dir)
    outcome.seconds["install"] = done.seconds
    outcome.command = shlex.join(done.argv)
    if not done.ok:
        _fail_install(outcome, done, env, request, run_dir)
        return
    outcome.installed = envs.installed_distributions(
        env, project_names(parse_requirements(request.requirements))
    )

    say("running the probe code")
    outcome.failure, outcome.seconds["run"], outcome.log_excerpt = _run_child(
        env, request, run_dir, outcome.installed
    )
    if outcome.failure is not None:
        outcome.status = Status.FAILED


def _fail_install(outcome: ProbeOutcome, done: processes.Completed, env: envs.Environment,
                  request: ProbeRequest, run_dir: Path) -> None:
    failure = failures.from_install_log(done.output, env.installer)
    installer_gave_up = failure.kind in (FailureKind.NO_DISTRIBUTION, FailureKind.INSTALL_FAILED)
    if installer_gave_up and (reason := failures.index_unreachable(done.output)):
        raise IndexUnreachable(f"the package index could not be reached ({reason})")
    requested = project_names(parse_requirements([*request.requirements, *request.options.base]))
    if failure.kind is FailureKind.NO_DISTRIBUTION and failure.name in requested:
        unknown = failures.no_versions_at_all(failure, done.output, env.installer)
        if unknown is None:
            check = envs.pip_project_check(env, failure.name, request.options, run_dir)
            if reason := failures.index_unreachable(check.output):
                raise IndexUnreachable(f"the package index could not be reached ({reason})")
            unknown = not failures.lists_files_of(check.output, failure.name)
        if unknown:
            raise UnknownPackage(
                f"no package named {failure.name!r} on the package index or find-links folders"
            )
    outcome.status = Status.FAILED
    outcome.failure = failure
    outcome.log_excerpt = failures.excerpt(done.output)
    outcome.command = shlex.join(done.argv)


def _run_child(env: envs.Environment, request: ProbeRequest, run_dir: Path,
               installed: dict[str, str]) -> tuple[Failure | None, float, str]:
    """Run the probe code; (failure or None, wall seconds, output tail)."""
    code_path, outcome_path = run_dir / "probe_code.py", run_dir / "outcome.json"
    code_path.write_text(request.code, encoding="utf-8")
    done = processes.run(
        [env.python, "-I", str(CHILD_SCRIPT), str(outcome_path), str(code_path)],
        log_path=run_dir / "child.log", timeout=request.timeout, cwd=run_dir,
        env=envs.clean_environ(),
    )
    tail = failures.excerpt(done.output)
    if outcome_path.exists():
        return failures.from_child(json.loads(outcome_path.read_text()), installed), done.seconds, tail
    if done.timed_out:
        return failures.timed_out(request.timeout, done.output), done.seconds, tail
    return failures.crashed(done.returncode, done.output), done.seconds, tail
