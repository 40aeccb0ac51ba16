"""outbox-relays: several relays drain one outbox at once, with claims that expire.

The same world as :mod:`harness.workloads.outbox_relay`, with ``relays``
relays (``relay-1``, ``relay-2``, ...) polling the same outbox, interleaved by
the scheduler: a trace's ``stall`` step stops one relay just before one of its
calls while the others go on (a short stall is two relays racing; a long one
is a relay that stalls past its lease). Crash points name the relay they
strike (``relay-2:4a``), and every single crash is explored for each relay.

Each relay incarnation is built as ``factory(store=..., publisher=...,
worker=..., lease=...)``: ``worker`` is its own name, new after every restart
(``relay-1.2`` is relay-1's second incarnation), and ``lease`` is how many
seconds a claim lasts. The promises are those of one relay, and also: two
relays never publish the same event unless one crashed or stalled past its
lease, and per-order order holds across relays.

``run(..., backend=...)`` runs the same trace on PostgreSQL
(:class:`harness.workloads.outbox_world.PostgresBackend`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.faults import Schedule
from harness.outcome import Outcome
from harness.traces import NUMBER, POSITIVE, Step, Trace, Vocabulary
from harness.workloads import outbox_relay
from harness.workloads.outbox_world import SqliteBackend

NAME = "outbox-relays"
VOCABULARY = Vocabulary(
    actions=outbox_relay.ACTIONS,
    settings={"relays": (POSITIVE, 2), "lease": (NUMBER, 0.05)},
    optional=outbox_relay.OPTIONAL,
)


def run(
    factory: Callable[..., Any],
    trace: Trace,
    schedule: Schedule,
    *,
    freezer: object = None,
    backend: Callable[[Any], Any] = SqliteBackend,
) -> Outcome:
    """Play ``trace`` against ``relays`` relays built by ``factory``, crashing per ``schedule``."""
    return outbox_relay.play(
        factory,
        trace,
        schedule,
        freezer=freezer,
        relays=trace.settings.get("relays", 2),
        lease=trace.settings.get("lease", 0.05),
        backend=backend,
    )


def generate(spec: tuple[int, ...], *, relays: int = 2, lease: float = 0.05) -> Trace:
    """As :func:`harness.workloads.outbox_relay.generate`, for ``relays`` relays."""
    base = outbox_relay.generate(spec)
    return Trace(
        base.name,
        base.title,
        base.story,
        NAME,
        base.steps,
        settings={"relays": relays, "lease": lease},
    )


specs = outbox_relay.specs


def races(
    trace: Trace, *, relay: str = "relay-1", calls: range = range(1, 9), seconds: float = 0.004
) -> list[Trace]:
    """``trace`` once per call of ``calls``, ``relay`` stalling ``seconds`` just before it.

    A stall shorter than the lease is a race: the other relays poll while
    ``relay`` is between two of its calls, whichever two they are. Each
    variant is named ``TRACE+RELAY@CALL`` (what a replay line carries).
    """
    variants = []
    for call in calls:
        stall = Step(0.0, "stall", {"relay": relay, "call": call, "seconds": seconds})
        variants.append(
            Trace(
                f"{trace.name}+{relay}@{call}",
                trace.title,
                trace.story,
                trace.workload,
                (stall, *trace.steps),
                trace.seed,
                trace.settings,
                trace.source,
            )
        )
    return variants
