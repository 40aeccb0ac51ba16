"""The log: Kafka's semantics (simulated; no Kafka server runs here).

- A topic has partitions; a record's key picks its partition (a stable hash,
  the same on every machine), and order holds within a partition only.
- Each consumer group has, per partition, a *committed offset*: the offset of
  the next record the group will read (last processed + 1).
- A client's *position* is the next record ``poll()`` returns. A new client
  starts at the committed offset; where there is none, or it fell below the
  log start (retention removed those records), ``reset`` decides:
  ``earliest``, ``latest``, or ``none`` (an error).
- Each partition of a topic is assigned to exactly one member of a group
  (range assignment, re-done whenever a member joins or leaves); groups are
  independent of each other.

Where it simplifies: no brokers, replicas, transactions or auto-commit; a
rebalance happens at once when a member joins or leaves (no session timeout).
The workloads' clients reset to ``earliest`` unless told otherwise, where
Kafka's default ``auto.offset.reset`` is ``latest``. A poll fills from the
lowest-numbered assigned partition first (Kafka rotates among partitions).

>>> log = Log()
>>> log.create_topic("payments", partitions=1)
>>> log.append("payments", key="o-1", value={"amount": 30})
Record(topic='payments', partition=0, offset=0, key='o-1', value={'amount': 30})
>>> log.commit("billing", "payments", 0, 1)
>>> log.committed("billing", "payments", 0)
1
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from harness.debugger.panel import Panel

Reset = Literal["earliest", "latest", "none"]


class LogError(Exception):
    """Base of the errors the log answers with."""


class UnknownTopic(LogError):
    """No topic by that name was created."""


class OffsetOutOfRange(LogError):
    """No valid position for a partition and the reset policy is ``none``."""


class InvalidCommit(LogError):
    """A commit for a partition this member does not own, or beyond the log's end."""


@dataclass(frozen=True)
class Record:
    """One record of a partition. Its identity is (topic, partition, offset)."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: Mapping[str, Any]


class _Partition:
    __slots__ = ("records", "start")

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.start = 0  # the log start offset: records below it were removed by retention

    @property
    def end(self) -> int:
        return self.start + len(self.records)


def partition_for(key: str, partitions: int) -> int:
    """The partition a key maps to: a stable hash (crc32), not Python's salted ``hash``."""
    return zlib.crc32(key.encode()) % partitions


