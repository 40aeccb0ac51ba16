"""The pytest plugin, tested with pytester on a miniature chapter (Hypothesis's habit)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRACE = (ROOT / "exercises" / "ch03" / "traces" / "queue-three-orders.toml").read_text()

TESTS = '''
import pytest
from harness.promises import NO_LOSS, NO_SWALLOW, SETTLED
from harness.workloads import payments_queue


@pytest.mark.task(1)
@pytest.mark.points(2)
def test_single_crashes(kit):
    """no order is lost, whatever single crash strikes"""
    consumer = kit.component("ch99/consumer.py", "Consumer")
    promises = [NO_SWALLOW, NO_LOSS, SETTLED]
    kit.every_single_crash(payments_queue, consumer, kit.traces("*"), promises)


@pytest.mark.task(2)
@pytest.mark.points(1)
def test_many_crashes(kit):
    """no order is lost under several crashes"""
    consumer = kit.component("ch99/consumer.py", "Consumer")
    kit.random_faults(payments_queue, consumer, [NO_SWALLOW, NO_LOSS, SETTLED])
'''

ACK_FIRST = """
from harness.ports import PaymentFailed


class Consumer:
    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.channel.ack(delivery.tag)
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            pass
"""

INFO = """
[[chapters]]
id = "ch99"
title = "A miniature chapter"

[[chapters.tasks]]
task = 1
title = "Single crashes"
module = "ch99/consumer.py"
hints = ["Ack only after the charge returned."]

[[chapters.tasks]]
task = 2
title = "Many crashes"
module = "ch99/consumer.py"
hints = ["Nack with requeue when the charge fails."]
"""


@pytest.fixture
def chapter(pytester: pytest.Pytester):
    """A miniature kit: exercises/ch99 with one trace, tests, and a learner module."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n")
    pytester.mkdir("exercises")
    pytester.mkdir("exercises/ch99")
    pytester.mkdir("exercises/ch99/traces")
    (pytester.path / "exercises/ch99/traces/three.toml").write_text(TRACE)
    (pytester.path / "exercises/ch99/test_ch99.py").write_text(TESTS)
    return pytester


def write_consumer(pytester: pytest.Pytester, source: str) -> None:
    (pytester.path / "exercises/ch99/consumer.py").write_text(source)


def replay_command(output: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.strip().startswith("replay:"))
    return shlex.split(line.split("replay:", 1)[1])


def failures_only(output: str) -> str:
    """The failure blocks, without pytest's short summary (which repeats them whole when
    CI is set, where pytest does not cut its summary lines)."""
    return output.split(" short test summary info ")[0]


def failure_text(output: str) -> str:
    """The failure blocks without the summary line (its duration, and so its padding, varies)."""
    return re.sub(r"(?m)^=+ .* in [\d.]+s.*$", "", output)


def test_the_replay_line_reproduces_the_same_failure_and_nothing_else(chapter):
    """the `replay:` line runs one test, one case, and shows the same broken promise"""
    write_consumer(chapter, ACK_FIRST)
    first = chapter.runpytest_inprocess("exercises/ch99", "--task", "1")
    first.assert_outcomes(failed=1)
    out = first.stdout.str()
    observed = next(line for line in out.splitlines() if "observed" in line)
    command = replay_command(out)
    assert command[0] == "pytest" and "--replay" in command
    again = chapter.runpytest_inprocess(*command[1:])
    again.assert_outcomes(failed=1)
    assert observed in again.stdout.str()
    assert "1 run explored" in again.stdout.str()


def test_a_hypothesis_failure_replays_too(chapter):
    """a failure drawn by Hypothesis prints a replay line that reproduces it without Hypothesis"""
    write_consumer(chapter, ACK_FIRST)
    first = chapter.runpytest_inprocess("exercises/ch99", "--task", "2")
    first.assert_outcomes(failed=1)
    command = replay_command(first.stdout.str())
    assert any(part.startswith("gen:") for part in command)
    again = chapter.runpytest_inprocess(*command[1:])
    again.assert_outcomes(failed=1)
    assert "never charged (lost)" in again.stdout.str()


