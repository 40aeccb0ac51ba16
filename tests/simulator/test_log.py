"""The log and its client: Kafka's semantics (harness/log.py, harness/ports/log_client.py)."""

from __future__ import annotations

import pytest

from harness.faults import Crash, CrashPoint, Gate
from harness.log import (
    InvalidCommit,
    Log,
    LogError,
    OffsetOutOfRange,
    UnknownTopic,
    partition_for,
)
from harness.ports.log_client import LogClient
from harness.timeline import Timeline


def make_log(partitions: int = 1, records: int = 0, topic: str = "t") -> Log:
    log = Log()
    log.create_topic(topic, partitions=partitions)
    for partition in range(partitions):
        for index in range(records):
            log.append(topic, key=None, value={"n": index}, partition=partition)
    return log


def make_client(
    log: Log,
    *,
    group: str = "g",
    topic: str = "t",
    member: str = "m",
    partitions: list[int] | None = None,
    crashes: tuple[CrashPoint, ...] = (),
    **options,
) -> LogClient:
    client = LogClient(
        log,
        group=group,
        topic=topic,
        member=member,
        gate=Gate(member, crashes, lambda where: None),
        timeline=Timeline(),
        now=lambda: 0.0,
        **options,
    )
    client.assign(list(range(log.partitions(topic))) if partitions is None else partitions)
    return client


def offsets(records) -> list[tuple[int, int]]:
    return [(r.partition, r.offset) for r in records]


# -- records and partitions ------------------------------------------------------------------------


def test_offsets_count_from_0_in_each_partition():
    """Every partition numbers its records 0, 1, 2, … on its own."""
    log = make_log(partitions=2)
    got = [log.append("t", key=None, value={}, partition=p) for p in (0, 1, 0, 0, 1)]
    assert offsets(got) == [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1)]
    assert (log.end_offset("t", 0), log.end_offset("t", 1)) == (3, 2)
    assert (log.start_offset("t", 0), log.start_offset("t", 1)) == (0, 0)


def test_partition_for_is_a_stable_crc32_not_the_salted_hash():
    """A key maps to the same partition on every machine and run (crc32, not hash())."""
    keys = [f"o-{i}" for i in range(1, 9)]
    assert [partition_for(key, 4) for key in keys] == [2, 0, 2, 1, 3, 1, 3, 2]
    assert [partition_for(key, 2) for key in keys[:4]] == [0, 0, 0, 1]
    assert all(partition_for(key, 1) == 0 for key in keys)


def test_append_uses_the_key_to_pick_the_partition():
    """Without an explicit partition, the key picks it; a record without key goes to 0."""
    log = make_log(partitions=4)
    for index in range(1, 9):
        record = log.append("t", key=f"o-{index}", value={})
        assert record.partition == partition_for(f"o-{index}", 4)
    assert log.append("t", key=None, value={}).partition == 0


def test_topic_errors_name_the_problem():
    """Bad topics are refused: no partitions, created twice, or unknown (listing known ones)."""
    log = make_log(topic="payments")
    with pytest.raises(ValueError):
        log.create_topic("x", partitions=0)
    with pytest.raises(LogError, match="already exists"):
        log.create_topic("payments")
    with pytest.raises(UnknownTopic, match="'orders'.*payments"):
        log.append("orders", key=None, value={})
    with pytest.raises(LogError, match="partitions 0..0"):
        log.append("payments", key=None, value={}, partition=1)


def test_truncate_before_moves_the_log_start_and_reading_below_it_fails():
    """Retention removes records below an offset; reading them raises OffsetOutOfRange."""
    log = make_log(records=5)
    log.truncate_before("t", 0, 3)
    assert (log.start_offset("t", 0), log.end_offset("t", 0)) == (3, 5)
    assert offsets(log.read("t", 0, 3, 10)) == [(0, 3), (0, 4)]
    with pytest.raises(OffsetOutOfRange):
        log.read("t", 0, 2, 10)
    log.truncate_before("t", 0, 1)  # never moves back
    assert log.start_offset("t", 0) == 3
    log.truncate_before("t", 0, 99)  # never beyond the end
    assert (log.start_offset("t", 0), log.end_offset("t", 0)) == (5, 5)
    assert log.append("t", key=None, value={}).offset == 5


