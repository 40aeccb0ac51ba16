"""Playing a trace in a world and reading the outcome: what every workload shares."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.ports.log_client import LogClient
from harness.scheduler import BudgetExceeded, Scheduler
from harness.traces import Step, Trace
from harness.world import Component, World

if TYPE_CHECKING:
    from harness.debugger.panel import Panel

OBSERVE = "harness.debugger.observe"
"""Where the debugger's observer lives: nothing watches a run before it is imported, so the
workloads reach it through :func:`attach` and :func:`add_panels`, which never import it."""

Handler = Callable[[Mapping[str, Any]], None]


def schedule_steps(
    scheduler: Scheduler, steps: Sequence[Step], handlers: Mapping[str, Handler]
) -> Callable[[], int]:
    """Schedule the steps (one event per distinct time, in trace order, before anything else).

    Returns a function telling how many steps are still to be played.
    """
    remaining = [len(steps)]

    for when, group in groupby(steps, key=lambda step: step.at):
        batch = [(handlers[step.action], step.args) for step in group]

        def play(batch=batch) -> None:
            for handler, args in batch:
                remaining[0] -= 1
                handler(args)

        scheduler.at(when, play, priority=0)
    return lambda: remaining[0]


def new_world(
    trace: Trace, schedule: Schedule, freezer: object, *, call_limit: int | None = None
) -> World:
    """A world for one run of ``trace``, its loop guard scaled to the trace's size (or
    ``call_limit``, for a workload whose steps each make many calls).

    When the debugger replays this run to draw it, it starts watching the world here
    (:mod:`harness.debugger.observe`); otherwise nothing watches.
    """
    world = World(
        seed=schedule.seed,
        crashes=schedule.crashes,
        freezer=freezer,
        call_limit=call_limit if call_limit is not None else 1_000 + 200 * len(trace.steps),
    )
    attach(world)
    return world


def attach(world: World) -> None:
    """Hand a new world to the debugger's observer, if one watches (see :data:`OBSERVE`)."""
    observe = sys.modules.get(OBSERVE)
    if observe is not None:
        observe.attach(world)


def add_panels(world: World, source: Callable[[], list[Panel]]) -> None:
    """Show ``source()``'s panels at every step of ``world`` when its run is observed."""
    observe = sys.modules.get(OBSERVE)
    if observe is not None:
        observe.add_panels(world, source)


def run_until_settled(world: World, trace: Trace) -> dict[str, Any]:
    """Run the world until nothing is left to do; notes say if it never settled."""
    notes: dict[str, Any] = {}
    try:
        world.run(max_events=500 + 100 * len(trace.steps))
    except BudgetExceeded as error:
        notes["budget"] = str(error)
    return notes


def outcome_of(
    world: World, component: Component, trace: Trace, schedule: Schedule, **what: Any
) -> Outcome:
    """An outcome whose run facts come from the world and ``component``.

    The timeline, the schedule, the component's crashes, the crashes it swallowed and
    the calls it made; ``what`` gives the rest (``accepted``, ``effects``, ``unsettled``,
    ``effect``, ``notes``, ...).
    """
    return Outcome(
        timeline=world.timeline,
        schedule=schedule,
        trace_name=trace.name,
        crashes=component.crashes,
        swallowed=component.swallowed,
        calls=component.gate.calls,
        **what,
    )


def charges_outcome(
    world: World,
    consumer: Component,
    trace: Trace,
    schedule: Schedule,
    *,
    accepted: Mapping[str, str],
    unsettled: list[str],
    notes: dict[str, Any],
) -> Outcome:
    """The outcome of a run whose effect is the payment gateway's charges."""
    effects: dict[str, list[int]] = {}
    for order, _amount, step in world.gateway.charges:
        effects.setdefault(order, []).append(step)
    return outcome_of(
        world,
        consumer,
        trace,
        schedule,
        accepted=accepted,
        effects=effects,
        unsettled=sorted(unsettled),
        effect="charged",
        notes=notes,
    )


def positions_panel(group: str, clients: Mapping[str, LogClient]) -> Panel:
    """The debugger's panel of where each live member of ``group`` reads next, per partition.

    ``clients`` maps each running member to its log client; a position lives in the
    client's memory only, which the panel's note recalls.
    """
    rows = [
        (name, partition, client.position(partition))
        for name, client in clients.items()
        for partition in client.assignment()
    ]
    note = (
        "where each member's next poll() reads; kept in its memory, so a crash forgets it "
        "and a new incarnation starts at the group's committed offset"
    )
    from harness.debugger.panel import Panel

    return Panel(
        f"positions ({group})",
        ("member", "partition", "position"),
        rows,
        note if rows else "no running member holds a partition",
    )
