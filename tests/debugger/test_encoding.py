"""A long run's page: bounded in size, its first and last steps kept, and the marked ones."""

from harness import debugger
from harness.debugger.encoding import MOST_STEPS, page_data
from harness.explore import Exploration
from harness.promises import NO_LOSS, SETTLED
from harness.workloads import payments_queue


class RequeuesForEver:
    """Refuses every delivery, asking for it again: the run loops until its budget is spent."""

    def __init__(self, channel, payments):
        self.channel = channel

    def on_message(self, delivery):
        self.channel.nack(delivery.tag, requeue=True)


def test_the_page_of_a_loop_stays_under_300_kb(tmp_path):
    recording = debugger.record(
        Exploration(payments_queue, RequeuesForEver, (), (NO_LOSS, SETTLED), {}),
        "gen:0.0.0.0.0/-@s0",
    )
    assert len(recording.steps) > MOST_STEPS
    data = page_data(recording)
    shown = [step[0] for step in data["steps"]]
    assert len(shown) == MOST_STEPS and data["total"] == len(recording.steps)
    assert shown[0] == 0 and shown[-1] == len(recording.steps) - 1
    assert recording.violation in shown
    path = debugger.write_page(tmp_path / "loop.html", recording)
    assert path.stat().st_size < 300_000


def test_a_marked_step_in_the_middle_of_a_long_run_is_kept():
    from harness.debugger import Recording
    from harness.timeline import Step

    steps = tuple(Step(i / 1000, "consumer", "broker", f"ack tag={i}") for i in range(3000))
    recording = Recording("t", "t/-@s0", steps, ((),) * 3000, marks={1500: "here"})
    shown = [step[0] for step in page_data(recording)["steps"]]
    assert 1500 in shown and len(shown) == MOST_STEPS + 1
    assert page_data(recording)["violation"] == 1500


def test_a_long_run_is_watched_only_at_the_steps_its_page_shows(monkeypatch):
    """the state is taken after the steps the page keeps, not after each of thousands: a
    first replay, unwatched, says which; the kept steps still show their state"""
    from harness.broker import Broker

    taken = []
    original = Broker.snapshot
    monkeypatch.setattr(Broker, "snapshot", lambda self: taken.append(1) or original(self))
    recording = debugger.record(
        Exploration(payments_queue, RequeuesForEver, (), (NO_LOSS, SETTLED), {}),
        "gen:0.0.0.0.0/-@s0",
    )
    assert len(recording.steps) > MOST_STEPS + 500
    assert MOST_STEPS <= len(taken) <= MOST_STEPS + 10, f"{len(taken)} snapshots"
    shown = [step[0] for step in page_data(recording)["steps"]]
    assert all(recording.states[index] for index in shown), "a kept step has no state"


def test_a_panel_keeps_its_first_rows_and_says_how_many_it_had():
    """a queue of 1,000 messages shows 50 rows on the page, and its note says of how many"""
    from harness.debugger.panel import MOST_ROWS, Panel

    panel = Panel("queue payments", ("message",), [(f"m{n}",) for n in range(1000)], "ready")
    assert len(panel.rows) == MOST_ROWS and panel.rows[0] == ("m0",)
    assert panel.note == f"ready; the first {MOST_ROWS} of 1,000 rows"
    built = Panel("payments service", ("message",), [("m1",)], total=1000)
    assert built.note == "the first 1 of 1,000 rows"
