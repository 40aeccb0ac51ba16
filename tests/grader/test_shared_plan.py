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
def full(solved) -> list[str]:
    """The ids of every ch00 test, as a grading that collects its own plan scores them."""
    grade._plans.clear()
    return [t.id for t in grade_submission(solved, chapters=CHAPTERS).tests]


def test_the_first_grading_keeps_its_plan_for_the_others(solved, full, fresh, tmp_path):
    """the file holds the kit's version, the chapters and the tests scored, for this account"""
    kept = tmp_path / "plan.json"
    result = grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    assert [t.id for t in result.tests] == full
    plan = json.loads(kept.read_text(encoding="utf-8"))
    assert plan["kit"] == pristine.load(KIT).version and plan["chapters"] == CHAPTERS
    assert [entry["id"] for entry in plan["tests"]] == full
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_kept_plan_is_read_instead_of_collecting_again(solved, full, fresh, tmp_path):
    """a plan naming two of the tests: the grading scores those two and no other"""
    kept = tmp_path / "plan.json"
    grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    plan = json.loads(kept.read_text(encoding="utf-8"))
    plan["tests"] = plan["tests"][:2]
    kept.write_text(json.dumps(plan), encoding="utf-8")
    grade._plans.clear()
    result = grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    assert [t.id for t in result.tests] == full[:2]
    assert result.score == result.max_score == sum(t.max_points for t in result.tests)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda plan: plan.update(kit="0.0.0+another"),
        lambda plan: plan.update(chapters=["ch00", "ch01"]),
        lambda plan: plan["tests"][0].pop("max_points"),
        lambda plan: plan["tests"][1].update(task="1"),
        lambda plan: plan.update(tests=[]),
    ],
    ids=["another-kit", "other-chapters", "an-entry-without-points", "a-task-as-text", "empty"],
)
def test_a_plan_of_another_kit_or_not_a_plan_is_ignored(solved, full, fresh, tmp_path, spoil):
    """the grading collects its own plan, scores every test, and keeps that plan instead"""
    kept = tmp_path / "plan.json"
    grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    plan = json.loads(kept.read_text(encoding="utf-8"))
    plan["tests"] = plan["tests"][:2]
    spoil(plan)
    kept.write_text(json.dumps(plan), encoding="utf-8")
    grade._plans.clear()
    result = grade_submission(solved, chapters=CHAPTERS, shared_plan=kept)
    assert [t.id for t in result.tests] == full
    assert len(json.loads(kept.read_text(encoding="utf-8"))["tests"]) == len(full)


def test_a_file_that_is_not_json_is_ignored(solved, full, fresh, tmp_path):
    kept = tmp_path / "plan.json"
    kept.write_text("{not json", encoding="utf-8")
    assert [t.id for t in grade_submission(solved, chapters=CHAPTERS, shared_plan=kept).tests] == (
        full
    )


def test_a_batch_passes_its_gradings_one_plan_in_its_own_folder(tmp_path):
    """the ``grader run`` a batch starts is told where the plan is kept"""
    command = batch.grader_command(tmp_path, tmp_path / "out.json", shared_plan=tmp_path / "p")
    assert command[command.index("--shared-plan") + 1] == str(tmp_path / "p")
