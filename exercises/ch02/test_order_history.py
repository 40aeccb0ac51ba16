"""ch02 · task 4 · A late read model rebuilds history."""

import pytest

from harness.promises import NO_SWALLOW, REPLAY_CONVERGES
from harness.workloads import history_log

MODULE, NAME = "ch02/order_history.py", "OrderHistory"


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_a_late_read_model_sees_every_order(kit):
    """a read model in its own group gets every record, however late it starts"""
    read_model = kit.component(MODULE, NAME)
    traces = [t for t in kit.traces("history-*") if not t.name.startswith("history-after-")]
    if not traces:
        pytest.skip("every history trace here is one of retention (history-after-*)")
    kit.once(history_log, read_model, traces, [NO_SWALLOW, REPLAY_CONVERGES])


@pytest.mark.task(4)
@pytest.mark.points(1)
def test_after_retention_the_read_model_starts_at_the_oldest_record(kit):
    """after retention removed the oldest records, the read model starts at the oldest one left"""
    read_model = kit.component(MODULE, NAME)
    kit.once(
        history_log,
        read_model,
        kit.traces("history-after-*"),
        [NO_SWALLOW, REPLAY_CONVERGES],
    )


@pytest.mark.task(4)
@pytest.mark.points(2)
def test_a_crash_rebuilds_the_same_view(kit):
    """whatever single crash wipes its memory, the read model rebuilds the same view"""
    read_model = kit.component(MODULE, NAME)
    kit.every_single_crash(
        history_log, read_model, kit.traces("history-*"), [NO_SWALLOW, REPLAY_CONVERGES]
    )
