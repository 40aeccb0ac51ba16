"""The scheduler: one heap of events, one seeded random, no threads.

Events are ``(time, priority, sequence, action)``; the sequence number makes
simultaneous events of the same priority come out in the order they were
scheduled (SimPy's rule), so a run is a pure function of its inputs and seed.

>>> from harness.clock import VirtualClock
>>> s = Scheduler(VirtualClock(), seed=7)
>>> seen = []
>>> s.after(0.002, lambda: seen.append("b"))
>>> s.after(0.001, lambda: seen.append("a"))
>>> s.run()
2
>>> seen, s.clock.now
(['a', 'b'], 0.002)
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

from harness.clock import VirtualClock

Action = Callable[[], None]


class BudgetExceeded(Exception):
    """The run did more steps than its budget allows: something never settles."""


class Scheduler:
    """A discrete-event loop over a :class:`VirtualClock`."""

    def __init__(self, clock: VirtualClock, *, seed: int) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.clock = clock
        self.random = random.Random(seed)
        self._heap: list[tuple[float, int, int, Action]] = []
        self._sequence = 0

    def at(self, when: float, action: Action, *, priority: int = 1) -> None:
        """Run ``action`` at virtual time ``when`` (now, if ``when`` has passed)."""
        if when < self.clock.now:
            when = self.clock.now
        self._sequence += 1
        heapq.heappush(self._heap, (when, priority, self._sequence, action))

    def after(self, delay: float, action: Action, *, priority: int = 1) -> None:
        """Run ``action`` ``delay`` virtual seconds from now."""
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        self.at(self.clock.now + delay, action, priority=priority)

    def peek(self) -> float | None:
        """The time of the next event, or None when nothing is scheduled."""
        return self._heap[0][0] if self._heap else None

    def step(self) -> bool:
        """Pop and run the next event; return False when there was none."""
        if not self._heap:
            return False
        when, _, _, action = heapq.heappop(self._heap)
        self.clock.advance_to(when)
        action()
        return True

    def run(self, *, until: float | None = None, max_events: int = 1_000_000) -> int:
        """Run events until none is left, the next is after ``until``, or the budget is spent.

        Returns how many events ran. Raises :class:`BudgetExceeded` when
        ``max_events`` ran and more were waiting: the world never settles.
        """
        heap = self._heap
        clock = self.clock
        count = 0
        while heap:
            if until is not None and heap[0][0] > until:
                break
            if count >= max_events:
                raise BudgetExceeded(f"more than {max_events} events without settling")
            when, _, _, action = heapq.heappop(heap)
            clock.advance_to(when)
            action()
            count += 1
        return count
