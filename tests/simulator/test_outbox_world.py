"""The outbox chapter's world: the SQL stores, the publisher port, stalls, folding, checkers."""

from __future__ import annotations

import sqlite3

import pytest

from harness import checkers
from harness.broker import Broker
from harness.clock import VirtualClock, frozen_time
from harness.errors import LearnerError
from harness.explore import Explorer, PromiseBroken
from harness.faults import Crash, CrashPoint, Gate, Schedule
from harness.outcome import Outcome
from harness.ports.publisher import Publisher, PublishRefused
from harness.ports.sql_store import SqliteStore, for_postgresql, for_sqlite
from harness.promises import EVENT_NOT_LOST, OUTBOX_DRAINED
from harness.scheduler import Scheduler
from harness.timeline import Timeline
from harness.traces import Step, Trace
from harness.workloads import outbox_desk, outbox_relay, outbox_relays
from harness.workloads.outbox_relay import compact


def test_the_sqlite_store_drops_row_locks_and_the_postgresql_one_translates_placeholders():
    """FOR UPDATE [SKIP LOCKED] vanishes on SQLite; '?' becomes '%s' on PostgreSQL."""
    sql = "SELECT id FROM outbox WHERE x = ? ORDER BY id LIMIT 3 for update skip locked"
    assert for_sqlite(sql) == "SELECT id FROM outbox WHERE x = ? ORDER BY id LIMIT 3"
    assert for_sqlite("SELECT 1 FOR UPDATE") == "SELECT 1"
    assert for_postgresql("SELECT '5%' WHERE a = ? AND b = ?") == (
        "SELECT '5%%' WHERE a = %s AND b = %s"
    )


