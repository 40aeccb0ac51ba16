"""The anomaly words: one glossary for checkers, failure messages and READMEs.

Every checker reports what it found with exactly these words, so a learner who
has met *duplicated* in ch03 recognises it in ch08. Add a word only when none
of these fits.

>>> ANOMALIES["lost"]
'accepted, never processed'
"""

from __future__ import annotations

ANOMALIES: dict[str, str] = {
    "lost": "accepted, never processed",
    "duplicated": "effect applied more than once",
    "reordered": "applied out of per-key order",
    "phantom": "published for a change that was rolled back",
    "stuck": "never settled: unacked forever, claimed forever, buffered forever",
    "overflowed": "a bound exceeded",
    "swallowed": "a crash caught by learner code",
    "unavailable": "turned away while it could have been taken",
    "overpromised": "reported as done when it was only accepted",
    "late": "answered or acted on after its deadline had passed",
    "early": "acted on before its time: retried before its wait was over, purged before its "
    "retention had passed",
    "unexplained": "dead-lettered without saying why: its reason, attempts or failures missing "
    "or wrong",
    "hoarded": "held by a slow consumer while a peer that could take it had nothing to do",
    "starved": "a worker left idle while work waited for it",
    "flapped": "switched between paused and resumed more often than its watermarks allow",
    "misreported": "a figure reported that is not the one the world shows",
}


def describe(word: str) -> str:
    """The plain-words meaning of an anomaly word; KeyError names the known ones."""
    try:
        return ANOMALIES[word]
    except KeyError:
        known = ", ".join(ANOMALIES)
        raise KeyError(f"unknown anomaly word {word!r}; the glossary has: {known}") from None
