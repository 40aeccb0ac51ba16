"""``--format md``: a Markdown report for a person: the score, chapters, integrity, then
every visible test that did not pass with its reason, and the hidden cases as one line.

The report is the job summary a learner sees, so two rules hold:

- **Nothing from a submission becomes Markdown.** File names, messages, ids and
  notes are written as plain text (:func:`text`): line breaks become spaces and
  every character Markdown or HTML gives a meaning is escaped, so a file named
  ``x\\n# Grade 100/100`` or holding ``|``, ``*``, a backtick, ``<`` or ``>``
  adds no header, table cell, emphasis, code or HTML.
- **Hidden cases are an aggregate**: how many passed and their points, never
  their ids, messages or traces (the JSON and CSV, for teachers, have them).

>>> text("x\\n# Grade: 100 / 100 | <b>*")
'x \\\\# Grade: 100 / 100 \\\\| \\\\<b\\\\>\\\\*'
"""

from __future__ import annotations

import re
import unicodedata

from grader.result import SubmissionResult, TestResult

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|~&!])")
"""Characters with a meaning anywhere in a line of Markdown (or HTML): always escaped."""
_LEADING = re.compile(r"^(\s*\d*)([-+=.)])")
"""What starts a list, a heading underline or a numbered list at the start of a block."""


def text(value: object) -> str:
    """``value`` as plain text on one line of Markdown: nothing in it renders as markup."""
    flat = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(value)
    )
    escaped = _SPECIAL.sub(r"\\\1", flat)
    return _LEADING.sub(r"\1\\\2", escaped, count=1)


NOT_DONE = "not done yet"
"""How the kit's plugin begins the message of a test that reached a stub's TODO."""
NO_MODULE = "has no module"
"""What the message of a test whose learner module is missing says."""
MISSING = "module missing"


def _points(value: float) -> str:
    return f"{value:g}"


def _name(test: TestResult) -> str:
    title = test.title or test.id
    return f"{test.chapter} · task {test.task} · {title}" if test.task else title


def _untried(test: TestResult) -> str | None:
    """Why ``test`` is not attempted (its module is a stub or missing), or None."""
    if test.status != "failed":
        return None
    if test.message.startswith(NOT_DONE):
        return NOT_DONE
    if NO_MODULE in test.message:
        return MISSING
    return None


def _tasks(tests: list[TestResult]) -> dict[tuple[str, int | None], list[TestResult]]:
    """The visible tests by (chapter, task), in the order of the record."""
    found: dict[tuple[str, int | None], list[TestResult]] = {}
    for t in tests:
        found.setdefault((t.chapter, t.task), []).append(t)
    return found


def untouched(result: SubmissionResult) -> dict[tuple[str, int | None], str]:
    """The tasks left untouched: every visible test of them not done yet (or its module
    missing), keyed by (chapter, task), with the reason.

    >>> from grader.result import ChapterResult
    >>> stub = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "failed", 0, 2,
    ...                   "not done yet: TODO(ch03.1): ack after the charge")
    >>> tried = TestResult("exercises/ch03/test_b.py::test_y", "ch03", 2, "failed", 0, 1, "lost")
    >>> untouched(SubmissionResult(0, 3, [ChapterResult("ch03", "D", 0, 3)], [stub, tried]))
    {('ch03', 1): 'not done yet'}
    """
    found = {}
    for key, tests in _tasks([t for t in result.tests if not t.hidden]).items():
        reasons = {_untried(t) for t in tests}
        if None not in reasons:
            found[key] = MISSING if MISSING in reasons else NOT_DONE
    return found


def _passed(tests: list[TestResult]) -> str:
    return f"{sum(1 for t in tests if t.status == 'passed')} of {len(tests)}"


def _worth(tests: list[TestResult]) -> str:
    got, worth = sum(t.points for t in tests), sum(t.max_points for t in tests)
    return f"{_points(got)} / {_points(worth)}"


def _task_label(chapter: str, task: int | None) -> str:
    return f"{chapter}.{task}" if task else f"{chapter} (no task)"


