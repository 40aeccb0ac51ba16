"""Dead-lettering's headers: ``x-death`` and ``x-first-death-*``, as RabbitMQ 3.10 writes them.

Each time a message is dead-lettered, the broker records why in its headers:

- ``x-death`` is a list of tables, most recent first, one per (queue, reason):
  ``count``, ``reason``, ``queue``, ``time``, ``exchange``, ``routing-keys``
  (and ``original-expiration`` when the message had its own TTL). Dying again
  from the same queue for the same reason adds one to that table's count and
  moves it to the front; its time stays the first one's.
- ``x-first-death-reason``, ``-queue`` and ``-exchange`` are written once.

``time`` is a timestamp (a timezone-aware :class:`~datetime.datetime`, whole
seconds, as pika decodes one): the world's virtual time after
:data:`harness.clock.EPOCH`.

>>> headers = with_death({}, queue="work", reason="rejected", exchange="",
...                      routing_keys=("work",), now=61.5)
>>> death = headers["x-death"][0]
>>> death["count"], death["reason"], death["queue"], death["time"].isoformat()
(1, 'rejected', 'work', '2026-01-01T00:01:01+00:00')
>>> with_death(headers, queue="work", reason="rejected", exchange="",
...            routing_keys=("work",), now=99.0)["x-death"][0]["count"]
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from harness.clock import EPOCH

__all__ = ["is_cycle", "timestamp", "with_death"]


def timestamp(now: float) -> datetime:
    """The AMQP timestamp of virtual time ``now``: whole seconds after the epoch, in UTC."""
    return EPOCH + timedelta(seconds=int(now))


def with_death(
    headers: Mapping[str, Any],
    *,
    queue: str,
    reason: str,
    exchange: str,
    routing_keys: Sequence[str],
    now: float,
    original_expiration: str | None = None,
) -> dict[str, Any]:
    """``headers`` with one more death from ``queue`` for ``reason`` recorded in them."""
    deaths = [dict(death) for death in headers.get("x-death", ())]
    earlier = next(
        (d for d in deaths if d.get("queue") == queue and d.get("reason") == reason), None
    )
    if earlier is not None:
        deaths.remove(earlier)
        earlier["count"] = earlier.get("count", 0) + 1
        death = earlier
    else:
        death = {
            "count": 1,
            "reason": reason,
            "queue": queue,
            "time": timestamp(now),
            "exchange": exchange,
            "routing-keys": list(routing_keys),
        }
        if original_expiration is not None:
            death["original-expiration"] = original_expiration
    deaths.insert(0, death)
    result = dict(headers)
    result["x-death"] = deaths
    result.setdefault("x-first-death-exchange", exchange)
    result.setdefault("x-first-death-queue", queue)
    result.setdefault("x-first-death-reason", reason)
    return result


def is_cycle(headers: Mapping[str, Any], target: str) -> bool:
    """Whether dead-lettering to ``target`` closes a cycle that no consumer took part in.

    RabbitMQ drops such a message (a queue whose expired messages come back to
    it, two TTL queues dead-lettering into each other) instead of cycling for
    ever; a cycle with a rejection in it (the wait-queue retry pattern) goes on.
    ``headers`` already holds the death being recorded; a ``rejected`` death is
    never checked.
    """
    deaths = list(headers.get("x-death", ()))
    if deaths and deaths[0].get("reason") == "rejected":
        return False
    for index, death in enumerate(deaths):
        if death.get("queue") == target:
            return all(d.get("reason") != "rejected" for d in deaths[: index + 1])
    return False
