"""The failure of a live run, for people: it says it is live, and what each world gave.

A live failure has the shape of a simulated one (the promise, what was
observed, the trace, the timeline, a hint) with three differences: its title
says ``FAILED · live``; it has no replay token and no shrinking, and says so;
and it shows what the simulator gave on the same trace and schedule
(:mod:`harness.live.comparison`), with the command that replays the case there
when the simulator broke the promise too.
"""

from __future__ import annotations

from harness.live.explorer import LiveBroken
from harness.report import _field, title_line


def live_broken(
    error: LiveBroken, *, title: str, again: str, replay_sim: str, hint: str | None
) -> str:
    """The report of ``error``; ``again`` reruns the test live, ``replay_sim`` replays the case
    on the simulator (shown when the simulator broke the promise too)."""
    comparison = error.comparison
    outcome = error.outcome
    trace = error.trace
    facts = [f"{trace.name} ({trace.title})", outcome.schedule.describe()]
    facts.append(f"run {error.runs} of this test")
    lines = [
        title_line(title, "FAILED · live"),
        _field(
            "world",
            f"live, on {error.where}: real time, so no determinism, no shrinking and "
            "no replay token",
        ),
        _field("promise", error.promise.statement),
        _field("observed", error.verdict.observed),
        _field("trace", " · ".join(facts)),
        "    (times in real seconds since the run began)",
        outcome.timeline.render(marks=error.verdict.marks, indent="    "),
        _field("worlds", "\n".join(comparison.lines())),
        _field("again", f"{again}   (live: the next run may interleave differently)"),
    ]
    if comparison.agree:
        lines.append(_field("on sim", f"{replay_sim}   (the same case, deterministic)"))
    if hint:
        lines.append(_field("hint", hint))
    return "\n".join(lines)
