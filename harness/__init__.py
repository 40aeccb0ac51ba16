"""The deterministic world of *Talking with messages*.

One clock, one seed, no threads: a queue broker with RabbitMQ's delivery
semantics, a log with Kafka's offsets, a real SQLite store, crash points at
every call learner code makes into the world, and checkers that name what
went wrong with one glossary (:mod:`harness.glossary`: lost, duplicated,
reordered, phantom, stuck, …).

Chapter tests use the ``kit`` fixture (:class:`harness.kit.Kit`); learner
code sees only the ports (:mod:`harness.ports`).
"""

from harness.checkers import Verdict
from harness.explore import Explorer, PromiseBroken
from harness.faults import Crash, CrashPoint, Schedule
from harness.glossary import ANOMALIES
from harness.outcome import Outcome
from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED, Promise
from harness.traces import Trace, TraceError
from harness.world import World

__all__ = [
    "ANOMALIES",
    "NO_DUPLICATE",
    "NO_LOSS",
    "NO_SWALLOW",
    "SETTLED",
    "Crash",
    "CrashPoint",
    "Explorer",
    "Outcome",
    "Promise",
    "PromiseBroken",
    "Schedule",
    "Trace",
    "TraceError",
    "Verdict",
    "World",
]
