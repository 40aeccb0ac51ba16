"""The deterministic world of *Talking with messages*.

One clock, one seed, no threads: a queue broker with RabbitMQ's delivery
semantics, a log with Kafka's offsets, a real SQLite store, crash points at
every call learner code makes into the world, and checkers that name what
went wrong with one glossary (:mod:`harness.glossary`: lost, duplicated,
reordered, phantom, stuck, …).

Chapter tests use the ``kit`` fixture (:class:`harness.kit.Kit`); learner
code sees only the ports (:mod:`harness.ports`).
"""

from harness.lazy_front import names_of

_HOMES = {
    "Verdict": "harness.checkers",
    "Explorer": "harness.explore",
    "PromiseBroken": "harness.explore",
    "Crash": "harness.faults",
    "CrashPoint": "harness.faults",
    "Schedule": "harness.faults",
    "ANOMALIES": "harness.glossary",
    "Outcome": "harness.outcome",
    "NO_DUPLICATE": "harness.promises",
    "NO_LOSS": "harness.promises",
    "NO_SWALLOW": "harness.promises",
    "SETTLED": "harness.promises",
    "Promise": "harness.promises",
    "Trace": "harness.traces",
    "TraceError": "harness.traces",
    "World": "harness.world",
}
"""Where each name of the package's front lives. A name is imported when first asked for
(PEP 562), so a process that needs a few modules of the harness loads those only: the
learner host, started afresh for each second run of a grading, skips the explorer, the
world and the report it never uses."""


__getattr__, __dir__ = names_of(globals(), _HOMES)

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
