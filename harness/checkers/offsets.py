"""Offsets on the log (ch02): what a group committed was processed; a replay converges."""

from __future__ import annotations

import re

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
