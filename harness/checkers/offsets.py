"""Offsets on the log (ch02): what a group committed was processed, a commit names the next
record, a member resumes where its group left off; a replay converges."""

from __future__ import annotations

import re

from harness.checkers.delivery import duplicates_within, no_duplicate
from harness.checkers.verdict import Verdict, _holds, _orders
from harness.outcome import Outcome

_COMMITTED = re.compile(r"(\w[\w.-]*)\[(\d+)\]=(\d+)")


def committed_processed(outcome: Outcome) -> Verdict:
    """Per partition, every record below the group's committed offset took effect.

    Reads ``outcome.notes["log"]``: ``topic``, ``committed`` (partition → the
    committed offset, or None) and ``records`` (partition → offset → message
    id). Records left out of ``outcome.accepted`` (removed by retention before
    anyone could read them) are not counted.
    """
    log = outcome.notes.get("log")
    if log is None:
        raise ValueError("committed_processed reads outcome.notes['log'], from a log workload")
    topic = log["topic"]
    skipped: list[tuple[str, int, int]] = []
    for partition, committed in sorted(log["committed"].items()):
        for offset, message_id in sorted(log["records"][partition].items()):
            if committed is None or offset >= committed:
                break
            key = outcome.accepted.get(message_id)
            if key is not None and not outcome.effects.get(key):
                skipped.append((key, partition, offset))
    if not skipped:
        return _holds()
    keys = [key for key, _, _ in skipped]
    where = ", ".join(f"{key} ({topic}[{p}] {o})" for key, p, o in skipped)
    observed = (
        f"{_orders(keys).split(' ')[0]} {where}: below the group's committed offset, "
        f"but never {outcome.effect} (lost)"
    )
    marks: dict[int, str] = {}
    for key, partition, offset in skipped:
        for index, step in enumerate(outcome.timeline.steps):
            if not step.what.startswith("commit "):
                continue
            passed = any(
                name == topic and int(p) == partition and int(o) > offset
                for name, p, o in _COMMITTED.findall(step.what)
            )
            if passed:
                marks.setdefault(index, f"commits past {key}, never {outcome.effect}")
                break
    return Verdict(False, {"lost": sorted(set(keys))}, observed, marks)


def commits_next_offset(outcome: Outcome) -> Verdict:
    """No commit names a record its member had already processed since it got the partition.

    The committed offset is the *next* record to read: after processing the
    record at offset 4, commit 5. Reads ``outcome.notes["log"]["commits"]``: one
    entry per partition a commit wrote (``step``, ``member``, ``partition``,
    ``offset``, and ``shipped``: whether that member had processed the record
    at ``offset`` since its last assignment).
    """
    log = _log_notes(outcome, "commits")
    topic, orders = log["topic"], log.get("orders", {})
    wrong = [c for c in log["commits"] if c["shipped"]]
    if not wrong:
        return _holds()
    first = wrong[0]
    p, o = first["partition"], first["offset"]
    order = orders.get(p, {}).get(o, f"{topic}[{p}] {o}")
    observed = (
        f"{first['member']} committed {topic}[{p}]={o} after it {outcome.effect} {order}, "
        f"the record at offset {o} itself: the committed offset is the next record to read, "
        f"{o + 1}, so the group would read {order} again (stuck)"
    )
    keys = sorted({orders.get(c["partition"], {}).get(c["offset"], "?") for c in wrong})
    marks = {first["step"]: f"names {order}, already {outcome.effect}: commit {o + 1}"}
    return Verdict(False, {"stuck": keys}, observed, marks)


def resumes_at_committed(outcome: Outcome) -> Verdict:
    """Each member starts reading a partition it is given where its group left off.

    That is the group's committed offset or, when the group has none or
    retention removed the record it points at, the oldest record left. Reads
    ``outcome.notes["log"]["starts"]``: one entry per (assignment, partition)
    the member read (``step``, ``member``, ``partition``, ``offset`` where it
    started, ``expected``, ``committed``, ``end``: the log's end then).
    """
    log = _log_notes(outcome, "starts")
    topic, orders = log["topic"], log.get("orders", {})
    for start in log["starts"]:
        p, began, expected = start["partition"], start["offset"], start["expected"]
        if began == expected:
            continue
        committed = start["committed"]
        if committed is None:
            where = f"the group has no committed offset, and the oldest record left is {expected}"
        elif committed < expected:
            where = (
                f"the group's committed offset {committed} was removed by retention, and the "
                f"oldest record left is {expected}"
            )
        else:
            where = f"the group's committed offset is {expected}"
        if began > expected:
            span = range(expected, min(began, start["end"]))
            keys = [orders.get(p, {}).get(o, f"{topic}[{p}] {o}") for o in span]
            word, what, mark = "lost", "skipped", "starts past where the group left off"
        else:
            span = range(began, expected)
            keys = [orders.get(p, {}).get(o, f"{topic}[{p}] {o}") for o in span]
            word, what = "duplicated", "read again, below the committed offset"
            mark = "starts below where the group left off"
        skipped = f": {', '.join(keys)} {what}" if keys else ""
        observed = (
            f"{start['member']} started reading {topic}[{p}] at offset {began}, but {where}"
            f"{skipped} ({word})"
        )
        return Verdict(False, {word: keys}, observed, {start["step"]: mark})
    return _holds()


def duplicates_within_every(outcome: Outcome) -> Verdict:
    """Each crash applies at most ``notes["every"]`` effects again: those since the last commit."""
    return duplicates_within(outcome, per_crash=outcome.notes.get("every", 3))


def no_duplicate_without_crash(outcome: Outcome) -> Verdict:
    """A run without a crash applies no effect twice, however the group moved partitions."""
    if outcome.crashes:
        return _holds()
    return no_duplicate(outcome)


def _log_notes(outcome: Outcome, part: str) -> dict:
    log = outcome.notes.get("log")
    if log is None or part not in log:
        raise ValueError(f"this checker reads outcome.notes['log'][{part!r}], from shipping-log")
    return log


def replay_converges(outcome: Outcome) -> Verdict:
    """The read model's final view equals the view built from every record exactly once.

    Reads ``outcome.notes["view"]`` (what the read model shows: key → list of
    items) and ``outcome.notes["expected"]`` (the same, folded from the log).
    """
    expected = outcome.notes.get("expected")
    if expected is None:
        raise ValueError("replay_converges reads outcome.notes['expected'] (a read-model run)")
    view = outcome.notes.get("view") or {}
    anomalies: dict[str, list[str]] = {}
    parts = []
    for key in sorted(set(expected) | set(view)):
        want, have = list(expected.get(key, [])), list(view.get(key, []))
        if want == have:
            continue
        missing = [item for item in want if item not in have]
        extra = [item for item in dict.fromkeys(have) if have.count(item) > want.count(item)]
        if missing:
            anomalies.setdefault("lost", []).extend(missing)
            word = "lost"
        elif extra:
            anomalies.setdefault("duplicated", []).extend(extra)
            word = "duplicated"
        else:
            anomalies.setdefault("reordered", []).append(key)
            word = "reordered"
        parts.append(f"{key}: the view shows {have}, the log holds {want} ({word})")
    if not parts:
        return _holds()
    return Verdict(False, anomalies, "; ".join(parts))
