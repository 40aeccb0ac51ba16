"""The queue broker: RabbitMQ's delivery semantics, in the world's time.

What it keeps (each observed on RabbitMQ 3.10, see the chapters' "in the real
world" sections):

- delivery tags are per channel, start at 1 and increase; a redelivery gets a
  new tag;
- ``ack`` / ``nack`` / ``reject`` settle a delivery; an unknown or already
  settled tag closes the channel with 406 PRECONDITION_FAILED
  (:class:`PreconditionFailed`), and the channel's unacked deliveries go back
  to the queue;
- ``requeue=True`` puts the message back at its original position, so it is
  delivered again next, with ``redelivered=True``; ``requeue=False``
  dead-letters it (reason ``rejected``) when the queue has a dead-letter queue,
  and discards it otherwise;
- when a channel closes (its consumer crashed), every unacked delivery on it
  is requeued at its original position, ``redelivered=True``;
- ``prefetch`` bounds the unacked deliveries of a consumer (0 = unlimited);
  several consumers on one queue are served round-robin among those with room;
- an optional ``delivery_limit`` dead-letters a message delivered more than
  that many times (reason ``delivery_limit``), as quorum queues do.

Where it simplifies: a requeued message always goes back to its original
place, as in a classic queue (a quorum queue in 3.10 puts a nacked message at
the back, and a closed channel's at the head); prefetch is counted per channel
(RabbitMQ counts it per consumer; they differ only with several consumers on
one channel); there are no exchanges (a publish names its queue, as
RabbitMQ's default exchange does), a publish to an unknown queue is an error
instead of a silent drop, and the consumer-ack timeout is not modelled.

>>> from harness.clock import VirtualClock
>>> from harness.scheduler import Scheduler
>>> from harness.timeline import Timeline
>>> broker = Broker(Scheduler(VirtualClock(), seed=0), Timeline())
>>> broker.declare_queue("payments")
>>> broker.publish("payments", Message("m1", {"order": "o-1"}))
>>> got = []
>>> channel = broker.open_channel("consumer", prefetch=1)
>>> broker.consume(channel, "payments", got.append)
>>> broker.scheduler.run()
1
>>> got[0].tag, got[0].message_id, got[0].redelivered
(1, 'm1', False)
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.scheduler import Scheduler
from harness.timeline import Timeline

if TYPE_CHECKING:
    from harness.debugger.panel import Panel

DELIVERY_LATENCY = 0.001
"""Virtual seconds between the broker handing out a message and the consumer getting it."""


class BrokerError(Exception):
    """Base of the errors the broker answers with."""


class PreconditionFailed(BrokerError):
    """406 PRECONDITION_FAILED: the channel is closed (e.g. unknown delivery tag)."""


class ChannelClosed(BrokerError):
    """The channel was closed earlier; open a new one (after a restart)."""


class UnknownQueue(BrokerError):
    """No queue by that name was declared."""


class BrokerUnavailable(BrokerError):
    """The broker is down (an outage in the trace): nothing can be published."""


class Message(NamedTuple):
    """A message as the broker stores it. ``summary`` is how the timeline names it."""

    message_id: str
    body: Mapping[str, Any]
    headers: Mapping[str, Any] = MappingProxyType({})
    summary: str = ""


class Delivery(NamedTuple):
    """One delivery of a message to a consumer.

    ``tag`` is what you ack, nack or reject; it is new on every delivery, so
    it never identifies the message: ``message_id`` does.
    """

    tag: int
    message_id: str
    body: Mapping[str, Any]
    redelivered: bool
    headers: Mapping[str, Any]
    queue: str


class _Entry:
    """A message sitting in a queue, with its place and its delivery count."""

    __slots__ = ("message", "position", "redelivered", "deliveries")

    def __init__(self, message: Message, position: int) -> None:
        self.message = message
        self.position = position
        self.redelivered = False
        self.deliveries = 0


class _Consumer:
    __slots__ = ("channel", "callback")

    def __init__(self, channel: ChannelState, callback: Callable[[Delivery], None]) -> None:
        self.channel = channel
        self.callback = callback


class _Queue:
    __slots__ = (
        "name",
        "ready",
        "consumers",
        "turn",
        "dead_letter",
        "delivery_limit",
        "dispatch_pending",
        "dispatch",
    )

    def __init__(self, name: str, dead_letter: str | None, delivery_limit: int | None) -> None:
        self.name = name
        self.ready: deque[_Entry] = deque()
        self.consumers: list[_Consumer] = []
        self.turn = 0
        self.dead_letter = dead_letter
        self.delivery_limit = delivery_limit
        self.dispatch_pending = False
        self.dispatch: Callable[[], None] = lambda: None  # set by the broker

    def put_back(self, entry: _Entry) -> None:
        """Return an entry to its original position among the ready ones."""
        ready = self.ready
        for index, other in enumerate(ready):
            if other.position > entry.position:
                ready.insert(index, entry)
                return
        ready.append(entry)


class ChannelState:
    """The broker's side of one channel: its tags and its unacked deliveries."""

    __slots__ = ("owner", "prefetch", "next_tag", "unacked", "open", "consumers")

    def __init__(self, owner: str, prefetch: int) -> None:
        self.owner = owner
        self.prefetch = prefetch
        self.next_tag = 1
        self.unacked: dict[int, tuple[_Queue, _Entry]] = {}
        self.open = True
        self.consumers: list[tuple[_Queue, _Consumer]] = []

    def has_room(self) -> bool:
        return self.open and (self.prefetch == 0 or len(self.unacked) < self.prefetch)


