"""outbox-desk: an order desk that saves an order and must get its event out.

Customers place orders; the harness calls the learner's desk
``place_order(order_id, amount)`` for each. The desk writes the order into the
``orders`` table and must make sure an ``OrderPlaced`` event leaves for the
rest of the company: either published to the broker at once (through the
publisher port) or written to the ``outbox`` table in the same transaction, for
a relay to publish later (an outbox row committed counts as published: the
relay of the next tasks guarantees it).

An amount of 0 or less breaks the ``orders`` table's CHECK: the insert fails
and the transaction rolls back. The desk lets that error go (the harness
expects it: the customer is told the order was refused).

The promises: every committed order has its event (no *lost* event), and no
event exists for an order that was never committed (no *phantom*). An order
with a positive amount that ``place_order`` answered (it returned, or raised a
constraint error) must be committed: a desk that takes its own bug (a message
id used twice, say after a restart) for the customer's refusal turns a valid
order away (*unavailable*). And the event's row must hold, as JSON, the
``OrderPlaced`` event naming the order and its amount: the relay publishes the
body as it is.

The learner's component is built as ``factory(store=..., publisher=...)``
and must have ``place_order(order_id, amount)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.publisher import Publisher
from harness.traces import NUMBER, STRING, Step, Trace, Vocabulary
from harness.workloads.outbox_world import Published, SqliteBackend, outbox_notes
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "outbox-desk"

VOCABULARY = Vocabulary(actions={"place": {"order": STRING, "amount": NUMBER}}, settings={})


def is_integrity_error(error: BaseException) -> bool:
    """A DB-API IntegrityError (SQLite's or PostgreSQL's): a constraint refused the write."""
    return any(cls.__name__ == "IntegrityError" for cls in type(error).__mro__)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the desk built by ``factory``, crashing per ``schedule``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    world.broker.declare_queue("order-events")
    backend = SqliteBackend(world)
    published = Published()
    desks: list[Any] = []

    def start(host: Component) -> None:
        store = backend.store(host, host.gate)
        publisher = Publisher(
            world.broker,
            host.gate,
            timeline,
            world.now,
            on_confirm=published.confirmer(host.name, lambda body: body.get("order_id")),
        )
        desks[:] = [factory(store=store, publisher=publisher)]

    desk = world.host("desk", start)
    answered: dict[str, str | None] = {}
    amounts: dict[str, float] = {}

    def place(args: dict[str, Any]) -> None:
        order, amount = args["order"], args["amount"]
        amounts[order] = amount
        timeline.record(world.now(), "customer", "desk", f"place {order} ({amount:g})")

        def call() -> None:
            refusal = None
            try:
                desks[0].place_order(order, amount)
            except Exception as error:
                if not is_integrity_error(error):
                    raise
                refusal = f"{type(error).__name__}: {error}"
                timeline.record(world.now(), "desk", "customer", f"{order} refused: {error}")
            if amount > 0 and not desk.gate.dead:
                answered[order] = refusal  # the customer has the desk's answer

        desk.invoke(call, what=f"place_order({order!r}, {amount!r})")

    scheduler.at(0.0, desk.start, priority=0)
    schedule_steps(scheduler, trace.steps, {"place": place})
    notes = run_until_settled(world, trace)
    world.stop()
    orders = [row[0] for row in backend.query("SELECT order_id FROM orders ORDER BY order_id")]
    bodies: dict[str, str] = {}
    rows = backend.query("SELECT message_id, order_id, body FROM outbox ORDER BY id")
    for message_id, order, body in rows:
        published.rows.append((-1, message_id, order, "outbox"))
        problem = body_problem(body, order, amounts.get(order))
        if problem and order in orders:
            bodies[order] = problem
    notes["outbox"] = outbox_notes(committed={o: None for o in orders}, published=published)
    notes["outbox"]["answered"] = answered
    notes["outbox"]["bodies"] = bodies
    world.close()
    return outcome_of(
        world,
        desk,
        trace,
        schedule,
        accepted={o: o for o in orders},
        effects={},
        effect="published",
        notes=notes,
    )


def body_problem(body: Any, order: str, amount: float | None) -> str | None:
    """What is wrong with the body of ``order``'s outbox row, or None when it is its event."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError):
        return f"its body {str(body)[:60]!r} is not JSON"
    if not isinstance(event, dict):
        return f"its body {str(body)[:60]!r} is not a JSON object"
    if event.get("type") != "OrderPlaced":
        return f"its event's type is {event.get('type')!r}, not 'OrderPlaced'"
    if event.get("order_id") != order:
        return f"its event names the order {event.get('order_id')!r}, not {order!r}"
    if amount is not None and event.get("amount") != amount:
        return f"its event's amount is {event.get('amount')!r}, not {amount!r}"
    return None


GAP = 0.015
"""Virtual seconds between two generated orders: longer than a restart, so an order can
reach a desk that has just restarted."""


def generate(spec: tuple[int, ...]) -> Trace:
    """A trace of ``len(spec)`` orders; order i is refused by the database when ``spec[i]`` is 0.

    Orders come :data:`GAP` apart, so those after a crash reach the restarted desk.
    """
    steps = [
        Step(GAP * (index - 1), "place", {"order": f"o-{index}", "amount": 10.0 * index * flag})
        for index, flag in enumerate(spec, start=1)
    ]
    return Trace(
        name="gen:" + ".".join(str(f) for f in spec),
        title=f"{len(spec)} generated order" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: orders, some refused by the database, and crashes.",
        workload=NAME,
        steps=tuple(steps),
    )


def specs(*, max_orders: int = 4):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one valid order)."""
    from hypothesis import strategies as st

    return st.lists(st.sampled_from([1, 0]), min_size=1, max_size=max_orders).map(tuple)
