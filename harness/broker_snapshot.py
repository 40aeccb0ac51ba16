"""The broker's state as the debugger's panels: one per queue, after every step of a replay.

Each queue's panel lists its ready messages in delivery order, then its unacked
deliveries by channel and tag, with their redelivered flags and delivery
counts. A dead-letter queue's panel names the queue it serves and why each
message came (and how often, when it came more than once); a queue with a TTL
shows when each message expires; a queue declared with arguments says what
they are in its note. It only reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.broker_arguments import QueueSpec
from harness.broker_queues import Entry, Queue
from harness.debugger.panel import Panel

__all__ = ["panels"]


def panels(queues: Iterable[Queue]) -> list[Panel]:
    """One panel per queue, in the order the queues were declared."""
    queues = list(queues)
    served: dict[str, str] = {}
    for q in queues:
        if q.dead_letter and q.dead_letter not in served:
            served[q.dead_letter] = q.name
    shown = []
    for q in queues:
        dead = q.name in served
        timed = q.spec.message_ttl is not None or any(
            entry.expires_at is not None for entry in q.ready
        )
        rows = [_row(entry, "ready", None, dead, timed) for entry in q.ready]
        channels = {id(c.channel): c.channel for c in q.consumers}
        for channel in channels.values():
            for tag in sorted(channel.unacked):
                owner, entry = channel.unacked[tag]
                if owner is q:
                    state = f"unacked by {channel.owner}"
                    rows.append(_row(entry, state, tag, dead, timed))
        columns: tuple[str, ...] = ("message", "state", "tag", "redelivered", "deliveries")
        title = f"queue {q.name}"
        if dead:
            columns += ("dead-lettered because",)
            title += f" (dead letters of {served[q.name]})"
        if timed:
            columns += ("expires at",)
        ready = len(q.ready)
        note = f"{ready} ready, {len(rows) - ready} unacked" if rows else "empty"
        consumers = ", ".join(
            f"{c.channel.owner} (prefetch {c.prefetch or 'unlimited'})" for c in q.consumers
        )
        note += f"; consumers: {consumers}" if consumers else "; no consumer"
        described = _describe(q.spec)
        if described:
            note += f"; {described}"
        shown.append(Panel(title, columns, rows, note))
    return shown


def _describe(spec: QueueSpec) -> str:
    parts = []
    if spec.quorum:
        parts.append("quorum queue")
    if spec.delivery_limit is not None:
        parts.append(f"delivery limit {spec.delivery_limit}")
    if spec.message_ttl is not None:
        parts.append(f"message TTL {spec.message_ttl * 1000:g} ms")
    if spec.max_length is not None:
        parts.append(f"at most {spec.max_length} ready ({spec.overflow})")
    return ", ".join(parts)


def _row(entry: Entry, state: str, tag: int | None, dead: bool, timed: bool) -> tuple[Any, ...]:
    message = entry.message
    row: tuple[Any, ...] = (
        message.message_id + message.summary,
        state,
        tag,
        entry.redelivered,
        entry.deliveries,
    )
    if dead:
        deaths = message.headers.get("x-death") or ({},)
        reason = deaths[0].get("reason")
        count = deaths[0].get("count", 1)
        row += (reason if count == 1 else f"{reason} ({count} times)",)
    if timed:
        row += (entry.expires_at,)
    return row
