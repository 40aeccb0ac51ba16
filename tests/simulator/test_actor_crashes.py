"""Crash points that name an actor: tokens, gates, worlds, and the per-actor enumeration."""

from __future__ import annotations

import pytest

from harness.explore import single_crash_schedules_of
from harness.faults import Crash, CrashPoint, Gate, Schedule
from harness.outcome import Outcome
from harness.world import World


@pytest.mark.parametrize(
    ("token", "crashes"),
    [
        ("relay-2:4a@s5", (CrashPoint(4, "after", "relay-2"),)),
        ("3a.relay-1:3b@s5", (CrashPoint(3, "after"), CrashPoint(3, "before", "relay-1"))),
        ("consumer_b:12b@s5", (CrashPoint(12, "before", "consumer_b"),)),
    ],
)
def test_a_token_may_name_the_actor_of_a_crash_point(token, crashes):
    """'relay-2:4a' reads as call 4 of relay-2, after; it prints back the same."""
    schedule = Schedule.from_token(token)
    assert schedule.crashes == tuple(sorted(crashes))
    assert Schedule.from_token(schedule.token) == schedule


def test_old_tokens_read_exactly_as_before():
    """A token without actors names crash points without actors (they strike every component)."""
    schedule = Schedule.from_token("3a.7b@s5")
    assert schedule.crashes == (CrashPoint(3, "after"), CrashPoint(7, "before"))
    assert all(c.actor == "" for c in schedule.crashes)
    assert schedule.token == "3a.7b@s5"


@pytest.mark.parametrize("token", ["relay-2:@s5", ":4a@s5", "2x:4a@s5", "relay 2:4a@s5", "r:0a@s5"])
def test_a_bad_actor_token_is_rejected(token):
    """A malformed actor prefix is refused with the expected form, actor form included."""
    with pytest.raises(ValueError) as caught:
        Schedule.from_token(token)
    assert repr(token) in str(caught.value)


@pytest.mark.parametrize("actor", ["2relay", "relay 2", "a:b", "x.y", 3])
def test_a_bad_actor_name_is_refused(actor):
    """An actor is a component name: a letter first, then letters, digits, '-' or '_'."""
    with pytest.raises(ValueError):
        CrashPoint(1, "before", actor)


def test_describe_names_the_actor():
    """The failure report says which component the crash struck."""
    schedule = Schedule((CrashPoint(4, "after", "relay-2"),))
    assert schedule.describe() == "crash after call 4 of relay-2"


def test_a_gate_ignores_crash_points_of_other_actors():
    """relay-2:1b does not strike relay-1's gate; it strikes relay-2's."""
    point = CrashPoint(1, "before", "relay-2")
    crashed: list[str] = []
    one = Gate("relay-1", (point,), crashed.append)
    two = Gate("relay-2", (point,), crashed.append)
    assert one.call("claim", lambda: "ok") == "ok"
    with pytest.raises(Crash):
        two.call("claim", lambda: "ok")
    assert crashed == ["before claim"]


def test_a_world_routes_named_crash_points_to_their_component():
    """Unnamed points strike every component under test; named ones only their component."""
    world = World(seed=0, crashes=(CrashPoint(1, "before"), CrashPoint(2, "after", "b")))
    a = world.host("a", lambda host: None)
    b = world.host("b", lambda host: None)
    c = world.host("c", lambda host: None, under_test=False)
    d = world.host("d", lambda host: None, under_test=False)
    world_named = World(seed=0, crashes=(CrashPoint(1, "before", "d"),))
    d2 = world_named.host("d", lambda host: None, under_test=False)
    assert a.gate._plan == {(1, "before")}
    assert b.gate._plan == {(1, "before"), (2, "after")}
    assert c.gate._plan == set() and d.gate._plan == set()
    assert d2.gate._plan == {(1, "before")}, "a point that names a component strikes it"


def test_enumeration_is_per_actor_when_the_run_says_so():
    """With actor_calls, every single crash names its actor; without, the old numbering."""
    plain = Outcome(accepted={}, effects={}, calls=2)
    assert [s.token for s in single_crash_schedules_of(plain, 0)] == [
        "1b@s0",
        "1a@s0",
        "2b@s0",
        "2a@s0",
    ]
    several = Outcome(accepted={}, effects={}, calls=3, actor_calls={"r-2": 1, "r-1": 2})
    assert [s.token for s in single_crash_schedules_of(several, 0)] == [
        "r-1:1b@s0",
        "r-1:1a@s0",
        "r-1:2b@s0",
        "r-1:2a@s0",
        "r-2:1b@s0",
        "r-2:1a@s0",
    ]
