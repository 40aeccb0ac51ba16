"""What the grade says about the sandbox it was earned in, and a sandbox that cannot be had."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pristine_copy

from grader.formats import render
from grader.grade import grade_submission
from grader.pristine import default_root
from grader.result import SubmissionResult

KIT = default_root()


def test_the_result_lists_what_the_sandbox_could_not_give(tmp_path):
    """graded without bubblewrap, the result says so in its sandbox section and in Markdown"""
    pristine_copy.copy_exercises(tmp_path / "exercises")
    result = grade_submission(tmp_path, chapters=["ch00"], sandbox="none")
    assert any("bubblewrap is turned off" in gap for gap in result.sandbox["missing"])
    assert not any("PID namespace" in held for held in result.sandbox["held"])
    assert "fresh interpreter" in result.sandbox["held"][0]
    again = SubmissionResult.from_json(result.to_json())
    assert again.sandbox == result.sandbox
    report = render("md", result)
    assert "## Sandbox" in report and "bubblewrap is turned off" in report


def test_a_full_sandbox_adds_no_section_to_the_report():
    """a result whose sandbox lacked nothing shows no Sandbox section"""
    result = SubmissionResult(0, 0, [], [], sandbox={"held": ["a fresh interpreter"]})
    assert "## Sandbox" not in render("md", result)


def test_a_required_sandbox_that_is_missing_is_one_line_and_exit_2(tmp_path):
    """--sandbox require without bubblewrap stops before grading, with one line, no traceback"""
    shutil.copytree(pristine_copy.exercises() / "ch00", tmp_path / "exercises" / "ch00")
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "run", str(tmp_path), "--sandbox", "require"],
        capture_output=True,
        text=True,
        cwd=KIT,
        env={"PATH": str(tmp_path / "nothing-here"), "HOME": str(tmp_path)},
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "bwrap is not installed" in lines[0], done.stderr
    assert "--sandbox require" in lines[0]
