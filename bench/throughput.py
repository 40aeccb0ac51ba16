"""Benchmark: deliveries per second through the simulated queue broker, and exploration time.

    python bench/throughput.py [--deliveries 100000]

1. Pushes N deliveries through the payments-queue workload with the reference
   at-least-once consumer (charge, then ack): every delivery goes through the
   scheduler, the broker, two crash gates and the timeline, as in a test.
2. Times the exhaustive single-crash exploration of ch03's longest trace with
   the reference consumer of that trace's workload.
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from pathlib import Path

from harness import traces
from harness.explore import Explorer
from harness.faults import Schedule
from harness.targets import Target
from harness.workloads import payments_log, payments_queue

ROOT = Path(__file__).resolve().parent.parent


def deliveries_per_second(count: int) -> tuple[float, float]:
    consumer = Target(ROOT / "solutions", "solutions").component(
        "ch03/at_least_once.py", "AtLeastOnceConsumer"
    )
    trace = payments_queue.generate((0,) * count)
    started = time.perf_counter()
    outcome = payments_queue.run(consumer, trace, Schedule())
    elapsed = time.perf_counter() - started
    assert not outcome.lost and not outcome.duplicated and not outcome.unsettled
    assert len(outcome.effects) == count
    return count / elapsed, elapsed


class _Channel:
    """The least a broker must do for one delivery: remember the tag until its ack."""

    def __init__(self) -> None:
        self.unacked: dict[int, int] = {}

    def ack(self, tag: int) -> None:
        del self.unacked[tag]


class _Consumer:
    def __init__(self, channel: _Channel) -> None:
        self.channel = channel

    def on_message(self, tag: int, message: int) -> None:
        self.channel.ack(tag)


def plain_python_limit(count: int) -> tuple[float, float]:
    """Deliveries per second (and seconds) of the least per-delivery work in plain Python.

    Pop a message from a deque, tag it, call the consumer's handler, which acks the
    tag: no clock, no crash gate, no timeline. The simulator's rate over this one,
    measured in the same run, is the share of the limit it reaches.

    >>> plain_python_limit(10)[0] > 0
    True
    """
    queue = deque(range(count))
    channel = _Channel()
    consumer = _Consumer(channel)
    tag = 0
    started = time.perf_counter()
    while queue:
        message = queue.popleft()
        tag += 1
        channel.unacked[tag] = message
        consumer.on_message(tag, message)
    elapsed = time.perf_counter() - started
    assert not channel.unacked and tag == count
    return count / elapsed, elapsed


def longest_trace_exploration() -> tuple[str, int, float]:
    target = Target(ROOT / "solutions", "solutions")
    consumers = {
        "payments-queue": (
            payments_queue,
            target.component("ch03/at_least_once.py", "AtLeastOnceConsumer"),
        ),
        "payments-log": (
            payments_log,
            target.component("ch03/commit_after.py", "CommitAfterConsumer"),
        ),
    }
    loaded = [traces.load(p) for p in sorted((ROOT / "exercises/ch03/traces").glob("*.toml"))]
    explorer = Explorer()

    # The longest trace is the one whose crash-free run makes the most calls: most crash points.
    def calls(trace):
        workload, consumer = consumers[trace.workload]
        return workload.run(consumer, trace, Schedule()).calls

    longest = max(loaded, key=calls)
    workload, consumer = consumers[longest.workload]
    started = time.perf_counter()
    runs = explorer.every_single_crash(workload, consumer, [longest], [])
    return longest.name, runs, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    args = parser.parse_args()
    rate, elapsed = deliveries_per_second(args.deliveries)
    print(
        f"{args.deliveries:,} deliveries (at-least-once consumer): {elapsed:.2f} s, {rate:,.0f}/s"
    )
    name, runs, seconds = longest_trace_exploration()
    print(f"exhaustive single-crash exploration of {name}: {runs} runs in {seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