class Log:
    """Topics of partitioned records, and the groups reading them."""

    def __init__(self) -> None:
        self._topics: dict[str, list[_Partition]] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._members: dict[tuple[str, str], list[str]] = {}

    def create_topic(self, name: str, *, partitions: int = 1) -> None:
        if partitions < 1:
            raise ValueError(f"a topic needs at least 1 partition, got {partitions}")
        if name in self._topics:
            raise LogError(f"topic {name!r} already exists")
        self._topics[name] = [_Partition() for _ in range(partitions)]

    def partitions(self, topic: str) -> int:
        return len(self._partitions(topic))

    def _partitions(self, topic: str) -> list[_Partition]:
        try:
            return self._topics[topic]
        except KeyError:
            known = ", ".join(sorted(self._topics)) or "none"
            raise UnknownTopic(f"no topic named {topic!r} (created: {known})") from None

    def _partition(self, topic: str, partition: int) -> _Partition:
        parts = self._partitions(topic)
        if not 0 <= partition < len(parts):
            raise LogError(f"topic {topic!r} has partitions 0..{len(parts) - 1}, not {partition}")
        return parts[partition]

    # -- records ------------------------------------------------------------------------------

    def append(
        self,
        topic: str,
        *,
        key: str | None,
        value: Mapping[str, Any],
        partition: int | None = None,
    ) -> Record:
        """Append a record; without ``partition``, its key picks one (no key: partition 0)."""
        parts = self._partitions(topic)
        if partition is None:
            partition = partition_for(key, len(parts)) if key is not None else 0
        part = self._partition(topic, partition)
        record = Record(topic, partition, part.end, key, value)
        part.records.append(record)
        return record

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> list[Record]:
        """Records from ``offset`` on (at most ``max_records``)."""
        part = self._partition(topic, partition)
        first = offset - part.start
        if first < 0:
            raise OffsetOutOfRange(
                f"offset {offset} of {topic}[{partition}] was removed (log start {part.start})"
            )
        return part.records[first : first + max_records]

    def start_offset(self, topic: str, partition: int) -> int:
        return self._partition(topic, partition).start

    def end_offset(self, topic: str, partition: int) -> int:
        """The offset the next appended record will get (the high watermark)."""
        return self._partition(topic, partition).end

    def truncate_before(self, topic: str, partition: int, offset: int) -> None:
        """Retention: remove the records below ``offset``."""
        part = self._partition(topic, partition)
        offset = min(max(offset, part.start), part.end)
        del part.records[: offset - part.start]
        part.start = offset

    # -- groups -------------------------------------------------------------------------------

    def commit(self, group: str, topic: str, partition: int, offset: int) -> None:
        """Record ``offset`` as the next record ``group`` will read from the partition."""
        self.check_commit(topic, partition, offset)
        self._committed[(group, topic, partition)] = offset

    def check_commit(self, topic: str, partition: int, offset: int) -> None:
        """Raise :class:`InvalidCommit` unless ``offset`` could be committed for the partition."""
        part = self._partition(topic, partition)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidCommit(f"a committed offset is an int >= 0, got {offset!r}")
        if offset > part.end:
            raise InvalidCommit(
                f"cannot commit offset {offset} for {topic}[{partition}]: its last record is "
                f"{part.end - 1}, so the furthest commit is {part.end} (the next record to read)"
            )

    def committed(self, group: str, topic: str, partition: int) -> int | None:
        """The group's committed offset for the partition, or None if it never committed."""
        self._partition(topic, partition)
        return self._committed.get((group, topic, partition))

    def join(self, group: str, topic: str, member: str) -> dict[str, list[int]]:
        """Add ``member`` to the group and return the new assignment of every member."""
        self._partitions(topic)
        members = self._members.setdefault((group, topic), [])
        if member not in members:
            members.append(member)
        return self.assignment(group, topic)

    def leave(self, group: str, topic: str, member: str) -> dict[str, list[int]]:
        """Remove ``member`` from the group and return the new assignment."""
        members = self._members.get((group, topic), [])
        if member in members:
            members.remove(member)
        return self.assignment(group, topic)

    def assignment(self, group: str, topic: str) -> dict[str, list[int]]:
        """Range assignment: members in join order get contiguous slices of partitions."""
        members = self._members.get((group, topic), [])
        count = self.partitions(topic)
        result: dict[str, list[int]] = {}
        if not members:
            return result
        share, extra = divmod(count, len(members))
        first = 0
        for index, member in enumerate(members):
            size = share + (1 if index < extra else 0)
            result[member] = list(range(first, first + size))
            first += size
        return result

    # -- the debugger's view ------------------------------------------------------------------

    def snapshot(self) -> list[Panel]:
        """Every topic as one panel: per partition, its records (offset and key, the latest
        few), the next offset, and each group's committed offset and owning member.

        It only reads (the debugger calls it after each step of an observed run).
        """
        from harness.debugger.panel import Panel

        panels = []
        for topic, parts in self._topics.items():
            groups = sorted({g for (g, t, _p) in self._committed if t == topic})
            groups += sorted({g for (g, t) in self._members if t == topic} - set(groups))
            columns = ["partition", "records (offset key)", "next offset"]
            for group in groups:
                columns += [f"committed ({group})", f"owner ({group})"]
            owners = {group: self.assignment(group, topic) for group in groups}
            rows = []
            for number, part in enumerate(parts):
                row: list[Any] = [number, _records(part), part.end]
                for group in groups:
                    owner = next((m for m, ps in owners[group].items() if number in ps), None)
                    row += [self._committed.get((group, topic, number)), owner]
                rows.append(tuple(row))
            removed = [f"{n}: below {p.start}" for n, p in enumerate(parts) if p.start]
            note = (
                "retention removed the records of partition " + ", ".join(removed)
                if removed
                else ""
            )
            panels.append(Panel(f"topic {topic}", tuple(columns), tuple(rows), note))
        return panels


SHOWN_RECORDS = 8
"""How many of a partition's latest records its panel lists."""


def _records(part: _Partition) -> str:
    shown = part.records[-SHOWN_RECORDS:]
    text = ", ".join(f"{r.offset} {r.key}" if r.key is not None else str(r.offset) for r in shown)
    if len(part.records) > len(shown):
        text = f"… {text}"
    return text or "none"
