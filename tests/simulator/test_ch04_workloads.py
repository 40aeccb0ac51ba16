"""The workloads of ch04 (payments-inbox, order-resequencer, order-projection), their checkers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import checkers, shrinking
from harness.clock import frozen_time
from harness.explore import Explorer, PromiseBroken
from harness.faults import CrashPoint, Schedule
from harness.kit import Kit
from harness.outcome import Outcome
from harness.ports import BufferFull
from harness.promises import NO_DUPLICATE, NO_LOSS, PER_KEY_ORDER
from harness.timeline import Timeline
from harness.traces import Step, Trace, TraceError
from harness.workloads import order_projection, order_resequencer, payments_inbox


def run(workload, factory, trace, schedule=None):
    with frozen_time() as freezer:
        return workload.run(factory, trace, schedule or Schedule(), freezer=freezer)


# -- payments-inbox ---------------------------------------------------------------------------


class CaptureThenAck:
    """Captures every delivery (no dedup), commits, acks."""

    def __init__(self, channel, store, retention):
        self.channel, self.store = channel, store

    def on_message(self, delivery):
        body = delivery.body
        self.store.execute("INSERT INTO captures VALUES (?, ?)", (body["order_id"], body["amount"]))
        self.store.commit()
        self.channel.ack(delivery.tag)


def test_inbox_counts_committed_captures_only():
    """A capture rolled back by a crash before the commit is no effect; the redelivery's is."""
    trace = payments_inbox.generate((0,))
    outcome = run(payments_inbox, CaptureThenAck, trace, Schedule((CrashPoint(2, "before"),)))
    assert outcome.effects.keys() == {"o-1 (m1)"} and len(outcome.effects["o-1 (m1)"]) == 1
    step = outcome.timeline.steps[outcome.effects["o-1 (m1)"][0]]
    assert step.what.startswith("INSERT INTO captures") and outcome.crashes == 1


def test_inbox_sees_a_duplicate_publish_as_a_second_capture():
    """The same message id published twice, captured twice, is duplicated."""
    outcome = run(payments_inbox, CaptureThenAck, payments_inbox.generate((0, 0)))
    assert outcome.duplicated == {"o-1 (m1)": 2} and not outcome.unsettled
    assert not NO_DUPLICATE(outcome).holds and NO_LOSS(outcome).holds


class CapturesOncePerOrder(CaptureThenAck):
    """Deduplicates on the order: the second payment of an order is never captured."""

    def on_message(self, delivery):
        order = delivery.body["order_id"]
        if not self.store.execute("SELECT 1 FROM captures WHERE order_id = ?", (order,)):
            self.store.execute(
                "INSERT INTO captures VALUES (?, ?)", (order, delivery.body["amount"])
            )
        self.store.commit()
        self.channel.ack(delivery.tag)


def test_inbox_counts_captures_per_message_not_per_order():
    """Two messages of one order are two payments: each is captured once, told apart by amount."""
    trace = payments_inbox.generate((0, 1, 0))
    assert {s.args["order"] for s in trace.steps} == {"o-1"}
    right = run(payments_inbox, CaptureThenAck, payments_inbox.generate((0, 1)))
    assert right.effects.keys() == {"o-1 (m1)", "o-1 (m2)"} and NO_LOSS(right).holds
    once = run(payments_inbox, CapturesOncePerOrder, trace)
    assert once.lost == ["o-1 (m2)"] and NO_DUPLICATE(once).holds


def test_inbox_refuses_a_trace_whose_payments_it_cannot_tell_apart():
    """A copy with another amount, or two payments of one order for one amount: the step and fix."""
    m1 = {"id": "m1", "order": "o-1", "amount": 5}
    for other, says in (
        ({**m1, "amount": 6}, "a copy carries the same order and amount"),
        ({**m1, "id": "m2"}, "amount: m1 and m2 both pay 5 for o-1"),
    ):
        steps = (Step(0, "publish", m1), Step(0.1, "publish", other))
        trace = Trace("t", "t", "", payments_inbox.NAME, steps, source="t.toml")
        with pytest.raises(TraceError, match=rf"t.toml: steps\[1\]\.publish.*{says}"):
            run(payments_inbox, CaptureThenAck, trace)