def test_the_sqlite_store_runs_a_claim_written_for_postgresql():
    """UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING runs on SQLite."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, claimed_by TEXT)")
    conn.executemany("INSERT INTO outbox (id) VALUES (?)", [(1,), (2,), (3,)])
    conn.commit()
    store = SqliteStore(conn, Gate("relay-1", (), lambda where: None), Timeline(), lambda: 0.0)
    assert store.dialect == "sqlite" and not store.in_transaction
    rows = store.execute(
        "UPDATE outbox SET claimed_by = ? WHERE id IN (SELECT id FROM outbox "
        "WHERE claimed_by IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING id",
        ("relay-1.1", 2),
    )
    assert sorted(rows) == [(1,), (2,)]
    assert store.in_transaction
    store.commit()
    assert not store.in_transaction


def _publisher(refuse=lambda message_id: False, crashes=()):
    clock = VirtualClock()
    timeline = Timeline()
    broker = Broker(Scheduler(clock, seed=0), timeline)
    broker.declare_queue("order-events")
    confirmed = []
    gate = Gate("relay", crashes, lambda where: None)
    publisher = Publisher(
        broker,
        gate,
        timeline,
        lambda: clock.now,
        refuse=refuse,
        on_confirm=lambda message, step: confirmed.append((message.message_id, step)),
    )
    return publisher, broker, confirmed, timeline


def test_a_confirmed_publish_reaches_the_queue_and_is_reported():
    """publish returns once the broker has the message; on_confirm gets it and its step."""
    publisher, broker, confirmed, timeline = _publisher()
    publisher.publish("order-events", {"order_id": "o-1", "seq": 1}, message_id="e1")
    assert [m.message_id for m in broker.ready("order-events")] == ["e1"]
    assert confirmed == [("e1", 0)]
    assert "confirmed" in timeline.steps[0].what


def test_a_refused_publish_raises_and_publishes_nothing():
    """A negative confirm raises PublishRefused; the queue stays empty; a retry can succeed."""
    refusals = [True]
    publisher, broker, confirmed, _ = _publisher(refuse=lambda m: bool(refusals and refusals.pop()))
    with pytest.raises(PublishRefused):
        publisher.publish("order-events", {"order_id": "o-1"}, message_id="e1")
    assert broker.ready("order-events") == [] and confirmed == []
    publisher.publish("order-events", {"order_id": "o-1"}, message_id="e1")
    assert confirmed[0][0] == "e1"


def test_a_crash_after_a_publish_leaves_it_published():
    """A crash after the publish call: the broker has the message, the relay never learns it."""
    publisher, broker, confirmed, _ = _publisher(crashes=(CrashPoint(1, "after"),))
    with pytest.raises(Crash):
        publisher.publish("order-events", {"order_id": "o-1"}, message_id="e1")
    assert [m.message_id for m in broker.ready("order-events")] == ["e1"]


@pytest.mark.parametrize(("message_id", "body"), [("", {}), ("e1", ["not", "a", "dict"])])
def test_a_publish_without_an_id_or_a_mapping_is_refused_at_once(message_id, body):
    """publish needs a message id (consumers dedup on it) and a dict body."""
    publisher, *_ = _publisher()
    with pytest.raises((ValueError, TypeError)):
        publisher.publish("order-events", body, message_id=message_id)


class OneAtATime:
    """A relay that holds a transaction open across its publish (to test where stalls fall)."""

    def __init__(self, store, publisher, worker, lease):
        self.store, self.publisher = store, publisher

    def poll_once(self):
        rows = self.store.execute(
            "UPDATE outbox SET attempts = attempts + 1 WHERE sent_at IS NULL "
            "RETURNING id, message_id, body"
        )
        for row_id, message_id, _ in rows:
            self.publisher.publish(
                "order-events", {"order_id": "o-1", "seq": 1}, message_id=message_id
            )
            self.store.execute("UPDATE outbox SET sent_at = 1 WHERE id = ?", (row_id,))
        self.store.commit()


def _trace(*steps: Step, relays: int = 2) -> Trace:
    return Trace(
        "t", "t", "t", "outbox-relays", tuple(steps), settings={"relays": relays, "lease": 0.05}
    )


def test_a_stall_waits_for_the_end_of_the_relays_transaction():
    """A stall before call 2 falls right after the commit (call 4), never inside the transaction."""
    trace = _trace(
        Step(0.0, "write", {"id": "e1", "order": "o-1"}),
        Step(0.0, "stall", {"relay": "relay-1", "call": 2, "seconds": 0.01}),
    )
    with frozen_time() as freezer:
        outcome = outbox_relays.run(OneAtATime, trace, Schedule(), freezer=freezer)
    whats = [(s.actor, s.what) for s in outcome.timeline.steps]
    stall = next(i for i, (_, what) in enumerate(whats) if what.startswith("stall"))
    assert whats[stall - 1] == ("relay-1", "commit"), whats
    assert outcome.notes["stalls"] == 1


def test_idle_polls_fold_into_one_line_and_steps_follow():
    """Runs of polls that changed nothing become one line; step numbers are remapped."""
    timeline = Timeline()
    for t in range(6):
        timeline.record(t * 0.001, "relay-1", "store", "SELECT")
    folded, moved = compact(timeline, [(1, 2, "relay-1"), (2, 3, "relay-2"), (4, 5, "relay-1")])
    assert [s.what for s in folded.steps] == [
        "SELECT",
        "2 polls by relay-1, relay-2: nothing to do until t=0.002",
        "SELECT",
        "1 poll by relay-1: nothing to do",
        "SELECT",
    ]
    assert moved == [0, 1, 1, 2, 3, 4, 5]


def test_several_relays_are_explored_crash_by_crash_per_actor():
    """every_single_crash on two relays names each relay in its crash points."""
    seen: list[str] = []

    class Recording:
        def __init__(self, store, publisher, worker, lease):
            self.store = store

        def poll_once(self):
            self.store.execute("UPDATE outbox SET sent_at = 1")
            self.store.commit()

    trace = _trace(Step(0.0, "write", {"id": "e1", "order": "o-1"}))
    explorer = Explorer()
    real_run = outbox_relays.run

    class Spy:
        @staticmethod
        def run(factory, trace, schedule, *, freezer=None):
            seen.append(schedule.token)
            return real_run(factory, trace, schedule, freezer=freezer)

    explorer.every_single_crash(Spy, Recording, [trace], [])
    assert seen[0] == "-@s0"
    assert {token.split(":")[0] for token in seen[1:]} == {"relay-1", "relay-2"}
    assert "relay-2:1b@s0" in seen


def _box(committed, published, unsent=(), **extra):
    notes = {"committed": committed, "published": published, "unsent": list(unsent), **extra}
    return Outcome(accepted={}, effects={}, notes={"outbox": notes})


def test_the_outbox_checkers_name_each_anomaly():
    """lost, phantom, reordered, renamed copies, duplicates, stuck and overdue rows are found."""
    committed = {"o-1#1": "e1", "o-1#2": "e2"}
    ok = _box(
        committed, [(3, "e1", "o-1#1", "r"), (5, "e2", "o-1#2", "r"), (6, "e1", "o-1#1", "r")]
    )
    assert checkers.no_lost_event(ok).holds and checkers.no_phantom_event(ok).holds
    assert checkers.events_in_order(ok).holds and checkers.republished_with_same_id(ok).holds
    assert checkers.published_once(ok).anomalies == {"duplicated": ["o-1#1"]}
    lost = _box(committed, [(3, "e1", "o-1#1", "r")])
    assert checkers.no_lost_event(lost).anomalies == {"lost": ["o-1#2"]}
    phantom = _box(
        committed, [(3, "x", "?x", "r"), (4, "e1", "o-1#1", "r"), (5, "e2", "o-1#2", "r")]
    )
    assert checkers.no_phantom_event(phantom).anomalies == {"phantom": ["x"]}
    backwards = _box(committed, [(3, "e2", "o-1#2", "r"), (4, "e1", "o-1#1", "r")])
    assert checkers.events_in_order(backwards).anomalies == {"reordered": ["o-1#1 after o-1#2"]}
    renamed = _box(committed, [(3, "e1", "o-1#1", "r"), (4, "e1-b", "o-1#1", "r")])
    assert checkers.republished_with_same_id(renamed).anomalies == {"duplicated": ["o-1#1"]}
    stuck = _box(committed, [], unsent=["o-1#2"], claimed={"o-1#2": "relay-1.1"})
    verdict = checkers.outbox_drained(stuck)
    assert verdict.anomalies == {"stuck": ["o-1#2"]} and "relay-1.1" in verdict.observed
    overdue = _box(committed, [], overdue=["e1"], retention=0.05)
    assert checkers.outbox_purged(overdue).anomalies == {"overflowed": ["e1"]}


def test_the_desk_tells_a_refused_insert_from_a_bug():
    """A DB-API IntegrityError is a refused order; any other error is the learner's."""
    assert outbox_desk.is_integrity_error(sqlite3.IntegrityError("CHECK constraint failed"))
    assert not outbox_desk.is_integrity_error(sqlite3.OperationalError("no such table"))


