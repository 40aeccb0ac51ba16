"""A failing case's recording: one state per step, faithful to the failure, watched only then."""

import sqlite3

import pytest

from harness import debugger
from harness.broker import Broker
from harness.database import Database
from harness.debugger import Panel, Recording
from harness.explore import Exploration
from harness.log import Log
from harness.timeline import Step
from harness.workloads import payments_queue


def panel(state, title):
    found = [p for p in state if p.title == title]
    assert found, f"no panel {title!r} in {[p.title for p in state]}"
    return found[0]


def rows_of(p: Panel) -> list[dict]:
    return [dict(zip(p.columns, row, strict=True)) for row in p.rows]


def test_the_replay_shows_the_failure_as_it_was_found(failure, recording):
    """the recording has the failure's own steps, one state each, and its promise and verdict"""
    _kit, error = failure
    assert list(recording.steps) == error.outcome.timeline.steps
    assert len(recording.states) == len(recording.steps)
    assert recording.promise == error.promise.statement
    assert recording.observed == error.verdict.observed
    assert recording.violation == min(error.verdict.marks)
    assert recording.broken


def test_the_crash_shows_the_delivery_back_in_its_queue_redelivered(recording):
    """at the crash, the unacked delivery is back in the queue, ready and redelivered"""
    crash = next(i for i, step in enumerate(recording.steps) if step.is_crash)
    before = rows_of(panel(recording.states[crash - 1], "queue payments"))
    assert [(r["state"], r["redelivered"]) for r in before] == [("unacked by consumer", False)]
    after = rows_of(panel(recording.states[crash], "queue payments"))
    assert [(r["message"], r["state"], r["redelivered"]) for r in after] == [
        ("m3 (o-3)", "ready", True)
    ]


def test_the_charges_panel_counts_the_second_charge_at_the_violation(recording):
    """the step where the promise breaks shows the order charged twice"""
    charges = rows_of(panel(recording.states[recording.violation], "payment gateway: charges"))
    assert charges == [{"order": "o-3", "times charged": 2, "amounts": "99, 99"}]


def test_exploring_runs_are_not_watched(monkeypatch, explore_again):
    """no snapshot is taken while a test explores; the one replay takes one per step"""
    taken = []
    original = Broker.snapshot
    monkeypatch.setattr(Broker, "snapshot", lambda self: taken.append(1) or original(self))
    kit, error = explore_again()
    assert taken == [], "an exploring run took snapshots of the world"
    recording = debugger.record(kit, error.token)
    assert len(taken) >= len(recording.steps)


def test_record_needs_a_test_that_has_explored():
    with pytest.raises(ValueError, match="needs a kit, an explorer or an Exploration"):
        debugger.record(object(), "queue-one-order/1a@s0")


def test_learner_code_that_raises_ends_the_recording_at_its_step():
    """a replay whose learner code raises still gives its steps, and says what was raised"""

    class Raises:
        def __init__(self, channel, payments):
            pass

        def on_message(self, delivery):
            raise KeyError("amount")

    explored = Exploration(payments_queue, Raises, (), (), {})
    recording = debugger.record(explored, "gen:0/-@s0")
    assert recording.steps[-1].what.startswith("deliver m1")
    assert recording.observed == "your code raised KeyError: 'amount'"
    assert len(recording.states) == len(recording.steps)


def test_a_panel_row_must_fit_its_columns():
    with pytest.raises(ValueError, match="give every row one cell per column"):
        Panel("t", ("a", "b"), [("only one",)])


def test_the_store_panel_shows_what_is_committed_and_says_when_a_writer_is_open():
    db = Database()
    conn = db.connect()
    conn.execute("CREATE TABLE dedup (message_id TEXT)")
    conn.execute("CREATE TABLE _twm_effects (x)")
    conn.commit()
    conn.execute("INSERT INTO dedup VALUES ('m1')")
    conn.commit()
    assert [(p.title, p.rows, p.note) for p in db.snapshot()] == [("table dedup", (("m1",),), "")]
    conn.execute("INSERT INTO dedup VALUES ('m2')")
    (shown,) = db.snapshot()
    assert shown.rows == (("m1",), ("m2",))
    assert "uncommitted rows included" in shown.note
    conn.close()  # a crash: the open transaction is rolled back
    (shown,) = db.snapshot()
    assert shown.rows == (("m1",),) and shown.note == ""
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        db.query("SELECT 1")


def test_the_log_panel_shows_offsets_committed_and_owners():
    log = Log()
    log.create_topic("payments", partitions=2)
    log.append("payments", key="o-1", value={}, partition=0)
    log.append("payments", key="o-2", value={}, partition=0)
    log.join("billing", "payments", "consumer")
    log.commit("billing", "payments", 0, 1)
    (topic,) = log.snapshot()
    assert topic.columns == (
        "partition",
        "records (offset key)",
        "next offset",
        "committed (billing)",
        "owner (billing)",
    )
    assert topic.rows == ((0, "0 o-1, 1 o-2", 2, 1, "consumer"), (1, "none", 0, None, "consumer"))


