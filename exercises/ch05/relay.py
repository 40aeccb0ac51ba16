"""ch05 · task 2 · The outbox relay."""

from __future__ import annotations

import json  # noqa: F401
import time  # noqa: F401

from harness.ports import Store
from harness.ports.publisher import Publisher, PublishRefused  # noqa: F401

QUEUE = "order-events"


class OutboxRelay:
    """Publishes every committed outbox row, in the order it was written, then marks it sent.

    Promise: every committed event is published (never lost, never a
    phantom), per order in the order written; a crash between publish and
    mark publishes it again with the same message id; a refused publish is
    retried later, not lost.

    ``self.publisher.publish(QUEUE, body, message_id=...)`` returns once the
    broker confirmed, and raises ``PublishRefused`` when it refused. Publish
    each row's body as it is (``json.loads(body)``).
    """

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def poll_once(self) -> None:
        raise NotImplementedError(
            "TODO(ch05.2): publish the pending outbox rows in the order they were written, "
            "then mark each one sent"
        )
