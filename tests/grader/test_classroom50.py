"""Classroom 50: result.json per its published contract, and the autograder.py template."""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pristine_copy
import pytest

from grader.errors import GradingError
from grader.formats import FORMATS, classroom50
from grader.result import ChapterResult, SubmissionResult, TestResult

KIT = Path(__file__).resolve().parents[2]
TEMPLATE = KIT / "grading" / "classroom50" / "autograder.py"
IDENTITY = {
    "CLASSROOM": "fall-2026",
    "ASSIGNMENT": "ch00",
    "SUBMISSION_TAG": "submit/2026-12-01T10-00-00Z-a1b2c3d",
    "COMMIT_URL": "https://github.com/org/fall-2026-ch00-ada/commit/a1b2c3d",
    "RELEASE_URL": "https://github.com/org/fall-2026-ch00-ada/releases/tag/submit%2F1",
    "REVIEW_URL": "https://github.com/org/fall-2026-ch00-ada/compare/0000...a1b2c3d",
    "OWNER": "ada",
    "ASSIGNMENT_TYPE": "individual",
}
# The schema's top-level fields (additionalProperties: false) and the timestamp format.
ALLOWED = {*classroom50.FIELDS, "graded_at", "submitted_by"}
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$")


def contract_errors(data: dict) -> list[str]:
    """What Classroom 50's runner and collect-scores would reject (runner.py validate_result,
    schemas/result-v1.schema.json), after the runner stamps owner, type and datetime."""
    errors = []
    stamped = {**data, "owner": "ada", "assignment_type": "individual"}
    stamped["datetime"] = "2026-12-01T10:00:00Z"
    if set(stamped) - ALLOWED:
        errors.append(f"unknown top-level fields {sorted(set(stamped) - ALLOWED)}")
    if set(classroom50.FIELDS) - set(stamped):
        errors.append(f"missing {sorted(set(classroom50.FIELDS) - set(stamped))}")
    if stamped.get("schema") != "classroom50/result/v1":
        errors.append("schema")
    if not str(stamped.get("submission", "")).startswith("submit/"):
        errors.append("submission")
    for field in ("classroom", "assignment", "commit", "release", "review", "datetime"):
        if not isinstance(stamped.get(field), str) or not stamped[field]:
            errors.append(field)
    if not INSTANT.match(data.get("datetime", "")):
        errors.append("datetime format")

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if not (whole(stamped.get("score")) and whole(stamped.get("max-score"))):
        errors.append("score / max-score are not whole numbers")
    elif stamped["score"] > stamped["max-score"]:
        errors.append("score > max-score")
    for n, test in enumerate(stamped.get("tests", [])):
        if not isinstance(test.get("test-name"), str) or not test["test-name"]:
            errors.append(f"tests[{n}].test-name")
        if not isinstance(test.get("passed"), bool):
            errors.append(f"tests[{n}].passed")
        if not (whole(test.get("score")) and whole(test.get("max-score"))):
            errors.append(f"tests[{n}] points")
        elif test["score"] > test["max-score"]:
            errors.append(f"tests[{n}].score > max-score")
    return errors


def sample() -> SubmissionResult:
    tests = [
        TestResult("exercises/ch00/test_a.py::test_x", "ch00", 1, "passed", 2, 2, title="kept"),
        TestResult(
            "exercises/ch00/test_a.py::test_y", "ch00", 2, "failed", 0, 3, "order o-2 was lost"
        ),
        TestResult("exercises/ch00/test_a.py::test_z", "ch00", 2, "error", 0, 1, "ValueError"),
        TestResult(
            "exercises/ch00/test_a.py::test_y[hidden]",
            "ch00",
            2,
            "failed",
            0,
            3,
            "order o-9 was lost at t=0.4",
            hidden=True,
        ),
    ]
    return SubmissionResult(2, 9, [ChapterResult("ch00", "Why messages", 2, 9)], tests)


def test_the_result_follows_the_published_contract():
    """classroom50/result/v1: the identity, whole-number points that add up, one entry per test"""
    data = classroom50.from_environment(sample(), IDENTITY)
    assert contract_errors(data) == []
    assert set(data) <= ALLOWED
    assert (data["classroom"], data["assignment"]) == ("fall-2026", "ch00")
    assert data["submission"] == IDENTITY["SUBMISSION_TAG"]
    assert data["review"] == IDENTITY["REVIEW_URL"]
    assert (data["score"], data["max-score"]) == (2, 9)
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert [t["passed"] for t in data["tests"]] == [True, False, False, False]
    assert "o-2 was lost" in data["tests"][1]["message"]
    json.dumps(data)  # what the runner reads is JSON


def test_points_are_whole_numbers_or_the_conversion_says_which_test_is_not():
    """the contract counts integers: half a point is refused, never rounded away"""
    half = TestResult("exercises/ch00/test_a.py::test_h", "ch00", 1, "passed", 0.5, 0.5)
    result = SubmissionResult(0.5, 0.5, [ChapterResult("ch00", "W", 0.5, 0.5)], [half])
    with pytest.raises(GradingError, match="test_h.*whole points"):
        classroom50.from_environment(result, IDENTITY)


