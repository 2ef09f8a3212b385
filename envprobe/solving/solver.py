"""The solve loop: propose a pin set, probe it, learn from the failure, repeat.

It stops at the first set whose probe passes (`solved`), when declared
metadata plus learned rules leave no candidate (`unsatisfiable`, with the
chain of requirements that proves it), or when the budget runs out or a
failure teaches nothing new (`undecided`) — never reporting one as another.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from envprobe.errors import UsageError
from envprobe.model.interpreter import TargetInterpreter
from envprobe.model.outcome import ProbeOutcome
from envprobe.model.requests import InstallOptions, ProbeRequest
from envprobe.model.result import Attempt, Purpose, SolveResult, Verdict
from envprobe.model.rules import Boundary, InstallOption, Rule, RuleKind
from envprobe.model.scenario import Scenario
from envprobe.probing.backends import InstallerBackend, backend_for
from envprobe.probing.interpreter import describe
from envprobe.probing.micro import MicroProber
from envprobe.probing.probe import run_probe
from envprobe.probing.store import Store
from envprobe.solving.builds import declared_builds
from envprobe.solving.chain import conflict_chain
from envprobe.solving.confirmations import Confirmations
from envprobe.solving.provider import Candidate, Need, SolveProvider
from envprobe.solving.read_ahead import read_ahead_cases
from envprobe.solving.release_questions import ReleaseQuestions
from envprobe.solving.teachers import Teacher
from envprobe.static.scanner import StaticScanner

__all__ = ["Solver", "conflict_chain", "micro_backend"]

Events = Callable[[str, str], None]


class _Reporter(BaseReporter):
    """Forwards resolvelib's pinning decisions to the progress display."""

    def __init__(self, events: Events) -> None:
        self._events = events

    def pinning(self, candidate: Candidate) -> None:
        self._events("pin", f"{candidate.name} {candidate.version}")


class _Budget(Exception):
    """Raised inside a probe request when no real install is left."""


