"""order-resequencer: a per-key sequence-gap buffer between a disorderly source and the next stage.

The order desk numbers each order's events 1, 2, 3, …; the source delivers
them duplicated and out of order. The learner's resequencer gets each one
through ``offer(event)`` and hands them on through its downstream port,
per key in sequence order, each number once. It holds early events, drops
stale and duplicate ones, holds at most ``capacity`` events (when full it
raises :class:`~harness.ports.BufferFull` and the source offers the event
again 5 ms later), and escalates a missing number with ``downstream.skip``
once the key has waited ``gap_timeout`` seconds for it. The harness calls
``tick()`` every 5 ms so that the resequencer can look at the clock.

The harness keeps its own books on what the resequencer holds: every event
offered and not refused, above what its key has released or skipped, and not
released yet. What is released or skipped is the effect; the checkers read:

- ``effects``: event (``"o-1#3"``) → the timeline step of each release;
- ``notes["settled"]``: per key, in order, ``(kind, seq, step, waited)``, kind
  ``"release"`` or ``"skip"``, ``waited`` the seconds the key had been waiting;
- ``notes["held_max"]``, ``notes["overflow_step"]``, ``notes["capacity"]``;
- ``notes["kept_refused"]``: ``(event, step)`` of an event released although its last
  offer was refused and it was not offered again: the buffer held it all the same;
- ``notes["refused_next"]``: ``(event, step)`` of each refusal of the next number of its
  key, which needs no room (it is released, not held);
- ``notes["given_up"]``: ``(key, seq, skip step, offer step)`` of each number escalated
  after it had been offered (refused, or taken): it was not missing;
- ``notes["overdue"]``: key → (seconds waited, step the wait began) for each key that
  waited longer than ``gap_timeout`` plus two ticks for a missing number;
- ``unsettled``: events still held behind a gap that was never escalated (they are left
  out of ``accepted``, so that they count as stuck, not lost).

The component is in-memory and gets no crashes here: it sits behind an
idempotent consumer (task 1), which is what makes its input survive a crash.
It is built as ``factory(downstream=..., capacity=..., gap_timeout=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports import BufferFull, Downstream, Event
from harness.traces import POSITIVE, STRING, Step, Trace, Vocabulary
from harness.workloads.play import new_world, outcome_of, run_until_settled, schedule_steps
from harness.world import Component

NAME = "order-resequencer"
TICK = 0.005
"""Virtual seconds between two calls of the resequencer's ``tick()``."""
REOFFER = 0.005
"""Virtual seconds after which the source offers a refused event again."""
SECONDS = ((int, float), "a number of seconds > 0", 1e-9)
NAMES = ("OrderPlaced", "OrderPaid", "OrderPacked", "OrderShipped", "OrderDelivered")

VOCABULARY = Vocabulary(
    actions={"send": {"key": STRING, "seq": POSITIVE, "event": STRING}},
    settings={"capacity": (POSITIVE, 3), "gap_timeout": (SECONDS, 0.05)},
    optional={"send": frozenset({"event"})},
)


