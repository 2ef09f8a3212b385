"""The same map through a real local Ray cluster (127.0.0.1, started and stopped here).

Skipped where Ray is not installed (`pip install 'envprobe[ray]'`).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from map_packages import MAP_SCENARIO
from test_map import map_index, run_map, shape  # noqa: F401  (map_index is a fixture)

from envprobe.mapping.workflow import map_scenario
from envprobe.model.scenario import load_scenario
from envprobe.probing.executors import Lost, RayExecutor

ray = pytest.importorskip("ray")


def die_once(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


def always_die(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def ray_cluster():
    """A local Ray instance on 127.0.0.1 with 2 CPUs; it inherits the test's hermetic env."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_the_ray_map_equals_the_local_map_and_a_dead_worker_is_retried_or_reported(
        tmp_path, map_index, ray_cluster):  # noqa: F811
    path = tmp_path / "appmap.toml"
    path.write_text(MAP_SCENARIO)
    local = run_map(path, map_index, store_path=tmp_path / "local.sqlite3")
    executor = RayExecutor()
    on_ray = map_scenario(load_scenario(path), index_url=map_index, executor=executor,
                          store_path=tmp_path / "ray.sqlite3")

    assert on_ray.executor == "ray" and on_ray.workers == 2
    assert on_ray.installs == local.installs > 0, "no probe answered from the other's store"
    assert shape(on_ray) == shape(local)

    retried = RayExecutor(task=die_once)
    assert dict(retried.run({"a": str(tmp_path / "a")})) == {"a": "survived"}
    lost = RayExecutor(task=always_die)
    [(key, result)] = list(lost.run({"k": None}))
    assert key == "k" and isinstance(result, Lost) and "died" in result.reason
