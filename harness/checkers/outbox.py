"""The transactional outbox (ch05): events, read from ``notes["outbox"]``."""

from __future__ import annotations

import math
from itertools import pairwise

from harness.checkers.verdict import Verdict, _holds, _ordinal
from harness.outcome import Outcome

POLL = 0.005
"""Virtual seconds between two polls of a relay: a retry can only fall on a poll."""
SLACK = 1e-6
"""Virtual seconds of rounding allowed when times are compared (``time.time()`` is ~1.8e9)."""
SHOWN = 6
"""Events named one by one in an observation; the rest are counted."""


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
    if len(parts) > SHOWN:
        parts[SHOWN:] = [f"and {len(parts) - SHOWN} more events more than once"]
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
    """Every sent row goes by the first purge after its retention has passed (crashes allowed
    for): ``overdue`` lists those that did not, ``purged_late`` when the late ones went."""
    box = _outbox(outcome)
    overdue = list(box.get("overdue", ()))
    if not overdue:
        return _holds()
    late = box.get("purged_late", {})
    parts = [
        f"{row} (sent at t={late[row][0]:.3f}, purged only at t={late[row][1]:.3f})"
        if row in late
        else f"{row} (still there at the end)"
        for row in overdue
    ]
    observed = (
        f"outbox {'rows' if len(overdue) > 1 else 'row'} {', '.join(parts)} "
        f"{_be(overdue)} not purged at the first purge after the {box['retention']:g} s "
        "retention had passed: the outbox grows without bound (overflowed)"
    )
    return Verdict(False, {"overflowed": overdue}, observed)


def outbox_retained(outcome: Outcome) -> Verdict:
    """No sent row is purged before its retention has passed, counted from its ``sent_at``.

    Reads ``sent`` (row → virtual time it was marked sent) and ``gone`` (row →
    virtual time of the purge that removed it).
    """
    box = _outbox(outcome)
    retention = box.get("retention", 0.0)
    sent, gone = box.get("sent", {}), box.get("gone", {})
    early = sorted(
        row for row, at in gone.items() if row in sent and at < sent[row] + retention - SLACK
    )
    if not early:
        return _holds()
    parts = [
        f"{row} was sent at t={sent[row]:.3f} and purged at t={gone[row]:.3f}, "
        f"before t={sent[row] + retention:.3f}"
        for row in early
    ]
    observed = (
        "; ".join(parts) + f": a sent row stays for the {retention:g} s retention, counted from "
        "when it was sent (early)"
    )
    return Verdict(False, {"early": early}, observed)


# -- a refused publish: the backoff, and the other orders -------------------------------------


def _steps_times(outcome: Outcome) -> list[float]:
    return [step.time for step in outcome.timeline.steps]


def _first_publications(box: dict) -> dict[str, int]:
    first: dict[str, int] = {}
    for step, _, key, _ in box["published"]:
        if key in box["committed"]:
            first.setdefault(key, step)
    return first


def _crashed_between(box: dict, start: float, end: float) -> bool:
    return any(start < step < end for step in box.get("crashes", ()))


def others_not_held(outcome: Outcome) -> Verdict:
    """An event the broker refused holds back only its own order's later events.

    For each event A with refused publishes, every event B of another order
    that was ready (written, its order's earlier events published) before A's
    last refusal, and never refused itself, is published before A finally is.
    A crash between B being ready and A going out excuses it (a restarted relay
    starts over from the oldest row). Reads ``attempts`` (key → ``(step,
    "refused" | "confirmed")`` of each publish) and ``written`` (key → step).
    """
    box = _outbox(outcome)
    attempts = box.get("attempts", {})
    written = box.get("written", {})
    first = _first_publications(box)
    refused_keys = {k for k, tries in attempts.items() if any(h == "refused" for _, h in tries)}
    seqs = {key: parsed for key in box["committed"] if (parsed := _seq(key)) is not None}
    times = _steps_times(outcome)
    held: list[str] = []
    marks: dict[int, str] = {}
    for a_key in sorted(refused_keys & set(seqs)):
        gone = first.get(a_key, math.inf)
        refusals = [s for s, how in attempts[a_key] if how == "refused" and s < gone]
        if not refusals:
            continue
        last_refusal = refusals[-1]
        for b_key, (order, seq) in sorted(seqs.items()):
            if order == seqs[a_key][0] or b_key in refused_keys or b_key not in written:
                continue
            earlier = [first.get(f"{order}#{n}", math.inf) for n in range(1, seq)]
            ready = max([written[b_key], *earlier])
            if ready >= last_refusal or _crashed_between(box, ready, gone):
                continue
            if first.get(b_key, math.inf) > gone:
                if gone < math.inf and gone < len(times):
                    went = f"went out only after {a_key}, at t={times[gone]:.3f}"
                else:
                    went = f"never went out while {a_key} waited"
                held.append(
                    f"{b_key} was ready at t={times[ready]:.3f}, while {a_key} was backing off "
                    f"(refused {len(refusals)} times from t={times[refusals[0]]:.3f}), and {went}"
                )
                if b_key in first:
                    marks[first[b_key]] = f"{b_key}: held behind {a_key}, another order's event"
    if not held:
        return _holds()
    observed = (
        "; ".join(held) + ": a refused event must hold back only its own order's later events, "
        "never other orders' (late)"
    )
    return Verdict(False, {"late": sorted({h.split(" ")[0] for h in held})}, observed, marks)


