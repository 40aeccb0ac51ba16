"""ch04 · task 2 · A sequence-gap buffer: per key, release in order, hold early, escalate gaps."""

from __future__ import annotations

import time  # noqa: F401

from harness.ports import BufferFull, Downstream, Event  # noqa: F401


class Resequencer:
    """Hands each key's events on in sequence order, each number once, never waiting forever.

    Promise: per key, what is released is strictly increasing and contiguous
    (1, 2, 3, …) except for numbers escalated with ``downstream.skip`` after
    the key has waited ``gap_timeout`` seconds for them; early events are held
    (never more than ``capacity`` in all: when one more would have to be held,
    ``offer`` raises ``BufferFull``; the next number of a key is released, full
    or not), stale and duplicate ones are dropped, nothing is dropped silently
    and nothing is held forever. A number refused with ``BufferFull`` is not
    missing: the source offers it again, and it is never escalated.

    ``event`` has ``key``, ``seq`` (from 1 per key), ``name`` and ``event_id``.
    Hand on with ``self.downstream.release(event)``; give up a missing number
    with ``self.downstream.skip(key, seq)``. Each key has its own gap timer: it
    starts when the key first holds an event, and starts again whenever it
    releases an event and still holds something. ``time.monotonic()`` reads the virtual clock; the
    harness calls ``tick()`` every 5 ms.
    """

    def __init__(self, downstream: Downstream, *, capacity: int, gap_timeout: float) -> None:
        self.downstream = downstream
        self.capacity = capacity
        self.gap_timeout = gap_timeout

    def offer(self, event: Event) -> None:
        raise NotImplementedError(
            "TODO(ch04.2): release the event if it is the next of its key (and whatever held "
            "events follow it), hold it if it is early (raise BufferFull when full), drop it if "
            "it is stale or a duplicate"
        )

    def tick(self) -> None:
        raise NotImplementedError(
            "TODO(ch04.2): for each key that has waited gap_timeout for a missing number, skip "
            "the missing numbers (never one you refused: it comes again) and release what "
            "follows"
        )
