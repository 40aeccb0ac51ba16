"""outbox-relay: one relay moves committed outbox rows to the broker.

The order desk has committed orders and their events into the ``outbox``
table (one trace step ``write`` per event, committed by the harness). The
learner's relay is called ``poll_once()`` every 5 ms of virtual time: it reads
pending rows, publishes each through the publisher port (which returns once
the broker confirmed), and marks it sent. A crash can strike at every call;
the restarted relay must pick up where the outbox says, not where it was.

What counts is what the broker confirmed. Each event must be published (no
*lost* event, nothing *phantom*), per order in the order it was written
(nothing *reordered*), any copy with the event's own message id (so the ch04
consumer absorbs it), and every row marked sent in the end (nothing *stuck*).
A ``refuse`` step makes the broker refuse an event's next publishes: the
relay must try again later, without losing it.

The learner's relay is built as ``factory(store=..., publisher=...)`` and
must have ``poll_once()``. The engine here also runs several relays at once
(:mod:`harness.workloads.outbox_relays`), on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.publisher import Publisher
from harness.scheduler import BudgetExceeded
from harness.timeline import Timeline
from harness.traces import COUNT, NUMBER, POSITIVE, STRING, Step, Trace, Vocabulary
from harness.workloads.outbox_world import (
    QUEUE,
    Published,
    Stalls,
    body_of,
    event_key,
    outbox_notes,
    require_closed,
    wall,
    world_backend,
)
from harness.workloads.play import new_world, schedule_steps
from harness.world import Component

NAME = "outbox-relay"
POLL_INTERVAL = 0.005
"""Virtual seconds between two ``poll_once()`` calls of one relay."""
HORIZON = 0.5
"""Virtual seconds after the last trace step that relays may take to drain the outbox."""
BACKOFF_HORIZON = 10.0
"""Virtual seconds past :data:`HORIZON` that a row backing off (its ``available_at`` ahead)
may still wait for its retry before the run ends."""
AVAILABLE_AT, CLAIMED_UNTIL, SENT_AT = 3, 5, 6
"""Columns of a snapshot row (see ``snapshot`` in :func:`play`)."""
QUIET_POLLS = 3
"""Polls without any change in the outbox, every lease and backoff run out, and the run ends."""

WRITE = {"id": STRING, "order": STRING, "kind": STRING}
ACTIONS: dict[str, dict[str, Any]] = {
    "write": WRITE,
    "refuse": {"id": STRING, "times": COUNT},
    "stall": {"relay": STRING, "call": POSITIVE, "seconds": NUMBER},
}
OPTIONAL = {"write": frozenset({"kind"})}

VOCABULARY = Vocabulary(actions=ACTIONS, settings={}, optional=OPTIONAL)


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against one relay built by ``factory``, crashing per ``schedule``."""
    return play(factory, trace, schedule, freezer=freezer, relays=0)


