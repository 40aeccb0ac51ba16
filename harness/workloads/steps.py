"""Playing a trace's steps into a world: shared by every workload."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import groupby
from typing import Any

from harness.gateway import PaymentGateway
from harness.scheduler import Scheduler
from harness.traces import Step

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


def charges_by_order(gateway: PaymentGateway) -> dict[str, list[int]]:
    """Each order's charges, as the timeline steps that show them."""
    effects: dict[str, list[int]] = {}
    for order, _amount, step in gateway.charges:
        effects.setdefault(order, []).append(step)
    return effects