def _doubling_fits(gaps: list[float]) -> tuple[bool, str]:
    """Whether ``gaps`` (seconds between a refusal and the next try) fit one doubling wait.

    The k-th wait is ``w * 2**(k-1)`` with ``w`` at least one poll, and a retry
    falls on the first poll after its wait: ``w_k <= gap_k < w_k + POLL``.
    Returns (fits, "early" | "late").
    """
    low, low_at = POLL - SLACK, 0
    high, high_at = math.inf, 0
    for k, gap in enumerate(gaps):
        scale = 2**k
        if (gap - POLL - SLACK) / scale > low:
            low, low_at = (gap - POLL - SLACK) / scale, k
        if (gap + SLACK) / scale < high:
            high, high_at = (gap + SLACK) / scale, k
    if low <= high:
        return True, ""
    # A short wait after a long one, or a first one under a poll: it did not grow enough.
    return False, "early" if high_at >= low_at else "late"


def backoff_doubles(outcome: Outcome) -> Verdict:
    """A refused event is tried again after a wait of one poll or more that doubles each time.

    Judged on each event's publish attempts up to its first confirmed one, when
    no crash fell in between (a restarted relay may start its count over).
    """
    box = _outbox(outcome)
    times = _steps_times(outcome)
    wrong: list[str] = []
    words: set[str] = set()
    marks: dict[int, str] = {}
    for key, tries in sorted(box.get("attempts", {}).items()):
        chain: list[int] = []
        for step, how in tries:
            chain.append(step)
            if how == "confirmed":
                break
        if len(chain) < 2 or _crashed_between(box, chain[0], chain[-1]):
            continue
        gaps = [times[later] - times[earlier] for earlier, later in pairwise(chain)]
        fits, word = _doubling_fits(gaps)
        if fits:
            continue
        words.add(word)
        shown = ", ".join(f"{gap * 1000:.0f}" for gap in gaps)
        wrong.append(f"{key} was refused {len(gaps)} times and tried again after {shown} ms")
        for step, gap in zip(chain[1:], gaps, strict=True):
            marks[step] = f"tried again {gap * 1000:.0f} ms after the last refusal"
    if not wrong:
        return _holds()
    observed = (
        "; ".join(wrong) + f": the first wait must be at least {POLL * 1000:g} ms (one poll), "
        f"and each next one twice the last, give or take one poll ({' and '.join(sorted(words))})"
    )
    return Verdict(False, {word: sorted(wrong) for word in words}, observed, marks)


# -- the order desk ---------------------------------------------------------------------------


def valid_order_taken(outcome: Outcome) -> Verdict:
    """Every order with a positive amount that place_order answered (returned or raised) is
    committed. Reads ``answered`` (order → the error it raised, or None) and ``committed``."""
    box = _outbox(outcome)
    turned = {
        order: error
        for order, error in box.get("answered", {}).items()
        if order not in box["committed"]
    }
    if not turned:
        return _holds()
    parts = []
    for order, error in sorted(turned.items()):
        why = f"place_order raised {error}" if error else "place_order returned"
        parts.append(f"{order} ({why})")
    observed = (
        f"{'orders' if len(turned) > 1 else 'order'} {', '.join(parts)} "
        f"{_be(list(turned))} valid and never committed: the customer was turned away for an "
        "order the database could take (unavailable)"
    )
    return Verdict(False, {"unavailable": sorted(turned)}, observed)


def event_readable(outcome: Outcome) -> Verdict:
    """Each order's outbox row holds its OrderPlaced event as a JSON object naming the order
    and its amount. Reads ``bodies`` (order → what is wrong with its row's body)."""
    wrong = _outbox(outcome).get("bodies", {})
    if not wrong:
        return _holds()
    parts = [f"{order}: {problem}" for order, problem in sorted(wrong.items())]
    observed = (
        "the outbox row of " + "; ".join(parts) + ". The relay publishes the body as it is, "
        'so the company never learns of the order: {"type": "OrderPlaced", "order_id": ..., '
        '"amount": ...} in JSON (lost)'
    )
    return Verdict(False, {"lost": sorted(wrong)}, observed)
