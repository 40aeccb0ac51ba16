"""A run that never ends is stopped where it loops, after seconds of CPU time.

One run of a trace takes milliseconds. A loop in learner code that never
calls into the world (``while not self.done: pass``) escapes the call-count
guard of :mod:`harness.faults`; :func:`stopping_runaway_loops` stops it after
:data:`RUN_CPU_LIMIT` seconds of the process's CPU time by raising
:class:`~harness.faults.RunawayLoop` wherever the code is at that moment, so
the failure shows the learner's own file and line, and the run's replay line.
It fires again every second, should learner code catch it.

CPU time, not the clock: a slow or busy machine does not make a correct run
look like a loop, and a run that only waits does not count (the test's own
timeout covers that). On systems without ``setitimer`` (Windows), or off the
main thread, it does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from harness.faults import RunawayLoop

RUN_CPU_LIMIT = 10.0
"""Seconds of CPU time one run may take before it is taken for a loop that never ends."""


@contextmanager
def stopping_runaway_loops(limit: float | None = None) -> Iterator[None]:
    """Within the block, stop the process's code after ``limit`` s of CPU time (see module);
    by default :data:`RUN_CPU_LIMIT`, as it is when the block starts."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    limit = RUN_CPU_LIMIT if limit is None else limit

    def _stop(signum: int, frame: object) -> None:
        raise RunawayLoop(
            f"one run took more than {limit:g} s of CPU time: a loop in your code never "
            "ends (it was stopped where the traceback shows)"
        )

    previous = signal.signal(signal.SIGVTALRM, _stop)
    signal.setitimer(signal.ITIMER_VIRTUAL, limit, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
