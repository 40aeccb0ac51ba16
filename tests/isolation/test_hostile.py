"""Hostile learner code under --isolate: it scores exactly what an honest wrong module scores.

One real run of a miniature chapter in a fresh pytest process holds every
case: the honest wrong module acks before charging and loses an order; the
hostile ones exit, loop, allocate, print fake summaries, crash the
interpreter, or rewrite the harness from inside. None of them gets a point,
and the run itself goes on to the end and records every test.
"""

from __future__ import annotations

import re

import pytest
from isolation.minikit import ACK_FIRST, run_minikit

LIMITS = ("--isolate", "--isolate-limits", "answer=3,cpu=10,memory=256")
ACK = "self.channel.ack(delivery.tag)"
FAKE = "print('=' * 30 + ' 1 passed in 0.01s ' + '=' * 30)\n"

CHEAT = """
import json, sys
import harness.checkers, harness.explore, harness.promises
from harness.checkers import Verdict
try:  # pytest is not even in the learner's view under the sandbox
    import harness.pytest_plugin
except ImportError:
    harness.pytest_plugin = type(sys)("harness.pytest_plugin")
    harness.pytest_plugin._record = print

# Every promise holds, whatever happened.
harness.explore.first_broken = lambda outcome, promises: None
harness.checkers.no_loss = lambda outcome: Verdict(True, "nothing lost")
for promise in (harness.promises.NO_LOSS, harness.promises.NO_SWALLOW, harness.promises.SETTLED):
    object.__setattr__(promise, "check", lambda outcome: Verdict(True, "fine"))
# Record a pass for everything, and write the results file too.
record = harness.pytest_plugin._record
harness.pytest_plugin._record = lambda item, status, promise, message, *rest: record(
    item, "passed", None, ""
)
if "--results-json" in sys.argv:  # never, in a fresh interpreter: it sees no test's arguments
    path = sys.argv[sys.argv.index("--results-json") + 1]
    with open(path, "w") as results:
        json.dump({"tests": [{"id": "x", "status": "passed", "max_points": 2}]}, results)
"""

MODULES = {
    "honest": ACK_FIRST,
    "exit_at_import": "import sys\nsys.exit(0)\n" + ACK_FIRST,
    "os_exit_at_import": "import os\nos._exit(0)\n",
    "os_exit_in_call": ACK_FIRST.replace(ACK, "import os\n        os._exit(0)"),
    "endless_loop": ACK_FIRST.replace(ACK, "while True:\n            pass"),
    "huge_allocation": ACK_FIRST.replace(ACK, "self.hoard = bytearray(8 * 1024**3)"),
    "segfault": "import ctypes\n" + ACK_FIRST.replace(ACK, "ctypes.string_at(0)"),
    "fake_summary": FAKE + ACK_FIRST.replace(ACK, ACK + "\n        " + FAKE),
    "cheat": CHEAT + ACK_FIRST,
}


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    return run_minikit(tmp_path_factory.mktemp("hostile"), MODULES, *LIMITS, "-rA")


def test_the_honest_wrong_module_fails_the_same_with_and_without_isolation(isolated, tmp_path):
    """the baseline: the same failure, the same message, with and without isolation"""
    alone = run_minikit(tmp_path, {"honest": ACK_FIRST})
    assert isolated.status("honest") == alone.status("honest") == ("failed", "no-loss")
    assert isolated.message("honest") == alone.message("honest")


def test_every_test_of_the_run_is_recorded(isolated):
    """no hostile module stops the run: every test has a result, and none passed"""
    assert set(isolated.results) == set(MODULES)
    assert not [name for name, r in isolated.results.items() if r["status"] == "passed"]


def test_exit_at_import_is_an_error_naming_the_import(isolated):
    """sys.exit(0) while the module loads: an error naming the import"""
    assert isolated.status("exit_at_import") == ("error", None)
    assert "importing ch99/exit_at_import.py raised SystemExit" in isolated.message(
        "exit_at_import"
    )


def test_os_exit_at_import_ends_the_child_only(isolated):
    """os._exit(0) while the module loads ends the learner's process, not the run"""
    assert isolated.status("os_exit_at_import") == ("error", None)
    message = isolated.message("os_exit_at_import")
    assert "exit code 0" in message and "loading ch99/os_exit_at_import.py" in message


def test_os_exit_inside_on_message_names_the_call(isolated):
    """os._exit(0) in the middle of a delivery: an error saying who ended the process"""
    assert isolated.status("os_exit_in_call") == ("error", None)
    message = isolated.message("os_exit_in_call")
    assert "ended its process with exit code 0" in message
    assert "Consumer.on_message" in message


def test_an_endless_loop_is_a_timeout(isolated):
    """a loop that never answers is stopped after the answer limit: a timeout, not a hang"""
    assert isolated.status("endless_loop") == ("timeout", None)
    assert "did not answer within 3 s" in isolated.message("endless_loop")


def test_a_huge_allocation_is_an_error(isolated):
    """allocating beyond the memory limit raises MemoryError in the learner's process"""
    assert isolated.status("huge_allocation") == ("error", None)
    assert "MemoryError" in isolated.message("huge_allocation")


def test_a_segfault_is_an_error(isolated):
    """the interpreter crashing in the learner's process is named, and the run goes on"""
    assert isolated.status("segfault") == ("error", None)
    assert "SIGSEGV" in isolated.message("segfault")


def test_fake_summary_lines_are_labelled_and_change_nothing(isolated):
    """what the learner prints is shown labelled, so it cannot pass for pytest's summary"""
    assert isolated.status("fake_summary") == ("failed", "no-loss")
    summaries = [line for line in isolated.output.splitlines() if re.match(r"^=+ .*passed", line)]
    assert summaries == [], f"an unlabelled fake summary reached the output: {summaries}"
    assert "[your code] ====" in isolated.output


def test_rewriting_the_harness_from_the_learner_module_changes_nothing(isolated):
    """a module that patches the checkers, the promises, the plugin and the results file
    scores exactly what the honest wrong module scores"""
    assert isolated.status("cheat") == isolated.status("honest") == ("failed", "no-loss")
    assert isolated.message("cheat") == isolated.message("honest")


def test_the_same_cheat_works_without_isolation(tmp_path):
    """the contrast that shows why the grader isolates: in-process, the cheat passes"""
    alone = run_minikit(tmp_path, {"cheat": CHEAT + ACK_FIRST})
    assert alone.status("cheat") != ("failed", "no-loss")