def test_text_from_a_run_cannot_end_the_page_s_script():
    """a step or a row holding markup stays text: the page's own two scripts are all it has"""
    nasty = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    recording = Recording(
        nasty,
        "t/-@s0",
        (Step(0.0, "consumer", "broker", nasty),),
        ((Panel(nasty, (nasty,), [(nasty,)], nasty),),),
        observed=nasty,
        hint=nasty,
    )
    page = debugger.page_html(recording)
    assert page.count("</script>") == 2
    assert page.count("<script") == 2
    assert "<img" not in page


def test_a_typical_page_is_under_300_kb(failure, recording, tmp_path):
    """the failure's page, and the page of its whole unshrunk trace, stay under 300 KB"""
    kit, error = failure
    whole = error.token.split("~")[0] + "/" + error.token.split("/", 1)[1]
    for shown in (recording, debugger.record(kit, whole)):
        path = debugger.write_page(tmp_path / "page.html", shown)
        assert path.stat().st_size < 300_000, f"{len(shown.steps)} steps: {path.stat().st_size} B"


def test_a_dead_letter_queue_says_whose_letters_it_holds_and_why():
    from harness.clock import VirtualClock
    from harness.scheduler import Scheduler
    from harness.timeline import Timeline

    broker = Broker(Scheduler(VirtualClock(), seed=0), Timeline())
    broker.declare_queue("payments", dead_letter="payments.dead")
    broker.declare_queue("payments.dead")
    broker.publish("payments", payments_queue.Message("m1", {}, summary=" (o-1)"))
    got = []
    channel = broker.open_channel("consumer", prefetch=1)
    broker.consume(channel, "payments", got.append)
    broker.scheduler.run()
    broker.nack(channel, got[0].tag, requeue=False)
    queue, dead = broker.snapshot()
    assert (queue.title, queue.rows, queue.note) == (
        "queue payments",
        (),
        "empty; consumers: consumer (prefetch 1)",
    )
    assert dead.title == "queue payments.dead (dead letters of payments)"
    assert rows_of(dead) == [
        {
            "message": "m1 (o-1)",
            "state": "ready",
            "tag": None,
            "redelivered": False,
            "deliveries": 0,
            "dead-lettered because": "rejected",
        }
    ]


def test_a_log_consumer_s_positions_are_forgotten_at_its_crash(tmp_path):
    """ch03's log: a workload's own panel shows the position, gone at the crash, back at restart"""
    from pathlib import Path

    from harness.explore import Explorer, PromiseBroken
    from harness.kit import Kit
    from harness.promises import NO_LOSS, NO_SWALLOW, SETTLED
    from harness.targets import Target
    from harness.workloads import payments_log

    root = Path(__file__).resolve().parents[2]
    mutant = root / "tests" / "mutants" / "ch03" / "commit_before_processing"
    kit = Kit(
        target=Target(mutant, str(mutant)),
        traces_dir=root / "exercises" / "ch03" / "traces",
        explorer=Explorer(),
    )
    consumer = kit.component("ch03/commit_after.py", "CommitAfterConsumer")
    with pytest.raises(PromiseBroken) as caught:
        kit.every_single_crash(
            payments_log, consumer, kit.traces("log-*"), [NO_SWALLOW, NO_LOSS, SETTLED]
        )
    recording = debugger.record(kit, caught.value.token)
    crash = next(i for i, step in enumerate(recording.steps) if step.is_crash)
    positions = [panel(state, "positions (payments)") for state in recording.states]
    assert positions[crash - 1].rows, "the consumer held a position before its crash"
    assert positions[crash].rows == ()
    assert positions[crash].note == "no running member holds a partition"
    committed = rows_of(panel(recording.states[crash], "topic payments"))[0]["committed (payments)"]
    after = next(p for p in positions[crash:] if p.rows)
    assert after.rows[0][2] == committed, "a new incarnation starts at the committed offset"


def test_a_stub_still_to_fill_ends_the_recording_and_says_its_todo():
    class Stub:
        def __init__(self, channel, payments):
            pass

        def on_message(self, delivery):
            raise NotImplementedError("TODO(ch03.1): charge, then settle the delivery")

    recording = debugger.record(Exploration(payments_queue, Stub, (), (), {}), "gen:0/-@s0")
    assert recording.observed == (
        "your code raised NotImplementedError: TODO(ch03.1): charge, then settle the delivery"
    )
    assert recording.facts == "gen:0 · no crash · seed 0"


def test_a_token_that_does_not_fit_is_refused_before_any_run(failure):
    from harness.explore import ReplayError

    kit, _error = failure
    with pytest.raises(ReplayError, match="this test does not run the trace 'nope'"):
        debugger.record(kit, "nope/1a@s0")


class _ChargesTwice:
    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        self.channel.ack(delivery.tag)


def test_a_generated_trace_explored_again_by_name_is_recorded():
    """a failure Hypothesis found and the single-crash shrinker explored again by its
    trace (harness.shrinking) still has its page"""
    from harness.promises import NO_DUPLICATE

    trace = payments_queue.generate((1, 0))
    again = Exploration(payments_queue, _ChargesTwice, (trace,), (NO_DUPLICATE,), None)
    recording = debugger.record(again, f"{trace.name}~0/-@s0")
    assert recording.broken and "charged" in recording.observed
