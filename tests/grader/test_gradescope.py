"""Gradescope: results.json per Gradescope's autograder specification, and the autograder zip."""

from __future__ import annotations

import doctest
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.formats import gradescope
from grader.pristine import IGNORED_DIRS
from grader.result import ChapterResult, Integrity, SubmissionResult, TestResult

KIT = Path(__file__).resolve().parents[2]
SCRIPTS = KIT / "grading" / "gradescope"
# The fields Gradescope's specification names, at the top level and for a test.
TOP_LEVEL = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
PER_TEST = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}


def sample() -> SubmissionResult:
    tests = [
        TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2, title="kept"),
        TestResult(
            "exercises/ch03/test_a.py::test_y", "ch03", 2, "failed", 0, 3, "order o-2 was lost"
        ),
        TestResult("exercises/ch03/test_a.py::test_z", "ch03", 2, "timeout", 0, 1, "timed out"),
        TestResult(
            "exercises/ch03/test_a.py::test_y[hidden]",
            "ch03",
            2,
            "failed",
            0,
            3,
            "order o-9 was lost at t=0.4",
            hidden=True,
        ),
    ]
    return SubmissionResult(
        2,
        9,
        [ChapterResult("ch03", "Delivery semantics", 2, 9)],
        tests,
        Integrity(modified=["exercises/ch03/test_a.py"]),
    )


def test_results_json_follows_the_specification():
    """score, and per test name, score, max_score, status, output, visibility: nothing else"""
    data = json.loads(gradescope.render(sample()))
    assert set(data) <= TOP_LEVEL
    assert data["score"] == 2
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    for test in data["tests"]:
        assert set(test) <= PER_TEST
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in gradescope.VISIBILITIES
    statuses = [t["status"] for t in data["tests"]]
    assert statuses == ["passed", "failed", "failed", "failed"]
    assert "lost" in data["tests"][1]["output"]
    assert "exercises/ch03/test_a.py" in data["output"]  # the tampered file is named


def test_hidden_cases_are_shown_after_the_due_date_and_never_say_how_to_rerun_them():
    """a hidden case carries points, so it is after_due_date (the spec keeps hidden for 0 points)"""
    tests = json.loads(gradescope.render(sample()))["tests"]
    assert [t["visibility"] for t in tests] == ["visible", "visible", "visible", "after_due_date"]
    assert "pytest" not in tests[3]["output"]
    hidden = json.loads(gradescope.render(sample(), hidden_visibility="hidden"))["tests"][3]
    assert hidden["visibility"] == "hidden"
    with pytest.raises(ValueError, match="expected one of"):
        gradescope.render(sample(), hidden_visibility="later")


def test_the_module_examples_run():
    """the docstring example of the format shows what it says"""
    assert doctest.testmod(gradescope).failed == 0


# -- the autograder zip, run as Gradescope runs it ------------------------------------------------


def copy_kit(folder: Path, *, solved: bool = False) -> Path:
    shutil.copytree(
        KIT,
        folder,
        ignore=lambda _, names: [
            n for n in names if n in IGNORED_DIRS or n.endswith((".egg-info", ".pyc", ".grades"))
        ],
    )
    if solved:
        for module in (KIT / "solutions" / "ch03").glob("*.py"):
            shutil.copy(module, folder / "exercises" / "ch03" / module.name)
    return folder


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    """The uploaded zip unpacked as Gradescope lays it out: /autograder/source, run_autograder."""
    root = tmp_path_factory.mktemp("gradescope") / "autograder"
    (root / "source").mkdir(parents=True)
    archive = root.parent / "autograder.zip"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "make_autograder.py"), "--out", str(archive)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert {"setup.sh", "run_autograder"} <= set(names)  # at the root, as specified
        assert "kit/exercises/info.toml" in names
        assert not any("/.git/" in n or "__pycache__" in n for n in names)
        opened.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    return root


def run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    env["CHAPTERS"] = "ch03"  # the suite grades one chapter to stay fast
    done = subprocess.run(
        [str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_run_autograder_grades_a_repository_submission(autograder):
    """a submission laid out as Gradescope does (/autograder/submission) gets valid results"""
    submission = autograder / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    copy_kit(submission, solved=True)
    (submission / "exercises" / "conftest.py").write_text(
        "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n    yield\n"
    )
    data = run_autograder(autograder)
    assert set(data) <= TOP_LEVEL
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0
    assert all(t["status"] == "passed" for t in data["tests"])
    assert "exercises/conftest.py" in data["output"]  # flagged, and it changed nothing


def test_run_autograder_lays_loose_chapter_folders_into_the_kit(autograder):
    """a submission of chNN/ folders only is graded inside a fresh copy of the kit"""
    submission = autograder / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    (submission / "ch03").mkdir(parents=True)
    for module in (KIT / "exercises" / "ch03").glob("*.py"):
        if not module.name.startswith("test_"):
            shutil.copy(module, submission / "ch03" / module.name)
    shutil.copy(KIT / "solutions" / "ch03" / "at_most_once.py", submission / "ch03")
    data = run_autograder(autograder)
    task_one = [t for t in data["tests"] if "ch03.1" in t["tags"]]
    assert task_one and all(t["status"] == "passed" for t in task_one)
    assert 0 < data["score"] < sum(t["max_score"] for t in data["tests"])


def test_run_autograder_explains_a_submission_it_cannot_grade(autograder):
    """an upload with no exercises at all scores 0 with the reason, not a failed autograder"""
    submission = autograder / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    submission.mkdir()
    (submission / "answers.txt").write_text("at least once\n")
    data = run_autograder(autograder)
    assert data["score"] == 0
    assert "chNN" in data["output"]
