"""outbox-cleanup: sent outbox rows are purged after a retention period, unsent ones never.

The harness writes outbox rows (``write``) and marks them sent later
(``send``), as a relay would. The learner's cleaner is called
``purge_once()`` every 10 ms of virtual time. An unsent row that disappears
is an event that will never be published (*lost*); a sent row purged before
``sent_at + retention`` went *early*; a sent row still there after
``sent_at + retention`` plus one purge interval means the outbox grows
without bound (*overflowed*). The harness looks at the outbox after every
purge, so it knows when each row went.

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
from harness.world import RESTART_DELAY, Component

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
    gone_at: dict[str, float] = {}
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
            present = {row[0] for row in db.query("SELECT message_id FROM outbox")}
            for message_id in written:
                if message_id not in present and message_id not in gone_at:
                    gone_at[message_id] = world.now()
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
    # A row goes at the first purge after sent_at + retention; a crash of the cleaner may
    # delay that by its restart and one purge interval.
    slack = PURGE_INTERVAL + cleaner.crashes * (RESTART_DELAY + PURGE_INTERVAL) + 1e-6
    due = {m: t + retention + slack for m, t in sent_at.items()}
    late = {m: (sent_at[m], gone_at[m]) for m in due if m in gone_at and gone_at[m] > due[m]}
    overdue = sorted({*late, *(m for m in due if m in present and due[m] < end)})
    world.close()
    published = Published()
    published.rows = [(-1, m, m, "relay") for m in written if m not in lost]
    notes["outbox"] = outbox_notes(committed={m: m for m in written}, published=published)
    notes["outbox"]["overdue"] = overdue
    notes["outbox"]["purged_late"] = late
    notes["outbox"]["retention"] = retention
    notes["outbox"]["sent"] = sent_at
    notes["outbox"]["gone"] = gone_at
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


def generate(spec: tuple[int, ...]) -> Trace:
    """``spec = (R, D1, D2, ...)``: a retention of 30 + 20 × R ms, and rows ``e1..eN``.

    Row i is written 5 × i ms in, and sent ``Di`` × 20 ms after it is written
    (0: never), so rows of different ages are sent at different times.
    """
    retention = 0.03 + 0.02 * (spec[0] if spec else 0)
    delays = spec[1:]
    steps = [
        Step(0.005 * i, "write", {"id": f"e{i}", "order": f"o-{i}"})
        for i in range(1, len(delays) + 1)
    ]
    sends = [
        Step(0.005 * i + 0.02 * delay, "send", {"id": f"e{i}"})
        for i, delay in enumerate(delays, start=1)
        if delay
    ]
    rows = len(delays)
    return Trace(
        name="gen:" + ".".join(str(d) for d in spec),
        title=f"{rows} generated row" + ("s" if rows != 1 else ""),
        story=f"Drawn by Hypothesis: rows sent early, late or never, a {retention:g} s "
        "retention, and crashes.",
        workload=NAME,
        steps=tuple(sorted(steps + sends, key=lambda s: s.at)),
        settings={"retention": retention},
    )


def specs(*, max_rows: int = 4):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one row never sent)."""
    from hypothesis import strategies as st

    delays = st.lists(st.integers(0, 6), min_size=1, max_size=max_rows)
    return st.tuples(st.integers(0, 3), delays).map(lambda drawn: (drawn[0], *drawn[1]))
