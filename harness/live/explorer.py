"""Playing a chapter's traces on the real servers: the explorer of ``--world live``.

:class:`LiveExplorer` answers what a chapter test asks of the kit's explorer
(``once``, ``every_single_crash``, ``every_pair_of_crashes``,
``random_faults``), with the same workloads, traces and promises, but each run
is a world on RabbitMQ (:func:`harness.world.on_servers`):

- it plays the crash-free schedule of each trace and every single-crash
  schedule of that run (one crash before, one after, each call the component
  made); pairs of crashes and Hypothesis's random faults stay on the simulator;
- a crash is an abrupt close of the component's connection at the port call
  (:meth:`harness.live.rabbit.RabbitBroker.close_channel`), and the redelivery
  that follows is RabbitMQ's own;
- a live run promises no determinism, no shrinking and no replay token: the
  same schedule may interleave differently on the next run. Its failure is a
  :class:`LiveBroken`, which says so;
- when a live run breaks a promise, the simulator plays the same trace under
  the same schedule, and the failure says what each world gave;
- promises that measure milliseconds of virtual time
  (:data:`harness.live.chapters.TIMED`) are not judged live: the simulator
  judges them, and the session's summary names them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from harness.clock import frozen_time
from harness.errors import LearnerError, NotDone
from harness.explore import Exploration, Factory, first_broken
from harness.faults import Schedule, single_crash_schedules_of
from harness.live.chapters import LIVE, ON_POSTGRES, TIMED, UNSAFE, reason_not_live
from harness.live.comparison import Comparison, compare
from harness.live.loop import LiveTimeout
from harness.outcome import Outcome
from harness.promises import Promise
from harness.timeline import Timeline
from harness.traces import Trace
from harness.watchdog import stopping_runaway_loops
from harness.world import on_servers


class NotPlayedLive(Exception):
    """What this test asks cannot be played live; the message says why and what to run."""


class LiveBroken(AssertionError):
    """A live run broke a promise; carries both worlds' outcomes (see :class:`Comparison`)."""

    def __init__(self, comparison: Comparison, *, runs: int, where: str) -> None:
        self.comparison = comparison
        self.promise = comparison.promise
        self.verdict = comparison.live_verdict
        self.outcome = comparison.live
        self.trace = comparison.trace
        self.runs = runs
        self.where = where
        super().__init__(
            f"broken promise {self.promise.id!r} on {where}: {self.verdict.observed} "
            f"(live: no replay token)"
        )


@dataclass
class LiveStats:
    """What live runs took, for the summary at the end of a session."""

    runs: int = 0
    seconds: float = 0.0
    deliveries: int = 0
    unplayed: set[str] = field(default_factory=set)
    """The traces live runs left to the simulator, with why (:data:`UNSAFE`)."""
    unjudged: set[str] = field(default_factory=set)
    """The timed promises live runs left to the simulator (:data:`TIMED`)."""
    disagreements: list[str] = field(default_factory=list)
    """Cases where a live run kept every promise and the simulator, on the same schedule, did
    not: said at the end of the session, since the live run is the one that counts."""


