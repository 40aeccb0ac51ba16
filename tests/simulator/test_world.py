"""The world hosting learner code: crashes, restarts, swallowed crashes, errors, determinism."""

from __future__ import annotations

import time

import pytest

from harness.checkers import no_swallow
from harness.clock import EPOCH, frozen_time
from harness.errors import LearnerError, NotDone
from harness.faults import RunawayLoop, Schedule
from harness.ports import PaymentFailed
from harness.workloads import payments_log, payments_queue
from harness.world import RESTART_DELAY, World

TWO_ORDERS = payments_queue.generate((0, 0))
TWO_RECORDS = payments_log.generate((0, 0))


def queue_consumer(seen: list, *, settle_first: bool = False):
    """A consumer class that charges then acks (or acks first), recording every delivery."""

    class Consumer:
        def __init__(self, channel, payments):
            self.channel = channel
            self.payments = payments

        def on_message(self, delivery):
            seen.append(delivery)
            if settle_first:
                self.channel.ack(delivery.tag)
            try:
                self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
            except PaymentFailed:
                self.channel.nack(delivery.tag, requeue=True)
                return
            if not settle_first:
                self.channel.ack(delivery.tag)

    return Consumer


class CommitEach:
    """A log consumer that charges each record, then commits the offset after it."""

    def __init__(self, client, payments):
        self.client = client
        self.payments = payments

    def poll_once(self):
        for record in self.client.poll():
            try:
                self.payments.charge(record.value["order_id"], record.value["amount"])
            except PaymentFailed:
                self.client.seek(record.partition, record.offset)
                return
            self.client.commit({record.partition: record.offset + 1})


def run_queue(schedule: str, trace=TWO_ORDERS, **options):
    seen: list = []
    outcome = payments_queue.run(
        queue_consumer(seen, **options), trace, Schedule.from_token(schedule)
    )
    return outcome, seen


def steps_matching(outcome, text: str):
    return [(index, step) for index, step in enumerate(outcome.timeline.steps) if text in step.what]


# -- the queue: crash before or after the ack ----------------------------------------------------


def test_without_a_crash_each_order_is_charged_once_and_settled():
    """The baseline: every delivery charged once and acked, nothing left, calls counted."""
    outcome, seen = run_queue("-@s0")
    assert [(d.message_id, d.tag, d.redelivered) for d in seen] == [
        ("m1", 1, False),
        ("m2", 2, False),
    ]
    assert (outcome.applied("o-1"), outcome.applied("o-2")) == (1, 1)
    assert outcome.unsettled == []
    assert (outcome.crashes, outcome.swallowed, outcome.calls) == (0, 0, 4)


def test_a_crash_after_the_ack_does_not_redeliver():
    """Crash just after ack tag=1: the broker has the ack, so m1 is never delivered again."""
    outcome, seen = run_queue("2a@s0")  # call 1 charge o-1, call 2 ack tag=1
    assert [d.message_id for d in seen] == ["m1", "m2"]
    assert not any(d.redelivered for d in seen)
    assert (outcome.applied("o-1"), outcome.applied("o-2")) == (1, 1)
    assert outcome.crashes == 1 and outcome.unsettled == []
    assert len(steps_matching(outcome, "restart (incarnation 2)")) == 1


def test_a_crash_before_the_ack_redelivers_after_the_restart_delay():
    """Crash just before ack tag=1: m1 comes back, redelivered, on the restarted consumer."""
    outcome, seen = run_queue("2b@s0")
    assert [(d.message_id, d.redelivered) for d in seen] == [
        ("m1", False),
        ("m1", True),
        ("m2", False),
    ]
    # The redelivery arrives on the new incarnation's channel, whose tags start at 1 again.
    assert [d.tag for d in seen] == [1, 1, 2]
    assert outcome.applied("o-1") == 2, "charged, crashed before the ack, charged again"
    assert outcome.unsettled == []
    ((crash_index, crash),) = [(i, s) for i, s in enumerate(outcome.timeline.steps) if s.is_crash]
    assert crash.what == "before ack tag=1"
    ((restart_index, restart),) = steps_matching(outcome, "restart (incarnation 2)")
    ((again_index, again),) = steps_matching(outcome, "redelivered")
    assert crash_index < restart_index < again_index
    assert "deliver m1" in again.what
    assert restart.time == pytest.approx(crash.time + RESTART_DELAY)
    assert again.time >= crash.time + RESTART_DELAY


def batch_acker(seen: list):
    """A consumer class that charges each delivery and acks every second one, multiple=True."""

    class BatchAcker:
        def __init__(self, channel, payments):
            self.channel = channel
            self.payments = payments
            self.pending = 0

        def on_message(self, delivery):
            seen.append(delivery)
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
            self.pending += 1
            if self.pending == 2:
                self.channel.ack(delivery.tag, multiple=True)
                self.pending = 0

    return BatchAcker


