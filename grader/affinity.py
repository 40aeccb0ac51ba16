"""Which CPUs a grading's processes run on.

Under ``--isolate`` every port call is a round trip between a test process and
the learner process it started. With both on one CPU the round trip is a
direct switch from one to the other; on two, each side waits to be woken on
its own core, about three times as slow (docs/performance.md). So a grading
gives each of its lanes one CPU, round robin over the CPUs it may use
(:func:`pin`), and a lane's learner processes inherit it. A batch grading
several submissions at once gives each its own share of the machine
(:func:`shares`), passed to ``grader run --cpus``.

>>> shares(2, [0, 1, 2, 3]), shares(3, [0, 1]), shares(1, [0, 1])
([[0, 1], [2, 3]], [[0], [1], [0]], [[0, 1]])
"""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from grader.errors import GradingError


class Pinnable(Protocol):
    cpu: int | None


def cpus() -> list[int]:
    """The CPUs this process may run on, in order; none where the system cannot say."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return []


def pin(lanes: Sequence[Pinnable], *, available: Sequence[int] | None = None) -> None:
    """Give each lane a CPU, round robin over ``available`` (default: :func:`cpus`); with
    none to give (a system without affinity), a lane runs wherever the system puts it."""
    available = cpus() if available is None else list(available)
    for index, lane in enumerate(lanes):
        lane.cpu = available[index % len(available)] if available else None


def parse(value: str) -> list[int]:
    """``--cpus 0,2-3`` as ``[0, 2, 3]``; a CPU this process may not use is an error."""
    chosen: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in value.split(","))):
            low, _, high = part.partition("-")
            chosen.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise GradingError(f"--cpus {value}: expected CPU numbers such as 0,1 or 0-3") from None
    allowed = cpus()
    if not allowed:
        raise GradingError("--cpus: this system cannot keep a process to chosen CPUs")
    if not chosen or not chosen <= set(allowed):
        raise GradingError(
            f"--cpus {value}: this grader may run on CPUs {','.join(map(str, allowed))} only"
        )
    return sorted(chosen)


def confine(chosen: Sequence[int]) -> None:
    """Keep this process, and every process it starts from now on, to ``chosen`` CPUs."""
    os.sched_setaffinity(0, set(chosen))


def shares(jobs: int, available: Sequence[int] | None = None) -> list[list[int]]:
    """The CPUs of each of ``jobs`` gradings running at once: as many disjoint, even shares as
    there are CPUs for; with more jobs than CPUs, one CPU each, in turn. None (an empty list)
    where the system sets no affinity."""
    available = cpus() if available is None else list(available)
    if not available:
        return []
    if jobs >= len(available):
        return [[available[index % len(available)]] for index in range(jobs)]
    size, extra = divmod(len(available), jobs)
    result, start = [], 0
    for index in range(jobs):
        end = start + size + (index < extra)
        result.append(available[start:end])
        start = end
    return result


class Shares:
    """The shares of a batch's jobs, each taken by one grading at a time (thread-safe)."""

    def __init__(self, jobs: int) -> None:
        self._free: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        self.enabled = bool(cpus())
        for share in shares(jobs):
            self._free.put(share)

    @contextmanager
    def share(self) -> Iterator[list[int] | None]:
        """A free share for one grading (None where the system sets no affinity)."""
        if not self.enabled:
            yield None
            return
        share = self._free.get()
        try:
            yield share
        finally:
            self._free.put(share)
