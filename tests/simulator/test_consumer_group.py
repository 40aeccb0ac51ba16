"""Consumer groups in a world: rebalance listeners, the poll loop, and the ch02 log workloads.

Covers harness/workloads/consumer_group.py, the log client's seek and offset
calls, the shipping-log and history-log workloads, and the checkers they feed
(committed_processed, commits_next_offset, resumes_at_committed, the bounds on
duplicates, replay_converges). The queue's side of "who remembers"
is here too: competing consumers on a queue share, a late one finds nothing.
"""

from __future__ import annotations

import pytest

from harness import checkers
from harness.broker import Broker, Message
from harness.clock import VirtualClock
from harness.faults import Crash, CrashPoint, Gate, Schedule
from harness.outcome import Outcome
from harness.ports.log_client import LogClient
from harness.scheduler import Scheduler
from harness.timeline import Timeline
from harness.traces import Step, Trace, TraceError
from harness.workloads import get, history_log, shipping_log
from harness.workloads.consumer_group import without_listener

# -- the log client's additions ---------------------------------------------------------------


def client_on(log_records: int = 5, crashes=()) -> tuple[LogClient, Gate]:
    from harness.log import Log

    log = Log()
    log.create_topic("t", partitions=2)
    for index in range(log_records):
        log.append("t", key=None, value={"n": index}, partition=0)
    log.truncate_before("t", 0, 2)
    gate = Gate("m", tuple(crashes), lambda where: None)
    client = LogClient(
        log, group="g", topic="t", member="m", gate=gate, timeline=Timeline(), now=lambda: 0.0
    )
    client.assign([0, 1])
    return client, gate


def test_beginning_and_end_offsets_ask_the_log_through_the_gate():
    """beginning_offset / end_offset are calls into the world: numbered, and crash points."""
    client, gate = client_on()
    assert (client.beginning_offset(0), client.end_offset(0), client.end_offset(1)) == (2, 5, 0)
    assert gate.calls == 3
    client, gate = client_on(crashes=[CrashPoint(1, "before")])
    with pytest.raises(Crash):
        client.beginning_offset(0)


def test_seek_to_beginning_and_end_are_local_and_need_ownership():
    """seek_to_beginning / seek_to_end move positions without a call; None means every partition."""
    client, gate = client_on()
    client.seek_to_end()
    assert (client.position(0), client.position(1)) == (5, 0)
    client.seek_to_beginning([0])
    assert client.position(0) == 2
    assert gate.calls == 0
    client.assign([1])
    with pytest.raises(Exception, match="not assigned"):
        client.seek_to_beginning([0])


def test_the_observer_hears_where_a_poll_read_and_what_a_commit_wrote():
    """A read is heard at the offset the poll began at, after a reset; a commit per partition."""
    from harness.log import Log

    log = Log()
    log.create_topic("t", partitions=2)
    for index in range(4):
        log.append("t", key=None, value={"n": index}, partition=0)
    log.truncate_before("t", 0, 2)
    heard = []
    client = LogClient(
        log,
        group="g",
        topic="t",
        member="m",
        gate=Gate("m", (), lambda where: None),
        timeline=Timeline(),
        now=lambda: 0.0,
        observer=lambda *event: heard.append(event),
    )
    client.assign([0, 1])
    client.seek(0, 0)  # removed by retention: the reset policy (earliest) moves it to 2
    client.poll()
    client.commit({0: 4, 1: 0})
    assert heard == [("read", 0, 2), ("read", 1, 0), ("commit", 0, 4), ("commit", 1, 0)]


# -- the group in a world: listener calls -------------------------------------------------------


CALLS: list[tuple[str, str, list[int]]] = []


class Recorder:
    """Ships and commits each record; records every listener call it gets."""

    def __init__(self, client, warehouse):
        self.client, self.warehouse = client, warehouse
        self.name = client._member

    def poll_once(self):
        for record in self.client.poll():
            self.warehouse.ship(record.value["order_id"])
            self.client.commit({record.partition: record.offset + 1})

    def on_partitions_revoked(self, partitions):
        CALLS.append((self.name, "revoked", partitions))

    def on_partitions_assigned(self, partitions):
        CALLS.append((self.name, "assigned", partitions))


def orders(count: int, at: float = 0.0) -> list[Step]:
    customers = ["ada", "bo", "eve", "cy"]
    return [
        Step(
            at,
            "append",
            {"id": f"m{i}", "order": f"o-{i}", "customer": customers[i % 4], "amount": i},
        )
        for i in range(1, count + 1)
    ]


