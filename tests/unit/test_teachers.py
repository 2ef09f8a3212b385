"""Each teacher, alone, on recorded failures against recorded index snapshots.

No install and no network: the index, the wheel scans and the re-probes are
answered from `tests/unit/snapshots/*.json` (see `snapshot_index`).
"""

from __future__ import annotations

import json

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version
from snapshot_index import SNAPSHOTS, RecordedProbes, Snapshot, SnapshotIndex, SnapshotScanner

from envprobe.model.result import Purpose
from envprobe.model.rules import BoundaryMethod, ImportCheck, InstallOption, Rule, RuleKind
from envprobe.solving.teachers import Lesson, Teacher
from envprobe.solving.teachers.installer import valid_versions

V = Version


class Bench:
    """A teacher wired to one snapshot, as the solver wires it to the real index."""

    def __init__(self, snapshot: Snapshot, probes: RecordedProbes | None = None,
                 confirm: bool = True) -> None:
        self.snapshot = snapshot
        self.index = SnapshotIndex(snapshot)
        self.scanner = SnapshotScanner(snapshot)
        self.probes = probes if probes is not None else RecordedProbes(snapshot.probes)
        self.teacher = Teacher(
            self.scanner,
            self.index.versions,
            self.probes,
            lambda name, version: self.index.dependencies(name, version),
            self.index.released,
            confirm,
        )

    def learn(self, label: str) -> Lesson:
        outcome = self.snapshot.outcomes[label]
        pins = {canonicalize_name(n): V(v) for n, v in outcome.pins.items()}
        return self.teacher.learn(outcome, pins)


def bench(name: str, **kwargs) -> Bench:
    return Bench(Snapshot.load(name), **kwargs)


# missing symbol ---------------------------------------------------------------


def test_missing_symbol_finds_the_removal_statically_and_confirms_it_with_one_probe():
    hub = bench("hub")
    lesson = hub.learn("toolkit_fails")

    first = lesson.rules[0]
    assert (first.kind, first.package, first.requires) == (
        RuleKind.MISSING_SYMBOL, "toolkit", "fakehub<1.2")
    assert first.when_imports == ImportCheck("fakehub", "ModelFilter", "1.0")
    assert first.because == ("toolkit 1.0 imports ModelFilter from fakehub in toolkit/core.py:3; "
                             "fakehub provides it up to 1.1 and not from 1.2")
    assert first.boundary == ("fakehub", "fakehub", "ModelFilter")
    assert first.evidence == (1, 2)  # the failure, and the probe that confirmed the edge
    assert "fakehub-1.2-py3-none-any.whl" in first.scanned

    boundary = lesson.boundaries[0]
    assert boundary.key == first.boundary
    assert (boundary.direction, boundary.last_with, boundary.first_without) == (
        "removed", "1.1", "1.2")
    assert (boundary.method, boundary.confirmed_by) == (BoundaryMethod.STATIC_AND_PROBE, (2,))
    assert hub.probes.requests == [({"toolkit": V("1.0"), "fakehub": V("1.2")}, Purpose.CONFIRM)]
    assert lesson.universe == {"fakehub", "toolkit"}
    assert not lesson.notes


def test_a_sibling_name_of_the_same_import_is_learned_from_the_same_failure():
    lesson = bench("hub").learn("toolkit_fails")

    sibling = lesson.rules[1]
    assert (sibling.package, sibling.requires) == ("toolkit", "fakehub<2.0")
    assert sibling.when_imports == ImportCheck("fakehub", "HfFolder", "1.0")
    assert sibling.boundary == ("fakehub", "fakehub", "HfFolder")
    by_symbol = {b.symbol: b for b in lesson.boundaries}
    assert set(by_symbol) == {"ModelFilter", "HfFolder"}
    assert (by_symbol["HfFolder"].last_with, by_symbol["HfFolder"].first_without) == ("1.2", "2.0")
    assert by_symbol["HfFolder"].method is BoundaryMethod.STATIC  # no probe spent on a sibling
    assert {r.boundary for r in lesson.rules} == {b.key for b in lesson.boundaries}


def test_a_failure_at_the_edge_is_its_own_confirmation():
    hub = bench("hub")
    lesson = hub.learn("toolkit_fails_at_the_edge")

    [rule] = lesson.rules  # HfFolder is still there in 1.2: nothing to learn about it
    assert rule.requires == "fakehub<1.2"
    assert lesson.boundaries[0].confirmed_by == (2,)
    assert hub.probes.requests == []


def test_a_confirmation_that_disagrees_leaves_the_boundary_static_and_says_so():
    snapshot = Snapshot.load("hub")
    passing = snapshot.outcomes["passes_at_1_2"]
    hub = Bench(snapshot, RecordedProbes([({"toolkit": V("1.0"), "fakehub": V("1.2")}, passing)]))
    lesson = hub.learn("toolkit_fails")

    assert lesson.boundaries[0].method is BoundaryMethod.STATIC
    assert lesson.boundaries[0].confirmed_by == ()
    assert lesson.notes == ["static boundary at fakehub 1.2 NOT confirmed by probe: it passed"]