# -- committed offsets -----------------------------------------------------------------------------


def test_the_committed_offset_is_the_next_record_to_read():
    """Committing 1 after processing offset 0 makes the next client start at offset 1."""
    log = make_log(records=3)
    first = make_client(log)
    (record,) = first.poll(max_records=1)
    assert record.offset == 0
    first.commit({0: record.offset + 1})
    assert log.committed("g", "t", 0) == 1
    second = make_client(log)
    assert second.position(0) == 1
    assert offsets(second.poll()) == [(0, 1), (0, 2)]


def test_a_new_client_resumes_at_the_committed_offset_not_at_the_old_position():
    """A restarted client forgets its position and resumes at the group's committed offset."""
    log = make_log(records=6)
    old = make_client(log)
    assert offsets(old.poll(max_records=4)) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    old.commit({0: 2})
    assert old.position(0) == 4
    new = make_client(log)
    assert new.committed(0) == 2
    assert offsets(new.poll()) == [(0, 2), (0, 3), (0, 4), (0, 5)]


def test_commit_without_arguments_commits_the_positions():
    """commit() records the current position of every assigned partition."""
    log = make_log(partitions=2, records=3)
    client = make_client(log)
    client.poll(max_records=4)
    client.commit()
    assert (log.committed("g", "t", 0), log.committed("g", "t", 1)) == (3, 1)


@pytest.mark.parametrize(
    ("reset", "expected"), [("earliest", 0), ("latest", 4)], ids=["earliest", "latest"]
)
def test_reset_decides_where_a_group_without_commit_starts(reset, expected):
    """With no committed offset, 'earliest' starts at the log start and 'latest' at its end."""
    log = make_log(records=4)
    client = make_client(log, reset=reset)
    assert client.position(0) == expected
    assert client.committed(0) is None


def test_reset_none_without_a_committed_offset_is_an_error():
    """With no committed offset and reset 'none', poll raises OffsetOutOfRange."""
    log = make_log(records=4)
    client = make_client(log, reset="none")
    with pytest.raises(OffsetOutOfRange, match="'none'"):
        client.poll()


@pytest.mark.parametrize("reset", ["earliest", "latest", "none"])
def test_a_valid_committed_offset_wins_over_the_reset_policy(reset):
    """A committed offset within the log is used whatever the reset policy."""
    log = make_log(records=4)
    log.commit("g", "t", 0, 2)
    assert make_client(log, reset=reset).position(0) == 2


@pytest.mark.parametrize(
    ("reset", "expected"), [("earliest", 3), ("latest", 5)], ids=["earliest", "latest"]
)
def test_reset_applies_when_the_committed_offset_fell_below_the_log_start(reset, expected):
    """A committed offset that retention removed is out of range: the reset policy decides."""
    log = make_log(records=5)
    log.commit("g", "t", 0, 1)
    log.truncate_before("t", 0, 3)
    assert make_client(log, reset=reset).position(0) == expected


def test_reset_none_when_the_committed_offset_fell_below_the_log_start_is_an_error():
    """With reset 'none', a committed offset below the log start raises OffsetOutOfRange."""
    log = make_log(records=5)
    log.commit("g", "t", 0, 1)
    log.truncate_before("t", 0, 3)
    with pytest.raises(OffsetOutOfRange):
        make_client(log, reset="none").position(0)


def test_a_position_that_retention_removed_is_reset_by_the_policy():
    """If retention removes the records at a client's position, poll resets per policy."""
    log = make_log(records=5)
    client = make_client(log, reset="earliest")
    assert offsets(client.poll(max_records=2)) == [(0, 0), (0, 1)]
    log.truncate_before("t", 0, 4)
    assert offsets(client.poll()) == [(0, 4)]


