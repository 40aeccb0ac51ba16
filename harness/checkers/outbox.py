"""The transactional outbox (ch05): events, read from ``notes["outbox"]``."""

from __future__ import annotations

from harness.checkers.verdict import Verdict, _holds, _ordinal
from harness.outcome import Outcome


def _outbox(outcome: Outcome) -> dict:
    return outcome.notes.get("outbox", {"committed": {}, "published": [], "unsent": []})


def _be(keys: list[str]) -> str:
    return "was" if len(keys) == 1 else "were"


def _events(keys: list[str]) -> str:
    return ("event " if len(keys) == 1 else "events ") + ", ".join(keys)


def no_lost_event(outcome: Outcome) -> Verdict:
    """Every committed change is published at least once (or sits committed in the outbox)."""
    box = _outbox(outcome)
    seen = {key for _, _, key, _ in box["published"]}
    lost = sorted(key for key in box["committed"] if key not in seen)
    if not lost:
        return _holds()
    observed = f"{_events(lost)} {_be(lost)} committed and never published (lost)"
    return Verdict(False, {"lost": lost}, observed)


def no_phantom_event(outcome: Outcome) -> Verdict:
    """Nothing is published for a change that was never committed (rolled back, or never made)."""
    box = _outbox(outcome)
    phantoms = [row for row in box["published"] if row[2] not in box["committed"]]
    if not phantoms:
        return _holds()
    keys = sorted({key.lstrip("?") for _, _, key, _ in phantoms})
    observed = (
        f"{_events(keys)} {_be(keys)} published for a change that was never committed: "
        "its transaction rolled back, or never happened (phantom)"
    )
    marks = {step: "published, never committed" for step, *_ in phantoms if step >= 0}
    return Verdict(False, {"phantom": keys}, observed, marks)


def _seq(key: str) -> tuple[str, int] | None:
    order, _, seq = key.rpartition("#")
    return (order, int(seq)) if order and seq.isdigit() else None


def events_in_order(outcome: Outcome) -> Verdict:
    """Per order, events are first published in the order they were written.

    A deduplicating consumer keeps the first copy of each message, so the order
    that counts is that of first publications; later copies are absorbed.
    """
    first: dict[str, int] = {}
    latest: dict[str, tuple[int, int]] = {}
    reordered: list[str] = []
    marks: dict[int, str] = {}
    for step, _, key, _ in _outbox(outcome)["published"]:
        parsed = _seq(key)
        if parsed is None or key in first:
            continue
        first[key] = step
        order, seq = parsed
        if order in latest and latest[order][0] > seq:
            reordered.append(f"{order}#{seq} after {order}#{latest[order][0]}")
            marks[step] = f"{order}#{seq} published after {order}#{latest[order][0]}"
        if order not in latest or latest[order][0] < seq:
            latest[order] = (seq, step)
    if not reordered:
        return _holds()
    observed = "per order, events were published out of the order they were written: " + (
        "; ".join(reordered) + " (reordered)"
    )
    return Verdict(False, {"reordered": reordered}, observed, marks)


def republished_with_same_id(outcome: Outcome) -> Verdict:
    """Every publication of an event carries the event's one message id."""
    box = _outbox(outcome)
    ids: dict[str, list[str]] = {}
    for _, message_id, key, _ in box["published"]:
        if key in box["committed"] and message_id not in ids.setdefault(key, []):
            ids[key].append(message_id)
    wanted = box["committed"]
    bad = {
        key: got
        for key, got in ids.items()
        if len(got) > 1 or (wanted.get(key) is not None and got != [wanted[key]])
    }
    if not bad:
        return _holds()
    parts = []
    for key, got in sorted(bad.items()):
        written = f", written as {wanted[key]}," if wanted.get(key) is not None else ""
        parts.append(f"event {key}{written} went out as {' and '.join(got)}")
    observed = (
        "; ".join(parts) + ": a copy under another id is a new message to a consumer that "
        "deduplicates by message id, so it takes the event twice (duplicated)"
    )
    marks = {
        step: f"{message_id}: not {key}'s id"
        for step, message_id, key, _ in box["published"]
        if key in bad and wanted.get(key) not in (None, message_id) and step >= 0
    }
    return Verdict(False, {"duplicated": sorted(bad)}, observed, marks)


def published_once(outcome: Outcome) -> Verdict:
    """Each event is published exactly once (when nothing crashed and no relay stalled)."""
    counts: dict[str, list[int]] = {}
    for step, _, key, _ in _outbox(outcome)["published"]:
        counts.setdefault(key, []).append(step)
    twice = {key: steps for key, steps in counts.items() if len(steps) > 1}
    if not twice:
        return _holds()
    parts = [f"{key} was published {len(steps)} times" for key, steps in sorted(twice.items())]
    marks = {}
    for key, steps in twice.items():
        for nth, step in enumerate(steps[1:], start=2):
            marks[step] = f"{_ordinal(nth)} time {key} is published"
    observed = "event " + "; ".join(parts) + ", with no crash (duplicated)"
    return Verdict(False, {"duplicated": sorted(twice)}, observed, marks)


def outbox_drained(outcome: Outcome) -> Verdict:
    """Every committed outbox row is marked sent by the end: none stays pending or claimed."""
    box = _outbox(outcome)
    unsent = list(box["unsent"])
    if not unsent:
        return _holds()
    claimed = box.get("claimed", {})
    holders = sorted({claimed[key] for key in unsent if key in claimed})
    held = f", still claimed by {', '.join(holders)}" if holders else ""
    observed = (
        f"outbox {'rows' if len(unsent) > 1 else 'row'} of {_events(unsent)} "
        f"{_be(unsent)} never marked sent{held}: pending or claimed forever (stuck)"
    )
    return Verdict(False, {"stuck": unsent}, observed)


def outbox_purged(outcome: Outcome) -> Verdict:
    """Every row sent longer ago than its retention (plus one purge interval) is gone."""
    box = _outbox(outcome)
    overdue = list(box.get("overdue", ()))
    if not overdue:
        return _holds()
    observed = (
        f"outbox {'rows' if len(overdue) > 1 else 'row'} {', '.join(overdue)} "
        f"{_be(overdue)} sent and still there long after the {box['retention']:g} s retention: "
        "the outbox grows without bound (overflowed)"
    )
    return Verdict(False, {"overflowed": overdue}, observed)
