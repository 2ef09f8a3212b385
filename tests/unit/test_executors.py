"""Executors: results come back whatever order they finish in; a dead worker is never lost.

The tasks here kill their own worker process with SIGKILL, as an OOM killer
or a node failure would, so the pool really breaks.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from envprobe.errors import UsageError
from envprobe.probing.executors import LocalExecutor, Lost, executor_for


def square(n: int) -> int:
    return n * n


def die_once(marker: str) -> str:
    """Kill the worker the first time (the marker does not exist yet), then succeed."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


def always_die(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_the_local_pool_returns_every_result_by_its_key():
    pool = LocalExecutor(2, task=square)
    try:
        assert dict(pool.run({k: k for k in range(6)})) == {k: k * k for k in range(6)}
    finally:
        pool.close()


def test_a_worker_killed_mid_task_is_retried_on_a_fresh_worker(tmp_path):
    pool = LocalExecutor(2, task=die_once)
    try:
        results = dict(pool.run({"a": str(tmp_path / "a"), "b": str(tmp_path / "b")}))
    finally:
        pool.close()
    assert results == {"a": "survived", "b": "survived"}


def test_a_task_that_kills_every_worker_is_reported_lost_and_the_rest_still_finish():
    pool = LocalExecutor(2, task=_maybe_die)
    try:
        results = dict(pool.run({"bad": True, "good": False, "also good": False}))
    finally:
        pool.close()
    assert isinstance(results["bad"], Lost) and "died" in results["bad"].reason
    assert results["good"] == results["also good"] == "ok"


def _maybe_die(die: bool) -> str:
    if die:
        always_die(None)
    return "ok"


def test_without_ray_the_ray_executor_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UsageError, match=r"pip install 'envprobe\[ray\]'"):
        executor_for("ray")


def test_a_ray_address_without_the_ray_executor_is_bad_input():
    with pytest.raises(UsageError, match="--executor ray"):
        executor_for("local", address="127.0.0.1:6379")