def trace(steps, workload="shipping-log", **settings) -> Trace:
    merged = {k: default for k, (_, default) in get(workload).VOCABULARY.settings.items()}
    merged.update(settings)
    return Trace("t", "a test trace", "", workload, tuple(steps), 0, merged, "t.toml")


def play(steps, factory=Recorder, schedule: Schedule | None = None, **settings) -> Outcome:
    CALLS.clear()
    return shipping_log.run(factory, trace(steps, **settings), schedule or Schedule())


def test_a_joining_member_makes_every_member_give_up_then_get_its_share():
    """Eager rebalance: every owner is revoked all it has, then each member is assigned anew."""
    outcome = play([*orders(4), Step(0.002, "join", {"member": "shipping-2"})])
    assert CALLS == [
        ("shipping-1", "assigned", [0, 1]),
        ("shipping-1", "revoked", [0, 1]),
        ("shipping-1", "assigned", [0]),
        ("shipping-2", "assigned", [1]),
    ]
    assert outcome.duplicated == {} and outcome.lost == [] and outcome.unsettled == []


def test_a_member_that_leaves_is_revoked_first_and_its_partitions_move():
    """A member leaving on purpose gets on_partitions_revoked, then the others rebalance."""
    steps = [Step(0.0, "join", {"member": "shipping-2"}), *orders(4)]
    play([*steps, Step(0.003, "leave", {"member": "shipping-2"})])
    assert ("shipping-2", "revoked", [0]) in CALLS
    assert CALLS[-1] == ("shipping-1", "assigned", [0, 1])


def test_a_crashed_member_is_not_called_back_and_the_others_take_over():
    """A crash ends an incarnation without a revoke call; the survivor gets the partitions."""
    steps = [Step(0.0, "join", {"member": "shipping-2"}), *orders(4)]
    play(steps, schedule=Schedule((CrashPoint(1, "before"),)))
    assert ("shipping-1", "revoked", [1]) not in CALLS
    assert ("shipping-2", "assigned", [0, 1]) in CALLS


def test_revoked_partitions_forget_their_positions():
    """After a revoke, even a partition the member keeps restarts at the committed offset."""

    class NeverCommits(Recorder):
        def poll_once(self):
            for record in self.client.poll():
                self.warehouse.ship(record.value["order_id"])

    outcome = play([*orders(4), Step(0.002, "join", {"member": "shipping-2"})], NeverCommits)
    assert outcome.duplicated, "the kept partition should be read again from its committed offset"


def test_a_component_without_listener_methods_gets_no_call():
    """The listener is optional: without_listener hides it, and the client resumes by itself."""
    outcome = play(
        [*orders(4), Step(0.002, "join", {"member": "shipping-2"})], without_listener(Recorder)
    )
    assert CALLS == [] and outcome.lost == [] and outcome.unsettled == []


def test_the_poll_loop_rests_until_the_next_step():
    """A caught-up member does not poll every millisecond through a quiet spell."""
    outcome = play(
        [
            *orders(2),
            *orders(0),
            Step(0.05, "append", dict(id="m9", order="o-9", customer="ada", amount=9)),
        ]
    )
    polls = [s for s in outcome.timeline.steps if s.what.startswith("poll")]
    assert len(polls) < 8
    assert outcome.lost == []


# -- the shipping-log workload: bad input, retention --------------------------------------------


def test_joining_the_member_under_test_is_refused_naming_the_file():
    with pytest.raises(TraceError, match=r"t\.toml: join\.member"):
        play([*orders(1), Step(0.0, "join", {"member": "shipping-1"})])


def test_an_unknown_reset_policy_is_refused_naming_the_setting():
    with pytest.raises(TraceError, match=r"settings\.reset: expected one of earliest"):
        play(orders(1), reset="newest")


def test_retention_outside_the_topic_is_refused_naming_the_field():
    with pytest.raises(TraceError, match=r"retention\.partition"):
        play([*orders(1), Step(0.0, "retention", {"partition": 7, "before": 1})])


def test_records_removed_before_anyone_read_them_are_not_counted_lost():
    """Retention is the log forgetting: what it removed unread is not the consumer's loss."""
    steps = [
        *orders(4),
        Step(0.0, "retention", {"partition": 0, "before": 1}),
    ]
    outcome = play(steps, start=0.001)
    assert "m2" not in outcome.accepted and outcome.lost == []