class _Books:
    """What the harness knows of the buffer: per key, what is settled and what is held."""

    def __init__(self, now: Callable[[], float], capacity: int) -> None:
        self.now = now
        self.capacity = capacity
        self.refused: set[str] = set()
        self.wait_step: dict[str, int] = {}
        self.overdue: dict[str, tuple[float, int]] = {}
        self.settled: dict[str, set[int]] = {}
        self.high: dict[str, int] = {}
        self.held: dict[str, set[int]] = {}
        self.since: dict[str, float | None] = {}
        self.log: dict[str, list[tuple[str, int, int, float | None]]] = {}
        self.released: dict[str, list[int]] = {}
        self.accepted: dict[str, str] = {}
        self.held_max = 0
        self.overflow_step: int | None = None
        self.offered: dict[str, dict[int, int]] = {}
        self.offering: str | None = None
        self.refused_unheld: set[str] = set()
        self.kept_refused: list[tuple[str, int]] = []
        self.refused_next: list[tuple[str, int]] = []
        self.given_up: list[tuple[str, int, int, int]] = []

    def _progress(self, key: str, seq: int, kind: str, step: int) -> None:
        """``seq`` of ``key`` was released or skipped at timeline ``step``."""
        since = self.since.get(key)
        waited = None if since is None else self.now() - since
        self.log.setdefault(key, []).append((kind, seq, step, waited))
        settled = self.settled.setdefault(key, set())
        settled.add(seq)
        high = self.high.get(key, 0)
        while high + 1 in settled:
            high += 1
        self.high[key] = high
        held = self.held.setdefault(key, set())
        held.discard(seq)
        held.difference_update(range(high + 1))
        if not held:
            self.since[key] = None
        elif kind == "release":
            self.since[key] = self.now()  # progress: the wait for the next gap starts now
            self.wait_step[key] = step

    def release(self, event: Event, step: int) -> None:
        name = f"{event.key} #{event.seq}"
        if name in self.refused_unheld and name != self.offering:
            self.kept_refused.append((name, step))  # refused, yet held: it comes out of the buffer
        self.released.setdefault(name, []).append(step)
        self._progress(event.key, event.seq, "release", step)

    def skip(self, key: str, seq: int, step: int) -> None:
        offered = self.offered.get(key, {})
        if seq in offered and seq not in self.settled.get(key, ()):
            self.given_up.append((key, seq, step, offered[seq]))
        self._progress(key, seq, "skip", step)

    def offer(self, event: Event, step: int) -> None:
        """``event`` is being offered; an offer of a settled number is stale, not noted."""
        self.offering = f"{event.key} #{event.seq}"
        if self.fresh(event):
            self.offered.setdefault(event.key, {}).setdefault(event.seq, step)

    def refuse(self, event: Event, step: int) -> None:
        """The resequencer raised BufferFull for ``event``."""
        name = f"{event.key} #{event.seq}"
        self.refused.add(name)
        if self.fresh(event) and event.seq not in self.held.get(event.key, ()):
            self.refused_unheld.add(name)  # refusing a copy of a held event is harmless
        if event.seq == self.high.get(event.key, 0) + 1:
            self.refused_next.append((name, step))

    def fresh(self, event: Event) -> bool:
        """Whether ``event`` is neither stale nor a duplicate of a settled number."""
        return event.seq > self.high.get(event.key, 0) and event.seq not in self.settled.get(
            event.key, ()
        )

    def taken(self, event: Event, fresh: bool, step: int) -> None:
        """The resequencer took ``event`` (did not refuse it); ``fresh`` as it arrived."""
        key, seq = event.key, event.seq
        if not fresh:
            return  # stale or a duplicate of a settled number: dropping it is right
        self.accepted.setdefault(f"{key} #{seq}", f"{key} #{seq}")
        if seq in self.settled.get(key, ()):
            return  # released (or skipped) while it was offered
        held = self.held.setdefault(key, set())
        if not held:
            self.since[key] = self.now()
            self.wait_step[key] = step
        held.add(seq)
        count = sum(len(h) for h in self.held.values())
        if count > self.held_max:
            self.held_max = count
            if self.overflow_step is None and count > self.capacity:
                self.overflow_step = step

    def check_waits(self, limit: float) -> None:
        """Note each key that has waited longer than ``limit`` for a missing number."""
        for key, since in self.since.items():
            if since is not None and key not in self.overdue and self.now() - since > limit:
                self.overdue[key] = (self.now() - since, self.wait_step[key])

    def stuck(self) -> list[str]:
        """Held events behind a number that was neither released nor skipped."""
        return [
            f"{key} #{seq}"
            for key, held in sorted(self.held.items())
            for seq in sorted(held)
            if any(n not in self.settled.get(key, ()) for n in range(1, seq))
        ]


