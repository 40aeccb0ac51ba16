"""Ordering and idempotency (ch04): the dedup window, per-key order, gaps, bounds, projections."""

from __future__ import annotations

from harness.checkers.verdict import Verdict, _holds
from harness.outcome import Outcome


def within_retention(outcome: Outcome) -> Verdict:
    """Each copy of a message took effect, or not, as its dedup window says.

    Reads ``notes["copies"]``: key → ``(time, expected)`` per copy, in publish order,
    ``expected`` whether that copy is to take effect; ``notes["published"]`` (key → the
    timeline step of each copy's publish, for the marks) and ``notes["retention"]``. Each
    effect is the effect of the last copy published before it. The window starts when
    the message takes effect, and a duplicate does not renew it: a copy within it must
    change nothing (else *duplicated*); one that comes after the window must take effect
    again, since its record was purged (else *overflowed*: the record outlived it).
    """
    window = outcome.notes.get("retention", 0.0)
    steps = outcome.timeline.steps
    for key, copies in sorted(outcome.notes.get("copies", {}).items()):
        times = [at for at, _expected in copies]
        published = outcome.notes.get("published", {}).get(key, [])
        took: dict[int, list[int]] = {}
        for step in outcome.effects.get(key, ()):
            at = steps[step].time if step < len(steps) else times[-1]
            nth = max((i for i, t in enumerate(times) if t <= at + 1e-9), default=0)
            took.setdefault(nth, []).append(step)
        last = None
        for nth, (at, expected) in enumerate(copies):
            effects = took.get(nth, [])
            if expected and not effects and last is None:
                return Verdict(
                    False, {"lost": [key]}, f"order {key} was never {outcome.effect} (lost)"
                )
            since = (
                "" if last is None else f", {at - last:.3f} s after its capture at {last:.3f} s,"
            )
            if expected and not effects:
                marks = {}
                if nth < len(published):
                    marks[published[nth]] = f"{at - last:.3f} s after the capture: purged by now"
                return Verdict(
                    False,
                    {"overflowed": [key]},
                    f"order {key}: the copy published at {at:.3f} s{since} was recognised, so "
                    f"its record was kept past the {window:g} s retention window: the window "
                    "runs from the capture, a duplicate does not renew it, and a record older "
                    "than the window is purged before you look (overflowed)",
                    marks,
                )
            if len(effects) > (1 if expected else 0):
                step = effects[1 if expected else 0]
                return Verdict(
                    False,
                    {"duplicated": [key]},
                    f"order {key}: the copy published at {at:.3f} s{since} was {outcome.effect} "
                    f"again, inside the {window:g} s retention window (duplicated)",
                    {step: f"{key} {outcome.effect} again, inside the window"},
                )
            if expected:
                last = at
    return _holds()


def per_key_order(outcome: Outcome) -> Verdict:
    """Per key, releases and escalated gaps go 1, 2, 3, … with no number left out or repeated.

    Reads ``notes["settled"]``: key → ``(kind, seq, step, waited)`` in order, kind
    ``"release"`` or ``"skip"`` (an escalated gap).
    """
    for key, settled in sorted(outcome.notes.get("settled", {}).items()):
        expected = 1
        for kind, seq, step, _waited in settled:
            if seq == expected:
                expected += 1
                continue
            verb = "released" if kind == "release" else "skipped"
            if seq < expected:
                observed = f"{key} #{seq} was {verb} after #{expected - 1}"
            else:
                missing = f"#{expected}" if seq == expected + 1 else f"#{expected}..#{seq - 1}"
                observed = (
                    f"{key} #{seq} was {verb} while {missing} had been neither released "
                    "nor escalated"
                )
            return Verdict(
                False,
                {"reordered": [f"{key} #{seq}"]},
                observed + " (reordered)",
                {step: f"out of order: {key} #{seq}"},
            )
    return _holds()


