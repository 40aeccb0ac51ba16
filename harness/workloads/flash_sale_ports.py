"""The ports of ch07's flash sale: a consumer's channel with a credit window, the warehouse,
the desk's publisher, and its timer.

Each is a port (``__twm_port__``): learner code holds it, and every method that
reaches the world is a crash point. The world's side of each is a small
object of :mod:`harness.workloads.flash_sale` (a :class:`Site` per consumer,
the desk's record of attempts); the ports only forward and record.

>>> issubclass(PublishBlocked, PublishRefused)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from harness.broker import Broker, ChannelState, Delivery
from harness.faults import Gate
from harness.ports.publisher import PublishRefused
from harness.timeline import Timeline

__all__ = [
    "FlowChannel",
    "PublishBlocked",
    "PublishRefused",
    "Publisher",
    "Timer",
    "Warehouse",
    "WarehouseBusy",
]


class PublishBlocked(PublishRefused):
    """The broker's memory alarm is on (``connection.blocked``): nothing was published; wait."""


class WarehouseBusy(RuntimeError):
    """The warehouse is still working on the last reservation: wait for ``on_reserved``."""


class SiteView(Protocol):
    """What the ports need of the world's side of one consumer (flash_sale.Site)."""

    def returned(self, tag: int) -> None: ...

    def acked(self, tag: int, multiple: bool) -> None: ...

    def reserve(self, delivery: Delivery) -> None: ...


class FlowChannel:
    """A consumer's channel to the ``reservations`` queue (RabbitMQ's ``basic.*`` methods).

    - ``qos(prefetch_count)``: the credit window, as ``basic.qos``: the broker
      hands this consumer at most that many deliveries it has not settled yet
      (0 = unlimited). It counts for the consumer that starts afterwards: call
      it in your constructor (the harness starts consuming once it returns).
    - ``ack(tag)``, ``nack(tag, requeue=True)``, ``reject(tag, requeue=True)``:
      settle a delivery, as in ch03.
    - ``depth()``: how many messages are ready in the queue, as a passive
      ``queue.declare`` counts them (``message_count``): not those delivered
      and unsettled.
    """

    __twm_port__ = True
    __slots__ = ("_broker", "_state", "_gate", "_timeline", "_site", "_queue")

    def __init__(
        self,
        broker: Broker,
        state: ChannelState,
        gate: Gate,
        timeline: Timeline,
        site: SiteView,
        queue: str,
    ) -> None:
        self._broker = broker
        self._state = state
        self._gate = gate
        self._timeline = timeline
        self._site = site
        self._queue = queue

    def _record(self, what: str) -> None:
        self._timeline.record(self._broker.scheduler.clock.now, self._state.owner, "broker", what)

    def qos(self, prefetch_count: int) -> None:
        """Set the credit window of the consumer the harness starts next (0 = unlimited)."""
        if isinstance(prefetch_count, bool) or not isinstance(prefetch_count, int):
            raise TypeError(
                f"prefetch_count is a number of deliveries, an int; got {prefetch_count!r}"
            )
        if prefetch_count < 0:
            raise ValueError(f"prefetch_count must be >= 0 (0 = unlimited), got {prefetch_count}")
        what = f"qos prefetch_count={prefetch_count}"

        def effect() -> None:
            self._state.prefetch = prefetch_count
            self._record(what)

        self._gate.call(what, effect)

    def ack(self, delivery_tag: int, *, multiple: bool = False) -> None:
        """Acknowledge a delivery (and, with ``multiple``, every earlier one on this channel)."""
        what = f"ack tag={delivery_tag}" + (" multiple" if multiple else "")

        def effect() -> None:
            self._site.acked(delivery_tag, multiple)
            self._broker.ack(self._state, delivery_tag, multiple=multiple)
            self._record(what)

        self._gate.call(what, effect)

    def nack(self, delivery_tag: int, *, multiple: bool = False, requeue: bool = True) -> None:
        """Refuse a delivery: ``requeue=True`` delivers it again, ``False`` gives up on it."""
        what = f"nack tag={delivery_tag} requeue={requeue}" + (" multiple" if multiple else "")

        def effect() -> None:
            tags = [delivery_tag]
            if multiple:
                tags = [t for t in self._state.unacked if t <= delivery_tag]
            self._broker.nack(self._state, delivery_tag, multiple=multiple, requeue=requeue)
            for tag in tags:
                self._site.returned(tag)
            self._record(what)

        self._gate.call(what, effect)

    def reject(self, delivery_tag: int, *, requeue: bool = True) -> None:
        """Refuse one delivery (``nack`` without ``multiple``)."""
        what = f"reject tag={delivery_tag} requeue={requeue}"

        def effect() -> None:
            self._broker.reject(self._state, delivery_tag, requeue=requeue)
            self._site.returned(delivery_tag)
            self._record(what)

        self._gate.call(what, effect)

    def depth(self) -> int:
        """How many messages wait, ready, in the queue (not those delivered and unsettled)."""

        def effect() -> int:
            count = ready_count(self._broker, self._queue)
            self._record(f"queue.declare passive {self._queue} → message_count={count}")
            return count

        return self._gate.call("depth", effect)


