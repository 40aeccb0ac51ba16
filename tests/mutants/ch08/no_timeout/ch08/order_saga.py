"""ch08 · tasks 1 to 4 · An orchestrated order saga: reserve, charge, ship, or undo it all."""

from __future__ import annotations

import time

from harness.broker import Delivery
from harness.ports import Channel, Store

AWAITS = {
    "Reserving": "ReserveStock",
    "Charging": "ChargePayment",
    "Shipping": "Ship",
    "Refunding": "RefundPayment",
    "Releasing": "ReleaseStock",
}
"""The command whose reply each waiting state waits for."""

ON_OK = {
    "Reserving": ("Charging", "ChargePayment"),
    "Charging": ("Shipping", "Ship"),
    "Shipping": ("Completed", None),
    "Refunding": ("Releasing", "ReleaseStock"),
    "Releasing": ("Compensated", None),
}
ON_REFUSED = {
    "Reserving": ("Compensated", None),
    "Charging": ("Releasing", "ReleaseStock"),
    "Shipping": ("Refunding", "RefundPayment"),
}
ON_TIMEOUT = {
    "Reserving": ("Releasing", "ReleaseStock"),
    "Charging": ("Refunding", "RefundPayment"),
    "Shipping": ("Refunding", "RefundPayment"),
    "Refunding": ("Refunding", "RefundPayment"),
    "Releasing": ("Releasing", "ReleaseStock"),
}


class OrderSaga:
    """Drives each order through reserve, charge and ship, or undoes what was done.

    Promise: every saga ends ``Completed`` or ``Compensated``; nothing ships
    without a charge; a completed saga keeps its charge and its stock, a
    compensated one keeps neither; each command takes effect at most once;
    no command leaves for a state that was not committed.
    """

    def __init__(self, channel: Channel, store: Store, *, timeout: float = 0.1) -> None:
        self.channel = channel
        self.store = store
        self.timeout = timeout

    def on_message(self, delivery: Delivery) -> None:
        body = delivery.body
        if body["type"] == "OrderPlaced":
            self.start(body)
        else:
            self.on_reply(body["saga_id"], body["command"], body["ok"])
        # Ack after the commit: a crash before it brings the message back, and the saga's
        # committed state tells the copy from news.
        self.channel.ack(delivery.tag)

    def start(self, order: dict) -> None:
        """Open the saga of a new order and send ``ReserveStock``, once."""
        saga = order["saga_id"]
        if self.store.execute("SELECT 1 FROM sagas WHERE saga_id = ?", (saga,)):
            return
        self.store.execute(
            "INSERT INTO sagas (saga_id, state, version, deadline, sku, quantity, amount) "
            "VALUES (?, 'Reserving', 1, ?, ?, ?, ?)",
            (saga, time.time() + self.timeout, order["sku"], order["quantity"], order["amount"]),
        )
        self.send(saga, "ReserveStock")
        # The saga's row and its first command in one transaction: both or neither.
        self.store.commit()

    def on_reply(self, saga: str, command: str, ok: bool) -> None:
        """Move the saga on for a reply to the command its state waits for; ignore any other."""
        rows = self.store.execute("SELECT state, version FROM sagas WHERE saga_id = ?", (saga,))
        if not rows:
            return
        state, version = rows[0]
        if not self.is_awaited(state, command):
            return
        if ok:
            self.move(saga, version, *ON_OK[state])
        else:
            self.compensate(saga, state, version)

    def compensate(self, saga_id: str, state: str, version: int) -> None:
        """Start undoing what the saga ``saga_id`` (now in ``state``) has done."""
        # Reverse order: what was done last is undone first, refund before release.
        self.move(saga_id, version, *ON_REFUSED[state])

    def is_awaited(self, state: str, command: str) -> bool:
        """Whether a reply to ``command`` is the one a saga in ``state`` waits for."""
        # A copy, or a reply that comes after its saga moved on or ended: it changes nothing.
        return AWAITS.get(state) == command

    def on_tick(self) -> None:
        """Time out every step whose deadline has passed."""
        return

    def move(self, saga: str, version: int, state: str, command: str | None) -> None:
        """Save the new state and its command in one transaction, if nobody moved it first."""
        ended = state in ("Completed", "Compensated")
        deadline = None if ended else time.time() + self.timeout
        moved = self.store.execute(
            "UPDATE sagas SET state = ?, version = version + 1, deadline = ? "
            "WHERE saga_id = ? AND version = ? RETURNING version",
            (state, deadline, saga, version),
        )
        if not moved:
            # Optimistic concurrency: the row changed since we read it; our move is stale.
            self.store.rollback()
            return
        if command is not None:
            self.send(saga, command)
        self.store.commit()

    def send(self, saga: str, command: str) -> None:
        """Write ``command`` to the outbox; its id is the saga's and the command's, so a
        compensation sent again after a timeout is the same message, absorbed."""
        self.store.execute(
            "INSERT INTO outbox (message_id, saga_id, command) VALUES (?, ?, ?)",
            (f"{saga}:{command}", saga, command),
        )
