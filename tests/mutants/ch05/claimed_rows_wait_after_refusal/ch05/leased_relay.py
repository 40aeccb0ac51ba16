"""ch05 · task 3 · Several relays: claims with a lease."""

from __future__ import annotations

import json
import time

from harness.ports import Store
from harness.ports.publisher import Publisher, PublishRefused

QUEUE = "order-events"
BACKOFF = 0.01

CLAIM = """
UPDATE outbox SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1
WHERE id IN (
    SELECT o.id FROM outbox o
    WHERE o.sent_at IS NULL AND o.available_at <= ?
      AND (o.claimed_until IS NULL OR o.claimed_until < ?)
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.order_id = o.order_id AND e.sent_at IS NULL AND e.id < o.id)
    ORDER BY o.id
    LIMIT ?
    FOR UPDATE SKIP LOCKED)
RETURNING id, message_id, body, attempts
"""


class LeasedRelay:
    """One of several relays: claims rows with a lease, publishes them, marks them sent.

    Promise: the promises of the single relay, with any number of relays at
    once; two relays publish the same event only when one of them crashed or
    stalled past its lease, and then with the same message id.
    """

    def __init__(
        self, store: Store, publisher: Publisher, *, worker: str, lease: float, batch: int = 10
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.worker = worker
        self.lease = lease
        self.batch = batch

    def poll_once(self) -> None:
        now = time.time()
        # Claim only the head of each order's queue, and only rows nobody holds a live lease
        # on: two relays never hold the same row, nor two rows of one order (per-order order).
        # The lease makes a crashed relay's claim expire; SKIP LOCKED lets PostgreSQL relays
        # pass over rows another relay is claiming right now.
        claimed = self.store.execute(CLAIM, (self.worker, now + self.lease, now, now, self.batch))
        self.store.commit()
        for row_id, message_id, body, attempts in sorted(claimed):
            try:
                self.publisher.publish(QUEUE, json.loads(body), message_id=message_id)
            except PublishRefused:
                # Release the claim and back off, and stop for now: the broker is refusing.
                self.store.execute(
                    "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, available_at = ? "
                    "WHERE id = ? AND claimed_by = ?",
                    (time.time() + BACKOFF * 2 ** (attempts - 1), row_id, self.worker),
                )
                self.store.commit()
                return
            # Marked only after the broker confirmed; a row whose lease we lost is marked
            # all the same, since it is published either way.
            self.store.execute(
                "UPDATE outbox SET sent_at = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = ?",
                (time.time(), row_id),
            )
            self.store.commit()
