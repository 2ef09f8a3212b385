"""Traps of a real job that a bare import never shows, each in miniature, solved from evidence.

- a module imported on one code path only, declared nowhere (provided by a
  project of the same name), or declared only in one of the importer's
  extras (provided by a project of another name);
- an attribute removed from a module and used after the import;
- a keyword removed from a function.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from trap_chain import build_keyword_removal
from wheelfactory import build_wheel, serve_dists

from envprobe.model.scenario import load_scenario
from envprobe.solving.workflow import solve_scenario

_REFUSES_SCTYPES = """\
def __getattr__(attr):
    if attr == "sctypes":
        raise AttributeError("`np.sctypes` was removed in the 2.0 release.")
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
"""


@pytest.fixture(scope="module")
def job_index(tmp_path_factory: pytest.TempPathFactory):
    dists = tmp_path_factory.mktemp("job-dists")
    # `exporter` imports `rearranger` only inside export(): an import never meets it.
    build_wheel(dists, "exporter", "1.0", {
        "exporter/__init__.py": "def export():\n    import rearranger\n    return rearranger.OK\n",
    })
    build_wheel(dists, "rearranger", "0.8", {"rearranger/__init__.py": "OK = True\n"})
    # `speech` imports `fancymod` on its export path; `fancy-tools` ships it and
    # `speech` names it only in its `tts` extra.
    build_wheel(dists, "speech", "1.0", {
        "speech/__init__.py": "def export():\n    from fancymod import make\n    return make()\n",
    }, extras={"tts": ["fancy-tools>=1"]})
    for version in ("0.5", "1.0", "1.2"):
        build_wheel(dists, "fancy-tools", version,
                    {"fancymod/__init__.py": "def make():\n    return 'made'\n"})
    # `numbers` 2.0 refuses `sctypes` from its module __getattr__, in words of its own.
    build_wheel(dists, "numbers", "1.0", {"numbers_/__init__.py": "sctypes = {'int': [int]}\n"})
    build_wheel(dists, "numbers", "2.0", {"numbers_/__init__.py": _REFUSES_SCTYPES})
    build_wheel(dists, "segment", "1.0", {
        "segment/__init__.py": "import numbers_ as np\n\n\ndef convert():\n"
                               "    return int in np.sctypes['int']\n",
    }, requires=["numbers"])
    # `audiolib` 2.0 dropped load()'s `mmap` keyword; `caller` passes it after import.
    build_keyword_removal(dists)
    with serve_dists(dists, tmp_path_factory.mktemp("job-index")) as url:
        yield url


def scenario(tmp_path: Path, packages: str, probe: list[str]) -> Path:
    path = tmp_path / "job.toml"
    statements = ", ".join(repr(s) for s in probe)
    path.write_text(f'[scenario]\nname = "job"\nprobe = [{statements}]\n'
                    f"[packages]\n{packages}\n[budget]\nmax_installs = 4\n")
    return path


@pytest.mark.slow
def test_a_module_declared_nowhere_comes_from_the_project_of_its_name(tmp_path, job_index):
    path = scenario(tmp_path, 'exporter = "*"', ["import exporter", "assert exporter.export()"])
    result = solve_scenario(load_scenario(path), index_url=job_index)

    assert result.status == "solved", result.reason
    first = result.attempts[0].outcome.failure
    assert (first.kind.value, first.name, first.importer_package) == (
        "missing_module", "rearranger", "exporter")
    [rule] = result.rules
    assert (rule.kind, rule.package, rule.requires) == ("undeclared", "exporter", "rearranger")
    assert "exporter 1.0 imports rearranger on this code path" in rule.because
    assert "does not declare it; rearranger comes from rearranger" in rule.because
    assert result.installed["rearranger"] == "0.8"


@pytest.mark.slow
def test_a_module_named_only_in_an_extra_comes_from_that_extras_project(tmp_path, job_index):
    path = scenario(tmp_path, 'speech = "*"', ["import speech", "assert speech.export()"])
    result = solve_scenario(load_scenario(path), index_url=job_index)

    assert result.status == "solved", result.reason
    [rule] = result.rules
    assert (rule.kind, rule.package, rule.requires) == ("undeclared", "speech", "fancy-tools>=1")
    assert "comes from fancy-tools (speech declares fancy-tools only in its extra 'tts')" \
        in rule.because
    assert result.installed["fancy-tools"] == "1.2"


@pytest.mark.slow
def test_an_attribute_removed_and_used_after_import_gets_its_boundary(tmp_path, job_index):
    path = scenario(tmp_path, 'segment = "*"\nnumbers = "*"',
                    ["import segment", "assert segment.convert()"])
    result = solve_scenario(load_scenario(path), index_url=job_index)

    assert result.status == "solved", result.reason
    first = result.attempts[0].outcome.failure
    assert (first.kind.value, first.name, first.module, first.package, first.version) == (
        "missing_attribute", "sctypes", "numbers_", "numbers", "2.0")
    assert first.importer_package == "segment"
    [rule] = result.rules
    assert (rule.package, rule.requires) == ("segment", "numbers<2.0")
    assert "segment 1.0 uses numbers_.sctypes" in rule.because
    assert result.installed["numbers"] == "1.0"


@pytest.mark.slow
def test_a_keyword_removed_from_a_function_gets_its_boundary(tmp_path, job_index):
    path = scenario(tmp_path, 'caller = "*"\naudiolib = "*"',
                    ["import caller", "assert caller.run()"])
    result = solve_scenario(load_scenario(path), index_url=job_index)

    assert result.status == "solved", result.reason
    first = result.attempts[0].outcome.failure
    assert (first.kind.value, first.name, first.function, first.module, first.package) == (
        "removed_keyword", "mmap", "load", "audiolib", "audiolib")
    [rule] = result.rules
    assert (rule.kind, rule.package, rule.requires) == ("removed_keyword", "caller",
                                                        "audiolib<2.0")
    [boundary] = result.boundaries
    assert (boundary.last_with, boundary.first_without, boundary.method) == (
        "1.0", "2.0", "static+probe")
    assert result.installed["audiolib"] == "1.0"