def test_inbox_passes_the_retention_setting_to_the_consumer():
    """The consumer is built with the trace's retention window."""
    seen = []

    class Recorder(CaptureThenAck):
        def __init__(self, channel, store, retention):
            super().__init__(channel, store, retention)
            seen.append((retention, time.time()))

    run(payments_inbox, Recorder, payments_inbox.generate((0,), retention=2.5))
    assert seen[0][0] == 2.5


def test_expected_captures_follow_the_window_from_the_capture():
    """A copy within the window changes nothing and does not renew it; one after it counts again."""
    steps = tuple(
        Step(at, "publish", {"id": "m1", "order": "o-1", "amount": 1})
        for at in (0, 0.5, 0.9, 1.2, 2.0)
    )
    trace = Trace("t", "t", "", payments_inbox.NAME, steps, settings={"retention": 1.0})
    assert payments_inbox.expected_copies(trace) == {
        "o-1 (m1)": [(0, True), (0.5, False), (0.9, False), (1.2, True), (2.0, False)]
    }
    assert payments_inbox.expected_captures(trace) == {"o-1 (m1)": 2}


def _captures_at(*times):
    timeline = Timeline()
    for at in times:
        timeline.record(at, "consumer", "store", "INSERT INTO captures")
    return timeline


def test_within_retention_reads_which_copy_took_effect():
    """The right count from the wrong copies fails: each capture belongs to the copy before it."""
    notes = {"copies": {"k": [(0.0, True), (0.9, False), (1.2, True), (2.0, False)]}}
    notes.update(retention=1.0, published={"k": [10, 11, 12, 13]})

    def outcome(*times):
        effects = {"k": list(range(len(times)))}
        return Outcome({"m1": "k"}, effects, timeline=_captures_at(*times), notes=notes)

    assert checkers.within_retention(outcome(0.001, 1.201)).holds
    renewed = checkers.within_retention(outcome(0.001, 2.001))
    assert list(renewed.anomalies) == ["overflowed"] and 12 in renewed.marks
    assert "1.200 s after its capture at 0.000 s" in renewed.observed
    inside = checkers.within_retention(outcome(0.001, 0.901, 1.201))
    assert list(inside.anomalies) == ["duplicated"] and 1 in inside.marks
    assert list(checkers.within_retention(outcome()).anomalies) == ["lost"]


# -- order-resequencer ------------------------------------------------------------------------


class PassThrough:
    """Releases whatever it is offered, as it comes."""

    def __init__(self, downstream, capacity, gap_timeout):
        self.downstream = downstream

    def offer(self, event):
        self.downstream.release(event)

    def tick(self):
        pass


class RefuseOnce(PassThrough):
    """Refuses each event the first time it is offered."""

    def __init__(self, downstream, capacity, gap_timeout):
        super().__init__(downstream, capacity, gap_timeout)
        self.seen = set()

    def offer(self, event):
        if event.event_id not in self.seen:
            self.seen.add(event.event_id)
            raise BufferFull("full")
        super().offer(event)


class HoldForever(PassThrough):
    """Takes every event and never releases one."""

    def offer(self, event):
        pass


def test_releases_in_order_keep_the_promise():
    """Events sent in order and released as they come keep per-key order."""
    outcome = run(order_resequencer, PassThrough, order_resequencer.generate((0, 1, 2, 4)))
    assert PER_KEY_ORDER(outcome).holds and NO_LOSS(outcome).holds
    assert outcome.effects.keys() == {"o-1 #1", "o-1 #2", "o-1 #3", "o-2 #1"}


def test_a_release_out_of_order_is_reordered():
    """Releasing 2 before 1 breaks per-key order, with a mark on the release."""
    verdict = PER_KEY_ORDER(run(order_resequencer, PassThrough, order_resequencer.generate((1, 0))))
    assert list(verdict.anomalies) == ["reordered"] and verdict.marks


def test_a_refused_event_is_offered_again():
    """BufferFull is a signal, not an error: the source offers the event again later."""
    outcome = run(order_resequencer, RefuseOnce, order_resequencer.generate((0, 1)))
    assert outcome.effects.keys() == {"o-1 #1", "o-1 #2"} and not outcome.unsettled
    assert any("refused" in step.what for step in outcome.timeline.steps)


