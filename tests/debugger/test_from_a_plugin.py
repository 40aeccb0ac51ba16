"""From a pytest hook: a failing chapter test's kit and token are all a page needs.

A miniature chapter fails; a ``conftest.py`` hook makes its page with
``harness.debugger.record(item.funcargs["kit"], token)``, as the kit's own plugin can.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRACE = (ROOT / "exercises" / "ch03" / "traces" / "queue-one-order.toml").read_text()

TEST = '''
import pytest
from harness.promises import NO_DUPLICATE, NO_SWALLOW, SETTLED
from harness.workloads import payments_queue


@pytest.mark.task(1)
def test_single_crashes(kit):
    """no order is charged twice, whatever single crash strikes"""
    consumer = kit.component("ch99/consumer.py", "Consumer")
    promises = [NO_SWALLOW, NO_DUPLICATE, SETTLED]
    kit.every_single_crash(payments_queue, consumer, kit.traces("*"), promises)
'''

CHARGE_FIRST = """
class Consumer:
    def __init__(self, channel, payments):
        self.channel, self.payments = channel, payments

    def on_message(self, delivery):
        self.payments.charge(delivery.body["order_id"], delivery.body["amount"])
        self.channel.ack(delivery.tag)
"""

HOOK = """
import pytest

from harness import debugger
from harness.explore import PromiseBroken


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    yield
    if call.when == "call" and call.excinfo and isinstance(call.excinfo.value, PromiseBroken):
        error = call.excinfo.value
        recording = debugger.record(item.funcargs["kit"], error.token, title=item.name)
        debugger.write_page("page.html", recording)
"""


@pytest.fixture
def chapter(pytester: pytest.Pytester):
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\naddopts = '-p no:cacheprovider'\n")
    for folder in ("exercises", "exercises/ch99", "exercises/ch99/traces"):
        pytester.mkdir(folder)
    (pytester.path / "exercises/ch99/traces/one.toml").write_text(TRACE)
    (pytester.path / "exercises/ch99/test_ch99.py").write_text(TEST)
    (pytester.path / "exercises/ch99/consumer.py").write_text(CHARGE_FIRST)
    (pytester.path / "conftest.py").write_text(HOOK)
    return pytester


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
def test_a_hook_makes_the_page_of_the_failure_it_sees(chapter, isolated):
    """the page is made in process or with the learner's code in a process of its own"""
    args = ["exercises/ch99"] + (["--isolate"] if isolated else [])
    result = chapter.runpytest_inprocess(*args)
    result.assert_outcomes(failed=1)
    page = (chapter.path / "page.html").read_text(encoding="utf-8")
    assert "test_single_crashes" in page
    assert "no message takes effect twice" in page
    assert "deliver m1 (o-1) tag=1 redelivered" in page