class Broker:
    """Queues, channels and deliveries, scheduled on the world's clock."""

    def __init__(self, scheduler: Scheduler, timeline: Timeline) -> None:
        self.scheduler = scheduler
        self.timeline = timeline
        self.available = True
        self._queues: dict[str, _Queue] = {}
        self._positions = itertools.count()

    # -- topology -----------------------------------------------------------------------------

    def declare_queue(
        self, name: str, *, dead_letter: str | None = None, delivery_limit: int | None = None
    ) -> None:
        """Declare a queue; declaring an existing one again changes nothing."""
        if delivery_limit is not None and delivery_limit < 0:
            raise ValueError(f"delivery_limit must be >= 0 or None, got {delivery_limit}")
        if name not in self._queues:
            queue = _Queue(name, dead_letter, delivery_limit)
            queue.dispatch = partial(self._dispatch, queue)
            self._queues[name] = queue

    def ready(self, queue: str) -> list[Message]:
        """The messages waiting in ``queue``, in delivery order."""
        return [entry.message for entry in self._queue(queue).ready]

    def unacked(self, queue: str | None = None) -> list[Message]:
        """The messages delivered and not yet settled (optionally of one queue)."""
        found = []
        for q in self._queues.values():
            if queue is not None and q.name != queue:
                continue
            channels = {id(c.channel): c.channel for c in q.consumers}
            for channel in channels.values():
                for uq, entry in channel.unacked.values():
                    if uq is q:
                        found.append(entry.message)
        return found

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            known = ", ".join(sorted(self._queues)) or "none"
            raise UnknownQueue(f"no queue named {name!r} (declared: {known})") from None

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, queue: str, message: Message) -> None:
        """Store ``message`` at the back of ``queue`` (confirmed once this returns)."""
        if not self.available:
            raise BrokerUnavailable("the broker is down; the message was not taken")
        q = self._queue(queue)
        q.ready.append(_Entry(message, next(self._positions)))
        self._kick(q)

    # -- channels and consumers ---------------------------------------------------------------

    def open_channel(self, owner: str, *, prefetch: int = 0) -> ChannelState:
        """Open a channel for ``owner``; its delivery tags start at 1."""
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 (0 = unlimited), got {prefetch}")
        return ChannelState(owner, prefetch)

    def consume(
        self, channel: ChannelState, queue: str, callback: Callable[[Delivery], None]
    ) -> None:
        """Deliver messages of ``queue`` to ``callback`` through ``channel``."""
        self._check_open(channel)
        q = self._queue(queue)
        consumer = _Consumer(channel, callback)
        q.consumers.append(consumer)
        channel.consumers.append((q, consumer))
        self._kick(q)

    def close_channel(self, channel: ChannelState, *, reason: str = "closed") -> None:
        """Close ``channel``: its consumers stop, its unacked deliveries are requeued."""
        if not channel.open:
            return
        channel.open = False
        for q, consumer in channel.consumers:
            q.consumers.remove(consumer)
        touched = set()
        for tag in sorted(channel.unacked):
            q, entry = channel.unacked[tag]
            entry.redelivered = True
            q.put_back(entry)
            touched.add(q.name)
        if channel.unacked:
            tags = ", ".join(str(tag) for tag in sorted(channel.unacked))
            self.timeline.record(
                self.scheduler.clock.now, "broker", "broker", f"requeue tag {tags} ({reason})"
            )
        channel.unacked.clear()
        for name in sorted(touched):
            self._kick(self._queues[name])

    # -- settling -----------------------------------------------------------------------------

    def ack(self, channel: ChannelState, tag: int, *, multiple: bool = False) -> None:
        for q, _entry in self._settle(channel, tag, multiple):
            self._kick(q)

    def nack(
        self, channel: ChannelState, tag: int, *, multiple: bool = False, requeue: bool = True
    ) -> None:
        if not requeue:
            for q, _entry in channel.unacked.values():
                if q.dead_letter is not None:
                    self._queue(q.dead_letter)  # an undeclared dead-letter queue fails first
        for q, entry in self._settle(channel, tag, multiple):
            if requeue:
                entry.redelivered = True
                q.put_back(entry)
            else:
                self._dead_letter(q, entry, "rejected")
            self._kick(q)

    def reject(self, channel: ChannelState, tag: int, *, requeue: bool = True) -> None:
        self.nack(channel, tag, multiple=False, requeue=requeue)

    def _settle(
        self, channel: ChannelState, tag: int, multiple: bool
    ) -> list[tuple[_Queue, _Entry]]:
        self._check_open(channel)
        if multiple and tag == 0 and not isinstance(tag, bool):
            return [channel.unacked.pop(t) for t in sorted(channel.unacked)]  # 0: all outstanding
        if isinstance(tag, bool) or not isinstance(tag, int) or tag not in channel.unacked:
            self.close_channel(channel, reason="channel closed by 406")
            raise PreconditionFailed(
                f"406 PRECONDITION_FAILED - unknown delivery tag {tag!r}: it was never "
                "delivered on this channel, or it was already acked, nacked or rejected. "
                "The broker closed the channel."
            )
        if not multiple:
            return [channel.unacked.pop(tag)]
        tags = sorted(t for t in channel.unacked if t <= tag)
        return [channel.unacked.pop(t) for t in tags]

    def _check_open(self, channel: ChannelState) -> None:
        if not channel.open:
            raise ChannelClosed("this channel is closed; nothing can be done on it any more")

    def _dead_letter(self, q: _Queue, entry: _Entry, reason: str) -> None:
        now = self.scheduler.clock.now
        message = entry.message
        if q.dead_letter is None:
            self.timeline.record(
                now, "broker", "broker", f"discard {message.message_id} ({reason})"
            )
            return
        deaths = [dict(death) for death in message.headers.get("x-death", ())]
        # One entry per (queue, reason), most recent first; its count says how often.
        earlier = next(
            (d for d in deaths if d.get("queue") == q.name and d.get("reason") == reason), None
        )
        if earlier is not None:
            deaths.remove(earlier)
        count = earlier["count"] + 1 if earlier is not None else 1
        deaths.insert(0, {"queue": q.name, "reason": reason, "count": count, "time": now})
        headers = dict(message.headers)
        headers["x-death"] = deaths
        headers.setdefault("x-first-death-reason", reason)
        headers.setdefault("x-first-death-queue", q.name)
        dead = Message(message.message_id, message.body, MappingProxyType(headers), message.summary)
        self.timeline.record(
            now,
            "broker",
            "broker",
            f"dead-letter {message.message_id} to {q.dead_letter} ({reason})",
        )
        dlq = self._queue(q.dead_letter)
        dlq.ready.append(_Entry(dead, next(self._positions)))
        self._kick(dlq)

    # -- the debugger's view ------------------------------------------------------------------

    def snapshot(self) -> list[Panel]:
        """Every queue's messages as one panel each: ready ones in delivery order, then the
        unacked ones by channel and tag, with their redelivered flags and delivery counts.

        A dead-letter queue's panel names the queue it serves and why each message came.
        It only reads (the debugger calls it after each step of an observed run).
        """
        from harness.debugger.panel import Panel

        served = {q.dead_letter: q.name for q in self._queues.values() if q.dead_letter}
        panels = []
        for q in self._queues.values():
            dead = q.name in served
            rows = [_row(entry, "ready", None, dead) for entry in q.ready]
            channels = {id(c.channel): c.channel for c in q.consumers}
            for channel in channels.values():
                for tag in sorted(channel.unacked):
                    owner, entry = channel.unacked[tag]
                    if owner is q:
                        rows.append(_row(entry, f"unacked by {channel.owner}", tag, dead))
            columns = ("message", "state", "tag", "redelivered", "deliveries")
            title = f"queue {q.name}"
            if dead:
                columns += ("dead-lettered because",)
                title += f" (dead letters of {served[q.name]})"
            ready = len(q.ready)
            note = f"{ready} ready, {len(rows) - ready} unacked" if rows else "empty"
            consumers = ", ".join(
                f"{c.channel.owner} (prefetch {c.channel.prefetch or 'unlimited'})"
                for c in q.consumers
            )
            note += f"; consumers: {consumers}" if consumers else "; no consumer"
            panels.append(Panel(title, columns, rows, note))
        return panels

    # -- dispatching --------------------------------------------------------------------------

    def _kick(self, q: _Queue) -> None:
        if q.dispatch_pending or not q.ready or not q.consumers:
            return
        q.dispatch_pending = True
        self.scheduler.after(DELIVERY_LATENCY, q.dispatch)

    def _dispatch(self, q: _Queue) -> None:
        q.dispatch_pending = False
        consumers = q.consumers
        if not q.ready or not consumers:
            return
        count = len(consumers)
        if count == 1 and consumers[0].channel.has_room():
            consumer = consumers[0]
        else:
            for offset in range(count):
                consumer = consumers[(q.turn + offset) % count]
                if consumer.channel.has_room():
                    q.turn = (q.turn + offset + 1) % count
                    break
            else:
                return  # every consumer is at its prefetch limit; an ack will kick again
        entry = q.ready.popleft()
        entry.deliveries += 1
        if q.delivery_limit is not None and entry.deliveries > q.delivery_limit + 1:
            self._dead_letter(q, entry, "delivery_limit")
            self._kick(q)
            return
        channel = consumer.channel
        tag = channel.next_tag
        channel.next_tag = tag + 1
        channel.unacked[tag] = (q, entry)
        message = entry.message
        delivery = Delivery(
            tag, message.message_id, message.body, entry.redelivered, message.headers, q.name
        )
        what = f"deliver {message.message_id}{message.summary} tag={tag}"
        if entry.redelivered:
            what += " redelivered"
        self.timeline.record(self.scheduler.clock.now, "broker", channel.owner, what)
        consumer.callback(delivery)
        self._kick(q)


def _row(entry: _Entry, state: str, tag: int | None, dead: bool) -> tuple[Any, ...]:
    message = entry.message
    row = (message.message_id + message.summary, state, tag, entry.redelivered, entry.deliveries)
    if not dead:
        return row
    deaths = message.headers.get("x-death") or ({},)
    return (*row, deaths[0].get("reason"))