def test_a_buffer_that_never_escalates_is_stuck_and_one_that_drops_is_lost():
    """Events held behind a missing number wait forever; events taken with none missing are lost."""
    behind_a_gap = run(order_resequencer, HoldForever, order_resequencer.generate((1,)))
    assert behind_a_gap.unsettled == ["o-1 #2"] and NO_LOSS(behind_a_gap).holds
    verdict = checkers.gap_escalated_in_time(behind_a_gap)
    assert list(verdict.anomalies) == ["stuck"]
    dropped = run(order_resequencer, HoldForever, order_resequencer.generate((0,)))
    assert dropped.lost == ["o-1 #1"] and not dropped.unsettled


class HoldsWhatItRefuses(PassThrough):
    """Keeps an early event although it raised BufferFull for it, and releases it after #1."""

    def __init__(self, downstream, capacity, gap_timeout):
        super().__init__(downstream, capacity, gap_timeout)
        self.kept = []

    def offer(self, event):
        if event.seq == 1:
            self.downstream.release(event)
            for kept in self.kept:
                self.downstream.release(kept)
            self.kept = []
        elif event.seq == 2 and not self.kept:
            self.kept.append(event)
            raise BufferFull("full")


class SkipsWhatItRefused(PassThrough):
    """Refuses everything, and escalates #1 and #2 of o-1 at the first tick."""

    def __init__(self, downstream, capacity, gap_timeout):
        super().__init__(downstream, capacity, gap_timeout)
        self.escalated = False

    def offer(self, event):
        if not self.escalated:
            raise BufferFull("full")

    def tick(self):
        if not self.escalated:
            self.escalated = True
            self.downstream.skip("o-1", 1)
            self.downstream.skip("o-1", 2)


def test_bounded_reads_refusals_too():
    """The next number refused is unavailable; a refused event held all the same overflowed."""
    refuse_next = checkers.bounded(
        run(order_resequencer, RefuseOnce, order_resequencer.generate((0, 1)))
    )
    assert list(refuse_next.anomalies) == ["unavailable"] and "o-1 #1" in refuse_next.observed
    kept = run(order_resequencer, HoldsWhatItRefuses, order_resequencer.generate((1, 0)))
    verdict = checkers.bounded(kept)
    assert list(verdict.anomalies) == ["overflowed"] and "o-1 #2 was refused" in verdict.observed
    assert NO_LOSS(kept).holds and PER_KEY_ORDER(kept).holds


def test_escalating_a_refused_number_gives_up_an_event_that_is_there():
    """A number offered before its skip was not missing: escalating it is lost."""
    outcome = run(order_resequencer, SkipsWhatItRefused, order_resequencer.generate((1,)))
    verdict = checkers.gap_escalated_in_time(outcome)
    assert list(verdict.anomalies) == ["lost"] and "o-1 #2 was escalated" in verdict.observed
    assert "offered at t=0.000" in verdict.observed and len(verdict.marks) == 2
    assert PER_KEY_ORDER(outcome).holds and NO_LOSS(outcome).holds


def test_bounded_counts_what_is_held():
    """More events held than the capacity is overflowed, with a mark where it happened."""
    outcome = Outcome(
        accepted={}, effects={}, notes={"capacity": 2, "held_max": 3, "overflow_step": 4}
    )
    verdict = checkers.bounded(outcome)
    assert list(verdict.anomalies) == ["overflowed"] and 4 in verdict.marks


def test_an_early_escalation_is_lost():
    """Skipping a number before the gap timeout gives up an event that may still come."""
    settled = {"o-1": [("skip", 1, 3, 0.01), ("release", 2, 4, 0.0)]}
    outcome = Outcome(accepted={}, effects={}, notes={"settled": settled, "gap_timeout": 0.05})
    assert list(checkers.gap_escalated_in_time(outcome).anomalies) == ["lost"]
    assert checkers.per_key_order(outcome).holds


# -- order-projection -------------------------------------------------------------------------


def test_folded_is_the_newest_event_of_each_order():
    """Folding in version order ends at each order's newest event, whatever the arrival order."""
    trace = order_projection.generate((2, 0, 1, 3, 4))
    assert order_projection.folded(trace) == {"o-1": ("shipped", 3), "o-2": ("paid", 2)}


def test_an_unknown_event_names_the_step():
    """A trace with an event the projection does not know fails with the step and the fix."""
    step = Step(0.0, "publish", {"order": "o-1", "version": 1, "event": "OrderLost"})
    trace = Trace("bad", "t", "", order_projection.NAME, (step,), source="bad.toml")
    with pytest.raises(TraceError, match=r"bad.toml: steps\[0\]\.publish\.event"):
        run(order_projection, object, trace)


