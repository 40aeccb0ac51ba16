"""What each world gave: a live run's broken promise beside the simulator's run of the same case.

When a live run breaks a promise, the simulator plays the same trace under the
same crash schedule. :func:`compare` puts the two outcomes side by side:
whether the simulator broke the same promise, kept it, or broke another, and
what each world did with the messages (how many times each order took effect,
what stayed unsettled). A disagreement is either a difference between RabbitMQ
and the simulator that the learner's code depends on, or a race that only real
time brings out; either way the failure shows both, world by world.

>>> from harness.outcome import Outcome
>>> from harness.promises import NO_LOSS
>>> live = Outcome(accepted={"m1": "o-1"}, effects={}, effect="charged")
>>> sim = Outcome(accepted={"m1": "o-1"}, effects={"o-1": [4]}, effect="charged")
>>> c = compare((NO_LOSS, NO_LOSS(live)), live, sim, [NO_LOSS], None, None)
>>> c.agree
False
>>> print("\\n".join(c.lines()))
RabbitMQ   broke 'no-loss': order o-1 was never charged (lost)
simulator  kept 'no-loss' on the same trace and schedule: the worlds disagree
effects    o-1: RabbitMQ charged it 0 times, the simulator 1 time
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers import Verdict
from harness.explore import first_broken
from harness.outcome import Outcome
from harness.promises import Promise


@dataclass(frozen=True)
class Comparison:
    """A live run's first broken promise, and the simulator's run of the same case."""

    promise: Promise
    live_verdict: Verdict
    live: Outcome
    simulated: Outcome | None
    """None when the simulator's run raised (the learner's code failed there)."""
    sim_verdict: Verdict | None
    """The same promise, judged on the simulator's outcome."""
    sim_first: tuple[Promise, Verdict] | None
    """The first promise the simulator's outcome broke, if any."""
    trace: Any
    schedule: Any

    @property
    def agree(self) -> bool:
        """Whether the simulator broke the same promise on the same case."""
        return self.sim_verdict is not None and not self.sim_verdict.holds

    def lines(self) -> list[str]:
        """The comparison, world by world, as the failure prints it."""
        lines = [f"RabbitMQ   broke {self.promise.id!r}: {self.live_verdict.observed}"]
        if self.simulated is None:
            lines.append(
                "simulator  raised on the same trace and schedule (see a run without live)"
            )
        elif self.agree:
            lines.append(
                f"simulator  broke {self.promise.id!r} too, on the same trace and schedule: "
                f"{self.sim_verdict.observed}"
            )
        elif self.sim_first is not None:
            other, verdict = self.sim_first
            lines.append(
                f"simulator  kept {self.promise.id!r} but broke {other.id!r} on the same trace "
                f"and schedule: {verdict.observed}: the worlds disagree"
            )
        else:
            lines.append(
                f"simulator  kept {self.promise.id!r} on the same trace and schedule: "
                "the worlds disagree"
            )
        lines.extend(_effects(self.live, self.simulated))
        return lines


def compare(
    broken: tuple[Promise, Verdict],
    live: Outcome,
    simulated: Outcome | None,
    promises: Sequence[Promise],
    trace: Any,
    schedule: Any,
) -> Comparison:
    """Judge ``simulated`` as ``live`` was judged, beside it."""
    promise, verdict = broken
    sim_verdict = promise(simulated) if simulated is not None else None
    sim_first = first_broken(simulated, promises) if simulated is not None else None
    return Comparison(promise, verdict, live, simulated, sim_verdict, sim_first, trace, schedule)


def _effects(live: Outcome, simulated: Outcome | None) -> list[str]:
    """Where the two worlds applied effects a different number of times, or left different
    messages unsettled."""
    if simulated is None:
        return []
    verb = live.effect
    keys = sorted(set(live.accepted.values()) | set(simulated.accepted.values()))
    differ = [k for k in keys if live.applied(k) != simulated.applied(k)]
    lines = []
    if differ:
        shown = "; ".join(
            f"{k}: RabbitMQ {verb} it {live.applied(k)} {_times(live.applied(k))}, "
            f"the simulator {simulated.applied(k)} {_times(simulated.applied(k))}"
            for k in differ[:3]
        )
        more = f"; and {len(differ) - 3} more" if len(differ) > 3 else ""
        lines.append(f"effects    {shown}{more}")
    if sorted(live.unsettled) != sorted(simulated.unsettled):
        lines.append(
            f"unsettled  RabbitMQ: {', '.join(live.unsettled) or 'none'}; "
            f"the simulator: {', '.join(simulated.unsettled) or 'none'}"
        )
    return lines


def _times(count: int) -> str:
    return "time" if count == 1 else "times"
