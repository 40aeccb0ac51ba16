"""The log client port: a consumer-group member reading one topic (Kafka's consumer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness.faults import Gate
from harness.log import InvalidCommit, Log, OffsetOutOfRange, Record, Reset
from harness.timeline import Timeline

MAX_POLL_RECORDS = 5
"""How many records one ``poll()`` returns at most, unless told otherwise (Kafka: 500)."""


class LogClient:
    """A member of a consumer group on one topic.

    - ``poll()`` returns the next records of the partitions assigned to this
      member and moves its *position* past them; it commits nothing.
    - ``commit()`` records, for the group, the offset of the *next* record to
      read: after processing the record at offset 4, commit 5. Without
      arguments it commits the current position of every assigned partition.
    - A new client (after a restart) resumes at the group's committed offsets.

    The position lives in this client's memory: a crash forgets it.

    ``observer`` (for workloads) hears what took effect, from inside the call:
    ``observer("read", partition, offset)`` when a poll reads a partition from
    ``offset`` (after any reset), ``observer("commit", partition, offset)`` for
    each partition a commit wrote.
    """

    def __init__(
        self,
        log: Log,
        *,
        group: str,
        topic: str,
        member: str,
        gate: Gate,
        timeline: Timeline,
        now,
        reset: Reset = "earliest",
        max_poll_records: int = MAX_POLL_RECORDS,
        observer: Callable[[str, int, int], None] | None = None,
    ) -> None:
        if reset not in ("earliest", "latest", "none"):
            raise ValueError(f"reset is 'earliest', 'latest' or 'none', got {reset!r}")
        self._log = log
        self.group = group
        self.topic = topic
        self._member = member
        self._gate = gate
        self._timeline = timeline
        self._now = now
        self._reset = reset
        self._max = max_poll_records
        self._observer = observer
        self.last_polled = 0
        """How many records the last ``poll()`` returned (the harness's poll loop reads it)."""
        self._assigned: list[int] = []
        self._positions: dict[int, int] = {}

    # -- what the group coordinator does (the harness calls these) ----------------------------

    def assign(self, partitions: list[int]) -> None:
        """Take ownership of ``partitions``; positions of the others are forgotten."""
        self._assigned = sorted(partitions)
        self._positions = {p: o for p, o in self._positions.items() if p in self._assigned}

    # -- local state ---------------------------------------------------------------------------

    def assignment(self) -> list[int]:
        """The partitions this member owns now."""
        return list(self._assigned)

    def position(self, partition: int) -> int:
        """The offset of the next record ``poll()`` will return from ``partition``."""
        self._check_owned(partition)
        return self._position(partition)

    def seek(self, partition: int, offset: int) -> None:
        """Make the next ``poll()`` of ``partition`` start at ``offset`` (e.g. to read it again)."""
        self._check_owned(partition)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"an offset is an int >= 0, got {offset!r}")
        self._positions[partition] = offset

    def seek_to_beginning(self, partitions: list[int] | None = None) -> None:
        """Make the next ``poll()`` start at the oldest record still in each partition.

        ``None`` means every assigned partition. Local: it never crashes (the
        simulator reads the log start at once; Kafka waits for the next poll).
        """
        for partition in self._owned(partitions):
            self._positions[partition] = self._log.start_offset(self.topic, partition)

    def seek_to_end(self, partitions: list[int] | None = None) -> None:
        """Make the next ``poll()`` return only records appended from now on (Kafka's latest)."""
        for partition in self._owned(partitions):
            self._positions[partition] = self._log.end_offset(self.topic, partition)

    # -- calls into the log (crash points) -----------------------------------------------------

    def beginning_offset(self, partition: int) -> int:
        """The offset of the oldest record still in ``partition`` (retention removes older ones)."""
        return self._gate.call(
            f"beginning offset {self.topic}[{partition}]",
            lambda: self._log.start_offset(self.topic, partition),
        )

    def end_offset(self, partition: int) -> int:
        """The offset the next record appended to ``partition`` will get."""
        return self._gate.call(
            f"end offset {self.topic}[{partition}]",
            lambda: self._log.end_offset(self.topic, partition),
        )

    def poll(self, max_records: int | None = None) -> list[Record]:
        """The next records (at most ``max_records``) of the assigned partitions, in order."""
        limit = self._max if max_records is None else max_records
        if limit < 1:
            raise ValueError(f"max_records must be >= 1, got {limit}")

        def effect() -> list[Record]:
            records: list[Record] = []
            for partition in self._assigned:
                if len(records) >= limit:
                    break
                start = self._position(partition)
                if start < self._log.start_offset(self.topic, partition):
                    # Retention removed the records at our position: the reset policy decides.
                    del self._positions[partition]
                    start = self._position(partition, ignore_committed=True)
                if self._observer is not None:
                    self._observer("read", partition, start)
                got = self._log.read(self.topic, partition, start, limit - len(records))
                if got:
                    self._positions[partition] = got[-1].offset + 1
                    records.extend(got)
            self.last_polled = len(records)
            if records:
                spans = _spans(records)
                self._timeline.record(self._now(), "log", self._member, f"poll → {spans}")
            else:
                self._timeline.record(self._now(), "log", self._member, "poll → nothing new")
            return records

        return self._gate.call("poll", effect)

    def commit(self, offsets: Mapping[int, int] | None = None) -> None:
        """Commit ``{partition: next offset to read}`` for the group (default: the positions)."""
        if offsets is None:
            offsets = {p: self._position(p) for p in self._assigned}
        offsets = dict(offsets)
        for partition in offsets:
            if partition not in self._assigned:
                raise InvalidCommit(
                    f"cannot commit partition {partition}: this member owns {self._assigned}"
                )
        what = "commit " + ", ".join(f"{self.topic}[{p}]={o}" for p, o in sorted(offsets.items()))

        def effect() -> None:
            for partition, offset in sorted(offsets.items()):  # all valid, or none committed
                self._log.check_commit(self.topic, partition, offset)
            for partition, offset in sorted(offsets.items()):
                self._log.commit(self.group, self.topic, partition, offset)
                if self._observer is not None:
                    self._observer("commit", partition, offset)
            self._timeline.record(self._now(), self._member, "log", what)

        self._gate.call(what, effect)

    def committed(self, partition: int) -> int | None:
        """The group's committed offset for ``partition``, or None if it never committed."""
        return self._gate.call(
            f"committed {self.topic}[{partition}]",
            lambda: self._log.committed(self.group, self.topic, partition),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _owned(self, partitions: list[int] | None) -> list[int]:
        if partitions is None:
            return list(self._assigned)
        for partition in partitions:
            self._check_owned(partition)
        return list(partitions)

    def _check_owned(self, partition: int) -> None:
        if partition not in self._assigned:
            raise InvalidCommit(f"partition {partition} is not assigned to this member")

    def _position(self, partition: int, *, ignore_committed: bool = False) -> int:
        if partition in self._positions:
            return self._positions[partition]
        start = self._log.start_offset(self.topic, partition)
        end = self._log.end_offset(self.topic, partition)
        committed = (
            None if ignore_committed else self._log.committed(self.group, self.topic, partition)
        )
        if committed is not None and start <= committed <= end:
            position = committed
        elif self._reset == "earliest":
            position = start
        elif self._reset == "latest":
            position = end
        else:
            raise OffsetOutOfRange(
                f"group {self.group!r} has no valid committed offset for {self.topic}[{partition}] "
                "and the reset policy is 'none'"
            )
        self._positions[partition] = position
        return position


def _spans(records: list[Record]) -> str:
    by_partition: dict[int, list[int]] = {}
    for record in records:
        by_partition.setdefault(record.partition, []).append(record.offset)
    parts = []
    for partition, offsets in by_partition.items():
        span = str(offsets[0]) if len(offsets) == 1 else f"{offsets[0]}..{offsets[-1]}"
        parts.append(f"{records[0].topic}[{partition}] {span}")
    return ", ".join(parts)
