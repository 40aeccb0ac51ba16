"""Ordering and idempotency (ch04): the dedup window, per-key order, gaps, bounds, projections."""

from __future__ import annotations

from harness.checkers.verdict import Verdict, _holds
from harness.outcome import Outcome


def within_retention(outcome: Outcome) -> Verdict:
    """Each key took effect as often as its dedup window says (``notes["expected"]``).

    A duplicate within the retention window must change nothing; one that comes after
    the window must take effect again, since its record was purged.
    """
    expected = outcome.notes.get("expected", {})
    window = outcome.notes.get("retention")
    too_many = {key: n for key, n in expected.items() if outcome.applied(key) > n}
    too_few = {key: n for key, n in expected.items() if outcome.applied(key) < n}
    if too_many:
        parts = [
            f"{key} was {outcome.effect} {outcome.applied(key)} times, {n} expected"
            for key, n in too_many.items()
        ]
        return Verdict(
            False,
            {"duplicated": sorted(too_many)},
            "order " + "; ".join(parts) + f": a duplicate within the {window:g} s retention "
            "window took effect again (duplicated)",
        )
    if too_few:
        parts = [
            f"{key} was {outcome.effect} {outcome.applied(key)} time(s), {n} expected"
            for key, n in too_few.items()
        ]
        return Verdict(
            False,
            {"overflowed": sorted(too_few)},
            "order " + "; ".join(parts) + f": a duplicate that came after the {window:g} s "
            "retention window was still recognised, so its record was kept past the window "
            "(overflowed)",
        )
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

    Reads ``notes["settled"]`` (see :func:`per_key_order`), ``notes["gap_timeout"]`` and
    ``notes["overdue"]`` (key → seconds waited, step the wait began). Escalating early
    gives up a number that may still come (*lost*); waiting on is *stuck*.
    """
    timeout = outcome.notes.get("gap_timeout", 0.0)
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
    """The buffer never held more than ``notes["capacity"]`` events at once."""
    capacity = outcome.notes.get("capacity")
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
    should hold). A missing row is *lost*; a row left behind by an older event is *reordered*.
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
    return _holds()
