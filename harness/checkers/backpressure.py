"""Backpressure (ch07): bounds, no silent drop, lag that drains, throughput, fairness, calm.

Each checker reads the notes of :mod:`harness.workloads.flash_sale`, which
the world recorded after every step of the run: ``series`` (per consumer,
``(time, step, in_flight, buffered, working)`` each time one of them
changed), ``lags`` (``(time, step, lag, ready)``: everything accepted and not
yet reserved, and what is ready in the queue), ``reports`` (each ``lag()`` a
consumer reported: ``(time, step, consumer, figure, least, most)``),
``takes`` (the desk's answers: ``(time, step, message id, accepted, held)``,
``held`` being what it held before answering), ``attempts`` (its publishes:
``(time, step, message id, "confirmed" | "refused" | "blocked")``) and
``sites`` (per consumer: rate, busy intervals, stalls, starts, crashes,
messages dropped at a crash). So a bound broken for a single step is seen,
never only the state at the end.

>>> from harness.outcome import Outcome
>>> notes = {"window": 4, "series": {"inventory-1": [(0.001, 3, 4, 0, False),
...          (0.002, 5, 3, 2, True)]}}
>>> within_window(Outcome(accepted={}, effects={}, notes=notes)).observed
'inventory-1 held in flight 3 + buffered 2 = 5 > window 4 at t=0.002 (overflowed)'
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from typing import Any

from harness.checkers.verdict import Verdict, _holds, _ordinal, listed
from harness.outcome import Outcome

SHARE = 0.90
"""Under overload a consumer's warehouse works at least 90 % of the time."""
SPAN = 20
"""Throughput is measured over every span of 20 reservations' time."""
DRAIN_SLACK = 0.050
"""Seconds the lag may take to drain beyond the work it holds, at 90 % of the capacity."""
PER_CRASH = 0.020
"""Seconds more for each crash: a restart takes 10 ms, and the redeliveries."""
RETRY_SLACK = 0.002


def _order(mid: str) -> tuple[int, str]:
    digits = "".join(ch for ch in mid if ch.isdigit())
    return (int(digits) if digits else 0, mid)


def within_window(outcome: Outcome) -> Verdict:
    """At every step, what each consumer holds (in flight + buffered) is within its window."""
    window = outcome.notes["window"]
    for name, rows in outcome.notes["series"].items():
        for at, step, in_flight, buffered, _working in rows:
            if in_flight + buffered > window:
                return Verdict(
                    False,
                    {"overflowed": [name]},
                    f"{name} held in flight {in_flight} + buffered {buffered} = "
                    f"{in_flight + buffered} > window {window} at t={at:.3f} (overflowed)",
                    {step: f"{name} holds {in_flight + buffered}, more than its window"},
                )
    return _holds()


def nothing_lost(outcome: Outcome) -> Verdict:
    """Every order the desk accepted is reserved: none dropped, none left waiting."""
    notes = outcome.notes
    for name, site in notes["sites"].items():
        if site["dropped"]:
            at, mid = site["dropped"][0]
            mids = [m for _, m in site["dropped"]]
            return Verdict(
                False,
                {"lost": mids},
                f"{listed(mids)}: acked by {name}, then gone with its memory when it crashed at "
                f"t={at:.3f}, never reserved: an ack tells the broker to forget a message, so "
                "ack it once its reservation is done (lost)",
            )
    lost, stuck = [], []
    for mid in sorted(outcome.accepted, key=_order):
        if outcome.applied(outcome.accepted[mid]):
            continue
        (stuck if mid in outcome.unsettled or "budget" in notes else lost).append(mid)
    if not lost and not stuck:
        return _holds()
    anomalies: dict[str, list[str]] = {}
    parts = []
    if lost:
        anomalies["lost"] = lost
        told = "accepted by the desk" if notes["intake"] else "published"
        parts.append(
            f"{listed(lost)} ({len(lost)} in all) {'was' if len(lost) == 1 else 'were'} {told} "
            "and never reserved, nor anywhere to wait: dropped without the customer being told "
            "(lost)"
        )
    if stuck:
        anomalies["stuck"] = stuck
        parts.append(
            f"{listed(stuck)} ({len(stuck)} in all) still waited at the end, never reserved (stuck)"
        )
    return Verdict(False, anomalies, "; ".join(parts))