# -- the checkers -------------------------------------------------------------------------------


def log_outcome(committed, effects) -> Outcome:
    records = {0: {0: "m1", 1: "m2", 2: "m3"}}
    accepted = {"m1": "o-1", "m2": "o-2", "m3": "o-3"}
    notes = {"log": {"topic": "orders", "committed": {0: committed}, "records": records}}
    return Outcome(accepted=accepted, effects=effects, effect="shipped", notes=notes)


def test_committed_processed_names_what_a_commit_skipped():
    verdict = checkers.committed_processed(log_outcome(3, {"o-1": [1], "o-3": [2]}))
    assert not verdict.holds and verdict.anomalies == {"lost": ["o-2"]}
    assert "o-2 (orders[0] 1)" in verdict.observed
    assert checkers.committed_processed(log_outcome(2, {"o-1": [1], "o-2": [2]})).holds
    assert checkers.committed_processed(log_outcome(None, {})).holds


def test_replay_converges_tells_lost_duplicated_and_reordered_apart():
    def verdict(view):
        notes = {"expected": {"ada": ["o-1", "o-3"], "bo": ["o-2"]}, "view": view}
        return checkers.replay_converges(Outcome(accepted={}, effects={}, notes=notes))

    assert verdict({"ada": ["o-1", "o-3"], "bo": ["o-2"]}).holds
    assert verdict({"ada": ["o-3"], "bo": ["o-2"]}).anomalies == {"lost": ["o-1"]}
    assert verdict({"ada": ["o-1", "o-3"], "bo": ["o-2", "o-2"]}).anomalies == {
        "duplicated": ["o-2"]
    }
    assert verdict({"ada": ["o-3", "o-1"], "bo": ["o-2"]}).anomalies == {"reordered": ["ada"]}


class Committer:
    """Ships each record and commits ``offset + shift`` after it; starts where ``start`` says."""

    shift, start = 1, None

    def __init__(self, client, warehouse):
        self.client, self.warehouse = client, warehouse

    def poll_once(self):
        for record in self.client.poll():
            self.warehouse.ship(record.value["order_id"])
            self.client.commit({record.partition: record.offset + self.shift})

    def on_partitions_assigned(self, partitions):
        if self.start == "end":
            self.client.seek_to_end(partitions)
        elif self.start == "beginning":
            self.client.seek_to_beginning(partitions)


def test_a_member_that_read_the_last_records_gets_one_more_poll_to_commit():
    """An empty poll, then one that reads a record that just came: a third poll follows."""

    class CommitsWhenIdle(Committer):
        def poll_once(self):
            records = self.client.poll()
            for record in records:
                self.warehouse.ship(record.value["order_id"])
            if not records:
                self.client.commit()

    outcome = play([Step(0.002, "append", orders(1)[0].args)], CommitsWhenIdle)
    assert outcome.unsettled == [] and outcome.notes["log"]["committed"][1] == 1


def test_commits_next_offset_names_a_commit_of_a_record_already_shipped():
    assert checkers.commits_next_offset(play(orders(3), Committer)).holds

    class OffByOne(Committer):
        shift = 0

    verdict = checkers.commits_next_offset(play(orders(3), OffByOne))
    assert not verdict.holds and list(verdict.anomalies) == ["stuck"]
    assert "committed orders[" in verdict.observed and "the next record to read" in verdict.observed


def test_resumes_at_committed_tells_a_start_past_the_commit_from_one_below_it():
    """The group committed offset 1 of partition 0 before the run; where does shipping-1 start?"""
    steps = [*orders(4), Step(0.0, "committed", {"partition": 0, "offset": 1})]
    assert checkers.resumes_at_committed(play(steps, Committer)).holds
    starts = play(steps, Committer).notes["log"]["starts"]
    assert {(s["partition"], s["offset"], s["expected"]) for s in starts} == {(0, 1, 1), (1, 0, 0)}

    class FromTheEnd(Committer):
        start = "end"

    class FromTheBeginning(Committer):
        start = "beginning"

    skipped = checkers.resumes_at_committed(play(steps, FromTheEnd))
    assert not skipped.holds and list(skipped.anomalies) == ["lost"]
    assert "committed offset is 1" in skipped.observed
    again = checkers.resumes_at_committed(play(steps, FromTheBeginning))
    assert not again.holds and list(again.anomalies) == ["duplicated"]