def test_the_same_run_twice_gives_the_same_failure(chapter):
    """determinism: the same code, the same profile, the same output"""
    write_consumer(chapter, ACK_FIRST)
    args = ("exercises/ch99", "--hypothesis-profile", "grading")
    one = chapter.runpytest_inprocess(*args).stdout.str()
    two = chapter.runpytest_inprocess(*args).stdout.str()
    assert failure_text(one) == failure_text(two)


def test_a_broken_promise_shows_promise_observed_timeline_and_hint_fields(chapter):
    """the failure names the promise, what was observed, the crash in the timeline"""
    write_consumer(chapter, ACK_FIRST)
    out = chapter.runpytest_inprocess("exercises/ch99", "--task", "1").stdout.str()
    assert "ch99 · task 1 · no order is lost, whatever single crash strikes" in out
    assert "promise   every accepted message takes effect at least once" in out
    assert "✗ crash" in out
    assert "Traceback" not in out and "harness/" not in out
    picture = next(line for line in out.splitlines() if line.strip().startswith("picture"))
    svg = (chapter.path / picture.split()[-1]).read_text()
    assert svg.startswith("<svg") and "crash after" in svg


def test_a_stub_says_which_todo_to_fill(chapter):
    """a stub's NotImplementedError is a short NOT DONE YET naming its TODO"""
    write_consumer(
        chapter,
        "class Consumer:\n"
        "    def __init__(self, channel, payments):\n        pass\n"
        "    def on_message(self, delivery):\n"
        "        raise NotImplementedError('TODO(ch99.1): charge and ack')\n",
    )
    result = chapter.runpytest_inprocess("exercises/ch99")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "NOT DONE YET" in out and "TODO(ch99.1): charge and ack" in out
    assert "exercises/ch99/consumer.py:5" in out
    assert "Traceback" not in out


def test_a_learner_exception_shows_the_learners_traceback_only(chapter):
    """an exception in learner code shows the learner's frames, not the harness's"""
    write_consumer(
        chapter,
        "class Consumer:\n"
        "    def __init__(self, channel, payments):\n        self.channel = channel\n"
        "    def on_message(self, delivery):\n"
        "        total = delivery.body['order_id'] + 1\n",
    )
    result = chapter.runpytest_inprocess("exercises/ch99", "--task", "1")
    out = result.stdout.str()
    assert "ERROR IN YOUR CODE" in out
    assert "TypeError" in out
    assert 'consumer.py", line 5, in on_message' in out
    assert "world.py" not in out and "broker.py" not in out
    assert "replay:" in out


def test_a_loop_that_never_ends_fails_with_a_timeout_message(chapter):
    """an infinite loop in learner code is a failed test with a clear message, not a hang"""
    write_consumer(
        chapter,
        "class Consumer:\n"
        "    def __init__(self, channel, payments):\n        pass\n"
        "    def on_message(self, delivery):\n        while True:\n            pass\n",
    )
    test = chapter.path / "exercises/ch99/test_ch99.py"
    test.write_text(
        test.read_text().replace(
            "@pytest.mark.task(1)", "@pytest.mark.timeout(1)\n@pytest.mark.task(1)"
        )
    )
    result = chapter.runpytest_inprocess("exercises/ch99", "--task", "1")
    result.assert_outcomes(failed=1)
    assert "TIMEOUT" in result.stdout.str()
    assert "loop in" in result.stdout.str()


SLOW_DRAWS = """
import time
from types import SimpleNamespace

import pytest
from harness.promises import NO_LOSS
from harness.workloads import payments_queue


def slow(spec):
    time.sleep(0.4)
    return spec


slow_queue = SimpleNamespace(
    specs=lambda: payments_queue.specs().map(slow),
    generate=payments_queue.generate,
    run=payments_queue.run,
)


@pytest.mark.timeout(1)
@pytest.mark.task(2)
def test_many_crashes(kit):
    consumer = kit.component("ch99/consumer.py", "Consumer")
    kit.random_faults(slow_queue, consumer, [NO_LOSS])
"""


