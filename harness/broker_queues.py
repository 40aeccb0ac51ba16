"""A queue's insides: its messages in delivery order, where a requeued one goes, its consumers.

Every message in a queue holds a *position*; the ready ones are kept sorted
by it, and the head is delivered next. Where a message comes back depends on
the queue's type, as in RabbitMQ 3.10:

- classic queue: a message requeued by ``nack``/``reject`` or by its channel
  closing goes back to its original position (so it comes first again);
- quorum queue: a message requeued by ``nack``/``reject`` goes to the back,
  unless the queue has a delivery limit; one returned by its channel closing
  (or nacked on a queue with a delivery limit) goes to the head, after any
  returned before it. Each return adds one to the message's delivery count,
  shown to consumers as the ``x-delivery-count`` header.

>>> from harness.broker_arguments import QueueSpec
>>> queue = Queue("work", QueueSpec(quorum=True))
>>> for n, name in enumerate("abc"):
...     queue.append(Entry(name, n))
>>> a = queue.pop_head()
>>> queue.requeue(a, nacked=True, fresh=10)
>>> [e.message for e in queue.ready]
['b', 'c', 'a']
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.broker_arguments import QueueSpec

__all__ = ["ChannelState", "Consumer", "Entry", "Queue"]

_returns = itertools.count(-(10**15))
"""Positions of messages returned to a quorum queue's head: below every published one,
increasing, so returns come out first and in the order they came back."""


class Entry:
    """A message sitting in a queue: its place, its flags, its counts, its expiry."""

    __slots__ = (
        "message",
        "position",
        "redelivered",
        "deliveries",
        "returns",
        "expires_at",
        "routing_key",
    )

    def __init__(self, message: Any, position: int, routing_key: str = "") -> None:
        self.message = message
        self.position = position
        self.redelivered = False
        self.deliveries = 0
        self.returns = 0
        self.expires_at: float | None = None
        self.routing_key = routing_key


class Consumer:
    """One consumer on a queue: its channel, its callback, its own prefetch and unacked count."""

    __slots__ = ("channel", "callback", "prefetch", "holding", "active")

    def __init__(self, channel: ChannelState, callback: Callable[[Any], None]) -> None:
        self.channel = channel
        self.callback = callback
        self.prefetch = channel.prefetch
        self.holding = 0
        self.active = True

    def has_room(self) -> bool:
        return self.channel.open and (self.prefetch == 0 or self.holding < self.prefetch)


class Queue:
    """One queue: its spec, its ready messages sorted by position, its consumers."""

    __slots__ = ("name", "spec", "ready", "consumers", "turn", "dispatch_pending", "dispatch")

    def __init__(self, name: str, spec: QueueSpec) -> None:
        self.name = name
        self.spec = spec
        self.ready: deque[Entry] = deque()
        self.consumers: list[Consumer] = []
        self.turn = 0
        self.dispatch_pending = False
        self.dispatch: Callable[[], None] = lambda: None  # set by the broker

    @property
    def dead_letter(self) -> str | None:
        """The queue this one's dead letters go to by default (its dead-letter routing key)."""
        return self.spec.dead_letter_routing_key

    def append(self, entry: Entry) -> None:
        self.ready.append(entry)

    def pop_head(self) -> Entry:
        return self.ready.popleft()

    def put_back(self, entry: Entry) -> None:
        """Return an entry to its position among the ready ones."""
        ready = self.ready
        if not ready or ready[-1].position < entry.position:
            ready.append(entry)
            return
        for index, other in enumerate(ready):
            if other.position > entry.position:
                ready.insert(index, entry)
                return
        ready.append(entry)

    def requeue(self, entry: Entry, *, nacked: bool, fresh: int) -> None:
        """Put a delivered entry back: ``nacked`` by its consumer, or its channel closed.

        ``fresh`` is a new position at the back, which a quorum queue without a delivery
        limit gives a nacked message.
        """
        entry.redelivered = True
        spec = self.spec
        if spec.quorum:
            back = nacked and spec.delivery_limit is None
            entry.position = fresh if back else next(_returns)
        self.put_back(entry)

    def pick(self) -> Consumer | None:
        """The next consumer with room, round-robin; None when every one is at its prefetch."""
        consumers = self.consumers
        count = len(consumers)
        if count == 1:
            return consumers[0] if consumers[0].has_room() else None
        for offset in range(count):
            consumer = consumers[(self.turn + offset) % count]
            if consumer.has_room():
                self.turn = (self.turn + offset + 1) % count
                return consumer
        return None


class ChannelState:
    """The broker's side of one channel: its tags and its unacked deliveries.

    ``prefetch`` is the channel's ``basic.qos``: each consumer started on the
    channel afterwards may hold that many unacked deliveries (0 = unlimited),
    as RabbitMQ counts it (per consumer).
    """

    __slots__ = ("owner", "prefetch", "next_tag", "unacked", "holders", "open", "consumers")

    def __init__(self, owner: str, prefetch: int) -> None:
        self.owner = owner
        self.prefetch = prefetch
        self.next_tag = 1
        self.unacked: dict[int, tuple[Queue, Entry]] = {}
        self.holders: dict[int, Consumer] = {}
        self.open = True
        self.consumers: list[tuple[Queue, Consumer]] = []

    def has_room(self) -> bool:
        """Whether any of this channel's consumers could take one more delivery."""
        if not self.consumers:
            return self.open and (self.prefetch == 0 or len(self.unacked) < self.prefetch)
        return any(consumer.has_room() for _, consumer in self.consumers)

    def take(self, tag: int) -> tuple[Queue, Entry]:
        """Remove ``tag`` from the unacked deliveries, freeing its consumer's room."""
        holder = self.holders.pop(tag, None)
        if holder is not None:
            holder.holding -= 1
        return self.unacked.pop(tag)
