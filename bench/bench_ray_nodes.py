"""A map on a two-node Ray cluster on this machine: a head and a worker node, 1 CPU each.

Run by hand (no network: the map's made-up packages from a simple index on
127.0.0.1). `ray.cluster_utils.Cluster` starts each node as its own raylet,
as `ray start --head` and `ray start --address` would, and stops exactly the
processes it started. Prints the map's figures and which node ran how many
probes.

    python bench/bench_ray_nodes.py
"""

from __future__ import annotations

import collections
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import ray
from map_packages import MAP_SCENARIO, build_map_packages
from ray.cluster_utils import Cluster
from wheelfactory import serve_index, write_simple_index

from envprobe.mapping.workflow import map_scenario
from envprobe.model.scenario import load_scenario
from envprobe.probing import executors
from envprobe.probing.executors import RayExecutor


def where_probed(request):
    """The probe task, tagged with the node that ran it."""
    outcome = executors.probe_task(request)
    outcome["log_excerpt"] = f"node {ray.get_runtime_context().get_node_id()[:8]}"
    return outcome


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="envprobe-ray-nodes-") as scratch:
        root = Path(scratch)
        os.environ.update(PIP_CONFIG_FILE=os.devnull, PIP_CACHE_DIR=str(root / "pip-cache"),
                          ENVPROBE_CACHE=str(root / "cache"), ENVPROBE_ENV_ROOT=str(root / "envs"),
                          ENVPROBE_STORE=str(root / "store.sqlite3"))
        write_simple_index(build_map_packages(root / "dists"), root / "index")
        (root / "appmap.toml").write_text(MAP_SCENARIO)
        # Cluster binds the nodes to this machine's own address; asking for 127.0.0.1
        # leaves the driver unable to reach the head's GCS (Ray 2.60), so it is not asked.
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1,
                                                                "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        try:
            ray.init(address=cluster.address, log_to_driver=False)
            cluster.wait_for_nodes()
            nodes = [n["NodeID"][:8] for n in ray.nodes() if n["Alive"]]
            ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
            executor = RayExecutor(cluster.address, task=where_probed)
            with serve_index(root / "index") as url:
                started = time.monotonic()
                result = map_scenario(load_scenario(root / "appmap.toml"), index_url=url,
                                      executor=executor)
                seconds = time.monotonic() - started
            with sqlite3.connect(root / "store.sqlite3") as db:
                ran = collections.Counter(json.loads(text)["log_excerpt"]
                                          for (text,) in db.execute("SELECT outcome FROM probes"))
            print(f"nodes: {', '.join(nodes)}; probes per node: {dict(ran)}")
            print(f"map: {len(result.rows)} rows x {len(result.columns)} columns, "
                  f"{result.probes} probes, {result.installs} installs, {result.scans} scans, "
                  f"{result.workers} Ray CPUs, {seconds:.1f} s")
            print(f"statuses: {[(r.version, r.status.value) for r in result.rows]}")
        finally:
            ray.shutdown()
            cluster.shutdown()


if __name__ == "__main__":
    main()