def test_a_timeout_while_hypothesis_draws_a_case_is_a_timeout_not_flaky_data(chapter):
    """the test's time runs out inside Hypothesis's data generation: TIMEOUT, not 'flaky'"""
    write_consumer(chapter, ACK_AFTER)
    (chapter.path / "exercises/ch99/test_ch99.py").write_text(SLOW_DRAWS)
    result = chapter.runpytest_inprocess("exercises/ch99")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "TIMEOUT" in out and "within 1 s of real time" in out, out[-3000:]
    assert "Flaky" not in out and "Inconsistent data generation" not in out, out[-3000:]


def test_an_unknown_target_lists_the_valid_ones(chapter):
    """--target with a typo is a usage error that names the valid targets"""
    result = chapter.runpytest_inprocess("exercises/ch99", "--target", "solutons")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'exercises'" in result.stderr.str() and "'solutions'" in result.stderr.str()


def test_a_missing_module_in_the_target_is_a_clear_failure(chapter):
    """a target without the module fails the test with the module's name, not a traceback"""
    result = chapter.runpytest_inprocess("exercises/ch99", "--task", "1")
    result.assert_outcomes(failed=1)
    assert "has no module ch99/consumer.py" in result.stdout.str()


def test_results_json_records_status_points_and_promise(chapter):
    """--results-json records each test's status, points and the promise it broke"""
    write_consumer(chapter, ACK_FIRST)
    chapter.runpytest_inprocess("exercises/ch99", "--results-json", "out.json")
    results = json.loads((chapter.path / "out.json").read_text())["tests"]
    by_task = {r["task"]: r for r in results}
    assert by_task[1]["status"] == "failed" and by_task[1]["promise"] == "no-loss"
    assert by_task[1]["max_points"] == 2 and by_task[2]["max_points"] == 1


def test_an_unknown_chapter_lists_the_known_ones(chapter):
    """`pytest exercises/ch07` on a kit without ch07 names the chapters that exist"""
    write_consumer(chapter, ACK_FIRST)
    result = chapter.runpytest_inprocess("exercises/ch07")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "there is no exercises/ch07" in result.stderr.str()
    assert "ch99" in result.stderr.str()


def test_hidden_traces_alone_still_draw_the_generated_traces(chapter):
    """--hidden-traces replaces the visible traces, never the generated ones; --hidden-only does"""
    write_consumer(chapter, ACK_FIRST)
    (chapter.path / "hidden/ch99").mkdir(parents=True)
    (chapter.path / "hidden/ch99/mine.toml").write_text(TRACE)
    for extra, generated in (((), "failed"), (("--hidden-only",), "skipped")):
        chapter.runpytest_inprocess(
            "exercises/ch99", "--hidden-traces", "hidden", *extra, "--results-json", "out.json"
        )
        results = json.loads((chapter.path / "out.json").read_text())["tests"]
        by_task = {r["task"]: r for r in results}
        assert by_task[1]["status"] == "failed" and by_task[1]["hidden_traces"] == 1, extra
        assert by_task[2]["status"] == generated, (extra, by_task[2])