def lag_drains(outcome: Outcome) -> Verdict:
    """After the burst, the lag (accepted, not yet reserved) returns to 0, in good time."""
    notes = outcome.notes
    lags = notes["lags"]
    sites = notes["sites"]
    capacity = sum(site["rate"] for site in sites.values())
    loads = [notes["arrivals_end"]]
    loads += [end for _, end in notes["alarms"]]
    loads += [end for site in sites.values() for _, end in site["stalls"]]
    crashes = sum(len(site["crashes"]) for site in sites.values())
    accepted = len(outcome.accepted)
    deadline = max(loads) + accepted / (SHARE * capacity) + DRAIN_SLACK + PER_CRASH * crashes
    final = lags[-1] if lags else (0.0, 0, 0, 0)
    if final[2]:
        at, _step, lag, ready = final
        return Verdict(
            False,
            {"stuck": [f"lag {lag}"]},
            f"the lag never returned to 0: at the end of the run (t={at:.3f}) {lag} accepted "
            f"orders were still not reserved ({ready} ready in the queue, the rest held by the "
            "consumers or the desk) (stuck)",
        )
    drained = 0.0
    for at, _step, lag, _ready in lags:
        if lag:
            drained = math.inf
        elif drained == math.inf:
            drained = at
    if drained == math.inf or drained <= deadline + 1e-9:
        return _holds()
    return Verdict(
        False,
        {"late": ["lag"]},
        f"the lag returned to 0 only at t={drained:.3f}: {accepted} orders for a capacity of "
        f"{capacity:g}/s, the load over at t={max(loads):.3f}, should be reserved by "
        f"t={deadline:.3f} (late)",
    )


def lag_reported(outcome: Outcome) -> Verdict:
    """Each ``lag()`` is what waits for the consumer: the queue's ready messages plus what it
    holds (those still on their way to it may be missing)."""
    for at, step, name, figure, least, most in outcome.notes["reports"]:
        if isinstance(figure, bool) or not isinstance(figure, int):
            return Verdict(
                False,
                {"misreported": [name]},
                f"{name}'s lag() returned {figure!r} at t={at:.3f}: expected a number of "
                "messages, an int (misreported)",
                {step: "lag() is not an int"},
            )
        if not least <= figure <= most:
            on_way = most - least
            expected = least if least == most else f"{least} to {most}"
            return Verdict(
                False,
                {"misreported": [name]},
                f"{name}'s lag() said {figure} at t={at:.3f}, when {most} messages waited for it "
                f"(ready in the queue, and held by it: {on_way} of them still on their way, "
                f"which it may leave out): expected {expected} "
                "(misreported)",
                {step: f"lag() said {figure}"},
            )
    return _holds()


def _ready_spans(lags: list[tuple[float, int, int, int]], end: float) -> list[tuple[float, float]]:
    spans, start = [], None
    for at, _step, _lag, ready in lags:
        if ready and start is None:
            start = at
        elif not ready and start is not None:
            spans.append((start, at))
            start = None
    if start is not None:
        spans.append((start, end))
    return spans


def _excluded(site: Mapping[str, Any], warm: float) -> list[tuple[float, float]]:
    """When a consumer cannot be asked to work: stalled, crashed, or filling its window."""
    out = [(begin, end + site["work"]) for begin, end in site["stalls"]]
    starts = site["starts"]
    for crash in site["crashes"]:
        later = [s for s in starts if s >= crash]
        out.append((crash, (later[0] if later else math.inf) + warm))
    out += [(s, s + warm) for s in starts]
    return out


def _busy_in(busy: list[tuple[float, float]], ends: list[float], a: float, b: float) -> float:
    total = 0.0
    for start, end in busy[max(0, bisect_right(ends, a) - 1) :]:
        if start >= b:
            break
        total += max(0.0, min(end, b) - max(start, a))
    return total


