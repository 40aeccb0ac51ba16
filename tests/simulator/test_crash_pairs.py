"""Every pair of crashes: the enumeration, the exploration, its shrinking and its replay."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from harness import traces
from harness.clock import frozen_time
from harness.explore import Explorer, PromiseBroken, first_broken
from harness.faults import CrashPoint, Schedule, crash_pair_schedules, single_crash_schedules_of
from harness.kit import Kit
from harness.outcome import Outcome
from harness.ports import PaymentFailed
from harness.promises import NO_DUPLICATE, NO_LOSS, NO_SWALLOW, SETTLED, duplicates_within
from harness.workloads import payments_log, payments_queue

TRACES = Path(__file__).resolve().parents[2] / "exercises" / "ch03" / "traces"


def trace(name: str) -> traces.Trace:
    return traces.load(TRACES / f"{name}.toml")


class AckThenCharge:
    """At most once, as it should be."""

    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass


class ChargeRedeliveredFirst(AckThenCharge):
    """Acks first, but charges a redelivered message before acking it: two crashes double it."""

    def on_message(self, delivery):
        if not delivery.redelivered:
            return super().on_message(delivery)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            self.channel.nack(delivery.tag, requeue=True)
            return
        self.channel.ack(delivery.tag)


class ChargeThenAck:
    """At least once, as it should be."""

    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            self.channel.nack(delivery.tag, requeue=True)
            return
        self.channel.ack(delivery.tag)


class AckRedeliveredFirst(ChargeThenAck):
    """Charges then acks, but acks a redelivered message first to cap its charges."""

    def on_message(self, delivery):
        if not delivery.redelivered:
            return super().on_message(delivery)
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass


class CommitEvery:
    """Commits every ``every`` charged records, over all partitions (as the reference does)."""

    def __init__(self, client, payments, *, every=1, first_window_only=False):
        self.client, self.payments, self.every = client, payments, every
        self.first_window_only = first_window_only
        self.done, self.count = {}, 0

    def poll_once(self):
        records = self.client.poll()
        if not records:
            if self.done:
                self.client.commit(self.done)
                self.done = {}
            return
        for index, record in enumerate(records):
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                for later in records[index:]:
                    self.client.seek(later.partition, later.offset)
                return
            self.done[record.partition] = record.offset + 1
            self.count += 1
            if self.count == self.every:
                self.client.commit(self.done)
                self.done = {}
                if not self.first_window_only:
                    self.count = 0


QUEUE_AT_MOST = [NO_SWALLOW, NO_DUPLICATE, SETTLED]
QUEUE_AT_LEAST = [NO_SWALLOW, NO_LOSS, SETTLED]


def test_the_second_crash_strikes_a_later_call_of_the_same_run():
    """After a crash at call 2, the second one strikes before or after calls 3 to the last."""
    first = Schedule((CrashPoint(2, "before"),), seed=4)
    run = Outcome(accepted={}, effects={}, calls=4)
    assert [s.token for s in crash_pair_schedules(first, run)] == [
        "2b.3b@s4",
        "2b.3a@s4",
        "2b.4b@s4",
        "2b.4a@s4",
    ]
    assert list(crash_pair_schedules(Schedule((CrashPoint(4, "after"),)), run)) == []


def test_with_several_components_the_second_crash_may_strike_any_of_them():
    """The crashed actor's later calls, and every call of each other component under test.

    A token lists its crash points in order (call, then before/after, then actor).
    """
    first = Schedule((CrashPoint(2, "after", "r-1"),))
    run = Outcome(accepted={}, effects={}, calls=5, actor_calls={"r-1": 3, "r-2": 2})
    assert [s.token for s in crash_pair_schedules(first, run)] == [
        "r-1:2a.r-1:3b@s0",
        "r-1:2a.r-1:3a@s0",
        "r-2:1b.r-1:2a@s0",
        "r-2:1a.r-1:2a@s0",
        "r-1:2a.r-2:2b@s0",
        "r-1:2a.r-2:2a@s0",
    ]


def test_a_mistake_only_two_crashes_show_is_found_and_replays():
    """Crash before the ack, then after the redelivery's charge: charged twice, replayable."""
    one = trace("queue-one-order")
    Explorer().every_single_crash(payments_queue, ChargeRedeliveredFirst, [one], QUEUE_AT_MOST)
    with pytest.raises(PromiseBroken) as caught:
        Explorer().every_pair_of_crashes(
            payments_queue, ChargeRedeliveredFirst, [one], QUEUE_AT_MOST
        )
    broken = caught.value
    assert broken.promise.id == "no-duplicate" and broken.token == "queue-one-order/1b.2a@s0"
    assert broken.outcome.schedule.describe() == "crash before call 1, crash after call 2"
    assert broken.verdict.observed == "order o-1 was charged 2 times (duplicated)"
    replay = Explorer(replay=broken.token)
    with pytest.raises(PromiseBroken) as again:
        replay.every_pair_of_crashes(payments_queue, ChargeRedeliveredFirst, [one], QUEUE_AT_MOST)
    assert again.value.verdict.observed == broken.verdict.observed and replay.runs == 1


