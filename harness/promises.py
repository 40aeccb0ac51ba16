"""Promises: an invariant in plain words, and the checker that decides it.

A test names the promises a learner's code must keep; the explorer runs the
code through crash schedules and reports the first promise broken, in these
words.

>>> NO_LOSS.statement
'every accepted message takes effect at least once: nothing is lost'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness import checkers
from harness.checkers import Verdict
from harness.outcome import Outcome


@dataclass(frozen=True)
class Promise:
    """``id`` is short and stable (results and the self-check use it)."""

    id: str
    statement: str
    check: Callable[[Outcome], Verdict]

    def __call__(self, outcome: Outcome) -> Verdict:
        return self.check(outcome)


NO_LOSS = Promise(
    "no-loss",
    "every accepted message takes effect at least once: nothing is lost",
    checkers.no_loss,
)
NO_DUPLICATE = Promise(
    "no-duplicate",
    "no message takes effect twice: nothing is duplicated",
    checkers.no_duplicate,
)
SETTLED = Promise(
    "settled",
    "every delivery is settled in the end: nothing is stuck",
    checkers.settled,
)
NO_SWALLOW = Promise(
    "no-swallow",
    "a crash stops the component: it is never caught and ignored",
    checkers.no_swallow,
)


def duplicates_within(per_crash: int) -> Promise:
    """Each crash causes at most ``per_crash`` duplicate effects."""
    return Promise(
        "bounded-duplicates",
        f"each crash causes at most {per_crash} duplicate effects",
        lambda outcome: checkers.duplicates_within(outcome, per_crash=per_crash),
    )