def ready_count(broker: Any, queue: str) -> int:
    """How many messages are ready in ``queue``: the broker's own count where it has one
    (RabbitMQ's passive ``queue.declare`` in live mode), else the length of its ready list."""
    count = getattr(broker, "count", None)
    return count(queue) if count is not None else len(broker.ready(queue))


class Warehouse:
    """The warehouse behind one consumer: it reserves stock for one order at a time.

    ``reserve(delivery)`` starts the reservation of the order a delivery
    carries and returns at once; the warehouse works on it for its own time
    (``1 / rate`` seconds, longer while it stalls), then the harness calls your
    ``on_reserved(delivery)``. It reserves each message id once: a copy of a
    message already reserved is absorbed. Calling ``reserve`` while it still
    works is :class:`WarehouseBusy`.
    """

    __twm_port__ = True
    __slots__ = ("_site", "_gate")

    def __init__(self, site: SiteView, gate: Gate) -> None:
        self._site = site
        self._gate = gate

    def reserve(self, delivery: Delivery) -> None:
        """Start reserving stock for ``delivery``'s order; ``on_reserved`` says when it is done."""
        site = self._site
        self._gate.call(f"reserve {delivery.message_id}", lambda: site.reserve(delivery))


class Publisher:
    """The desk's publisher, with confirms: ``publish(message_id, body)`` to ``reservations``.

    It returns once the broker confirmed the message. It raises
    :class:`PublishRefused` on a negative confirm (the queue is full: it is
    declared ``x-max-length`` with ``x-overflow: reject-publish``), and
    :class:`PublishBlocked` (a ``PublishRefused`` too) while the broker's memory
    alarm blocks publishing. Either way nothing was published: keep the order,
    and try again later.
    """

    __twm_port__ = True
    __slots__ = ("_publish", "_gate")

    def __init__(self, publish: Callable[[str, Mapping[str, Any]], None], gate: Gate) -> None:
        self._publish = publish
        self._gate = gate

    def publish(self, message_id: str, body: Mapping[str, Any]) -> None:
        """Publish one order; confirmed when this returns, refused when it raises."""
        if not message_id:
            raise ValueError("publish needs the order's message_id: consumers deduplicate on it")
        send = self._publish
        self._gate.call(f"publish {message_id}", lambda: send(message_id, dict(body)))


class Timer:
    """``call_later(delay, callback)``: the harness calls ``callback()`` ``delay`` virtual
    seconds from now (asyncio's ``loop.call_later``), unless your process crashed by then."""

    __twm_port__ = True
    __slots__ = ("_later", "_gate")

    def __init__(self, later: Callable[[float, Callable[[], Any]], None], gate: Gate) -> None:
        self._later = later
        self._gate = gate

    def call_later(self, delay: float, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` in ``delay`` seconds (a number >= 0)."""
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not delay >= 0:
            raise ValueError(f"delay is a number of seconds >= 0, got {delay!r}")
        later = self._later
        self._gate.call(f"call_later {delay * 1000:.0f} ms", lambda: later(float(delay), callback))