def test_projection_matches_names_a_missing_and_a_stale_row():
    """A missing row is lost; a row left by an older event is reordered."""
    folded = {"o-1": ("shipped", 3)}
    stale = Outcome({}, {}, notes={"folded": folded, "projection": {"o-1": ("paid", 2)}})
    missing = Outcome({}, {}, notes={"folded": folded, "projection": {}})
    assert list(checkers.projection_matches(stale).anomalies) == ["reordered"]
    assert list(checkers.projection_matches(missing).anomalies) == ["lost"]


def test_projection_matches_sees_a_row_set_back_and_put_right_again():
    """Right in the end is not enough: an older event applied over a newer one is reordered."""
    notes = {"folded": {"o-1": ("shipped", 3)}, "projection": {"o-1": ("shipped", 3)}}
    forward = [("o-1", "placed", 1, 2), ("o-1", "shipped", 3, 5), ("o-1", "shipped", 3, 9)]
    back = [("o-1", "placed", 1, 2), ("o-1", "shipped", 3, 5), ("o-1", "paid", 2, 7)]
    assert checkers.projection_matches(Outcome({}, {}, notes={**notes, "writes": forward})).holds
    verdict = checkers.projection_matches(
        Outcome({}, {}, notes={**notes, "writes": back + [forward[1]]})
    )
    assert list(verdict.anomalies) == ["reordered"] and 7 in verdict.marks
    assert "set back to paid (version 2) after it showed shipped (version 3)" in verdict.observed


# -- shrinking a generated failure ------------------------------------------------------------


class CommitIdFirst:
    """Records the message id in its own transaction, then captures: a crash between loses."""

    def __init__(self, channel, store, retention):
        self.channel, self.store = channel, store
        store.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY)")

    def on_message(self, delivery):
        if not self.store.execute("SELECT 1 FROM seen WHERE id = ?", (delivery.message_id,)):
            self.store.execute("INSERT INTO seen VALUES (?)", (delivery.message_id,))
            self.store.commit()
            body = delivery.body
            self.store.execute(
                "INSERT INTO captures VALUES (?, ?)", (body["order_id"], body["amount"])
            )
            self.store.commit()
        self.channel.ack(delivery.tag)


class FoundBy(Kit):
    """A kit whose generated search "finds" one given case (as Hypothesis would)."""

    def __init__(self, token: str) -> None:
        super().__init__(target=None, traces_dir=Path("."), explorer=Explorer())
        self.token = token

    def random_faults(self, workload, factory, promises, **options):
        return Explorer(replay=self.token).random_faults(workload, factory, promises, **options)


def test_a_generated_failure_is_shrunk_to_one_message_and_one_crash():
    """Four messages and a crash at call 22 shrink to the one message and crash that matter."""
    with pytest.raises(PromiseBroken) as caught:
        shrinking.random_faults(
            FoundBy("gen:0.1.2.3/22a@s0"), payments_inbox, CommitIdFirst, [NO_LOSS]
        )
    broken = caught.value
    assert broken.verdict.observed == "order o-2 (m4) was never captured (lost)"
    assert broken.token == "gen:0.1.2.3~0.1.2/4a@s0" and len(broken.trace.steps) == 1
    assert "only step 3" in broken.trace.title and broken.shrunk_from > len(broken.outcome.timeline)
    replay = Kit(target=None, traces_dir=Path("."), explorer=Explorer(replay=broken.token))
    with pytest.raises(PromiseBroken) as again:
        shrinking.random_faults(replay, payments_inbox, CommitIdFirst, [NO_LOSS])
    assert again.value.verdict.observed == broken.verdict.observed


def test_a_failure_with_several_crashes_is_left_as_found():
    """Hypothesis's case stands when it has several crashes: one crash cannot stand for them."""
    kit = FoundBy("gen:0.0/2a.9a@s0")
    with pytest.raises(PromiseBroken) as caught:
        shrinking.random_faults(kit, payments_inbox, CaptureThenAck, [NO_DUPLICATE])
    assert caught.value.token == "gen:0.0/2a.9a@s0" and kit.explorer.runs == 0
