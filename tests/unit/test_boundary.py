"""Boundary searches over release lists, with predicates that count their calls."""

from __future__ import annotations

import math

from packaging.version import Version

from envprobe.model.rules import specifier_for
from envprobe.solving.boundary import bisect_with_probes, gallop_static

RELEASES = [Version(f"0.{minor}") for minor in range(1, 41)]


class Counting:
    def __init__(self, low: str, high: str) -> None:
        self.low, self.high, self.calls = Version(low), Version(high), []

    def __call__(self, version: Version) -> bool:
        self.calls.append(version)
        return self.low <= version < self.high


def test_gallop_finds_a_removal_near_the_failing_release():
    has = Counting("0.5", "0.24")
    search = gallop_static(RELEASES, Version("0.36"), has)
    assert (search.direction, search.last_with, search.first_without) == (
        "removed", Version("0.23"), Version("0.24"))
    assert len(has.calls) <= 10
    assert search.allowed(RELEASES) == [v for v in RELEASES if v < Version("0.24")]


def test_gallop_finds_an_addition_when_older_releases_lack_the_name():
    has = Counting("0.5", "0.99")
    search = gallop_static(RELEASES, Version("0.2"), has)
    assert (search.direction, search.last_without, search.first_with) == (
        "added", Version("0.4"), Version("0.5"))


def test_gallop_stops_without_a_boundary_when_scans_cannot_tell():
    search = gallop_static(RELEASES, Version("0.36"), lambda v: None if v < Version("0.36") else False)
    assert not search.found and search.checked[Version("0.35")] is None


def test_gallop_defers_to_probes_when_the_static_view_disagrees():
    search = gallop_static(RELEASES, Version("0.36"), lambda v: True)
    assert not search.found and list(search.checked) == [Version("0.36")]


def test_probe_bisection_stays_within_its_install_bound():
    for edge in range(2, 36):
        has = Counting("0.0", f"0.{edge}")
        search = bisect_with_probes(RELEASES, Version("0.36"), has)
        assert search.first_without == Version(f"0.{edge}")
        below = [v for v in RELEASES if v <= Version("0.36")]
        assert len(has.calls) <= math.ceil(math.log2(len(below))) + 1


def test_specifier_for_contiguous_and_holed_sets():
    universe = [Version(v) for v in ("0.9", "1.0", "1.1", "2.0", "2.1")]
    assert str(specifier_for(universe[:3], universe)) == "<2.0"
    assert str(specifier_for(universe[1:3], universe)) == "<2.0,>=1.0"
    holed = specifier_for([universe[0], universe[2]], universe)
    assert [v for v in universe if holed.contains(v)] == [universe[0], universe[2]]
