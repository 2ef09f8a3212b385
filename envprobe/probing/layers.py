"""Base layers: heavy requirements installed once per interpreter and sources, then shared.

A probe of a set on top of an 800 MB wheel should not reinstall the wheel:
the base requirements go into a folder under the cache, built once (other
runs wait on a lock rather than build it twice), and each environment
attaches it the way its installer counts as installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.pins import normalize_requirement
from envprobe.model.requests import InstallOptions
from envprobe.paths import cache_dir
from envprobe.probing import processes, sealed
from envprobe.probing.backends import Environment, InstallerBackend

__all__ = ["attach_base_layer", "layer_key"]

_DONE = "layer.json"  # written last: a layer without it is unfinished


def layer_key(interpreter: TargetInterpreter, options: InstallOptions) -> str:
    """Which base layer fits: same interpreter, platform, base set, index and binary policy."""
    parts = {
        "python": interpreter.version,
        "platform": interpreter.platform,
        "base": sorted(normalize_requirement(r) for r in options.base),
        "index": options.index_args(),
        "allow_sdist": options.allow_sdist,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def attach_base_layer(env: Environment, backend: InstallerBackend, interpreter: TargetInterpreter,
                      options: InstallOptions, log_dir: Path) -> processes.Completed | None:
    """Make `options.base` installed in `env` from the shared layer; build the layer once.

    Returns the build's result when this call built it (a failed build is an
    install failure of the probe), None when the layer was already there.
    """
    layers = cache_dir() / "layers"
    layers.mkdir(parents=True, exist_ok=True)
    key = layer_key(interpreter, options)
    final = layers / key
    built = None
    with open(layers / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building the same layer
        if not (final / _DONE).exists():
            built = _build(env, backend, interpreter, options, final, log_dir)
            if not built.ok:
                return built
    backend.attach_layer(env, final / "site")
    return built


def _build(env: Environment, backend: InstallerBackend, interpreter: TargetInterpreter,
           options: InstallOptions, final: Path, log_dir: Path) -> processes.Completed:
    """Install into a private folder and rename it into place, so no run sees half a layer."""
    building = final.with_name(f"{final.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        done = processes.run(
            backend.target_command(env, options.base, options, building / "site"),
            log_path=log_dir / "base-layer.log", cwd=env.root.parent,
            env=sealed.installer_environ(log_dir, options.pass_env),
        )
        if done.ok:
            (building / _DONE).write_text(json.dumps(
                {"base": list(options.base), "python": interpreter.version,
                 "platform": interpreter.platform}, indent=1))
            shutil.rmtree(final, ignore_errors=True)
            os.rename(building, final)
        return done
    finally:
        shutil.rmtree(building, ignore_errors=True)
