"""ch05 · task 2 · The outbox relay."""

from __future__ import annotations

import json
import time

from harness.ports import Store
from harness.ports.publisher import Publisher, PublishRefused

QUEUE = "order-events"
BACKOFF = 0.01
"""Seconds to wait before publishing a refused event again; doubled at each attempt."""


class OutboxRelay:
    """Publishes every committed outbox row, in the order it was written, then marks it sent.

    Promise: every committed event is published (never lost, never a phantom),
    per order in the order written; a crash between publish and mark publishes
    it again with the same message id; a refused publish is retried later.
    """

    def __init__(self, store: Store, publisher: Publisher, *, batch: int = 10) -> None:
        self.store = store
        self.publisher = publisher
        self.batch = batch

    def poll_once(self) -> None:
        now = time.time()
        # An order whose oldest pending row backs off is held, all of it and nothing else: it
        # stays out of the batch, so that however many rows it has, they never fill the LIMIT
        # and keep other orders waiting.
        rows = self.store.execute(
            "SELECT id, message_id, order_id, body, attempts, available_at FROM outbox "
            "WHERE sent_at IS NULL AND order_id NOT IN ("
            "    SELECT order_id FROM outbox WHERE sent_at IS NULL AND available_at > ?) "
            "ORDER BY id LIMIT ?",
            (now, self.batch),
        )
        self.store.commit()
        waiting: set[str] = set()
        for row_id, message_id, order_id, body, attempts, available_at in rows:
            # An order's later events wait behind its earlier one: per-order order.
            if order_id in waiting or available_at > now:
                waiting.add(order_id)
                continue
            try:
                # The row's own message id, every time: a copy after a crash is absorbed.
                self.publisher.publish(QUEUE, json.loads(body), message_id=message_id)
            except PublishRefused:
                # Not published: count the attempt and back off; the row stays pending.
                retry_at = now + BACKOFF * 2**attempts
                self.store.execute(
                    "UPDATE outbox SET attempts = attempts + 1, available_at = ? WHERE id = ?",
                    (retry_at, row_id),
                )
                self.store.commit()
                waiting.add(order_id)
                continue
            # Mark sent only after the broker confirmed: a crash before this line means a
            # duplicate with the same id, never a loss.
            self.store.execute(
                "UPDATE outbox SET attempts = attempts + 1, sent_at = ? WHERE id = ?",
                (time.time(), row_id),
            )
            self.store.commit()
