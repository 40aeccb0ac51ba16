"""ch04 · task 2 · A sequence-gap buffer: per key, release in order, hold early, escalate gaps."""

from __future__ import annotations

import time

from harness.ports import BufferFull, Downstream, Event


class Resequencer:
    """Hands each key's events on in sequence order, each number once, never waiting forever.

    Promise: per key, what is released is strictly increasing and contiguous
    (1, 2, 3, …) except for numbers escalated with ``downstream.skip`` after
    the key has waited ``gap_timeout`` seconds for them; early events are held
    (never more than ``capacity`` in all: when full, ``offer`` raises
    ``BufferFull``), stale and duplicate ones are dropped, nothing is dropped
    silently and nothing is held forever.
    """

    def __init__(self, downstream: Downstream, *, capacity: int, gap_timeout: float) -> None:
        self.downstream = downstream
        self.capacity = capacity
        self.gap_timeout = gap_timeout
        self.next: dict[str, int] = {}
        self.held: dict[str, dict[int, Event]] = {}
        self.since: dict[str, float] = {}
        self.refused: dict[str, set[int]] = {}

    def offer(self, event: Event) -> None:
        expected = self.next.get(event.key, 1)
        held = self.held.setdefault(event.key, {})
        if event.seq < expected or event.seq in held:
            return  # stale or a duplicate: its number is already released, skipped or held
        if event.seq > expected:
            # Say so when full, instead of growing or dropping: the sender offers it again.
            if sum(len(h) for h in self.held.values()) >= self.capacity:
                # A refused number is not missing: the source offers it again, never skip it.
                self.refused.setdefault(event.key, set()).add(event.seq)
                raise BufferFull(f"{self.capacity} events held")
            self.since[event.key] = time.monotonic()  # the key waits from its latest event
            held[event.seq] = event
            return
        self.downstream.release(event)
        self._advance(event.key, expected + 1)

    def tick(self) -> None:
        now = time.monotonic()
        for key in sorted(self.held):
            held = self.held[key]
            if not held or now - self.since[key] < self.gap_timeout:
                continue
            # Waited long enough: escalate every missing number up to the first held one,
            # stopping at one that was refused (it comes again, and is then the next).
            expected = self.next.get(key, 1)
            refused = self.refused.get(key, set())
            while expected < min(held) and expected not in refused:
                self.downstream.skip(key, expected)
                expected += 1
            self._advance(key, expected)

    def _advance(self, key: str, expected: int) -> None:
        held = self.held.setdefault(key, {})
        while expected in held:
            self.downstream.release(held.pop(expected))
            expected += 1
        self.next[key] = expected
        self.refused[key] = {seq for seq in self.refused.get(key, ()) if seq >= expected}
        # The gap timer starts again for whatever is still held behind the next gap.
        if held:
            self.since[key] = time.monotonic()
