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


def test_without_timestamp_is_what_stays_the_same(result: SubmissionResult):
    assert "graded_at" not in result.without_timestamp()


def test_markdown_shows_the_score_the_integrity_and_every_reason(result: SubmissionResult):
    text = render("md", result)
    assert text.startswith("# Grade: 2 / 5\n")
    assert "| ch03 | Delivery semantics | 2 / 5 |" in text
    assert "- exercises/ch03/test\\_a.py" in text and "- conftest.py" in text
    assert "duplicated\\) \\| really" in text  # a table cell keeps its pipe
    assert "Hidden cases: 0 of 1 passed, 0 / 2 points." in text
    assert "timed out" not in text and "[hidden]" not in text and "(hidden)" not in text
    assert "missing from the submission" in text


def test_csv_has_a_row_per_test_chapter_and_total(result: SubmissionResult):
    rows = list(csv.DictReader(io.StringIO(render("csv", result))))
    kinds = ["test", "test", "test", "chapter", "integrity", "integrity", "total"]
    assert [r["kind"] for r in rows] == kinds
    assert [(r["id"], r["status"]) for r in rows[4:6]] == [
        ("exercises/ch03/test_a.py", "modified"),
        ("conftest.py", "unexpected"),
    ]
    assert rows[1]["message"] == "order o-2 was charged 2 times (duplicated) | really"
    assert rows[2]["hidden"] == "yes"
    assert (rows[-1]["points"], rows[-1]["max_points"]) == ("2", "5")


def test_an_unknown_format_is_a_clear_error():
    with pytest.raises(GradingError, match="unknown format 'xml'; the formats are: json, md"):
        renderer("xml")


@pytest.mark.parametrize("name", ["grader.result", "grader.formats"])
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
