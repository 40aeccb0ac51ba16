"""The order desk's five downstream services, each with its outage windows.

Payments, inventory, shipping, notifications and loyalty each do their part
of an order. They can be reached two ways, and the difference is the point
of ch00:

- **synchronously**, by a direct call (:meth:`DownstreamServices.call`): the caller
  waits, and while the service is down the call raises
  :class:`ServiceUnavailable`;
- **through the broker**: each service consumes its own queue (named after
  it). While the service is down, its messages wait in the queue; once it is
  back, it takes every one of them. Like any consumer that must not act twice
  (ch04), a service remembers the message ids it has taken and drops a
  message whose id it has already seen, as a copy: a message id must name
  one message.

An outage is a window of virtual time ``[start, until)``. Outages of one
service may overlap; it is back when the last one ends. The broker can have
outages too: while it is down nothing can be published
(:class:`harness.broker.BrokerUnavailable`) and the services are
disconnected from it.

>>> from harness.broker import Broker, Message
>>> from harness.clock import VirtualClock
>>> from harness.scheduler import Scheduler
>>> from harness.timeline import Timeline
>>> scheduler = Scheduler(VirtualClock(), seed=0)
>>> broker = Broker(scheduler, Timeline())
>>> downstream = DownstreamServices(broker, scheduler, broker.timeline)
>>> downstream.outage("shipping", 0.0, 0.05)
>>> downstream.start()
>>> broker.publish("shipping", Message("m1", {"order_id": "o-1"}))
True
>>> _ = scheduler.run(until=0.01)
>>> downstream.reached("o-1")
[]
>>> _ = scheduler.run()
>>> downstream.reached("o-1")
['shipping']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from harness.broker import Broker, ChannelState, Delivery
from harness.scheduler import Scheduler
from harness.timeline import Timeline

SERVICES = ("payments", "inventory", "shipping", "notifications", "loyalty")
"""The downstream services of the order desk, in the order the synchronous desk calls them."""

BROKER = "broker"
"""What an outage of the broker itself names."""


class Dropped(NamedTuple):
    """A message a service dropped as a copy: it had taken one with the same id, for ``first``."""

    service: str
    message_id: str
    order: Any
    first: Any
    """The order of the message first taken with that id."""
    step: int


class ServiceUnavailable(Exception):
    """A downstream service is down: the synchronous call did not reach it."""

    def __init__(self, service: str, order_id: Any) -> None:
        super().__init__(f"{service} is down; it did not take order {order_id}")
        self.service = service
        self.order_id = order_id


class DownstreamServices:
    """The five services, their queues on the broker, their outages, what reached them."""

    def __init__(self, broker: Broker, scheduler: Scheduler, timeline: Timeline) -> None:
        self.broker = broker
        self.scheduler = scheduler
        self.timeline = timeline
        self._down: dict[str, int] = {name: 0 for name in (*SERVICES, BROKER)}
        self._channels: dict[str, ChannelState] = {}
        self._received: dict[str, list[tuple[Any, int]]] = {name: [] for name in SERVICES}
        self._taken: dict[str, dict[str, Any]] = {name: {} for name in SERVICES}
        self._dropped: list[Dropped] = []
        self._started = False
        for name in SERVICES:
            broker.declare_queue(name)

    # -- outages ------------------------------------------------------------------------------

    def outage(self, name: str, start: float, until: float) -> None:
        """Take ``name`` (a service or ``"broker"``) down from ``start`` until ``until``."""
        if name not in self._down:
            known = ", ".join((*SERVICES, BROKER))
            raise ValueError(f"no service named {name!r}; an outage is of one of: {known}")
        if not until > start:
            raise ValueError(f"an outage ends after it starts: {start} .. {until}")
        self.scheduler.at(start, lambda: self._go_down(name, until), priority=-1)
        self.scheduler.at(until, lambda: self._come_back(name), priority=-1)

    def is_up(self, name: str) -> bool:
        """Whether ``name`` (a service or ``"broker"``) is up now."""
        return self._down[name] == 0

    def down_now(self) -> tuple[str, ...]:
        """The names (services and broker) that are down now."""
        return tuple(name for name, depth in self._down.items() if depth)

    def _go_down(self, name: str, until: float) -> None:
        self._down[name] += 1
        now = self.scheduler.clock.now
        self.timeline.record(now, "harness", name, f"outage until t={until:.3f}")
        if name == BROKER:
            self.broker.available = False
        self._reconnect()

    def _come_back(self, name: str) -> None:
        self._down[name] -= 1
        if self._down[name]:
            return  # an overlapping outage is still going on
        self.timeline.record(self.scheduler.clock.now, "harness", name, "back up")
        if name == BROKER:
            self.broker.available = True
        self._reconnect()

    # -- consuming ----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect every service that is up to its queue."""
        self._started = True
        self._reconnect()

    def _reconnect(self) -> None:
        """A service consumes while it and the broker are up; otherwise it is disconnected."""
        if not self._started:
            return
        for name in SERVICES:
            connected = name in self._channels
            should = self.is_up(name) and self.is_up(BROKER)
            if should and not connected:
                state = self.broker.open_channel(name, prefetch=1)
                self._channels[name] = state
                self.broker.consume(state, name, lambda d, n=name, s=state: self._take(n, s, d))
            elif connected and not should:
                self.broker.close_channel(self._channels.pop(name), reason=f"{name} disconnected")

    def _take(self, name: str, state: ChannelState, delivery: Delivery) -> None:
        order = delivery.body.get("order_id") if isinstance(delivery.body, Mapping) else None
        taken = self._taken[name]
        if delivery.message_id in taken:
            # A consumer that deduplicates cannot tell a reused id from a copy: it drops it.
            first = taken[delivery.message_id]
            self.timeline.record(
                self.scheduler.clock.now,
                name,
                "broker",
                f"drop {delivery.message_id} ({order}): already took that id, for {first}",
            )
            self._dropped.append(
                Dropped(name, delivery.message_id, order, first, len(self.timeline) - 1)
            )
        else:
            taken[delivery.message_id] = order
            # The broker has just recorded the delivery: that timeline step shows it reached us.
            self._received[name].append((order, len(self.timeline) - 1))
        self.broker.ack(state, delivery.tag)

    # -- calling ------------------------------------------------------------------------------

    def call(self, actor: str, name: str, order_id: Any) -> None:
        """A synchronous call from ``actor``: it reaches ``name`` only if ``name`` is up now."""
        if name not in self._received:
            known = ", ".join(SERVICES)
            raise ValueError(f"no service named {name!r}; the downstream services are: {known}")
        now = self.scheduler.clock.now
        if not self.is_up(name):
            self.timeline.record(now, actor, name, f"call {order_id} → unavailable")
            raise ServiceUnavailable(name, order_id)
        self._received[name].append((order_id, len(self.timeline)))
        self.timeline.record(now, actor, name, f"call {order_id} → done")

    # -- what happened ------------------------------------------------------------------------

    def received(self) -> dict[str, list[tuple[Any, int]]]:
        """For each service, the orders that reached it, with the timeline step of each."""
        return {name: list(got) for name, got in self._received.items()}

    def dropped(self) -> list[Dropped]:
        """The messages a service dropped because it had already taken one with that id."""
        return list(self._dropped)

    def reached(self, order_id: Any) -> list[str]:
        """The services ``order_id`` has reached so far, in service order."""
        return [name for name in SERVICES if any(o == order_id for o, _ in self._received[name])]
