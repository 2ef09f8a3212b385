"""Run independent probes at once: a local process pool, or one Ray task per probe.

A caller with probes that do not depend on each other (the map's edges)
hands an executor a batch and gets each result back as it finishes. Workers
never touch the store: they return the outcome as a dict, and the driver
alone records it, so one SQLite writer serves any number of workers. A
worker that dies mid-probe is retried on a fresh worker; dying again, its
probe comes back as `Lost`, never silently dropped. Both executors run the
same task function (`probe_task`), so a map is the same whichever ran it.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from envprobe.errors import UsageError
from envprobe.model.choices import EXECUTORS
from envprobe.model.requests import ProbeRequest

if TYPE_CHECKING:  # multiprocessing costs every command's start: imported when a pool starts
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "Lost", "RayExecutor", "executor_for",
           "probe_task"]

RAY_HINT = "the ray executor needs Ray: pip install 'envprobe[ray]'"
# How long a stopped worker may take to end its probe and remove its environment (a NeMo
# environment is GBs) before it is killed and its folder swept by the driver.
_STOP_SECONDS = 60.0


def probe_task(request: ProbeRequest) -> dict[str, Any]:
    """The task body on a worker: one probe, no store, its outcome as plain data."""
    from envprobe.probing.probe import run_probe  # a worker imports the engine once, here

    return run_probe(request).to_dict()


@dataclass(frozen=True)
class Lost:
    """A task whose worker died every time it ran: reported, never dropped."""

    reason: str


class Executor(Protocol):
    """Runs `task(item)` for every item; yields (key, result or Lost) as each finishes."""

    name: str
    workers: int
    running: int  # tasks started and not yet finished, for progress displays

    def run(self, items: Mapping[Hashable, Any]) -> Iterator[tuple[Hashable, Any]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """A `concurrent.futures` process pool of `jobs` workers (default: the cores).

    A dead worker breaks the whole pool, and every task in flight with it;
    those are rerun one at a time on a fresh pool, so the one that kills its
    worker is found, retried `retries` times, then reported as `Lost`.
    Stopped early (SIGTERM, Ctrl-C, or the caller leaving a batch), the pool
    starts nothing more: queued tasks are cancelled and each running one is
    told to end (see `_stop_pool`).
    """

    name = "local"

    def __init__(self, jobs: int | None = None, *, task: Callable[[Any], Any] = probe_task,
                 retries: int = 1) -> None:
        self.workers = jobs or os.cpu_count() or 1
        self.running = 0
        self._task, self._retries = functools.partial(_in_worker, task), retries
        self._pool: ProcessPoolExecutor | None = None

    def run(self, items: Mapping[Hashable, Any]) -> Iterator[tuple[Hashable, Any]]:
        suspects: list[Hashable] = []
        yield from self._batch(items, self._get_pool(), suspects)
        for key in suspects:
            yield key, self._alone(items[key])

    def _batch(self, items: Mapping[Hashable, Any], pool: ProcessPoolExecutor,
               broken: list[Hashable]) -> Iterator[tuple[Hashable, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        futures: dict[Future, Hashable] = {pool.submit(self._task, item): key
                                           for key, item in items.items()}
        try:
            while futures:
                self.running = min(len(futures), self.workers)
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    key = futures.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken.append(key)
                        continue
                    yield key, result
        finally:
            self.running = 0
            if futures:  # left early: interrupted, or the caller stopped reading
                self._pool = None
                _stop_pool(pool)
            elif broken:
                self._discard_pool()

    def _alone(self, item: Any) -> Any:
        """Run one task on a pool of its own until it finishes or has died too often.

        The broken batch may have been another task's doing, so a task is lost only
        after its worker died with nothing else running, on every try.
        """
        from concurrent.futures.process import BrokenProcessPool

        for _ in range(self._retries + 1):
            pool = _new_pool(1)
            self.running = 1
            try:
                return pool.submit(self._task, item).result()
            except BrokenProcessPool:
                continue
            finally:
                self.running = 0
                _stop_pool(pool)
        return Lost(f"its worker process died on each of {self._retries + 1} tries alone")

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _new_pool(self.workers)
        return self._pool

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            _stop_pool(pool)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_started)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool now: queued tasks never start; each worker is sent SIGTERM, which ends
    the probe it runs as a timeout would (its processes, its environment) and then the
    worker itself; one still there after `_STOP_SECONDS` is killed, and the run folder it
    left is swept."""
    from envprobe.probing.run_folders import sweep_stale_runs

    workers = list((getattr(pool, "_processes", None) or {}).values())  # no public handle
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + _STOP_SECONDS
    killed = False
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join()
            killed = True
    if killed:
        sweep_stale_runs()


