"""The result model and the core formats (json, md, csv) of ``grader run``."""

from __future__ import annotations

import csv
import dataclasses
import doctest
import importlib
import io
import json

import pytest

from grader.errors import GradingError
from grader.formats import render, renderer
from grader.result import ChapterResult, Integrity, SubmissionResult, TestResult


@pytest.fixture
def result() -> SubmissionResult:
    tests = [
        TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2, title="no loss"),
        TestResult(
            "exercises/ch03/test_a.py::test_y",
            "ch03",
            2,
            "failed",
            0,
            1,
            "order o-2 was charged 2 times (duplicated) | really",
            promise="no-duplicate",
            title="no duplicate",
        ),
        TestResult(
            "exercises/ch03/test_a.py::test_x[hidden]",
            "ch03",
            1,
            "timeout",
            0,
            2,
            "timed out",
            hidden=True,
            title="no loss",
        ),
    ]
    return SubmissionResult(
        score=2,
        max_score=5,
        chapters=[ChapterResult("ch03", "Delivery semantics", 2, 5)],
        tests=tests,
        integrity=Integrity(modified=["exercises/ch03/test_a.py"], unexpected=["conftest.py"]),
        kit_version="0.1.0+abc",
        graded_at="2026-01-01T00:00:00+00:00",
        submission="subs/alice",
        notes=["exercises/ch03/b.py: missing from the submission, so its tests score 0"],
    )


def test_the_model_round_trips_through_json(result: SubmissionResult):
    text = render("json", result)
    assert SubmissionResult.from_json(text) == result
    assert SubmissionResult.from_json(json.loads(text)) == result


def test_json_has_the_fields_teachers_and_tools_read(result: SubmissionResult):
    data = json.loads(render("json", result))
    assert (data["score"], data["max_score"]) == (2, 5)
    assert data["chapters"][0] == {
        "id": "ch03",
        "title": "Delivery semantics",
        "score": 2,
        "max_score": 5,
    }
    for test in data["tests"]:
        assert {"id", "status", "points", "max_points", "message", "hidden"} <= set(test)
    assert data["integrity"] == {
        "modified": ["exercises/ch03/test_a.py"],
        "unexpected": ["conftest.py"],
        "missing": [],
        "copied": [],
        "clean": False,
    }


def test_a_failure_s_replay_token_round_trips_and_reruns_exactly_its_case(result):
    """the record keeps the replay token; the command built from it runs that one case"""
    token = "queue-flaky-gateway~0.1.2/1a@s0"
    failed = dataclasses.replace(result.tests[1], id=result.tests[1].id + "[two]", replay=token)
    graded = dataclasses.replace(result, tests=[result.tests[0], failed, result.tests[2]])
    data = json.loads(render("json", graded))
    assert [t["replay"] for t in data["tests"]] == ["", token, ""]
    assert SubmissionResult.from_json(data) == graded
    before = [{k: v for k, v in t.items() if k != "replay"} for t in data["tests"]]
    older = {**data, "tests": before}
    assert SubmissionResult.from_json(older).tests[1].replay == ""  # a record from before
    assert failed.rerun == (
        "pytest 'exercises/ch03/test_a.py::test_y[two]' --replay 'queue-flaky-gateway~0.1.2/1a@s0'"
    )
    assert result.tests[1].rerun == "pytest exercises/ch03/test_a.py::test_y"
    rows = list(csv.DictReader(io.StringIO(render("csv", graded))))
    assert [r["replay"] for r in rows if r["kind"] == "test"] == ["", failed.rerun, ""]


def test_without_timestamp_is_what_stays_the_same(result: SubmissionResult):
    assert "graded_at" not in result.without_timestamp()


def test_markdown_shows_the_score_the_integrity_and_every_reason(result: SubmissionResult):
    text = render("md", result)
    assert text.startswith("# Grade: 2 / 5\n")
    assert "| ch03 · Delivery semantics | all tasks | 1 of 3 | 2 / 5 |" in text
    assert "- exercises/ch03/test\\_a.py" in text and "- conftest.py" in text
    assert "duplicated\\) \\| really" in text  # a table cell keeps its pipe
    assert "Hidden cases: 0 of 1 passed, 0 / 2 points." in text
    assert "timed out" not in text and "[hidden]" not in text and "(hidden)" not in text
    assert "missing from the submission" in text


def stubbed(result: SubmissionResult) -> SubmissionResult:
    """``result`` with a second chapter: task 1 untouched (its stubs), task 2 without its
    module, task 3 tried (one test failed, one passed)."""
    todo = "not done yet: TODO(ch04.{}): record the message id"
    missing = "the target 'exercises' has no module ch04/buffer.py; copy it from the kit"
    tests = [
        TestResult(f"exercises/ch04/test_a.py::test_{n}", "ch04", 1, "failed", 0, 2, todo)
        for n in range(3)
    ]
    tests += [
        TestResult(f"exercises/ch04/test_b.py::test_{n}", "ch04", 2, "failed", 0, 1, missing)
        for n in range(2)
    ]
    tests += [
        TestResult("exercises/ch04/test_c.py::test_0", "ch04", 3, "failed", 0, 1, todo),
        TestResult("exercises/ch04/test_c.py::test_1", "ch04", 3, "passed", 3, 3),
    ]
    chapter = ChapterResult("ch04", "Ordering and idempotency", 3, 12)
    return dataclasses.replace(
        result,
        score=result.score + 3,
        max_score=result.max_score + 12,
        chapters=[*result.chapters, chapter],
        tests=[*result.tests, *tests],
    )


