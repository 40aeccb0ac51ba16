"""ch03 · task 5 · There is no third door: name a strategy's guarantee from its outcomes."""

from __future__ import annotations

from collections.abc import Iterable

from harness.outcome import Outcome

AT_MOST_ONCE = "at-most-once"
AT_LEAST_ONCE = "at-least-once"
EXACTLY_ONCE = "exactly-once"
NO_GUARANTEE = "no guarantee"


def guarantee_of(outcomes: Iterable[Outcome]) -> str:
    """Name the delivery guarantee shown by the outcomes of every crash schedule of a strategy.

    - ``exactly-once``: no outcome lost anything and none duplicated anything;
    - ``at-most-once``: some outcome lost something, none duplicated;
    - ``at-least-once``: some outcome duplicated something, none lost;
    - ``no guarantee``: some lost and some duplicated.

    Raises ValueError when there are no outcomes to judge.
    """
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("no outcomes to judge: explore at least one run")
    # One bad schedule is enough: a guarantee holds under every crash or not at all.
    lost = any(outcome.lost for outcome in outcomes)
    duplicated = any(outcome.duplicated for outcome in outcomes)
    if lost and duplicated:
        return NO_GUARANTEE
    if lost:
        return AT_MOST_ONCE
    if duplicated:
        return AT_LEAST_ONCE
    return EXACTLY_ONCE
