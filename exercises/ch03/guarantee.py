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

    Each outcome is one run; ``outcome.lost`` lists the orders never charged,
    ``outcome.duplicated`` the orders charged more than once.

    - ``exactly-once``: no outcome lost anything and none duplicated anything;
    - ``at-most-once``: some outcome lost something, none duplicated;
    - ``at-least-once``: some outcome duplicated something, none lost;
    - ``no guarantee``: some lost and some duplicated.

    Raises ValueError when there are no outcomes to judge.
    """
    raise NotImplementedError(
        "TODO(ch03.5): look at every outcome's lost and duplicated orders and name the guarantee"
    )
