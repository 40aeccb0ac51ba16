"""Every conformance scenario gives RabbitMQ's outcome on the simulator and on RabbitMQ itself.

``simulator`` is the broker as RABBITMQ_3 sets it up, ``kit`` the broker the
chapters use (only the scenarios it agrees with: docs/broker.md lists the
others), ``rabbitmq`` a real server (marker ``rabbitmq``).
"""

from __future__ import annotations

import pytest
from conformance.drivers import Simulated
from conformance.scenarios import SCENARIOS, Scenario

from harness.broker_settings import KIT, RABBITMQ_3

IDS = [s.name for s in SCENARIOS]


def check(scenario: Scenario, driver) -> None:
    try:
        observed = scenario.run(driver)
    finally:
        driver.finish()
    assert observed == scenario.expected, (
        f"{scenario.name} on {driver.world}: {scenario.doc}\n"
        f"  observed {observed!r}\n  expected {scenario.expected!r} (RabbitMQ 3.10)"
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_simulator(scenario: Scenario) -> None:
    """the simulator (RABBITMQ_3 settings) observes what RabbitMQ does"""
    check(scenario, Simulated(RABBITMQ_3, "simulator"))


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s.kit], ids=[s.name for s in SCENARIOS if s.kit]
)
def test_kit(scenario: Scenario) -> None:
    """the chapters' broker (KIT settings) observes it too, where it does not depart on purpose"""
    check(scenario, Simulated(KIT, "kit"))


@pytest.mark.rabbitmq
@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_rabbitmq(scenario: Scenario, real_broker) -> None:
    """a real RabbitMQ observes what the scenario expects"""
    check(scenario, real_broker)