def _points_table(result: SubmissionResult) -> list[str]:
    """A row per chapter (its subtotal, hidden cases included), then a row per task and one
    for the chapter's hidden cases, which are counted and never named."""
    lines = ["| chapter | task | tests passed | points |", "|---|---|---|---|"]
    visible = _tasks([t for t in result.tests if not t.hidden])
    for c in result.chapters:
        mine = [t for t in result.tests if t.chapter == c.id]
        lines.append(
            f"| {text(c.id)} · {text(c.title)} | all tasks | {_passed(mine)} "
            f"| {_points(c.score)} / {_points(c.max_score)} |"
        )
        for (chapter, task), tests in visible.items():
            if chapter == c.id:
                lines.append(
                    f"| | {text(_task_label(chapter, task))} | {_passed(tests)} | {_worth(tests)} |"
                )
        hidden = [t for t in mine if t.hidden]
        if hidden:
            lines.append(f"| | hidden cases | {_passed(hidden)} | {_worth(hidden)} |")
    return lines


def _untouched_lines(result: SubmissionResult, left: dict[tuple[str, int | None], str]):
    """One list item per chapter for the tasks left untouched, instead of a row per test."""
    lines = []
    titles = {c.id: c.title for c in result.chapters}
    for chapter in dict.fromkeys(chapter for chapter, _ in left):
        mine = {task: why for (where, task), why in left.items() if where == chapter}
        tests = [t for t in result.tests if t.chapter == chapter and not t.hidden]
        tests = [t for t in tests if t.task in mine]
        parts = []
        for reason in (NOT_DONE, MISSING):
            tasks = [str(task) for task, why in mine.items() if why == reason]
            if tasks:
                word = "task" if len(tasks) == 1 else "tasks"
                parts.append(f"{word} {', '.join(tasks)} {reason}")
        title = f" · {text(titles[chapter])}" if chapter in titles else ""
        lines.append(
            f"- {text(chapter)}{title}: {text('; '.join(parts))} · "
            f"{len(tests)} tests, {_worth(tests)} points"
        )
    return lines


def render(result: SubmissionResult) -> str:
    lines = [
        f"# Grade: {_points(result.score)} / {_points(result.max_score)}",
        "",
        f"Submission {text(result.submission)} · kit {text(result.kit_version)} · "
        f"graded {text(result.graded_at)}",
        "",
        *_points_table(result),
    ]
    integrity = result.integrity
    lines += ["", "## Integrity", ""]
    if integrity.clean:
        lines.append("The submission matches the kit outside the exercise modules.")
    for label, files in (
        ("Modified kit files (not used for grading)", integrity.modified),
        ("Unexpected files (not used for grading)", integrity.unexpected),
        ("Missing kit files", integrity.missing),
        ("The reference solution, up to formatting and names", integrity.copied),
    ):
        if files:
            lines += [f"{label}:", ""] + [f"- {text(name)}" for name in files] + [""]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {text(note)}" for note in result.notes]
    if result.sandbox.get("missing"):
        lines += ["", "## Sandbox", "", "Protections this machine could not give:", ""]
        lines += [f"- {text(gap)}" for gap in result.sandbox["missing"]]
    visible = [t for t in result.tests if not t.hidden]
    failing = [t for t in visible if t.status != "passed"]
    left = untouched(result)
    listed = [t for t in failing if (t.chapter, t.task) not in left]
    lines += ["", "## Tests not passed" if failing else "## All tests passed", ""]
    if listed:
        lines += ["| test | status | points | reason |", "|---|---|---|---|"]
        for t in listed:
            lines.append(
                f"| {text(_name(t))} | {text(t.status)} "
                f"| {_points(t.points)} / {_points(t.max_points)} | {text(t.message)} |"
            )
    if left:
        lines += [""] if listed else []
        lines += ["Not attempted yet, so not listed test by test:", ""]
        lines += _untouched_lines(result, left)
    passed = sum(1 for t in visible if t.status == "passed")
    lines += ["", f"{passed} of {len(visible)} tests passed."]
    hidden = [t for t in result.tests if t.hidden]
    if hidden:
        got = sum(t.points for t in hidden)
        worth = sum(t.max_points for t in hidden)
        won = sum(1 for t in hidden if t.status == "passed")
        points = f"{_points(got)} / {_points(worth)} points"
        lines.append(f"Hidden cases: {won} of {len(hidden)} passed, {points}.")
    return "\n".join(lines + [""])
