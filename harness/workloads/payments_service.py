"""The payments service of ch06: it captures, times out, declines or kills the process.

:class:`Service` is the world's side: it captures each message id once (ch04's
idempotent consumer stands behind it), fails as the trace says, and remembers
every call for the checkers. :class:`PaymentService` is the port the learner's
consumer holds, and :class:`Jitter` the port of the world's seeded random.

>>> from harness.timeline import Timeline
>>> service = Service(Timeline(), lambda: 0.0)
>>> service.declined.add("m1")
>>> service.capture(None, "m1", "o-1", 30)
Traceback (most recent call last):
...
harness.gateway.PaymentFailed: the card of o-1 was declined capturing m1 (permanent: ...)
>>> service.calls
{'m1': [(0.0, 'permanent')]}
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable

from harness.faults import Gate
from harness.gateway import PaymentFailed
from harness.timeline import Timeline
from harness.workloads.payments_inbox import message_key

__all__ = ["Jitter", "PaymentService", "Service"]


class Jitter:
    """The world's seeded random, for the consumer's jitter: the same draws on every run.

    It never reaches the world, so it is no crash point.
    """

    __twm_port__ = True
    __slots__ = ("_source",)

    def __init__(self, source: _random.Random) -> None:
        self._source = source

    def uniform(self, a: float, b: float) -> float:
        """A number drawn uniformly between ``a`` and ``b``."""
        return self._source.uniform(a, b)

    def random(self) -> float:
        """A number drawn uniformly from [0, 1)."""
        return self._source.random()


class Service:
    """The payments service behind the port: it captures, fails as the trace says, and
    remembers every call (the checkers read ``calls``)."""

    def __init__(self, timeline: Timeline, now: Callable[[], float]) -> None:
        self.timeline = timeline
        self.now = now
        self.timeouts: dict[str, int] = {}
        self.declined: set[str] = set()
        self.crashing: set[str] = set()
        self.captured: set[str] = set()
        self.effects: dict[str, list[int]] = {}
        self.keys: dict[tuple[str, float], str] = {}
        """(order, amount) → the key of the trace's payment: a copy under another id is
        the same payment."""
        self.calls: dict[str, list[tuple[float, str]]] = {}
        """message id → (time, "captured" | "absorbed" | "transient" | "permanent" | "crash")."""

    def fix(self) -> None:
        self.timeouts.clear()
        self.declined.clear()
        self.crashing.clear()

    def capture(self, gate: Gate | None, message_id: str, order_id: str, amount: float) -> None:
        actor = gate.actor if gate is not None else "consumer"
        record = self.calls.setdefault(message_id, []).append
        what = f"capture {message_id} ({order_id})"
        if message_id in self.crashing:
            record((self.now(), "crash"))
            self.timeline.record(self.now(), actor, "payments", what + " → the process dies")
            gate.kill(f"in capture {message_id}: the payment library killed the process")
        if message_id in self.declined:
            record((self.now(), "permanent"))
            self.timeline.record(self.now(), actor, "payments", what + " → declined")
            raise PaymentFailed(
                f"the card of {order_id} was declined capturing {message_id} (permanent: do not "
                "try again)",
                order_id=order_id,
                transient=False,
            )
        if self.timeouts.get(message_id, 0):
            self.timeouts[message_id] -= 1
            record((self.now(), "transient"))
            self.timeline.record(self.now(), actor, "payments", what + " → timeout")
            raise PaymentFailed(
                f"the payment gateway timed out capturing {message_id} (transient: try again)",
                order_id=order_id,
                transient=True,
            )
        if message_id in self.captured:
            record((self.now(), "absorbed"))
            self.timeline.record(self.now(), actor, "payments", what + ": a copy, absorbed")
            return
        self.captured.add(message_id)
        record((self.now(), "captured"))
        key = self.keys.get((order_id, amount)) or message_key(order_id, message_id)
        self.effects.setdefault(key, []).append(len(self.timeline))
        self.timeline.record(self.now(), actor, "payments", f"{what} {amount:g}")


class PaymentService:
    """The payments service: ``capture(message_id, order_id, amount)``.

    It captures each message id once: a copy of a message already captured is
    absorbed. It raises :class:`~harness.ports.PaymentFailed` when it fails:
    ``transient=True`` may succeed if tried again later, ``transient=False``
    never will. It may also kill your process: a crash, as the harness's.
    """

    __twm_port__ = True
    __slots__ = ("_service", "_gate")

    def __init__(self, service: Service, gate: Gate) -> None:
        self._service = service
        self._gate = gate

    def capture(self, message_id: str, order_id: str, amount: float) -> None:
        """Capture ``amount`` for ``order_id``, as message ``message_id``."""
        service, gate = self._service, self._gate
        gate.call(
            f"capture {message_id}", lambda: service.capture(gate, message_id, order_id, amount)
        )
