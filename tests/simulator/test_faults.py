"""Crash points, schedules and their tokens, and the gate in front of every call."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.faults import Crash, CrashPoint, Gate, Schedule

crash_points = st.builds(CrashPoint, st.integers(1, 10_000), st.sampled_from(["before", "after"]))


@settings(max_examples=50, deadline=None)
@given(crashes=st.lists(crash_points, max_size=5), seed=st.integers(-(2**31), 2**31))
def test_a_schedule_survives_its_token(crashes, seed):
    """Schedule.from_token(s.token) == s for any crashes and seed."""
    schedule = Schedule(tuple(crashes), seed)
    assert Schedule.from_token(schedule.token) == schedule


@pytest.mark.parametrize(
    ("token", "crashes", "seed"),
    [
        ("-@s5", (), 5),
        ("-@s-3", (), -3),
        ("3a@s0", (CrashPoint(3, "after"),), 0),
        ("3a.7b@s5", (CrashPoint(3, "after"), CrashPoint(7, "before")), 5),
        (" 12b@s1 ", (CrashPoint(12, "before"),), 1),
    ],
)
def test_known_tokens_read_as_expected(token, crashes, seed):
    """A token reads as its crash points and seed; '-' means no crash."""
    schedule = Schedule.from_token(token)
    assert (schedule.crashes, schedule.seed) == (crashes, seed)
    assert schedule.token == token.strip()


def test_no_crash_prints_as_a_dash():
    """A schedule without crashes prints as '-@sSEED' and describes itself as 'no crash'."""
    assert Schedule(seed=5).token == "-@s5"
    assert Schedule().describe() == "no crash"
    assert Schedule((CrashPoint(2, "before"),)).describe() == "crash before call 2"


def test_a_schedule_sorts_and_deduplicates_its_crashes():
    """Crash points are kept sorted and distinct, so equal schedules print equal tokens."""
    a, b = CrashPoint(7, "before"), CrashPoint(3, "after")
    assert Schedule((a, b, a), 1) == Schedule((b, a), 1)
    assert Schedule((a, b, a), 1).token == "3a.7b@s1"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "-",
        "3a",
        "@s5",
        "3x@s5",
        "3a.@s5",
        "3a7b@s5",
        "a3@s5",
        "3a@5",
        "3a@sfive",
        "- @s5",
        "3@s5",
    ],
)
def test_a_bad_token_is_rejected_with_the_expected_form(token):
    """A malformed token raises ValueError quoting it and showing '3a.7b@s5' and '-@s5'."""
    with pytest.raises(ValueError) as caught:
        Schedule.from_token(token)
    message = str(caught.value)
    assert repr(token) in message
    assert "'3a.7b@s5'" in message and "'-@s5'" in message


@pytest.mark.parametrize(
    ("call", "when"), [(0, "before"), (-1, "after"), (1.0, "before"), ("1", "before"), (1, "b")]
)
def test_a_bad_crash_point_is_rejected(call, when):
    """A crash point's call is an int >= 1 and it strikes 'before' or 'after'."""
    with pytest.raises(ValueError):
        CrashPoint(call, when)


def test_a_bool_is_not_a_call_number():
    """CrashPoint(True, ...) is refused like any other non-int call number."""
    with pytest.raises(ValueError):
        CrashPoint(True, "before")


def test_crash_is_not_an_exception():
    """Crash derives from BaseException only, so `except Exception` lets it through."""
    assert not issubclass(Crash, Exception)
    gate = Gate("c", (CrashPoint(1, "before"),), lambda where: None)
    with pytest.raises(Crash):
        try:
            gate.call("ack", lambda: None)
        except Exception:  # what careful learner code does: it must not catch the crash
            pytest.fail("except Exception caught the crash")


class Effects:
    """A gate with a recorder: which effects ran and where it crashed."""

    def __init__(self, *crashes: CrashPoint) -> None:
        self.applied: list[str] = []
        self.crashed: list[str] = []
        self.gate = Gate("consumer", crashes, self.crashed.append)

    def call(self, what: str) -> str:
        return self.gate.call(what, lambda: self.applied.append(what) or what.upper())


def test_calls_are_numbered_and_return_their_effect():
    """Without a crash, each call runs its effect, returns its result, and counts 1, 2, 3."""
    e = Effects()
    assert [e.call(w) for w in ("charge", "ack", "charge")] == ["CHARGE", "ACK", "CHARGE"]
    assert e.gate.calls == 3
    assert e.applied == ["charge", "ack", "charge"]


def test_a_crash_before_a_call_does_not_apply_its_effect():
    """Crashing 'before' call 2: the effect of call 2 never happens."""
    e = Effects(CrashPoint(2, "before"))
    e.call("charge")
    with pytest.raises(Crash, match="before ack"):
        e.call("ack")
    assert e.applied == ["charge"]
    assert e.crashed == ["before ack"]
    assert e.gate.dead


def test_a_crash_after_a_call_applies_its_effect_then_crashes():
    """Crashing 'after' call 2: the effect happens, then the call raises Crash."""
    e = Effects(CrashPoint(2, "after"))
    e.call("charge")
    with pytest.raises(Crash, match="after ack"):
        e.call("ack")
    assert e.applied == ["charge", "ack"]
    assert e.crashed == ["after ack"]


def test_a_crash_after_a_failing_call_still_strikes():
    """Crashing 'after' a call whose effect raised: the effect's error gives way to Crash."""
    crashed: list[str] = []
    gate = Gate("consumer", (CrashPoint(1, "after"),), crashed.append)

    def fails():
        raise ValueError("gateway timeout")

    with pytest.raises(Crash) as caught:
        gate.call("charge", fails)
    assert isinstance(caught.value.__context__, ValueError)
    assert crashed == ["after charge (which failed)"]


def test_after_a_crash_every_call_raises_crash_and_marks_it_swallowed():
    """Once crashed, any further call raises Crash without effect and sets swallowed."""
    e = Effects(CrashPoint(1, "before"))
    with pytest.raises(Crash):
        e.call("charge")
    assert not e.gate.swallowed
    for what in ("ack", "publish"):
        with pytest.raises(Crash, match="already crashed"):
            e.call(what)
        assert e.gate.swallowed
    assert e.applied == []
    assert e.gate.calls == 1, "calls made while dead are not numbered"


def test_revive_starts_a_new_incarnation_and_numbering_goes_on():
    """After revive() calls work again, still numbered from where they were (all incarnations)."""
    e = Effects(CrashPoint(1, "after"), CrashPoint(3, "before"))
    with pytest.raises(Crash):
        e.call("charge")
    e.gate.revive()
    assert not e.gate.dead and not e.gate.swallowed
    e.call("ack")
    with pytest.raises(Crash):
        e.call("commit")
    assert e.applied == ["charge", "ack"]
    assert e.crashed == ["after charge", "before commit"]
    assert e.gate.calls == 3
