"""order-projection: a read model of order status, fed by duplicated, disordered events.

The order desk publishes each order's events (``OrderPlaced``, ``OrderPaid``,
``OrderShipped``, ``OrderCancelled``) to the ``order-events`` queue, each with
a version: 1, 2, 3, … per order, the order in which they happened. The queue
delivers them duplicated (the same event, the same message id) and out of
order (a retry comes back behind newer events; a crash redelivers). The
learner's projection gets each delivery through ``on_message(delivery)`` and
keeps the table ``order_status (order_id, status, version)`` through its
store port.

The promise: at the end, each order's row holds the status and version that
its events give when folded in version order; that is, those of its newest
event. What counts is the committed table, read by the harness after the run
(``notes["projection"]``, against ``notes["folded"]``); triggers note each
committed write, in commit order (``notes["writes"]``: order, status, version,
timeline step), so that a newer status set back by an older event is seen even
when a later copy puts it right again.

The component is built as ``factory(channel=..., store=...)`` and must have
``on_message(delivery)``. Bodies are ``{"order_id": str, "version": int,
"event": str}``; the message id is the event's id, ``"o-1/v2"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.broker import Message
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import Channel, Store
from harness.traces import POSITIVE, STRING, Step, Trace, TraceError, Vocabulary
from harness.workloads.payments_inbox import connect
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "order-projection"
QUEUE = "order-events"
STATUS = {
    "OrderPlaced": "placed",
    "OrderPaid": "paid",
    "OrderShipped": "shipped",
    "OrderCancelled": "cancelled",
}
"""The status each event gives its order."""

VOCABULARY = Vocabulary(
    actions={"publish": {"order": STRING, "version": POSITIVE, "event": STRING}},
    settings={"prefetch": (POSITIVE, 1)},
)
TABLE_SQL = (
    "CREATE TABLE order_status "
    "(order_id TEXT PRIMARY KEY, status TEXT NOT NULL, version INTEGER NOT NULL)",
    # The harness's record of the timeline step of each committed write, for the failure's marks.
    "CREATE TABLE _twm_writes (order_id TEXT, status TEXT, version INTEGER, step INTEGER)",
    "CREATE TRIGGER _twm_insert AFTER INSERT ON order_status "
    "BEGIN INSERT INTO _twm_writes VALUES (NEW.order_id, NEW.status, NEW.version, _twm_step()); "
    "END",
    "CREATE TRIGGER _twm_update AFTER UPDATE ON order_status "
    "BEGIN INSERT INTO _twm_writes VALUES (NEW.order_id, NEW.status, NEW.version, _twm_step()); "
    "END",
)


def event_id(order: str, version: int) -> str:
    return f"{order}/v{version}"


def folded(trace: Trace) -> dict[str, tuple[str, int]]:
    """Each order's ``(status, version)``: its events folded in version order (the newest).

    >>> folded(generate((1, 2, 0, 1)))
    {'o-1': ('shipped', 3)}
    """
    state: dict[str, tuple[str, int]] = {}
    for step in sorted(trace.steps, key=lambda s: (s.args["order"], s.args["version"])):
        order, version = step.args["order"], step.args["version"]
        state[order] = (STATUS.get(step.args["event"], step.args["event"]), version)
    return state


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the projection built by ``factory``, crashing per ``schedule``."""
    for index, step in enumerate(trace.steps):
        if step.args["event"] not in STATUS:
            raise TraceError(
                f"{trace.source or trace.name}: steps[{index}].publish.event: expected one of "
                f"{', '.join(STATUS)}, got {step.args['event']!r}"
            )
    world = new_world(trace, schedule, freezer)
    broker, timeline, scheduler = world.broker, world.timeline, world.scheduler
    broker.declare_queue(QUEUE)
    for sql in TABLE_SQL:
        world.database.query(sql)
    published: set[str] = set()

    def publish(args: dict[str, Any]) -> None:
        order, version, name = args["order"], args["version"], args["event"]
        mid = event_id(order, version)
        again = " again" if mid in published else ""
        published.add(mid)
        message = Message(
            mid, {"order_id": order, "version": version, "event": name}, summary=f" {name}"
        )
        broker.publish(QUEUE, message)
        timeline.record(world.now(), "producer", "broker", f"publish {mid} {name}{again}")

    schedule_steps(scheduler, trace.steps, {"publish": publish})
    prefetch = trace.settings.get("prefetch", 1)

    def start(host: Component) -> None:
        state = broker.open_channel(host.name, prefetch=prefetch)
        host.on_crash(lambda: broker.close_channel(state, reason=f"{host.name} {host.stop_reason}"))
        conn = connect(world.database, timeline)
        host.on_crash(conn.close)
        channel = Channel(broker, state, host.gate, timeline)
        store = Store(conn, host.gate, timeline, world.now)
        instance = factory(channel=channel, store=store)
        on_message = instance.on_message
        broker.consume(state, QUEUE, lambda delivery: host.invoke(on_message, delivery))

    projection = world.host("projection", start)
    scheduler.at(0.0, projection.start, priority=2)
    notes = run_until_settled(world, trace)
    unsettled = [m.message_id for m in broker.ready(QUEUE) + broker.unacked(QUEUE)]
    world.stop()
    rows = world.database.query("SELECT order_id, status, version FROM order_status")
    writes = world.database.query(
        "SELECT order_id, status, version, step FROM _twm_writes ORDER BY rowid"
    )
    world.close()
    notes["projection"] = {order: (status, version) for order, status, version in rows}
    notes["folded"] = folded(trace)
    notes["last_write"] = {order: step for order, _status, _version, step in writes}
    notes["writes"] = [tuple(write) for write in writes]
    return outcome_of(
        world,
        projection,
        trace,
        schedule,
        accepted={},
        effects={},
        unsettled=sorted(set(unsettled)),
        effect="projected",
        notes=notes,
    )


def generate(spec: tuple[int, ...], *, prefetch: int = 1) -> Trace:
    """A trace publishing, 2 ms apart, event ``n % 3 + 1`` of order ``o-{n // 3 + 1}`` per ``n``.

    Order o-1 goes placed, paid, shipped; order o-2 placed, paid, cancelled. A number that
    comes back is a duplicate; numbers in any order are disorder.
    """
    lives = (
        ("OrderPlaced", "OrderPaid", "OrderShipped"),
        ("OrderPlaced", "OrderPaid", "OrderCancelled"),
    )
    steps = []
    for index, n in enumerate(spec):
        order, version = n // 3, n % 3 + 1
        args = {
            "order": f"o-{order + 1}",
            "version": version,
            "event": lives[order % 2][version - 1],
        }
        steps.append(Step(round(0.002 * index, 6), "publish", args))
    return Trace(
        name="gen:" + ".".join(str(n) for n in spec),
        title=f"{len(spec)} generated event" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: two orders' events, duplicated, in any order, and crashes.",
        workload=NAME,
        steps=tuple(steps),
        settings={"prefetch": prefetch},
    )


def specs(*, orders: int = 2, max_events: int = 7):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one event of one order)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, 3 * orders - 1), min_size=1, max_size=max_events).map(tuple)
