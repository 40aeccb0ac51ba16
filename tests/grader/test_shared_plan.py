"""A batch collects the kit's tests once: the first grading keeps the plan for the others.

Every ``grader run`` collects the pristine tests to learn what to score (a pytest
start of its own). A batch passes all its gradings one file in a folder of its
own (``--shared-plan``); the first writes the plan there, the others read it,
and a file that is another kit's, other chapters', or not a plan is ignored.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pristine_copy
import pytest

from grader import batch, grade, pristine
from grader.grade import grade_submission

KIT = pristine.default_root()
CHAPTERS = ["ch00"]


@pytest.fixture
def fresh(monkeypatch):
    """No plan remembered by this process: each grading below starts as a batch's does."""
    monkeypatch.setattr(grade, "_plans", {})


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("solved")
    pristine_copy.copy_exercises(folder / "exercises")
    for module in (KIT / "solutions" / "ch00").glob("*.py"):
        shutil.copy(module, folder / "exercises" / "ch00" / module.name)
    return folder


@pytest.fixture(scope="module")
def first(solved, tmp_path_factory) -> tuple[list[str], Path]:
    """A first grading, with no plan kept yet: the ids it scored, and the file it kept."""
    grade._plans.clear()
    kept = tmp_path_factory.mktemp("batch") / "plan.json"
    result = grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    grade._plans.clear()
    return [t.id for t in result.tests], kept


@pytest.fixture
def full(first) -> list[str]:
    """The ids of every ch00 test, as a grading that collects its own plan scores them."""
    return first[0]


@pytest.fixture
def plan(first) -> dict:
    """What the first grading kept, as a fresh copy."""
    return json.loads(first[1].read_text(encoding="utf-8"))


def test_the_first_grading_keeps_its_plan_for_the_others(first, plan):
    """the file holds the kit's version, the chapters and the tests scored, for this account"""
    full, kept = first
    assert len(full) > 2
    assert plan["kit"] == pristine.load(KIT).version and plan["chapters"] == CHAPTERS
    assert [entry["id"] for entry in plan["tests"]] == full
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_kept_plan_is_read_instead_of_collecting_again(solved, full, plan, fresh, tmp_path):
    """a plan naming two of the tests: the grading scores those two and no other"""
    kept = tmp_path / "plan.json"
    plan["tests"] = plan["tests"][:2]
    kept.write_text(json.dumps(plan), encoding="utf-8")
    result = grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    assert [t.id for t in result.tests] == full[:2]
    assert result.score == result.max_score == sum(t.max_points for t in result.tests)


SPOILS = {
    "another-kit": lambda plan: plan.update(kit="0.0.0+another"),
    "other-chapters": lambda plan: plan.update(chapters=["ch00", "ch01"]),
    "an-entry-without-points": lambda plan: plan["tests"][0].pop("max_points"),
    "a-task-as-text": lambda plan: plan["tests"][1].update(task="1"),
    "empty": lambda plan: plan.update(tests=[]),
    "not-a-list": lambda plan: plan.update(tests={"id": "x"}),
}


@pytest.mark.parametrize("spoil", SPOILS.values(), ids=SPOILS.keys())
def test_a_plan_of_another_kit_or_not_a_plan_is_not_read(plan, tmp_path, spoil):
    """what a grading reads back of a kept file: nothing, unless it is this kit's plan"""
    kept = tmp_path / "plan.json"
    version = pristine.load(KIT).version
    kept.write_text(json.dumps(plan), encoding="utf-8")
    assert grade._read_plan(kept, version, CHAPTERS) == plan["tests"]
    spoil(plan)
    kept.write_text(json.dumps(plan), encoding="utf-8")
    assert grade._read_plan(kept, version, CHAPTERS) is None
    kept.write_text("{not json", encoding="utf-8")
    assert grade._read_plan(kept, version, CHAPTERS) is None
    assert grade._read_plan(tmp_path / "none.json", version, CHAPTERS) is None


def test_a_grading_that_finds_another_kit_s_plan_collects_and_keeps_its_own(
    solved, full, plan, fresh, tmp_path
):
    """it scores every test, and the file holds its plan afterwards"""
    kept = tmp_path / "plan.json"
    plan["tests"] = plan["tests"][:2]
    plan["kit"] = "0.0.0+another"
    kept.write_text(json.dumps(plan), encoding="utf-8")
    result = grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    assert [t.id for t in result.tests] == full
    assert len(json.loads(kept.read_text(encoding="utf-8"))["tests"]) == len(full)


def test_a_batch_passes_its_gradings_one_plan_in_its_own_folder(tmp_path):
    """the ``grader run`` a batch starts is told where the plan is kept"""
    command = batch.grader_command(tmp_path, tmp_path / "out.json", shared_plan=tmp_path / "p")
    assert command[command.index("--shared-plan") + 1] == str(tmp_path / "p")
