"""payments-inbox: an idempotent payments consumer on a queue, its effect in SQLite.

The order desk publishes one ``CapturePayment`` message per order to the
``payments`` queue; a message may be published again with the *same* message
id (a producer retry, an outbox relay that republished after a crash). The
learner's consumer gets each delivery through ``on_message(delivery)``,
captures the payment by inserting a row into the world's ``captures`` table
through its store port, and settles the delivery on its channel.

The effect that counts is a *committed* row of ``captures``: a row whose
transaction was rolled back (a crash before the commit) never happened. An
order may be paid by several messages (a deposit and the balance), so effects
are counted per message, under the key ``"o-1 (m1)"``: a row is the capture of
the message of its order with its amount (:func:`payments`). A message
captured twice is *duplicated*, a message never captured is *lost*.

The learner's component is built as
``factory(channel=..., store=..., retention=...)`` and must have
``on_message(delivery)``. Message bodies are ``{"order_id": str, "amount":
number}``. ``retention`` is the trace setting of that name: how many seconds
the consumer keeps a processed message id.

Other workloads whose effect is a capture (a consumer downstream of an
outbox) can reuse :func:`create_captures` and :func:`captured`.

>>> m1 = {"id": "m1", "order": "o-1", "amount": 30}
>>> m2 = {"id": "m2", "order": "o-1", "amount": 70}
>>> payments(Trace("t", "", "", NAME, (Step(0, "publish", m1), Step(0, "publish", m2))))
{('o-1', 30): 'o-1 (m1)', ('o-1', 70): 'o-1 (m2)'}
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from harness.broker import Message
from harness.database import Database
from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import Channel, Store
from harness.timeline import Timeline
from harness.traces import NUMBER, POSITIVE, STRING, Step, Trace, TraceError, Vocabulary
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "payments-inbox"
SECONDS = ((int, float), "a number of seconds >= 0", 0)
QUEUE = "payments"
RETENTION = 60.0
"""Seconds a processed message id is kept, unless a trace's ``retention`` setting says otherwise."""

VOCABULARY = Vocabulary(
    actions={"publish": {"id": STRING, "order": STRING, "amount": NUMBER}},
    settings={"prefetch": (POSITIVE, 1), "retention": (SECONDS, RETENTION)},
)

CAPTURES_SQL = "CREATE TABLE captures (order_id TEXT NOT NULL, amount REAL NOT NULL)"
_EFFECTS_SQL = (
    "CREATE TABLE _twm_effects (order_id TEXT, amount REAL, step INTEGER)",
    # The harness's own record of each capture and the timeline step that made it; a trigger
    # writes it inside the learner's transaction, so a rollback removes it with the capture.
    "CREATE TRIGGER _twm_capture AFTER INSERT ON captures "
    "BEGIN INSERT INTO _twm_effects VALUES (NEW.order_id, NEW.amount, _twm_step()); END",
)


def create_captures(database: Database) -> None:
    """Create the ``captures`` table (and the harness's record of each committed capture)."""
    database.query(CAPTURES_SQL)
    for sql in _EFFECTS_SQL:
        database.query(sql)


def connect(database: Database, timeline: Timeline) -> sqlite3.Connection:
    """A component's connection, able to run the capture trigger."""
    conn = database.connect()
    conn.create_function("_twm_step", 0, lambda: len(timeline))
    return conn


def captured(
    database: Database, keys: dict[tuple[str, float], str] | None = None
) -> dict[str, list[int]]:
    """Committed captures: key → the timeline step of each capture.

    The key is the order id; with ``keys`` (``(order, amount)`` → key, see :func:`payments`)
    it is the key of the payment with that order and amount, and a row that matches no
    payment is counted under ``"o-1 (amount 5)"``.
    """
    effects: dict[str, list[int]] = {}
    query = "SELECT order_id, amount, step FROM _twm_effects ORDER BY rowid"
    for order, amount, step in database.query(query):
        if keys is None:
            key = order
        else:
            key = keys.get((order, amount), f"{order} (amount {amount:g})")
        effects.setdefault(key, []).append(step)
    return effects


def message_key(order: str, message_id: str) -> str:
    """The key a message's capture is counted under: ``"o-1 (m1)"``."""
    return f"{order} ({message_id})"


def payments(trace: Trace) -> dict[tuple[str, float], str]:
    """Each payment of the trace, ``(order, amount)`` → its key (:func:`message_key`).

    A row of ``captures`` says only its order and amount, so that is how the harness tells
    which message it captured. A copy of a message must carry the same order and amount;
    two messages of one order must differ in amount. Else TraceError names the step.
    """
    first: dict[str, tuple[int, str, float]] = {}
    keys: dict[tuple[str, float], str] = {}
    ids: dict[tuple[str, float], str] = {}
    where = trace.source or trace.name
    for index, step in enumerate(trace.steps):
        mid, order, amount = step.args["id"], step.args["order"], step.args["amount"]
        if mid in first:
            at, was_order, was_amount = first[mid]
            if (was_order, was_amount) != (order, amount):
                raise TraceError(
                    f"{where}: steps[{index}].publish: {mid} was published at steps[{at}] for "
                    f"order {was_order}, amount {was_amount:g}; a copy carries the same order "
                    "and amount: give a different payment its own id"
                )
            continue
        if (order, amount) in keys:
            raise TraceError(
                f"{where}: steps[{index}].publish.amount: {ids[(order, amount)]} and {mid} "
                f"both pay {amount:g} for {order}; the harness tells the payments of an order "
                "apart by their amount: give each its own"
            )
        first[mid] = (index, order, amount)
        keys[(order, amount)] = message_key(order, mid)
        ids[(order, amount)] = mid
    return keys


