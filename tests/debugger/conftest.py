"""A real failure to draw: ch03's at-most-once consumer that charges before it acks.

A crash between its charge and its ack leaves the delivery unacked, the broker
requeues it, redelivered, and the restarted consumer charges the order again.
"""

from pathlib import Path

import pytest

from harness import debugger
from harness.explore import Explorer, PromiseBroken
from harness.kit import Kit
from harness.promises import NO_DUPLICATE, NO_SWALLOW, SETTLED
from harness.targets import Target
from harness.workloads import payments_queue

ROOT = Path(__file__).resolve().parents[2]
MUTANT = ROOT / "tests" / "mutants" / "ch03" / "charge_before_ack"
TEST = "exercises/ch03/test_at_most_once.py::test_no_order_is_charged_twice_whatever_single_crash"
HINT = "Once the broker has your ack, it forgets the message. What if you ack before you charge?"


def failing_kit() -> tuple[Kit, PromiseBroken]:
    """The kit of the failing test, after its exploration, and the failure it found."""
    kit = Kit(
        target=Target(MUTANT, str(MUTANT)),
        traces_dir=ROOT / "exercises" / "ch03" / "traces",
        explorer=Explorer(),
    )
    consumer = kit.component("ch03/at_most_once.py", "AtMostOnceConsumer")
    with pytest.raises(PromiseBroken) as caught:
        kit.every_single_crash(
            payments_queue, consumer, kit.traces("queue-*"), [NO_SWALLOW, NO_DUPLICATE, SETTLED]
        )
    return kit, caught.value


def replay_line(token: str) -> str:
    return f"pytest {TEST} --target tests/mutants/ch03/charge_before_ack --replay '{token}'"


@pytest.fixture(scope="session")
def failure() -> tuple[Kit, PromiseBroken]:
    return failing_kit()


@pytest.fixture
def explore_again():
    """Explore the failing test once more (for a test that watches the exploration itself)."""
    return failing_kit


@pytest.fixture(scope="session")
def recording(failure) -> debugger.Recording:
    kit, error = failure
    return debugger.record(
        kit,
        error.token,
        title="ch03 · task 1 · no order is charged twice, whatever single crash strikes",
        replay=replay_line(error.token),
        hint=HINT,
    )


@pytest.fixture(scope="session")
def page_file(recording, tmp_path_factory) -> Path:
    return debugger.write_page(tmp_path_factory.mktemp("debugger") / "failure.html", recording)
