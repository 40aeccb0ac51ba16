"""ch05 · task 3 · Several relays: claims with a lease."""

from __future__ import annotations

import json  # noqa: F401
import time  # noqa: F401

from harness.ports import Store
from harness.ports.publisher import Publisher, PublishRefused  # noqa: F401

QUEUE = "order-events"


class LeasedRelay:
    """One of several relays: claims rows with a lease, publishes them, marks them sent.

    Promise: the promises of the single relay, with any number of relays at
    once; two relays publish the same event only when one of them crashed or
    stalled past its lease, and then with the same message id.

    ``worker`` is this relay's own name (new after every restart); a claim
    lasts ``lease`` seconds of ``time.time()``. The same code must run on
    SQLite and on PostgreSQL: write ``?`` placeholders, and PostgreSQL's
    ``FOR UPDATE SKIP LOCKED`` where you lock rows (the store drops it on
    SQLite, where one writer at a time is the rule).
    """

    def __init__(self, store: Store, publisher: Publisher, *, worker: str, lease: float) -> None:
        self.store = store
        self.publisher = publisher
        self.worker = worker
        self.lease = lease

    def poll_once(self) -> None:
        raise NotImplementedError(
            "TODO(ch05.3): claim pending rows with a lease that expires, publish what you "
            "claimed, then mark it sent"
        )
