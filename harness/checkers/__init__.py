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

from harness.checkers.bus import (
    answered_in_time,
    answered_once,
    correlated,
    every_subscriber,
    one_handler,
)
from harness.checkers.delivery import duplicates_within, no_duplicate, no_loss, no_swallow, settled
from harness.checkers.desk import (
    accepted_not_confirmed,
    accepts_while_broker_up,
    reaches_every_service,
    refuses_when_broker_down,
)
from harness.checkers.offsets import (
    commits_next_offset,
    committed_processed,
    duplicates_within_every,
    no_duplicate_without_crash,
    replay_converges,
    resumes_at_committed,
)
from harness.checkers.ordering import (
    bounded,
    gap_escalated_in_time,
    per_key_order,
    projection_matches,
    within_retention,
)
from harness.checkers.outbox import (
    events_in_order,
    no_lost_event,
    no_phantom_event,
    outbox_drained,
    outbox_purged,
    published_once,
    republished_with_same_id,
)
from harness.checkers.verdict import Verdict

__all__ = [
    "Verdict",
    "no_loss",
    "no_duplicate",
    "duplicates_within",
    "settled",
    "no_swallow",
    "accepts_while_broker_up",
    "reaches_every_service",
    "accepted_not_confirmed",
    "refuses_when_broker_down",
    "one_handler",
    "every_subscriber",
    "correlated",
    "answered_in_time",
    "answered_once",
    "committed_processed",
    "commits_next_offset",
    "resumes_at_committed",
    "no_duplicate_without_crash",
    "duplicates_within_every",
    "replay_converges",
    "within_retention",
    "per_key_order",
    "gap_escalated_in_time",
    "bounded",
    "projection_matches",
    "no_lost_event",
    "no_phantom_event",
    "events_in_order",
    "republished_with_same_id",
    "published_once",
    "outbox_drained",
    "outbox_purged",
]
