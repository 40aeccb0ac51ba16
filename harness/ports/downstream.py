"""The downstream port: where a resequencer hands on the events it releases, in order.

An :class:`Event` is plain data: the key it is ordered under (an order id),
its sequence number within that key (1, 2, 3, …), its name, and its id.

>>> Event("o-1#2", "o-1", 2, "OrderPaid").seq
2
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from harness.faults import Gate


class Event(NamedTuple):
    """One event of one key. ``seq`` counts from 1 within ``key``; ``event_id`` never changes."""

    event_id: str
    key: str
    seq: int
    name: str


class BufferFull(Exception):
    """Raised by a resequencer that cannot hold one more event: the sender keeps it and
    offers it again later (a nack with requeue, in a broker's words)."""


class Downstream:
    """The next stage after the resequencer.

    - ``release(event)``: hand on an event; per key, in sequence order, each number once;
    - ``skip(key, seq)``: escalate a gap: number ``seq`` of ``key`` is given up (reported to
      people) and will never be released; what follows it may now be released.
    """

    __slots__ = ("_gate", "_on_release", "_on_skip")

    def __init__(
        self,
        gate: Gate,
        on_release: Callable[[Event], None],
        on_skip: Callable[[str, int], None],
    ) -> None:
        self._gate = gate
        self._on_release = on_release
        self._on_skip = on_skip

    def release(self, event: Event) -> None:
        """Hand ``event`` on to the next stage."""
        event = Event(*event)
        self._gate.call(f"release {event.key} #{event.seq}", lambda: self._on_release(event))

    def skip(self, key: str, seq: int) -> None:
        """Give up number ``seq`` of ``key`` (the gap is escalated); it will never be released."""
        self._gate.call(f"skip {key} #{seq}", lambda: self._on_skip(key, seq))
