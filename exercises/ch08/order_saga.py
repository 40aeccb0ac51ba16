"""ch08 · tasks 1 to 5 · An orchestrated order saga: reserve, charge, ship, or undo it all."""

from __future__ import annotations

import time  # noqa: F401

from harness.broker import Delivery
from harness.ports import Channel, Store


class OrderSaga:
    """Drives each order through reserve, charge and ship, or undoes what was done.

    Promise: every saga ends ``Completed`` or ``Compensated``; nothing ships
    without a charge; a completed saga keeps its charge and its stock, a
    compensated one keeps neither; each command takes effect at most once;
    no command leaves for a state that was not committed.

    ``on_message(delivery)`` gets every message of the ``saga`` queue: an
    ``OrderPlaced`` (``saga_id``, ``sku``, ``quantity``, ``amount``) or a
    ``Reply`` (``saga_id``, ``command``, ``ok``). ``on_tick()`` is called every
    50 ms of virtual time. ``self.store`` is your SQLite connection; the
    harness has created the tables ``sagas`` and ``outbox``, and relays every
    committed outbox row to its service.
    """

    def __init__(self, channel: Channel, store: Store, *, timeout: float = 0.1) -> None:
        self.channel = channel
        self.store = store
        self.timeout = timeout

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch08.1): open the saga of an OrderPlaced, or move it on for a Reply: write its "
            "new state and its next command to the outbox in one transaction, then ack"
        )

    def compensate(self, saga_id: str, state: str, version: int) -> None:
        """Start undoing what the saga ``saga_id`` (now in ``state``) has done."""
        raise NotImplementedError(
            "TODO(ch08.2): undo in reverse order: RefundPayment first if the payment may have "
            "been charged, then ReleaseStock; end Compensated"
        )

    def on_tick(self) -> None:
        raise NotImplementedError(
            "TODO(ch08.3): find the sagas whose deadline (time.time()) has passed and time out "
            "their step: compensate a forward step, send a compensation again under its own id"
        )

    def is_awaited(self, state: str, command: str) -> bool:
        """Whether a reply to ``command`` is the one a saga in ``state`` waits for."""
        raise NotImplementedError(
            "TODO(ch08.4): only the reply to the command the state waits for moves a saga; a "
            "copy, or a reply that comes after the saga moved on or ended, changes nothing"
        )

    def move(self, saga_id: str, version: int, state: str, command: str | None) -> bool:
        """Save the saga's new ``state`` and its ``command`` in one transaction, if its row
        still has ``version``; say whether it moved."""
        raise NotImplementedError(
            "TODO(ch08.5): UPDATE sagas ... WHERE saga_id = ? AND version = ?, adding 1 to the "
            "version; if no row changed, someone moved the saga first: roll back, send nothing"
        )
