"""The autograding reporter's base64 ``result``, and the workflow for Actions and Classmoji."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pristine_copy
import pytest

from grader.formats import classroom
from grader.result import ChapterResult, SubmissionResult, TestResult

KIT = Path(__file__).resolve().parents[2]
WORKFLOW = KIT / ".github" / "workflows" / "classroom.yml"
# The reporter's check on its runners input, from its source.
RUNNERS = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")


def sample() -> SubmissionResult:
    tests = [
        TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2, title="kept"),
        TestResult("exercises/ch03/test_a.py::test_y", "ch03", 2, "failed", 0, 3, "o-2 lost"),
        TestResult("exercises/ch04/test_b.py::test_z", "ch04", 1, "error", 0, 4, "boom"),
        TestResult(
            "exercises/ch04/test_b.py::test_z[hidden]", "ch04", 1, "failed", 0, 4, "t=0.4", True
        ),
    ]
    chapters = [ChapterResult("ch03", "D", 2, 5), ChapterResult("ch04", "O", 0, 8)]
    return SubmissionResult(2, 13, chapters, tests)


def test_the_result_is_what_the_reporter_reads():
    """base64 JSON: version 1, status, max_score, tests with name, status, score, message"""
    data = classroom.decode(classroom.render(sample()))
    assert data["version"] == 1
    assert data["status"] == "fail"
    assert data["max_score"] == 13
    assert sum(t["score"] for t in data["tests"]) == 2  # what the reporter sends to Classroom
    for test in data["tests"]:
        assert {"name", "status", "score", "message", "test_code", "line_no"} <= set(test)
        assert test["status"] in ("pass", "fail")
        assert test["line_no"] == 0  # the reporter prints "- line N" for any other value
    failed = next(t for t in data["tests"] if "o-2 lost" in t["message"])
    assert "o-2 lost" in failed["test_code"] and "[point 1 of 3]" in failed["name"]


def reporter_points(runner: dict) -> float:
    """A runner's points as the reporter prints them: passed / tests x max_score."""
    passed = sum(1 for t in runner["tests"] if t["status"] == "pass")
    return passed / len(runner["tests"]) * runner["max_score"]


def test_every_figure_the_reporter_prints_is_the_grader_s():
    """weighted tests become one entry per point, so the reporter's arithmetic gives our points"""
    result = sample()
    whole = classroom.decode(classroom.render(result))
    assert reporter_points(whole) == sum(t["score"] for t in whole["tests"]) == result.score
    for chapter in result.chapters:
        runner = classroom.decode(classroom.runners(result)[chapter.id])
        assert reporter_points(runner) == chapter.score
        assert len(runner["tests"]) == chapter.max_score


def test_one_runner_per_chapter_with_its_own_points():
    """per-chapter runners: names the reporter accepts, each chapter's max score and tests"""
    runners = classroom.runners(sample())
    assert list(runners) == ["ch03", "ch04"]
    assert RUNNERS.match(",".join(runners))
    ch03, ch04 = (classroom.decode(value) for value in runners.values())
    assert (ch03["max_score"], sum(t["score"] for t in ch03["tests"])) == (5, 2)
    assert (ch04["max_score"], len(ch04["tests"])) == (8, 8)
    assert ch04["status"] == "fail"


def test_a_hidden_case_says_it_failed_but_not_how():
    """the learner sees that a hidden case failed, never its trace"""
    tests = classroom.decode(classroom.runners(sample())["ch04"])["tests"]
    hidden = [t for t in tests if "hidden" in t["message"]]
    assert len(hidden) == 4  # one entry per point
    assert all("t=0.4" not in t["message"] + t["test_code"] for t in hidden)


def test_all_passed_is_a_pass():
    """a chapter whose tests all passed is reported as a pass"""
    test = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2)
    result = SubmissionResult(2, 2, [ChapterResult("ch03", "D", 2, 2)], [test])
    assert classroom.decode(classroom.render(result))["status"] == "pass"


def test_the_workflow_helper_writes_env_output_and_summary(tmp_path):
    """python -m grader.formats.classroom appends CHNN_RESULTS, runners= and the report"""
    results = tmp_path / "results.json"
    results.write_text(__import__("json").dumps(sample().to_json()))
    env, output, summary = tmp_path / "env", tmp_path / "output", tmp_path / "summary"
    code = classroom.main(
        [str(results), "--env", str(env), "--output", str(output), "--summary", str(summary)]
    )
    assert code == 0
    lines = dict(line.split("=", 1) for line in env.read_text().splitlines())
    assert set(lines) == {"CH03_RESULTS", "CH04_RESULTS"}
    assert classroom.decode(lines["CH03_RESULTS"])["max_score"] == 5
    assert output.read_text() == "runners=ch03,ch04\n"
    assert "ch03" in summary.read_text()