def full_throughput(outcome: Outcome) -> Verdict:
    """Under overload each warehouse works at least 90 % of the time, over every 20 of its
    reservations' time."""
    from harness.workloads.flash_sale import WARM_UP

    notes = outcome.notes
    spans = _ready_spans(notes["lags"], notes["end"])
    for name, site in notes["sites"].items():
        length = SPAN * site["work"]
        busy = sorted(tuple(b) for b in site["busy"])
        ends = [end for _, end in busy]
        excluded = _excluded(site, WARM_UP)
        for a, b in spans:
            points = [a] + [end for end in ends if a < end < b - length]
            for t in points:
                if t + length > b:
                    break
                if any(x < t + length and y > t for x, y in excluded):
                    continue
                worked = _busy_in(busy, ends, t, t + length)
                if worked < SHARE * length - 1e-9:
                    share = worked / length
                    return Verdict(
                        False,
                        {"starved": [name]},
                        f"{name} reserved for only {1000 * worked:.0f} ms of the "
                        f"{1000 * length:.0f} ms from t={t:.3f} ({100 * share:.0f} %), while "
                        f"orders waited in the queue all along: less than 90 % of its "
                        f"capacity ({site['rate']:g}/s); its warehouse waited for deliveries "
                        "(starved)",
                    )
    return _holds()


def _joint(notes: Mapping[str, Any]) -> Iterator[tuple[float, int, dict, int]]:
    """Every step at which something changed: (time, step, each consumer's row, ready)."""
    events = []
    for name, rows in notes["series"].items():
        for row in rows:
            events.append((row[1], 0, name, row))
    for row in notes["lags"]:
        events.append((row[1], 1, "", row))
    events.sort(key=lambda e: (e[0], e[1]))
    state: dict[str, tuple] = {name: (0.0, 0, 0, 0, False) for name in notes["series"]}
    ready = 0
    for index, (step, kind, name, row) in enumerate(events):
        if kind == 0:
            state[name] = row
        else:
            ready = row[3]
        if index + 1 < len(events) and events[index + 1][0] == step:
            continue
        yield row[0], step, state, ready


def no_hoarding(outcome: Outcome) -> Verdict:
    """While a consumer has nothing to do and the queue is empty, no peer keeps more than its
    window's worth waiting (window - 1 besides the one it works on)."""
    notes = outcome.notes
    sites = notes["sites"]
    if len(sites) < 2:
        return _holds()
    window = notes["window"]
    for at, step, state, ready in _joint(notes):
        if ready:
            continue
        idle = [
            name
            for name, row in state.items()
            if row[2] + row[3] == 0 and not _stalled(sites[name], at)
        ]
        if not idle:
            continue
        for name, (_t, _s, in_flight, buffered, working) in state.items():
            waiting = in_flight + buffered - (1 if working else 0)
            if waiting > window - 1:
                rate = sites[name]["rate"]
                return Verdict(
                    False,
                    {"hoarded": [name]},
                    f"{name} ({rate:g}/s) kept {waiting} orders waiting at t={at:.3f} while "
                    f"{listed(idle)} had nothing to do and the queue was empty: more than "
                    f"window - 1 = {window - 1}, so a slow consumer hoards what its faster "
                    "peers could take (hoarded)",
                    {step: f"{name} keeps {waiting} waiting"},
                )
    return _holds()


def _stalled(site: Mapping[str, Any], at: float) -> bool:
    return any(begin <= at < end for begin, end in site["stalls"])


def desk_within_high(outcome: Outcome) -> Verdict:
    """At every step, the desk holds at most ``high`` orders it has not yet had confirmed."""
    notes = outcome.notes
    high = notes["high"]
    for at, step, mid, accepted, held in notes["takes"]:
        if accepted and held + 1 > high:
            return Verdict(
                False,
                {"overflowed": [mid]},
                f"the desk accepted {mid} at t={at:.3f} while it held {held} orders not yet "
                f"confirmed: {held + 1} > high {high} (overflowed)",
                {step: f"accepted {mid}: holds {held + 1}"},
            )
    return _holds()


