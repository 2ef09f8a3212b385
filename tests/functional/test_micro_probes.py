"""Micro-probes: a release installed alone and asked, where its wheel cannot tell.

A namespace filled at import time (`globals()[...] = ...`) is invisible to the
static reader; the release's own code answers in a second, and the solver then
needs no bisection with full installs and no confirming install either.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from probe_packages import find_links_options
from wheelfactory import build_sdist, build_wheel, serve_index, write_simple_index

from envprobe.model.scenario import load_scenario
from envprobe.probing.backends import backend_for
from envprobe.probing.interpreter import describe
from envprobe.probing.micro import MicroProber
from envprobe.probing.store import Store
from envprobe.solving.workflow import solve_scenario

_CHECKS_FLOOR = """\
from importlib.metadata import version
found = version("numbers2")
if int(found.split(".")[0]) < 2:
    raise ImportError(f"columnar requires numbers2 2.0 or newer, found {found}")
"""
_FILLED_AT_IMPORT = "for _name in {names!r}:\n    globals()[_name] = {{'int': [int]}}\n"


def _numbers(dists: Path, version: str, names: tuple[str, ...]) -> None:
    build_wheel(dists, "numbers2", version,
                {"numbers2/__init__.py": _FILLED_AT_IMPORT.format(names=names)})


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("micro-dists")
    for version in ("1.0", "1.1", "1.2"):
        _numbers(folder, version, ("sctypes", "typecodes"))
    for version in ("2.0", "2.1"):
        _numbers(folder, version, ("typecodes",))
    build_wheel(folder, "user", "1.0", {
        "user/__init__.py": "import numbers2 as np\n\n\ndef run():\n"
                            "    return int in np.sctypes['int']\n",
    }, requires=["numbers2"])
    # `wrapper` needs its dependency to import at all: asked alone it cannot tell.
    build_wheel(folder, "helperlib", "1.0", {"helperlib/__init__.py": "READY = True\n"})
    build_wheel(folder, "wrapper", "1.0", {
        "wrapper/__init__.py": "import helperlib\nglobals()['thing'] = helperlib.READY\n",
    }, requires=["helperlib"])
    build_sdist(folder, "oldonly", "1.0", {"oldonly/__init__.py": "thing = 1\n"})
    # `columnar` checks its numbers2 at import from 2.0 on, as pyarrow 22 checks numpy.
    build_wheel(folder, "columnar", "1.0", {"columnar/__init__.py": "import numbers2\n"},
                requires=["numbers2"])
    for version in ("2.0", "2.1"):
        build_wheel(folder, "columnar", version, {"columnar/__init__.py": _CHECKS_FLOOR},
                    requires=["numbers2"])
    return folder


def solve_served(tmp_path: Path, dists: Path, scenario: str):
    """Solve `scenario` (the `[scenario]` table's body onwards) with `dists` as a real index."""
    root = tmp_path / "index"
    write_simple_index(dists, root)
    path = tmp_path / "job.toml"
    path.write_text(f"[scenario]\n{scenario}[budget]\nmax_installs = 4\n")
    with serve_index(root) as url:
        return solve_scenario(load_scenario(path), index_url=url)


@pytest.fixture
def prober(dists: Path):
    options = find_links_options(dists, installer="pip")
    micro = MicroProber(describe(sys.executable), backend_for("pip"), options)
    yield micro
    micro.close()


@pytest.mark.slow
def test_a_release_alone_answers_what_its_wheel_cannot(prober: MicroProber):
    assert prober.provides("numbers2", "1.2", "numbers2", "sctypes") is True
    assert prober.provides("numbers2", "2.0", "numbers2", "sctypes") is False
    assert prober.provides("numbers2", "2.0", "numbers2", "typecodes") is True
    assert prober.ask("numbers2", "2.0", "numbers2.missing", "").answer is False
    assert prober.asked[:2] == ["numbers2 1.2: numbers2.sctypes exists",
                                "numbers2 2.0: numbers2 has no sctypes"]


@pytest.mark.slow
def test_a_release_that_needs_its_dependencies_is_asked_again_with_them(prober: MicroProber):
    answer = prober.ask("wrapper", "1.0", "wrapper", "thing")
    assert answer.answer is True
    assert "helperlib" not in answer.why  # the second install, with dependencies, answered


@pytest.mark.slow
def test_a_release_with_no_wheel_is_unknown_not_absent(prober: MicroProber):
    answer = prober.ask("oldonly", "1.0", "oldonly", "thing")
    assert answer.answer is None
    assert answer.why == "no wheel of oldonly 1.0 installs here"


@pytest.mark.slow
def test_answers_kept_in_the_store_are_not_asked_again_by_the_next_run(dists: Path,
                                                                       tmp_path: Path):
    """A second map (or solve) of the same releases asks no micro-probe: the store answers.
    Other sources, or another interpreter, might install other files: they ask again."""
    questions = [("numbers2", "1.2", "numbers2", "sctypes"),
                 ("numbers2", "2.0", "numbers2", "sctypes"),
                 ("wrapper", "1.0", "wrapper", "thing")]

    here = describe(sys.executable)

    def run(options, interpreter=here) -> tuple[list, MicroProber]:
        with Store(tmp_path / "store.sqlite3") as store:
            micro = MicroProber(interpreter, backend_for("pip"), options, store)
            try:
                return [micro.ask(*q) for q in questions], micro
            finally:
                micro.close()

    options = find_links_options(dists, installer="pip")
    first, asked = run(options)
    assert [a.answer for a in first] == [True, False, True]
    assert asked.ran == 4, "wrapper alone cannot tell; it is asked again with helperlib"

    second, again = run(options)
    assert second == first and again.ran == 0
    assert again.asked[1] == "numbers2 2.0: numbers2 has no sctypes (kept in the store)"

    elsewhere = find_links_options(dists, tmp_path, installer="pip")
    _, other = run(elsewhere)
    assert other.ran == 4, "answers from other sources are not reused"
    # Another interpreter (here: this one under another version's name) asks again too.
    _, renamed = run(options, dataclasses.replace(here, version="3.99.0"))
    assert renamed.ran == 4, "answers from another interpreter are not reused"


@pytest.mark.slow
def test_the_solver_finds_a_dynamic_boundary_without_a_full_install(tmp_path: Path, dists: Path):
    result = solve_served(tmp_path, dists,
                          'name = "micro"\nprobe = ["import user", "assert user.run()"]\n'
                          '[packages]\nuser = "*"\n')

    assert result.status == "solved", result.reason
    assert result.attempts[0].outcome.failure.kind == "missing_attribute"
    [boundary] = result.boundaries
    assert (boundary.last_with, boundary.first_without) == ("1.2", "2.0")
    assert boundary.method == "micro-probe"
    assert result.pins["numbers2"] == "1.2"
    assert result.installs == 2  # the failing probe and the passing one: nothing else
    assert any(line.startswith("numbers2 2.0: numbers2 has no sctypes")
               for line in result.micro_probes)


@pytest.mark.slow
def test_which_releases_check_a_dependency_is_asked_of_each_release(tmp_path: Path, dists: Path):
    """One failure teaches the whole range of checking releases, not the failing one alone."""
    result = solve_served(tmp_path, dists,
                          'name = "checks"\nprobe = ["import columnar"]\n'
                          '[packages]\ncolumnar = "*"\n[pins]\nnumbers2 = "1.2"\n')

    assert result.status == "solved", result.reason
    [rule] = result.rules
    assert (rule.kind, rule.package, rule.versions, rule.requires) == (
        "dependency_check", "columnar", ">=2.0", "numbers2>=2.0")
    assert "up to 1.0 accept it; from 2.0 on they refuse it" in rule.because
    assert result.pins["columnar"] == "1.0"
    assert result.installs == 2
