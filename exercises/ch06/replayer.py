"""ch06 · task 4 · Replay the dead-letter queue once the fix is in."""

from __future__ import annotations

from harness.broker import Delivery
from harness.ports import Channel, Store
from harness.workloads.payments_retry import QUEUE  # noqa: F401


class Replayer:
    """Sends each dead letter back to ``payments`` once, to be captured once.

    Promise: after the fix, every dead-lettered message is captured exactly
    once: a crash of the replayer sends a copy at most, under the same
    message id, which the payments service absorbs.

    The harness starts it once the fix is deployed; it gets each message of
    ``payments.dead`` through ``on_message(delivery)``. ``self.store`` is a
    connection to the same database as the consumer's.
    """

    def __init__(self, channel: Channel, store: Store) -> None:
        self.channel = channel
        self.store = store

    def on_message(self, delivery: Delivery) -> None:
        raise NotImplementedError(
            "TODO(ch06.4): send the dead letter back to payments under its own message id, "
            "with a fresh budget of attempts, then ack it"
        )