class LiveExplorer:
    """The explorer of live mode (see the module), on ``servers`` (a
    :class:`harness.live.servers.Live`).

    ``where`` names the server for people (``RabbitMQ at 127.0.0.1:5672``).
    """

    replay = None

    def __init__(self, servers: Any, *, where: str, stats: LiveStats | None = None) -> None:
        self.servers = servers
        self.where = where
        self.stats = stats or LiveStats()
        self.runs = 0
        self.world = where
        """The servers of the workload under test, for people (RabbitMQ, and PostgreSQL)."""
        self.explored: Exploration | None = None

    # -- what a chapter test asks --------------------------------------------------------------

    def once(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Each trace once, without a crash, on the real servers; the promises must hold."""
        self._start(workload, factory, traces, promises)
        for trace in self._playable(traces):
            self._check(workload, factory, trace, Schedule((), trace.seed), promises)
        return self.runs

    def every_single_crash(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Each trace crash-free, then under every single crash of that live run."""
        self._start(workload, factory, traces, promises)
        for trace in self._playable(traces):
            baseline = self._check(workload, factory, trace, Schedule((), trace.seed), promises)
            for schedule in single_crash_schedules_of(baseline, trace.seed):
                self._check(workload, factory, trace, schedule, promises)
        return self.runs

    def every_pair_of_crashes(
        self,
        workload: ModuleType,
        factory: Factory,
        traces: Sequence[Trace],
        promises: Sequence[Promise],
    ) -> int:
        """Live mode plays no pairs: the crash-free and single-crash schedules, as
        :meth:`every_single_crash` does (the pairs are the simulator's)."""
        return self.every_single_crash(workload, factory, traces, promises)

    def random_faults(
        self, workload: ModuleType, factory: Factory, promises: Sequence[Promise], **options: Any
    ) -> int:
        """Not played live: Hypothesis draws, shrinks and replays, which needs determinism."""
        self._start(workload, factory, (), promises)
        raise NotPlayedLive(
            "this test draws random traces and crashes with Hypothesis and shrinks a failure, "
            "which needs a deterministic world; live mode plays the crash-free and single-crash "
            "schedules only. Run it on the simulator: the same command without --world live"
        )

    def single_crash_outcomes(self, workload: ModuleType, factory: Factory, trace: Trace) -> list:
        """The live outcomes of ``trace`` crash-free and under every single crash, unchecked."""
        self._start(workload, factory, (trace,), ())
        baseline = self._run(workload, factory, trace, Schedule((), trace.seed))
        outcomes = [baseline]
        for schedule in single_crash_schedules_of(baseline, trace.seed):
            outcomes.append(self._run(workload, factory, trace, schedule))
        return outcomes

    # -- machinery ------------------------------------------------------------------------------

    def _start(self, workload, factory, traces, promises) -> None:
        name = getattr(workload, "NAME", getattr(workload, "__name__", "?"))
        if name not in LIVE:
            raise NotPlayedLive(reason_not_live(name))
        self.world = self.where
        if name in ON_POSTGRES:
            dsn = self.servers.postgres()  # ServerMissing, before any run, if none answers
            self.world = f"{self.where} and PostgreSQL ({_host(dsn)})"
        if promises and all(promise.id in TIMED for promise in promises):
            raise NotPlayedLive(
                "every promise this test checks measures milliseconds of virtual time ("
                + "; ".join(f"{p.id}: {TIMED[p.id]}" for p in promises)
                + "), which a real RabbitMQ does not keep to the millisecond. Run it on the "
                "simulator: the same command without --world live"
            )
        self.explored = Exploration(workload, factory, tuple(traces), tuple(promises))

    def _playable(self, traces: Sequence[Trace]) -> list[Trace]:
        """The traces a real server can play unharmed (:data:`UNSAFE`); the others are left
        to the simulator, and named at the end of the session."""
        playable = []
        for trace in traces:
            unsafe = sorted(_actions(trace) & set(UNSAFE))
            if not unsafe:
                playable.append(trace)
                continue
            self.stats.unplayed.add(f"{trace.name} ({UNSAFE[unsafe[0]]})")
        if traces and not playable:
            names = ", ".join(trace.name for trace in traces)
            raise NotPlayedLive(
                f"live mode does not play {names}: "
                + "; ".join(sorted({UNSAFE[a] for t in traces for a in _actions(t) & set(UNSAFE)}))
                + ". Run it on the simulator: the same command without --world live"
            )
        return playable

    def _judged(self, promises: Sequence[Promise]) -> list[Promise]:
        """The promises a live run judges: all but the timed ones (:data:`TIMED`)."""
        judged = [promise for promise in promises if promise.id not in TIMED]
        self.stats.unjudged.update(p.id for p in promises if p.id in TIMED)
        return judged

    def _run(self, workload: ModuleType, factory: Factory, trace: Trace, schedule: Schedule):
        self.runs += 1
        started = time.perf_counter()
        try:
            with on_servers(self.servers), stopping_runaway_loops():
                outcome = workload.run(factory, trace, schedule)
        except LiveTimeout as error:
            raise LearnerError(error, f"the live run of {trace.name}", Timeline()) from error
        finally:
            self.servers.close_all()
            self.stats.runs += 1
            self.stats.seconds += time.perf_counter() - started
        self.stats.deliveries += sum(
            1 for step in outcome.timeline.steps if step.what.startswith("deliver ")
        )
        return outcome

    def _check(
        self,
        workload: ModuleType,
        factory: Factory,
        trace: Trace,
        schedule: Schedule,
        promises: Sequence[Promise],
    ) -> Outcome:
        try:
            live = self._run(workload, factory, trace, schedule)
        except (LearnerError, NotDone):
            raise
        promises = self._judged(promises)
        broken = first_broken(live, promises)
        simulated = self._simulate(workload, factory, trace, schedule)
        if broken is None:
            if simulated is not None:
                on_sim = first_broken(simulated, promises)
                if on_sim is not None:
                    self.stats.disagreements.append(
                        f"{trace.name}, {schedule.describe()}: RabbitMQ kept every promise; "
                        f"the simulator broke {on_sim[0].id!r} ({on_sim[1].observed})"
                    )
            return live
        comparison = compare(broken, live, simulated, promises, trace, schedule)
        raise LiveBroken(comparison, runs=self.runs, where=self.world)

    def _simulate(
        self, workload: ModuleType, factory: Factory, trace: Trace, schedule: Schedule
    ) -> Outcome | None:
        """The same trace and schedule on the simulator (None if it raised there)."""
        try:
            with frozen_time() as freezer, stopping_runaway_loops():
                return workload.run(factory, trace, schedule, freezer=freezer)
        except Exception:
            return None


def _host(dsn: str) -> str:
    """``127.0.0.1:5432`` from a libpq string."""
    fields = dict(part.split("=", 1) for part in dsn.split() if "=" in part)
    return f"{fields.get('host', 'localhost')}:{fields.get('port', '5432')}"


def _actions(trace: Trace) -> set[str]:
    return {step.action for step in trace.steps}
