"""The learner host renews itself: the grader's second run of a test gets a learner process
from a host that has served no test, without starting a new interpreter.

The host keeps a pristine copy of itself from its start; on ``renew`` the serving
copy ends and the pristine one forks the next (``harness.isolation.host``). These
tests check what a second run relies on: its learner process comes from another
host process than the first run's, the host behind it was not started again (the
point of renewing: a fork instead of an interpreter's start), learner code
that attacks the pristine copy costs at most its own host, and a closed host
ends on its own, so that the CPU time of the learner's side is counted.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time

import pytest
from isolation.served import Root

from harness.isolation import Child, Limits, ProcessEnded, launch, sandbox

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to find the pristine copy"
)


def learner_run(function: str, *args):
    """One test's learner process: call ``function`` in it, then end it, as a test does."""
    process = Child(Root(), Limits(answer=5))
    try:
        return process.component("served.py", function)(*args)
    finally:
        process.stop()


def started_host() -> int:
    """The process the test process started for its learner host (bubblewrap, or python)."""
    return launch._running["host"].process.pid


@pytest.fixture(autouse=True)
def no_host_before_or_after():
    launch.close_running()
    yield
    launch.close_running()


def test_a_host_serves_every_test_of_the_process_until_it_is_renewed():
    """two tests in a row get learner processes of the same host: renewing is what changes it"""
    first = learner_run("host_pid")
    assert learner_run("host_pid") == first


def test_after_renewal_the_learner_comes_from_another_host_of_the_same_start():
    """after renew, each learner process comes from another serving copy, and the host the
    test process started is still the one it started (renewing started no new interpreter)"""
    serving = [learner_run("host_pid")]
    started = started_host()
    for _ in range(3):  # more than once: each renewal forks a new copy from the pristine one
        launch.renew_running()
        serving.append(learner_run("host_pid"))
        assert learner_run("echo", "still answers") == ("still answers", "str")
    assert len(set(serving)) == len(serving), serving
    assert started_host() == started


def test_renewal_takes_a_fork_not_a_start():
    """renewing costs far less than starting a host (a fork against an interpreter's start
    and imports): best of five, a fifth at most (about a fortieth here)"""
    learner_run("host_pid")
    renewals = []
    for _ in range(5):
        begin = time.perf_counter()
        launch.renew_running()
        renewals.append(time.perf_counter() - begin)
    starts = []
    for _ in range(3):
        launch.close_running()
        begin = time.perf_counter()
        launch.Host.for_root(Root())
        starts.append(time.perf_counter() - begin)
    assert min(renewals) < min(starts) / 5, (renewals, starts)


def test_learner_code_that_kills_the_pristine_copy_loses_at_most_its_own_host():
    """learner code that signals the pristine copy to die: under bubblewrap nothing happens
    (it is the namespace's process 1); without, its host ends with it. Either way the next
    test's learner process answers, and renewing still gives another serving copy"""
    learner_run("host_pid")
    with contextlib.suppress(ProcessEnded):
        learner_run("kill_the_pristine_copy")
    before = learner_run("host_pid")
    launch.renew_running()
    assert learner_run("host_pid") != before
    assert learner_run("echo", 2) == (2, "int")


@pytest.mark.skipif(not sandbox.use_bubblewrap(), reason="bubblewrap does not work here")
def test_under_bubblewrap_no_signal_of_learner_code_reaches_the_pristine_copy():
    """the pristine copy is the sandbox's process 1: interrupted, terminated, stopped by
    learner code, it still renews, and the host the test process started is the same"""
    learner_run("host_pid")
    started = started_host()
    for _ in range(2):
        learner_run("signal_the_pristine_copy")
        before = learner_run("host_pid")
        launch.renew_running()
        assert learner_run("host_pid") != before
    assert started_host() == started


def test_the_learner_side_cpu_time_is_counted_once_the_host_is_closed():
    """a closed host ends on its own, so the CPU time its learner processes used reaches this
    process's getrusage(RUSAGE_CHILDREN), as it reaches the grader's and a benchmark's"""
    learner_run("host_pid")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = learner_run("burn", 0.4)
    launch.close_running()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    counted = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert used >= 0.4
    assert counted >= 0.35, f"{counted:.2f} s of the learner's {used:.2f} s counted"


def test_renewing_without_a_host_changes_nothing():
    """no host runs yet: renewing starts none, and the next test starts one as usual"""
    launch.renew_running()
    assert "host" not in launch._running
    assert learner_run("echo", "first") == ("first", "str")