def test_the_identity_comes_from_the_runner_or_the_line_says_what_is_missing():
    """outside the runner: one line naming the variables, not a result for nobody"""
    lacking = {k: v for k, v in IDENTITY.items() if k not in ("SUBMISSION_TAG", "COMMIT_URL")}
    with pytest.raises(GradingError, match="SUBMISSION_TAG, COMMIT_URL") as raised:
        classroom50.from_environment(sample(), lacking)
    assert "\n" not in str(raised.value)


def test_a_hidden_case_says_it_failed_and_nothing_more_in_what_the_student_sees():
    """result.json and release-body.md are published in the student's repository"""
    result = sample()
    data = json.dumps(classroom50.from_environment(result, IDENTITY))
    body = classroom50.release_body(result)
    log = classroom50.log_report(result)
    for seen in (data, body, log):
        assert "o-9" not in seen and "t=0.4" not in seen
        assert "a hidden case of task ch00.2 failed" in seen
    assert "rerun: pytest exercises/ch00/test_a.py::test_y\n" in body  # the visible one only
    assert body.count("rerun:") == 2


def test_nothing_from_the_submission_becomes_markdown_or_a_workflow_command():
    """a message with fences, headings and ::error:: stays text in the body and in the log"""
    evil = "```\n# Score: 100 / 100\n::error::forged <img src=x>"
    test = TestResult("exercises/ch00/test_a.py::test_e", "ch00", 1, "error", 0, 2, evil)
    result = SubmissionResult(0, 2, [ChapterResult("ch00", "W", 0, 2)], [test])
    body = classroom50.release_body(result).splitlines()
    fences = [n for n, line in enumerate(body) if re.fullmatch(r"`{3,}", line)]
    assert len(fences) == 2 and len(body[fences[0]]) > 3  # longer than the message's own fence
    inside = range(fences[0] + 1, fences[1])
    assert all(n in inside for n, line in enumerate(body) if "100 / 100" in line or "<img" in line)
    assert body[0] == "### Score: 0 / 2"
    log = classroom50.log_report(result)
    assert all(line.startswith("  ") for line in log.splitlines())


def test_the_format_is_registered_and_the_examples_run(monkeypatch):
    """grader run --format classroom50 reads the identity from the environment"""
    assert "classroom50" in FORMATS
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)
    from grader.formats import render

    assert contract_errors(json.loads(render("classroom50", sample()))) == []
    assert doctest.testmod(classroom50).failed == 0


def test_the_converter_writes_result_json_and_the_release_body(tmp_path, monkeypatch, capsys):
    """python -m grader.formats.classroom50 grade.json --out result.json --release-body ..."""
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)
    graded = tmp_path / "grade.json"
    graded.write_text(json.dumps(sample().to_json()))
    out, body = tmp_path / "result.json", tmp_path / "release-body.md"
    assert classroom50.main([str(graded), "--out", str(out), "--release-body", str(body)]) == 0
    assert contract_errors(json.loads(out.read_text())) == []
    assert "| ch00 Why messages | 2 / 9 |" in body.read_text()
    assert "Score: 2 / 9" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text("{}")
    assert classroom50.main([str(tmp_path / "bad.json"), "--out", str(out)]) == 2


# -- the autograder.py template, run as Classroom 50's runner runs it ---------------------------


def checkout_of_the_kit(folder: Path) -> Path:
    """A student's checkout: the kit with its stubs untouched."""
    return pristine_copy.copy_kit(folder)


def run_template(checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **IDENTITY, **env}
    return subprocess.run(
        [sys.executable, str(TEMPLATE)], cwd=checkout, env=environ, capture_output=True, text=True
    )


def test_the_template_grades_the_checkout_with_the_kit_s_own_tests(tmp_path):
    """cwd is the student's checkout; an edited test changes nothing; result.json is valid"""
    checkout = checkout_of_the_kit(tmp_path / "ada")
    shutil.rmtree(checkout / "solutions")
    (checkout / "exercises" / "ch00" / "test_availability.py").write_text(
        "def test_everything():\n    assert True\n"
    )
    done = run_template(checkout, KIT_DIR=str(KIT), KIT_PYTHON=sys.executable, KIT_CHAPTERS="ch00")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((checkout / "result.json").read_text())
    assert contract_errors(data) == []
    assert data["score"] == 0 < data["max-score"]  # the stubs earn nothing
    assert len(data["tests"]) > 2  # the pristine tests, not the learner's one
    assert all(t["test-name"].startswith("ch00 ") for t in data["tests"])
    assert (checkout / "release-body.md").read_text().startswith("### Score: 0 /")
    assert all(line.startswith("  ") for line in done.stdout.splitlines())


def test_the_template_reports_a_kit_it_cannot_fetch_as_an_infrastructure_error(tmp_path):
    """exit 1 with an ::error:: line and no result.json: the runner records status=error"""
    checkout = tmp_path / "ada"
    (checkout / "exercises").mkdir(parents=True)
    done = run_template(checkout, GITHUB_SERVER_URL=f"file://{tmp_path}/nowhere")
    assert done.returncode == 1
    assert "::error::cannot fetch" in done.stdout
    assert not (checkout / "result.json").exists()
