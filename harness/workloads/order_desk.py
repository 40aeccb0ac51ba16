"""order-desk: the order desk in front of five downstream services that go down.

Customers place orders at the desk. Each order needs payments, inventory,
shipping, notifications and loyalty to do their part. The learner's desk is
built as ``factory(publisher=..., services=...)`` and must have
``place_order(order) -> str``, where ``order`` is
``{"order_id": str, "amount": number}`` and the answer is ``"accepted"`` or
``"refused"``.

- ``services.call(service, order_id)`` calls a service directly and waits;
  it raises ``ServiceUnavailable`` while that service is down
  (:mod:`harness.ports.services`).
- ``publisher.publish(queue, body, message_id=...)`` hands a message to the
  broker (:mod:`harness.ports.publisher`); each service consumes the queue
  named after it, and takes what waited there once it is back. It raises
  :class:`~harness.broker.BrokerUnavailable` while the broker is down.

What counts: the desk's answers (with what was down when it gave them), the
messages the broker took from it, and the orders that reached each service,
whichever way. The checkers read them from ``outcome.notes["replies"]`` (a
list of :class:`Reply`), ``outcome.notes["handed"]`` (a list of
:class:`Handed`), ``outcome.notes["received"]`` (service →
``[(order_id, timeline step)]``) and ``outcome.notes["dropped"]`` (the
messages a service dropped because it had already taken one with that id,
:class:`~harness.services.Dropped`).

The traces' actions are ``order = { id, amount }`` and
``outage = { of, until }``, where ``of`` is a service or ``"broker"`` and the
outage lasts from the step's ``at`` until ``until``.

>>> trace = generate((0, 1 + 32))
>>> [(step.at, step.action) for step in trace.steps]
[(0.01, 'order'), (0.018, 'outage'), (0.018, 'outage'), (0.02, 'order')]
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from harness.broker import BrokerUnavailable, Message
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.publisher import Publisher
from harness.ports.services import Services
from harness.services import BROKER, SERVICES, DownstreamServices
from harness.traces import NUMBER, STRING, Step, Trace, TraceError, Vocabulary
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "order-desk"
ACCEPTED = "accepted"
REFUSED = "refused"
ORDER_GAP = 0.010
"""Virtual seconds between two orders of a generated trace."""

VOCABULARY = Vocabulary(
    actions={
        "order": {"id": STRING, "amount": NUMBER},
        "outage": {"of": STRING, "until": NUMBER},
    },
    settings={},
)


class Reply(NamedTuple):
    """What the desk answered to one order, and what was down when it did.

    ``reply`` is None when the desk crashed before answering; ``step`` is the
    timeline step of the answer.
    """

    order: str
    at: float
    reply: str | None
    down: tuple[str, ...]
    step: int


class Handed(NamedTuple):
    """A message the broker took from the desk: its id, its queue, its order, its timeline step."""

    message_id: str
    queue: str
    order: Any
    step: int


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the desk built by ``factory``, crashing per ``schedule``."""
    _check_outages(trace)
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    downstream = DownstreamServices(world.broker, scheduler, timeline)
    replies: list[Reply] = []
    desks: list[Any] = []

    publish = world.broker.publish
    handed: list[Handed] = []

    def publish_or_say_why(queue: str, message: Message) -> bool:
        try:
            taken = publish(queue, message)
        except BrokerUnavailable:
            # The publisher port names a refused publish; an unreachable broker is named here.
            what = f"publish {message.message_id}{message.summary} to {queue}: broker down"
            timeline.record(world.now(), "desk", "broker", what)
            raise
        order = message.body.get("order_id") if isinstance(message.body, Mapping) else None
        # The publisher port records its "confirmed" line next: that step shows the hand-over.
        if taken:
            handed.append(Handed(message.message_id, queue, order, len(timeline)))
        return taken

    world.broker.publish = publish_or_say_why  # this world's broker only

    def start(host: Component) -> None:
        publisher = Publisher(world.broker, host.gate, timeline, world.now)
        services = Services(downstream, host.gate)
        desks[:] = [factory(publisher=publisher, services=services)]

    desk = world.host("desk", start)

    def place(order: dict[str, Any]) -> str:
        reply = desks[0].place_order(order)
        if not isinstance(reply, str):
            raise TypeError(
                f"place_order returned {reply!r} for {order['order_id']}; "
                f"it answers {ACCEPTED!r} or {REFUSED!r}"
            )
        return reply

    def order(args: dict[str, Any]) -> None:
        down = downstream.down_now()
        timeline.record(world.now(), "customer", "desk", f"place {args['id']} ({args['amount']})")
        body = {"order_id": args["id"], "amount": args["amount"]}
        reply = desk.invoke(place, body, what="place_order")  # None: the desk crashed
        if reply is not None:
            timeline.record(world.now(), "desk", "customer", reply)
        replies.append(Reply(args["id"], world.now(), reply, down, len(timeline) - 1))

    def outage(args: dict[str, Any]) -> None:
        downstream.outage(args["of"], world.now(), args["until"])

    schedule_steps(scheduler, trace.steps, {"order": order, "outage": outage})
    desk.start()
    downstream.start()
    notes = run_until_settled(world, trace)
    world.stop()
    world.close()
    received = downstream.received()
    accepted = {r.order: r.order for r in replies if r.reply == ACCEPTED}
    first = [{o: step for o, step in reversed(got)} for got in received.values()]
    # An accepted order has taken effect once it has reached the last of the five services.
    effects = {
        order_id: [max(arrived[order_id] for arrived in first)]
        for order_id in accepted
        if all(order_id in arrived for arrived in first)
    }
    unsettled = [
        m.message_id
        for name in SERVICES
        for m in world.broker.ready(name) + world.broker.unacked(name)
    ]
    notes.update(replies=replies, received=received, handed=handed, dropped=downstream.dropped())
    return outcome_of(
        world,
        desk,
        trace,
        schedule,
        accepted=accepted,
        effects=effects,
        unsettled=unsettled,
        effect="delivered to every service",
        notes=notes,
    )


