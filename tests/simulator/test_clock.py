"""The virtual clock: monotonic, and mirrored into the patched time functions."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from harness.clock import EPOCH, VirtualClock, frozen_time
from harness.world import World


def test_a_new_clock_starts_at_zero():
    """Virtual time starts at 0.0."""
    assert VirtualClock().now == 0.0


def test_advance_to_moves_forward_and_never_back():
    """advance_to a later time moves the clock; an earlier time leaves it where it is."""
    clock = VirtualClock()
    clock.advance_to(2.0)
    assert clock.now == 2.0
    clock.advance_to(1.0)
    assert clock.now == 2.0
    clock.advance_to(2.0)
    assert clock.now == 2.0
    clock.advance_to(3.5)
    assert clock.now == 3.5


def test_advance_by_adds_and_never_goes_back():
    """advance_by adds its seconds; a negative amount does not move the clock back."""
    clock = VirtualClock()
    clock.advance_by(0.25)
    clock.advance_by(0.5)
    assert clock.now == pytest.approx(0.75)
    clock.advance_by(-1.0)
    assert clock.now == pytest.approx(0.75)


def test_frozen_time_follows_the_virtual_clock_of_a_world():
    """Inside frozen_time, time.time/monotonic and datetime.now show EPOCH + the world's now."""
    real_time = time.time
    with frozen_time() as freezer:
        world = World(seed=0, freezer=freezer)
        assert time.time() == pytest.approx(EPOCH.timestamp())
        assert datetime.now(timezone.utc) == EPOCH
        world.clock.advance_to(90.25)
        assert time.time() == pytest.approx(EPOCH.timestamp() + 90.25)
        assert time.monotonic() == pytest.approx(EPOCH.timestamp() + 90.25)
        assert datetime.now(timezone.utc) == EPOCH + timedelta(seconds=90.25)
        assert datetime.now() == (EPOCH + timedelta(seconds=90.25)).replace(tzinfo=None)
        world.clock.advance_to(10.0)  # ignored: the clock never goes back
        assert time.time() == pytest.approx(EPOCH.timestamp() + 90.25)
    assert time.time is real_time, "leaving frozen_time gives the real clock back"


def test_learner_code_run_by_the_scheduler_reads_the_event_time():
    """Code run by a scheduled event reads the event's virtual time through time.time()."""
    with frozen_time() as freezer:
        world = World(seed=0, freezer=freezer)
        seen = []
        for when in (0.5, 3.0):
            world.scheduler.at(when, lambda: seen.append(time.time() - EPOCH.timestamp()))
        world.scheduler.run()
    assert seen == [pytest.approx(0.5), pytest.approx(3.0)]


def test_a_clock_bound_to_a_freezer_starts_the_frozen_time_at_epoch():
    """Binding a new clock moves the frozen time back to EPOCH: each run starts alike."""
    with frozen_time() as freezer:
        first = VirtualClock(freezer)
        first.advance_to(50.0)
        VirtualClock(freezer)
        assert datetime.now(timezone.utc) == EPOCH
