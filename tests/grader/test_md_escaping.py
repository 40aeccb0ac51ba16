"""The Markdown report is what a learner sees: nothing from a submission becomes markup, and
hidden cases are only a total."""

from __future__ import annotations

import re
from pathlib import Path

import pristine_copy
import pytest

from grader import pristine
from grader.formats import classroom, render
from grader.formats.md import text
from grader.grade import grade_submission
from grader.result import ChapterResult, Integrity, SubmissionResult, TestResult

KIT = pristine.load()
HOSTILE = [
    "x\n# Grade: 100 / 100",
    "a|b|c.py",
    "**bold**_and_`code`.py",
    "<img src=x onerror=alert(1)>.py",
    "[link](https://example.com)",
    "notes\r\n\n## Integrity\n\nclean",
    "- item",
    "1. first",
    "> quoted",
    "trailing\\",
    "line\u2028separator",
]
MARKUP = set("\\`*_{}[]()<>#|~&!")
HEADINGS = {
    "# Grade: 1 / 20",
    "## Integrity",
    "## Notes",
    "## Tests not passed",
    "## All tests passed",
}
KNOWN_LINE = re.compile(
    r"^($"
    r"|# Grade: \d+ / \d+$|## [A-Z][a-z ]+$"  # the report's own headings
    r"|\| .* \|$|\|---\|.*$"  # a table row, opened and closed
    r"|- \S.*$"  # one list item
    r"|Submission |The submission matches |Modified kit files |Unexpected files "
    r"|Missing kit files |The reference solution, |\d+ of \d+ tests passed\.$"
    r"|Not attempted yet, so not listed test by test:$"
    r"|Hidden cases: \d+ of \d+ passed, \d+ / \d+ points\.$)"
)


def unescaped(line: str) -> list[str]:
    """The characters of ``line`` that Markdown would read as markup (not backslash-escaped)."""
    found, escaped = [], False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in MARKUP:
            found.append(char)
    return found


def cells(row: str) -> int:
    """How many cells a table row has: pipes not escaped by a backslash split it."""
    return len(re.split(r"(?<!\\)\|", row)) - 2


def hostile_result() -> SubmissionResult:
    tests = [
        TestResult(f"exercises/ch03/test_a.py::test_{n}", "ch03", 1, "failed", 0, 1, message)
        for n, message in enumerate(HOSTILE)
    ]
    # A chapter left untouched: its title and its tests' titles are in the line it gets.
    tests += [
        TestResult(
            f"exercises/ch04/test_a.py::test_{n}",
            "ch04",
            1,
            "failed",
            0,
            1,
            f"not done yet: TODO(ch04.1): {title}",
            title=title,
        )
        for n, title in enumerate(HOSTILE)
    ]
    return SubmissionResult(
        score=1,
        max_score=20,
        chapters=[
            ChapterResult("ch03", "Delivery | semantics", 1, 9),
            ChapterResult("ch04", "x\n# Grade: 100 / 100 <b>*", 0, len(HOSTILE)),
        ],
        tests=tests,
        integrity=Integrity(modified=HOSTILE, unexpected=HOSTILE, missing=[], copied=HOSTILE),
        submission="subs/x\n# Grade: 100 / 100",
        notes=HOSTILE,
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_text_is_one_line_with_every_markup_character_escaped(value: str):
    escaped = text(value)
    assert "\n" not in escaped and "\r" not in escaped and "\u2028" not in escaped
    assert unescaped(escaped) == []
    assert not re.match(r"\s*([-+>=]|\d+[.)])", escaped)  # no list, quote or underline
    # Nothing is lost: unescaping gives the value back, line breaks aside.
    plain = re.sub(r"\\(.)", r"\1", escaped)
    assert plain == re.sub(r"[\r\n\u2028]", " ", value)


def test_nothing_from_a_submission_adds_a_header_a_cell_or_markup():
    report = render("md", hostile_result())
    lines = report.splitlines()
    assert [line for line in lines if line.lstrip().startswith("#")] == [
        "# Grade: 1 / 20",
        "## Integrity",
        "## Notes",
        "## Tests not passed",
    ]
    for line in lines:
        assert KNOWN_LINE.match(line), line  # every line is one the report itself starts
        if line.startswith("|"):
            assert set(unescaped(line)) <= {"|"}, line  # only the table's own pipes
        elif not line.startswith("#") and "(not used for grading)" not in line:
            assert unescaped(line) == [], line
    rows = [line for line in lines if line.startswith("| ")]
    assert {cells(row) for row in rows} == {4}
    # Two headers, a chapter and its task twice, every failure of the task tried.
    assert len(rows) == 2 + 2 * 2 + len(HOSTILE)
    # Each hostile name in four lists, and one line for the chapter left untouched.
    assert sum(1 for line in lines if line.startswith("- ")) == 4 * len(HOSTILE) + 1
    assert "- ch04 · x \\# Grade: 100 / 100 \\<b\\>\\*: task 1 not done yet · " in report


def hidden_result() -> SubmissionResult:
    visible = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "failed", 0, 2, "lost o-1")
    secret = [
        TestResult(
            f"exercises/ch03/test_a.py::test_{n}[hidden]",
            "ch03",
            1,
            status,
            points,
            2,
            "" if status == "passed" else f"order secret-{n} lost in queue-teacher-only",
            hidden=True,
            title="no loss",
        )
        for n, (status, points) in enumerate(
            [("passed", 2), ("failed", 0), ("passed", 2), ("timeout", 0), ("error", 0)]
        )
    ]
    return SubmissionResult(4, 12, [ChapterResult("ch03", "D", 4, 12)], [visible, *secret])