class _WorkerStopped(BaseException):
    """SIGTERM reached a worker mid-task: unwind the task (its cleanup runs), then exit."""


_TASK_RUNNING = [False]  # per worker process


def _worker_started() -> None:
    """A pool worker: Ctrl-C is the driver's to handle (it stops the pool); SIGTERM
    ends the task at hand, cleaning up, and then the worker, before it takes another."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stopped)


def _worker_stopped(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the task's cleanup is not cut short
    if _TASK_RUNNING[0]:
        raise _WorkerStopped()
    os._exit(128 + signum)


def _in_worker(task: Callable[[Any], Any], item: Any) -> Any:
    """Run `task`; stopped mid-way, the worker exits once the task has unwound."""
    try:
        _TASK_RUNNING[0] = True
        return task(item)
    except _WorkerStopped:
        os._exit(128 + signal.SIGTERM)
    finally:
        _TASK_RUNNING[0] = False


def _context() -> multiprocessing.context.BaseContext:
    # spawn: the driver holds an open SQLite connection and threads (progress, index
    # downloads) that a forked worker must not inherit half-way.
    import multiprocessing

    return multiprocessing.get_context("spawn")


class RayExecutor:
    """One Ray task per probe, on a cluster at `address` or a local instance started here.

    Each node probes with its own caches and throwaway environments; the
    outcome travels back to the driver. Ray retries a task whose worker died
    (`retries` times) before it reports the loss, which becomes `Lost`.
    """

    name = "ray"

    def __init__(self, address: str | None = None, jobs: int | None = None, *,
                 task: Callable[[Any], Any] = probe_task, retries: int = 1) -> None:
        ray = _ray()
        self._ray, self._started = ray, False
        if not ray.is_initialized():
            # "local": a fresh instance for this run, never some cluster that happens to run.
            ray.init(address=address or "local", include_dashboard=False, log_to_driver=False,
                     num_cpus=jobs if address is None else None)
            self._started = True
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self.running = 0
        self._remote = ray.remote(num_cpus=1, max_retries=retries)(task)
        self._retries = retries

    def run(self, items: Mapping[Hashable, Any]) -> Iterator[tuple[Hashable, Any]]:
        from ray.exceptions import NodeDiedError, RayTaskError, WorkerCrashedError

        refs = {self._remote.remote(item): key for key, item in items.items()}
        try:
            while refs:
                self.running = min(len(refs), self.workers)
                [ref], _ = self._ray.wait(list(refs), num_returns=1)
                key = refs.pop(ref)
                try:
                    yield key, self._ray.get(ref)
                except (WorkerCrashedError, NodeDiedError) as error:
                    yield key, Lost(f"its Ray worker died on each of {self._retries + 1} "
                                    f"tries ({type(error).__name__})")
                except RayTaskError as error:
                    raise error.cause if isinstance(error.cause, Exception) else error
        finally:
            self.running = 0
            for ref in refs:
                self._ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(RAY_HINT) from None
    return ray


def executor_for(name: str, *, jobs: int | None = None, address: str | None = None) -> Executor:
    """The executor a command line names; one line and exit 2 for what cannot be had."""
    if name == "local":
        if address:
            raise UsageError("--ray-address needs --executor ray")
        return LocalExecutor(jobs)
    if name == "ray":
        return RayExecutor(address, jobs)
    raise UsageError(f"unknown executor {name!r} (choose from {', '.join(EXECUTORS)})")