def gap_escalated_in_time(outcome: Outcome) -> Verdict:
    """A missing number is escalated once its key has waited the gap timeout: not before, not never.

    Reads ``notes["settled"]`` (see :func:`per_key_order`), ``notes["gap_timeout"]``,
    ``notes["given_up"]`` (``(key, seq, skip step, offer step)`` of numbers escalated after
    they were offered) and ``notes["overdue"]`` (key → seconds waited, step the wait began).
    Escalating a number that was offered, refused or not, gives up an event that is there
    (*lost*); so does escalating early, a number that may still come; waiting on is *stuck*.
    """
    timeout = outcome.notes.get("gap_timeout", 0.0)
    given_up = outcome.notes.get("given_up", ())
    if given_up:
        key, seq, step, offered = given_up[0]
        steps = outcome.timeline.steps
        at = f" at t={steps[offered].time:.3f}" if offered < len(steps) else ""
        return Verdict(
            False,
            {"lost": [f"{key} #{seq}"]},
            f"{key} #{seq} was escalated, but it had been offered{at}: a number offered is not "
            "missing (one refused with BufferFull is offered again), and escalating it gives up "
            "an event that is there (lost)",
            {offered: f"{key} #{seq} offered here", step: f"{key} #{seq} given up"},
        )
    for key, settled in sorted(outcome.notes.get("settled", {}).items()):
        for kind, seq, step, waited in settled:
            if kind == "skip" and (waited is None or waited < timeout - 1e-6):
                after = "with nothing held behind it" if waited is None else f"after {waited:.3f} s"
                return Verdict(
                    False,
                    {"lost": [f"{key} #{seq}"]},
                    f"{key} #{seq} was escalated {after}, before the gap timeout of "
                    f"{timeout:g} s: a number that may still come is given up (lost)",
                    {step: f"escalated too early ({key} #{seq})"},
                )
    overdue = outcome.notes.get("overdue", {})
    if overdue:
        key, (waited, step) = sorted(overdue.items())[0]
        return Verdict(
            False,
            {"stuck": sorted(overdue)},
            f"{key} waited {waited:.3f} s for a missing number, past the gap timeout of "
            f"{timeout:g} s, without escalating it: events behind a gap wait forever (stuck)",
            {step: f"{key} starts waiting here"},
        )
    return _holds()


def bounded(outcome: Outcome) -> Verdict:
    """The buffer never held more than ``notes["capacity"]`` events, and refused only to hold.

    Reads ``notes["held_max"]`` and ``notes["overflow_step"]``, ``notes["kept_refused"]``
    (events released though their offer was refused: held all the same, *overflowed*) and
    ``notes["refused_next"]`` (the next number of its key refused: it needed no room,
    *unavailable*).
    """
    capacity = outcome.notes.get("capacity")
    kept = outcome.notes.get("kept_refused", ())
    if kept:
        event, step = kept[0]
        return Verdict(
            False,
            {"overflowed": [event]},
            f"{event} was refused (BufferFull) and yet kept: it was released without being "
            f"offered again, so the buffer held one more than its capacity of {capacity}; "
            "refuse before you hold, and do not keep what you refuse (overflowed)",
            {step: f"{event} was refused, yet held"},
        )
    refused_next = outcome.notes.get("refused_next", ())
    if refused_next:
        event, step = refused_next[0]
        return Verdict(
            False,
            {"unavailable": [event]},
            f"{event} was refused (BufferFull), but it was the next number of its order: it "
            "needs no room, it is released at once; refuse only an event that would have to "
            "be held (unavailable)",
            {step: f"{event} is the next of its order"},
        )
    held = outcome.notes.get("held_max", 0)
    if capacity is None or held <= capacity:
        return _holds()
    step = outcome.notes.get("overflow_step")
    marks = {step: f"one more than the capacity of {capacity}"} if step is not None else {}
    return Verdict(
        False,
        {"overflowed": [f"{held} held"]},
        f"the buffer held {held} events at once, more than its capacity of {capacity}; "
        "a full buffer must refuse (raise BufferFull) instead of growing (overflowed)",
        marks,
    )


def projection_matches(outcome: Outcome) -> Verdict:
    """Each order's projected ``(status, version)`` is what its events give folded in version order.

    Reads ``notes["projection"]`` (what the table holds) and ``notes["folded"]`` (what it
    should hold), then ``notes["writes"]`` (each committed write, ``(order, status, version,
    step)``, in commit order). A missing row is *lost*; a row left behind by an older event
    is *reordered*, and so is a row an older event set back, even if it was put right later.
    """
    projection = outcome.notes.get("projection", {})
    for order, (status, version) in sorted(outcome.notes.get("folded", {}).items()):
        got = projection.get(order)
        if got is None:
            return Verdict(
                False,
                {"lost": [order]},
                f"order {order} is missing from the projection; its events give {status} "
                f"(version {version}) (lost)",
            )
        if tuple(got) != (status, version):
            step = outcome.notes.get("last_write", {}).get(order)
            marks = {} if step is None else {step: f"{order} set to {got[0]} (version {got[1]})"}
            return Verdict(
                False,
                {"reordered": [order]},
                f"order {order} shows {got[0]} (version {got[1]}), but its events folded in "
                f"version order give {status} (version {version}): an older event was applied "
                "after a newer one, or the newest never was (reordered)",
                marks,
            )
    newest: dict[str, tuple[str, int]] = {}
    for order, status, version, step in outcome.notes.get("writes", ()):
        if order in newest and version < newest[order][1]:
            was, had = newest[order]
            return Verdict(
                False,
                {"reordered": [order]},
                f"order {order} was set back to {status} (version {version}) after it showed "
                f"{was} (version {had}): an older event was applied over a newer one; anyone "
                "reading the table in between saw the order go back (reordered)",
                {step: f"{order} set back to {status} (version {version})"},
            )
        newest[order] = (status, version)
    return _holds()
