"""payments-queue: a payments consumer on a RabbitMQ-like queue.

The order desk has published one ``ChargePayment`` message per order to the
``payments`` queue. The learner's consumer gets each delivery through
``on_message(delivery)``, charges the order through the payments port, and
settles the delivery on its channel. The effect that counts is the charge:
an order charged twice is *duplicated*, an order never charged is *lost*.

The learner's component is built as ``factory(channel=..., payments=...)``
and must have ``on_message(delivery)``. Message bodies are
``{"order_id": str, "amount": number}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.broker import Message
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import Channel, Payments
from harness.traces import COUNT, NUMBER, STRING, Step, Trace, Vocabulary
from harness.workloads.play import (
    charges_outcome,
    new_world,
    run_until_settled,
    schedule_steps,
)
from harness.world import Component

NAME = "payments-queue"
QUEUE = "payments"

VOCABULARY = Vocabulary(
    actions={
        "publish": {"id": STRING, "order": STRING, "amount": NUMBER},
        "fail": {"order": STRING, "times": COUNT},
    },
    settings={"prefetch": (COUNT, 1)},
)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the consumer built by ``factory``, crashing per ``schedule``."""
    world = new_world(trace, schedule, freezer)
    broker, timeline, scheduler = world.broker, world.timeline, world.scheduler
    broker.declare_queue(QUEUE)
    accepted: dict[str, str] = {}

    def publish(args: dict[str, Any]) -> None:
        message = Message(
            args["id"],
            {"order_id": args["order"], "amount": args["amount"]},
            summary=f" ({args['order']})",
        )
        broker.publish(QUEUE, message)
        accepted[args["id"]] = args["order"]
        timeline.record(
            world.now(), "producer", "broker", f"publish {args['id']} ({args['order']})"
        )

    def fail(args: dict[str, Any]) -> None:
        world.gateway.fail_next(args["order"], times=args["times"])

    schedule_steps(scheduler, trace.steps, {"publish": publish, "fail": fail})

    prefetch = trace.settings.get("prefetch", 1)

    def start(host: Component) -> None:
        state = broker.open_channel(host.name, prefetch=prefetch)
        host.on_crash(lambda: broker.close_channel(state, reason=f"{host.name} {host.stop_reason}"))
        channel = Channel(broker, state, host.gate, timeline)
        payments = Payments(world.gateway, host.gate)
        instance = factory(channel=channel, payments=payments)
        on_message = instance.on_message
        broker.consume(state, QUEUE, lambda delivery: host.invoke(on_message, delivery))

    consumer = world.host("consumer", start)
    scheduler.at(0.0, consumer.start, priority=2)
    notes = run_until_settled(world, trace)
    unsettled = [m.message_id for m in broker.ready(QUEUE) + broker.unacked(QUEUE)]
    world.stop()
    world.close()
    return charges_outcome(
        world, consumer, trace, schedule, accepted=accepted, unsettled=unsettled, notes=notes
    )


def generate(spec: tuple[int, ...], *, prefetch: int = 1) -> Trace:
    """A trace of ``len(spec)`` orders; order i's first ``spec[i]`` charges time out."""
    steps = []
    for index, failures in enumerate(spec, start=1):
        if failures:
            steps.append(Step(0.0, "fail", {"order": f"o-{index}", "times": failures}))
        steps.append(
            Step(0.0, "publish", {"id": f"m{index}", "order": f"o-{index}", "amount": 10 * index})
        )
    return Trace(
        name="gen:" + ".".join(str(f) for f in spec),
        title=f"{len(spec)} generated order" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: orders, gateway timeouts and crashes.",
        workload=NAME,
        steps=tuple(steps),
        settings={"prefetch": prefetch},
    )


OUTAGE = 12
"""The most timeouts in a row a generated order gets: more than any number of attempts a
consumer could count to before giving up, so one that gives up loses an order."""


def specs(*, max_orders: int = 5, max_failures: int = OUTAGE):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one order, no failure).

    Each order's gateway times out 0 to 2 times; in about half the traces, one
    order meets an outage instead: 3 to ``max_failures`` timeouts in a row.
    """
    from hypothesis import strategies as st

    spec = st.lists(st.integers(0, min(2, max_failures)), min_size=1, max_size=max_orders)
    if max_failures <= 2:
        return spec.map(tuple)
    outage = st.none() | st.tuples(st.integers(0, max_orders - 1), st.integers(3, max_failures))
    return st.tuples(spec, outage).map(_with_outage)


def _with_outage(drawn: tuple[list[int], tuple[int, int] | None]) -> tuple[int, ...]:
    spec, outage = drawn
    if outage is None:
        return tuple(spec)
    index, failures = outage
    return tuple(failures if i == index % len(spec) else f for i, f in enumerate(spec))
