"""ch07 · task 4 · Pause at the high watermark, resume at the low one, and do not flap."""

import pytest

from harness.promises import (
    BACKS_OFF,
    DESK_WITHIN_HIGH,
    FULL_THROUGHPUT,
    LAG_DRAINS,
    NO_FLAPPING,
    NOTHING_DROPPED,
    RESUMES_AT_LOW,
    WITHIN_WINDOW,
)
from harness.workloads import flash_sale
from harness.workloads.flash_sale import Sale

INTAKE = "ch07/order_intake.py", "OrderIntake"
CONSUMER = "ch07/paced_consumer.py", "PacedConsumer"
WATERMARKS = [NOTHING_DROPPED, DESK_WITHIN_HIGH, RESUMES_AT_LOW, NO_FLAPPING]


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_the_desk_pauses_at_high_and_resumes_at_low(kit):
    """while the broker refuses, the desk holds at most high orders, turns customers away until
    it is back at low, then takes them again"""
    intake = kit.component(*INTAKE)
    traces = kit.traces("broker-refuses") + kit.traces("consumer-stalls")
    kit.once(flash_sale, Sale(intake=intake), traces, WATERMARKS)


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_the_whole_chain_holds_through_two_stalls(kit):
    """your consumer and your desk together, through two stalls and a memory alarm: every
    promise of the chapter, at every step"""
    intake, consumer = kit.component(*INTAKE), kit.component(*CONSUMER)
    traces = kit.traces("consumer-stalls") + kit.traces("broker-refuses")
    kit.once(
        flash_sale,
        Sale(consumer=consumer, intake=intake),
        traces,
        [*WATERMARKS, WITHIN_WINDOW, BACKS_OFF, FULL_THROUGHPUT, LAG_DRAINS],
    )
