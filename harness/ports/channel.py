"""The channel port: how a consumer settles its deliveries (and publishes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.broker import Message
from harness.faults import Gate
from harness.ports.publisher import PublishRefused
from harness.ports.queue_broker import Clock, QueueBroker
from harness.timeline import Timeline


class Channel:
    """A consumer's channel to the queue broker (RabbitMQ's ``basic.*`` methods).

    Settle every delivery exactly once, by its ``delivery.tag``:

    - ``ack(tag)``: done, the broker forgets the message;
    - ``nack(tag, requeue=True)``: not done, deliver it again;
    - ``nack(tag, requeue=False)`` / ``reject(tag, requeue=False)``: give up on it
      (dead-lettered if the queue has a dead-letter queue, else discarded).

    A tag that was never delivered on this channel, or was already settled, is
    an error: :class:`harness.broker.PreconditionFailed`, and the channel closes.

    ``broker`` is any :class:`~harness.ports.queue_broker.QueueBroker` (the
    simulator's, or RabbitMQ's in live mode) and ``state`` a channel it opened;
    what the channel records is stamped with ``clock`` (default: the broker's).
    """

    __slots__ = ("_broker", "_state", "_gate", "_timeline", "_clock")

    def __init__(
        self,
        broker: QueueBroker,
        state: Any,
        gate: Gate,
        timeline: Timeline,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._broker = broker
        self._state = state
        self._gate = gate
        self._timeline = timeline
        self._clock = broker.clock if clock is None else clock

    def _record(self, what: str) -> None:
        self._timeline.record(self._clock.now, self._state.owner, "broker", what)

    def ack(self, delivery_tag: int, *, multiple: bool = False) -> None:
        """Acknowledge a delivery (and, with ``multiple``, every earlier one on this channel)."""
        what = f"ack tag={delivery_tag}" + (" multiple" if multiple else "")

        def effect() -> None:
            self._broker.ack(self._state, delivery_tag, multiple=multiple)
            self._record(what)

        self._gate.call(what, effect)

    def nack(self, delivery_tag: int, *, multiple: bool = False, requeue: bool = True) -> None:
        """Refuse a delivery: ``requeue=True`` delivers it again, ``False`` gives up on it."""
        what = f"nack tag={delivery_tag} requeue={requeue}" + (" multiple" if multiple else "")

        def effect() -> None:
            self._broker.nack(self._state, delivery_tag, multiple=multiple, requeue=requeue)
            self._record(what)

        self._gate.call(what, effect)

    def reject(self, delivery_tag: int, *, requeue: bool = True) -> None:
        """Refuse one delivery (``nack`` without ``multiple``)."""
        what = f"reject tag={delivery_tag} requeue={requeue}"

        def effect() -> None:
            self._broker.reject(self._state, delivery_tag, requeue=requeue)
            self._record(what)

        self._gate.call(what, effect)

    def publish(
        self,
        queue: str,
        body: Mapping[str, Any],
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        expiration: int | None = None,
    ) -> None:
        """Publish a message to ``queue``; it is confirmed (the broker has it) once this returns.

        ``expiration`` is the message's own TTL in milliseconds (AMQP's ``expiration``).
        A full queue that rejects publishes (``x-overflow: reject-publish``) nacks it:
        :class:`harness.ports.publisher.PublishRefused`, and nothing was published.
        """
        if not message_id:
            raise ValueError("publish needs a message_id: consumers deduplicate on it")
        if expiration is not None and (
            not isinstance(expiration, int) or isinstance(expiration, bool) or expiration < 0
        ):
            raise ValueError(f"expiration is in milliseconds, an int >= 0; got {expiration!r}")
        what = f"publish {message_id} to {queue}"
        message = Message(message_id, dict(body), dict(headers or {}), expiration=expiration)

        def effect() -> None:
            # Only a nack (False) refuses: a stand-in broker returning None confirms.
            if self._broker.publish(queue, message) is False:
                self._record(what + ": refused (nack)")
                raise PublishRefused(f"{queue} is full and refused {message_id}; try again later")
            self._record(what)

        self._gate.call(what, effect)