def no_flapping(outcome: Outcome) -> Verdict:
    """The desk resumes taking orders only once it holds ``low`` or fewer: pause and resume
    switch once per trip from high to low, never at each publish."""
    notes = outcome.notes
    low, high = notes["low"], notes["high"]
    takes = notes["takes"]
    switches = sum(1 for prev, cur in zip(takes, takes[1:], strict=False) if prev[3] != cur[3])
    paused_at = None
    for (at, step, mid, accepted, held), prev in zip(takes, [None, *takes], strict=False):
        if prev is not None and prev[3] and not accepted:
            paused_at = at
        if prev is not None and not prev[3] and accepted and low < held < high:
            since = f" after it paused at t={paused_at:.3f}" if paused_at is not None else ""
            span = takes[-1][0] - takes[0][0]
            return Verdict(
                False,
                {"flapped": [mid]},
                f"the desk took orders again at t={at:.3f} ({mid}) while it still held {held}, "
                f"above low {low}{since}: without hysteresis it switched {switches} times "
                f"between paused and taking orders in {span:.3f} s (flapped)",
                {step: f"resumed holding {held} > low {low}"},
            )
    return _holds()


def resumes_at_low(outcome: Outcome) -> Verdict:
    """The desk turns an order away only while paused: from reaching ``high`` until it is back
    at ``low``; at ``low`` or below it takes orders again."""
    notes = outcome.notes
    low, high = notes["low"], notes["high"]
    takes = notes["takes"]
    for (at, step, mid, accepted, held), prev in zip(takes, [None, *takes], strict=False):
        if accepted:
            continue
        if held <= low:
            return Verdict(
                False,
                {"unavailable": [mid]},
                f"the desk turned {mid} away at t={at:.3f} while it held {held} orders, at or "
                f"below low {low}: it should have resumed (unavailable)",
                {step: f"busy, holding {held} <= low {low}"},
            )
        if held < high and (prev is None or prev[3]):
            return Verdict(
                False,
                {"unavailable": [mid]},
                f"the desk turned {mid} away at t={at:.3f} while it held {held} orders, below "
                f"high {high}, without having been full: pause at high, not before "
                "(unavailable)",
                {step: f"busy, holding {held} < high {high}"},
            )
    return _holds()


def backs_off(outcome: Outcome) -> Verdict:
    """After the n-th refusal in a row the desk publishes again after a wait between half and
    all of min(cap, base * 2 ** (n - 1)): never at once, never much later."""
    notes = outcome.notes
    if not notes["intake"]:
        return _holds()  # the harness's own publisher
    base, cap = notes["base"], notes["cap"]
    attempts = notes["attempts"]
    streak = 0
    for (at, _step, mid, result), nxt in zip(attempts, [*attempts[1:], None], strict=False):
        if result == "confirmed":
            streak = 0
            continue
        streak += 1
        ceiling = min(cap, base * 2 ** (streak - 1))
        why = "the queue was full" if result == "refused" else "the broker's memory alarm was on"
        if nxt is None:
            continue
        waited = nxt[0] - at
        if waited < ceiling / 2 - 1e-9:
            count = sum(1 for a in attempts if a[3] != "confirmed")
            return Verdict(
                False,
                {"early": [nxt[2]]},
                f"the desk's {_nth(streak)} refusal in a row came at t={at:.3f} ({mid}: {why}), "
                f"and it published again at t={nxt[0]:.3f}, {1000 * waited:.0f} ms later: wait "
                f"at least half of min(cap, base * 2 ** {streak - 1}) = {500 * ceiling:.0f} ms; "
                f"{count} publishes were refused in all (early)",
                {nxt[1]: "published again too soon"},
            )
        if waited > ceiling + RETRY_SLACK:
            return Verdict(
                False,
                {"late": [mid]},
                f"the desk's {_nth(streak)} refusal in a row came at t={at:.3f} ({mid}: {why}), "
                f"and it published again only at t={nxt[0]:.3f}, {1000 * waited:.0f} ms later: "
                f"wait at most min(cap, base * 2 ** {streak - 1}) = {1000 * ceiling:.0f} ms "
                "(late)",
                {nxt[1]: "published again too late"},
            )
    return _holds()


def _nth(n: int) -> str:
    return {1: "first"}.get(n) or _ordinal(n)
