"""Poison messages (ch06): every message ends, within its attempts, and says why it died.

These read the notes of :mod:`harness.workloads.payments_retry`: ``calls``
(message id → ``(time, result)`` of each call to the payments service),
``published`` (message id → time), ``dead_letters`` (``(time, message id,
headers)`` of each publish to ``payments.dead``), ``final_dead`` (what
``payments.dead`` holds at the end), ``failing`` (message id → ``(kind,
timeouts)`` of the trace), ``fixed`` (when the fix came), ``max_attempts``,
``base``, ``cap``, ``replayed`` (when the replay started), ``consumer_crashes`` and
``epoch`` (``time.time()`` at virtual time 0).

>>> from harness.outcome import Outcome
>>> notes = {"calls": {"m1": [(0.001, "transient"), (0.02, "captured")]},
...          "published": {"m1": 0.0}, "dead_letters": [], "final_dead": [],
...          "failing": {"m1": ("transient", 1)}, "fixed": None, "replayed": None,
...          "max_attempts": 3, "base": 0.05, "cap": 1.0, "consumer_crashes": 0, "epoch": 0.0}
>>> outcome = Outcome(accepted={"m1": "o-1 (m1)"}, effects={"o-1 (m1)": [5]}, notes=notes)
>>> processed_or_dead(outcome).holds, retries_spread(outcome).holds
(True, True)
>>> notes["calls"]["m1"] = [(0.001, "transient")] * 4
>>> attempts_within_limit(outcome).observed
'm1 was tried 4 times, and never dead-lettered: more than max_attempts = 3 (overflowed)'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from harness.checkers.verdict import Verdict, _holds, listed
from harness.outcome import Outcome

HEALTHY_WITHIN = 0.010
"""Seconds a healthy message may take from its publish to its capture, whatever fails."""
PER_CRASH = 0.020
"""Seconds more for each crash of the consumer: a restart takes 10 ms, and the redelivery."""
WINDOW = 0.100
WINDOW_SHARE = 0.16
WINDOW_LEAST = 5
"""One 100 ms window may hold the retries of 16 % of the messages that timed out (160 when
1,000 fail at once), and of 5 whatever their number."""
FAILED = ("transient", "permanent", "crash")


def _dead_ids(notes: Mapping[str, Any]) -> set[str]:
    return {mid for _, mid, _ in notes["dead_letters"]} | {mid for mid, _ in notes["final_dead"]}


def _first_dead(notes: Mapping[str, Any]) -> dict[str, float]:
    first: dict[str, float] = {}
    for at, mid, _ in notes["dead_letters"]:
        first.setdefault(mid, at)
    return first


def _failures_before(calls: list[tuple[float, str]], end: float) -> list[tuple[float, str]]:
    return [(at, how) for at, how in calls if how in FAILED and at <= end]


def _end(notes: Mapping[str, Any], mid: str) -> float:
    """When a message's first life ended: its first capture or its first dead letter."""
    ends = [at for at, how in notes["calls"].get(mid, ()) if how == "captured"][:1]
    dead = _first_dead(notes).get(mid)
    if dead is not None:
        ends.append(dead)
    return min(ends) if ends else math.inf


def processed_or_dead(outcome: Outcome) -> Verdict:
    """Every message ends captured or in ``payments.dead``; nothing waits or is lost."""
    notes = outcome.notes
    dead = _dead_ids(notes)
    stuck, lost = [], []
    for mid in sorted(outcome.accepted, key=_order):
        if outcome.applied(outcome.accepted[mid]) or mid in dead:
            continue
        (stuck if mid in outcome.unsettled or "budget" in notes else lost).append(mid)
    if not stuck and not lost:
        return _holds()
    parts = []
    if stuck:
        tries = [f"{mid} (tried {len(notes['calls'].get(mid, ()))} times)" for mid in stuck]
        parts.append(
            f"{listed(tries)} never ended: neither captured nor dead-lettered, still in a queue "
            "or held unacknowledged at the end (stuck)"
        )
    if lost:
        parts.append(f"{', '.join(lost)} vanished: neither captured nor dead-lettered (lost)")
    anomalies = {}
    if stuck:
        anomalies["stuck"] = stuck
    if lost:
        anomalies["lost"] = lost
    return Verdict(False, anomalies, "; ".join(parts))


