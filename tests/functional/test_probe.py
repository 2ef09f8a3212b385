"""Every failure kind, produced by real installs into real environments.

Each test builds nothing of its own: the packages come from `probe_packages`
and the fake chain in conftest, installed with real pip (and uv when it is
installed) into real throwaway environments.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from probe_packages import SLEEPER_PIDS, build_probe_packages, find_links_options, process_running

from envprobe.model.outcome import FailureKind, Status
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.paths import env_root
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.probe import import_code, run_probe
from envprobe.probing.store import Store

needs_uv = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")
INSTALLERS = ["pip", pytest.param("uv", marks=needs_uv)]


@pytest.fixture(scope="session")
def probe_dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_probe_packages(tmp_path_factory.mktemp("probe-dists"))


def probe(requirements: list[str], modules: list[str], options: InstallOptions,
          **kwargs: object):
    return run_probe(ProbeRequest(tuple(requirements), import_code(modules), options=options,
                                  **kwargs))


def assert_no_environment_left() -> None:
    leftovers = list(env_root().glob("run-*")) if env_root().exists() else []
    assert leftovers == []


def requirement_names(requirements: tuple[str, ...]) -> set[str]:
    return {Requirement(r).name for r in requirements}


@pytest.mark.parametrize("installer", INSTALLERS)
@pytest.mark.parametrize("source", ["find-links", "index"])
def test_removed_symbol_is_reported_with_its_provider_and_importer(
    installer, source, chain_dists, chain_index
):
    if source == "index":
        options = InstallOptions(index_url=chain_index, installer=installer)
    else:
        options = find_links_options(chain_dists, installer=installer)
    outcome = probe(["toolkit==1.0", "fakehub==2.0"], ["toolkit"], options)

    assert outcome.status is Status.FAILED
    failure = outcome.failure
    assert failure.kind is FailureKind.MISSING_SYMBOL
    assert (failure.name, failure.module, failure.package, failure.version) == (
        "ModelFilter", "fakehub", "fakehub", "2.0")
    assert failure.importer == "toolkit/core.py:1"
    assert (failure.importer_package, failure.importer_version) == ("toolkit", "1.0")
    assert [f.file for f in failure.frames] == ["<probe>", "toolkit/__init__.py", "toolkit/core.py"]
    assert outcome.installed == {"fakehub": "2.0", "toolkit": "1.0"}
    assert outcome.pins == {"toolkit": "1.0", "fakehub": "2.0"}
    assert outcome.installer == installer
    assert set(outcome.seconds) == {"create", "install", "run"}
    assert_no_environment_left()


def test_unpinned_rest_is_resolved_by_the_installer_and_recorded(chain_dists):
    outcome = probe(["toolkit==1.0", "fakehub<2.0"], ["toolkit"],
                    find_links_options(chain_dists, installer="pip"))
    assert outcome.status is Status.OK and outcome.failure is None
    assert outcome.installed == {"fakehub": "1.1", "toolkit": "1.0"}
    assert outcome.pins == {"toolkit": "1.0"}
    assert_no_environment_left()


def test_attribute_access_on_a_module_is_a_missing_attribute(probe_dists):
    outcome = probe(["attruser==1.0"], ["attruser"], find_links_options(probe_dists, installer="pip"))
    failure = outcome.failure
    assert failure.kind is FailureKind.MISSING_ATTRIBUTE
    assert (failure.name, failure.module, failure.package, failure.version) == (
        "Thing", "attrhub", "attrhub", "1.0")
    assert failure.importer == "attruser/__init__.py:3"
    assert failure.importer_package == "attruser"


def test_missing_module_names_the_module_and_who_imported_it(probe_dists):
    outcome = probe(["needsmod==1.0"], ["needsmod"], find_links_options(probe_dists, installer="pip"))
    failure = outcome.failure
    assert failure.kind is FailureKind.MISSING_MODULE
    assert (failure.name, failure.module, failure.package) == (
        "vanished_module", "vanished_module", None)
    assert failure.importer == "needsmod/__init__.py:1"
    assert failure.importer_package == "needsmod"


def test_import_time_version_check_becomes_a_dependency_check(probe_dists):
    outcome = probe(["depcheck==1.0"], ["depcheck"], find_links_options(probe_dists, installer="pip"))
    failure = outcome.failure
    assert failure.kind is FailureKind.DEPENDENCY_CHECK
    assert len(failure.requirements) == 1
    required = Requirement(failure.requirements[0])
    assert required.name == "faketok"
    assert required.specifier == SpecifierSet(">=0.11.1,!=0.11.3,<0.14")
    assert (failure.package, failure.version) == ("faketok", "0.15.0")
    assert failure.importer_package == "depcheck"


def test_any_other_exception_is_a_probe_error(probe_dists):
    outcome = probe(["badinit==1.0"], ["badinit"], find_links_options(probe_dists, installer="pip"))
    assert outcome.failure.kind is FailureKind.PROBE_ERROR
    assert outcome.failure.message == "RuntimeError: no accelerator found"
    assert outcome.failure.importer == "badinit/__init__.py:1"


@pytest.mark.parametrize(("package", "evidence"), [("segv", "SIGSEGV"), ("exits", "code 3")])
def test_a_child_that_dies_without_an_outcome_is_crashed(probe_dists, package, evidence):
    outcome = probe([f"{package}==1.0"], [package], find_links_options(probe_dists, installer="uv"
                    if find_uv() else "pip"))
    assert outcome.failure.kind is FailureKind.CRASHED
    assert evidence in outcome.failure.message
    if package == "segv":
        assert "Segmentation fault" in outcome.failure.log_excerpt  # faulthandler's trace
    assert_no_environment_left()


def test_timeout_kills_the_whole_process_group(probe_dists, tmp_path, monkeypatch):
    pid_file = tmp_path / "pids"
    monkeypatch.setenv(SLEEPER_PIDS, str(pid_file))
    started = time.monotonic()
    outcome = probe(["sleeper==1.0"], ["sleeper"],
                    find_links_options(probe_dists, installer="uv" if find_uv() else "pip",
                                       pass_env=(SLEEPER_PIDS,)),
                    timeout=3.0)
    assert outcome.failure.kind is FailureKind.TIMEOUT
    assert time.monotonic() - started < 60
    for pid in map(int, pid_file.read_text().split()):
        assert not process_running(pid), f"process {pid} of the probe survived"
    assert_no_environment_left()


@pytest.mark.parametrize("installer", INSTALLERS)
def test_contradicting_requirements_are_a_declared_conflict(probe_dists, installer):
    outcome = probe(["ca==1.0", "cb==1.0"], ["ca"], find_links_options(probe_dists,
                    installer=installer))
    failure = outcome.failure
    assert failure.kind is FailureKind.DECLARED_CONFLICT
    assert {"heavy<1", "heavy>=1"} <= set(failure.requirements)
    assert failure.name == "heavy"
    assert failure.log_excerpt
    assert outcome.installed == {}
    assert "run" not in outcome.seconds
    assert_no_environment_left()


@pytest.mark.parametrize("installer", INSTALLERS)
@pytest.mark.parametrize("requirement", ["fakehub==9.0", "cp27only==1.0"])
def test_no_file_for_this_version_or_python_is_no_distribution(
    probe_dists, chain_dists, installer, requirement
):
    outcome = probe([requirement], ["fakehub"],
                    find_links_options(chain_dists, probe_dists, installer=installer))
    failure = outcome.failure
    assert failure.kind is FailureKind.NO_DISTRIBUTION
    assert failure.name == Requirement(requirement).name


def test_a_wheel_for_another_python_version_is_no_distribution_with_pip(probe_dists):
    outcome = probe(["oldpy==1.0"], ["oldpy"], find_links_options(probe_dists, installer="pip"))
    assert outcome.failure.kind is FailureKind.NO_DISTRIBUTION
    assert outcome.failure.name == "oldpy"
    assert "<3.0" in outcome.failure.message


@pytest.mark.parametrize("installer", INSTALLERS)
def test_sdist_whose_build_needs_an_absent_module_is_build_failed(probe_dists, installer):
    outcome = probe(["brokenbuild==1.0"], ["brokenbuild"],
                    find_links_options(probe_dists, installer=installer, allow_sdist=True))
    failure = outcome.failure
    assert failure.kind is FailureKind.BUILD_FAILED
    assert failure.name == "numpyy_build_helper"
    assert failure.package == "brokenbuild"
    assert "numpyy_build_helper" in failure.log_excerpt


def test_sdists_are_refused_unless_allowed(probe_dists):
    outcome = probe(["brokenbuild==1.0"], ["brokenbuild"],
                    find_links_options(probe_dists, installer="pip"))
    assert outcome.failure.kind is FailureKind.NO_DISTRIBUTION


def test_a_stored_probe_is_answered_without_an_environment(chain_dists, tmp_path, monkeypatch):
    request = ProbeRequest(("toolkit==1.0", "fakehub==2.0"), "import toolkit\n",
                           options=find_links_options(chain_dists, installer="pip"))
    with Store(tmp_path / "store.sqlite3") as store:
        first = run_probe(request, store=store)
        monkeypatch.setenv("ENVPROBE_ENV_ROOT", str(tmp_path / "untouched"))
        again = run_probe(request, store=store)
        assert not (tmp_path / "untouched").exists()
        assert again.cached and not first.cached
        assert again.probe_id == first.probe_id
        assert again.failure == first.failure
        assert again.installed == first.installed

        refreshed = run_probe(request, store=store, refresh=True)
        assert not refreshed.cached and refreshed.probe_id != first.probe_id
        assert store.lookup(request, first.python, first.platform).probe_id == refreshed.probe_id

