"""ch01 · task 3 · Request/reply: ask a question, match the reply, give up on time."""

import pytest

from harness.promises import ANSWERED_IN_TIME, ANSWERED_ONCE, CORRELATED, UNIQUE_CORRELATION_ID
from harness.workloads import status_queries

MODULE, NAME = "ch01/requester.py", "Requester"
PROMISES = [UNIQUE_CORRELATION_ID, CORRELATED, ANSWERED_IN_TIME, ANSWERED_ONCE]


@pytest.mark.task(3)
@pytest.mark.points(3)
def test_each_question_gets_its_own_reply_once(kit):
    """each question gets its own reply, once, whatever order and copies the replies come in"""
    factory = kit.component(MODULE, NAME)
    traces = [t for t in kit.traces("queries-*") if t.name != "queries-late"]
    kit.once(status_queries, factory, traces, PROMISES)


@pytest.mark.task(3)
@pytest.mark.points(3)
def test_a_question_times_out_on_the_virtual_clock(kit):
    """a question with no reply in time is answered 'timed out' at its timeout, and only then"""
    factory = kit.component(MODULE, NAME)
    kit.once(status_queries, factory, kit.traces("queries-late"), PROMISES)


@pytest.mark.task(3)
@pytest.mark.points(2)
def test_questions_with_replies_slow_duplicated_late_or_missing(kit):
    """every question is answered once and in time, whatever the replies do"""
    factory = kit.component(MODULE, NAME)
    kit.random_faults(status_queries, factory, PROMISES, max_crashes=0)
