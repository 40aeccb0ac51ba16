"""Delivery (ch03 and after): nothing lost, nothing duplicated, all settled, no crash swallowed."""

from __future__ import annotations

from harness.checkers.verdict import Verdict, _holds, _orders, _ordinal
from harness.outcome import Outcome


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