@pytest.mark.parametrize("probes", [[], None], ids=["budget spent", "confirmation off"])
def test_without_a_confirming_probe_the_boundary_stays_static(probes):
    snapshot = Snapshot.load("hub")
    hub = Bench(snapshot, RecordedProbes(probes or []), confirm=probes is not None)
    lesson = hub.learn("toolkit_fails")

    assert lesson.boundaries[0].method is BoundaryMethod.STATIC
    assert lesson.rules[0].evidence == (1,)
    assert len(hub.probes.requests) == (1 if probes is not None else 0)


def test_the_probe_code_itself_failing_gives_a_rule_for_every_set():
    [rule] = bench("hub").learn("probe_code_fails").rules

    assert (rule.package, rule.when_imports, rule.requires) == (None, None, "fakehub<1.2")
    assert rule.because.startswith("the probe imports ModelFilter from fakehub in <probe>:1; ")


def test_unreadable_wheels_hand_the_search_to_bisection_with_real_installs():
    hub = bench("hub")
    lesson = hub.learn("oddtool_fails")

    [rule] = lesson.rules
    assert (rule.package, rule.requires) == ("oddtool", "oddhub<1.3")
    [boundary] = lesson.boundaries
    assert (boundary.method, boundary.last_with, boundary.first_without) == (
        BoundaryMethod.PROBE, "1.2", "1.3")
    assert rule.boundary == boundary.key == ("oddhub", "oddhub", "Thing")
    assert hub.probes.purposes == [Purpose.BISECT] * 3  # within ceil(log2 6) + 1
    assert [fixed["oddhub"] for fixed, _ in hub.probes.requests] == [V("1.0"), V("1.2"), V("1.3")]
    assert rule.evidence == (10, 11, 13, 14)


def test_releases_neither_a_scan_nor_a_probe_can_read_teach_no_rule_and_say_so():
    hub = bench("hub", probes=RecordedProbes([]))  # every probe unanswerable, as a failed build
    lesson = hub.learn("oddtool_fails")

    assert lesson.rules == [] and lesson.boundaries == []
    assert lesson.notes[-1].startswith("cannot tell where 'Thing' left oddhub: neither a scan "
                                       "nor a probe could read ")


# missing module -----------------------------------------------------------------


def test_missing_module_owner_found_by_the_importers_era():
    era = bench("era")
    lesson = era.learn("fabric_fails")

    [rule] = lesson.rules
    assert (rule.kind, rule.package, rule.requires) == (
        RuleKind.MISSING_MODULE, "fabric", "oldtools<2.0")
    assert rule.when_imports == ImportCheck("legacy_res", "", "1.0")
    assert rule.boundary == ("oldtools", "legacy_res", "legacy_res")
    assert rule.because == ("fabric imports module legacy_res in fabric/__init__.py:1; "
                            "oldtools shipped it up to 1.0 and not from 2.0")
    assert lesson.universe == {"oldtools", "fabric"}
    assert era.probes.requests == []


def test_without_upload_times_the_look_alikes_fill_the_shortlist():
    data = json.loads((SNAPSHOTS / "era.json").read_text())
    for releases in data["projects"].values():
        for release in releases.values():
            release.pop("upload_time", None)
    lesson = Bench(Snapshot(data)).learn("fabric_fails")

    assert lesson.rules == []
    assert lesson.notes == [("no installed distribution ever shipped module 'legacy_res', and "
                             "no project on the index was found to provide it")]


# import-time dependency checks ---------------------------------------------------


@pytest.mark.parametrize("label", ["dependency_check", "dependency_check_seen_in_a_frame"])
def test_an_import_time_check_becomes_a_rule_about_the_checking_release(label):
    lesson = bench("installer").learn(label)

    [rule] = lesson.rules
    assert (rule.kind, rule.package, rule.versions, rule.requires) == (
        RuleKind.DEPENDENCY_CHECK, "checker", "==1.0", "helperlib<2,>=1.0")
    assert rule.because.startswith("checker 1.0 checks at import time: helperlib>=1.0,<2 is")
    assert rule.boundary is None
    assert lesson.universe == {"checker", "helperlib"}


# installer failures ----------------------------------------------------------------


@pytest.mark.parametrize(("label", "versions"), [("pip", ("==2.0", "==1.5")),
                                                 ("uv", (">=2.0", ">=1.5"))])
def test_a_declared_conflict_becomes_one_rule_per_parent(label, versions):
    lesson = bench("conflict").learn(label)

    rules = {(r.package, r.requires): r for r in lesson.rules}
    assert set(rules) == {("app", "helper>=2"), ("lib", "helper<2")}
    assert (rules["app", "helper>=2"].versions, rules["lib", "helper<2"].versions) == versions
    assert all(r.kind is RuleKind.DECLARED for r in lesson.rules)
    assert rules["lib", "helper<2"].covers(V("1.5")) and not rules["lib", "helper<2"].covers(V("1.0"))
    assert rules["app", "helper>=2"].because == (
        f"the installer reports: app{versions[0]} depends on helper>=2")
    assert lesson.universe == {"app", "lib", "helper"}


