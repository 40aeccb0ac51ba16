"""Each test process of a grading, and the learner processes it starts, run on one CPU.

Under ``--isolate`` every port call is a round trip between the test process and
the learner's; on one CPU that is a direct switch from one to the other, where on
two it is a wake-up across cores, about three times as slow (docs/performance.md).
The grader gives each lane a CPU, round robin (:mod:`grader.affinity`); a batch
gives each grading under way CPUs of its own (``grader run --cpus``).

The learner modules here stop at import, saying which CPUs their process may
run on; the grader records that as each test's message, from inside the sandbox.
"""

from __future__ import annotations

import re
from pathlib import Path

import pristine_copy
import pytest

from grader import affinity, batch
from grader.cli import main
from grader.grade import grade_submission
from grader.pristine import default_root
from grader.records import load_records
from grader.result import SubmissionResult

KIT = default_root()
MODULES = ("availability", "order_desk")  # ch00's two modules, one per test file and lane
SAYING = """
import os as _os

raise RuntimeError("runs on CPUs " + ",".join(map(str, sorted(_os.sched_getaffinity(0)))))
"""
SAID = re.compile(r"runs on CPUs ([\d,]+)")
CPUS = affinity.cpus()

pytestmark = pytest.mark.skipif(not CPUS, reason="this system sets no CPU affinity")


def saying(folder: Path) -> Path:
    """ch00 solved, but each module raising, once loaded, the CPUs its process may use."""
    pristine_copy.copy_exercises(folder / "exercises")
    for name in MODULES:
        solution = (KIT / "solutions" / "ch00" / f"{name}.py").read_text(encoding="utf-8")
        module = folder / "exercises" / "ch00" / f"{name}.py"
        module.write_text(solution + SAYING, encoding="utf-8")
    return folder


def cpus_said(result: SubmissionResult) -> dict[str, set[frozenset[int]]]:
    """module → the CPU sets its learner processes said they ran with."""
    said: dict[str, set[frozenset[int]]] = {}
    for test in result.tests:
        match = SAID.search(test.message)
        assert match, f"{test.id}: {test.message}"
        module = next(m for m in MODULES if f"test_{m}.py" in test.id)
        said.setdefault(module, set()).add(frozenset(map(int, match.group(1).split(","))))
    return said


def test_every_learner_process_runs_on_the_one_cpu_of_its_lane(tmp_path):
    """each learner process may run on one CPU only, the same for a lane's every process; the
    two lanes are on different CPUs when there are two"""
    result = grade_submission(saying(tmp_path), chapters=["ch00"], workers=2)
    said = cpus_said(result)
    assert set(said) == set(MODULES), said
    for name, sets in said.items():
        assert len(sets) == 1, f"{name}'s learner processes ran on different CPU sets: {sets}"
        (cpus,) = sets
        assert len(cpus) == 1, f"{name}'s learner processes could run on CPUs {sorted(cpus)}"
        assert cpus <= set(CPUS)
    lanes = [next(iter(said[name])) for name in MODULES]
    if len(CPUS) >= 2:
        assert lanes[0] != lanes[1], f"both lanes ran on CPU {sorted(lanes[0])}"


def test_lanes_take_the_cpus_in_turn():
    """three lanes on two CPUs: the first and third share one, the second has the other;
    without affinity to set, a lane may run anywhere"""
    lanes = [batch.Summary() for _ in range(3)]  # any object takes a cpu
    affinity.pin(lanes, available=[4, 7])
    assert [lane.cpu for lane in lanes] == [4, 7, 4]
    affinity.pin(lanes, available=[])
    assert [lane.cpu for lane in lanes] == [None, None, None]


@pytest.mark.parametrize(
    "jobs, cpus, expected",
    [
        (1, [0, 1], [[0, 1]]),
        (2, [0, 1], [[0], [1]]),
        (2, [0, 1, 2, 3, 4], [[0, 1, 2], [3, 4]]),
        (5, [2, 3], [[2], [3], [2], [3], [2]]),
        (2, [], []),
    ],
)
def test_a_batch_shares_the_cpus_among_its_jobs(jobs, cpus, expected):
    """as many disjoint shares as there are CPUs for, every CPU in one; past that, one each"""
    assert affinity.shares(jobs, cpus) == expected


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs")
def test_two_gradings_of_a_batch_run_on_cpus_of_their_own(tmp_path, capsys):
    """``grader batch --jobs 2`` of two submissions: each one's learner processes on one CPU,
    the two on different ones (else both would take the first CPU and leave one idle)"""
    root = tmp_path / "submissions"
    for student in ("ann", "ben"):
        saying(root / student)
    out = tmp_path / "grades"
    args = ["batch", str(root), "--jobs", "2", "--chapters", "ch00", "--out", str(out)]
    assert main([*args, "--quiet", "--no-gradebook"]) == 0, capsys.readouterr()
    records = load_records(out)
    assert set(records) == {"ann", "ben"}, records
    said = {}
    for student, record in records.items():
        assert record.result is not None, record
        sets = set().union(*cpus_said(record.result).values())
        assert len(sets) == 1 and len(next(iter(sets))) == 1, f"{student}: {sets}"
        said[student] = next(iter(sets))
    assert said["ann"] != said["ben"], f"both submissions ran on CPU {sorted(said['ann'])}"
