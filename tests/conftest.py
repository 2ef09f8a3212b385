"""Shared fixtures: a hermetic pip, and the fake dependency chain of the mission.

The chain mirrors the real NeMo trap in miniature:
- `fakehub` exports `ModelFilter` up to 1.1 (through a lazy attribute table
  from 1.0 on), drops it in 2.0, and adds `NewApi` in 1.1;
- `toolkit` imports `ModelFilter` from `fakehub` and declares no upper bound;
- `formers` 4.x needs `fakehub>=1.1` and imports `NewApi`; 5.x needs
  `fakehub>=2.0`;
- `lightning` pulls `formers` in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wheelfactory import build_wheel, serve_index, write_simple_index

_LAZY_INIT = '''\
import importlib

_SUBMOD_ATTRS = {submods!r}
_NAME_TO_MODULE = {{name: mod for mod, names in _SUBMOD_ATTRS.items() for name in names}}


def __getattr__(name):
    if name in _NAME_TO_MODULE:
        module = importlib.import_module("." + _NAME_TO_MODULE[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}")
'''


def _lazy_hub(version: str, names: list[str]) -> dict[str, str]:
    api = "\n".join(f"class {n}:\n    pass\n" for n in names)
    return {
        "fakehub/__init__.py": f'__version__ = "{version}"\n'
        + _LAZY_INIT.format(submods={"hf_api": names}),
        "fakehub/hf_api.py": api,
    }


def build_chain(dist_dir: Path) -> Path:
    """Write the fake chain's wheels into `dist_dir` and return it."""
    build_wheel(
        dist_dir, "fakehub", "0.9",
        {"fakehub/__init__.py": '__version__ = "0.9"\nclass ModelFilter:\n    pass\n'},
    )
    build_wheel(dist_dir, "fakehub", "1.0", _lazy_hub("1.0", ["ModelFilter"]))
    build_wheel(dist_dir, "fakehub", "1.1", _lazy_hub("1.1", ["ModelFilter", "NewApi"]))
    build_wheel(dist_dir, "fakehub", "2.0", _lazy_hub("2.0", ["NewApi"]))
    build_wheel(dist_dir, "fakehub", "2.1", _lazy_hub("2.1", ["NewApi", "Newer"]))
    for version in ("1.0", "1.1"):
        build_wheel(
            dist_dir, "toolkit", version,
            {
                "toolkit/__init__.py": "from toolkit import core\n",
                "toolkit/core.py": "from fakehub import ModelFilter\n",
            },
            requires=["fakehub>=0.9"],
        )
    build_wheel(
        dist_dir, "formers", "3.0",
        {"formers/__init__.py": "import fakehub\n"}, requires=["fakehub>=0.9"],
    )
    for version, floor in (("4.0", "1.1"), ("5.0", "2.0")):
        build_wheel(
            dist_dir, "formers", version,
            {"formers/__init__.py": "from fakehub import NewApi\n"},
            requires=[f"fakehub>={floor}"],
        )
    build_wheel(
        dist_dir, "lightning", "1.0",
        {"lightning/__init__.py": "import formers\n"}, requires=["formers>=3.0"],
    )
    return dist_dir


# The machine's own settings, captured before any test's hermetic fixture runs.
_MACHINE_ENV = {
    key: value for key, value in os.environ.items()
    if key.startswith(("PIP_", "UV_", "ENVPROBE_")) or key in ("XDG_CACHE_HOME", "XDG_DATA_HOME")
}


@pytest.fixture
def real_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """For `live` tests: undo `hermetic_pip`, back to the machine's pip, store and caches."""
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_", "ENVPROBE_")):
            monkeypatch.delenv(key)
    for key, value in _MACHINE_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def hermetic_pip(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Keep every test away from the machine's pip configuration and the user's caches."""
    for key in list(os.environ):
        if key.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    home = tmp_path_factory.mktemp("envprobe-home")
    # A wheel pip built from an sdist in one test must not hide that test's build failure.
    monkeypatch.setenv("PIP_CACHE_DIR", str(home / "pip-cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(home / "uv-cache"))
    monkeypatch.setenv("ENVPROBE_CACHE", str(home / "cache"))
    monkeypatch.setenv("ENVPROBE_STORE", str(home / "store.sqlite3"))
    monkeypatch.setenv("ENVPROBE_ENV_ROOT", str(home / "envs"))


@pytest.fixture(scope="session")
def chain_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A find-links folder holding the fake chain's wheels."""
    return build_chain(tmp_path_factory.mktemp("chain-dists"))


@pytest.fixture(scope="session")
def chain_index(chain_dists: Path, tmp_path_factory: pytest.TempPathFactory):
    """The fake chain served as a real simple index on 127.0.0.1; yields its URL."""
    root = tmp_path_factory.mktemp("chain-index")
    write_simple_index(chain_dists, root)
    with serve_index(root) as url:
        yield url
