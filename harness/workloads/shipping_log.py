"""shipping-log: the shipping service's consumer group reading the ``orders`` log.

The order desk appends one record per order to the ``orders`` topic (see
:mod:`harness.workloads.orders_topic`). The learner's consumer is
``shipping-1``, a member of the ``shipping`` group; it ships each order
through the warehouse port and commits the group's offsets. The harness calls
its ``poll_once()`` every millisecond (one turn of a Kafka poll loop) and, when
the group rebalances, its ``on_partitions_revoked`` / ``on_partitions_assigned``
if it has them (:mod:`harness.workloads.consumer_group`).

A trace may add a second member (``join``, ``leave``): built from the same
learner class, but hosted *not under test*, so crash schedules strike only
``shipping-1``. It may also seed the group's history (``committed``: an offset
the group committed before the run) and let retention remove the oldest
records of a partition (``retention``).

The effect that counts is the shipment. The outcome says, per record, whether
the group shipped it and where its committed offsets ended
(``notes["log"]``), for :func:`harness.checkers.committed_processed`. It also
says where each member started reading each partition it was given
(``notes["log"]["starts"]``, for :func:`harness.checkers.resumes_at_committed`)
and, for each commit, whether it named a record that member had already
shipped since it got the partition (``notes["log"]["commits"]``, for
:func:`harness.checkers.commits_next_offset`). Two kinds
of records are left out of ``accepted``: those below an offset the group
committed before the run (handled then), and those that retention removed
before the group shipped them (no consumer could read them: not *lost* by the
consumer).

The learner's component is built as ``factory(client=..., warehouse=...)``,
plus ``every=N`` when the trace's ``every`` setting is not 3 (commit after that
many parcels), and must have ``poll_once()``. The outcome carries that
bound (``notes["every"]``) for :func:`harness.checkers.duplicates_within_every`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.log_client import LogClient
from harness.ports.warehouse import Warehouse
from harness.traces import COUNT, NUMBER, POSITIVE, STRING, Step, Trace, TraceError, Vocabulary
from harness.workloads.consumer_group import ConsumerGroup, Poller, next_step_time
from harness.workloads.orders_topic import APPEND, RETENTION, TOPIC, OrdersTopic
from harness.workloads.play import new_world, run_until_settled, schedule_steps
from harness.world import Component

NAME = "shipping-log"
GROUP = "shipping"
UNDER_TEST = "shipping-1"
EVERY = 3
"""Parcels between commits unless a trace's ``every`` says otherwise (the stub's default)."""

VOCABULARY = Vocabulary(
    actions={
        "append": APPEND,
        "join": {"member": STRING},
        "leave": {"member": STRING},
        "retention": RETENTION,
        "committed": {"partition": COUNT, "offset": COUNT},
    },
    settings={
        "partitions": (POSITIVE, 2),
        "max_poll_records": (POSITIVE, 2),
        "reset": (STRING, "earliest"),
        "start": (NUMBER, 0.0),
        "every": (POSITIVE, EVERY),
    },
)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the members built by ``factory``, crashing ``shipping-1``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    settings = trace.settings
    topic = OrdersTopic(world, trace, partitions=settings["partitions"])
    log, reset = topic.log, topic.reset()
    shipped: dict[str, list[int]] = {}
    expired: set[str] = set()
    hosts: dict[str, Component] = {}
    # Per member, since its last assignment: the records it shipped, the partitions not read yet.
    since: dict[str, set[tuple[int, int]]] = {}
    unread: dict[str, set[int]] = {}
    starts: list[dict[str, Any]] = []
    commits: list[dict[str, Any]] = []

    def assigned(member: str, partitions: list[int]) -> None:
        since[member], unread[member] = set(), set(partitions)

    group = ConsumerGroup(world, log, group=GROUP, topic=TOPIC, on_assign=assigned)

    def book(actor: str, order_id: str) -> None:
        shipped.setdefault(order_id, []).append(len(timeline))
        timeline.record(world.now(), actor, "warehouse", f"ship {order_id}")
        for partition, records in topic.records.items():
            for offset, message_id in records.items():
                if topic.values[message_id]["order_id"] == order_id:
                    since.setdefault(actor, set()).add((partition, offset))

    def observer(member: str) -> Callable[[str, int, int], None]:
        def observe(kind: str, partition: int, offset: int) -> None:
            if kind == "commit":
                done = (partition, offset) in since.get(member, ())
                commits.append(
                    {
                        "step": len(timeline),
                        "member": member,
                        "partition": partition,
                        "offset": offset,
                        "shipped": done,
                    }
                )
            elif kind == "read" and partition in unread.get(member, ()):
                unread[member].discard(partition)
                committed = log.committed(GROUP, TOPIC, partition)
                first = log.start_offset(TOPIC, partition)
                usable = committed is not None and committed >= first
                starts.append(
                    {
                        "step": len(timeline),
                        "member": member,
                        "partition": partition,
                        "offset": offset,
                        "expected": committed if usable else first,
                        "committed": committed,
                        "end": log.end_offset(TOPIC, partition),
                    }
                )

        return observe

    def start(host: Component) -> None:
        client = LogClient(
            log,
            group=GROUP,
            topic=TOPIC,
            member=host.name,
            gate=host.gate,
            timeline=timeline,
            now=world.now,
            reset=reset,
            max_poll_records=settings["max_poll_records"],
            observer=observer(host.name),
        )
        # Only a trace that asks for another bound passes it: the component's default is 3.
        bound = {} if settings["every"] == EVERY else {"every": settings["every"]}
        instance = factory(client=client, warehouse=Warehouse(book, host.gate), **bound)
        poller = Poller(world, host, client, instance.poll_once, log=log, next_step=next_step)
        group.join(host, client, instance, poller)

    def join(args: dict[str, Any]) -> None:
        name = args["member"]
        if name == UNDER_TEST or (name in hosts and hosts[name].running):
            raise TraceError(
                f"{trace.source or trace.name}: join.member: {name!r} is already in the group; "
                f"name a new member ({UNDER_TEST} starts by itself)"
            )
        if name not in hosts:
            hosts[name] = world.host(name, start, under_test=False)
        hosts[name].start()

    def leave(args: dict[str, Any]) -> None:
        group.leave(args["member"])

    def retention(args: dict[str, Any]) -> None:
        done = {order for order, steps in shipped.items() if steps}
        for message_id in topic.remove_before(args):
            if topic.accepted[message_id] not in done:
                expired.add(message_id)

    def committed(args: dict[str, Any]) -> None:
        partition = topic.partition(args["partition"], "committed.partition")
        # A shrunk trace may have dropped the records the offset pointed past.
        offset = min(args["offset"], log.end_offset(TOPIC, partition))
        # The group handled these before the run: they are not this run's to ship.
        start = log.start_offset(TOPIC, partition)
        expired.update(topic.records[partition][o] for o in range(start, offset))
        log.commit(GROUP, TOPIC, partition, offset)
        timeline.record(
            world.now(), GROUP, "log", f"committed earlier: {TOPIC}[{partition}]={offset}"
        )

    actions = {
        "append": topic.append,
        "join": join,
        "leave": leave,
        "retention": retention,
        "committed": committed,
    }
    pending = schedule_steps(scheduler, trace.steps, actions)
    next_step = next_step_time(trace.steps, pending)
    consumer = world.host(UNDER_TEST, start)
    hosts[UNDER_TEST] = consumer
    scheduler.at(settings["start"], consumer.start, priority=2)
    notes = run_until_settled(world, trace)
    world.stop()
    offsets = {p: log.committed(GROUP, TOPIC, p) for p in range(log.partitions(TOPIC))}
    unsettled = []
    for partition, committed_offset in offsets.items():
        first = max(committed_offset or 0, log.start_offset(TOPIC, partition))
        records = topic.records[partition]
        unsettled += [records[o] for o in range(first, log.end_offset(TOPIC, partition))]
    orders = {
        p: {o: topic.values[m]["order_id"] for o, m in records.items()}
        for p, records in topic.records.items()
    }
    notes["every"] = settings["every"]
    notes["log"] = {
        "topic": TOPIC,
        "committed": offsets,
        "records": topic.records,
        "orders": orders,
        "starts": starts,
        "commits": commits,
    }
    world.close()
    return Outcome(
        accepted={m: o for m, o in topic.accepted.items() if m not in expired},
        effects=shipped,
        unsettled=sorted(unsettled),
        effect="shipped",
        timeline=timeline,
        schedule=schedule,
        trace_name=trace.name,
        crashes=consumer.crashes,
        swallowed=sum(host.swallowed for host in hosts.values()),
        calls=consumer.gate.calls,
        notes=notes,
    )


CUSTOMERS = ("ada", "bo", "cy", "dee", "eve", "fay")
"""Customers in the order the generated traces use them (the key picks the partition)."""


def generate(spec: tuple[int, ...], *, rebalance: bool = False) -> Trace:
    """A trace of ``len(spec)`` orders; ``spec[i]`` says when order i + 1 arrives.

    0: with the previous order; 1: 50 ms after it, so shipping-1 has been idle; 2: like 1
    and, with ``rebalance``, a second member joins just before the order (or, if one is in
    the group, leaves), so the group rebalances mid-stream.
    """
    steps, at, guest = [], 0.0, 0
    for index, kind in enumerate(spec, start=1):
        if kind:
            at = round(at + 0.05, 3)
        if kind == 2 and rebalance:
            if guest % 2 == 0:
                steps.append(Step(at, "join", {"member": f"shipping-{guest // 2 + 2}"}))
            else:
                steps.append(Step(at, "leave", {"member": f"shipping-{guest // 2 + 2}"}))
            guest += 1
        customer = CUSTOMERS[(index - 1) % len(CUSTOMERS)]
        order = {"id": f"m{index}", "order": f"o-{index}", "customer": customer, "amount": index}
        steps.append(Step(at, "append", order))
    return Trace(
        name="gen:" + ".".join(str(kind) for kind in spec),
        title=f"{len(spec)} generated order" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: orders, idle spells, members joining and leaving, crashes.",
        workload=NAME,
        steps=tuple(steps),
        settings={
            "partitions": 2,
            "max_poll_records": 2,
            "reset": "earliest",
            "start": 0.0,
            "every": EVERY,
        },
    )


def specs(*, max_orders: int = 6):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one order at the start)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, 2), min_size=1, max_size=max_orders).map(tuple)