def test_a_crash_before_the_ack_requeues_every_unacked_delivery_in_order():
    """With two deliveries unacked, a crash requeues both; they come back first, in order."""
    seen: list = []
    trace = payments_queue.generate((0, 0, 0), prefetch=2)
    # call 1 charge o-1, call 2 charge o-2, call 3 ack tag=2 multiple: crash before it.
    outcome = payments_queue.run(batch_acker(seen), trace, Schedule.from_token("3b@s0"))
    assert [(d.message_id, d.tag, d.redelivered) for d in seen] == [
        ("m1", 1, False),
        ("m2", 2, False),
        ("m1", 1, True),
        ("m2", 2, True),
        ("m3", 3, False),
    ]
    assert outcome.unsettled == ["m3"], "m3 waits for a second delivery to ack with"


def test_ack_before_the_charge_loses_the_order_on_a_crash():
    """Ack first, crash before the charge: the order is never charged (at most once)."""
    outcome, seen = run_queue("2b@s0", settle_first=True)  # call 1 ack, call 2 charge o-1
    assert [d.message_id for d in seen] == ["m1", "m2"]
    assert outcome.lost == ["o-1"]


def test_restarts_continue_the_call_numbering():
    """Call numbers run across incarnations: a second crash point strikes the new incarnation."""
    outcome, seen = run_queue("2b.4b@s0")
    assert outcome.crashes == 2
    assert [s.what for s in outcome.timeline.steps if s.is_crash] == [
        "before ack tag=1",
        "before ack tag=1",
    ]
    assert [d.message_id for d in seen] == ["m1", "m1", "m1", "m2"]
    assert outcome.applied("o-1") == 3


# -- swallowed crashes ---------------------------------------------------------------------------


class Swallower:
    """A consumer that catches everything, the crash included, and carries on."""

    def __init__(self, channel, payments):
        self.channel = channel
        self.payments = payments

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except BaseException:  # noqa: B036 - the point of this test
            pass
        self.channel.ack(delivery.tag)


class QuietSwallower(Swallower):
    """Catches the crash and returns without another call into the world."""

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
            self.channel.ack(delivery.tag)
        except BaseException:  # noqa: B036 - the point of this test
            return


@pytest.mark.parametrize("consumer", [Swallower, QuietSwallower])
def test_a_consumer_that_catches_the_crash_is_counted_as_swallowed(consumer):
    """Catching Crash (except BaseException) is counted as swallowed and shown on the timeline."""
    outcome = payments_queue.run(consumer, TWO_ORDERS, Schedule.from_token("1b@s0"))
    assert outcome.crashes == 1
    assert outcome.swallowed == 1
    crash_steps = [s for s in outcome.timeline.steps if s.is_crash]
    assert [s.what for s in crash_steps] == [
        "before charge o-1",
        "caught the crash and went on (swallowed)",
    ]
    assert "swallowed" in outcome.timeline.render()
    verdict = no_swallow(outcome)
    assert not verdict.holds and verdict.marks
    # The world still ended that incarnation: m1 was redelivered and charged by the next one.
    assert outcome.applied("o-1") == 1 and outcome.unsettled == []


def test_a_consumer_that_lets_the_crash_through_is_not_swallowing():
    """A consumer with only `except Exception` never counts as swallowed."""
    outcome, _ = run_queue("1b@s0")
    assert outcome.crashes == 1 and outcome.swallowed == 0
    assert no_swallow(outcome).holds


# -- learner errors ------------------------------------------------------------------------------


class NotYet:
    def __init__(self, channel, payments):
        pass

    def on_message(self, delivery):
        raise NotImplementedError("TODO(ch03.2): charge, then ack")


class Broken:
    def __init__(self, channel, payments):
        pass

    def on_message(self, delivery):
        raise ValueError("amount must be positive")


class BrokenConstructor:
    def __init__(self, channel, payments):
        raise ValueError("no config")


def test_not_implemented_error_becomes_not_done():
    """NotImplementedError from learner code ends the run as NotDone, with the TODO's id."""
    with pytest.raises(NotDone) as caught:
        payments_queue.run(NotYet, TWO_ORDERS, Schedule())
    assert caught.value.todo == "ch03.2"
    assert "charge, then ack" in str(caught.value)
    assert isinstance(caught.value.__cause__, NotImplementedError)


def test_a_learner_exception_becomes_a_learner_error_with_the_timeline():
    """A ValueError from learner code ends the run as LearnerError keeping the original error."""
    with pytest.raises(LearnerError) as caught:
        payments_queue.run(Broken, TWO_ORDERS, Schedule())
    error = caught.value
    assert isinstance(error.original, ValueError)
    assert "ValueError: amount must be positive" in str(error)
    assert any("deliver m1" in step.what for step in error.timeline.steps)


def test_a_learner_exception_in_the_constructor_becomes_a_learner_error():
    """A ValueError from the consumer's constructor is a LearnerError naming the constructor."""
    with pytest.raises(LearnerError, match="constructor") as caught:
        payments_queue.run(BrokenConstructor, TWO_ORDERS, Schedule())
    assert isinstance(caught.value.original, ValueError)


def test_a_learner_exception_in_a_log_consumer_becomes_a_learner_error():
    """Errors are wrapped the same way on the log workload."""

    class BrokenPoll(CommitEach):
        def poll_once(self):
            raise KeyError("order_id")

    with pytest.raises(LearnerError):
        payments_log.run(BrokenPoll, TWO_RECORDS, Schedule())


