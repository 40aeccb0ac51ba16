"""history-log: a read model that arrives late on the ``orders`` log and rebuilds history.

Two groups read the same ``orders`` topic (see
:mod:`harness.workloads.orders_topic`):

- ``shipping``: the harness's own consumer (``shipping-1``, not under test)
  ships each order and commits after each one, from the start of the run;
- ``history``: the learner's read model (``history-1``, under test), which
  starts when the trace's ``start`` setting says, often long after shipping has
  committed everything. It keeps, in memory, each customer's orders in the
  order they were placed, and shows them through ``view()``.

A trace may let retention remove the oldest records of a partition
(``retention``), but only before the read model starts: those records are gone
for everyone, and its view is built from the records left, from the oldest one
on (not from offset 0). Retention that strikes later would take records from
under a read model that is still catching up, which no view could converge
past, so a trace that asks for it is refused.

Committed offsets belong to a group: whatever ``shipping`` committed says
nothing about ``history``. The read model's clients use Kafka's default reset
policy, ``latest`` (unless the trace's ``reset`` setting says otherwise): a new
group with no committed offset starts at the end of the log, after every
record already there. A crash wipes the read model's memory; its next
incarnation must build the same view again.

The outcome carries the read model's final view (``notes["view"]``) and the
view folded once from every record retention left, in log order (``notes["expected"]``), for
:func:`harness.checkers.replay_converges`.

The learner's component is built as ``factory(client=...)`` and must have
``poll_once()`` and ``view()``, which returns ``{customer: [order ids]}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import LearnerError
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.log_client import LogClient
from harness.ports.warehouse import Warehouse
from harness.traces import NUMBER, POSITIVE, STRING, Trace, TraceError, Vocabulary
from harness.workloads.consumer_group import ConsumerGroup, Poller, next_step_time
from harness.workloads.orders_topic import APPEND, RETENTION, TOPIC, OrdersTopic
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "history-log"
GROUP = "history"
UNDER_TEST = "history-1"
SHIPPING_GROUP = "shipping"
SHIPPER = "shipping-1"

VOCABULARY = Vocabulary(
    actions={"append": APPEND, "retention": RETENTION},
    settings={
        "partitions": (POSITIVE, 2),
        "max_poll_records": (POSITIVE, 2),
        "reset": (STRING, "latest"),
        "start": (NUMBER, 0.0),
    },
)


class _Shipper:
    """The shipping group's consumer, the harness's own: ship, then commit the next offset."""

    def __init__(self, client: LogClient, warehouse: Warehouse) -> None:
        self.client = client
        self.warehouse = warehouse

    def poll_once(self) -> None:
        for record in self.client.poll():
            self.warehouse.ship(record.value["order_id"])
            self.client.commit({record.partition: record.offset + 1})


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` with the read model built by ``factory``, crashing it per ``schedule``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    settings = trace.settings
    topic = OrdersTopic(world, trace, partitions=settings["partitions"])
    log, reset = topic.log, topic.reset()
    groups = {
        SHIPPING_GROUP: ConsumerGroup(world, log, group=SHIPPING_GROUP, topic=TOPIC),
        GROUP: ConsumerGroup(world, log, group=GROUP, topic=TOPIC),
    }
    shipped: dict[str, list[int]] = {}
    current: list[Any] = [None]

    def book(actor: str, order_id: str) -> None:
        shipped.setdefault(order_id, []).append(len(timeline))
        timeline.record(world.now(), actor, "warehouse", f"ship {order_id}")

    def client_for(host: Component, group: str, reset: str) -> LogClient:
        return LogClient(
            log,
            group=group,
            topic=TOPIC,
            member=host.name,
            gate=host.gate,
            timeline=timeline,
            now=world.now,
            reset=reset,
            max_poll_records=settings["max_poll_records"],
        )

    def start_shipper(host: Component) -> None:
        client = client_for(host, SHIPPING_GROUP, "earliest")
        instance = _Shipper(client, Warehouse(book, host.gate))
        poller = Poller(world, host, client, instance.poll_once, log=log, next_step=next_step)
        groups[SHIPPING_GROUP].join(host, client, instance, poller)

    def start_read_model(host: Component) -> None:
        client = client_for(host, GROUP, reset)
        instance = factory(client=client)
        current[0] = instance
        poller = Poller(world, host, client, instance.poll_once, log=log, next_step=next_step)
        groups[GROUP].join(host, client, instance, poller)

    for index, step in enumerate(trace.steps):
        if step.action == "retention" and step.at >= settings["start"]:
            raise TraceError(
                f"{trace.source or trace.name}: steps[{index}].at: retention in a history trace "
                f"must come before the read model starts (settings.start = {settings['start']}), "
                f"got {step.at}"
            )
    actions = {"append": topic.append, "retention": topic.remove_before}
    pending = schedule_steps(scheduler, trace.steps, actions)
    next_step = next_step_time(trace.steps, pending)
    shipper = world.host(SHIPPER, start_shipper, under_test=False)
    read_model = world.host(UNDER_TEST, start_read_model)
    scheduler.at(0.0, shipper.start, priority=2)
    scheduler.at(settings["start"], read_model.start, priority=2)
    notes = run_until_settled(world, trace)
    view = None
    if read_model.running and current[0] is not None:
        view = read_model.invoke(current[0].view, what=f"view() of {UNDER_TEST}")
    notes["view"] = _plain_view(view, timeline) if view is not None else {}
    expected: dict[str, list[str]] = {}
    for partition in sorted(topic.records):
        left = log.start_offset(TOPIC, partition)
        for offset in sorted(o for o in topic.records[partition] if o >= left):
            value = topic.values[topic.records[partition][offset]]
            expected.setdefault(value["customer"], []).append(value["order_id"])
    notes["expected"] = expected
    world.stop()
    world.close()
    return outcome_of(
        world,
        read_model,
        trace,
        schedule,
        accepted=dict(topic.accepted),
        effects={},
        effect="listed",
        notes=notes,
    )


def _plain_view(view: Any, timeline: Any) -> dict[str, list[str]]:
    """The learner's view as plain data, or a clear error saying what shape it must have."""
    shape = "view() must return a dict {customer: [order ids, in the order placed]}"
    if not isinstance(view, Mapping):
        raise LearnerError(TypeError(f"{shape}, got {view!r}"), "view()", timeline)
    plain: dict[str, list[str]] = {}
    for customer, orders in view.items():
        if isinstance(orders, (str, bytes)) or not hasattr(orders, "__iter__"):
            raise LearnerError(
                TypeError(f"{shape}; for {customer!r} it holds {orders!r}"), "view()", timeline
            )
        plain[str(customer)] = [str(order) for order in orders]
    return plain
