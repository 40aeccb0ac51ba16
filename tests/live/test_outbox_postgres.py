"""The outbox relay on a real PostgreSQL: one dialect on both stores, relays as connections
in one deterministic world, and relays as separate processes claiming at the same time.

These run the reference solution (``solutions/``) unless ``--target`` is given on the
command line: ``pytest tests/live -m postgres --target exercises`` runs your own relay.
Without a server they are skipped, saying why; with ``CI=true`` a missing server fails.
A broken promise fails as ``broken promise 'ID': what was observed``, the words of a
chapter test's failure; a relay that is still a stub fails as NOT DONE YET, as a chapter
test does (see ``conftest.py``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
from live.conftest import target_root

from harness import promises as P
from harness.explore import Explorer
from harness.hints import Failure, choose
from harness.manifest import Manifest
from harness.outcome import Outcome
from harness.targets import Target
from harness.traces import Step, Trace, load
from harness.workloads import outbox_relays
from harness.workloads.outbox_live import LiveRun, outcome_notes, run_relays
from harness.workloads.outbox_world import PostgresBackend

pytestmark = [pytest.mark.postgres, pytest.mark.live_task("ch05.3")]

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "exercises" / "ch05" / "traces"
PROMISES = [
    P.NO_SWALLOW,
    P.NO_PHANTOM,
    P.OUTBOX_DRAINED,
    P.EVENT_NOT_LOST,
    P.EVENTS_IN_ORDER,
    P.SAME_MESSAGE_ID,
]


@pytest.fixture(scope="module")
def relay_target(request: pytest.FixtureRequest) -> Target:
    return Target(*target_root(request.config))


def _keep(outcome: Outcome, promises: list[P.Promise], *, test: str | None = None) -> None:
    """Fail on the first promise ``outcome`` breaks, naming it as the explorer does, with the
    hint a chapter test of ch05.3 would show for it (``test``: this test's name)."""
    for promise in promises:
        verdict = promise(outcome)
        if verdict.holds:
            continue
        failure = Failure(promise=promise.id, anomalies=tuple(verdict.anomalies), test=test)
        hint = choose(Manifest.load(ROOT / "exercises" / "info.toml"), "ch05", 3, failure)
        raise AssertionError(
            f"broken promise {promise.id!r}: {verdict.observed}\n  promise  {promise.statement}"
            + (f"\n  hint     {hint.text}" if hint else "")
        )


def _not_done_first(run: LiveRun) -> None:
    """A relay process that met a stub's TODO fails the test as NOT DONE YET (see conftest.py),
    before the failures of the others, which met it too."""
    if run.not_done is not None:
        raise run.not_done


def _on_postgres(dsn: str) -> SimpleNamespace:
    """The outbox-relays workload with its world's database on the PostgreSQL server."""
    return SimpleNamespace(
        run=partial(outbox_relays.run, backend=lambda world: PostgresBackend(dsn))
    )


def test_the_store_speaks_the_same_sql_on_postgresql(dsn):
    """'?' placeholders, RETURNING and FOR UPDATE SKIP LOCKED work, with a lock timeout set."""
    from harness.ports.sql_store import PgStore
    from harness.timeline import Timeline
    from harness.world import World

    world = World(seed=0)
    backend = PostgresBackend(dsn)
    try:
        host = world.host("relay-1", lambda host: None)
        store = backend.store(host, host.gate)
        assert isinstance(store, PgStore) and store.dialect == "postgresql"
        store.execute(
            "INSERT INTO outbox (message_id, order_id, body) VALUES (?, ?, ?)", ("e1", "o-1", "{}")
        )
        store.commit()
        claimed = store.execute(
            "UPDATE outbox SET claimed_by = ? WHERE id IN (SELECT id FROM outbox "
            "WHERE sent_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) "
            "RETURNING message_id, claimed_by",
            ("relay-1.1", 5),
        )
        assert claimed == [("e1", "relay-1.1")]
        assert store.in_transaction, "the UPDATE opened a transaction"
        store.rollback()
        assert store.execute("SHOW lock_timeout") == [("2s",)]
        assert isinstance(world.timeline, Timeline) and len(world.timeline) >= 3
    finally:
        world.stop()
        backend.close()


def test_relays_keep_their_promises_in_a_world_on_postgresql(dsn, relay_target):
    """two and four relays, as separate connections, keep every promise; none publishes twice"""
    relay = relay_target.component("ch05/leased_relay.py", "LeasedRelay")
    traces = [load(TRACES / "relays-racing.toml"), load(TRACES / "relays-four.toml")]
    Explorer().once(_on_postgres(dsn), relay, traces, [*PROMISES, P.PUBLISHED_ONCE])


def test_a_crashed_or_stalled_relay_hands_over_on_postgresql(dsn, relay_target):
    """whatever single crash strikes either relay, and past a stall, the promises hold"""
    relay = relay_target.component("ch05/leased_relay.py", "LeasedRelay")
    steps = (
        Step(0.0, "write", {"id": "e2", "order": "o-1", "kind": "OrderPlaced"}),
        Step(0.0, "write", {"id": "e1", "order": "o-1", "kind": "OrderPaid"}),
        Step(0.0, "stall", {"relay": "relay-1", "call": 3, "seconds": 0.03}),
    )
    short = Trace(
        "short-lease",
        "A relay stalls past a short lease",
        "Relay-1 claims o-1's first event and stalls 30 ms; its lease lasts 20 ms.",
        "outbox-relays",
        steps,
        settings={"relays": 2, "lease": 0.02},
    )
    runs = Explorer().every_single_crash(_on_postgres(dsn), relay, [short], PROMISES)
    assert runs > 10


def test_relays_as_separate_processes_keep_their_promises(dsn, relay_target):
    """four relay processes claim concurrently and crash at random: no loss, no phantom,
    per-order order, and every duplicate carries its event's message id"""
    path = relay_target.module("ch05/leased_relay.py").__file__
    run = run_relays(
        dsn, path, "LeasedRelay", events=120, orders=8, relays=4, lease=1.0, crash_rate=0.05
    )
    _not_done_first(run)
    assert not run.failures, run.failures
    assert run.crashes > 0, "no relay process crashed: the test did not test crashes"
    _keep(Outcome(accepted={}, effects={}, notes={"outbox": outcome_notes(run)}), PROMISES[1:])
    assert len(run.published) >= len(run.events)


def test_relay_processes_that_never_crash_publish_each_event_once(dsn, relay_target):
    """four relay processes claim at the same instant and none crashes: each event is
    published exactly once, so a claim must skip the rows another relay is claiming"""
    path = relay_target.module("ch05/leased_relay.py").__file__
    run = run_relays(dsn, path, "LeasedRelay", events=200, orders=20, relays=4, lease=1.0)
    _not_done_first(run)
    assert not run.failures, run.failures
    assert run.crashes == 0
    workers = {worker for *_, worker in run.published}
    assert len(workers) > 1, f"only {workers} published: the relays did not run side by side"
    outcome = Outcome(accepted={}, effects={}, notes={"outbox": outcome_notes(run)})
    _keep(
        outcome,
        [P.PUBLISHED_ONCE, *PROMISES[1:]],
        test="test_relay_processes_that_never_crash_publish_each_event_once",
    )
