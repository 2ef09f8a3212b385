"""Boundary searches over release lists, with predicates that count their calls."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from envprobe.model.rules import specifier_for
from envprobe.solving.boundary import Speculative, bisect_with_probes, gallop_static

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


class Waiting(Counting):
    """A predicate that holds its answers until told: reads ahead must overlap to finish."""

    def __init__(self, low: str, high: str, together: int) -> None:
        super().__init__(low, high)
        self.barrier = threading.Barrier(together, timeout=10)
        self.started = 0
        self.lock = threading.Lock()

    def __call__(self, version: Version) -> bool:
        with self.lock:
            self.started += 1
            first = self.started <= self.barrier.parties
        if first:
            self.barrier.wait()  # BrokenBarrierError: the reads did not overlap
        return super().__call__(version)


def test_a_speculative_gallop_reads_its_ladder_side_by_side_and_reports_what_it_asked():
    plain = gallop_static(RELEASES, Version("0.36"), Counting("0.5", "0.24"))
    has = Waiting("0.5", "0.24", together=4)  # four reads must wait on each other at once
    with ThreadPoolExecutor(max_workers=4) as pool:
        search = gallop_static(RELEASES, Version("0.36"), Speculative(has, pool))
    assert (search.direction, search.last_with, search.first_without) == (
        plain.direction, plain.last_with, plain.first_without)
    assert search.checked == plain.checked, "read-ahead answers are not reported as checked"
    assert len(has.calls) == len(set(has.calls)), "each release is read once"
    assert set(search.checked) <= set(has.calls)


def test_gallop_stops_without_a_boundary_when_scans_cannot_tell():
    search = gallop_static(RELEASES, Version("0.36"), lambda v: None if v < Version("0.36") else False)
    assert not search.found and search.checked[Version("0.35")] is None


def test_an_unreadable_old_side_leaves_the_newer_side_to_search():
    # protobuf's oldest releases have no wheel; `builder` arrived later than the failing one.
    def has(version: Version) -> bool | None:
        return None if version < Version("0.3") else version >= Version("0.30")

    search = gallop_static(RELEASES, Version("0.20"), has)
    assert (search.direction, search.last_without, search.first_with) == (
        "added", Version("0.29"), Version("0.30"))


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


# properties: random release lists, a removal point and optionally a re-addition point

@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Version], int, int, int]:
    """Releases (in any order), and indices b <= f < c of the sorted list.

    The name is present in releases [0, b) and [c, N), absent in [b, c); the
    probe failed at f. b == 0: never there before; c == N: never came back.
    """
    parts = draw(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 40)),
                          min_size=1, max_size=80, unique=True))
    releases = [Version(f"{major}.{minor}") for major, minor in parts]
    n = len(releases)
    removed = draw(st.integers(0, n - 1))
    failing = draw(st.integers(removed, n - 1))
    readded = draw(st.integers(failing + 1, n))
    return releases, removed, failing, readded


class History:
    """The predicate of one history, counting its calls."""

    def __init__(self, releases: list[Version], removed: int, readded: int) -> None:
        self.ordered = sorted(releases)
        self.removed, self.readded = removed, readded
        self.calls: list[Version] = []

    def __call__(self, version: Version) -> bool:
        self.calls.append(version)
        position = self.ordered.index(version)
        return position < self.removed or position >= self.readded


def log2_ceil(count: int) -> int:
    return math.ceil(math.log2(count)) if count > 1 else 0


@given(histories())
def test_gallop_finds_the_exact_boundary_within_its_bound(history):
    releases, removed, failing, readded = history
    has = History(releases, removed, readded)
    ordered, n = has.ordered, len(has.ordered)
    search = gallop_static(releases, ordered[failing], has)

    assert len(has.calls) == len(set(has.calls)), "no release is scanned twice"
    assert len(has.calls) <= 3 * log2_ceil(n) + 3
    if removed > 0:
        assert (search.direction, search.last_with, search.first_without) == (
            "removed", ordered[removed - 1], ordered[removed])
        assert len(has.calls) <= 2 * log2_ceil(failing - removed + 1) + 2
    elif readded < n:
        assert (search.direction, search.last_without, search.first_with) == (
            "added", ordered[readded - 1], ordered[readded])
    else:
        assert not search.found
    assert all(has(v) for v in search.allowed(ordered))


@given(histories())
def test_bisection_finds_the_exact_removal_within_ceil_log2_n_plus_one(history):
    releases, removed, failing, readded = history
    has = History(releases, removed, readded)
    ordered = has.ordered
    search = bisect_with_probes(releases, ordered[failing], has)

    below = failing + 1  # the releases up to the failing one: the only ones bisected
    assert len(has.calls) <= log2_ceil(below) + 1
    assert ordered[failing] not in has.calls, "the failed probe is its own evidence"
    assert all(v <= ordered[failing] for v in has.calls)
    if removed > 0:
        assert (search.direction, search.last_with, search.first_without) == (
            "removed", ordered[removed - 1], ordered[removed])
    else:
        assert not search.found
