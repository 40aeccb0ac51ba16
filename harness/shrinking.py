"""Shrinking a generated failure further: the fewest steps under a single crash.

Hypothesis shrinks a generated trace and its crash points together, and a
crash point is a call number: dropping an early step renumbers every later
call, so Hypothesis often stops at a trace of five messages with a crash at
call 30 when one message and a crash at call 5 show the same bug. When the
failure it found has at most one crash, :func:`random_faults` hands its
trace to the exhaustive single-crash exploration, whose shrinker drops
steps while re-trying every crash point; the smaller case replaces
Hypothesis's when it breaks the same promise with a shorter timeline. Its
replay token names the generated trace and the steps dropped from it
(``gen:1.0.2~0.1/5a@s0``), which a test's ``--replay`` reads as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

from harness.explore import Factory, PromiseBroken
from harness.kit import Kit
from harness.promises import Promise


def random_faults(
    kit: Kit,
    workload: ModuleType,
    factory: Factory,
    promises: Sequence[Promise],
    **options: Any,
) -> int:
    """``kit.random_faults``, with a failure shrunk further by single crashes when it can be."""
    try:
        return kit.random_faults(workload, factory, promises, **options)
    except PromiseBroken as broken:
        if kit.explorer.replay or len(broken.outcome.schedule.crashes) > 1:
            raise
        smaller = _single_crash_case(kit, workload, factory, broken, promises)
        if smaller is None:
            raise
        raise smaller from None


def _single_crash_case(
    kit: Kit,
    workload: ModuleType,
    factory: Factory,
    broken: PromiseBroken,
    promises: Sequence[Promise],
) -> PromiseBroken | None:
    try:
        kit.explorer.every_single_crash(workload, factory, [broken.trace], promises)
    except PromiseBroken as found:
        if found.promise.id != broken.promise.id:
            return None
        if len(found.outcome.timeline) >= len(broken.outcome.timeline):
            return None
        found.shrunk_from = max(broken.shrunk_from or 0, len(broken.outcome.timeline))
        if found.dropped:
            total = len(found.trace.steps) + len(found.dropped)
            kept = ", ".join(str(i) for i in range(total) if i not in found.dropped)
            plural = "s" if "," in kept else ""
            found.trace = replace(
                found.trace, title=f"{broken.trace.title}, only step{plural} {kept}"
            )
        found.runs = kit.explorer.runs
        return found
    return None
