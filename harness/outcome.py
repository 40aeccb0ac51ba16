"""The outcome of one run: what was accepted, what took effect, what never settled.

Checkers read an :class:`Outcome` and nothing else, so they can be tested on
hand-written outcomes as well as on real runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.faults import Schedule
from harness.timeline import Timeline


@dataclass
class Outcome:
    """What one run of one trace under one schedule produced.

    - ``accepted``: message id → the key its effect is counted under (an order id);
    - ``effects``: key → the timeline step of each time its effect was applied;
    - ``unsettled``: message ids still waiting or unacknowledged at the end;
    - ``effect``: the verb the checkers use in sentences ("charged").
    """

    accepted: Mapping[str, str]
    effects: Mapping[str, list[int]]
    unsettled: list[str] = field(default_factory=list)
    effect: str = "processed"
    timeline: Timeline = field(default_factory=Timeline)
    schedule: Schedule = field(default_factory=Schedule)
    trace_name: str = ""
    crashes: int = 0
    swallowed: int = 0
    calls: int = 0
    notes: dict[str, Any] = field(default_factory=dict)
    actor_calls: Mapping[str, int] = field(default_factory=dict)
    """Calls made by each component under test, for worlds that host several of them;
    the explorer then enumerates crash points per actor (``relay-2:4a``)."""

    def applied(self, key: str) -> int:
        """How many times the effect of ``key`` was applied."""
        return len(self.effects.get(key, ()))

    @property
    def lost(self) -> list[str]:
        """Keys accepted and never applied."""
        return sorted({key for key in self.accepted.values() if not self.effects.get(key)})

    @property
    def duplicated(self) -> dict[str, int]:
        """Keys applied more than once, with how many times."""
        return {key: len(steps) for key, steps in sorted(self.effects.items()) if len(steps) > 1}
