"""Find the exact release where something appears in or vanishes from a package.

Two searches share one shape: a predicate over a package's releases that is
False at the release a probe failed with. The static predicate (does this
release's wheel provide the name?) costs a download; the probe predicate
costs a real install, so it uses plain bisection with its bound of
ceil(log2 N) + 1 installs. The static search gallops outwards from the failing
release, because the nearest releases are the ones most like it.

A predicate answers None when it cannot tell (no wheel to read, an install
that failed for another reason); the search then stops without a boundary,
and the caller decides what to try next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from packaging.version import Version

__all__ = ["Search", "Speculative", "bisect_with_probes", "gallop_static"]

Predicate = Callable[[Version], "bool | None"]
_LADDER = 4  # gallop steps per side read ahead: 1, 2, 4, 8 releases away


class Speculative:
    """A predicate whose likely calls run ahead on `pool`'s threads, each at most once.

    A cold static scan waits on the network (range reads of a remote wheel), so
    the releases a gallop will most likely ask about are read side by side. Only
    for predicates without side effects beyond caches: what a search reports as
    checked is still what it asked, never what was read ahead.
    """

    def __init__(self, predicate: Predicate, pool: Executor) -> None:
        self._predicate, self._pool = predicate, pool
        self._answers: dict[Version, Future] = {}

    def warm(self, versions: Sequence[Version]) -> None:
        for version in versions:
            if version not in self._answers:
                self._answers[version] = self._pool.submit(self._predicate, version)

    def ladder(self, releases: Sequence[Version], failing: Version) -> list[Version]:
        """The failing release and the first gallop steps on each side of it."""
        ordered = sorted(set(releases) | {failing})
        start, last = ordered.index(failing), len(ordered) - 1
        steps = [start + sign * (1 << k) for k in range(_LADDER) for sign in (-1, 1)]
        return [failing, *(ordered[p] for p in dict.fromkeys(steps) if 0 <= p <= last)]

    def __call__(self, version: Version) -> bool | None:
        self.warm([version])
        return self._answers[version].result()


@dataclass
class Search:
    """What a boundary search established, with every release it looked at."""

    direction: str | None = None  # "removed", "added", or None when not found
    last_with: Version | None = None
    first_without: Version | None = None
    last_without: Version | None = None
    first_with: Version | None = None
    checked: dict[Version, bool | None] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.direction is not None

    def allowed(self, releases: Sequence[Version]) -> list[Version]:
        """Releases on the good side of the boundary."""
        if self.direction == "removed" and self.first_without is not None:
            return [v for v in releases if v < self.first_without]
        if self.direction == "added" and self.first_with is not None:
            return [v for v in releases if v >= self.first_with]
        return []


class _Checker:
    def __init__(self, releases: Sequence[Version], predicate: Predicate, search: Search):
        self.releases, self.predicate, self.search = releases, predicate, search

    def __call__(self, position: int) -> bool | None:
        version = self.releases[position]
        if version not in self.search.checked:
            self.search.checked[version] = self.predicate(version)
        return self.search.checked[version]


def _bisect(check: _Checker, good: int, bad: int) -> tuple[int, int] | None:
    """Narrow good/bad positions to neighbours; None when a check is inconclusive."""
    while abs(bad - good) > 1:
        middle = (good + bad) // 2
        result = check(middle)
        if result is None:
            return None
        if result:
            good = middle
        else:
            bad = middle
    return good, bad


def _finish(search: Search, releases: Sequence[Version], good: int, bad: int) -> Search:
    if good < bad:
        search.direction = "removed"
        search.last_with, search.first_without = releases[good], releases[bad]
    else:
        search.direction = "added"
        search.last_without, search.first_with = releases[bad], releases[good]
    return search


def _gallop(check: _Checker, start: int, step_sign: int, limit: int) -> tuple[int | None, int]:
    """Walk away from `start` in doubling steps until the predicate holds.

    Returns (position where it holds or None, nearest position known to fail).
    """
    nearest_bad, step = start, 1
    while True:
        position = start + step_sign * step
        position = max(0, min(limit, position))
        result = check(position)
        if result is None:
            return None, -1
        if result:
            return position, nearest_bad
        nearest_bad = position
        if position in (0, limit):
            return None, nearest_bad
        step *= 2


def gallop_static(releases: Sequence[Version], failing: Version, predicate: Predicate) -> Search:
    """Search older releases first (a removal), then newer ones (an addition).

    Predicate calls, for N releases and a predicate that holds on one
    contiguous run on each side of the failing release: one for the failing
    release, then per side a gallop (steps 1, 2, 4, ...) and a bisection of
    the last step. A removal d releases below the failing one costs at most
    2*ceil(log2 d) + 2 calls; any search at most 3*ceil(log2 N) + 3. A side
    whose scan cannot be read (an old release without a wheel) ends that side
    only: the other may still hold the boundary.
    """
    if isinstance(predicate, Speculative):
        predicate.warm(predicate.ladder(releases, failing))
    releases = sorted(set(releases) | {failing})
    search = Search()
    check = _Checker(releases, predicate, search)
    start = releases.index(failing)
    search.checked[failing] = predicate(failing)
    if search.checked[failing] is not False:
        return search  # unreadable, or the static view disagrees with the probe: let probes decide
    limit = len(releases) - 1
    for sign in (-1, 1):
        if (sign < 0 and start == 0) or (sign > 0 and start == limit):
            continue
        good, bad = _gallop(check, start, sign, limit)
        if bad == -1:
            continue  # this side cannot be read (an old release without a wheel): try the other
        if good is not None:
            narrowed = _bisect(check, good, bad)
            return search if narrowed is None else _finish(search, releases, *narrowed)
    return search


def bisect_with_probes(
    releases: Sequence[Version], failing: Version, predicate: Predicate
) -> Search:
    """Plain bisection over `releases` below the failing one, one install per check.

    The oldest release is checked first; if it passes, the boundary lies
    between it and the failing release. At most ceil(log2 N) + 1 checks for
    the N releases up to and including the failing one (which is not checked
    again: the probe that failed is its evidence).
    """
    releases = sorted(v for v in set(releases) | {failing} if v <= failing)
    search = Search()
    search.checked[failing] = False
    if len(releases) < 2:
        return search
    check = _Checker(releases, predicate, search)
    if not check(0):
        return search
    narrowed = _bisect(check, 0, len(releases) - 1)
    return search if narrowed is None else _finish(search, releases, *narrowed)
