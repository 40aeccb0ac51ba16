"""ch01 · task 2 · A bus for commands and events: send to one, publish to all."""

import pytest

from harness.promises import EVERY_SUBSCRIBER, ONE_HANDLER
from harness.workloads import bus

MODULE, NAME = "ch01/bus.py", "Bus"


@pytest.mark.task(2)
@pytest.mark.points(3)
def test_a_command_reaches_exactly_one_handler(kit):
    """a command reaches exactly one handler, and its refusal the sender; none or two is a clear
    error"""
    factory = kit.component(MODULE, NAME)
    kit.once(bus, factory, kit.traces("bus-*handler*"), [ONE_HANDLER])


@pytest.mark.task(2)
@pytest.mark.points(3)
def test_an_event_reaches_every_subscriber_once(kit):
    """an event reaches every subscriber once, whichever of them fails"""
    factory = kit.component(MODULE, NAME)
    kit.once(bus, factory, kit.traces("bus-subscriber-*"), [EVERY_SUBSCRIBER])


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_every_event_of_an_order_reaches_its_subscribers(kit):
    """each event of an order reaches its subscribers once, whatever they took in before"""
    factory = kit.component(MODULE, NAME)
    kit.once(bus, factory, kit.traces("bus-events-*"), [EVERY_SUBSCRIBER])


@pytest.mark.task(2)
@pytest.mark.points(2)
def test_commands_and_events_with_many_failing_subscribers(kit):
    """commands and events keep their promises with several subscribers failing"""
    factory = kit.component(MODULE, NAME)
    kit.random_faults(bus, factory, [ONE_HANDLER, EVERY_SUBSCRIBER], max_crashes=0)
