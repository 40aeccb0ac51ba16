"""Exploring crash schedules: every single crash (exhaustive), or many drawn by Hypothesis.

The explorer runs a learner's component through a workload under crash
schedules and checks the promises after each run. The first broken promise
ends the exploration with :class:`PromiseBroken`, carrying the smallest case
found and the token that replays exactly that case.

- :meth:`Explorer.every_single_crash` is small-scope model checking: it runs
  the trace once without crashes, then once for every call the component
  made, crashing just before it and just after it. A failure is shrunk by
  dropping trace steps while the same promise still breaks.
- :meth:`Explorer.every_pair_of_crashes` goes one crash further: after no
  crash and every single crash, it runs every pair of crash points, the
  second at a call of the run that the first crash left (a crash that strikes
  the recovery from the first). A first crash that leaves the world exactly
  as another did (the same timeline, crash lines aside, and as many calls
  after it) has the same pairs, so they are run once. Meant for the shortest
  traces: a trace of *n* calls takes on the order of *n*² runs.
- :meth:`Explorer.random_faults` lets Hypothesis draw generated traces with
  several crashes and gateway failures, and shrink a failure to a minimal one.

Both exhaustive explorations shrink a failure by dropping trace steps while
the same promise still breaks under some schedule of as many crashes at most.

Each exploration is remembered as an :class:`Exploration` (``explorer.explored``), so
that one of its cases can be run again by its token after the test has failed:
:func:`replay_case` runs it (as ``--replay`` does, without raising), and the
debugger page watches that one run step by step (:mod:`harness.debugger`).

A replay token reads ``TRACE[~DROPPED]/CRASHES@sSEED``: ``queue-three-orders~1/4a@s0``
is the trace ``queue-three-orders`` without its step 1, crashing after call 4,
seed 0; ``queue-one-order/1b.2a@s0`` crashes before call 1, then after call 2
(calls are numbered over the whole run, restarts included); ``gen:0.2/3b@s7`` is
a generated trace of two orders, the second timing out twice, crashing before
call 3, seed 7. In a world with several components under test, each crash point
names its actor: ``two-relays/relay-2:4a@s0`` crashes ``relay-2`` after its call 4.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from harness.checkers import Verdict
from harness.clock import frozen_time
from harness.errors import LearnerError, NotDone
from harness.faults import (
    CrashPoint,
    RunawayLoop,
    Schedule,
    aftermath,
    crash_pair_schedules,
    single_crash_schedules_of,
)
from harness.outcome import Outcome
from harness.promises import Promise
from harness.timeline import Timeline
from harness.traces import Trace
from harness.watchdog import stopping_runaway_loops

Factory = Callable[..., Any]


class PromiseBroken(AssertionError):
    """A run broke a promise. Carries everything a person needs to see and replay it."""

    def __init__(
        self,
        promise: Promise,
        verdict: Verdict,
        outcome: Outcome,
        trace: Trace,
        token: str,
        *,
        runs: int,
        shrunk_from: int | None = None,
        dropped: tuple[int, ...] = (),
    ) -> None:
        self.promise = promise
        self.verdict = verdict
        self.outcome = outcome
        self.trace = trace
        self.token = token
        self.runs = runs
        self.shrunk_from = shrunk_from
        self.dropped = dropped
        super().__init__(f"broken promise {promise.id!r}: {verdict.observed} (replay {token})")


class ReplayError(ValueError):
    """A replay token that does not fit the test it was given to."""


@dataclass(frozen=True)
class Case:
    """One trace (possibly with steps dropped) under one schedule."""

    trace: Trace
    schedule: Schedule
    dropped: tuple[int, ...] = ()

    @property
    def token(self) -> str:
        dropped = "~" + ".".join(map(str, self.dropped)) if self.dropped else ""
        return f"{self.trace.name}{dropped}/{self.schedule.token}"


@dataclass(frozen=True)
class Exploration:
    """What a chapter test handed the explorer: enough to replay any case of it by its token.

    ``generate`` holds the keyword arguments of :meth:`Explorer.random_faults` (its
    traces are drawn, so ``traces`` is empty); None for the explorations of trace files.
    """

    workload: ModuleType
    factory: Factory
    traces: tuple[Trace, ...]
    promises: tuple[Promise, ...]
    generate: dict[str, Any] | None = None


_REPLAY = re.compile(r"^(?P<trace>[^~/]+)(~(?P<dropped>\d+(\.\d+)*))?/(?P<schedule>.+)$")


def first_broken(outcome: Outcome, promises: Sequence[Promise]) -> tuple[Promise, Verdict] | None:
    """The first promise (in the given order) that ``outcome`` breaks, with its verdict."""
    for promise in promises:
        verdict = promise(outcome)
        if not verdict.holds:
            return promise, verdict
    return None


def drop(trace: Trace, dropped: Sequence[int]) -> Trace:
    """``trace`` without the steps at the given (original) indexes."""
    for index in sorted(dropped, reverse=True):
        if not 0 <= index < len(trace.steps):
            raise ReplayError(f"trace {trace.name!r} has no step {index} to drop")
        trace = trace.without(index)
    return trace


class Explorer:
    """Runs components through crash schedules and checks promises.

    ``replay`` (a token) makes every exploration run that one case only.
    ``hypothesis_settings`` are used by :meth:`random_faults`, whose remembered
    failures are filed under ``database_key`` (the test's own name: see
    :mod:`harness.example_database`).
    """

    def __init__(
        self,
        *,
        replay: str | None = None,
        hypothesis_settings: Any = None,
        database_key: str = "",
    ) -> None:
        self.replay = replay
        self.hypothesis_settings = hypothesis_settings
        self.database_key = database_key
        self._generated = 0
        self.runs = 0
        self.explored: Exploration | None = None
        """The last exploration asked of this explorer (see :func:`replay_case`)."""

    # -- the three ways to explore -------------------------------------------------------------

    def once(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Run each trace once without any crash; the promises must hold."""
        self._explore(workload, factory, traces, promises)
        if self.replay:
            return self._replay(workload, factory, traces, promises)
        with frozen_time() as freezer:
            for trace in traces:
                case = Case(trace, Schedule((), trace.seed))
                self._check(workload, factory, case, promises, freezer)
        return self.runs

    def every_single_crash(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Run each trace under no crash and under every single crash; the promises must hold.

        Returns how many runs it took.
        """
        self._explore(workload, factory, traces, promises)
        if self.replay:
            return self._replay(workload, factory, traces, promises)
        with frozen_time() as freezer:
            for trace in traces:
                failure = self._single_crashes(workload, factory, trace, (), promises, freezer)
                if failure is not None:
                    raise self._shrink(workload, factory, failure, promises, freezer)
        return self.runs

    def every_pair_of_crashes(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Run each trace under no crash, every single crash and every pair of crashes.

        The promises must hold in every run. The second crash of a pair strikes a
        call made after the first one, so it may strike the recovery itself (the
        redelivery of what the first crash left unacknowledged). A failure is
        reported with the fewest crashes that show it on its trace, then shrunk by
        dropping trace steps; its replay token names both crash points
        (``queue-one-order/1b.2a@s0``). Returns how many runs it took.

        Use it on the shortest traces: a trace whose run makes *n* calls takes on
        the order of *n*² runs (first crashes that leave the world the same way
        share their pairs, which are run once).
        """
        self._explore(workload, factory, traces, promises)
        if self.replay:
            return self._replay(workload, factory, traces, promises)
        with frozen_time() as freezer:
            for trace in traces:
                failure = self._crash_pairs(workload, factory, trace, (), promises, freezer)
                if failure is not None:
                    raise self._shrink(
                        workload, factory, failure, promises, freezer, explore=self._crash_pairs
                    )
        return self.runs

    def single_crash_outcomes(
        self, workload: ModuleType, factory: Factory, trace: Trace
    ) -> list[Outcome]:
        """The outcomes of ``trace`` under no crash and under every single crash (unchecked)."""
        with frozen_time() as freezer:
            baseline = self._run(workload, factory, Case(trace, Schedule((), trace.seed)), freezer)
            outcomes = [baseline]
            for schedule in single_crash_schedules_of(baseline, trace.seed):
                outcomes.append(self._run(workload, factory, Case(trace, schedule), freezer))
        return outcomes

    def random_faults(
        self,
        workload: ModuleType,
        factory: Factory,
        promises: Sequence[Promise],
        *,
        max_crashes: int = 3,
        actors: Sequence[str] = (),
        **generate: Any,
    ) -> int:
        """Let Hypothesis draw traces with up to ``max_crashes`` crashes; the promises must hold.

        With ``actors`` (the names of the components under test), each crash
        point names the one actor it strikes.
        """
        self._explore(workload, factory, (), promises, generate)
        if self.replay:
            return self._replay(workload, factory, [], promises, generate=generate)
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st

        crash_points = st.lists(
            st.builds(
                CrashPoint,
                st.integers(1, 40),
                st.sampled_from(["before", "after"]),
                st.sampled_from(list(actors) or [""]),
            ),
            max_size=max_crashes,
            unique=True,
        )
        largest = [0]
        base = self.hypothesis_settings or settings()
        database = base.database
        if database is not None:
            from harness.example_database import Keyed

            self._generated += 1
            name = getattr(workload, "__name__", "")
            key = f"{self.database_key}\0{name}\0{self._generated}"
            database = Keyed(database, key.encode())
        chosen = settings(
            base,
            database=database,
            phases=[phase for phase in base.phases if phase is not Phase.explain],
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            report_multiple_bugs=False,
        )

        @chosen
        @given(spec=workload.specs(), crashes=crash_points, seed=st.integers(0, 2**16))
        def case(spec: tuple[int, ...], crashes: list[CrashPoint], seed: int) -> None:
            trace = workload.generate(spec, **generate)
            current = Case(trace, Schedule(tuple(crashes), seed))
            try:
                self._check(workload, factory, current, promises, freezer)
            except PromiseBroken as broken:
                largest[0] = max(largest[0], len(broken.outcome.timeline))
                if largest[0] > len(broken.outcome.timeline):
                    broken.shrunk_from = largest[0]
                raise

        with frozen_time() as freezer:
            # One plain run first: a stub's NotImplementedError surfaces at once, unshrunk.
            self._check(
                workload,
                factory,
                Case(workload.generate((0,), **generate), Schedule()),
                promises,
                freezer,
            )
            case()
        return self.runs

    # -- machinery ------------------------------------------------------------------------------

    def _explore(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
        generate: dict[str, Any] | None = None,
    ) -> None:
        self.explored = Exploration(workload, factory, tuple(traces), tuple(promises), generate)

    def _run(self, workload: ModuleType, factory: Factory, case: Case, freezer: object) -> Outcome:
        self.runs += 1
        try:
            with stopping_runaway_loops():
                return workload.run(factory, case.trace, case.schedule, freezer=freezer)
        except RunawayLoop as error:  # struck outside learner code: the run is stopped all the same
            raise LearnerError(error, "a run of the trace", Timeline()) from error

    def _check(
        self,
        workload: ModuleType,
        factory: Factory,
        case: Case,
        promises: Sequence[Promise],
        freezer: object,
    ) -> Outcome:
        try:
            outcome = self._run(workload, factory, case, freezer)
        except (LearnerError, NotDone) as error:
            error.token = case.token
            raise
        broken = first_broken(outcome, promises)
        if broken is not None:
            raise PromiseBroken(
                *broken, outcome, case.trace, case.token, runs=self.runs, dropped=case.dropped
            )
        return outcome

    def _single_crashes(
        self,
        workload: ModuleType,
        factory: Factory,
        trace: Trace,
        dropped: tuple[int, ...],
        promises: Sequence[Promise],
        freezer: object,
    ) -> PromiseBroken | None:
        try:
            baseline = self._check(
                workload, factory, Case(trace, Schedule((), trace.seed), dropped), promises, freezer
            )
            for schedule in single_crash_schedules_of(baseline, trace.seed):
                self._check(workload, factory, Case(trace, schedule, dropped), promises, freezer)
        except PromiseBroken as broken:
            return broken
        return None

    def _crash_pairs(
        self,
        workload: ModuleType,
        factory: Factory,
        trace: Trace,
        dropped: tuple[int, ...],
        promises: Sequence[Promise],
        freezer: object,
    ) -> PromiseBroken | None:
        """No crash, every single crash, then every pair: the first broken promise, if any."""
        firsts: list[tuple[Schedule, Outcome]] = []

        def check(schedule: Schedule) -> Outcome:
            return self._check(workload, factory, Case(trace, schedule, dropped), promises, freezer)

        try:
            baseline = check(Schedule((), trace.seed))
            for schedule in single_crash_schedules_of(baseline, trace.seed):
                firsts.append((schedule, check(schedule)))
            aftermaths, tried = set(), set()
            for first, outcome in firsts:
                seen = aftermath(first, outcome)
                if seen in aftermaths:
                    continue
                aftermaths.add(seen)
                for schedule in crash_pair_schedules(first, outcome):
                    if schedule not in tried:
                        tried.add(schedule)
                        check(schedule)
        except PromiseBroken as broken:
            return broken
        return None

    def _shrink(
        self,
        workload: ModuleType,
        factory: Factory,
        failure: PromiseBroken,
        promises: Sequence[Promise],
        freezer: object,
        *,
        explore: Callable[..., PromiseBroken | None] | None = None,
    ) -> PromiseBroken:
        """Drop trace steps, one at a time, while the same promise still breaks.

        ``explore`` re-explores each smaller trace (default: every single crash).
        """
        explore = explore or self._single_crashes
        original_steps = len(failure.outcome.timeline)
        full = failure.trace
        kept = list(range(len(full.steps)))
        best = failure
        changed = True
        while changed and len(kept) > 1:
            changed = False
            for index in list(kept):
                trial = [i for i in kept if i != index]
                dropped = tuple(i for i in range(len(full.steps)) if i not in trial)
                smaller = drop(full, dropped)
                found = explore(workload, factory, smaller, dropped, promises, freezer)
                if found is not None and found.promise.id == failure.promise.id:
                    kept, best, changed = trial, found, True
                    break
        if len(best.outcome.timeline) < original_steps:
            best.shrunk_from = original_steps
        best.runs = self.runs
        return best

    def _replay(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
        *,
        generate: dict[str, Any] | None = None,
    ) -> int:
        exploration = Exploration(workload, factory, tuple(traces), tuple(promises), generate)
        case = case_of(exploration, self.replay or "")
        with frozen_time() as freezer:
            self._check(workload, factory, case, promises, freezer)
        return self.runs


def case_of(exploration: Exploration, token: str) -> Case:
    """The case ``token`` names among ``exploration``'s traces (or its generated ones).

    Raises :class:`ReplayError`, saying what fits instead, for a token that does not
    fit the exploration.
    """
    match = _REPLAY.match(token)
    if not match:
        raise ReplayError(
            f"cannot read the replay token {token!r}: expected TRACE/SCHEDULE, "
            "as printed on a failure's 'replay:' line"
        )
    name = match["trace"]
    schedule = Schedule.from_token(match["schedule"])
    dropped = tuple(int(i) for i in match["dropped"].split(".")) if match["dropped"] else ()
    by_name = {t.name: t for t in exploration.traces}
    if name in by_name:  # a generated trace explored again by name (harness.shrinking)
        trace = by_name[name]
    elif name.startswith("gen:"):
        if exploration.generate is None:
            raise ReplayError(f"this test does not draw generated traces, so {name!r} is not its")
        try:
            spec = tuple(int(part) for part in name[4:].split("."))
        except ValueError:
            raise ReplayError(f"cannot read the generated trace {name!r}") from None
        trace = exploration.workload.generate(spec, **exploration.generate)
    else:
        known = ", ".join(sorted(by_name)) or "none (it draws generated traces)"
        raise ReplayError(f"this test does not run the trace {name!r}; it runs: {known}")
    return Case(drop(trace, dropped), schedule, dropped)


def replay_case(
    exploration: Exploration, token: str
) -> tuple[Case, Outcome, tuple[Promise, Verdict] | None]:
    """Run the one case ``token`` names, as ``--replay`` does, without raising on a broken promise.

    Returns the case, its outcome and the first promise it breaks with its verdict
    (None when every promise holds). Learner errors propagate as in any run
    (:class:`~harness.errors.LearnerError`, :class:`~harness.errors.NotDone`), carrying
    the token. Nothing of an :class:`Explorer` is touched: the runs it counted stay as they are.

    >>> from harness.workloads import payments_queue
    >>> from harness.promises import NO_LOSS
    >>> class Forgetful:
    ...     def __init__(self, channel, payments):
    ...         self.channel = channel
    ...     def on_message(self, delivery):
    ...         self.channel.ack(delivery.tag)
    >>> explored = Exploration(payments_queue, Forgetful, (), (NO_LOSS,), {})
    >>> case, outcome, broken = replay_case(explored, "gen:0/-@s0")
    >>> broken[0].id, case.token
    ('no-loss', 'gen:0/-@s0')
    """
    case = case_of(exploration, token)
    with frozen_time() as freezer:
        try:
            try:
                with stopping_runaway_loops():
                    outcome = exploration.workload.run(
                        exploration.factory, case.trace, case.schedule, freezer=freezer
                    )
            except RunawayLoop as error:  # struck outside learner code, as in Explorer._run
                raise LearnerError(error, "a run of the trace", Timeline()) from error
        except (LearnerError, NotDone) as error:
            error.token = case.token
            raise
    return case, outcome, first_broken(outcome, exploration.promises)