def test_markdown_gives_points_per_task_under_each_chapter_subtotal(result: SubmissionResult):
    """each chapter's row keeps its subtotal; a row per task follows, and the hidden cases'
    row, so that the rows add up to the chapter's points"""
    lines = render("md", stubbed(result)).splitlines()
    table = lines[lines.index("| chapter | task | tests passed | points |") :]
    table = table[: table.index("")]
    assert table[2:] == [
        "| ch03 · Delivery semantics | all tasks | 1 of 3 | 2 / 5 |",
        "| | ch03.1 | 1 of 1 | 2 / 2 |",
        "| | ch03.2 | 0 of 1 | 0 / 1 |",
        "| | hidden cases | 0 of 1 | 0 / 2 |",
        "| ch04 · Ordering and idempotency | all tasks | 1 of 7 | 3 / 12 |",
        "| | ch04.1 | 0 of 3 | 0 / 6 |",
        "| | ch04.2 | 0 of 2 | 0 / 2 |",
        "| | ch04.3 | 1 of 2 | 3 / 4 |",
    ]


def test_markdown_groups_the_tasks_left_untouched_in_one_line_per_chapter(result):
    """a task whose every test is not done yet (or has no module) is one line per chapter,
    not a row per test; a task tried keeps a row for each test it failed"""
    text = render("md", stubbed(result))
    failures = [line for line in text.splitlines() if line.startswith("| ch")]
    failures = [line for line in failures if " · task " in line]
    assert [line.split(" | ")[0] for line in failures] == [
        "| ch03 · task 2 · no duplicate",
        "| ch04 · task 3 · exercises/ch04/test\\_c.py::test\\_0",
    ]
    assert (
        "Not attempted yet, so not listed test by test:\n\n"
        "- ch04 · Ordering and idempotency: task 1 not done yet; task 2 module missing · "
        "5 tests, 0 / 8 points\n"
    ) in text
    assert "2 of 9 tests passed." in text


def test_markdown_of_untouched_stubs_has_no_row_per_test():
    """the stubs of two chapters: one line each, and no table of failures at all"""
    todo = "not done yet: TODO({}.1): fill me"
    tests = [
        TestResult(f"exercises/{c}/test_a.py::test_{n}", c, 1, "failed", 0, 1, todo.format(c))
        for c in ("ch00", "ch01")
        for n in range(4)
    ]
    chapters = [ChapterResult(c, f"Chapter {c}", 0, 4) for c in ("ch00", "ch01")]
    text = render("md", SubmissionResult(0, 8, chapters, tests))
    assert "## Tests not passed" in text and "| test | status |" not in text
    assert text.count("not done yet") == 2
    assert "- ch00 · Chapter ch00: task 1 not done yet · 4 tests, 0 / 4 points" in text


def test_csv_has_a_row_per_test_task_chapter_and_total(result: SubmissionResult):
    rows = list(csv.DictReader(io.StringIO(render("csv", result))))
    kinds = ["test"] * 3 + ["task"] * 2 + ["chapter", "integrity", "integrity", "total"]
    assert [r["kind"] for r in rows] == kinds
    # A task's points and maximum count its hidden cases, as the chapter's do.
    tasks = [(r["id"], r["task"], r["points"], r["max_points"]) for r in rows[3:5]]
    assert tasks == [("ch03.1", "1", "2", "4"), ("ch03.2", "2", "0", "1")]
    assert [(r["id"], r["status"]) for r in rows[6:8]] == [
        ("exercises/ch03/test_a.py", "modified"),
        ("conftest.py", "unexpected"),
    ]
    assert rows[1]["message"] == "order o-2 was charged 2 times (duplicated) | really"
    assert rows[2]["hidden"] == "yes"
    assert (rows[-1]["points"], rows[-1]["max_points"]) == ("2", "5")


def test_an_unknown_format_is_a_clear_error():
    with pytest.raises(GradingError, match="unknown format 'xml'; the formats are: json, md"):
        renderer("xml")


@pytest.mark.parametrize(
    "name", ["grader.result", "grader.formats", "grader.formats.md", "grader.formats.csv"]
)
def test_docstring_examples(name: str):
    """every docstring example of the module runs as written"""
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted and result.failed == 0


def test_copied_modules_round_trip_and_show_in_every_format_with_integrity(result):
    copied = Integrity(copied=["exercises/ch03/at_least_once.py"])
    assert not copied.clean
    graded = dataclasses.replace(result, integrity=copied)
    data = json.loads(render("json", graded))
    assert data["integrity"]["copied"] == ["exercises/ch03/at_least_once.py"]
    assert data["integrity"]["clean"] is False
    assert SubmissionResult.from_json(data) == graded
    older = {**data, "integrity": {"modified": [], "unexpected": [], "missing": [], "clean": True}}
    assert SubmissionResult.from_json(older).integrity.copied == []  # a record from before
    assert "- exercises/ch03/at\\_least\\_once.py" in render("md", graded)
    rows = list(csv.DictReader(io.StringIO(render("csv", graded))))
    assert ("exercises/ch03/at_least_once.py", "copied") in [(r["id"], r["status"]) for r in rows]
    output = json.loads(render("gradescope", graded))["output"]
    assert "exercises/ch03/at_least_once.py" in output
    assert json.loads(render("gradescope", graded))["extra_data"]["integrity_clean"] is False