class Solver:
    """Solves one scenario against one index, recording evidence in one store."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        index: Any,
        store: Store,
        options: InstallOptions,
        events: Events | None = None,
        refresh: bool = False,
        max_installs: int | None = None,
        parallel: bool = True,
    ) -> None:
        self.scenario = scenario
        self.parallel = parallel  # confirmations beside the next proposal (same answer)
        self.index = index
        self.store = store
        self.options = options
        self.events = events or (lambda kind, text: None)
        self.refresh = refresh
        self.max_installs = max_installs or scenario.budget.max_installs
        self.interpreter: TargetInterpreter = describe(scenario.python)
        self.scanner = ReleaseQuestions(StaticScanner(index, self.interpreter.tags),
                                        MicroProber(self.interpreter, micro_backend(options),
                                                    options, store))
        self.confirmations = Confirmations(self)
        self.teacher = Teacher(self.scanner, self.releases, self._reprobe, self._declared,
                               self._released, extras=self._extras,
                               micro_probed=self.scanner.micro_probed,
                               defer=self.confirmations.defer,
                               known=self.index.versions,
                               wheeled=lambda name, v: self._provider().wheeled(name, v))
        self.universe: set[NormalizedName] = {t.name for t in scenario.targets} | set(scenario.pins)
        self.rules: list[Rule] = []
        self.boundaries: list[Boundary] = []
        self.attempts: list[Attempt] = []
        self.notes: list[str] = []
        self._refreshed: set[tuple[str, ...]] = set()
        self._started = time.monotonic()  # `solve` restarts it; a caller driving steps keeps it
        self._extras: dict[str, frozenset[str]] = {}
        self._cached_provider: tuple[str, SolveProvider] | None = None
        self._installable: dict[tuple[str, Version], bool] = {}  # shared by every provider
        self._meetable: dict[tuple[str, str], bool] = {}  # as is: (project, specifier) -> answer

    # public ------------------------------------------------------------------

    def solve(self) -> SolveResult:
        try:
            return self._solve()
        finally:
            self.scanner.close()

    def _solve(self) -> SolveResult:
        self._started = time.monotonic()
        self.confirmations.enabled = self.parallel
        while True:
            if self._out_of_time():
                return self._result(Verdict.UNDECIDED, "the time budget ran out")
            try:
                pins = self._propose()
            except ResolutionImpossible as impossible:
                return self._result(Verdict.UNSATISFIABLE, "no candidate set is left in range",
                                    chain=conflict_chain(impossible))
            except ResolutionTooDeep:
                return self._result(Verdict.UNDECIDED, "the resolver gave up (too many rounds)")
            self.events("propose", ", ".join(f"{n}=={v}" for n, v in sorted(pins.items())))
            try:
                outcome = (self.confirmations.probe_with(pins) if self.confirmations.pending
                           else self._probe(pins, Purpose.PROPOSAL))
            except _Budget:
                return self._result(Verdict.UNDECIDED,
                                    f"the install budget ({self.max_installs}) ran out")
            if outcome:
                return self._result(Verdict.SOLVED, f"probe #{outcome.probe_id} passed", outcome)
            if not self._learn(outcome, pins):
                assert outcome.failure is not None
                return self._result(Verdict.UNDECIDED,
                                    f"nothing new to learn from: {outcome.failure.summary()}")

    # the steps, for a caller that drives them itself (the map) -----------------------

    def propose(self, fixed: dict[NormalizedName, Version] | None = None
                ) -> dict[NormalizedName, Version]:
        """The set a solve would install with `fixed` held; raises as resolvelib does."""
        return self._propose(fixed)

    def request(self, pins: dict[NormalizedName, Version]) -> ProbeRequest:
        """The probe of `pins`, as `solve` runs it (extras, build steps, base layer)."""
        return self._request(pins)

    def stored(self, request: ProbeRequest) -> ProbeOutcome | None:
        return self._stored(request)

    def keep(self, request: ProbeRequest, pins: dict[NormalizedName, Version],
             purpose: Purpose, outcome: ProbeOutcome) -> ProbeOutcome:
        """Record a probe that ran elsewhere (a worker): in the store, and as an attempt."""
        if not outcome.cached:
            outcome.probe_id = self.store.record(request, outcome)
            self._refreshed.add(request.requirements)
        self.attempts.append(Attempt(purpose, {n: str(v) for n, v in pins.items()}, outcome))
        return outcome

    def learn(self, outcome: ProbeOutcome, pins: dict[NormalizedName, Version]) -> bool:
        """Teach a failure to the teachers; True when a rule or a project is new.

        For a caller that probes many sets at once (the map), the same lesson comes
        back from several probes: a rule that differs from a known one only in its
        evidence is not new, and is not kept twice. A rule about a project makes it
        one the resolver pins, or the rule could never apply (pyarrow's NumPy check).
        """
        known = {_gist(r) for r in self.rules}
        universe = set(self.universe)
        self._learn(outcome, pins)
        kept, seen = [], set()
        for rule in self.rules:
            if _gist(rule) not in seen:
                seen.add(_gist(rule))
                kept.append(rule)
        self.rules[:] = kept
        self.universe |= {r.package for r in kept if r.package is not None}
        return bool(seen - known or self.universe - universe)

    def out_of_time(self) -> bool:
        return self._out_of_time()

    @property
    def installs(self) -> int:
        """Real installs so far (probes not answered by the store)."""
        return sum(1 for a in self.attempts if not a.outcome.cached)

    def releases(self, name: str) -> list[Version]:
        """Installable releases of `name` on the probe's interpreter, ascending."""
        provider = self._provider()
        return [v for v in sorted(self.index.versions(name)) if provider.installable(name, v)]

    def _declared(self, name: str, version: Version) -> list:
        return self.index.dependencies(name, version, (), self.interpreter.environment)

    def _released(self, name: str, version: Version) -> str | None:
        """When a release was uploaded (its earliest file), where the index says so."""
        times = [f.upload_time for f in self.index.files(name, version) if f.upload_time]
        return min(times) if times else None

    def _extras(self, name: str, version: Version) -> dict[str, list[Requirement]]:
        """extra -> the requirements only that extra selects on the probe's interpreter."""
        return self.index.metadata(name, version).by_extra(self.interpreter.environment)

    # steps -------------------------------------------------------------------------

    def _propose(self, fixed: dict[NormalizedName, Version] | None = None
                 ) -> dict[NormalizedName, Version]:
        """The newest set the metadata and rules allow; `fixed` pins some projects first."""
        provider = self._provider()
        roots = [Need(name, SpecifierSet(f"=={version}"), "held")
                 for name, version in (fixed or {}).items()]
        roots += [Need(t.name, t.specifier, "scenario", extras=t.extras)
                  for t in self.scenario.targets]
        roots += [Need(name, SpecifierSet(f"=={version}"), "pin")
                  for name, version in self.scenario.pins.items()]
        roots += [Need(r.target, r.requirement.specifier, "rule", rule=r)
                  for r in self.rules if r.package is None and r.install_option is None]
        # A learned importer, or a package that checked its dependencies at import, was
        # imported by the probe, so it belongs in the set even when it is reached only
        # through projects nobody tracks (pyarrow through datasets); pinning it is what
        # lets its rule apply.
        searched = {need.name for need in roots}
        roots += [Need(name, SpecifierSet(), "rule", rule=r)
                  for r in self.rules
                  if (r.when_imports is not None or r.kind is RuleKind.DEPENDENCY_CHECK)
                  and (name := r.package) and name not in searched]
        resolution = Resolver(provider, _Reporter(self.events)).resolve(roots, max_rounds=500)
        self._extras = {name: c.extras for name, c in resolution.mapping.items()}
        return {name: c.version for name, c in resolution.mapping.items()}

    def _provider(self) -> SolveProvider:
        """One provider per universe and rule set; it caches which releases install."""
        key = repr((sorted(self.universe), self.rules))
        if self._cached_provider is None or self._cached_provider[0] != key:
            self._cached_provider = (key, SolveProvider(
                self.index,
                universe=self.universe,
                rules=[r for r in self.rules if r.install_option is None],
                pins=self.scenario.pins,
                extras={t.name: t.extras for t in self.scenario.targets},
                python_version=self.interpreter.python_version,
                tags=self.interpreter.tags,
                environment=self.interpreter.environment,
                allow_sdist=self.scenario.allow_sdist,
                imports_symbol=self._imports_symbol,
                order=[t.name for t in self.scenario.targets],
                installable=self._installable,
                meetable=self._meetable,
            ))
        return self._cached_provider[1]

    def _imports_symbol(self, candidate: Candidate, rule: Rule) -> bool:
        """Whether `rule` applies to this release of its importer.

        It does for the release a probe saw fail, and wherever a scan finds the
        import or cannot tell: a rule is safer applied than dropped.
        """
        check = rule.when_imports
        assert check is not None
        if check.observed is not None and Version(check.observed) == candidate.version:
            return True
        answer = self.scanner.imports(candidate.name, candidate.version, check.module, check.symbol)
        return answer is not False

    def _request(self, pins: dict[NormalizedName, Version]) -> ProbeRequest:
        requirements = []
        for name, version in sorted(pins.items()):
            target = self.scenario.target(name)
            chosen = self._extras.get(name) or (target.extras if target else frozenset())
            requirements.append(Candidate(name, version, chosen).requirement())
        build_rules = [r for r in self.rules
                       if r.install_option is InstallOption.BUILD_WITHOUT_ISOLATION]
        options = replace(
            self.options,
            base=self.scenario.pin_requirements() if self.scenario.base_layer else (),
            pre_install=tuple(dict.fromkeys(
                (*self.options.pre_install, *(r.requires for r in build_rules)))),
            no_build_isolation=tuple(dict.fromkeys(
                (*self.options.no_build_isolation, *(str(r.package) for r in build_rules)))),
        )
        return ProbeRequest(
            requirements=tuple(requirements),
            code=self.scenario.code,
            python=self.scenario.python,
            options=options,
            timeout=self.scenario.timeout,
        )

    def _stored(self, request: ProbeRequest) -> ProbeOutcome | None:
        """The store's outcome for this request, unless this run must probe it again."""
        if self.refresh and request.requirements not in self._refreshed:
            return None
        return self.store.lookup(request, self.interpreter.version, self.interpreter.platform)

    def _probe_or_none(self, pins: dict[NormalizedName, Version],
                       purpose: Purpose) -> ProbeOutcome | None:
        try:
            return self._probe(pins, purpose)
        except _Budget:
            return None

    def _probe(self, pins: dict[NormalizedName, Version], purpose: Purpose) -> ProbeOutcome:
        request = self._request(pins)
        refresh = self.refresh and request.requirements not in self._refreshed
        stored = self._stored(request)
        if stored is None:
            if self.installs >= self.max_installs or self._out_of_time():
                raise _Budget()
            self.events("install", f"{purpose}: installing {len(request.requirements)} pins")
            outcome = run_probe(request, store=self.store, refresh=refresh,
                                progress=lambda text: self.events("progress", text))
            self._refreshed.add(request.requirements)
        else:
            outcome = stored
        return self._take(pins, purpose, outcome)

    def _take(self, pins: dict[NormalizedName, Version], purpose: Purpose,
              outcome: ProbeOutcome) -> ProbeOutcome:
        """Record an attempt and say how it went."""
        self.attempts.append(Attempt(purpose, {n: str(v) for n, v in pins.items()}, outcome))
        verdict = "passed" if outcome else outcome.failure.summary()  # type: ignore[union-attr]
        cached = " (from the store)" if outcome.cached else ""
        self.events("outcome", f"probe #{outcome.probe_id}{cached}: {verdict}")
        return outcome

    def _reprobe(self, fixed: dict[str, Version], purpose: Purpose) -> ProbeOutcome | None:
        """A probe the teacher asks for, with `fixed` pinned and the rest re-resolved.

        Re-resolving keeps the set consistent with declared metadata (moving the
        hub back may need an older transformers), so the probe tests the one
        thing asked. None when no consistent set exists or the budget is spent.
        """
        try:
            pins = self._propose({canonicalize_name(n): v for n, v in fixed.items()})
            return self._probe(pins, purpose)
        except (_Budget, ResolutionImpossible, ResolutionTooDeep):
            return None

    def _learn(self, outcome: ProbeOutcome, pins: dict[NormalizedName, Version]) -> bool:
        """Learn from the failure, then from each import it hid that the files prove missing."""
        learned = False
        suspects = read_ahead_cases(outcome, self.scanner, lambda: {b.key for b in self.boundaries})
        for case in itertools.chain([outcome], suspects):
            if case is not outcome:
                self.events("read ahead", f"probe #{outcome.probe_id}'s files also show: "
                            f"{case.failure.summary()}")
            lesson = self.teacher.learn(case, pins)
            new_rules = [r for r in lesson.rules if r not in self.rules]
            said = {_gist(r) for r in self.rules}  # the same rule, other evidence: said once
            new_projects = lesson.universe - self.universe
            self.rules += new_rules
            self.universe |= lesson.universe
            known = {b.key for b in self.boundaries}
            self.boundaries += [b for b in lesson.boundaries if b.key not in known]
            self.notes += lesson.notes
            for rule in new_rules:
                if _gist(rule) not in said:
                    self.events("learn", rule.describe())
            learned = learned or bool(new_rules or new_projects)
        return learned

    def _out_of_time(self) -> bool:
        return time.monotonic() - self._started > self.scenario.budget.max_minutes * 60

    def _result(self, status: Verdict, reason: str, passed: ProbeOutcome | None = None,
                chain: list[str] | None = None) -> SolveResult:
        self.confirmations.flush()
        pins = self.attempts[-1].pins if passed is not None else {}
        installed = dict(passed.installed) if passed is not None else {}
        return SolveResult(
            scenario=self.scenario.name,
            status=status,
            reason=reason,
            pins=pins,
            installed=installed,
            installer=passed.installer if passed is not None else self.options.installer,
            python=str(self.interpreter.version),
            platform=self.interpreter.platform,
            rules=list(self.rules),
            boundaries=list(self.boundaries),
            attempts=list(self.attempts),
            chain=chain or [],
            notes=list(self.notes),
            scans=self.scanner.count,
            micro_probes=self.scanner.micro_probes,
            side_by_side=self.confirmations.side_by_side,
            build_requirements=declared_builds(self.index, self.rules, installed),
            seconds=time.monotonic() - self._started,
        )


def _gist(rule: Rule) -> tuple:
    """A rule without its evidence: what it demands, of whom."""
    return (rule.requires, rule.package, rule.versions, rule.kind, rule.install_option,
            rule.when_imports)


def micro_backend(options: InstallOptions) -> InstallerBackend:
    """uv where it is installed: a micro-probe only reads one release, and uv fetches it
    about three times faster; the probe's own installer otherwise. Same sources either way."""
    try:
        return backend_for("auto")
    except UsageError:
        return backend_for(options.installer)