def test_a_two_crash_failure_is_shrunk_to_the_steps_that_matter():
    """Three orders shrink to one, and the token names the steps dropped and both crashes."""
    three = trace("queue-three-orders")
    with pytest.raises(PromiseBroken) as caught:
        Explorer().every_pair_of_crashes(
            payments_queue, AckRedeliveredFirst, [three], QUEUE_AT_LEAST
        )
    broken = caught.value
    assert broken.promise.id == "no-loss" and len(broken.trace.steps) == 1
    assert broken.token.endswith("/1b.2a@s0") and broken.shrunk_from > len(broken.outcome.timeline)
    replay = Explorer(replay=broken.token)
    with pytest.raises(PromiseBroken):
        replay.every_pair_of_crashes(payments_queue, AckRedeliveredFirst, [three], QUEUE_AT_LEAST)


def test_a_mistake_one_crash_shows_is_reported_with_one_crash():
    """Singles run before pairs: the failure and its token are every_single_crash's."""
    three = trace("queue-three-orders")
    with pytest.raises(PromiseBroken) as single:
        Explorer().every_single_crash(payments_queue, AckThenCharge, [three], QUEUE_AT_LEAST)
    with pytest.raises(PromiseBroken) as paired:
        Explorer().every_pair_of_crashes(payments_queue, AckThenCharge, [three], QUEUE_AT_LEAST)
    assert paired.value.token == single.value.token
    assert len(paired.value.outcome.schedule.crashes) == 1


def _naive(workload, factory, trace, promises) -> tuple[bool, int]:
    """Every single crash and every pair, none skipped: (whether a promise broke, runs)."""
    runs = 0
    with frozen_time() as freezer:

        def run(schedule):
            nonlocal runs
            runs += 1
            return workload.run(factory, trace, schedule, freezer=freezer)

        baseline = run(Schedule((), trace.seed))
        broke = first_broken(baseline, promises) is not None
        for first in single_crash_schedules_of(baseline, trace.seed):
            outcome = run(first)
            broke = broke or first_broken(outcome, promises) is not None
            for pair in crash_pair_schedules(first, outcome):
                broke = broke or first_broken(run(pair), promises) is not None
    return broke, runs


CASES = [
    (payments_queue, AckThenCharge, "queue-three-orders", QUEUE_AT_MOST),
    (payments_queue, ChargeRedeliveredFirst, "queue-three-orders", QUEUE_AT_MOST),
    (payments_queue, ChargeThenAck, "queue-flaky-gateway", QUEUE_AT_LEAST),
    (payments_queue, AckRedeliveredFirst, "queue-flaky-gateway", QUEUE_AT_LEAST),
    (payments_queue, ChargeThenAck, "queue-prefetch-burst", QUEUE_AT_LEAST),
    (payments_log, partial(CommitEvery, every=2), "log-two-partitions", [duplicates_within(2)]),
    (
        payments_log,
        partial(CommitEvery, every=2, first_window_only=True),
        "log-five-orders",
        [duplicates_within(2)],
    ),
]


@pytest.mark.parametrize(("workload", "factory", "name", "promises"), CASES)
def test_skipping_first_crashes_that_end_the_same_way_finds_what_running_all_finds(
    workload, factory, name, promises
):
    """Pairs are skipped only after a first crash whose aftermath another already had."""
    broke, naive_runs = _naive(workload, factory, trace(name), promises)
    explorer = Explorer()
    try:
        explorer.every_pair_of_crashes(workload, factory, [trace(name)], promises)
    except PromiseBroken:
        assert broke, "the exploration reports a failure that no run shows"
    else:
        assert not broke, "the exploration missed a failure that running every pair shows"
        assert explorer.runs < naive_runs


def test_the_kit_explores_every_pair_of_crashes():
    """kit.every_pair_of_crashes is the explorer's, and says how many runs it took."""
    kit = Kit(target=None, traces_dir=TRACES, explorer=Explorer())
    runs = kit.every_pair_of_crashes(
        payments_queue, ChargeThenAck, kit.traces("queue-one-order"), QUEUE_AT_LEAST
    )
    assert runs == kit.explorer.runs > 5
