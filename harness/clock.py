"""The virtual clock: the only time there is inside a world.

Time is a float of seconds since the world began. It moves only when the
scheduler pops a later event or a port call takes its (virtual) latency; it
never goes back. Learner code that reads ``time.time()``, ``time.monotonic()``
or ``datetime.now()`` inside :func:`frozen_time` sees this clock,
through freezegun; the harness itself reads :attr:`VirtualClock.now`, which
is much cheaper than the patched functions.

>>> clock = VirtualClock()
>>> clock.advance_to(1.5)
>>> clock.now
1.5
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
"""What ``datetime.now()`` shows at virtual time 0 (a fixed date keeps runs identical)."""
_NAIVE_EPOCH = EPOCH.replace(tzinfo=None)
"""EPOCH as freezegun keeps a frozen time: naive, in UTC."""


class VirtualClock:
    """A monotonic virtual clock, optionally mirrored into a freezegun freezer."""

    __slots__ = ("now", "_freezer", "_frozen")

    def __init__(self, freezer=None) -> None:
        self.now = 0.0
        self._freezer = freezer
        # freezegun's own factory is moved by setting its (naive UTC) time: the very value
        # move_to would reach, without parsing a datetime at every step.
        self._frozen = freezer is not None and type(freezer).__name__ == "FrozenDateTimeFactory"
        if freezer is not None:
            self._move(0.0)

    def _move(self, when: float) -> None:
        if self._frozen:
            self._freezer.time_to_freeze = _NAIVE_EPOCH + timedelta(seconds=when)
        else:
            self._freezer.move_to(EPOCH + timedelta(seconds=when))

    def advance_to(self, when: float) -> None:
        """Move the clock forward to ``when``; a time in the past leaves it where it is."""
        if when > self.now:
            self.now = when
            if self._freezer is not None:
                self._move(when)

    def advance_by(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (a port call's latency, a restart delay)."""
        self.advance_to(self.now + seconds)


@contextlib.contextmanager
def frozen_time() -> Iterator[object]:
    """Freeze ``time.time()``, ``time.monotonic()`` and ``datetime.now()`` for a batch of runs.

    Yields a freezer to give each run's :class:`VirtualClock`; the clock then
    moves the frozen time with it. Entering costs milliseconds (freezegun patches
    every loaded module), so an exploration enters it once for all its runs, not
    once per run or per step.
    """
    import freezegun  # lazy: only runs that host learner code need it

    with freezegun.freeze_time(EPOCH) as freezer:
        yield freezer
