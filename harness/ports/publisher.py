"""The publisher port: publishing to the broker and waiting for its confirmation.

A relay that moves outbox rows to the broker must know that the broker *has*
the message before it marks the row sent. :meth:`Publisher.publish` returns
only once the broker confirmed the message (RabbitMQ's publisher confirms,
Kafka's ``acks=all``); when the broker refuses it (a negative confirmation),
it raises :class:`PublishRefused` and nothing was published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.broker import Message
from harness.ports.queue_broker import QueueBroker
from harness.timeline import Timeline


class PublishRefused(Exception):
    """The broker did not confirm the message: it was not published; try again later."""


class Publisher:
    """Publishes messages to named queues, each confirmed before ``publish`` returns.

    ``publish(queue, body, message_id=...)``: the broker has the message when
    this returns. Consumers deduplicate on ``message_id``, so a message
    published again must carry the same id.
    """

    __slots__ = ("_broker", "_gate", "_timeline", "_now", "_refuse", "_on_confirm")

    def __init__(
        self,
        broker: QueueBroker,
        gate: Any,
        timeline: Timeline,
        now: Callable[[], float],
        *,
        refuse: Callable[[str], bool] = lambda message_id: False,
        on_confirm: Callable[[Message, int], None] = lambda message, step: None,
    ) -> None:
        self._broker = broker
        self._gate = gate
        self._timeline = timeline
        self._now = now
        self._refuse = refuse
        self._on_confirm = on_confirm

    def publish(
        self,
        queue: str,
        body: Mapping[str, Any],
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        expiration: int | None = None,
    ) -> None:
        """Publish ``body`` to ``queue``; return once confirmed, raise PublishRefused if not.

        ``expiration`` is the message's own TTL in milliseconds (AMQP's ``expiration``).
        A full queue that rejects publishes (``x-overflow: reject-publish``) nacks it.
        """
        if not message_id or not isinstance(message_id, str):
            raise ValueError("publish needs a message_id (a str): consumers deduplicate on it")
        if not isinstance(body, Mapping):
            raise TypeError(f"a message body is a mapping (a dict), got {type(body).__name__}")
        order = body.get("order_id")
        summary = f" ({order})" if order else ""
        message = Message(message_id, dict(body), dict(headers or {}), summary, expiration)
        actor = self._gate.actor
        what = f"publish {message_id}{summary} to {queue}"

        def effect() -> None:
            if self._refuse(message_id):
                self._timeline.record(self._now(), actor, "broker", what + ": refused (nack)")
                raise PublishRefused(f"the broker refused {message_id}; it was not published")
            # Only a nack (False) refuses: a stand-in broker returning None confirms.
            if self._broker.publish(queue, message) is False:
                self._timeline.record(self._now(), actor, "broker", what + ": refused (nack)")
                raise PublishRefused(f"{queue} is full and refused {message_id}; try again later")
            self._timeline.record(self._now(), actor, "broker", what + ": confirmed")
            self._on_confirm(message, len(self._timeline) - 1)

        self._gate.call(what, effect)
