"""The scheduler: one heap of (time, priority, sequence, action), one seeded random."""

from __future__ import annotations

import pytest

from harness.clock import VirtualClock
from harness.scheduler import BudgetExceeded, Scheduler


def make(seed: int = 0) -> Scheduler:
    return Scheduler(VirtualClock(), seed=seed)


def test_events_run_in_time_order_whatever_the_order_they_were_scheduled_in():
    """Events come out by time, not by the order in which they were scheduled."""
    s = make()
    seen = []
    for when in (0.3, 0.1, 0.2, 0.0):
        s.at(when, lambda when=when: seen.append((when, s.clock.now)))
    assert s.run() == 4
    assert seen == [(0.0, 0.0), (0.1, 0.1), (0.2, 0.2), (0.3, 0.3)]


def test_simultaneous_events_run_in_insertion_order():
    """Events at the same time and priority come out in the order they were scheduled."""
    s = make()
    seen = []
    for name in "edcba":
        s.at(1.0, lambda name=name: seen.append(name))
    s.run()
    assert seen == list("edcba")


def test_a_lower_priority_number_runs_first_at_the_same_time():
    """At one time, priority 0 runs before 1 before 2, whatever the insertion order."""
    s = make()
    seen = []
    s.at(1.0, lambda: seen.append("p2"), priority=2)
    s.at(1.0, lambda: seen.append("p1"), priority=1)
    s.at(1.0, lambda: seen.append("p0"), priority=0)
    s.at(0.5, lambda: seen.append("early p9"), priority=9)
    s.run()
    assert seen == ["early p9", "p0", "p1", "p2"]


def test_events_scheduled_while_running_take_their_turn():
    """An event that schedules others at the same time runs them after those already waiting."""
    s = make()
    seen = []

    def first():
        seen.append("first")
        s.after(0.0, lambda: seen.append("spawned"))

    s.at(1.0, first)
    s.at(1.0, lambda: seen.append("second"))
    s.run()
    assert seen == ["first", "second", "spawned"]


def test_run_until_stops_before_later_events_and_includes_the_boundary():
    """run(until=t) runs every event at or before t and leaves the later ones waiting."""
    s = make()
    seen = []
    for when in (1.0, 2.0, 2.0, 3.0):
        s.at(when, lambda when=when: seen.append(when))
    assert s.run(until=2.0) == 3
    assert seen == [1.0, 2.0, 2.0]
    assert s.peek() == 3.0
    assert s.clock.now == 2.0
    assert s.run() == 1
    assert seen[-1] == 3.0
    assert s.peek() is None


def test_budget_exceeded_when_max_events_is_spent_and_more_are_waiting():
    """run(max_events=n) raises BudgetExceeded once n events ran and another is still waiting."""
    s = make()
    seen = []
    for index in range(5):
        s.at(float(index), lambda index=index: seen.append(index))
    with pytest.raises(BudgetExceeded, match="3"):
        s.run(max_events=3)
    assert seen == [0, 1, 2]


def test_exactly_max_events_is_within_budget():
    """Running exactly max_events events and then running dry is not an overrun."""
    s = make()
    for index in range(3):
        s.at(float(index), lambda: None)
    assert s.run(max_events=3) == 3


def test_a_world_that_never_settles_hits_the_budget():
    """An event that always reschedules itself ends in BudgetExceeded, not a hang."""
    s = make()

    def again():
        s.after(0.001, again)

    s.after(0.0, again)
    with pytest.raises(BudgetExceeded):
        s.run(max_events=100)


def test_the_clock_never_goes_back():
    """An event scheduled in the past runs at the current time: the clock does not go back."""
    s = make()
    seen = []

    def late():
        s.at(1.0, lambda: seen.append(s.clock.now))

    s.at(5.0, late)
    s.run()
    assert seen == [5.0]
    assert s.clock.now == 5.0


def test_an_event_scheduled_in_the_past_queues_behind_events_already_due_now():
    """A past time means 'now': the event takes its turn behind those already due now."""
    s = make()
    seen = []

    def schedule_in_the_past():
        s.at(5.0, lambda: seen.append("due now"), priority=0)
        s.at(1.0, lambda: seen.append("from the past"), priority=1)

    s.at(5.0, schedule_in_the_past)
    s.run()
    assert seen == ["due now", "from the past"]


def test_step_and_peek():
    """step() runs exactly one event and moves the clock to it; peek() shows the next time."""
    s = make()
    seen = []
    assert s.peek() is None
    assert s.step() is False
    s.at(0.7, lambda: seen.append("a"))
    s.at(0.2, lambda: seen.append("b"))
    assert s.peek() == 0.2
    assert s.step() is True
    assert (seen, s.clock.now, s.peek()) == (["b"], 0.2, 0.7)


def test_the_same_seed_gives_the_same_random_draws():
    """Two schedulers with one seed draw the same numbers; another seed draws others."""
    draws = [[make(seed).random.random() for _ in range(5)] for seed in (42, 42, 43)]
    assert draws[0] == draws[1]
    assert draws[0] != draws[2]


@pytest.mark.parametrize("seed", [True, 1.0, "1", None])
def test_a_seed_that_is_not_an_int_is_rejected(seed):
    """A seed is an int: a bool, float, string or None is refused at construction."""
    with pytest.raises(TypeError, match="seed must be an int"):
        Scheduler(VirtualClock(), seed=seed)


def test_a_negative_delay_is_rejected():
    """after() with a negative delay raises ValueError and schedules nothing."""
    s = make()
    with pytest.raises(ValueError, match="delay must be >= 0"):
        s.after(-0.001, lambda: None)
    assert s.peek() is None
