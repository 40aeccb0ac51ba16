"""ch05 · task 4 · Cleanup: purge sent rows after their retention."""

from __future__ import annotations

import time

from harness.ports import Store

RETENTION = 0.05
"""Seconds a sent row is kept (the retention of the README's trace)."""


class OutboxCleaner:
    """Deletes outbox rows sent more than ``retention`` seconds ago.

    Promise: a sent row is purged once its retention has passed, so the
    outbox stays bounded; an unsent row is never purged, however old.
    """

    def __init__(self, store: Store, *, retention: float) -> None:
        self.store = store
        self.retention = retention

    def purge_once(self) -> None:
        # Only rows with a sent_at: age is counted from the publication, never from the write,
        # so a row the relay has not published yet is never touched.
        self.store.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
            (time.time() - RETENTION,),
        )
        self.store.commit()
