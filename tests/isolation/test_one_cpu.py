"""Under ``--isolate`` a test process keeps itself and its learner host on one CPU.

Every port call is then a switch between two processes on one core instead of
a wake-up on another (``harness/isolation/pinning.py``; about a quarter less
time in ch03). Checked on a real run, ``pytest exercises/ch00 --isolate``, by a
probe plugin that notes, as the session ends, the CPUs of the test process and
of its learner host, and again once the kit's plugin has given them back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.isolation.pinning import one_cpu

KIT = Path(__file__).resolve().parents[2]
ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
pytestmark = pytest.mark.skipif(
    len(ALLOWED) < 2, reason="needs a system that keeps processes to chosen CPUs, with two"
)

PROBE = """
import json, os
import pytest
from harness.isolation import launch

seen = {}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    host = launch._running.get("host")
    seen["test process"] = sorted(os.sched_getaffinity(0))
    seen["host"] = sorted(os.sched_getaffinity(host.process.pid)) if host else None


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    seen["after"] = sorted(os.sched_getaffinity(0))
    name = os.environ.get("PYTEST_XDIST_WORKER", "alone")
    with open(os.path.join(os.environ["TWM_PROBE_OUT"], name + ".json"), "w") as out:
        json.dump(seen, out)
"""


def isolated_runs(tmp_path: Path, *extra: str, worker: str | None = None) -> dict[str, dict]:
    """``pytest exercises/ch00 --isolate`` with the probe; what it saw, by process (``alone``,
    or pytest-xdist's ``gw0``, ``gw1``...)."""
    (tmp_path / "cpu_probe.py").write_text(textwrap.dedent(PROBE))
    out = tmp_path / "seen"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "TWM_PROBE_OUT": str(out)}
    env.pop("PYTEST_XDIST_WORKER", None)
    if worker:
        env["PYTEST_XDIST_WORKER"] = worker
    command = [sys.executable, "-m", "pytest", "exercises/ch00", "--target", "solutions"]
    command += ["--isolate", "-p", "cpu_probe", "-p", "no:cacheprovider", "-q", "--no-pictures"]
    done = subprocess.run(command + list(extra), cwd=KIT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {f.stem: json.loads(f.read_text()) for f in out.glob("*.json")}


def isolated_run(tmp_path: Path, *, worker: str | None = None) -> dict:
    seen = isolated_runs(tmp_path, worker=worker)
    return seen[worker or "alone"]


def test_the_test_process_and_its_learner_host_share_one_cpu_and_give_it_back(tmp_path):
    """during the run both are on the same single CPU; after it, the test process may run on
    every CPU it had"""
    seen = isolated_run(tmp_path)
    assert len(seen["test process"]) == 1, seen
    assert seen["host"] == seen["test process"], seen
    assert seen["after"] == ALLOWED, seen


def test_pytest_xdist_workers_take_their_cpus_in_turn(tmp_path):
    """worker gwN keeps to the N-th CPU, so that two workers never share one"""
    for number in (1, len(ALLOWED) + 2):  # past the number of CPUs: round robin
        seen = isolated_run(tmp_path, worker=f"gw{number}")
        assert seen["test process"] == [ALLOWED[number % len(ALLOWED)]], seen
        assert seen["host"] == seen["test process"], seen


def test_under_pytest_xdist_the_controller_keeps_every_cpu_and_the_workers_one_each(tmp_path):
    """``pytest -n 2 --isolate``: the controller runs no test and keeps every CPU, so that
    the workers it starts may take one each, in turn"""
    pytest.importorskip("xdist", reason="pytest-xdist is not installed (the authors extra)")
    seen = isolated_runs(tmp_path, "-n", "2", "-p", "xdist")
    assert seen["alone"]["test process"] == ALLOWED, seen  # the controller
    for number in (0, 1):
        worker = seen[f"gw{number}"]
        assert worker["test process"] == [ALLOWED[number % len(ALLOWED)]], seen
        assert worker["host"] in (None, worker["test process"]), seen


def test_a_worker_s_cpu_depends_on_its_number_not_on_where_it_runs():
    """the choice itself: by worker number, round robin; without one, the CPU it is on"""
    cpus = [0, 1, 2]
    assert [one_cpu(cpus, worker=f"gw{n}", current=2) for n in range(5)] == [0, 1, 2, 0, 1]
    assert [one_cpu(cpus, worker=None, current=c) for c in cpus] == cpus
    assert one_cpu(cpus, worker="not-a-worker", current=7) == 0  # a CPU it may not use


def test_a_process_already_on_one_cpu_is_left_there():
    """a grader's lane is on one CPU already: nothing is chosen, whatever the worker"""
    assert one_cpu([ALLOWED[-1]], worker="gw0", current=ALLOWED[0]) is None