@pytest.mark.parametrize(("text", "valid"), [
    (">=2.13.0,<=2.13.0+cpu", ">=2.13.0,<=2.13.0"),  # as uv writes a local wheel's range
    ("==2.13.0+cpu", "==2.13.0+cpu"),
    (">=1.5", ">=1.5"),
    ("<=not a version", ""),
])
def test_an_installer_range_with_a_local_label_becomes_a_specifier_that_loads(text, valid):
    assert valid_versions(text) == valid
    rule = Rule(requires="setuptools>=77", because="", kind=RuleKind.DECLARED,
                package=canonicalize_name("torch"), versions=valid_versions(text))
    assert rule.covers(V("2.13.0+cpu")), "the pinned local build stays covered"


def test_a_pinned_release_without_a_file_is_excluded():
    lesson = bench("installer").learn("no_distribution")

    [rule] = lesson.rules
    assert (rule.kind, rule.package, rule.requires) == (
        RuleKind.NO_DISTRIBUTION, None, "bigwheel!=3.0")
    assert lesson.universe == {"bigwheel"}


def test_a_dependency_without_a_file_joins_the_resolution_without_a_rule():
    lesson = bench("installer").learn("no_distribution_of_a_dependency")

    assert lesson.rules == [] and lesson.universe == {"helperlib"}


def test_an_undeclared_build_import_is_pre_installed_and_built_without_isolation():
    [rule] = bench("installer").learn("build_failed").rules

    assert (rule.kind, rule.package, rule.requires) == (RuleKind.BUILD, "needscy", "fakecython")
    assert rule.install_option is InstallOption.BUILD_WITHOUT_ISOLATION
    assert rule.because.startswith("building needscy imports fakecython, which its build")


def test_a_build_failure_without_its_cause_keeps_the_project_to_releases_with_a_wheel():
    """Wheels for this interpreter from 1.1 on, save a wheel-less pre-release: the rule
    admits exactly the releases with one, and says it is an inference."""
    installer = bench("installer")
    wheels = {V("1.1"), V("1.3")}
    teacher = Teacher(installer.scanner, installer.index.versions, installer.probes,
                      lambda name, version: [], installer.index.released,
                      known=lambda name: [V(v) for v in ("0.9", "1.0", "1.1", "1.2rc1", "1.3")],
                      wheeled=lambda name, version: version in wheels)
    outcome = installer.snapshot.outcomes["build_failed_without_cause"]
    lesson = teacher.learn(outcome, {canonicalize_name("needscy"): V("1.0")})

    [rule] = lesson.rules
    assert (rule.kind, rule.package, rule.requires) == (
        RuleKind.NO_WHEEL, None, "needscy>=1.1,!=1.2rc1")
    assert rule.because.startswith("building needscy 1.0 from its sdist failed without naming "
                                   "a cause (probe #6); inferred from that failed build")
    assert rule.evidence == (6,) and lesson.universe == {"needscy"}


def test_a_build_failure_without_its_cause_is_only_noted_where_the_files_cannot_say():
    lesson = bench("installer").learn("build_failed_without_cause")

    assert lesson.rules == []
    assert lesson.notes == ["a build failed without naming its cause: building needscy failed"]


# anything else --------------------------------------------------------------------


def test_an_error_raised_in_a_package_blames_that_release_and_says_it_is_a_heuristic():
    lesson = bench("installer").learn("raised_in_badlib")

    [rule] = lesson.rules
    assert (rule.kind, rule.package, rule.requires) == (RuleKind.BLAMED, None, "badlib!=1.2")
    assert rule.because == ("heuristic: probe_error raised in badlib 1.2 (badlib/core.py:10): "
                            "ValueError: bad shape")


def test_a_failure_without_evidence_teaches_nothing_and_says_so():
    installer = bench("installer")
    lesson = installer.learn("timeout")

    assert (lesson.rules, lesson.boundaries, lesson.universe) == ([], [], set())
    assert lesson.notes == ["nothing to learn from timeout: the probe ran for more than 60 s"]
    assert installer.scanner.count == 0 and installer.probes.requests == []


def test_a_passing_probe_teaches_nothing():
    hub = bench("hub")
    assert hub.teacher.learn(hub.snapshot.outcomes["passes_at_1_2"], {}) == Lesson()


# rules as stored values --------------------------------------------------------------


def test_learned_rules_round_trip_through_json_with_their_boundary_key():
    for rule in bench("hub").learn("toolkit_fails").rules:
        data = json.loads(json.dumps(rule.to_dict()))
        assert data["kind"] == "missing_symbol"
        assert Rule.from_dict(data) == rule


def test_rules_stored_before_kinds_were_typed_still_load():
    old = {"package": "needscy", "versions": "*", "requires": "fakecython", "because": "...",
           "kind": "build", "when_imports": None, "evidence": {"probes": [5], "wheels": []},
           "install_option": "build_without_isolation"}
    rule = Rule.from_dict(old)
    assert (rule.kind, rule.install_option, rule.boundary) == (
        RuleKind.BUILD, InstallOption.BUILD_WITHOUT_ISOLATION, None)
    assert rule.to_dict() == {**old, "boundary": None}
