"""The queue broker the ports talk to: the simulator's or a real RabbitMQ, the same interface.

The channel and publisher ports (:mod:`harness.ports.channel`,
:mod:`harness.ports.publisher`) and the queue workloads ask a broker for these
calls and nothing else, so that the same learner code runs on either world:

- :class:`harness.broker.Broker`, the simulator, in virtual time;
- :class:`harness.live.rabbit.RabbitBroker`, a real RabbitMQ through pika, in
  real time (``pytest exercises/ch03 --world live``).

Each broker carries the clock its world keeps (:class:`Clock`): the ports read
``broker.clock.now`` to stamp what they record, never the wall clock, unless
the world is live and its clock is the wall clock.

>>> from harness.broker import Broker
>>> from harness.clock import VirtualClock
>>> from harness.scheduler import Scheduler
>>> from harness.timeline import Timeline
>>> broker = Broker(Scheduler(VirtualClock(), seed=0), Timeline())
>>> isinstance(broker, QueueBroker), broker.clock.now
(True, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from harness.broker import Delivery, Message
    from harness.timeline import Timeline


class Clock(Protocol):
    """A world's time: ``now``, in seconds since the world began (virtual or real)."""

    now: float


@runtime_checkable
class QueueBroker(Protocol):
    """What a queue broker answers (RabbitMQ's ``queue.*``, ``basic.*`` and confirms).

    ``channel`` values are whatever :meth:`open_channel` returned; each has an
    ``owner`` (the component's name, for the timeline) and ``open``.
    """

    clock: Clock
    timeline: Timeline
    available: bool

    def declare_queue(
        self,
        name: str,
        *,
        dead_letter: str | None = None,
        delivery_limit: int | None = None,
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        """Declare ``name`` with RabbitMQ's queue arguments; again, it changes nothing."""

    def delete_queue(self, name: str) -> None:
        """Delete ``name`` and its ready messages."""

    def publish(self, queue: str, message: Message) -> bool:
        """Publish through the default exchange; True once confirmed, False for a nack."""

    def open_channel(self, owner: str, *, prefetch: int = 0) -> Any:
        """A new channel for the component ``owner``; tags start at 1; ``prefetch`` is qos."""

    def consume(self, channel: Any, queue: str, callback: Callable[[Delivery], None]) -> None:
        """Deliver ``queue``'s messages to ``callback`` through ``channel``."""

    def close_channel(self, channel: Any, *, reason: str = "closed") -> None:
        """Close ``channel`` (its component crashed or stopped): its unacked deliveries go back."""

    def ack(self, channel: Any, tag: int, *, multiple: bool = False) -> None: ...

    def nack(
        self, channel: Any, tag: int, *, multiple: bool = False, requeue: bool = True
    ) -> None: ...

    def reject(self, channel: Any, tag: int, *, requeue: bool = True) -> None: ...

    def ready(self, queue: str) -> list[Message]:
        """The messages waiting in ``queue``, in delivery order."""

    def unacked(self, queue: str | None = None) -> list[Message]:
        """The messages delivered and not yet settled (optionally of one queue)."""
