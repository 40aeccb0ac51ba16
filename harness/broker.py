"""The queue broker: RabbitMQ's delivery semantics, in the world's time.

What it keeps (each checked against RabbitMQ 3.10 by tests/conformance; docs/broker.md
says what it models and where it departs on purpose):

- delivery tags are per channel, start at 1 and increase; a redelivery gets a
  new tag;
- ``ack`` / ``nack`` / ``reject`` settle a delivery; an unknown or already
  settled tag closes the channel with 406 PRECONDITION_FAILED
  (:class:`PreconditionFailed`), and the channel's unacked deliveries go back
  to the queue;
- ``requeue=True`` puts the message back, ``redelivered=True``: in a classic
  queue at its original position (so it is delivered again next), in a quorum
  queue at the back; ``requeue=False`` dead-letters it (reason ``rejected``)
  when the queue has a dead-letter exchange, and drops it otherwise;
- when a channel closes (its consumer crashed), every unacked delivery on it
  is requeued, ``redelivered=True``: at its original position (classic) or at
  the head (quorum);
- ``prefetch`` bounds the unacked deliveries of each consumer (0 = unlimited);
  several consumers on one queue are served round-robin among those with room;
- queue arguments (:mod:`harness.broker_arguments`): the queue type, a
  dead-letter exchange and routing key, message TTL (per queue, and per
  message with ``Message.expiration``), ``x-max-length`` with ``drop-head`` or
  ``reject-publish``, and a quorum queue's ``x-delivery-limit``, past which a
  message is dead-lettered at once (reason ``delivery_limit``);
- a dead-lettered message carries ``x-death`` and ``x-first-death-*``
  headers (:mod:`harness.broker_deaths`);
- a publish returns its confirm: ``True`` (ack) or ``False`` (nack, a full
  ``reject-publish`` queue);
- a resource alarm (RabbitMQ's memory or disk alarm) blocks publishing:
  while :meth:`Broker.raise_alarm` holds, a publish raises
  :class:`ConnectionBlocked` (RabbitMQ blocks the connection and sends
  ``connection.blocked``; docs/broker.md says how the simulator departs).

How it behaves where the kit and RabbitMQ differ (a publish to a missing
queue, how soon a ready message is handed out) is its
:class:`~harness.broker_settings.BrokerSettings`; the chapters use
:data:`~harness.broker_settings.KIT`.

>>> from harness.clock import VirtualClock
>>> from harness.scheduler import Scheduler
>>> from harness.timeline import Timeline
>>> broker = Broker(Scheduler(VirtualClock(), seed=0), Timeline())
>>> broker.declare_queue("payments")
>>> broker.publish("payments", Message("m1", {"order": "o-1"}))
True
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
from collections.abc import Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from harness.broker_arguments import QueueSpec, read_arguments
from harness.broker_deaths import is_cycle, with_death
from harness.broker_queues import ChannelState, Consumer, Entry, Queue
from harness.broker_settings import KIT, BrokerSettings
from harness.scheduler import Scheduler
from harness.timeline import Timeline

if TYPE_CHECKING:
    from harness.debugger.panel import Panel

__all__ = [
    "DELIVERY_LATENCY",
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "ChannelClosed",
    "ChannelState",
    "ConnectionBlocked",
    "Delivery",
    "Message",
    "PreconditionFailed",
    "UnknownQueue",
]

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


class ConnectionBlocked(BrokerError):
    """A resource alarm is on (memory or disk): the broker takes no publish until it clears."""


class Message(NamedTuple):
    """A message as the broker stores it. ``summary`` is how the timeline names it.

    ``expiration`` is the message's own TTL in milliseconds (AMQP's
    ``expiration`` property), or None.
    """

    message_id: str
    body: Mapping[str, Any]
    headers: Mapping[str, Any] = MappingProxyType({})
    summary: str = ""
    expiration: int | None = None


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


class Broker:
    """Queues, channels and deliveries, scheduled on the world's clock.

    The simulator's :class:`~harness.ports.queue_broker.QueueBroker`; a real RabbitMQ
    behind the same interface is :class:`harness.live.rabbit.RabbitBroker`.
    """

    def __init__(
        self, scheduler: Scheduler, timeline: Timeline, *, settings: BrokerSettings = KIT
    ) -> None:
        if not isinstance(settings, BrokerSettings):
            raise TypeError(
                "settings must be a harness.broker_settings.BrokerSettings (KIT, RABBITMQ_3, "
                f"RABBITMQ_4), got {settings!r}"
            )
        self.scheduler = scheduler
        self.clock = scheduler.clock
        """The world's clock, which the ports read (see :mod:`harness.ports.queue_broker`)."""
        self.timeline = timeline
        self.settings = settings
        self.available = True
        self.alarm: str | None = None
        """Why publishing is blocked ("memory", "disk"), or None: see :meth:`raise_alarm`."""
        self._queues: dict[str, Queue] = {}
        self._positions = itertools.count()

    # -- topology -----------------------------------------------------------------------------

    def declare_queue(
        self,
        name: str,
        *,
        dead_letter: str | None = None,
        delivery_limit: int | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        """Declare a queue; declaring an existing one again changes nothing.

        ``arguments`` are RabbitMQ's queue arguments (``{"x-queue-type": "quorum",
        "x-delivery-limit": 3, "x-dead-letter-exchange": "", ...}``, see
        :mod:`harness.broker_arguments`). ``dead_letter="dlq"`` is shorthand for a
        dead-letter exchange ``""`` routing to the queue ``dlq``.
        """
        spec = read_arguments(
            name,
            arguments,
            dead_letter=dead_letter,
            delivery_limit=delivery_limit,
            quorum_delivery_limit=self.settings.quorum_delivery_limit,
        )
        if name not in self._queues:
            queue = Queue(name, spec)
            queue.dispatch = partial(self._dispatch, queue)
            self._queues[name] = queue

    def delete_queue(self, name: str) -> None:
        """Delete a queue and its ready messages; its consumers stop getting deliveries."""
        q = self._queues.pop(name, None)
        if q is not None:
            for consumer in q.consumers:
                consumer.active = False
            q.consumers.clear()
            q.ready.clear()

    def spec(self, queue: str) -> QueueSpec:
        """What ``queue`` was declared with."""
        return self._queue(queue).spec

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

    def _queue(self, name: str) -> Queue:
        try:
            return self._queues[name]
        except KeyError:
            known = ", ".join(sorted(self._queues)) or "none"
            raise UnknownQueue(f"no queue named {name!r} (declared: {known})") from None

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, queue: str, message: Message) -> bool:
        """Route ``message`` to ``queue`` through the default exchange; return its confirm.

        ``True`` (confirmed) once the queue took it, or once it was dropped for
        want of such a queue when the settings say ``unroutable="drop"``;
        ``False`` (a negative confirm) when the queue is full and rejects
        publishes (``x-overflow: reject-publish``).
        """
        if not self.available:
            raise BrokerUnavailable("the broker is down; the message was not taken")
        if self.alarm is not None:
            raise ConnectionBlocked(
                f"connection.blocked: the broker's {self.alarm} alarm is on and it takes no "
                f"publish; {message.message_id} was not taken: wait, then publish it again"
            )
        q = self._queues.get(queue)
        if q is None:
            if self.settings.unroutable == "raise":
                self._queue(queue)
            self._note(f"drop {message.message_id}: no queue named {queue} (unroutable)")
            return True
        taken = self._enqueue(q, Entry(message, next(self._positions), queue))
        self._kick(q)
        return taken

    def _enqueue(self, q: Queue, entry: Entry) -> bool:
        """Add a new message at the back of ``q``, as its TTL and length limit say."""
        spec = q.spec
        limit = spec.max_length
        message = entry.message
        # A quorum queue refuses only once it is over its limit: it takes one message more.
        full = limit is not None and len(q.ready) >= limit + (1 if spec.quorum else 0)
        if full and spec.overflow == "reject-publish":
            self._note(f"refuse {message.message_id}: {q.name} is full (x-max-length {limit})")
            return False
        ttl = spec.message_ttl
        if message.expiration is not None:
            own = message.expiration / 1000
            ttl = own if ttl is None else min(ttl, own)
        if ttl is not None:
            entry.expires_at = self.scheduler.clock.now + ttl
            self.scheduler.at(entry.expires_at, partial(self._expire, q))
        q.append(entry)
        if limit is not None and spec.overflow == "drop-head":
            while len(q.ready) > limit:
                self._dead_letter(q, q.pop_head(), "maxlen")
        return True

    # -- resource alarms ----------------------------------------------------------------------

    def raise_alarm(self, resource: str = "memory") -> None:
        """Block every publish, as RabbitMQ does above its memory (or disk) watermark."""
        if self.alarm is None:
            self._note(f"{resource} alarm: publishing connections blocked (connection.blocked)")
        self.alarm = resource

    def clear_alarm(self) -> None:
        """Take publishes again (``connection.unblocked``)."""
        if self.alarm is not None:
            self._note(f"{self.alarm} alarm cleared: connections unblocked (connection.unblocked)")
        self.alarm = None

    # -- channels and consumers ---------------------------------------------------------------

    def open_channel(self, owner: str, *, prefetch: int = 0) -> ChannelState:
        """Open a channel for ``owner``; its delivery tags start at 1.

        ``prefetch`` (``basic.qos``) bounds the unacked deliveries of each consumer
        started on it (0 = unlimited).
        """
        if prefetch < 0:
            raise ValueError(f"prefetch must be >= 0 (0 = unlimited), got {prefetch}")
        return ChannelState(owner, prefetch)

    def held(self, channel: ChannelState) -> list[str]:
        """The message ids delivered on ``channel`` and not yet settled, in tag order: what
        its consumers hold (a slow consumer that hoards shows here)."""
        return [channel.unacked[tag][1].message.message_id for tag in sorted(channel.unacked)]

    def consume(
        self, channel: ChannelState, queue: str, callback: Callable[[Delivery], None]
    ) -> None:
        """Deliver messages of ``queue`` to ``callback`` through ``channel``."""
        self._check_open(channel)
        q = self._queue(queue)
        consumer = Consumer(channel, callback)
        q.consumers.append(consumer)
        channel.consumers.append((q, consumer))
        self._kick(q)

    def close_channel(self, channel: ChannelState, *, reason: str = "closed") -> None:
        """Close ``channel``: its consumers stop, its unacked deliveries are requeued."""
        if not channel.open:
            return
        channel.open = False
        for q, consumer in channel.consumers:
            consumer.active = False
            if consumer in q.consumers:
                q.consumers.remove(consumer)
        tags = sorted(channel.unacked)
        touched = set()
        for tag in tags:
            q, entry = channel.take(tag)
            self._return(q, entry, nacked=False)
            touched.add(q.name)
        if tags:
            # Recorded once the deliveries are back: the debugger's snapshot at this step
            # shows them ready again.
            listed = ", ".join(str(tag) for tag in tags)
            self._note(f"requeue tag {listed} ({reason})")
        for name in sorted(touched):
            if name in self._queues:
                self._kick(self._queues[name])

    # -- settling -----------------------------------------------------------------------------

    def ack(self, channel: ChannelState, tag: int, *, multiple: bool = False) -> None:
        for q, _entry in self._settle(channel, tag, multiple):
            self._kick(q)

    def nack(
        self, channel: ChannelState, tag: int, *, multiple: bool = False, requeue: bool = True
    ) -> None:
        for q, entry in self._settle(channel, tag, multiple):
            if requeue:
                self._return(q, entry, nacked=True)
            else:
                self._dead_letter(q, entry, "rejected")
            self._kick(q)

    def reject(self, channel: ChannelState, tag: int, *, requeue: bool = True) -> None:
        self.nack(channel, tag, multiple=False, requeue=requeue)

    def _settle(self, channel: ChannelState, tag: int, multiple: bool) -> list[tuple[Queue, Entry]]:
        self._check_open(channel)
        if multiple and tag == 0 and not isinstance(tag, bool):
            return [channel.take(t) for t in sorted(channel.unacked)]  # 0: all outstanding
        if isinstance(tag, bool) or not isinstance(tag, int) or tag not in channel.unacked:
            self.close_channel(channel, reason="channel closed by 406")
            raise PreconditionFailed(
                f"406 PRECONDITION_FAILED - unknown delivery tag {tag!r}: it was never "
                "delivered on this channel, or it was already acked, nacked or rejected. "
                "The broker closed the channel."
            )
        if not multiple:
            return [channel.take(tag)]
        tags = sorted(t for t in channel.unacked if t <= tag)
        return [channel.take(t) for t in tags]

    def _check_open(self, channel: ChannelState) -> None:
        if not channel.open:
            raise ChannelClosed("this channel is closed; nothing can be done on it any more")

    def _return(self, q: Queue, entry: Entry, *, nacked: bool) -> None:
        """Requeue a delivered entry, or dead-letter it once past the queue's delivery limit."""
        if q.name not in self._queues:
            return  # its queue was deleted
        entry.returns += 1
        limit = q.spec.delivery_limit
        if limit is not None and entry.returns > limit:
            self._dead_letter(q, entry, "delivery_limit")
            return
        q.requeue(entry, nacked=nacked, fresh=next(self._positions))
        if entry.expires_at is not None:
            self.scheduler.at(entry.expires_at, partial(self._expire, q))

    # -- dead letters and expiry --------------------------------------------------------------

    def _dead_letter(self, q: Queue, entry: Entry, reason: str) -> None:
        message = entry.message
        spec = q.spec
        if spec.dead_letter_exchange is None:
            self._note(f"discard {message.message_id} ({reason})")
            return
        target = spec.dead_letter_routing_key or entry.routing_key
        expiration = None if message.expiration is None else str(message.expiration)
        headers = with_death(
            message.headers,
            queue=q.name,
            reason=reason,
            exchange="",
            routing_keys=(entry.routing_key,),
            now=self.scheduler.clock.now,
            original_expiration=expiration,
        )
        if is_cycle(headers, target):
            self._note(f"drop {message.message_id}: it would cycle back to {target} ({reason})")
            return
        dlq = self._queues.get(target)
        if dlq is None:
            self._note(
                f"drop {message.message_id}: dead-letter target {target} does not exist ({reason})"
            )
            return
        dead = Message(message.message_id, message.body, MappingProxyType(headers), message.summary)
        self._note(f"dead-letter {message.message_id} to {target} ({reason})")
        self._enqueue(dlq, Entry(dead, next(self._positions), target))
        self._kick(dlq)

    def _expire(self, q: Queue) -> None:
        if self._expire_heads(q, strict=False):
            self._kick(q)

    def _expire_heads(self, q: Queue, *, strict: bool) -> bool:
        """Dead-letter the expired messages at the head of ``q`` (as RabbitMQ, head first)."""
        now = self.scheduler.clock.now
        ready = q.ready
        expired = False
        while ready:
            due = ready[0].expires_at
            if due is None or due > now or (strict and due == now):
                break
            self._dead_letter(q, q.pop_head(), "expired")
            expired = True
        return expired

    # -- dispatching --------------------------------------------------------------------------

    def _kick(self, q: Queue) -> None:
        if self.settings.eager:
            self._assign(q)
            return
        if q.dispatch_pending or not q.ready or not q.consumers:
            return
        q.dispatch_pending = True
        self.scheduler.after(DELIVERY_LATENCY, q.dispatch)

    def _dispatch(self, q: Queue) -> None:
        """One message to one consumer, one delivery latency after a kick (the kit's way)."""
        q.dispatch_pending = False
        self._expire_heads(q, strict=True)
        if not q.ready or not q.consumers:
            return
        consumer = q.pick()
        if consumer is None:
            return  # every consumer is at its prefetch limit; an ack will kick again
        delivery = self._deliver(q, consumer)
        self._hand_over(consumer, delivery)
        self._kick(q)

    def _assign(self, q: Queue) -> None:
        """Hand every ready message a consumer has room for, now (RabbitMQ's way)."""
        if q.dispatch_pending:
            return
        q.dispatch_pending = True
        try:
            while True:
                self._expire_heads(q, strict=True)
                if not q.ready or not q.consumers:
                    return
                consumer = q.pick()
                if consumer is None:
                    return
                delivery = self._deliver(q, consumer)
                self.scheduler.after(
                    DELIVERY_LATENCY, partial(self._hand_over, consumer, delivery, True)
                )
        finally:
            q.dispatch_pending = False

    def _deliver(self, q: Queue, consumer: Consumer) -> Delivery:
        entry = q.pop_head()
        entry.deliveries += 1
        channel = consumer.channel
        tag = channel.next_tag
        channel.next_tag = tag + 1
        channel.unacked[tag] = (q, entry)
        channel.holders[tag] = consumer
        consumer.holding += 1
        message = entry.message
        headers = message.headers
        if q.spec.quorum and entry.returns:
            headers = MappingProxyType({**headers, "x-delivery-count": entry.returns})
        return Delivery(tag, message.message_id, message.body, entry.redelivered, headers, q.name)

    def _hand_over(self, consumer: Consumer, delivery: Delivery, later: bool = False) -> None:
        channel = consumer.channel
        if later and (not consumer.active or delivery.tag not in channel.unacked):
            return  # the channel closed (or the delivery was settled) while it was on its way
        q, entry = channel.unacked[delivery.tag]
        what = f"deliver {delivery.message_id}{entry.message.summary} tag={delivery.tag}"
        if delivery.redelivered:
            what += " redelivered"
        self.timeline.record(self.scheduler.clock.now, "broker", channel.owner, what)
        consumer.callback(delivery)

    def _note(self, what: str) -> None:
        self.timeline.record(self.scheduler.clock.now, "broker", "broker", what)

    # -- the debugger's view ------------------------------------------------------------------

    def snapshot(self) -> list[Panel]:
        """Every queue's messages as one panel each (see :mod:`harness.broker_snapshot`).

        It only reads (the debugger calls it after each step of an observed run).
        """
        from harness.broker_snapshot import panels

        return panels(self._queues.values())
