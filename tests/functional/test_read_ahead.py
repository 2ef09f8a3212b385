"""One failed probe, three traps: the imports it hid are read from its files.

`app` imports a name from each of three dependencies whose latest releases
removed it (one through a private submodule of the provider); Python stops at
the first. The child reads the rest of the module-level imports ahead without
running them, the solver checks each suspect against the provider's release
statically, and the second probe passes. A guarded import (`try`/`except
ImportError`) and a name the provider still has are not suspects.
"""

from __future__ import annotations

import pytest
from wheelfactory import build_wheel, serve_dists

from envprobe.model.scenario import load_scenario
from envprobe.probing.child_report import InvalidReport, read_child_report
from envprobe.solving.workflow import solve_scenario

APP = """\
import zeta
from alpha import kept, old_a
import app.core
import app.extra
"""
CORE = "from beta import old_b\n"
EXTRA = """\
try:
    from delta import gone
except ImportError:
    gone = None
from gamma import old_c
from epsilon import deep
from zeta import later
from eta import later
"""
# A module that puts a lazy object in its own place (as transformers does): its names are
# served by the object's class, so neither its namespace nor its text can rule one out.
LAZY = """\
import sys, types
class _Lazy(types.ModuleType):
    def __getattr__(self, name):
        if name == "later":
            return 1
        raise AttributeError(name)
sys.modules[__name__] = _Lazy(__name__)
"""


@pytest.fixture(scope="module")
def chain_index(tmp_path_factory: pytest.TempPathFactory):
    dists = tmp_path_factory.mktemp("ahead-dists")
    build_wheel(dists, "alpha", "1.0", {"alpha/__init__.py": "kept = 1\nold_a = 1\n"})
    build_wheel(dists, "alpha", "2.0", {"alpha/__init__.py": "kept = 1\n"})
    build_wheel(dists, "beta", "1.0", {"beta/__init__.py": "from beta._impl import *\n",
                                       "beta/_impl.py": "old_b = 1\n__all__ = ['old_b']\n"})
    build_wheel(dists, "beta", "2.0", {"beta/__init__.py": "from beta._impl import *\n",
                                       "beta/_impl.py": "new_b = 1\n__all__ = ['new_b']\n"})
    build_wheel(dists, "gamma", "1.0", {"gamma/__init__.py": "old_c = 1\n"})
    build_wheel(dists, "gamma", "2.0", {"gamma/__init__.py": "new_c = 1\n"})
    build_wheel(dists, "delta", "1.0", {"delta/__init__.py": "gone = 1\n"})
    build_wheel(dists, "delta", "2.0", {"delta/__init__.py": ""})
    # `deep` reaches epsilon's namespace through two star imports: its text never names it.
    build_wheel(dists, "epsilon", "1.0", {"epsilon/__init__.py": "from epsilon._impl import *\n",
                                          "epsilon/_impl.py": "from ._more import *\n",
                                          "epsilon/_more.py": "deep = 1\n"})
    build_wheel(dists, "zeta", "1.0", {"zeta/__init__.py": LAZY})  # run before the failure
    build_wheel(dists, "eta", "1.0", {"eta/__init__.py": LAZY})  # not run: read as text
    build_wheel(dists, "app", "1.0", {"app/__init__.py": APP, "app/core.py": CORE,
                                      "app/extra.py": EXTRA},
                requires=["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"])
    with serve_dists(dists, tmp_path_factory.mktemp("ahead-index")) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_one_failed_install_teaches_all_three_removed_names(tmp_path, chain_index, installer):
    path = tmp_path / "ahead.toml"
    path.write_text('[scenario]\nname = "ahead"\nprobe = ["import app"]\n'
                    '[packages]\napp = "*"\n[budget]\nmax_installs = 6\n'
                    f'[install]\ninstaller = "{installer}"\n')
    events: list[tuple[str, str]] = []
    result = solve_scenario(load_scenario(path), index_url=chain_index,
                            events=lambda kind, text: events.append((kind, text)))

    assert result.status == "solved", result.reason
    assert result.installs == 2, [a.outcome.failure for a in result.attempts]
    first = result.attempts[0].outcome.failure
    assert (first.kind.value, first.name) == ("missing_symbol", "old_a")
    ahead = {(s.module, s.name) for s in first.ahead}
    assert {("beta", "old_b"), ("gamma", "old_c")} <= ahead
    assert ("delta", "gone") not in ahead and ("alpha", "kept") not in ahead
    assert ("epsilon", "deep") not in ahead, "a name bound by star imports is no suspect"
    assert not {("zeta", "later"), ("eta", "later")} & ahead, "nor one a lazy module serves"
    edges = {b.symbol: (b.package, b.last_with, b.first_without) for b in result.boundaries}
    assert edges == {"old_a": ("alpha", "1.0", "2.0"), "old_b": ("beta", "1.0", "2.0"),
                     "old_c": ("gamma", "1.0", "2.0")}
    assert {(r.package, r.requires) for r in result.rules} == {
        ("app", "alpha<2.0"), ("app", "beta<2.0"), ("app", "gamma<2.0")}
    assert result.installed["delta"] == "2.0", "a guarded import constrains nothing"
    assert sum(kind == "read ahead" for kind, _ in events) == 2


def test_a_forged_read_ahead_makes_the_report_invalid(tmp_path):
    report = tmp_path / "outcome.json"
    report.write_text('{"status": "error", "exception": {"type": "ImportError", "message": "x",'
                      ' "name": null}, "ahead": [{"missing": {"kind": "crash"}}]}')
    with pytest.raises(InvalidReport, match="read-ahead"):
        read_child_report(report)
