"""Checkers: read an outcome, return a verdict (data, never a bare boolean).

Each verdict names its anomalies with the glossary's words
(:mod:`harness.glossary`) and says, in a sentence, what was observed.

>>> from harness.outcome import Outcome
>>> accepted = {"m1": "o-1", "m2": "o-2"}
>>> outcome = Outcome(accepted=accepted, effects={"o-1": [3, 9]}, effect="charged")
>>> v = no_loss(outcome)
>>> v.holds, v.anomalies
(False, {'lost': ['o-2']})
>>> v.observed
'order o-2 was never charged (lost)'
>>> no_duplicate(outcome).observed
'order o-1 was charged 2 times (duplicated)'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.glossary import ANOMALIES
from harness.outcome import Outcome


@dataclass(frozen=True)
class Verdict:
    """What a checker found. ``marks`` points at timeline steps worth an arrow."""

    holds: bool
    anomalies: dict[str, list[str]] = field(default_factory=dict)
    observed: str = ""
    marks: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for word in self.anomalies:
            if word not in ANOMALIES:
                raise ValueError(f"{word!r} is not a glossary word ({', '.join(ANOMALIES)})")


def _holds() -> Verdict:
    return Verdict(True)


def _orders(keys: list[str]) -> str:
    return ("order " if len(keys) == 1 else "orders ") + ", ".join(keys)


def no_loss(outcome: Outcome) -> Verdict:
    """Every accepted message took effect at least once."""
    lost = outcome.lost
    if not lost:
        return _holds()
    return Verdict(
        False,
        {"lost": lost},
        f"{_orders(lost)} {'was' if len(lost) == 1 else 'were'} never {outcome.effect} (lost)",
    )


def no_duplicate(outcome: Outcome) -> Verdict:
    """No message took effect more than once."""
    return duplicates_within(outcome, per_crash=0)


def duplicates_within(outcome: Outcome, *, per_crash: int) -> Verdict:
    """At most ``per_crash`` extra applications for each crash of the run (0: none at all)."""
    duplicated = outcome.duplicated
    extra = sum(count - 1 for count in duplicated.values())
    if extra <= per_crash * outcome.crashes:
        return _holds()
    parts = [f"{key} was {outcome.effect} {count} times" for key, count in duplicated.items()]
    marks = {}
    for key in duplicated:
        for nth, step in enumerate(outcome.effects[key][1:], start=2):
            marks[step] = f"{_ordinal(nth)} time {key} is {outcome.effect}"
    observed = "order " + "; ".join(parts) + " (duplicated)"
    if per_crash:
        crashes = f"{outcome.crashes} crash" + ("es" if outcome.crashes != 1 else "")
        observed += f": {extra} extra after {crashes}, more than {per_crash} per crash"
    return Verdict(False, {"duplicated": sorted(duplicated)}, observed, marks)


def settled(outcome: Outcome) -> Verdict:
    """Every message was settled by the end: nothing waits or stays unacknowledged forever."""
    if not outcome.unsettled:
        return _holds()
    ids = ", ".join(outcome.unsettled)
    many = len(outcome.unsettled) > 1
    observed = (
        f"message{'s' if many else ''} {ids} {'were' if many else 'was'} never settled (stuck)"
    )
    return Verdict(False, {"stuck": list(outcome.unsettled)}, observed)


def no_swallow(outcome: Outcome) -> Verdict:
    """The component never caught a crash and went on as if nothing happened."""
    if not outcome.swallowed:
        return _holds()
    marks = {
        index: "the crash was caught here"
        for index, step in enumerate(outcome.timeline.steps)
        if step.is_crash and "swallowed" in step.what
    }
    return Verdict(
        False,
        {"swallowed": [f"{outcome.swallowed} crash(es)"]},
        f"the component caught {outcome.swallowed} crash(es) and went on (swallowed)",
        marks,
    )


def _ordinal(n: int) -> str:
    return {2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")
