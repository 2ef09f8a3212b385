"""The resolvelib provider on recorded index snapshots: declared metadata plus learned rules.

Resolutions run through resolvelib's real resolver, in milliseconds, with
`SnapshotIndex` answering what `PackageIndex` would.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pytest
from packaging.markers import default_environment
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible
from snapshot_index import RecordedProbes, Snapshot, SnapshotIndex, SnapshotScanner

from envprobe.model.rules import Rule
from envprobe.solving.provider import Candidate, Need, SolveProvider
from envprobe.solving.teachers import Teacher

V = Version
LINUX_311 = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.7",
             "sys_platform": "linux", "platform_system": "Linux"}
TAGS = frozenset({Tag("py3", "none", "any"), Tag("cp311", "cp311", "manylinux_2_17_x86_64")})


class World:
    """One snapshot, and the resolutions the solver would ask of it."""

    def __init__(self, name: str) -> None:
        self.snapshot = Snapshot.load(name)
        self.index = SnapshotIndex(self.snapshot)
        self.scanner = SnapshotScanner(self.snapshot)

    def provider(self, universe: Iterable[str], rules: Sequence[Rule] = (), *,
                 pins: Mapping[str, Version] | None = None,
                 extras: Mapping[str, frozenset[str]] | None = None,
                 allow_sdist: bool = False) -> SolveProvider:
        return SolveProvider(
            self.index, universe=universe, rules=rules, pins=pins or {}, extras=extras or {},
            python_version=V("3.11.7"), tags=TAGS, environment=LINUX_311,
            allow_sdist=allow_sdist, imports_symbol=self.imports_symbol,
        )

    def imports_symbol(self, candidate: Candidate, rule: Rule) -> bool:
        """As the solver answers it: the release a probe saw, or wherever a scan does not say no."""
        check = rule.when_imports
        assert check is not None
        if check.observed is not None and V(check.observed) == candidate.version:
            return True
        return self.scanner.imports(candidate.name, candidate.version, check.module,
                                    check.symbol) is not False

    def resolve(self, targets: Mapping[str, str], rules: Sequence[Rule] = (),
                universe: Iterable[str] = (), **kwargs) -> dict[str, str]:
        provider = self.provider({*targets, *universe}, rules, **kwargs)
        roots = [Need(canonicalize_name(n), SpecifierSet(s), "scenario") for n, s in targets.items()]
        roots += [Need(canonicalize_name(n), SpecifierSet(f"=={v}"), "pin")
                  for n, v in (kwargs.get("pins") or {}).items()]
        result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=200)
        return {name: str(c.version) for name, c in result.mapping.items()}

    def learn(self, label: str) -> list[Rule]:
        outcome = self.snapshot.outcomes[label]
        teacher = Teacher(self.scanner, self.index.versions, RecordedProbes(self.snapshot.probes),
                          lambda n, v: self.index.dependencies(n, v), self.index.released)
        pins = {canonicalize_name(n): V(v) for n, v in outcome.pins.items()}
        return teacher.learn(outcome, pins).rules


# declared metadata -----------------------------------------------------------------


def test_declared_requirements_count_only_inside_the_universe():
    conflict = World("conflict")
    # helper is no target: the resolver does not see the two ranges that do not meet.
    assert conflict.resolve({"app": "", "lib": ""}) == {"app": "2.0", "lib": "1.5"}
    assert conflict.resolve({"app": "", "lib": ""}, universe={"helper"}) == {
        "app": "2.0", "lib": "1.0", "helper": "2.0"}


def test_the_rules_a_declared_conflict_teaches_lead_to_a_consistent_set():
    conflict = World("conflict")
    rules = conflict.learn("uv")
    # The learned rules alone, without helper's declared metadata, avoid the conflict.
    assert conflict.resolve({"app": "", "lib": "", "helper": ""}, rules) == {
        "app": "2.0", "lib": "1.0", "helper": "2.0"}


def test_extras_bring_their_declared_requirements():
    hub = World("hub")
    plain = hub.resolve({"toolkit": ""}, universe={"extraslib"})
    fast = hub.resolve({"toolkit": ""}, universe={"extraslib"},
                       extras={"toolkit": frozenset({"fast"})})
    assert "extraslib" not in plain
    assert fast["extraslib"] == "1.0"


# learned rules -------------------------------------------------------------------------


def test_import_rules_bind_only_the_releases_that_import_the_name():
    hub = World("hub")
    rules = hub.learn("toolkit_fails")  # ModelFilter (fakehub<1.2) and HfFolder (fakehub<2.0)

    # toolkit 2.0 imports ModelFilter only under a `try`: neither rule binds it.
    assert hub.resolve({"toolkit": "", "fakehub": ""}, rules) == {
        "toolkit": "2.0", "fakehub": "2.1"}
    # toolkit 1.1 imports ModelFilter (and HfFolder only for type checkers).
    assert hub.resolve({"toolkit": "<2", "fakehub": ""}, rules) == {
        "toolkit": "1.1", "fakehub": "1.1"}
    # Without the rules, declared metadata alone lets toolkit 1.1 take the newest fakehub.
    assert hub.resolve({"toolkit": "<2", "fakehub": ""}) == {"toolkit": "1.1", "fakehub": "2.1"}


def test_a_typing_only_import_is_not_bound_by_its_rule():
    hub = World("hub")
    helper_rule = next(r for r in hub.learn("toolkit_fails") if r.when_imports.symbol == "HfFolder")
    assert hub.resolve({"toolkit": "==1.1", "fakehub": ""}, [helper_rule]) == {
        "toolkit": "1.1", "fakehub": "2.1"}
    assert hub.resolve({"toolkit": "==1.0", "fakehub": ""}, [helper_rule]) == {
        "toolkit": "1.0", "fakehub": "1.2"}


def test_a_rule_for_every_set_and_a_range_it_contradicts_are_unsatisfiable_in_words():
    hub = World("hub")
    rules = hub.learn("toolkit_fails")
    with pytest.raises(ResolutionImpossible) as impossible:
        hub.resolve({"toolkit": "==1.0", "fakehub": ">=2"}, rules)
    words = [cause.requirement.describe() for cause in impossible.value.causes]
    assert "the scenario asks for fakehub>=2" in words
    assert any(w.startswith("toolkit 1.0 needs fakehub<1.2 (learned: toolkit 1.0 imports "
                            "ModelFilter") for w in words)


# which releases install --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "allow_sdist", "installable"), [
    ("pyonly", False, ["1.0"]),  # 2.0 needs a newer Python, 2.1 is yanked, 3.0rc1 is a pre-release
    ("native", False, ["1.0"]),  # 1.1 has only a Windows wheel
    ("srconly", False, []),
    ("srconly", True, ["1.0"]),
])
def test_only_releases_with_a_file_for_this_interpreter_are_candidates(name, allow_sdist,
                                                                       installable):
    files = World("files")
    provider = files.provider({name}, allow_sdist=allow_sdist)
    need = Need(canonicalize_name(name), SpecifierSet(), "scenario")
    matches = provider.find_matches(name, {name: iter([need])}, {name: iter([])})
    assert [str(c.version) for c in matches] == installable[::-1]


def test_a_pin_is_taken_as_is_and_brings_no_declared_requirements_only_learned_ones():
    files = World("files")
    pins = {"pyonly": V("3.0rc1")}
    assert files.resolve({"user": ""}, universe={"pyonly"}, pins=pins) == {
        "user": "1.0", "pyonly": "3.0rc1"}
    provider = files.provider({"user", "pyonly"}, pins=pins)
    assert provider.get_dependencies(Candidate(canonicalize_name("pyonly"), V("3.0rc1"))) == []
    # Like torch in the base layer, whose ONNX exporter imports onnxscript undeclared.
    learned = Rule(requires="native", because="pyonly imports native but does not declare it",
                   kind="undeclared", package="pyonly")
    assert files.resolve({"user": ""}, [learned], universe={"pyonly", "native"}, pins=pins) == {
        "user": "1.0", "pyonly": "3.0rc1", "native": "1.0"}


def test_a_release_needing_an_untracked_release_nobody_published_is_no_candidate():
    # user 2.1 needs a project no index knows, user 2.0 a release of it that does not
    # exist: an installer would fail on both, so the resolver passes them without a probe.
    files = World("files")
    assert files.resolve({"user": ""}, universe={"pyonly"}) == {"user": "1.0", "pyonly": "1.0"}
    provider = files.provider({"user", "pyonly"})
    needs = provider.get_dependencies(Candidate(canonicalize_name("user"), V("2.0")))
    assert [(n.name, str(n.specifier)) for n in needs] == [("pyonly", ""), ("untracked", ">=5")]
    assert needs[1].describe() == "user 2.0 declares untracked>=5"
    # What some release meets stays the installer's business.
    needs = provider.get_dependencies(Candidate(canonicalize_name("user"), V("1.0")))
    assert [n.name for n in needs] == ["pyonly"]
    # Outside the universe a yanked release pinned with == counts: pip installs it.
    untracked = files.provider({"user"})
    assert untracked.get_dependencies(Candidate(canonicalize_name("user"), V("3.0"))) == []


def test_a_conflict_chain_says_a_run_of_releases_with_one_requirement_once():
    from resolvelib.structs import RequirementInformation

    from envprobe.solving.chain import conflict_chain

    def declared(version: str, spec: str) -> RequirementInformation:
        parent = Candidate(canonicalize_name("formers"), V(version))
        return RequirementInformation(Need(canonicalize_name("hub"), SpecifierSet(spec),
                                           "declared", parent=parent), parent)

    causes = [RequirementInformation(Need(canonicalize_name("hub"), SpecifierSet("==0.9"),
                                          "held"), None),
              *[declared(v, ">=2") for v in ("5.0", "5.1", "6.0")], declared("4.0", "<1")]
    assert conflict_chain(ResolutionImpossible(causes)) == [
        "hub==0.9 is held",
        "formers 5.0 … 6.0 (3 releases) declare hub>=2",
        "formers 4.0 declares hub<1",
    ]