def test_a_stub_failure_names_its_own_todo_its_readme_section_and_its_hints():
    """a task whose test reaches another task's TODO first still names its own TODO"""
    import subprocess
    import sys

    import pristine_copy

    stubs = pristine_copy.exercises().resolve()  # the shipped stubs, whatever the tree holds
    command = [sys.executable, "-m", "pytest", "exercises/ch02", "--task", "3"]
    command += ["--target", str(stubs), "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    out = done.stdout
    assert re.search(
        r"todo +ch02\.3 is still to be filled: "
        rf"{re.escape(str(stubs))}/ch02/shipping\.py:\d+ \(on_partitions_revoked\)",
        out,
    ), out
    assert re.search(r"first +ch02\.2, which this test reaches before it", out), out
    assert re.search(
        r"read +exercises/ch02/README\.md:\d+ \(3\. Hand over on a rebalance\)", out
    ), out
    assert re.search(r"hints +grader hint ch02\.3", out), out
    assert "ch02.3 is still to be filled (see above)" in out


def test_a_syntax_error_is_shown_once_as_python_shows_it_and_without_a_hint(chapter):
    """the file, the line and the caret once; later tests of the run only refer to it"""
    write_consumer(chapter, "class Consumer:\n    def __init__(self, channel, payments)\n")
    (chapter.path / "exercises/info.toml").write_text(INFO)
    result = chapter.runpytest_inprocess("exercises/ch99", "--results-json", "out.json")
    out = failures_only(result.stdout.str())
    results = json.loads((chapter.path / "out.json").read_text())["tests"]
    assert {(r["status"], r["error"], r["hint"]) for r in results} == {
        ("error", "SyntaxError", None)
    }
    assert out.count("as Python shows it:") == 1, out
    assert re.search(
        r'File ".*consumer\.py", line 2\n +def __init__\(self, channel, payments\)\n +\^', out
    )
    assert "the same SyntaxError: expected ':' (consumer.py, line 2) as above" in out
    assert not re.search(r"(?m)^ +hint +", out), out


CHATTY = ACK_FIRST.replace(
    "        self.channel.ack(delivery.tag)",
    "        for n in range(2000):\n            print('line', n, 'x' * 20)\n"
    "        print('y' * 5000)\n        self.channel.ack(delivery.tag)",
)


@pytest.mark.parametrize("isolate", [(), ("--isolate",)], ids=["in-process", "isolated"])
def test_a_chatty_learner_output_is_capped_per_test_saying_how_much_was_cut(chapter, isolate):
    """thousands of printed lines per message: each failure shows 40 of them and the count cut"""
    write_consumer(chapter, CHATTY)
    result = chapter.runpytest_inprocess("exercises/ch99", *isolate)
    out = failures_only(result.stdout.str())
    cuts = re.findall(r"… ([\d,]+) more lines \(([\d.]+ [KM]B)\) cut here", out)
    assert len(cuts) == 2, out[-3000:]
    assert all(int(n.replace(",", "")) > 2000 for n, _ in cuts), cuts
    assert len(out.splitlines()) < 200, len(out.splitlines())
    assert "characters of lines longer than 300 cut" in out


ACK_AFTER = """
from harness.ports import PaymentFailed


class Consumer:
    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        try:
            self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        except PaymentFailed:
            self.channel.nack(delivery.tag, requeue=True)
            return
        self.channel.ack(delivery.tag)
"""


def test_the_picture_is_headed_by_the_promise_and_goes_when_its_test_passes(chapter):
    """a failure's picture names the promise and the observation; fixing the code removes it"""
    write_consumer(chapter, ACK_FIRST)
    out = chapter.runpytest_inprocess("exercises/ch99", "--task", "1").stdout.str()
    picture = chapter.path / next(
        line.split()[-1] for line in out.splitlines() if line.strip().startswith("picture")
    )
    svg = picture.read_text()
    assert "promise   every accepted message takes effect at least once" in svg
    assert re.search(r"observed  order o-\d+ was never charged", svg), svg[:800]
    write_consumer(chapter, ACK_AFTER)
    chapter.runpytest_inprocess("exercises/ch99", "--task", "1").assert_outcomes(passed=1)
    assert not picture.exists(), "the picture of a failure that is fixed stays behind"


def test_every_arrow_label_of_a_picture_fits_between_its_lifelines():
    """long labels widen the columns; one cut to fit keeps its text on hover; notes stay clear"""
    from harness.picture import CHAR, sequence_svg
    from harness.timeline import Timeline

    timeline = Timeline()
    timeline.record(0.0, "producer", "broker", "publish m1 (o-1) with a rather long body")
    timeline.record(0.001, "broker", "consumer", "deliver m1 (o-1) tag=1 redelivered")
    timeline.crash(0.002, "consumer", "caught the crash and went on (swallowed)")
    timeline.record(0.003, "consumer", "payments", "charge " + "x" * 200)
    svg = sequence_svg(timeline, title="t", marks={2: "the crash was caught here"})
    lifelines = sorted({float(x) for x in re.findall(r'<line x1="([\d.]+)" y1="\d+" x2="\1"', svg)})
    labels = re.findall(
        r'<text x="([\d.]+)" y="(\d+)" fill="#\w+" stroke="white"[^>]*>(?:<title>.*?</title>)?'
        r"([^<]*)</text>",
        svg,
    )
    arrows = [
        (float(x), text)
        for x, _, text in labels
        if text.startswith(("publish", "deliver", "charge"))
    ]
    assert len(arrows) == 3, labels
    for x, text in arrows:
        following = next(line for line in lifelines if line > x)
        assert x + len(text) * CHAR <= following, (text, x, following)
    assert f"<title>charge {'x' * 200}</title>" in svg
    crash_x, crash = next((float(x), s) for x, _, s in labels if s.startswith("consumer"))
    note_x, note = next((float(x), s) for x, _, s in labels if s.startswith("←"))
    assert crash == "consumer caught the crash and went on (swallowed)", crash
    assert note == "← the crash was caught here"
    assert note_x > crash_x + len(crash) * CHAR


def test_a_loop_in_a_picture_is_one_row_that_counts_its_repeats():
    """the picture collapses a loop as the text timeline does; a marked step stays drawn"""
    from harness.picture import ROW, sequence_svg
    from harness.timeline import Timeline

    timeline = Timeline()
    timeline.record(0.0, "broker", "consumer", "deliver m1 tag=1")
    for n in range(500):
        timeline.record(0.001 + n / 1000, "consumer", "broker", "ack tag=0 multiple")
    timeline.record(0.6, "consumer", "payments", "charge o-1")
    svg = sequence_svg(timeline, title="t", marks={300: "this one"})
    assert svg.count("ack tag=0 multiple") < 10
    assert "the same 298 times more (steps 3-300" in svg
    assert "← this one" in svg and "charge o-1" in svg
    height = int(re.search(r'height="(\d+)"', svg).group(1))
    assert height < 20 * ROW, "the picture still draws a row per repeat"


def test_a_long_run_in_a_picture_is_cut_as_its_text_timeline_is():
    """a run of 1,000 messages draws its beginning, its end, its crash and its mark, and one
    row for each stretch it leaves out: a picture of a hundred rows, not of 3,000"""
    from harness.picture import ROW, sequence_svg
    from harness.timeline import LONGEST_TIMELINE, Timeline

    timeline = Timeline()
    for n in range(1, 1001):
        timeline.record(n / 1000, "broker", "consumer", f"deliver m{n} tag={n}")
        if n == 700:
            timeline.crash(n / 1000, "consumer", "after charge m700")
        timeline.record(n / 1000, "consumer", "broker", f"ack tag={n}")
    svg = sequence_svg(timeline, title="t", marks={400: "charged twice"})
    assert "deliver m1 tag=1<" in svg and "ack tag=1000<" in svg
    assert "after charge m700" in svg and "← charged twice" in svg
    assert "deliver m500 tag=500<" not in svg
    assert svg.count("steps left out") == 3
    height = int(re.search(r'height="(\d+)"', svg).group(1))
    assert height < (LONGEST_TIMELINE + 20) * ROW, "the picture draws a row per step"


SPINS = ACK_FIRST.replace(
    "        self.channel.ack(delivery.tag)",
    "        waiting = True\n        while waiting:\n"
    "            waiting = delivery.body['amount'] > 0\n        self.channel.ack(delivery.tag)",
)


def test_a_loop_that_calls_nothing_is_stopped_where_it_loops_with_a_replay_line(
    chapter, monkeypatch
):
    """a run that spins without calling the world is stopped on its CPU time, not the timeout"""
    import harness.watchdog

    monkeypatch.setattr(harness.watchdog, "RUN_CPU_LIMIT", 0.3)
    write_consumer(chapter, SPINS)
    out = chapter.runpytest_inprocess("exercises/ch99", "--task", "1").stdout.str()
    assert "RunawayLoop: one run took more than 0.3 s of CPU time" in out, out
    assert re.search(r'File ".*consumer\.py", line 1[12], in on_message\n +(while |waiting =)', out)
    replay = replay_command(out)
    assert "--replay" in replay
    again = chapter.runpytest_inprocess(*replay[1:]).stdout.str()
    assert "RunawayLoop" in again and "1 failed" in again


def _debugger_page(out: str, root: Path) -> Path:
    from urllib.parse import unquote, urlparse

    line = next(line for line in out.splitlines() if line.strip().startswith("debugger"))
    address = line.split()[1]
    assert line.rstrip().endswith("(grader show opens it)"), line
    page = Path(unquote(urlparse(address).path))
    assert page.parent == root / ".twm" / "failures", page
    return page


def test_a_broken_promise_names_its_debugger_page_which_goes_when_its_test_passes(chapter):
    """the failure's page is a file:// link under .twm/failures, the one grader show opens"""
    write_consumer(chapter, ACK_FIRST)
    (chapter.path / "exercises/info.toml").write_text(INFO)
    out = chapter.runpytest_inprocess("exercises/ch99", "--task", "1").stdout.str()
    page = _debugger_page(out, chapter.path)
    text = page.read_text(encoding="utf-8")
    assert "ch99 · task 1 · no order is lost, whatever single crash strikes" in text
    assert "was never charged (lost)" in text and "Ack only after the charge returned" in text
    last = (chapter.path / ".twm" / "failures" / "last").read_text().strip()
    assert last == page.name
    write_consumer(chapter, ACK_AFTER)
    chapter.runpytest_inprocess("exercises/ch99", "--task", "1").assert_outcomes(passed=1)
    assert not page.exists(), "the page of a failure that is fixed stays behind"


RAISES_ON_THE_SECOND = """
class Consumer:
    def __init__(self, channel, payments):
        self.channel, self.payments, self.seen = channel, payments, 0

    def on_message(self, delivery):
        self.seen += 1
        if self.seen == 2:
            raise KeyError("amount_cents")
        self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        self.channel.ack(delivery.tag)
"""


def test_an_error_in_learner_code_gets_a_page_that_ends_where_it_was_raised(chapter):
    """a case in which learner code raised has a page too, saying what was raised"""
    write_consumer(chapter, RAISES_ON_THE_SECOND)
    out = chapter.runpytest_inprocess("exercises/ch99", "--task", "1").stdout.str()
    assert "ERROR IN YOUR CODE" in out
    text = _debugger_page(out, chapter.path).read_text(encoding="utf-8")
    assert "your code raised KeyError" in text and "amount_cents" in text


def test_a_page_that_cannot_be_drawn_leaves_the_report_whole(chapter, monkeypatch):
    """the page is an extra: when its replay fails, the report says so on its debugger line"""
    import harness.debugger

    def broken_recorder(*_args, **_kwargs):
        raise RuntimeError("the recorder is broken")

    monkeypatch.setattr(harness.debugger, "record", broken_recorder)
    write_consumer(chapter, ACK_FIRST)
    result = chapter.runpytest_inprocess("exercises/ch99", "--task", "1")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out and "promise   every accepted message" in out
    assert "debugger  not drawn: the replay raised RuntimeError: the recorder is broken" in out
