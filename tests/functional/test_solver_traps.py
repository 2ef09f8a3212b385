"""The other traps of the real case, each in miniature, solved from evidence.

- a module that vanished from a later release of a distribution the importer
  does not declare (`fabric` imports `legacy_res`, which only `oldtools` < 2
  shipped);
- a package that checks its own dependency ranges at import time and raises;
- a `from m import a, b` where both names vanished at different releases:
  Python names only the first, the static scan learns both at once;
- a source-only dependency whose build imports a module its build
  requirements do not declare (`needscy` imports `fakecython`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from map_packages import build_wheelless_toks
from packaging.version import Version
from wheelfactory import build_sdist, build_wheel, serve_dists, serve_index, write_simple_index

from envprobe.model.scenario import load_scenario
from envprobe.solving.workflow import solve_scenario

CHECK = '''\
from importlib.metadata import version
found = version("helperlib")
if not found.startswith("1."):
    raise ImportError(
        f"helperlib>=1.0,<2 is required for a normal functioning of this module, "
        f"but found helperlib=={found}."
    )
'''


# An in-tree PEP 517 backend: like a setup.py that imports Cython, it needs
# `fakecython` at build time and does not declare it.
BACKEND = '''\
import base64, hashlib, os, zipfile
import fakecython


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "needscy-1.0-py3-none-any.whl"
    files = {
        "needscy/__init__.py": b"BUILT_WITH = 'fakecython'\\n",
        "needscy-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: needscy\\nVersion: 1.0\\n",
        "needscy-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append("needscy-1.0.dist-info/RECORD,,")
    files["needscy-1.0.dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
'''

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]
"""


@pytest.fixture(scope="module")
def traps_index(tmp_path_factory: pytest.TempPathFactory):
    dists = tmp_path_factory.mktemp("trap-dists")
    build_wheel(dists, "oldtools", "1.0",
                {"oldtools/__init__.py": "", "legacy_res/__init__.py": "OK = True\n"})
    build_wheel(dists, "oldtools", "2.0", {"oldtools/__init__.py": ""})
    # Like lightning_fabric's `__import__("pkg_resources")`: invisible to a static scan.
    build_wheel(dists, "fabric", "1.0", {"fabric/__init__.py": '__import__("legacy_res")\n'})
    build_wheel(dists, "app", "1.0", {"app/__init__.py": "import fabric\n"},
                requires=["fabric", "oldtools"])
    for version in ("1.0", "2.0"):
        build_wheel(dists, "helperlib", version, {"helperlib/__init__.py": ""})
    build_wheel(dists, "checker", "1.0", {"checker/__init__.py": CHECK}, requires=["helperlib"])
    # `deepcheck` is reached only through `middle`, which no one tracks (as pyarrow is
    # reached through datasets); its 2.0 checks for helperlib 2 at import, and `deepapp`
    # declares helperlib<2.
    build_wheel(dists, "deepcheck", "1.0", {"deepcheck/__init__.py": CHECK})
    build_wheel(dists, "deepcheck", "2.0",
                {"deepcheck/__init__.py": CHECK.replace('"1."', '"2."').replace(">=1.0,<2", ">=2.0,<3")})
    build_wheel(dists, "middle", "1.0", {"middle/__init__.py": "import deepcheck\n"},
                requires=["deepcheck"])
    build_wheel(dists, "deepapp", "1.0", {"deepapp/__init__.py": "import middle\n"},
                requires=["middle", "helperlib<2"])
    hub = {"1.0": "class Alpha: pass\nclass Beta: pass\n",
           "2.0": "class Beta: pass\n",
           "3.0": "class Gamma: pass\n"}
    for version, text in hub.items():
        build_wheel(dists, "minihub", version, {"minihub/__init__.py": text})
    build_wheel(dists, "user", "1.0", {"user/__init__.py": "from minihub import Beta, Alpha\n"},
                requires=["minihub"])
    build_wheel(dists, "fakecython", "3.0", {"fakecython/__init__.py": ""})
    build_sdist(dists, "needscy", "1.0", {"pyproject.toml": PYPROJECT, "backend.py": BACKEND})
    # tkapp 2.0 needs toks 1.0, whose sdist does not build here (see `build_wheelless_toks`)
    build_wheelless_toks(dists)
    build_wheel(dists, "tkapp", "1.0", {"tkapp/__init__.py": "import toks\n"},
                requires=["toks>=2"])
    build_wheel(dists, "tkapp", "2.0", {"tkapp/__init__.py": "import toks\n"},
                requires=["toks==1.0"])
    with serve_dists(dists, tmp_path_factory.mktemp("trap-index")) as url:
        yield url


