"""outbox-cleanup: sent outbox rows are purged after a retention period, unsent ones never.

The harness writes outbox rows (``write``) and marks them sent later
(``send``), as a relay would. The learner's cleaner is called
``purge_once()`` every 10 ms of virtual time. An unsent row that disappears
is an event that will never be published (*lost*); a sent row still there
well after its retention has passed means the outbox grows without bound
(*overflowed*).

The learner's component is built as ``factory(store=..., retention=...)``
and must have ``purge_once()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.traces import NUMBER, STRING, Step, Trace, Vocabulary
from harness.workloads.outbox_world import (
    Published,
    SqliteBackend,
    body_of,
    outbox_notes,
    require_closed,
    wall,
)
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "outbox-cleanup"
PURGE_INTERVAL = 0.01
"""Virtual seconds between two ``purge_once()`` calls."""

VOCABULARY = Vocabulary(
    actions={"write": {"id": STRING, "order": STRING}, "send": {"id": STRING}},
    settings={"retention": (NUMBER, 0.05)},
)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the cleaner built by ``factory``, crashing per ``schedule``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    db = SqliteBackend(world)
    retention = trace.settings.get("retention", 0.05)
    sent_at: dict[str, float] = {}
    lost: set[str] = set()
    written: list[str] = []
    seqs: dict[str, int] = {}

    def write(args: dict[str, Any]) -> None:
        order = args["order"]
        seqs[order] = seqs.get(order, 0) + 1
        db.query(
            "INSERT INTO outbox (message_id, order_id, body, created_at) VALUES (?, ?, ?, ?)",
            (args["id"], order, body_of(order, seqs[order], "OrderPlaced"), wall(world)),
        )
        written.append(args["id"])
        timeline.record(world.now(), "desk", "store", f"commit {args['id']} ({order})")

    def send(args: dict[str, Any]) -> None:
        message_id = args["id"]
        if not db.query("SELECT 1 FROM outbox WHERE message_id = ?", (message_id,)):
            lost.add(message_id)
            timeline.record(world.now(), "relay", "store", f"mark {message_id} sent: row gone")
            return
        db.query("UPDATE outbox SET sent_at = ? WHERE message_id = ?", (wall(world), message_id))
        sent_at[message_id] = world.now()
        timeline.record(world.now(), "relay", "store", f"publish {message_id}, mark it sent")

    pending = schedule_steps(scheduler, trace.steps, {"write": write, "send": send})
    end = (trace.steps[-1].at if trace.steps else 0.0) + retention + 3 * PURGE_INTERVAL

    def start(host: Component) -> None:
        store = db.store(host, host.gate)
        instance = factory(store=store, retention=retention)
        purge_once = instance.purge_once
        incarnation = host.incarnation

        def tick() -> None:
            if not host.running or host.incarnation != incarnation:
                return
            host.invoke(purge_once, what="purge_once()")
            require_closed(host, store, "purge_once()")
            if host.running and host.incarnation == incarnation:
                if pending() or world.now() + PURGE_INTERVAL <= end:
                    scheduler.after(PURGE_INTERVAL, tick)

        scheduler.after(PURGE_INTERVAL, tick)

    cleaner = world.host("cleaner", start)
    scheduler.at(0.0, cleaner.start, priority=2)
    notes = run_until_settled(world, trace)
    world.stop()
    present = {row[0] for row in db.query("SELECT message_id FROM outbox")}
    lost |= {m for m in written if m not in present and m not in sent_at}
    overdue = sorted(
        m for m, t in sent_at.items() if m in present and t + retention + PURGE_INTERVAL < end
    )
    world.close()
    published = Published()
    published.rows = [(-1, m, m, "relay") for m in written if m not in lost]
    notes["outbox"] = outbox_notes(committed={m: m for m in written}, published=published)
    notes["outbox"]["overdue"] = overdue
    notes["outbox"]["retention"] = retention
    return outcome_of(
        world,
        cleaner,
        trace,
        schedule,
        accepted={m: m for m in written},
        effects={},
        effect="published",
        notes=notes,
    )


def generate(spec: tuple[int, ...], *, retention: float = 0.05) -> Trace:
    """Rows ``e1..eN``; row i is sent ``spec[i]`` × 20 ms after it is written (0: never)."""
    steps = [
        Step(0.0, "write", {"id": f"e{i}", "order": f"o-{i}"}) for i in range(1, len(spec) + 1)
    ]
    sends = [
        Step(0.02 * delay, "send", {"id": f"e{i}"})
        for i, delay in enumerate(spec, start=1)
        if delay
    ]
    return Trace(
        name="gen:" + ".".join(str(d) for d in spec),
        title=f"{len(spec)} generated row" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: rows sent early, late or never, and crashes.",
        workload=NAME,
        steps=tuple(steps + sorted(sends, key=lambda s: s.at)),
        settings={"retention": retention},
    )


def specs(*, max_rows: int = 4):
    """A Hypothesis strategy for ``generate``'s spec."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, 6), min_size=1, max_size=max_rows).map(tuple)