def test_a_relay_that_never_marks_leaves_its_rows_stuck_and_the_run_ends():
    """A relay that publishes but never marks: every event published, rows stuck, run bounded."""

    class NeverMarks:
        def __init__(self, store, publisher):
            self.store, self.publisher, self.done = store, publisher, False

        def poll_once(self):
            if not self.done:
                for (message_id,) in self.store.execute("SELECT message_id FROM outbox"):
                    self.publisher.publish(
                        "order-events", {"order_id": "o-1", "seq": 1}, message_id=message_id
                    )
                self.done = True

    trace = Trace(
        "t", "t", "t", "outbox-relay", (Step(0.0, "write", {"id": "e1", "order": "o-1"}),)
    )
    with frozen_time() as freezer:
        outcome = outbox_relay.run(NeverMarks, trace, Schedule(), freezer=freezer)
    assert EVENT_NOT_LOST(outcome).holds
    assert OUTBOX_DRAINED(outcome).anomalies == {"stuck": ["o-1#1"]}
    assert "budget" not in outcome.notes
    with pytest.raises(PromiseBroken):
        Explorer().once(outbox_relay, NeverMarks, [trace], [OUTBOX_DRAINED])


def test_a_relay_that_leaves_its_transaction_open_is_told_so():
    """poll_once() returning inside a transaction is an error that names the fix."""

    class Forgetful:
        def __init__(self, store, publisher):
            self.store = store

        def poll_once(self):
            self.store.execute("UPDATE outbox SET attempts = attempts + 1")

    trace = Trace(
        "t", "t", "t", "outbox-relay", (Step(0.0, "write", {"id": "e1", "order": "o-1"}),)
    )
    with frozen_time() as freezer, pytest.raises(LearnerError, match="transaction still open"):
        outbox_relay.run(Forgetful, trace, Schedule(), freezer=freezer)


