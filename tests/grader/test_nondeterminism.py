"""Same submission, same score: a test that passes and then fails on an identical run earns 0.

The grader runs every chapter test that passed a second time, identically (a new
learner process, from a new learner host, with the same seed), and a test whose
second outcome differs is ``nondeterministic`` and scores nothing.

The learner module here keeps a count of the processes that loaded it in a file
outside them, and answers right only when that count is even: whatever runs
first passes, the second run of the same test fails. (Fresh entropy, say bytes
read from ``/dev/urandom``, makes the same flip happen by chance; a count makes
it happen every time, so that these tests are deterministic too.) One input is
answered right on every run, so a test over it alone must keep its points: the
verdict is per test, not per module or per run.
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from pathlib import Path

import pristine_copy
import pytest

from grader.grade import grade_submission
from grader.pristine import default_root

KIT = default_root()
TASK1 = "exercises/ch00/test_availability.py::"
FIRST = TASK1 + "test_a_chain_is_up_only_when_every_service_is_up"
FLIPPING = {
    FIRST,
    TASK1 + "test_the_arithmetic_agrees_with_the_simulation[five-services-at-99]",
}
STEADY = TASK1 + "test_the_arithmetic_agrees_with_the_simulation[five-different-services]"

FLIP = """
import math
from pathlib import Path

_COUNT = Path({count!r})
_RUN = int(_COUNT.read_text() or 0) if _COUNT.exists() else 0
_COUNT.write_text(str(_RUN + 1))
STEADY = [0.95, 0.9, 0.99, 0.8, 0.97]


def chain_availability(availabilities):
    right = float(math.prod(availabilities))
    if list(availabilities) == STEADY or _RUN % 2 == 0:
        return right
    return right / 2  # every second process of this module answers wrong
"""


@pytest.fixture
def shared(tmp_path):
    """A folder outside the learner's process that every learner account may write to."""
    folder = Path(tempfile.mkdtemp(prefix="twm-flip-"))
    folder.chmod(0o777)  # the learner runs as an account of its own when the grader is root
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def solved(folder: Path) -> Path:
    """A learner's checkout of ch00 with the reference solution in every module."""
    pristine_copy.copy_exercises(folder / "exercises")
    for module in (KIT / "solutions" / "ch00").glob("*.py"):
        shutil.copy(module, folder / "exercises" / "ch00" / module.name)
    return folder


def flipping(folder: Path, shared: Path) -> Path:
    source = textwrap.dedent(FLIP).format(count=str(shared / "count"))
    (solved(folder) / "exercises" / "ch00" / "availability.py").write_text(source)
    return folder


def grade(folder: Path):
    # The count lives outside the sandbox's read-only view: this learner needs none.
    return grade_submission(folder, chapters=["ch00"], sandbox="none")


def test_a_test_that_fails_on_its_second_run_is_nondeterministic_and_earns_nothing(
    tmp_path, shared
):
    """a test that passed, then failed on an identical run, is nondeterministic and scores 0;
    the same module's steady test and the other module's tests keep their points"""
    result = grade(flipping(tmp_path, shared))
    tests = {t.id: t for t in result.tests}
    for test in FLIPPING:
        assert tests[test].status == "nondeterministic", tests[test]
        assert tests[test].points == 0
        assert tests[test].message.startswith("nondeterministic: ")
        assert "first run passed, the second run failed" in tests[test].message
        assert "chain_availability" in tests[test].message  # the second run's own words
    assert tests[STEADY].status == "passed" and tests[STEADY].points == tests[STEADY].max_points
    others = [t for t in result.tests if not t.id.startswith(TASK1)]
    assert others and all(t.status == "passed" and t.points == t.max_points for t in others)
    flipped = sum(tests[test].max_points for test in FLIPPING)
    assert result.score == result.max_score - flipped
    # Every test that passed ran twice, each time in a learner process of its own.
    assert int((shared / "count").read_text()) == 2 * (len(FLIPPING) + 1)


def test_the_same_flipping_submission_gets_the_same_result_every_time(tmp_path, shared):
    """graded twice, the flipping submission gets the same JSON but for graded_at"""
    folder = flipping(tmp_path, shared)
    first, second = grade(folder), grade(folder)
    assert first.without_timestamp() == second.without_timestamp()
    assert sum(t.status == "nondeterministic" for t in first.tests) == len(FLIPPING)


def test_a_deterministic_solution_keeps_every_point(tmp_path):
    """the reference solution, run twice per test, is never nondeterministic"""
    result = grade_submission(solved(tmp_path), chapters=["ch00"])
    assert result.score == result.max_score > 0
    assert {t.status for t in result.tests} == {"passed"}


def test_without_the_second_run_the_flipping_module_would_earn_every_point(
    tmp_path, shared, monkeypatch
):
    """run once per test, the flipping module's first test earns its points (the process that
    answers wrong is the next test's): the second run is what catches it"""
    from grader import runner

    start = runner.Lane.start

    def once(self, **options):
        self.repeat = False
        start(self, **options)

    monkeypatch.setattr(runner.Lane, "start", once)
    result = grade(flipping(tmp_path, shared))
    first = next(t for t in result.tests if t.id == FIRST)
    assert first.status == "passed" and first.points == first.max_points
    assert not any(t.status == "nondeterministic" for t in result.tests)
    assert int((shared / "count").read_text()) == len(FLIPPING) + 1