def test_a_trace_can_build_the_member_with_another_every_and_the_bound_follows():
    built = []

    class Counting(Committer):
        def __init__(self, client, warehouse, every=3):
            super().__init__(client, warehouse)
            built.append(every)

    outcome = play(orders(2), Counting, every=2)
    assert built == [2] and outcome.notes["every"] == 2
    play(orders(2), Committer)  # the default bound is not passed: a factory without it works
    twice = Outcome(accepted={}, effects={"o-1": [1, 5], "o-2": [2, 6], "o-3": [3, 7]}, crashes=1)
    twice.notes["every"] = 2
    assert not checkers.duplicates_within_every(twice).holds
    twice.notes["every"] = 3
    assert checkers.duplicates_within_every(twice).holds


def test_duplicates_without_a_crash_break_no_duplicate_without_crash_only():
    doubled = Outcome(accepted={"m1": "o-1"}, effects={"o-1": [1, 2]})
    assert not checkers.no_duplicate_without_crash(doubled).holds
    doubled.crashes = 1
    assert checkers.no_duplicate_without_crash(doubled).holds


# -- the history-log workload -------------------------------------------------------------------


class FromTheStart:
    def __init__(self, client):
        self.client, self.orders = client, {}

    def on_partitions_assigned(self, partitions):
        self.client.seek_to_beginning(partitions)

    def poll_once(self):
        for record in self.client.poll():
            self.orders.setdefault(record.value["customer"], []).append(record.value["order_id"])

    def view(self):
        return self.orders


def test_two_groups_on_one_topic_each_get_every_record():
    """The shipping group ships everything; the late read model's group still reads it all."""
    steps = [*orders(4), *orders(0)]
    outcome = history_log.run(FromTheStart, trace(steps, "history-log", start=0.02), Schedule())
    assert checkers.replay_converges(outcome).holds
    shipped = [s for s in outcome.timeline.steps if s.what.startswith("ship")]
    assert len(shipped) == 4


def test_after_retention_the_view_is_built_from_the_records_left():
    """Retention before the read model starts: expected holds the records left, in log order."""
    steps = [*orders(6), Step(0.01, "retention", {"partition": 0, "before": 2})]
    outcome = history_log.run(FromTheStart, trace(steps, "history-log", start=0.02), Schedule())
    assert checkers.replay_converges(outcome).holds
    removed = {"o-2", "o-4"}  # eve's and ada's: the first two records of partition 0
    listed = {o for orders_ in outcome.notes["expected"].values() for o in orders_}
    assert not removed & listed and len(listed) == 4

    class FromOffsetZero(FromTheStart):
        def on_partitions_assigned(self, partitions):
            for partition in partitions:
                self.client.seek(partition, 0)

    wrong = history_log.run(FromOffsetZero, trace(steps, "history-log", start=0.02), Schedule())
    assert checkers.replay_converges(wrong).anomalies.keys() == {"lost"}


def test_retention_after_the_read_model_starts_is_refused():
    steps = [*orders(2), Step(0.02, "retention", {"partition": 0, "before": 1})]
    with pytest.raises(TraceError, match="before the read model starts"):
        history_log.run(FromTheStart, trace(steps, "history-log", start=0.02), Schedule())


def test_a_view_of_the_wrong_shape_is_a_clear_error():
    class Wrong(FromTheStart):
        def view(self):
            return ["o-1"]

    from harness.errors import LearnerError

    with pytest.raises(LearnerError, match="view\\(\\) must return a dict"):
        history_log.run(Wrong, trace(orders(1), "history-log"), Schedule())


# -- the queue's side: the broker remembers, then forgets ---------------------------------------


def test_competing_consumers_on_a_queue_share_and_a_late_one_finds_nothing():
    """Round-robin between two consumers; once acked, a message is gone for a latecomer."""
    broker = Broker(Scheduler(VirtualClock(), seed=0), Timeline())
    broker.declare_queue("orders")
    got: dict[str, list[str]] = {"a": [], "b": [], "late": []}

    def consumer(name):
        state = broker.open_channel(name)

        def on_delivery(delivery):
            got[name].append(delivery.message_id)
            broker.ack(state, delivery.tag)

        broker.consume(state, "orders", on_delivery)

    consumer("a")
    consumer("b")
    for index in range(1, 5):
        broker.publish("orders", Message(f"m{index}", {}))
    broker.scheduler.run()
    assert got["a"] and got["b"] and sorted(got["a"] + got["b"]) == ["m1", "m2", "m3", "m4"]
    consumer("late")
    broker.scheduler.run()
    assert got["late"] == []
