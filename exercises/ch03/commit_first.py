"""ch03 · task 3 · At most once on the log: commit, then process."""

from __future__ import annotations

from harness.ports import LogClient, PaymentFailed, Payments  # noqa: F401


class CommitFirstConsumer:
    """Reads the payments log and charges each record's order at most once.

    Promise: no order is ever charged twice, under any crash; without
    crashes or gateway failures, every record is charged and committed.

    The harness calls ``poll_once()`` again and again: one turn of a poll
    loop. ``self.client.poll()`` returns records (``record.value`` is
    ``{"message_id", "order_id", "amount"}``); ``self.client.commit()``
    commits the positions poll() has reached.
    """

    def __init__(self, client: LogClient, payments: Payments) -> None:
        self.client = client
        self.payments = payments

    def poll_once(self) -> None:
        raise NotImplementedError(
            "TODO(ch03.3): poll, commit and charge, in the order that makes a second charge "
            "impossible whatever crash strikes"
        )