def play(
    factory: Callable[..., Any],
    trace: Trace,
    schedule: Schedule,
    *,
    freezer: object = None,
    relays: int,
    lease: float = 0.0,
    backend: Callable[[Any], Any] = world_backend,
) -> Outcome:
    """The engine: ``relays`` = 0 hosts one relay built without ``worker``/``lease``.

    ``backend`` makes the run's database (default: SQLite, or PostgreSQL in a live world)."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    world.broker.declare_queue(QUEUE)
    db = backend(world)
    published = Published()
    stalls = Stalls(world)
    refusals: dict[str, int] = {}
    committed: dict[str, str] = {}
    written: dict[str, int] = {}
    seqs: dict[str, int] = {}

    def write(args: dict[str, Any]) -> None:
        order, kind = args["order"], args.get("kind", "OrderPlaced")
        seqs[order] = seqs.get(order, 0) + 1
        key = f"{order}#{seqs[order]}"
        db.query(
            "INSERT INTO outbox (message_id, order_id, body, created_at) VALUES (?, ?, ?, ?)",
            (args["id"], order, body_of(order, seqs[order], kind), wall(world)),
        )
        committed[key] = args["id"]
        timeline.record(world.now(), "desk", "store", f"commit {args['id']} ({key} {kind})")
        written[key] = len(timeline) - 1

    def refuse(args: dict[str, Any]) -> None:
        refusals[args["id"]] = refusals.get(args["id"], 0) + args["times"]

    def stall(args: dict[str, Any]) -> None:
        stalls.arm(args["relay"], args["call"], args["seconds"])

    attempts: dict[str, list[tuple[int, str]]] = {}
    """message id → (timeline step, "refused" | "confirmed") of each publish, in order."""

    def refused(message_id: str) -> bool:
        refuse_now = refusals.get(message_id, 0) > 0
        if refuse_now:
            refusals[message_id] -= 1
        # The port records the refusal (or the confirmation) as the next timeline step.
        attempts.setdefault(message_id, []).append(
            (len(timeline), "refused" if refuse_now else "confirmed")
        )
        return refuse_now

    pending = schedule_steps(
        scheduler, trace.steps, {"write": write, "refuse": refuse, "stall": stall}
    )
    horizon = (trace.steps[-1].at if trace.steps else 0.0) + HORIZON

    quiet = {"state": None, "since": 0.0}
    live = world.servers is not None  # real time: a poll reads the clock before it is seen
    idle: list[tuple[int, int, str]] = []

    def snapshot() -> list[tuple[Any, ...]]:
        return db.query(
            "SELECT id, message_id, attempts, available_at, claimed_by, claimed_until, sent_at "
            "FROM outbox ORDER BY id"
        )

    def finished(state: list[tuple[Any, ...]], began: float) -> bool:
        """Done when the outbox is drained, or when nothing can change any more.

        Nothing can change once no step is left, the outbox has not changed for a
        few polls, and every lease and backoff of an unsent row has run out: what
        is still unsent then stays so (stuck). In a live world "run out" is judged
        at ``began``, when the last poll started (``time.time()``): a relay whose
        poll read the time before a backoff ran out, and ran slowly on a loaded
        machine, must poll once more; in the simulator a poll takes the time its
        calls take, and the run ends as it always has.
        """
        if world.now() > horizon:
            # A row that backed off may take the horizon's time again after its last retry (it
            # and the rows waiting behind it), up to a bound.
            retry = max((row[AVAILABLE_AT] for row in state), default=0) - wall(world) + world.now()
            if world.now() > min(max(horizon, retry + HORIZON), horizon + BACKOFF_HORIZON):
                return True
        if pending():
            return False
        if all(row[SENT_AT] is not None for row in state):
            return True
        if state != quiet["state"]:
            quiet["state"], quiet["since"] = state, world.now()
            return False
        deadline = max(max(row[CLAIMED_UNTIL] or 0, row[AVAILABLE_AT]) for row in state)
        settle = QUIET_POLLS * POLL_INTERVAL
        seen = began if live else wall(world)
        return world.now() - quiet["since"] > settle and seen > (deadline or 0) + settle

    def starter(offset: float) -> Callable[[Component], None]:
        def start(host: Component) -> None:
            holder: list[Any] = []
            gate = stalls.gate(host, lambda: bool(holder) and holder[0].in_transaction)
            store = db.store(host, gate)
            holder.append(store)
            publisher = Publisher(
                world.broker,
                gate,
                timeline,
                world.now,
                refuse=refused,
                on_confirm=published.confirmer(host.name, event_key),
            )
            if relays:
                worker = f"{host.name}.{host.incarnation}"
                instance = factory(store=store, publisher=publisher, worker=worker, lease=lease)
            else:
                instance = factory(store=store, publisher=publisher)
            poll_once = instance.poll_once
            incarnation = host.incarnation

            def tick() -> None:
                if not host.running or host.incarnation != incarnation:
                    return
                start, before, confirmed = len(timeline), snapshot(), len(published.rows)
                began = wall(world)
                host.invoke(poll_once, what=f"poll_once() of {host.name}")
                require_closed(host, store, f"poll_once() of {host.name}")
                after = snapshot()
                if len(published.rows) == confirmed and after == before:
                    idle.append((start, len(timeline), host.name))
                if host.running and host.incarnation == incarnation and not finished(after, began):
                    scheduler.after(POLL_INTERVAL, tick)

            scheduler.after(POLL_INTERVAL + offset, tick)

        return start

    names = [f"relay-{k}" for k in range(1, relays + 1)] if relays else ["relay"]
    hosts = []
    for index, name in enumerate(names):
        host = world.host(name, starter(index * POLL_INTERVAL / len(names)))
        scheduler.at(0.0, host.start, priority=2)
        hosts.append(host)
    notes: dict[str, Any] = {}
    try:
        scheduler.run(max_events=4_000 + 200 * len(trace.steps))
    except BudgetExceeded as error:
        notes["budget"] = str(error)
    world.stop()
    holders = dict(db.query("SELECT message_id, claimed_by FROM outbox WHERE sent_at IS NULL"))
    unsent = [key for key, message_id in committed.items() if message_id in holders]
    claimed = {k: holders[m] for k, m in committed.items() if m in holders and holders[m]}
    db.close()
    world.close()
    crashes = [index for index, step in enumerate(timeline.steps) if step.is_crash]
    timeline, moved = compact(timeline, idle)
    published.rows = [(moved[step], *rest) for step, *rest in published.rows]
    written = {key: moved[step] for key, step in written.items()}
    notes["outbox"] = outbox_notes(
        committed=committed, published=published, unsent=unsent, written=written
    )
    notes["outbox"]["claimed"] = claimed
    keys = {message_id: key for key, message_id in committed.items()}
    notes["outbox"]["attempts"] = {
        keys[message_id]: [(moved[step], how) for step, how in tries]
        for message_id, tries in attempts.items()
        if message_id in keys
    }
    notes["outbox"]["crashes"] = [moved[step] for step in crashes]
    notes["stalls"] = stalls.count
    return Outcome(
        accepted={key: key for key in committed},
        effects={},
        effect="published",
        timeline=timeline,
        schedule=schedule,
        trace_name=trace.name,
        crashes=sum(h.crashes for h in hosts),
        swallowed=sum(h.swallowed for h in hosts),
        calls=sum(h.gate.calls for h in hosts),
        notes=notes,
        actor_calls={h.name: h.gate.calls for h in hosts} if relays else {},
    )


def compact(timeline: Timeline, idle: list[tuple[int, int, str]]) -> tuple[Timeline, list[int]]:
    """The timeline with each run of polls that changed nothing folded into one line.

    ``idle`` holds the ``(first, end)`` step spans of polls that published
    nothing and left the outbox as it was (crashes and stalls are never
    folded). Returns the new timeline and where each old step went.
    """
    steps = timeline.steps
    folded = Timeline()
    moved: list[int] = []
    spans = {
        first: (end, who)
        for first, end, who in idle
        if end > first and not any(s.is_crash or s.actor == "harness" for s in steps[first:end])
    }
    index = 0
    while index < len(steps):
        if index not in spans:
            moved.append(len(folded))
            folded.record(*steps[index])
            index += 1
            continue
        first, polls, who = index, 0, set()
        while index in spans:
            end, actor = spans[index]
            polls, index = polls + 1, end
            who.add(actor)
        moved.extend([len(folded)] * (index - first))
        actors = ", ".join(sorted(who))
        what = f"{polls} poll{'s' if polls > 1 else ''} by {actors}: nothing to do"
        if polls > 1:
            what += f" until t={steps[index - 1].time:.3f}"
        folded.record(steps[first].time, "relays" if len(who) > 1 else actors, "store", what)
    moved.append(len(folded))
    return folded, moved


def generate(spec: tuple[int, ...]) -> Trace:
    """Events of ``len(spec)`` writes: write i belongs to order ``o-{spec[i]}``, some refused once.

    Message ids are not in insertion order (``e9``, ``e8``, ...), so only the
    outbox's own order tells which event came first.
    """
    steps: list[Step] = []
    for index, order in enumerate(spec, start=1):
        message_id = f"e{len(spec) + 1 - index}"
        if index % 3 == 0:
            steps.append(Step(0.0, "refuse", {"id": message_id, "times": 1}))
        steps.append(Step(0.0, "write", {"id": message_id, "order": f"o-{order}"}))
    return Trace(
        name="gen:" + ".".join(str(o) for o in spec),
        title=f"{len(spec)} generated event" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: events of a few orders, a refused publish, crashes.",
        workload=NAME,
        steps=tuple(steps),
    )


def specs(*, max_events: int = 5, orders: int = 2):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one event of o-1)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(1, orders), min_size=1, max_size=max_events).map(tuple)