def scenario(tmp_path: Path, packages: str, probe: str, install: str = "") -> Path:
    path = tmp_path / "trap.toml"
    path.write_text(f'[scenario]\nname = "trap"\nprobe = ["{probe}"]\n'
                    f"[packages]\n{packages}\n[budget]\nmax_installs = 4\n{install}")
    return path


@pytest.mark.slow
def test_vanished_module_of_an_undeclared_distribution(tmp_path, traps_index):
    result = solve_scenario(load_scenario(scenario(tmp_path, 'app = "*"', "import app")),
                            index_url=traps_index)

    assert result.status == "solved", result.reason
    assert result.installed["oldtools"] == "1.0"
    first = result.attempts[0].outcome.failure
    assert (first.kind.value, first.name) == ("missing_module", "legacy_res")
    [rule] = result.rules
    assert (rule.package, rule.requires, rule.kind) == ("fabric", "oldtools<2.0", "missing_module")
    [boundary] = result.boundaries
    assert (boundary.package, boundary.last_with, boundary.first_without) == (
        "oldtools", "1.0", "2.0")


@pytest.mark.slow
def test_import_time_dependency_check_becomes_a_rule(tmp_path, traps_index):
    result = solve_scenario(load_scenario(scenario(tmp_path, 'checker = "*"', "import checker")),
                            index_url=traps_index)

    assert result.status == "solved", result.reason
    assert result.installed["helperlib"] == "1.0"
    [rule] = result.rules
    assert rule.kind == "dependency_check"
    assert (rule.package, rule.versions) == ("checker", "==1.0")
    assert rule.requirement.specifier.contains("1.0")
    assert not rule.requirement.specifier.contains("2.0")


@pytest.mark.slow
def test_a_dependency_check_deep_in_the_tree_pins_the_checker(tmp_path, traps_index):
    result = solve_scenario(load_scenario(scenario(tmp_path, 'deepapp = "*"', "import deepapp")),
                            index_url=traps_index)

    assert result.status == "solved", result.reason
    [rule] = result.rules
    assert (rule.kind, rule.package, rule.versions) == ("dependency_check", "deepcheck", ">=2.0")
    assert result.pins["deepcheck"] == "1.0", "the checker joined the set its rule applies to"
    assert result.installed["helperlib"] == "1.0"


@pytest.mark.slow
def test_both_vanished_names_of_one_import_are_learned_from_one_failure(tmp_path, traps_index):
    result = solve_scenario(load_scenario(scenario(tmp_path, 'user = "*"\nminihub = "*"',
                                                   "import user")),
                            index_url=traps_index)

    assert result.status == "solved", result.reason
    assert result.installed["minihub"] == "1.0"
    symbols = {b.symbol: (b.last_with, b.first_without) for b in result.boundaries}
    assert symbols == {"Beta": ("2.0", "3.0"), "Alpha": ("1.0", "2.0")}
    proposals = [a for a in result.attempts if a.purpose == "proposal"]
    assert len(proposals) == 2, "one failure taught both boundaries"


def solve_with_sdists(tmp_path: Path, index: str, installer: str, package: str):
    """(the solve of `import package` with sdists allowed, its first failure, its one rule)."""
    install = f'[install]\ninstaller = "{installer}"\nallow_sdist = true\n'
    path = scenario(tmp_path, f'{package} = "*"', f"import {package}", install)
    result = solve_scenario(load_scenario(path), index_url=index)
    assert result.status == "solved", result.reason
    [rule] = result.rules
    return result, result.attempts[0].outcome.failure, rule


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_undeclared_build_requirement_is_pre_installed_and_built_without_isolation(
        tmp_path, traps_index, installer):
    result, first, rule = solve_with_sdists(tmp_path, traps_index, installer, "needscy")
    assert (first.kind.value, first.name, first.package) == ("build_failed", "fakecython",
                                                             "needscy")
    assert (rule.kind, rule.package, rule.requires) == ("build", "needscy", "fakecython")
    assert result.installer == installer
    assert result.installed["needscy"] == "1.0"


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_build_that_fails_without_a_cause_keeps_the_project_to_its_wheels(
        tmp_path, traps_index, installer):
    result, first, rule = solve_with_sdists(tmp_path, traps_index, installer, "tkapp")
    assert (first.kind.value, first.package, first.version, first.name) == (
        "build_failed", "toks", "1.0", None)
    assert (rule.kind, rule.package, rule.requires) == ("no_wheel", None, "toks>=2.0")
    assert rule.evidence == (result.attempts[0].outcome.probe_id,)
    assert "inferred from that failed build" in rule.because
    assert (result.installed["tkapp"], result.installed["toks"]) == ("1.0", "2.0")


