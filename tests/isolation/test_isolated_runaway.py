"""A runaway loop under --isolate fails as it does in-process: where it loops, and how to replay.

One real run of a miniature chapter with the learner's code in a process of
its own: a consumer that spins without calling any port is stopped after the
answer limit at its own line, and one that acks in a loop fails in a few lines.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from isolation.minikit import ACK_FIRST, run_minikit

LIMITS = ("--isolate", "--isolate-limits", "answer=2,cpu=20,memory=256")
ACK = "self.channel.ack(delivery.tag)"
MODULES = {
    "spins": ACK_FIRST.replace(
        ACK, "waiting = True\n        while waiting:\n            waiting = delivery.tag > 0"
    ),
    "acks_forever": ACK_FIRST.replace(
        ACK, "while True:\n            self.channel.ack(0, multiple=True)"
    ),
}


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runaway")
    return folder, run_minikit(folder, MODULES, *LIMITS)


def _failure(output: str, name: str) -> str:
    """The failure block of ``test_NAME`` (pytest's short summary left out)."""
    blocks = output.split(" short test summary info ")[0]
    parts = re.split(r"(?m)^_{3,} (test_\w+) _{3,}$", blocks)
    return dict(zip(parts[1::2], parts[2::2], strict=True))[f"test_{name}"]


def test_a_loop_that_calls_nothing_is_stopped_at_its_line_with_a_replay_line(isolated):
    """no answer within the limit: still a timeout, and the failure shows the learner's line"""
    folder, run = isolated
    assert run.status("spins") == ("timeout", None)
    assert "did not answer within 2 s" in run.message("spins")
    shown = _failure(run.output, "spins")
    assert "stopped where the traceback shows" in shown, shown
    assert re.search(r'File ".*spins\.py", line 1[123], in on_message\n +(while |waiting =)', shown)
    replay = next(line for line in shown.splitlines() if line.strip().startswith("replay:"))
    command = shlex.split(replay.split("replay:", 1)[1])
    assert command[:2] == ["pytest", "exercises/ch99/test_ch99.py::test_spins"]
    assert "--replay" in command and "--target" in command


def test_the_replay_line_stops_the_same_loop_at_the_same_line(isolated):
    """the replay line, run under --isolate, fails the same way at the same line"""
    folder, run = isolated
    shown = _failure(run.output, "spins")
    replay = next(line for line in shown.splitlines() if line.strip().startswith("replay:"))
    command = shlex.split(replay.split("replay:", 1)[1])[1:]
    again = subprocess.run(
        [sys.executable, "-m", "pytest", *command, *LIMITS, "-p", "no:cacheprovider"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "1 failed" in again, again[-2000:]
    assert re.search(r'File ".*spins\.py", line 1[123], in on_message', again), again[-2000:]


def test_a_loop_of_acks_fails_in_a_few_lines(isolated):
    """thousands of acks that differ only in their time: shown once, then counted"""
    _, run = isolated
    assert run.status("acks_forever") == ("error", None)
    shown = _failure(run.output, "acks_forever")
    assert re.search(r"… the same [\d,]+ times more \(steps \d+-\d+\)", shown), shown
    assert len(re.findall(r"→ broker +ack tag=0 multiple", shown)) == 1, shown
    assert len(shown.splitlines()) < 30, shown