def run(
    factory: Callable[..., Any], trace: Trace, schedule: Schedule, *, freezer: object = None
) -> Outcome:
    """Play ``trace`` against the resequencer built by ``factory``."""
    world = new_world(trace, schedule, freezer)
    timeline, scheduler = world.timeline, world.scheduler
    capacity = trace.settings.get("capacity", 3)
    gap_timeout = trace.settings.get("gap_timeout", 0.05)
    books = _Books(world.now, capacity)
    instance: list[Any] = []
    host_ref: list[Component] = []

    def on_release(event: Event) -> None:
        books.release(event, len(timeline))
        timeline.record(
            world.now(), "resequencer", "downstream", f"release {event.key} #{event.seq}"
        )

    def on_skip(key: str, seq: int) -> None:
        books.skip(key, seq, len(timeline))
        timeline.record(world.now(), "resequencer", "downstream", f"skip {key} #{seq} (escalated)")

    def offer(event: Event) -> None:
        host = host_ref[0]
        step = len(timeline)
        fresh = books.fresh(event)
        books.offer(event, step)
        timeline.record(
            world.now(), "source", "resequencer", f"offer {event.key} #{event.seq} {event.name}"
        )

        def call() -> bool:
            try:
                instance[0].offer(event)
            except BufferFull:
                return False
            return True

        taken = host.invoke(call, what="offer")
        books.offering = None
        if taken:
            books.refused.discard(f"{event.key} #{event.seq}")
            books.refused_unheld.discard(f"{event.key} #{event.seq}")
            books.taken(event, fresh, step)
        else:
            books.refuse(event, step)
            timeline.record(
                world.now(),
                "resequencer",
                "source",
                f"full: {event.key} #{event.seq} refused, offered again in {REOFFER * 1000:g} ms",
            )
            scheduler.after(REOFFER, lambda: offer(event), priority=0)

    def send(args: dict[str, Any]) -> None:
        seq = args["seq"]
        name = args.get("event") or (NAMES[seq - 1] if seq <= len(NAMES) else "OrderUpdated")
        offer(Event(f"{args['key']}#{seq}", args["key"], seq, name))

    pending = schedule_steps(scheduler, trace.steps, {"send": send})
    last = trace.steps[-1].at if trace.steps else 0.0
    horizon = last + 3 * gap_timeout + 2 * TICK

    def start(host: Component) -> None:
        downstream = Downstream(host.gate, on_release, on_skip)
        instance[:] = [factory(downstream=downstream, capacity=capacity, gap_timeout=gap_timeout)]
        tick = instance[0].tick

        def on_tick() -> None:
            host.invoke(tick)
            books.check_waits(gap_timeout + 2 * TICK + 1e-6)
            if world.now() < horizon or pending() or books.refused:
                scheduler.after(TICK, on_tick)

        scheduler.after(TICK, on_tick)

    resequencer = world.host("resequencer", start, under_test=False)
    host_ref.append(resequencer)
    scheduler.at(0.0, resequencer.start, priority=-1)
    notes = run_until_settled(world, trace)
    world.stop()
    world.close()
    notes.update(
        settled=books.log,
        held_max=books.held_max,
        overflow_step=books.overflow_step,
        capacity=capacity,
        gap_timeout=gap_timeout,
        overdue=books.overdue,
        kept_refused=books.kept_refused,
        refused_next=books.refused_next,
        given_up=books.given_up,
        tick=TICK,
    )
    stuck = books.stuck() + sorted(books.refused)
    # An event held behind a gap nobody escalated is stuck, not lost: the checkers say so.
    accepted = {event: key for event, key in books.accepted.items() if event not in stuck}
    return outcome_of(
        world,
        resequencer,
        trace,
        schedule,
        accepted=accepted,
        effects=books.released,
        unsettled=stuck,
        effect="released",
        notes=notes,
    )


def generate(spec: tuple[int, ...], *, capacity: int = 3, gap_timeout: float = 0.02) -> Trace:
    """A trace sending, 4 ms apart, event ``n % 4 + 1`` of order ``o-{n // 4 + 1}`` per ``n``.

    A number that comes back is a duplicate; a number left out is a gap never filled;
    numbers in any order are disorder, over up to three orders interleaved.

    >>> [(step.args["key"], step.args["seq"]) for step in generate((5, 0)).steps]
    [('o-2', 2), ('o-1', 1)]
    """
    steps = tuple(
        Step(round(0.004 * index, 6), "send", {"key": f"o-{n // 4 + 1}", "seq": n % 4 + 1})
        for index, n in enumerate(spec)
    )
    return Trace(
        name="gen:" + ".".join(str(n) for n in spec),
        title=f"{len(spec)} generated event" + ("s" if len(spec) != 1 else ""),
        story="Drawn by Hypothesis: events of several orders, duplicated, reordered, some missing.",
        workload=NAME,
        steps=steps,
        settings={"capacity": capacity, "gap_timeout": gap_timeout},
    )


def specs(*, keys: int = 3, max_events: int = 12):
    """A Hypothesis strategy for ``generate``'s spec (shrinks towards one event of one order)."""
    from hypothesis import strategies as st

    return st.lists(st.integers(0, 4 * keys - 1), min_size=1, max_size=max_events).map(tuple)