def _order(mid: str) -> tuple[int, str]:
    digits = "".join(ch for ch in mid if ch.isdigit())
    return (int(digits) if digits else 0, mid)


def attempts_within_limit(outcome: Outcome) -> Verdict:
    """No message is tried more than ``max_attempts`` times before it ends."""
    notes = outcome.notes
    limit = notes["max_attempts"]
    over = []
    for mid, calls in sorted(notes["calls"].items(), key=lambda item: _order(item[0])):
        end = _end(notes, mid)
        failures = len(_failures_before(calls, end))
        succeeded = end < math.inf and any(h == "captured" and at == end for at, h in calls)
        tried = failures + (1 if succeeded else 0)
        if end == math.inf:
            tried = failures
        if tried > limit:
            how = "then captured" if succeeded else "and never dead-lettered"
            if end < math.inf and not succeeded:
                how = "before it was dead-lettered"
            elif end == math.inf and mid in _dead_ids(notes):
                how = "until the broker dead-lettered it itself, past the 20 returns of payments"
            over.append(f"{mid} was tried {tried} times, {how}")
    if not over:
        return _holds()
    return Verdict(
        False,
        {"overflowed": [item.split(" ")[0] for item in over]},
        f"{listed(over)}: more than max_attempts = {limit} (overflowed)",
    )


def dead_letter_explained(outcome: Outcome) -> Verdict:
    """Each dead letter says why: ``x-reason``, ``x-attempts``, its first and last failure."""
    notes = outcome.notes
    wrong: list[str] = []
    for at, mid, headers in notes["dead_letters"]:
        problem = _unexplained(notes, at, mid, headers)
        if problem:
            wrong.append(f"{mid}'s dead letter at t={at:.3f} {problem}")
    told = {mid for _, mid, _ in notes["dead_letters"]}
    for mid, headers in notes["final_dead"]:
        if mid in told or "x-reason" in headers:
            continue
        if _last_death(headers) == "rejected":
            wrong.append(
                f"{mid} was rejected into payments.dead (nack or reject with requeue=False), "
                "so the broker dead-lettered it with no x-reason: publish the dead letter "
                "yourself, with its headers"
            )
        else:
            wrong.append(
                f"{mid} was dead-lettered by the broker itself, past the delivery limit of "
                "payments (20 returns), with no x-reason of yours"
            )
    if not wrong:
        return _holds()
    ids = sorted({item.split("'")[0].split(" ")[0] for item in wrong})
    return Verdict(False, {"unexplained": ids}, f"{listed(wrong)} (unexplained)")


def _last_death(headers: Mapping[str, Any]) -> str | None:
    """Why the broker dead-lettered a message the last time: ``x-death`` is most recent first
    (its first death may be an expiry in a wait queue, long before).

    >>> _last_death({"x-death": [{"reason": "rejected"}, {"reason": "expired"}],
    ...              "x-first-death-reason": "expired"})
    'rejected'
    """
    deaths = headers.get("x-death") or ()
    return deaths[0].get("reason") if deaths else headers.get("x-first-death-reason")


