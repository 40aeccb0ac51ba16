"""Queue arguments: a queue's type and policies, given as RabbitMQ's ``x-`` arguments.

:meth:`harness.broker.Broker.declare_queue` takes the same ``arguments`` a
``queue.declare`` takes in RabbitMQ (pika's ``queue_declare(arguments=...)``),
and this module reads them into a :class:`QueueSpec`. A bad argument is
refused when the queue is declared, with an error that names the argument
and the fix.

>>> spec = read_arguments("work", {"x-queue-type": "quorum", "x-delivery-limit": 2})
>>> spec.quorum, spec.delivery_limit
(True, 2)
>>> read_arguments("work", {"x-message-ttl": -5})
Traceback (most recent call last):
...
ValueError: queue 'work': x-message-ttl must be an int >= 0 (milliseconds), got -5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["KNOWN", "QueueSpec", "read_arguments"]

KNOWN = (
    "x-queue-type",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-message-ttl",
    "x-max-length",
    "x-overflow",
    "x-delivery-limit",
    "x-expires",
)
"""The queue arguments the simulated broker understands (``x-expires`` is accepted and
ignored: a simulated run ends long before an unused queue would expire)."""

OVERFLOWS = ("drop-head", "reject-publish")


@dataclass(frozen=True)
class QueueSpec:
    """What a queue does, read from its arguments.

    ``dead_letter_exchange`` is ``None`` when the queue has no dead-letter
    exchange (a message given up on is dropped); ``""`` is the default
    exchange, the only one the simulator models, which routes to the queue
    named by ``dead_letter_routing_key`` (or by the message's own routing key).
    ``message_ttl`` is in seconds.
    """

    quorum: bool = False
    dead_letter_exchange: str | None = None
    dead_letter_routing_key: str | None = None
    message_ttl: float | None = None
    max_length: int | None = None
    overflow: str = "drop-head"
    delivery_limit: int | None = None

    @property
    def kind(self) -> str:
        return "quorum" if self.quorum else "classic"


def read_arguments(
    queue: str,
    arguments: Mapping[str, Any] | None,
    *,
    dead_letter: str | None = None,
    delivery_limit: int | None = None,
    quorum_delivery_limit: int | None = None,
) -> QueueSpec:
    """Read ``arguments`` (and the shorthand keywords) into a :class:`QueueSpec`.

    ``dead_letter="dlq"`` is shorthand for ``x-dead-letter-exchange: ""`` and
    ``x-dead-letter-routing-key: "dlq"``; ``delivery_limit`` is a delivery
    limit on a queue of any type (RabbitMQ has it on quorum queues only).
    ``quorum_delivery_limit`` is the limit of a quorum queue that names none
    (the broker's setting: none in RabbitMQ 3.x, 20 in 4.x).
    """
    given = dict(arguments or {})

    def fail(what: str) -> ValueError:
        return ValueError(f"queue {queue!r}: {what}")

    unknown = sorted(set(given) - set(KNOWN))
    if unknown:
        raise fail(
            f"unknown argument {unknown[0]!r}; the simulated broker knows " + ", ".join(KNOWN)
        )
    kind = given.get("x-queue-type", "classic")
    if kind not in ("classic", "quorum"):
        raise fail(
            f"x-queue-type must be 'classic' or 'quorum', got {kind!r} (streams are modelled "
            "by the log, harness.log)"
        )
    quorum = kind == "quorum"

    exchange = given.get("x-dead-letter-exchange")
    routing_key = given.get("x-dead-letter-routing-key")
    if dead_letter is not None:
        if exchange is not None or routing_key is not None:
            raise fail("give dead_letter= or the x-dead-letter-* arguments, not both")
        exchange, routing_key = "", dead_letter
    if exchange is not None and exchange != "":
        raise fail(
            f"x-dead-letter-exchange {exchange!r}: the simulator models the default exchange "
            "only; give '' and name the dead-letter queue in x-dead-letter-routing-key"
        )
    if routing_key is not None:
        if exchange is None:
            raise fail(
                "x-dead-letter-routing-key needs x-dead-letter-exchange (RabbitMQ refuses it "
                "with 406 PRECONDITION_FAILED); add 'x-dead-letter-exchange': ''"
            )
        if not isinstance(routing_key, str) or not routing_key:
            raise fail(f"x-dead-letter-routing-key must be a queue name, got {routing_key!r}")

    ttl = given.get("x-message-ttl")
    if ttl is not None and (not _count(ttl)):
        raise fail(f"x-message-ttl must be an int >= 0 (milliseconds), got {ttl!r}")
    max_length = given.get("x-max-length")
    if max_length is not None and not _count(max_length):
        raise fail(f"x-max-length must be an int >= 0 (messages), got {max_length!r}")
    overflow = given.get("x-overflow", "drop-head")
    if overflow not in OVERFLOWS:
        raise fail(f"x-overflow must be one of {', '.join(OVERFLOWS)}, got {overflow!r}")

    limit = given.get("x-delivery-limit")
    if limit is not None:
        if not quorum:
            raise fail(
                "x-delivery-limit works on quorum queues only (RabbitMQ ignores it on a "
                "classic queue); add 'x-queue-type': 'quorum'"
            )
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise fail(f"x-delivery-limit must be an int, got {limit!r}")
        limit = None if limit < 0 else limit  # RabbitMQ 4.x: -1 turns the limit off
    elif quorum:
        limit = quorum_delivery_limit
    if delivery_limit is not None:
        if delivery_limit < 0:
            raise ValueError(f"delivery_limit must be >= 0 or None, got {delivery_limit}")
        limit = delivery_limit

    return QueueSpec(
        quorum=quorum,
        dead_letter_exchange=exchange,
        dead_letter_routing_key=routing_key,
        message_ttl=None if ttl is None else ttl / 1000,
        max_length=max_length,
        overflow=overflow,
        delivery_limit=limit,
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