def expected_copies(trace: Trace) -> dict[str, list[tuple[float, bool]]]:
    """Each message's copies, in publish order: ``(time, whether it is to be captured)``.

    The window starts when the message is captured, and a duplicate does not renew it:
    a duplicate within the window is recognised; one that arrives more than the window
    after the capture it repeats is captured again, since its record was purged, and
    that capture starts a new window.

    >>> m1 = {"id": "m1", "order": "o-1", "amount": 5}
    >>> copies = [Step(at, "publish", m1) for at in (0, 1.5, 2.5, 4)]
    >>> expected_copies(Trace("t", "", "", NAME, tuple(copies), settings={"retention": 2.0}))
    {'o-1 (m1)': [(0, True), (1.5, False), (2.5, True), (4, False)]}
    """
    window = trace.settings.get("retention", RETENTION)
    captured_at: dict[str, float] = {}
    copies: dict[str, list[tuple[float, bool]]] = {}
    for step in sorted(trace.steps, key=lambda s: s.at):
        key = message_key(step.args["order"], step.args["id"])
        fresh = key not in captured_at or step.at - captured_at[key] > window
        if fresh:
            captured_at[key] = step.at
        copies.setdefault(key, []).append((step.at, fresh))
    return copies


def expected_captures(trace: Trace) -> dict[str, int]:
    """How many captures a consumer with the trace's retention window makes of each message.

    >>> m1 = {"id": "m1", "order": "o-1", "amount": 5}
    >>> copies = [Step(at, "publish", m1) for at in (0, 1.5, 2.5, 4)]
    >>> expected_captures(Trace("t", "", "", NAME, tuple(copies), settings={"retention": 2.0}))
    {'o-1 (m1)': 2}
    """
    return {
        key: sum(fresh for _at, fresh in copies) for key, copies in expected_copies(trace).items()
    }


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the consumer built by ``factory``, crashing per ``schedule``."""
    keys = payments(trace)
    world = new_world(trace, schedule, freezer)
    broker, timeline, scheduler = world.broker, world.timeline, world.scheduler
    broker.declare_queue(QUEUE)
    create_captures(world.database)
    accepted: dict[str, str] = {}
    published: dict[str, list[int]] = {}

    def publish(args: dict[str, Any]) -> None:
        again = " again" if args["id"] in accepted else ""
        message = Message(
            args["id"],
            {"order_id": args["order"], "amount": args["amount"]},
            summary=f" ({args['order']})",
        )
        broker.publish(QUEUE, message)
        key = message_key(args["order"], args["id"])
        accepted[args["id"]] = key
        published.setdefault(key, []).append(len(timeline))
        timeline.record(
            world.now(), "producer", "broker", f"publish {args['id']} ({args['order']}){again}"
        )

    schedule_steps(scheduler, trace.steps, {"publish": publish})
    prefetch = trace.settings.get("prefetch", 1)
    retention = trace.settings.get("retention", RETENTION)

    def start(host: Component) -> None:
        state = broker.open_channel(host.name, prefetch=prefetch)
        host.on_crash(lambda: broker.close_channel(state, reason=f"{host.name} {host.stop_reason}"))
        conn = connect(world.database, timeline)
        host.on_crash(conn.close)
        channel = Channel(broker, state, host.gate, timeline)
        store = Store(conn, host.gate, timeline, world.now)
        instance = factory(channel=channel, store=store, retention=retention)
        on_message = instance.on_message
        broker.consume(state, QUEUE, lambda delivery: host.invoke(on_message, delivery))

    consumer = world.host("consumer", start)
    scheduler.at(0.0, consumer.start, priority=2)
    notes = run_until_settled(world, trace)
    unsettled = [m.message_id for m in broker.ready(QUEUE) + broker.unacked(QUEUE)]
    world.stop()
    effects = captured(world.database, keys)
    notes["copies"] = expected_copies(trace)
    notes["published"] = published
    notes["retention"] = retention
    world.close()
    return outcome_of(
        world,
        consumer,
        trace,
        schedule,
        accepted=accepted,
        effects=effects,
        unsettled=sorted(set(unsettled)),
        effect="captured",
        notes=notes,
    )


def generate(spec: tuple[int, ...], *, retention: float = RETENTION, prefetch: int = 1) -> Trace:
    """A trace publishing message ``m{n+1}`` (order ``o-{n//2+1}``) for each ``n`` of ``spec``.

    Each order is paid by two messages (m1 and m2 pay o-1, m3 and m4 pay o-2), so deduplicating
    on the order loses a payment. A number that comes back is the same message published
    again (a duplicate); numbers in any order are messages in any order. Steps are 2 ms apart.

    >>> [(s.args["id"], s.args["order"]) for s in generate((1, 0, 2)).steps]
    [('m2', 'o-1'), ('m1', 'o-1'), ('m3', 'o-2')]
    """
    steps = tuple(
        Step(
            round(0.002 * index, 6),
            "publish",
            {"id": f"m{n + 1}", "order": f"o-{n // 2 + 1}", "amount": 10 * (n + 1)},
        )
        for index, n in enumerate(spec)
    )
    return Trace(
        name="gen:" + ".".join(str(n) for n in spec),
        title=f"{len(spec)} generated publish" + ("es" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: messages, duplicates of them, in any order, and crashes.",
        workload=NAME,
        steps=steps,
        settings={"prefetch": prefetch, "retention": retention},
    )


def specs(*, messages: int = 4, max_publishes: int = 6):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one message, sent once)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, messages - 1), min_size=1, max_size=max_publishes).map(tuple)
