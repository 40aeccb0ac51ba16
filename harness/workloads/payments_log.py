"""payments-log: a payments consumer reading a Kafka-like log through offset commits.

The order desk appends one ``ChargePayment`` record per order to the
``payments`` topic (keyed by order id). The learner's consumer is a member of
the ``payments`` group; the harness calls its ``poll_once()`` again and again
(one turn of a Kafka poll loop), and in it the consumer polls records,
charges each order through the payments port, and commits offsets. After a
crash, a fresh consumer resumes at the group's committed offsets.

The effect that counts is the charge. A record is *settled* once the group's
committed offset has passed it; one still at or beyond the committed offset
when the consumer has gone idle is *stuck* (it would be read again).

The learner's component is built as ``factory(client=..., payments=...)``
and must have ``poll_once()``. Record values are
``{"message_id": str, "order_id": str, "amount": number}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import LogClient, Payments
from harness.traces import COUNT, NUMBER, POSITIVE, STRING, Step, Trace, Vocabulary
from harness.workloads import payments_queue
from harness.workloads.payments_queue import OUTAGE
from harness.workloads.play import (
    add_panels,
    charges_outcome,
    new_world,
    positions_panel,
    run_until_settled,
    schedule_steps,
)
from harness.world import Component

NAME = "payments-log"
TOPIC = "payments"
GROUP = "payments"
POLL_INTERVAL = 0.001
IDLE_POLLS = 2
"""The run ends after this many polls in a row leave the consumer caught up with nothing
left to play: the poll that read the last records, then one that found nothing new (the
consumer's chance to commit when idle)."""

VOCABULARY = Vocabulary(
    actions={
        "append": {"id": STRING, "order": STRING, "amount": NUMBER},
        "fail": {"order": STRING, "times": COUNT},
    },
    settings={"partitions": (POSITIVE, 1), "max_poll_records": (POSITIVE, 3)},
)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the consumer built by ``factory``, crashing per ``schedule``."""
    world = new_world(trace, schedule, freezer)
    log, timeline, scheduler = world.log, world.timeline, world.scheduler
    settings = trace.settings
    log.create_topic(TOPIC, partitions=settings.get("partitions", 1))
    accepted: dict[str, str] = {}
    ids: dict[tuple[int, int], str] = {}
    clients: dict[str, LogClient] = {}
    add_panels(world, lambda: [positions_panel(GROUP, clients)])

    def append(args: dict[str, Any]) -> None:
        value = {"message_id": args["id"], "order_id": args["order"], "amount": args["amount"]}
        record = log.append(TOPIC, key=args["order"], value=value)
        accepted[args["id"]] = args["order"]
        ids[(record.partition, record.offset)] = args["id"]
        timeline.record(
            world.now(),
            "producer",
            "log",
            f"append {args['id']} ({args['order']}) at {TOPIC}[{record.partition}] {record.offset}",
        )

    def fail(args: dict[str, Any]) -> None:
        world.gateway.fail_next(args["order"], times=args["times"])

    pending = schedule_steps(scheduler, trace.steps, {"append": append, "fail": fail})

    def start(host: Component) -> None:
        client = LogClient(
            log,
            group=GROUP,
            topic=TOPIC,
            member=host.name,
            gate=host.gate,
            timeline=timeline,
            now=world.now,
            max_poll_records=settings.get("max_poll_records", 3),
        )
        assignment = log.join(GROUP, TOPIC, host.name)
        client.assign(assignment[host.name])
        clients[host.name] = client
        host.on_crash(lambda: log.leave(GROUP, TOPIC, host.name))
        host.on_crash(lambda: clients.pop(host.name, None))
        payments = Payments(world.gateway, host.gate)
        instance = factory(client=client, payments=payments)
        poll_once = instance.poll_once
        incarnation = host.incarnation
        idle = [0]

        def tick() -> None:
            if not host.running or host.incarnation != incarnation:
                return
            host.invoke(poll_once)
            if not host.running or host.incarnation != incarnation:
                return
            caught_up = all(
                client.position(p) >= log.end_offset(TOPIC, p) for p in client.assignment()
            )
            idle[0] = idle[0] + 1 if caught_up and not pending() else 0
            if idle[0] < IDLE_POLLS:
                scheduler.after(POLL_INTERVAL, tick)

        scheduler.after(POLL_INTERVAL, tick)

    consumer = world.host("consumer", start)
    scheduler.at(0.0, consumer.start, priority=2)
    notes = run_until_settled(world, trace)
    world.stop()
    unsettled = []
    for partition in range(log.partitions(TOPIC)):
        committed = log.committed(GROUP, TOPIC, partition) or 0
        end = log.end_offset(TOPIC, partition)
        unsettled += [ids[(partition, offset)] for offset in range(committed, end)]
    notes["committed"] = {p: log.committed(GROUP, TOPIC, p) for p in range(log.partitions(TOPIC))}
    world.close()
    return charges_outcome(
        world, consumer, trace, schedule, accepted=accepted, unsettled=unsettled, notes=notes
    )


def generate(spec: tuple[int, ...], *, partitions: int = 1, max_poll_records: int = 3) -> Trace:
    """A trace of ``len(spec)`` records; order i's first ``spec[i]`` charges time out."""
    steps = []
    for index, failures in enumerate(spec, start=1):
        if failures:
            steps.append(Step(0.0, "fail", {"order": f"o-{index}", "times": failures}))
        steps.append(
            Step(0.0, "append", {"id": f"m{index}", "order": f"o-{index}", "amount": 10 * index})
        )
    return Trace(
        name="gen:" + ".".join(str(f) for f in spec),
        title=f"{len(spec)} generated record" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: records, gateway timeouts and crashes.",
        workload=NAME,
        steps=tuple(steps),
        settings={"partitions": partitions, "max_poll_records": max_poll_records},
    )


def specs(*, max_orders: int = 6, max_failures: int = OUTAGE):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one record, no failure).

    Drawn as payments-queue's: each order's gateway times out 0 to 2 times; in
    about half the traces, one order meets an outage of 3 to ``max_failures``
    timeouts in a row.
    """
    return payments_queue.specs(max_orders=max_orders, max_failures=max_failures)