def test_a_commit_beyond_the_end_of_the_log_is_invalid():
    """The furthest commit is the end offset (next record to read); one more is InvalidCommit."""
    log = make_log(records=3)
    log.commit("g", "t", 0, 3)
    with pytest.raises(InvalidCommit, match="furthest commit is 3"):
        log.commit("g", "t", 0, 4)
    client = make_client(log)
    with pytest.raises(InvalidCommit):
        client.commit({0: 4})
    assert log.committed("g", "t", 0) == 3


@pytest.mark.parametrize("offset", [-1, True, 1.0, "1", None])
def test_a_committed_offset_is_an_int_at_least_0(offset):
    """A negative, bool, float, string or None offset is not a valid commit."""
    log = make_log(records=3)
    with pytest.raises(InvalidCommit):
        log.commit("g", "t", 0, offset)
    assert log.committed("g", "t", 0) is None


def test_committing_a_partition_not_assigned_is_invalid_and_commits_nothing():
    """A member commits only the partitions it owns; otherwise InvalidCommit and no change."""
    log = make_log(partitions=2, records=2)
    client = make_client(log, partitions=[0])
    with pytest.raises(InvalidCommit, match="owns \\[0\\]"):
        client.commit({0: 1, 1: 1})
    assert log.committed("g", "t", 0) is None
    assert log.committed("g", "t", 1) is None


def test_a_crash_before_commit_keeps_the_old_offset_and_after_commit_keeps_the_new():
    """Commit is a crash point: 'before' never reaches the log, 'after' does and then dies."""
    for when, expected in (("before", None), ("after", 2)):
        log = make_log(records=3)
        client = make_client(log, crashes=(CrashPoint(2, when),))
        client.poll(max_records=2)
        with pytest.raises(Crash):
            client.commit()
        assert log.committed("g", "t", 0) == expected, when


# -- groups ----------------------------------------------------------------------------------------


def test_range_assignment_and_rebalance_on_join_and_leave():
    """Members in join order get contiguous ranges; each partition has exactly one owner."""
    log = make_log(partitions=5)
    assert log.join("g", "t", "a") == {"a": [0, 1, 2, 3, 4]}
    assert log.join("g", "t", "b") == {"a": [0, 1, 2], "b": [3, 4]}
    assert log.join("g", "t", "c") == {"a": [0, 1], "b": [2, 3], "c": [4]}
    assert log.join("g", "t", "b") == {"a": [0, 1], "b": [2, 3], "c": [4]}  # no double join
    assert log.leave("g", "t", "a") == {"b": [0, 1, 2], "c": [3, 4]}
    assert log.leave("g", "t", "nobody") == {"b": [0, 1, 2], "c": [3, 4]}
    assert log.leave("g", "t", "b") == log.leave("g", "t", "b") == {"c": [0, 1, 2, 3, 4]}
    assert log.leave("g", "t", "c") == {}


def test_more_members_than_partitions_leaves_some_idle():
    """With more members than partitions, the extra members own nothing."""
    log = make_log(partitions=2)
    for member in "abc":
        assignment = log.join("g", "t", member)
    assert assignment == {"a": [0], "b": [1], "c": []}


def test_groups_are_independent():
    """Two groups on one topic each read every record and keep their own committed offsets."""
    log = make_log(partitions=2, records=3)
    billing = make_client(log, group="billing")
    audit = make_client(log, group="audit")
    assert len(billing.poll(max_records=10)) == 6
    billing.commit()
    assert len(audit.poll(max_records=10)) == 6
    assert log.committed("audit", "t", 0) is None
    assert log.committed("billing", "t", 0) == 3
    assert log.assignment("audit", "t") == {}
    log.join("billing", "t", "x")
    assert log.assignment("audit", "t") == {}


