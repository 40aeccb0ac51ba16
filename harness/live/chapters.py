"""Which workloads run live, and why the others stay on the simulator.

A workload runs live when every server in its world has a real counterpart
here: its queues on RabbitMQ (and its store on PostgreSQL where it is the
workload's). A chapter test whose workload is not in :data:`LIVE` is skipped
under ``--world live``, with the reason from :data:`SIMULATED`.

>>> "payments-queue" in LIVE, SIMULATED["payments-log"].startswith("a Kafka-like log")
(True, True)
"""

from __future__ import annotations

LIVE = {
    "payments-queue": "ch03 tasks 1, 2 and 5: the payments consumers on a RabbitMQ queue",
    "payments-inbox": "ch04 task 1: the payments consumer on a RabbitMQ queue, its inbox in SQLite",
    "payments-retry": "ch06: the retrying consumer, its wait and dead-letter queues on RabbitMQ",
    "outbox-relay": "ch05 task 2: the relay, publishing with confirms to RabbitMQ, "
    "its outbox on PostgreSQL",
    "flash-sale": "ch07: the credit window, the length-limited queue that nacks, the stalls, "
    "on RabbitMQ",
}
"""Workload → what runs on the real servers."""

ON_POSTGRES = {"outbox-relay"}
"""The live workloads whose store is PostgreSQL; the others keep their SQLite store (the
learner's SQL in ch04 and ch06 is SQLite's, and that store is the consumer's own file)."""

TIMED = {
    "others-not-held": "a healthy payment captured within 10 ms of its publish",
    "retries-spread": "a retry's wait within its ceiling, to the millisecond",
    "backoff-doubles": "a refused event's waits doubling, give or take one 5 ms poll",
    "throughput": "a warehouse busy 90 % of every span of 20 reservations of 5 ms",
    "lag-drains": "the lag back to 0 within the work at 90 % of capacity plus 50 ms",
    "backs-off": "a refused publish's wait between half and all of its ceiling",
}
"""Promises that measure milliseconds of virtual time: a live run does not judge them (RabbitMQ
expires a TTL and hands over a delivery a few milliseconds late, and a busy machine more),
and the simulator judges them on the same trace and schedule instead."""

SHARED = "would stop a shared RabbitMQ for every client"

UNSAFE = {
    "alarm": "its memory alarm blocks every publish of every client of the server, which on "
    "a shared RabbitMQ would stop them all",
}
"""Trace actions that cannot be made on a real server without harming it: a live test skips
the traces that have one (and says so at the end), and plays the others."""

LOG = "a Kafka-like log; Kafka cannot run on these machines, so the log stays simulated"
SIMULATED = {
    "order-desk": "ch00's broker goes down and comes back at the trace's times, which " + SHARED,
    "message-bus": "ch01's bus is in-process, the learner's own: there is no broker in it",
    "status-queries": "ch01's replies come late, twice or never, as the world decides, "
    "on the virtual clock",
    "payments-log": LOG,
    "shipping-log": LOG,
    "history-log": LOG,
    "consumer-group": LOG,
    "order-resequencer": "a sequence-gap buffer fed by the harness, with no broker in its world",
    "order-projection": "a projection fed on the simulated log's order",
    "outbox-desk": "the order desk's transaction; it publishes nothing itself",
    "outbox-relays": "relays racing for leases in one virtual clock; "
    "tests/live runs them on PostgreSQL as separate processes",
    "outbox-cleanup": "a retention sweep over the outbox table, on the virtual clock",
    "order-saga": "ch08's saga, whose timeouts are on the virtual clock",
}
"""Workload → why it is not played live (a workload is in :data:`LIVE` or here, never both).

>>> set(LIVE) & set(SIMULATED)
set()
"""


def reason_not_live(name: str) -> str:
    """Why the workload ``name`` is not played live (for the skip message)."""
    why = SIMULATED.get(name, "its world has parts with no real counterpart yet")
    return (
        f"live mode does not play {name}: {why}. "
        "Run it on the simulator: the same command without --world live"
    )