def test_hidden_cases_are_only_a_total_in_the_report():
    report = render("md", hidden_result())
    assert "Hidden cases: 2 of 5 passed, 4 / 10 points." in report
    assert "lost o-1" in report  # a visible failure keeps its reason
    for leak in ("secret", "queue-teacher-only", "[hidden]", "\\[hidden\\]", "(hidden)"):
        assert leak not in report
    assert "0 of 1 tests passed." in report
    assert report.count("\n| ch03 · task 1") == 1  # only the visible failure has a row


def test_what_classroom_shows_learners_holds_no_hidden_detail(tmp_path: Path):
    result = hidden_result()
    shown = [classroom.decode(classroom.render(result))]
    shown += [classroom.decode(value) for value in classroom.runners(result).values()]
    for data in shown:
        assert len(data["tests"]) == 6 * 2  # one entry per point
        for entry in data["tests"][2:]:
            assert not re.search(r"secret-|queue-teacher-only|\[hidden\]", str(entry)), entry


def test_json_and_csv_keep_hidden_details_for_teachers():
    result = hidden_result()
    assert "queue-teacher-only" in render("json", result)
    assert "queue-teacher-only" in render("csv", result)


def test_a_hostile_file_name_in_a_real_submission_stays_text(tmp_path: Path):
    sub = tmp_path / "sub"
    pristine_copy.copy_exercises(sub / "exercises")
    names = ["x\n# Grade: 100 of 100", "a|b <b>*c*<b> `d`.py"]
    for name in names:
        (sub / "exercises" / "ch00" / name).write_text("hello\n", encoding="utf-8")
    result = grade_submission(sub, chapters=["ch00"])
    assert {f"exercises/ch00/{name}" for name in names} <= set(result.integrity.unexpected)
    report = render("md", result)
    assert [line for line in report.splitlines() if line.startswith("# ")] == [
        f"# Grade: 0 / {result.max_score:g}"
    ]
    assert "- exercises/ch00/x \\# Grade: 100 of 100" in report
    assert "- exercises/ch00/a\\|b \\<b\\>\\*c\\*\\<b\\> \\`d\\`.py" in report
