"""The ``orders`` topic that the log workloads of ch02 share: the order desk's records.

Each record is one placed order, keyed by its customer, so that one
customer's orders stay in one partition, in the order they were placed.
Values are ``{"message_id": str, "order_id": str, "customer": str, "amount": number}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.log import Log
from harness.traces import COUNT, NUMBER, STRING, Trace, TraceError
from harness.world import World

TOPIC = "orders"
APPEND = {"id": STRING, "order": STRING, "customer": STRING, "amount": NUMBER}
RETENTION = {"partition": COUNT, "before": COUNT}
RESETS = ("earliest", "latest", "none")


class OrdersTopic:
    """The topic in one world, and what the producer put in it."""

    def __init__(self, world: World, trace: Trace, *, partitions: int) -> None:
        self.world = world
        self.trace = trace
        self.log: Log = world.log
        self.log.create_topic(TOPIC, partitions=partitions)
        self.accepted: dict[str, str] = {}
        self.records: dict[int, dict[int, str]] = {p: {} for p in range(partitions)}
        self.values: dict[str, Mapping[str, Any]] = {}

    def append(self, args: Mapping[str, Any]) -> None:
        value = {
            "message_id": args["id"],
            "order_id": args["order"],
            "customer": args["customer"],
            "amount": args["amount"],
        }
        record = self.log.append(TOPIC, key=args["customer"], value=value)
        self.accepted[args["id"]] = args["order"]
        self.records[record.partition][record.offset] = args["id"]
        self.values[args["id"]] = value
        self.world.timeline.record(
            self.world.now(),
            "producer",
            "log",
            f"append {args['id']} ({args['order']}, {args['customer']}) "
            f"at {TOPIC}[{record.partition}] {record.offset}",
        )

    def remove_before(self, args: Mapping[str, Any]) -> list[str]:
        """Retention: remove a partition's records below ``before``; return their message ids."""
        partition = self.partition(args["partition"], "retention.partition")
        start = self.log.start_offset(TOPIC, partition)
        end = min(args["before"], self.log.end_offset(TOPIC, partition))
        removed = [self.records[partition][o] for o in range(start, end)]
        self.log.truncate_before(TOPIC, partition, args["before"])
        span = f"{start}..{end - 1}" if end - start > 1 else str(start)
        what = f"remove {TOPIC}[{partition}] {span}" if removed else "remove nothing"
        self.world.timeline.record(self.world.now(), "retention", "log", what)
        return removed

    def partition(self, value: int, field: str) -> int:
        count = self.log.partitions(TOPIC)
        if not 0 <= value < count:
            raise TraceError(
                f"{self.trace.source or self.trace.name}: {field}: the topic has partitions "
                f"0..{count - 1}, not {value}"
            )
        return value

    def reset(self) -> str:
        reset = self.trace.settings.get("reset", "earliest")
        if reset not in RESETS:
            raise TraceError(
                f"{self.trace.source or self.trace.name}: settings.reset: expected one of "
                f"{', '.join(RESETS)}, got {reset!r}"
            )
        return reset
