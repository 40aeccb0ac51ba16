"""Broker settings: which RabbitMQ the simulated broker behaves like.

The chapters run on :data:`KIT`, the broker they were written for. The
conformance suite (tests/conformance) runs :data:`RABBITMQ_3`, which behaves
as RabbitMQ 3.10 does in every scenario it checks; :data:`RABBITMQ_4` adds
4.x's default delivery limit of quorum queues. docs/broker.md lists what
:data:`KIT` does differently, and why.

>>> RABBITMQ_4.quorum_delivery_limit
20
>>> BrokerSettings(unroutable="ignore")
Traceback (most recent call last):
...
ValueError: unroutable must be 'raise' (the kit's) or 'drop' (RabbitMQ's), got 'ignore'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["KIT", "RABBITMQ_3", "RABBITMQ_4", "BrokerSettings"]


@dataclass(frozen=True)
class BrokerSettings:
    """How the broker behaves where the kit and RabbitMQ may differ.

    - ``unroutable``: a publish to a queue that does not exist. ``"raise"``
      (the kit's): :class:`harness.broker.UnknownQueue` names the declared
      queues. ``"drop"`` (RabbitMQ's default exchange, without ``mandatory``):
      the publish is confirmed and the message is dropped.
    - ``eager``: ``True`` (RabbitMQ's): a ready message is handed to a
      consumer with room at the moment it becomes ready, so messages requeued
      one after the other come back in that order. ``False`` (the kit's): the
      broker picks the next ready message one delivery latency later, one
      message at a time, in queue order.
    - ``quorum_delivery_limit``: the delivery limit of a quorum queue declared
      without ``x-delivery-limit``: ``None`` as in RabbitMQ 3.x (no limit),
      20 as in 4.x.
    """

    unroutable: str = "raise"
    eager: bool = False
    quorum_delivery_limit: int | None = None

    def __post_init__(self) -> None:
        if self.unroutable not in ("raise", "drop"):
            raise ValueError(
                "unroutable must be 'raise' (the kit's) or 'drop' (RabbitMQ's), "
                f"got {self.unroutable!r}"
            )
        limit = self.quorum_delivery_limit
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ValueError(
                f"quorum_delivery_limit must be an int >= 0 or None (no limit), got {limit!r}"
            )


KIT = BrokerSettings()
"""The broker the chapters ch00-ch05 were written against."""

RABBITMQ_3 = BrokerSettings(unroutable="drop", eager=True)
"""RabbitMQ 3.x (checked against 3.10.8 by tests/conformance)."""

RABBITMQ_4 = replace(RABBITMQ_3, quorum_delivery_limit=20)
"""RabbitMQ 4.x: as 3.x, and a quorum queue's delivery limit is 20 unless declared."""