def test_after_a_rebalance_the_new_owner_resumes_at_the_committed_offset():
    """A partition moved to another member is read from the group's committed offset."""
    log = make_log(partitions=2, records=4)
    a = make_client(log, member="a", partitions=[0, 1])
    a.poll(max_records=10)
    a.commit({0: 2, 1: 3})
    b = make_client(log, member="b", partitions=[1])
    a.assign([0])
    assert a.assignment() == [0]
    assert a.position(0) == 4, "a keeps its position on the partition it still owns"
    assert offsets(b.poll()) == [(1, 3)]
    a.assign([0, 1])
    assert a.position(1) == 3, "a forgot its position on the partition it lost"


# -- poll, position, seek --------------------------------------------------------------------------


def test_poll_respects_max_records_and_moves_the_position():
    """poll returns at most max_records (argument, else the client's default) and moves on."""
    log = make_log(records=7)
    client = make_client(log, max_poll_records=3)
    assert offsets(client.poll()) == [(0, 0), (0, 1), (0, 2)]
    assert client.position(0) == 3
    assert offsets(client.poll(max_records=1)) == [(0, 3)]
    assert offsets(client.poll(max_records=10)) == [(0, 4), (0, 5), (0, 6)]
    assert client.poll() == []
    assert client.position(0) == 7
    log.append("t", key=None, value={})
    assert offsets(client.poll()) == [(0, 7)]


def test_poll_counts_max_records_across_partitions_and_keeps_each_in_order():
    """Records from several partitions together stay within max_records, each partition in order."""
    log = make_log(partitions=2, records=3)
    client = make_client(log)
    seen = []
    while batch := client.poll(max_records=2):
        assert len(batch) <= 2
        seen += offsets(batch)
    assert sorted(seen) == [(p, o) for p in (0, 1) for o in range(3)]
    for partition in (0, 1):
        assert [o for p, o in seen if p == partition] == [0, 1, 2]


def test_poll_reads_only_the_assigned_partitions():
    """A member never gets records of partitions it does not own."""
    log = make_log(partitions=3, records=2)
    client = make_client(log, partitions=[1])
    assert {r.partition for r in client.poll(max_records=10)} == {1}


def test_poll_with_a_bad_max_records_is_refused():
    """max_records below 1 is a ValueError."""
    client = make_client(make_log(records=1))
    with pytest.raises(ValueError):
        client.poll(max_records=0)


def test_seek_makes_the_next_poll_start_there():
    """seek(partition, offset) moves the position: back to read again, or forward to skip."""
    log = make_log(records=5)
    client = make_client(log)
    client.poll(max_records=4)
    client.seek(0, 1)
    assert client.position(0) == 1
    assert offsets(client.poll(max_records=2)) == [(0, 1), (0, 2)]
    client.seek(0, 4)
    assert offsets(client.poll()) == [(0, 4)]
    assert log.committed("g", "t", 0) is None, "seeking commits nothing"


def test_seek_and_position_check_their_arguments():
    """seek/position on a partition not owned, or seek to a bad offset, is refused."""
    client = make_client(make_log(partitions=2, records=1), partitions=[0])
    with pytest.raises(InvalidCommit):
        client.seek(1, 0)
    with pytest.raises(InvalidCommit):
        client.position(1)
    for bad in (-1, True, "0"):
        with pytest.raises(ValueError):
            client.seek(0, bad)


def test_a_bad_reset_policy_is_refused():
    """reset is 'earliest', 'latest' or 'none'."""
    with pytest.raises(ValueError, match="reset"):
        make_client(make_log(), reset="smallest")


def test_poll_and_commit_are_recorded_on_the_timeline():
    """poll and commit each leave a step naming the records and the offsets."""
    log = make_log(records=2)
    timeline = Timeline()
    client = LogClient(
        log,
        group="g",
        topic="t",
        member="m",
        gate=Gate("m", (), lambda where: None),
        timeline=timeline,
        now=lambda: 0.5,
    )
    client.assign([0])
    client.poll()
    client.commit()
    client.poll()
    assert [(s.time, s.actor, s.target, s.what) for s in timeline.steps] == [
        (0.5, "log", "m", "poll → t[0] 0..1"),
        (0.5, "m", "log", "commit t[0]=2"),
        (0.5, "log", "m", "poll → nothing new"),
    ]