@pytest.fixture(scope="module")
def era_index(tmp_path_factory: pytest.TempPathFactory):
    """`oldtools` hides behind 13 look-alike distributions the importer's app needs.

    Ranked by name, the look-alikes come first and fill any fixed shortlist;
    only the importer's era (upload times, PEP 700) points at `oldtools`.
    """
    dists = tmp_path_factory.mktemp("era-dists")
    times = {}

    def wheel(name: str, version: str, files: dict, when: str, **kw) -> None:
        times[build_wheel(dists, name, version, files, **kw).name] = when

    wheel("oldtools", "1.0", {"oldtools/__init__.py": "", "legacy_res/__init__.py": ""},
          "2022-01-01T00:00:00Z")
    wheel("oldtools", "2.0", {"oldtools/__init__.py": ""}, "2024-01-01T00:00:00Z")
    wheel("fabric", "1.0", {"fabric/__init__.py": '__import__("legacy_res")\n'},
          "2023-01-01T00:00:00Z")
    lookalikes = [f"legacy-res-{n}" for n in range(13)]
    for name in lookalikes:
        for version, when in (("1.0", "2022-06-01T00:00:00Z"), ("2.0", "2024-06-01T00:00:00Z")):
            module = name.replace("-", "_")
            wheel(name, version, {f"{module}/__init__.py": ""}, when)
    wheel("app", "1.0", {"app/__init__.py": "import fabric\n"}, "2024-02-01T00:00:00Z",
          requires=["fabric", "oldtools", *lookalikes])
    root = tmp_path_factory.mktemp("era-index")
    write_simple_index(dists, root, upload_times=times)
    with serve_index(root) as url:
        yield url


@pytest.mark.slow
def test_vanished_module_owner_found_by_the_importers_era(tmp_path, era_index):
    result = solve_scenario(load_scenario(scenario(tmp_path, 'app = "*"', "import app")),
                            index_url=era_index)

    assert result.status == "solved", result.reason
    [rule] = result.rules
    assert (rule.package, rule.requires) == ("fabric", "oldtools<2.0")
    assert result.installed["oldtools"] == "1.0"


@pytest.fixture(scope="module")
def conflict_index(tmp_path_factory: pytest.TempPathFactory):
    """`app` 2.0 needs helper>=2 and `lib` 1.5 needs helper<2; helper is no target."""
    dists = tmp_path_factory.mktemp("conflict-dists")
    for version in ("1.0", "2.0"):
        build_wheel(dists, "helper", version, {"helper/__init__.py": ""})
    build_wheel(dists, "app", "1.0", {"app/__init__.py": ""})
    build_wheel(dists, "app", "2.0", {"app/__init__.py": "import helper\n"},
                requires=["helper>=2"])
    build_wheel(dists, "lib", "1.0", {"lib/__init__.py": ""})
    build_wheel(dists, "lib", "1.5", {"lib/__init__.py": "import helper\n"},
                requires=["helper<2"])
    with serve_dists(dists, tmp_path_factory.mktemp("conflict-index")) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_declared_conflict_of_a_non_target_becomes_rules_and_is_solved(
        tmp_path, conflict_index, installer):
    install = f'[install]\ninstaller = "{installer}"\n'
    path = scenario(tmp_path, 'app = "*"\nlib = "*"', "import app, lib", install)
    result = solve_scenario(load_scenario(path), index_url=conflict_index)

    assert result.status == "solved", result.reason
    first = result.attempts[0].outcome.failure
    assert first.kind.value == "declared_conflict"
    declared = {(r.package, r.requires): r for r in result.rules if r.kind == "declared"}
    # pip names the release ("lib 1.5 depends on"), uv the range ("lib>=1.5 depends on").
    assert declared["app", "helper>=2"].covers(Version("2.0"))
    assert declared["lib", "helper<2"].covers(Version("1.5"))
    assert (result.installed["app"], result.installed["lib"]) == ("2.0", "1.0")
    assert result.installed["helper"] == "2.0"