def _timed(outcome: Outcome, times: list[float]) -> Outcome:
    """``outcome`` with a timeline whose step i happens at ``times[i]`` (checkers read times)."""
    for at in times:
        outcome.timeline.record(at, "relay", "broker", "publish")
    return outcome


@pytest.mark.parametrize(
    ("gaps", "fits"),
    [
        ([0.01, 0.02, 0.04, 0.08, 0.16, 0.32], True),  # the reference: 10 ms, doubling
        ([0.005, 0.01, 0.02, 0.04], True),  # from one poll
        ([0.01, 0.025, 0.045, 0.085], True),  # each retry on the poll after its wait
        ([0.01, 0.01, 0.01, 0.01], False),  # a constant wait
        ([0.005, 0.005, 0.005, 0.005], False),  # every poll: no backoff
        ([0.0, 0.0], False),  # in the same poll
        ([0.01, 0.02, 0.03, 0.04, 0.05], False),  # linear
        ([0.01, 0.03, 0.09, 0.27], False),  # tripling
    ],
)
def test_a_backoff_fits_when_each_wait_doubles_give_or_take_a_poll(gaps, fits):
    """A first wait of one poll or more, then each twice the last, to within the 5 ms polls."""
    from harness.checkers.outbox import _doubling_fits

    assert _doubling_fits(gaps)[0] is fits


def test_the_backoff_checker_names_early_retries_and_skips_crashed_chains():
    """Refusals retried at a constant pace are early; a crash in the chain excuses it."""
    times = [0.005, 0.015, 0.025, 0.035, 0.045]
    tries = [(0, "refused"), (1, "refused"), (2, "refused"), (3, "refused"), (4, "confirmed")]
    box = _box({"o-1#1": "e1"}, [(4, "e1", "o-1#1", "relay")], attempts={"o-1#1": tries})
    verdict = checkers.outbox.backoff_doubles(_timed(box, times))
    assert not verdict.holds and set(verdict.anomalies) == {"early"}
    assert "10, 10, 10, 10 ms" in verdict.observed
    box.notes["outbox"]["crashes"] = [2]
    assert checkers.outbox.backoff_doubles(box).holds


def test_a_refused_event_may_hold_back_its_own_order_only():
    """Another order's event ready during the backoff must go before the refused one goes."""
    committed = {"o-1#1": "e1", "o-1#2": "e2", "o-2#1": "e3"}
    times = [0.0, 0.0, 0.0, 0.005, 0.035, 0.035, 0.035]
    attempts = {"o-1#1": [(3, "refused"), (4, "confirmed")], "o-1#2": [(5, "confirmed")]}
    written = {"o-1#1": 0, "o-1#2": 1, "o-2#1": 2}
    held_back = [(4, "e1", "o-1#1", "r"), (5, "e2", "o-1#2", "r"), (6, "e3", "o-2#1", "r")]
    box = _box(committed, held_back, attempts=attempts, written=written)
    verdict = checkers.outbox.others_not_held(_timed(box, times))
    assert verdict.anomalies == {"late": ["o-2#1"]} and 6 in verdict.marks
    went_first = [(3, "e3", "o-2#1", "r"), (4, "e1", "o-1#1", "r"), (5, "e2", "o-1#2", "r")]
    attempts["o-2#1"] = [(3, "confirmed")]
    box = _box(committed, went_first, attempts=attempts, written=written)
    assert checkers.outbox.others_not_held(_timed(box, times)).holds


