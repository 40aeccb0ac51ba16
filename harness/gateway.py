"""The payment gateway: an external side effect that no transaction can undo.

A charge, once made, stays made: this is what makes a duplicate delivery
expensive and a lost one costly. The gateway records every charge (with the
timeline step that shows it) so checkers can count them, and it can be told
by a trace to fail an order's next attempts (a transient timeout).

>>> from harness.timeline import Timeline
>>> gw = PaymentGateway(Timeline(), now=lambda: 0.0)
>>> gw.fail_next("o-2", times=1)
>>> gw.charge("consumer", "o-2", 12)
Traceback (most recent call last):
...
harness.gateway.PaymentFailed: the payment gateway timed out charging o-2 (transient: try again)
>>> gw.charge("consumer", "o-2", 12)
>>> gw.charged()
{'o-2': 1}
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from harness.timeline import Timeline


class PaymentFailed(Exception):
    """The gateway did not charge. ``transient`` failures may succeed if tried again."""

    def __init__(self, message: str, *, order_id: str, transient: bool) -> None:
        super().__init__(message)
        self.order_id = order_id
        self.transient = transient


class PaymentGateway:
    """Charges cards; remembers every charge; fails on demand."""

    def __init__(self, timeline: Timeline, *, now: Callable[[], float]) -> None:
        self.timeline = timeline
        self._now = now
        self.charges: list[tuple[str, float, int]] = []  # (order_id, amount, timeline index)
        self._failures: dict[str, int] = {}

    def fail_next(self, order_id: str, *, times: int) -> None:
        """Make the next ``times`` charges of ``order_id`` fail with a transient timeout."""
        if times < 0:
            raise ValueError(f"times must be >= 0, got {times}")
        self._failures[order_id] = self._failures.get(order_id, 0) + times

    def charge(self, actor: str, order_id: str, amount: float) -> None:
        pending = self._failures.get(order_id, 0)
        if pending:
            self._failures[order_id] = pending - 1
            self.timeline.record(self._now(), actor, "payments", f"charge {order_id} → timeout")
            raise PaymentFailed(
                f"the payment gateway timed out charging {order_id} (transient: try again)",
                order_id=order_id,
                transient=True,
            )
        self.charges.append((order_id, amount, len(self.timeline)))
        self.timeline.record(self._now(), actor, "payments", f"charge {order_id} {amount}")

    def charged(self) -> dict[str, int]:
        """How many times each order was charged."""
        return dict(Counter(order for order, _, _ in self.charges))
