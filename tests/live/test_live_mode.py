"""Live mode keeps its promises: ``pytest exercises/chNN --world live`` on the real RabbitMQ.

Each test runs the kit's own pytest on a chapter test, as a learner would, and reads what it
says: a solution passes on RabbitMQ; a known-wrong module fails there, naming the broken
promise and the world, without a replay token; when RabbitMQ and the simulator disagree, the
failure says which world gave which outcome; a test that live mode does not play is skipped
saying why; without a server a live test skips with the reason (CI=true: it fails); and
``--replay`` with ``--world live`` is a usage error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "tests" / "mutants"
LIVE_MUTANTS = Path(__file__).parent / "mutants"
"""Modules that only a live run shows wrong (they keep every promise on the simulator)."""
SINGLE_CRASH = "exercises/ch03/test_at_least_once.py::test_no_order_is_lost_whatever_single_crash"


def kit_pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``pytest ARGS`` in the kit, with only the kit's own plugins (as the self-check runs)."""
    command = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q", "-rs"]
    command += ["--no-pictures", "-p", "harness.pytest_plugin", "-p", "pytest_timeout"]
    command += ["-p", "_hypothesis_pytestplugin"]
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    base |= {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=base | (env or {}), timeout=600
    )


def said(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


@pytest.mark.rabbitmq
@pytest.mark.parametrize(
    "node",
    [
        SINGLE_CRASH,
        "exercises/ch04/test_idempotent_consumer.py"
        "::test_each_payment_is_captured_once_whatever_single_crash",
        "exercises/ch06/test_attempts.py"
        "::test_a_message_that_kills_the_consumer_still_runs_out_of_attempts",
        "exercises/ch07/test_credit_window.py::test_nothing_is_lost_under_any_single_crash",
    ],
)
def test_a_solution_passes_on_rabbitmq(rabbitmq, node):
    """the reference passes live, and the session says how many runs and deliveries RabbitMQ
    made, and that live runs promise no determinism and no replay token"""
    done = kit_pytest(node, "--target", "solutions", "--world", "live")
    out = said(done)
    assert done.returncode == 0 and "1 passed" in out, out[-4000:]
    summary = next(line for line in out.splitlines() if line.startswith("live mode: "))
    assert f"runs on RabbitMQ at {rabbitmq}" in summary, summary
    deliveries = int(summary.split(" (")[1].split(" deliveries")[0])
    assert deliveries > 0, summary
    assert "no determinism, no shrinking, no replay token" in summary, summary


@pytest.mark.rabbitmq
def test_the_relay_publishes_to_rabbitmq_from_an_outbox_on_postgresql(rabbitmq, dsn):
    """ch05's relay runs live on both servers: its confirms from RabbitMQ, its outbox in a
    schema of its own on PostgreSQL"""
    node = RELAY_SINGLE_CRASH
    done = kit_pytest(node, "--target", "solutions", "--world", "live")
    out = said(done)
    assert done.returncode == 0 and "1 passed" in out, out[-4000:]
    wrong = kit_pytest(
        node, "--target", str(MUTANTS / "ch05/mark_before_publish"), "--world", "live"
    )
    out = said(wrong)
    assert wrong.returncode == 1, out[-4000:]
    assert "and PostgreSQL (127.0.0.1:5432)" in out, out[-4000:]


@pytest.mark.rabbitmq
@pytest.mark.parametrize(
    "node, mutant, promise, observed",
    [
        (SINGLE_CRASH, "ch03/ack_before_effect", "no-loss", "lost"),
        (
            "exercises/ch04/test_idempotent_consumer.py"
            "::test_each_payment_is_captured_once_whatever_single_crash",
            "ch04/dedup_in_memory",
            "no-duplicate",
            "duplicated",
        ),
        (
            "exercises/ch06/test_backoff.py::test_a_payment_waiting_for_its_retry_is_never_lost",
            "ch06/ack_before_wait",
            "processed-or-dead",
            "lost",
        ),
        (
            "exercises/ch07/test_credit_window.py::test_nothing_is_lost_under_any_single_crash",
            "ch07/prefetch_zero",
            "within-window",
            "overflowed",
        ),
    ],
)
def test_a_wrong_module_fails_live_naming_the_promise_and_the_world(
    rabbitmq, node, mutant, promise, observed
):
    """a known-wrong module fails on RabbitMQ: FAILED · live, the promise it broke, the world
    it broke it in, and no replay token of its own; what the simulator gave on the same case,
    with that case's deterministic replay there"""
    done = kit_pytest(node, "--target", str(MUTANTS / mutant), "--world", "live")
    out = said(done)
    failure = out.split(" short test summary info ")[0]
    assert done.returncode == 1 and "FAILED · live" in failure, out[-4000:]
    assert f"world     live, on RabbitMQ at {rabbitmq}: real time" in failure, failure
    assert "no replay token" in failure, failure
    assert f"RabbitMQ   broke {promise!r}" in failure and f"({observed})" in failure, failure
    assert "  replay:" not in failure, failure  # the simulator's failures have that line
    assert f"simulator  broke {promise!r} too" in failure, failure
    assert "on sim    pytest " in failure and "--replay " in failure, failure
    assert "Traceback" not in failure, failure


@pytest.mark.rabbitmq
def test_when_the_worlds_disagree_the_failure_says_which_gave_what(rabbitmq):
    """a consumer that reads the wall clock keeps every promise on the simulator and loses
    orders on RabbitMQ: the failure says RabbitMQ broke the promise, the simulator kept it,
    and how many times each world charged each order"""
    done = kit_pytest(SINGLE_CRASH, "--target", str(LIVE_MUTANTS), "--world", "live")
    out = said(done)
    failure = out.split(" short test summary info ")[0]
    assert done.returncode == 1 and "FAILED · live" in failure, out[-4000:]
    assert "RabbitMQ   broke 'no-loss'" in failure, failure
    assert (
        "simulator  kept 'no-loss' on the same trace and schedule: the worlds disagree" in failure
    ), failure
    assert "o-1: RabbitMQ charged it 0 times, the simulator 1 time" in failure, failure
    assert "on sim " not in failure, failure  # nothing to replay there: it passes
    on_sim = kit_pytest(SINGLE_CRASH, "--target", str(LIVE_MUTANTS))
    assert on_sim.returncode == 0, said(on_sim)[-4000:]


@pytest.mark.rabbitmq
def test_a_test_live_mode_does_not_play_is_skipped_saying_why(rabbitmq):
    """a test on the simulated log, and one that draws random crashes with Hypothesis, are
    skipped live with the reason and the command that runs them"""
    done = kit_pytest(
        "exercises/ch03/test_commit_first.py",
        "exercises/ch03/test_at_least_once.py::test_no_order_is_lost_under_many_crashes",
        *("--target", "solutions", "--world", "live"),
    )
    out = said(done)
    assert done.returncode == 0 and " passed" not in out, out[-4000:]
    assert "live mode does not play payments-log: a Kafka-like log" in out, out[-4000:]
    assert "draws random traces and crashes with Hypothesis" in out, out[-4000:]
    assert out.count("the same command without --world live") >= 4, out[-4000:]


@pytest.mark.rabbitmq
def test_a_trace_that_would_harm_the_server_is_not_played_live(rabbitmq):
    """ch07's memory alarm would block every client of a shared RabbitMQ: a test with only
    that trace is skipped saying so; one with other traces plays those, and the session's
    last lines name the trace left to the simulator, and the promises timed to the
    millisecond that live runs do not judge"""
    done = kit_pytest(
        "exercises/ch07/test_backoff.py::test_a_memory_alarm_is_waited_out_with_a_growing_backoff",
        "exercises/ch07/test_watermarks.py::test_the_desk_pauses_at_high_and_resumes_at_low",
        "exercises/ch07/test_backoff.py::test_a_full_queue_that_nacks_is_never_a_drop",
        *("--target", "solutions", "--world", "live"),
    )
    out = said(done)
    assert done.returncode == 0 and "2 passed, 1 skipped" in out, out[-4000:]
    assert "live mode does not play broker-refuses: its memory alarm blocks every" in out, out
    summary = out.split("live mode: ")[1]
    assert "traces not played live, as a real server would be harmed: broker-refuses" in summary
    assert "not judged live, as they measure milliseconds of virtual time: backs-off" in summary


RELAY_SINGLE_CRASH = (
    "exercises/ch05/test_relay.py::test_nothing_is_lost_reordered_or_renamed_whatever_single_crash"
)

UNANSWERED = {"TWM_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
"""A RabbitMQ that is not there: nothing listens on port 1."""


def test_without_rabbitmq_a_live_test_skips_saying_why():
    """no server: the test is skipped, saying which server did not answer and how to start
    or name one"""
    done = kit_pytest(SINGLE_CRASH, "--target", "solutions", "--world", "live", env=UNANSWERED)
    out = said(done)
    assert done.returncode == 0 and "1 skipped" in out, out[-4000:]
    assert "live mode needs RabbitMQ, and none answered at 127.0.0.1:1/%2F" in out, out[-4000:]
    assert "TWM_RABBITMQ_URL=" in out, out[-4000:]


def test_without_rabbitmq_a_live_test_fails_under_ci():
    """CI=true, where the servers should have been started: no server fails the test"""
    env = {**UNANSWERED, "CI": "true"}
    done = kit_pytest(SINGLE_CRASH, "--target", "solutions", "--world", "live", env=env)
    out = said(done)
    assert done.returncode == 1 and "1 error" in out, out[-4000:]
    assert "CI=true and live mode needs RabbitMQ" in out, out[-4000:]
    assert "During handling" not in out and "Traceback" not in out, out[-4000:]


def test_replay_with_world_live_is_a_usage_error():
    """a replay token names a simulated case: with --world live it is refused before any test"""
    done = kit_pytest(
        SINGLE_CRASH, "--world", "live", "--replay", "queue-flaky-gateway/1a@s0", env=UNANSWERED
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, said(done)[-4000:]
    assert "live runs have no replay token" in done.stderr, said(done)[-4000:]
    assert "without --world live" in done.stderr, said(done)[-4000:]