# -- the log: crash before or after the commit ---------------------------------------------------


def test_log_without_a_crash_charges_once_and_commits_to_the_end():
    """The baseline on the log: each record charged once, the committed offset at the end."""
    outcome = payments_log.run(CommitEach, TWO_RECORDS, Schedule())
    assert (outcome.applied("o-1"), outcome.applied("o-2")) == (1, 1)
    assert outcome.unsettled == []
    assert outcome.notes["committed"] == {0: 2}


def test_log_a_crash_after_the_commit_does_not_reprocess():
    """Crash just after committing offset 1: the restarted consumer resumes at record 1."""
    # call 1 poll, call 2 charge o-1, call 3 commit payments[0]=1
    outcome = payments_log.run(CommitEach, TWO_RECORDS, Schedule.from_token("3a@s0"))
    assert outcome.crashes == 1
    assert (outcome.applied("o-1"), outcome.applied("o-2")) == (1, 1)
    assert outcome.unsettled == []


def test_log_a_crash_before_the_commit_reprocesses_from_the_committed_offset():
    """Crash just before the commit: the restarted consumer reads record 0 again."""
    outcome = payments_log.run(CommitEach, TWO_RECORDS, Schedule.from_token("3b@s0"))
    assert outcome.applied("o-1") == 2
    assert outcome.applied("o-2") == 1
    assert outcome.unsettled == []
    restart = steps_matching(outcome, "restart (incarnation 2)")
    polls = [i for i, s in steps_matching(outcome, "poll → payments[0] 0")]
    assert len(restart) == 1 and len(polls) == 2 and polls[0] < restart[0][0] < polls[1]


# -- the clock inside a world --------------------------------------------------------------------


def test_learner_code_reads_the_virtual_time():
    """Inside a run under frozen_time, time.time() in learner code is EPOCH + the virtual time."""
    read: list[float] = []

    class Clocked(queue_consumer([])):
        def on_message(self, delivery):
            read.append(time.time() - EPOCH.timestamp())
            super().on_message(delivery)

    with frozen_time() as freezer:
        outcome = payments_queue.run(Clocked, TWO_ORDERS, Schedule(), freezer=freezer)
    deliveries = [s.time for s in outcome.timeline.steps if s.what.startswith("deliver")]
    assert read == [pytest.approx(t, abs=1e-6) for t in deliveries]
    assert read[0] > 0


# -- determinism ---------------------------------------------------------------------------------

SCHEDULES = ["-@s0", "-@s99", "1b@s3", "2a@s7", "2b@s7", "1a.3b@s1", "2b.5a.6b@s4"]


@pytest.mark.parametrize("token", SCHEDULES)
def test_the_queue_workload_is_deterministic(token):
    """The same trace and schedule twice give the same timeline, effects and settlement."""
    trace = payments_queue.generate((0, 1, 0), prefetch=2)
    runs = [run_queue(token, trace)[0] for _ in range(2)]
    assert runs[0].timeline.render() == runs[1].timeline.render()
    assert runs[0].effects == runs[1].effects
    assert (runs[0].unsettled, runs[0].crashes) == (runs[1].unsettled, runs[1].crashes)


@pytest.mark.parametrize("token", SCHEDULES)
def test_the_log_workload_is_deterministic(token):
    """The same log trace and schedule twice give the same timeline and effects."""
    trace = payments_log.generate((0, 1, 0, 0), partitions=2, max_poll_records=2)
    runs = [payments_log.run(CommitEach, trace, Schedule.from_token(token)) for _ in range(2)]
    assert runs[0].timeline.render() == runs[1].timeline.render()
    assert runs[0].effects == runs[1].effects
    assert runs[0].notes["committed"] == runs[1].notes["committed"]


def test_different_schedules_give_different_timelines():
    """The schedule matters: a crash changes the timeline (so the determinism test can fail)."""
    rendered = {run_queue(token)[0].timeline.render() for token in ("-@s0", "1b@s0", "2b@s0")}
    assert len(rendered) == 3


def test_a_new_world_starts_at_time_zero_with_its_own_state():
    """Each World has its own clock, broker and log: nothing leaks from one run to the next."""
    first = World(seed=1)
    first.broker.declare_queue("q")
    first.scheduler.after(5.0, lambda: None)
    first.run(max_events=10)
    second = World(seed=1)
    assert first.clock.now == 5.0 and second.clock.now == 0.0
    assert second.scheduler.peek() is None
    with pytest.raises(Exception, match="no queue named 'q'"):
        second.broker.ready("q")


def test_a_loop_that_never_ends_is_stopped_deterministically():
    """a component calling the world forever becomes a LearnerError naming the loop, not a hang"""

    class Spinner:
        def __init__(self, client, payments):
            self.client = client

        def poll_once(self):
            while True:
                self.client.poll()

    with pytest.raises(LearnerError) as caught:
        payments_log.run(Spinner, payments_log.generate((0,)), Schedule())
    assert isinstance(caught.value.original, RunawayLoop)
    assert "never ends" in str(caught.value.original)