def test_the_desk_and_cleanup_checkers_name_each_anomaly():
    """A valid order turned away, an unreadable event, a row purged early or late."""
    turned = _box({"o-1": None}, [], answered={"o-1": None, "o-2": "IntegrityError: UNIQUE"})
    verdict = checkers.outbox.valid_order_taken(turned)
    assert verdict.anomalies == {"unavailable": ["o-2"]} and "UNIQUE" in verdict.observed
    unreadable = _box({"o-1": None}, [], bodies={"o-1": "its body \"{'a': 1}\" is not JSON"})
    assert checkers.outbox.event_readable(unreadable).anomalies == {"lost": ["o-1"]}
    ages = {"sent": {"e1": 0.01, "e2": 0.02}, "gone": {"e1": 0.03, "e2": 0.08}, "retention": 0.05}
    assert checkers.outbox.outbox_retained(_box({}, [], **ages)).anomalies == {"early": ["e1"]}
    late = _box({}, [], overdue=["e2"], purged_late={"e2": (0.02, 0.2)}, retention=0.05)
    verdict = checkers.outbox_purged(late)
    assert verdict.anomalies == {"overflowed": ["e2"]}
    assert "purged only at t=0.200" in verdict.observed


def test_the_desk_reads_each_event_as_the_relay_will_publish_it():
    """An outbox body must be a JSON OrderPlaced naming its order and amount."""
    good = '{"type": "OrderPlaced", "order_id": "o-1", "amount": 30, "seq": 1}'
    assert outbox_desk.body_problem(good, "o-1", 30) is None
    assert "not JSON" in outbox_desk.body_problem(str({"type": "OrderPlaced"}), "o-1", 30)
    assert "not 'OrderPlaced'" in outbox_desk.body_problem('{"type": "Placed"}', "o-1", 30)
    assert "names the order" in outbox_desk.body_problem('{"type": "OrderPlaced"}', "o-1", 30)
    wrong_amount = '{"type": "OrderPlaced", "order_id": "o-1", "amount": 3}'
    assert "amount" in outbox_desk.body_problem(wrong_amount, "o-1", 30)


def test_a_desk_that_reuses_a_message_id_after_a_restart_turns_an_order_away():
    """A counter in memory starts again after a crash: the next order is turned away."""

    class Counting:
        def __init__(self, store, publisher):
            self.store, self.events = store, 0

        def place_order(self, order_id, amount):
            self.events += 1
            body = f'{{"type": "OrderPlaced", "order_id": "{order_id}", "amount": {amount}}}'
            with self.store.transaction():
                self.store.execute("INSERT INTO orders VALUES (?, ?)", (order_id, amount))
                self.store.execute(
                    "INSERT INTO outbox (message_id, order_id, body) VALUES (?, ?, ?)",
                    (f"evt-{self.events}", order_id, body),
                )

    steps = tuple(
        Step(0.02 * i, "place", {"order": f"o-{i + 1}", "amount": 10.0}) for i in range(2)
    )
    trace = Trace("t", "t", "t", "outbox-desk", steps)
    with frozen_time() as freezer:
        calm = outbox_desk.run(Counting, trace, Schedule(), freezer=freezer)
        crashed = outbox_desk.run(
            Counting, trace, Schedule((CrashPoint(3, "after"),)), freezer=freezer
        )
    assert checkers.outbox.valid_order_taken(calm).holds
    verdict = checkers.outbox.valid_order_taken(crashed)
    assert verdict.anomalies == {"unavailable": ["o-2"]}, crashed.timeline.render()


def test_generated_cleanup_traces_vary_the_retention_and_the_ages():
    """The first number of a spec picks the retention; rows are written 5 ms apart."""
    from harness.workloads import outbox_cleanup

    trace = outbox_cleanup.generate((2, 3, 0))
    assert trace.settings["retention"] == pytest.approx(0.07)
    assert [(s.at, s.action) for s in trace.steps] == [
        (0.005, "write"),
        (0.01, "write"),
        (0.065, "send"),
    ]
    assert outbox_cleanup.generate((0,)).steps == ()