def _unexplained(notes: Mapping[str, Any], at: float, mid: str, headers: Mapping[str, Any]):
    limit = notes["max_attempts"]
    failures = _failures_before(notes["calls"].get(mid, []), at)
    reason = headers.get("x-reason")
    if reason is None:
        return "has no x-reason header"
    if reason not in ("permanent", "max-attempts"):
        return f"gives x-reason {reason!r}: expected 'permanent' or 'max-attempts'"
    last_how = failures[-1][1] if failures else None
    if reason == "permanent" and last_how != "permanent":
        what = f"its last attempt ended {last_how}" if last_how else "it was never tried"
        return f"says x-reason 'permanent', but {what}: no permanent failure"
    if reason == "max-attempts" and last_how == "permanent":
        return "says x-reason 'max-attempts', but its last failure was permanent"
    attempts = headers.get("x-attempts")
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        return f"gives x-attempts {attempts!r}: expected the number of attempts, an int"
    if attempts < len(failures):
        return f"says x-attempts {attempts}, but it was tried {len(failures)} times"
    if attempts > limit:
        return f"says x-attempts {attempts}, more than max_attempts = {limit}"
    if reason == "max-attempts" and attempts != limit:
        return f"says x-reason 'max-attempts' after x-attempts {attempts}, not {limit}"
    first, last = headers.get("x-first-failure"), headers.get("x-last-failure")
    for name, value in (("x-first-failure", first), ("x-last-failure", last)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"gives {name} {value!r}: expected the time of that failure, time.time()"
    first, last = first - notes["epoch"], last - notes["epoch"]
    # How far apart the learner's stamp and the world's record of one attempt may be: nothing
    # in virtual time, a few milliseconds in a live world's real time.
    slack = notes.get("slack", 1e-6)
    if failures and first > failures[0][0] + slack:
        return (
            f"says x-first-failure t={first:.3f}, after its first failed attempt, at "
            f"t={failures[0][0]:.3f}"
        )
    if failures and last < failures[-1][0] - slack:
        return (
            f"says x-last-failure t={last:.3f}, before its last failed attempt, at "
            f"t={failures[-1][0]:.3f}"
        )
    if first < notes["published"].get(mid, 0.0) - slack or last > at + slack or first > last:
        return (
            f"says x-first-failure t={first:.3f} and x-last-failure t={last:.3f}: not the times "
            "of its attempts"
        )
    return ""


def permanent_not_retried(outcome: Outcome) -> Verdict:
    """A permanent failure is never tried again (until the fix): it goes to the dead queue."""
    notes = outcome.notes
    fixed = notes["fixed"] if notes["fixed"] is not None else math.inf
    retried = []
    for mid, calls in sorted(notes["calls"].items(), key=lambda item: _order(item[0])):
        declined = [at for at, how in calls if how == "permanent"]
        if not declined:
            continue
        again = [at for at, _ in calls if declined[0] < at < fixed] + [
            at for at, how in calls if at == declined[0] and how == "permanent"
        ][1:]
        if len(again) > notes["consumer_crashes"]:
            retried.append(
                f"{mid} was declined at t={declined[0]:.3f}, then tried {len(again)} more times"
            )
    if not retried:
        return _holds()
    return Verdict(
        False,
        {"overflowed": [item.split(" ")[0] for item in retried]},
        f"{listed(retried)}: a permanent failure never succeeds, trying it again only delays "
        "its dead letter (overflowed)",
    )


def transient_recovers(outcome: Outcome) -> Verdict:
    """A message whose timeouts stop within its attempts is captured, never dead-lettered."""
    notes = outcome.notes
    limit = notes["max_attempts"]
    dead = _first_dead(notes)
    spared = limit - outcome.crashes
    wrong = []
    for mid, (kind, times) in sorted(notes["failing"].items(), key=lambda item: _order(item[0])):
        if kind != "transient" or times >= spared or mid not in dead:
            continue
        wrong.append(
            f"{mid} timed out {times} times, then would have been captured at attempt "
            f"{times + 1} of {limit}, but it was dead-lettered at t={dead[mid]:.3f}"
        )
    if not wrong:
        return _holds()
    return Verdict(
        False,
        {"lost": [item.split(" ")[0] for item in wrong]},
        f"{listed(wrong)}: a timeout is transient (lost)",
    )


def others_not_held(outcome: Outcome) -> Verdict:
    """Each healthy message is captured soon after its publish, whatever else fails."""
    notes = outcome.notes
    bound = HEALTHY_WITHIN + PER_CRASH * notes["consumer_crashes"]
    late = []
    for mid in sorted(outcome.accepted, key=_order):
        if mid in notes["failing"]:
            continue
        published = notes["published"][mid]
        captured = [at for at, how in notes["calls"].get(mid, ()) if how == "captured"]
        if not captured:
            late.append(f"{mid}, published at t={published:.3f}, was never captured")
        elif captured[0] - published > bound + 1e-9:
            late.append(
                f"{mid}, published at t={published:.3f}, was captured only at "
                f"t={captured[0]:.3f}, {1000 * (captured[0] - published):.0f} ms later"
            )
    if not late:
        return _holds()
    crashes = notes["consumer_crashes"]
    allowed = f"{1000 * bound:.0f} ms"
    if crashes:
        allowed += f" ({1000 * HEALTHY_WITHIN:.0f} ms, and {1000 * PER_CRASH:.0f} ms per crash)"
    return Verdict(
        False,
        {"late": [item.split(",")[0] for item in late]},
        f"{listed(late)}: more than {allowed}, held behind a failing message (late)",
    )


def retries_spread(outcome: Outcome) -> Verdict:
    """Retries wait at most their ceiling, and no 100 ms window holds the retries of more than
    16 % of the messages that timed out (or of 5, when that is more)."""
    notes = outcome.notes
    base, cap = notes["base"], notes["cap"]
    slack = 0.002 + 0.001 * len(outcome.accepted) if outcome.crashes == 0 else math.inf
    retries: list[tuple[float, str]] = []
    late: list[str] = []
    for mid, calls in sorted(notes["calls"].items(), key=lambda item: _order(item[0])):
        failures = 0
        end = _end(notes, mid)
        calls = [(at, how) for at, how in calls if at <= end]
        for (at, how), (again, _) in zip(calls, calls[1:], strict=False):
            if how not in FAILED:
                break
            failures += 1
            if how != "transient":
                continue
            retries.append((again, mid))
            ceiling = min(cap, base * 2 ** (failures - 1))
            if again - at > ceiling + slack:
                late.append(
                    f"{mid} timed out at t={at:.3f} (attempt {failures}) and was tried again "
                    f"only at t={again:.3f}, {1000 * (again - at):.0f} ms later: its wait is "
                    f"at most min(cap, base * 2 ** {failures - 1}) = {1000 * ceiling:.0f} ms"
                )
    if late:
        return Verdict(
            False, {"late": [item.split(" ")[0] for item in late]}, listed(late) + " (late)"
        )
    retries.sort()
    window: Counter[str] = Counter()
    start, most, at_most = 0, 0, 0.0
    for when, mid in retries:
        window[mid] += 1
        while when - retries[start][0] >= WINDOW:
            gone = retries[start][1]
            window[gone] -= 1
            if not window[gone]:
                del window[gone]
            start += 1
        if len(window) > most:
            most, at_most = len(window), retries[start][0]
    failing = len({mid for _, mid in retries})
    limit = max(WINDOW_LEAST, int(WINDOW_SHARE * failing))
    if most <= limit:
        return _holds()
    return Verdict(
        False,
        {"overflowed": [f"t={at_most:.3f}"]},
        f"{most} of the {failing} messages that timed out were tried again within 100 ms of "
        f"t={at_most:.3f}, more than {limit}: the waits are not spread out, so the retries hit "
        "the gateway all at once (overflowed)",
    )


def replayed_once(outcome: Outcome) -> Verdict:
    """After the fix and the replay, each dead-lettered message is captured exactly once."""
    notes = outcome.notes
    if notes["fixed"] is None or notes["replayed"] is None or notes["replayed"] < notes["fixed"]:
        return _holds()  # a trace (or a shrunk one) without a fix, then a replay, asks nothing
    dead = _dead_ids(notes)
    wrong: dict[str, list[str]] = {}
    parts = []
    for mid in sorted(dead, key=_order):
        key = outcome.accepted.get(mid)
        if key is None:
            continue
        count = outcome.applied(key)
        if count == 0:
            waits = mid in outcome.unsettled
            how = "is still in a queue, never captured" if waits else "was never captured"
            wrong.setdefault("stuck" if waits else "lost", []).append(mid)
            parts.append(f"{key} was dead-lettered and, after the replay, {how}")
        elif count > 1:
            wrong.setdefault("duplicated", []).append(mid)
            parts.append(f"{key} was captured {count} times after the replay")
    if not parts:
        return _holds()
    words = " ".join(f"({word})" for word in wrong)
    return Verdict(False, wrong, f"{listed(parts)} {words}")
