"""A graded failure carries the token that replays exactly its case, to every format."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys

import pristine_copy

from grader.formats import render
from grader.grade import grade_submission
from grader.pristine import default_root

KIT = default_root()
WRONG = KIT / "tests" / "mutants" / "ch00" / "skips_loyalty" / "ch00" / "order_desk.py"


def test_a_graded_failure_replays_exactly_its_case_from_gradescope_s_output(tmp_path):
    """the desk that skips loyalty: its failures' replay lines rerun that very case, and fail"""
    shutil.copytree(pristine_copy.exercises() / "ch00", tmp_path / "exercises" / "ch00")
    shutil.copy(WRONG, tmp_path / "exercises" / "ch00" / "order_desk.py")
    result = grade_submission(tmp_path, chapters=["ch00"], sandbox="none")
    broken = [t for t in result.tests if t.status == "failed" and t.promise]
    assert broken and all(t.replay for t in broken), [(t.id, t.replay) for t in result.tests]
    outputs = [t["output"] for t in json.loads(render("gradescope", result))["tests"]]
    line = next(o for o in outputs if "--replay" in o).splitlines()[-1]
    assert line.startswith("replay: pytest exercises/ch00/"), line
    command = shlex.split(line.removeprefix("replay: "))
    assert command[0] == "pytest" and command[2] == "--replay", command
    target = ["--target", str(tmp_path / "exercises"), "-p", "no:cacheprovider", "-q"]
    rerun = subprocess.run(
        [sys.executable, "-m", *command, *target], cwd=KIT, capture_output=True, text=True
    )
    assert rerun.returncode == 1 and "1 failed" in rerun.stdout, rerun.stdout[-2000:]
