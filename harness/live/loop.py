"""The real-time loop: the scheduler of a live world, in wall-clock seconds.

It keeps the simulator's scheduler interface (``at``, ``after``, ``peek``,
``step``, ``run``, ``random``, ``clock``), so that a workload schedules its
trace's steps, its restarts and its timers the same way in both worlds. What
differs is what makes time pass: the loop sleeps until the next timer is due,
and meanwhile it *pumps* the real servers (pika's ``process_data_events``),
whose callbacks schedule the deliveries they bring for now.

A live run has no event heap that empties by itself: messages may be on their
way from RabbitMQ, or waiting out a TTL. :meth:`RealTimeLoop.run` ends when no
timer is left, every pump says it is idle, nothing arrived for :data:`QUIET`
seconds and no server's check (:meth:`RealTimeLoop.add_check`) sees anything
still to move; and at the latest at its real-time deadline, with
:class:`LiveTimeout`.

>>> loop = RealTimeLoop(seed=0)
>>> seen = []
>>> loop.after(0.002, lambda: seen.append("b"))
>>> loop.after(0.001, lambda: seen.append("a"))
>>> loop.run(), seen
(2, ['a', 'b'])
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable

from harness.scheduler import BudgetExceeded

Action = Callable[[], None]

QUIET = 0.05
"""Real seconds without any delivery or timer, every pump idle, before a run counts as settled:
longer than a delivery takes on its way from RabbitMQ on this machine (well under 1 ms)."""
PUMP_EVERY = 0.001
"""Real seconds the loop may run due events without reading the servers in between."""
DEADLINE = 60.0
"""Real seconds one live run may take before it fails as one that never settles."""


class LiveTimeout(Exception):
    """A live run did not settle before its real-time deadline."""


class RealClock:
    """Wall-clock seconds since the world began (``time.time()``, the clock the learner's code
    reads too, so that a time it stamps and the world's agree), read as ``clock.now``.

    It cannot be moved: :meth:`advance_to` and :meth:`advance_by` leave it as it is
    (a port's virtual latency costs no real time).

    >>> clock = RealClock()
    >>> 0.0 <= clock.now < 1.0
    True
    """

    __slots__ = ("epoch",)

    slack = 0.020
    """Real seconds by which two readings of one moment may differ: the time the learner's
    code stamps for a call and the time the world records it (the checkers allow for it)."""

    def __init__(self) -> None:
        self.epoch = time.time()
        """What ``time.time()`` read when the world began (its time 0)."""

    @property
    def now(self) -> float:
        return time.time() - self.epoch

    def advance_to(self, when: float) -> None:
        """Real time is not moved by the harness: nothing happens."""

    def advance_by(self, seconds: float) -> None:
        """Real time is not moved by the harness: nothing happens."""


Pump = Callable[[float], bool]
"""Lets a server's I/O run for at most the given seconds; returns whether it is idle
(nothing in flight that it knows of)."""
Check = Callable[[], bool]
"""Whether a server still holds something that will move without the harness (a message
that will expire to another queue, a ready message a consumer has room for)."""


class RealTimeLoop:
    """Timers in real time, and the servers' I/O between them (see the module)."""

    def __init__(
        self, *, seed: int, quiet: float = QUIET, deadline: float = DEADLINE, what: str = ""
    ) -> None:
        self.clock = RealClock()
        self.random = random.Random(seed)
        self.quiet = quiet
        self.deadline = deadline
        self.what = what or "a live run"
        self._heap: list[tuple[float, int, int, Action]] = []
        self._sequence = 0
        self._pumps: list[Pump] = []
        self._checks: list[Check] = []
        self._pumped_at = 0.0
        self._last_event = 0.0
        self.events = 0

    # -- the scheduler's interface --------------------------------------------------------------

    def at(self, when: float, action: Action, *, priority: int = 1) -> None:
        """Run ``action`` at ``when`` seconds since the world began (now, if that has passed)."""
        self._sequence += 1
        heapq.heappush(self._heap, (when, priority, self._sequence, action))

    def after(self, delay: float, action: Action, *, priority: int = 1) -> None:
        """Run ``action`` ``delay`` real seconds from now."""
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        self.at(self.clock.now + delay, action, priority=priority)

    def soon(self, action: Action) -> None:
        """Run ``action`` as soon as the loop is back (what a server's callback hands over)."""
        self.at(self.clock.now, action)

    def peek(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def step(self) -> bool:
        """Run the next event, waiting for it in real time (the servers pumped meanwhile);
        False once the world has settled, as the simulator's ``step`` once its heap is empty.

        Raises :class:`LiveTimeout` past the loop's deadline."""
        return self._next(None) == "ran"

    def _run_due(self) -> bool:
        """Run the next event if it is due now; whether one ran."""
        if self._heap and self._heap[0][0] <= self.clock.now:
            _, _, _, action = heapq.heappop(self._heap)
            action()
            self.events += 1
            self._last_event = self.clock.now
            return True
        return False

    # -- pumping ----------------------------------------------------------------------------------

    def add_pump(self, pump: Pump) -> None:
        """Pump ``pump`` between timers (a connection's I/O) until :meth:`remove_pump`."""
        self._pumps.append(pump)

    def remove_pump(self, pump: Pump) -> None:
        if pump in self._pumps:
            self._pumps.remove(pump)

    def add_check(self, check: Check) -> None:
        """Ask ``check`` before the loop ends whether anything is still on its way."""
        self._checks.append(check)

    def _settled(self) -> bool:
        """Whether no server has anything left that will still move (see :data:`Check`)."""
        return not any(check() for check in self._checks)

    def pump(self, seconds: float = 0.0) -> bool:
        """Let every server's I/O run (at most ``seconds`` in all); True when all are idle."""
        pumps = list(self._pumps)
        if not pumps:
            if seconds > 0:
                time.sleep(seconds)
            return True
        share = seconds / len(pumps)
        idle = True
        for pump in pumps:
            idle = pump(share) and idle
        return idle

    def run(self, *, until: float | None = None, max_events: int = 1_000_000) -> int:
        """Run timers and I/O until the world settles, ``until`` (seconds) passes, or the
        deadline does (:class:`LiveTimeout`). Returns how many events ran.

        Raises :class:`~harness.scheduler.BudgetExceeded`, as the simulator does, when
        ``max_events`` ran and more were waiting.
        """
        count = 0
        self._last_event = self.clock.now
        while True:
            if count >= max_events and self._heap and self._heap[0][0] <= self.clock.now:
                raise BudgetExceeded(f"more than {max_events} events without settling")
            if self._next(until) != "ran":
                return count
            count += 1

    def _next(self, until: float | None) -> str:
        """Wait for the next event and run it ("ran"), or say that the world settled
        ("settled") or that ``until`` passed ("until")."""
        clock = self.clock
        while True:
            now = clock.now
            if until is not None and now >= until:
                return "until"
            if now > self.deadline:
                raise LiveTimeout(
                    f"{self.what} did not settle within {self.deadline:g} s of real time "
                    f"({self.events} events ran; {len(self._heap)} timers still waiting). A "
                    "consumer that never settles a delivery keeps it forever; a loop that "
                    "republishes without end never lets the queue empty."
                )
            # What is due runs first; the servers are read between events at most every
            # PUMP_EVERY seconds (a read is a system call), and always before the loop waits.
            if now - self._pumped_at < PUMP_EVERY and self._run_due():
                return "ran"
            idle = self.pump(0.0)
            self._pumped_at = clock.now
            if self._run_due():
                return "ran"
            due = self._heap[0][0] if self._heap else None
            if due is None and until is None and idle and now - self._last_event >= self.quiet:
                if self._settled():
                    return "settled"
                self._last_event = now  # messages are still on their way: look again later
            # Wait for I/O, at most until the next timer (or a little, to look again).
            wait = 0.002 if due is None else max(0.0, min(due - clock.now, 0.002))
            self.pump(wait)