def test_the_workflow_helper_rejects_what_is_not_a_grader_result(tmp_path, capsys):
    """a file that is not grader run's JSON: one line, exit 2"""
    bad = tmp_path / "results.json"
    bad.write_text("{}")
    code = classroom.main([str(bad), "--env", str(tmp_path / "e"), "--output", str(tmp_path / "o")])
    assert code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_module_examples_run():
    """the docstring example of the format shows what it says"""
    assert doctest.testmod(classroom).failed == 0


# -- the template's workflow -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def step(workflow: dict, name: str) -> dict:
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    return next(s for s in steps if s.get("id") == name or s.get("name") == name)


def test_the_workflow_grades_with_a_pinned_pristine_kit_and_reports_per_chapter(workflow):
    """the reporter's job name, the kit checked out at a pinned ref, one runner per chapter"""
    job = workflow["jobs"]["run-autograding-tests"]  # the reporter finds its check run by it
    kit = step(workflow, "Check out the kit's pristine copy")
    assert kit["with"]["ref"] == "${{ env.KIT_REF }}" and kit["with"]["path"] == "kit"
    assert job["env"]["KIT_REF"] and job["env"]["KIT_REPOSITORY"]
    grade = step(workflow, "grade")
    assert grade["working-directory"] == "kit"
    assert "grader.cli run ../submission" in grade["run"]
    reporter = step(workflow, "Autograding Reporter")
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == "${{ steps.grade.outputs.runners }}"


def every_step(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_every_action_is_pinned_by_a_full_commit_id(workflow):
    """a tag can be moved to other code; a 40-hex commit id cannot"""
    uses = [s["uses"] for s in every_step(workflow) if "uses" in s]
    assert len(uses) >= 4
    for action in uses:
        name, _, ref = action.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{name} is pinned by {ref!r}, not a commit id"


def test_checkouts_keep_no_credentials_and_the_job_cannot_write(workflow):
    """persist-credentials false on every checkout; contents: read and nothing else"""
    checkouts = [
        s for s in every_step(workflow) if s.get("uses", "").startswith("actions/checkout@")
    ]
    assert len(checkouts) == 2
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert set(job.get("permissions", {}).values()) <= {"read", "none"}
    assert "checks: write" not in WORKFLOW.read_text(encoding="utf-8")


def test_a_private_kit_is_read_with_a_read_only_token_the_workflow_documents(workflow):
    """the kit checkout takes KIT_TOKEN when set, and the comments say what it may open"""
    kit = step(workflow, "Check out the kit's pristine copy")
    assert kit["with"]["token"] == "${{ secrets.KIT_TOKEN || github.token }}"
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "fine-grained" in text and '"Contents: read"' in text and "KIT_TOKEN" in text
    assert "grade of record" in text and "feedback" in text


def copy_kit(folder: Path) -> Path:
    """The kit as a learner's checkout holds it, its stubs untouched."""
    return pristine_copy.copy_kit(folder)


def test_the_grade_step_ignores_a_learner_who_edits_tests_to_pass(workflow, tmp_path):
    """the workflow's own Grade step, run here: an edited test and a conftest change no score"""
    kit = copy_kit(tmp_path / "kit")
    submission = copy_kit(tmp_path / "submission")
    test_file = submission / "exercises" / "ch00" / "test_availability.py"
    test_file.write_text("def test_everything():\n    assert True\n")
    (submission / "exercises" / "ch00" / "conftest.py").write_text("collect_ignore = ['.']\n")
    run = step(workflow, "grade")["run"].replace(
        "run ../submission", "run ../submission --chapters ch00"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env |= {k: str(tmp_path / k.lower()) for k in ("GITHUB_ENV", "GITHUB_OUTPUT")}
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary")
    script = f"set -e\nshopt -s expand_aliases\nalias python={sys.executable}\n{run}"
    done = subprocess.run(["bash", "-c", script], cwd=kit, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "github_output").read_text() == "runners=ch00\n"
    encoded = (tmp_path / "github_env").read_text().split("=", 1)[1]
    ch00 = classroom.decode(encoded)
    assert sum(t["score"] for t in ch00["tests"]) == 0 < ch00["max_score"]
    assert len(ch00["tests"]) > 1  # the pristine tests, not the learner's one test
