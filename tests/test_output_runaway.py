"""A runaway loop's failure stays short: its repeated lines collapsed, its timeline shown once.

A consumer that calls a port in a loop leaves a timeline of thousands of
lines that differ only in their time. The timeline shows such a stretch
once and counts the rest; a run whose tests all meet the same loop shows its
timeline at the first failure only, and the others say where it is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.timeline import FEWEST_REPEATS, LONGEST_TIMELINE, Timeline

ROOT = Path(__file__).resolve().parent.parent
TRACE = (ROOT / "exercises" / "ch03" / "traces" / "queue-three-orders.toml").read_text()

TESTS = '''
import pytest
from harness.promises import NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import payments_queue


@pytest.mark.task(1)
def test_no_crash(kit):
    """no order is lost when nothing crashes"""
    consumer = kit.component("ch99/consumer.py", "Consumer")
    kit.once(payments_queue, consumer, kit.traces("*"), [NO_SWALLOW, NO_LOSS, SETTLED])


@pytest.mark.task(1)
def test_single_crashes(kit):
    """no order is lost, whatever single crash strikes"""
    consumer = kit.component("ch99/consumer.py", "Consumer")
    kit.every_single_crash(payments_queue, consumer, kit.traces("*"), [NO_SWALLOW, NO_LOSS])
'''

ACKS_FOREVER = """
class Consumer:
    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        while True:
            self.channel.ack(0, multiple=True)
"""
"""A consumer that settles its deliveries in a loop that never ends (each call succeeds)."""


def _loop(lines: int, *, period: int = 1) -> Timeline:
    timeline = Timeline()
    timeline.record(0.0, "harness", "consumer", "start")
    for step in range(lines):
        timeline.record(0.001 * (step // period), "consumer", "broker", f"ack {step % period}")
    return timeline


def test_a_line_a_loop_repeats_is_shown_once_with_how_often_it_came_back():
    """2,000 acks that differ only in their time: the first, then one line counting the rest"""
    shown = _loop(2000).render().splitlines()
    assert len(shown) == 3, shown
    assert shown[1].endswith("consumer → broker    ack 0")
    assert shown[2].strip() == "… the same 1,999 times more (steps 3-2001, until t=1.999)"


def test_a_stretch_of_several_lines_a_loop_repeats_is_shown_once():
    """a loop of three lines, 300 times: those three, then one line for the 299 other times"""
    shown = _loop(900, period=3).render().splitlines()
    assert [line.split("  ")[-1] for line in shown[1:4]] == ["ack 0", "ack 1", "ack 2"]
    assert shown[4].strip() == (
        "… the 3 lines above again, 299 times more (steps 5-901, until t=0.299)"
    )
    assert len(shown) == 5, shown


def test_a_few_repeated_lines_are_shown_in_full():
    """a stretch retried a dozen times in a row (a backoff, a buffer full for a while) is
    shown in full: only one that comes back more than FEWEST_REPEATS times is collapsed"""
    for period in (1, 2, 5):
        timeline = _loop(period * (FEWEST_REPEATS + 1) - 1, period=period)
        assert "…" not in timeline.render(), timeline.render()
        assert len(timeline.render().splitlines()) == len(timeline)
        timeline.record(1.0, "consumer", "broker", f"ack {(len(timeline) - 1) % period}")
        assert "…" in timeline.render()


def test_a_long_run_that_never_repeats_is_cut_around_its_crash_and_its_mark():
    """1,000 messages, each delivered and acked once, with a crash and a marked step in the
    middle: the first and last lines, the lines around the crash and the mark, and lines that
    say how many steps are left out, far fewer lines than steps"""
    timeline = Timeline()
    for n in range(1, 1001):
        timeline.record(n / 1000, "broker", "consumer", f"deliver m{n} tag={n}")
        if n == 300:
            timeline.crash(n / 1000, "consumer", "after deliver m300")
        timeline.record(n / 1000, "consumer", "broker", f"ack tag={n}")
    shown = timeline.render(marks={1500: "charged twice"}).splitlines()
    assert len(shown) <= LONGEST_TIMELINE < len(timeline)
    assert shown[0].endswith("deliver m1 tag=1") and shown[-1].endswith("ack tag=1000")
    assert any("✗ crash" in line and "after deliver m300" in line for line in shown)
    assert any(line.endswith("← charged twice") for line in shown)
    left_out = [line.strip() for line in shown if "steps left out" in line]
    assert len(left_out) == 3, left_out
    counted = sum(int(line.split()[1].replace(",", "")) for line in left_out)
    assert counted + len(shown) - len(left_out) == len(timeline)


def test_a_marked_step_inside_a_loop_is_shown():
    """the step a verdict points at is shown with its note, even in the middle of a loop"""
    shown = _loop(2000).render(marks={1000: "this one"}).splitlines()
    assert [line for line in shown if "← this one" in line] == [
        next(line for line in shown if "← this one" in line)
    ]
    assert sum("…" in line for line in shown) == 2
    assert len(shown) < 8, shown


@pytest.fixture
def chapter(pytester: pytest.Pytester) -> pytest.Pytester:
    """A miniature kit: exercises/ch99 with one trace, two tests and a consumer that loops."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n")
    (pytester.path / "exercises/ch99/traces").mkdir(parents=True)
    (pytester.path / "exercises/ch99/traces/three.toml").write_text(TRACE)
    (pytester.path / "exercises/ch99/test_ch99.py").write_text(TESTS)
    (pytester.path / "exercises/ch99/consumer.py").write_text(ACKS_FOREVER)
    return pytester


def _failures(output: str) -> dict[str, str]:
    """Each test's failure block, by test name (pytest's short summary left out)."""
    blocks = output.split(" short test summary info ")[0]
    parts = re.split(r"(?m)^_{3,} (test_\w+) _{3,}$", blocks)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_a_runaway_loop_fails_in_a_few_lines_and_shows_its_timeline_once(chapter):
    """two tests meet the same loop of acks: each failure is short, the timeline is shown in
    the first one only, and the second names the loop's line and still has its replay line"""
    out = chapter.runpytest_inprocess("exercises/ch99").stdout.str()
    failures = _failures(out)
    assert set(failures) == {"test_no_crash", "test_single_crashes"}, out[-3000:]
    first, second = failures["test_no_crash"], failures["test_single_crashes"]
    assert "RunawayLoop" in first and "RunawayLoop" in second
    assert re.search(r"… the same [\d,]+ times more \(steps \d+-\d+\)", first), first
    assert len(re.findall(r"consumer → broker +ack tag=0 multiple", first)) == 1, first
    assert len(first.splitlines()) < 30, first
    assert "timeline up to the error" not in second and "→ broker" not in second
    assert re.search(r"where +\S*ch99/consumer\.py:9 \(on_message\), the same loop as in", second)
    assert "test_no_crash" in second
    assert re.search(r"replay: +pytest exercises/ch99/test_ch99.py::test_single_crashes", second)
    assert len(out.splitlines()) < 70, out
