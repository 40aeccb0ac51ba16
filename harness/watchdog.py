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

A chapter test as a whole also has a limit in real seconds (pytest-timeout's
``timeout`` marker), which :func:`start_real_time_limit` enforces by raising
:class:`TestTimedOut`. pytest-timeout's own signal raises pytest's ``Failed``,
which Hypothesis takes for a failure of the example it is drawing and then,
unable to reproduce it, reports as flaky data generation; ``TestTimedOut`` is
no exception Hypothesis catches, so the test ends as a timeout wherever it was.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from harness.faults import RunawayLoop


class TestTimedOut(BaseException):
    """A chapter test ran past its limit in real seconds.

    A BaseException that is neither ``Exception`` nor pytest's ``Failed``: learner
    code's ``except Exception`` does not hide it, Hypothesis does not take it for a
    failing example, and the isolation layer does not pass it to the learner's side.
    """

    __test__ = False  # not a test class, whatever pytest's collector thinks of its name

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Timeout >{seconds:g}s")
        self.seconds = seconds


def can_limit_real_time() -> bool:
    """Whether :func:`start_real_time_limit` works here (``setitimer``, the main thread)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def start_real_time_limit(
    seconds: float, *, paused: Callable[[], bool] = lambda: False
) -> Callable[[], None]:
    """Raise :class:`TestTimedOut` in the main thread after ``seconds`` of real time, and
    again every second should it be caught; return the function that cancels it.

    While ``paused()`` is true (a debugger is attached), it does not fire.
    """

    def _stop(signum: int, frame: object) -> None:
        if not paused():
            raise TestTimedOut(seconds)

    previous = signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    return cancel


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
