"""The environment `envprobe probe` begins before it asks the store: taken over, or discarded.

On a store miss the probe installs into the environment begun early (one
environment, one run folder); on a store hit, or for a request that needs
another installer, the early environment is discarded: its command ended by
the watchdog, its run folder removed, nothing left running. A refreshed
probe's install, begun there too, is the probe's own install; begun for
another set, it is left to the head start and discarded with it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from faults import alive, build_quiet, marked_processes

from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.paths import env_root
from envprobe.probing.backends.uv import find_uv
from envprobe.probing.head_start import head_start
from envprobe.probing.interpreter import describe
from envprobe.probing.probe import run_probe
from envprobe.probing.store import Store

pytestmark = pytest.mark.skipif(find_uv() is None, reason="uv is not installed")


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("head-start-dists")
    build_quiet(out)
    return out


def request_for(dists: Path, installer: str = "uv") -> ProbeRequest:
    options = InstallOptions(no_index=True, find_links=(str(dists),), installer=installer)
    return ProbeRequest(("quiet==1.0",), "import quiet\n", options=options)


def runs_left() -> list[Path]:
    return list(env_root().glob("run-*"))


def test_a_store_miss_installs_into_the_environment_begun_before_the_store_was_asked(
        dists, tmp_path):
    with Store(tmp_path / "store.sqlite3") as store, \
            head_start("uv", describe(sys.executable).executable) as head:
        assert head is not None
        outcome = run_probe(request_for(dists), store=store, head=head)
        assert outcome, outcome.failure
        assert head.taken
        assert f"{head.run_dir / 'env'}" in outcome.command  # the begun one, not a second one
        assert runs_left() == [head.run_dir]
    assert runs_left() == []


def test_a_store_hit_discards_the_begun_environment_and_leaves_nothing(dists, tmp_path):
    with Store(tmp_path / "store.sqlite3") as store:
        assert run_probe(request_for(dists), store=store)
        with head_start("uv", describe(sys.executable).executable) as head:
            assert head is not None
            answer = run_probe(request_for(dists), store=store, head=head)
            assert answer.cached and not head.taken
            watchdog, run_dir = head.supervisor.pid, head.run_dir
        assert watchdog is not None and not alive(watchdog)
        assert marked_processes(str(run_dir)) == []  # `uv venv` too, had it still run
    assert runs_left() == []


def test_a_head_start_for_another_installer_is_left_alone_and_removed(dists, tmp_path):
    with Store(tmp_path / "store.sqlite3") as store, \
            head_start("uv", describe(sys.executable).executable) as head:
        outcome = run_probe(request_for(dists, installer="pip"), store=store, head=head)
        assert outcome, outcome.failure
        assert head is not None and not head.taken
        assert outcome.installer == "pip" and str(head.run_dir) not in outcome.command
    assert runs_left() == []


def test_an_installer_that_is_not_there_gives_no_head_start_and_the_probe_says_why(dists):
    with head_start("no-such-installer", describe(sys.executable).executable) as head:
        assert head is None
    assert runs_left() == []


def test_an_install_begun_early_is_the_probes_own_install(dists, tmp_path):
    request = request_for(dists)
    with Store(tmp_path / "store.sqlite3") as store, \
            head_start("uv", describe(sys.executable).executable) as head:
        assert head is not None
        head.begin_install(request.requirements, request.options)
        assert head.installing is not None
        begun = head.installing[-1]
        outcome = run_probe(request, store=store, refresh=True, head=head)
        assert outcome, outcome.failure
        assert head.taken and f"{head.run_dir / 'env'}" in outcome.command
        assert outcome.seconds["install"] == begun.wait().seconds  # that one, not a second one
    assert runs_left() == []


def test_an_install_begun_for_another_set_is_not_taken(dists, tmp_path):
    with Store(tmp_path / "store.sqlite3") as store, \
            head_start("uv", describe(sys.executable).executable) as head:
        assert head is not None
        begun = request_for(dists)
        head.begin_install(("quiet",), begun.options)
        outcome = run_probe(begun, store=store, refresh=True, head=head)
        assert outcome, outcome.failure
        assert not head.taken and str(head.run_dir) not in outcome.command
        watchdog = head.supervisor.pid
    assert watchdog is not None and not alive(watchdog)
    assert runs_left() == []