def _check_outages(trace: Trace) -> None:
    """An outage names a service or the broker, and ends after it starts."""
    where = trace.source or trace.name
    known = (*SERVICES, BROKER)
    for index, step in enumerate(trace.steps):
        if step.action != "outage":
            continue
        if step.args["of"] not in known:
            raise TraceError(
                f"{where}: steps[{index}].outage.of: unknown {step.args['of']!r}; "
                f"expected one of {', '.join(known)}"
            )
        if not step.args["until"] > step.at:
            raise TraceError(
                f"{where}: steps[{index}].outage.until: expected a time after at = {step.at}, "
                f"got {step.args['until']}"
            )


# -- generated traces -----------------------------------------------------------------------------


def generate(spec: tuple[int, ...]) -> Trace:
    """A trace of ``len(spec)`` orders, ``ORDER_GAP`` apart, with outages around them.

    ``spec[i]`` is a bit mask of what is down when order i arrives: bit 0 is
    payments, bits 1-4 inventory, shipping, notifications, loyalty (in
    :data:`~harness.services.SERVICES` order), bit 5 the broker. Each outage
    starts 2 ms before its order and ends 1 ms before the next one, so the
    outages of one service around consecutive orders overlap.
    """
    names = (*SERVICES, BROKER)
    steps = []
    for index, mask in enumerate(spec, start=1):
        if not 0 <= mask < 2 ** len(names):
            raise ValueError(f"a generated order's mask is 0..{2 ** len(names) - 1}, got {mask}")
        at = round(index * ORDER_GAP, 6)
        for bit, name in enumerate(names):
            if mask >> bit & 1:
                steps.append(_outage(name, at - 0.002, at + 0.009))
        steps.append(Step(at, "order", {"id": f"o-{index}", "amount": 10 * index}))
    steps.sort(key=lambda step: step.at)  # stable: an order stays after outages at its time
    return Trace(
        name="gen:" + ".".join(str(mask) for mask in spec),
        title=f"{len(spec)} generated order" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: orders, and outages of the services and the broker.",
        workload=NAME,
        steps=tuple(steps),
    )


def _outage(name: str, start: float, until: float) -> Step:
    return Step(round(start, 6), "outage", {"of": name, "until": round(until, 6)})


def specs(*, max_orders: int = 5):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one order, nothing down)."""
    from hypothesis import strategies as st

    return st.lists(
        st.integers(0, 2 ** (len(SERVICES) + 1) - 1), min_size=1, max_size=max_orders
    ).map(tuple)


def flaky(availabilities: Sequence[float], *, orders: int, seed: int) -> Trace:
    """``orders`` orders; at each, service i is down with probability ``1 - availabilities[i]``.

    The draws come from ``random.Random(seed)``: the same seed, the same trace.
    """
    if len(availabilities) != len(SERVICES):
        raise ValueError(f"one availability per service ({', '.join(SERVICES)})")
    draw = random.Random(seed)
    steps = []
    for index in range(1, orders + 1):
        at = round(index * ORDER_GAP, 6)
        for name, availability in zip(SERVICES, availabilities, strict=True):
            if draw.random() >= availability:
                steps.append(_outage(name, at - 0.002, at + 0.002))
        steps.append(Step(at, "order", {"id": f"o-{index}", "amount": 10}))
    return Trace(
        name=f"flaky-s{seed}",
        title=f"{orders} orders, services down at random",
        story="Each service is up at each order with its own availability.",
        workload=NAME,
        steps=tuple(steps),
    )


class Measurement(NamedTuple):
    """How many orders a desk accepted out of how many were placed."""

    accepted: int
    placed: int

    @property
    def rate(self) -> float:
        return self.accepted / self.placed if self.placed else 0.0


def acceptance(
    factory: Callable[..., Any],
    availabilities: Sequence[float],
    *,
    runs: int,
    orders: int,
    first_seed: int = 0,
) -> Measurement:
    """Run ``runs`` seeded :func:`flaky` traces against the desk and count its acceptances."""
    accepted = placed = 0
    for seed in range(first_seed, first_seed + runs):
        outcome = run(factory, flaky(availabilities, orders=orders, seed=seed), Schedule(seed=seed))
        replies = outcome.notes["replies"]
        placed += len(replies)
        accepted += sum(reply.reply == ACCEPTED for reply in replies)
    return Measurement(accepted, placed)
