"""ch05 · task 1 · The order and its event, in one transaction."""

from __future__ import annotations

import json  # noqa: F401
import time  # noqa: F401

from harness.ports import Store
from harness.ports.publisher import Publisher


class OrderDesk:
    """Saves each order and gets its ``OrderPlaced`` event out, atomically.

    Promise: an order that is committed has its event, and an order whose
    transaction rolled back has none: no event is lost, none is a phantom.

    ``self.store`` is a DB-API style connection to the database with the
    ``orders`` and ``outbox`` tables (see the chapter's README); ``?`` marks a
    parameter. ``self.publisher.publish(queue, body, message_id=...)`` would
    publish at once, outside any transaction. An amount <= 0 makes the
    ``orders`` insert fail (a CHECK constraint): let that error go.
    """

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def place_order(self, order_id: str, amount: float) -> None:
        raise NotImplementedError(
            "TODO(ch05.1): save the order and its OrderPlaced event so that both are committed "
            "or neither is: no crash may lose the event, no rollback may leave one behind"
        )
