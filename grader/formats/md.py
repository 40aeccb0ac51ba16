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


def _points(value: float) -> str:
    return f"{value:g}"


def _name(test: TestResult) -> str:
    return (
        f"{test.chapter} · task {test.task} · {test.title}" if test.task else test.title or test.id
    )


def render(result: SubmissionResult) -> str:
    lines = [
        f"# Grade: {_points(result.score)} / {_points(result.max_score)}",
        "",
        f"Submission {text(result.submission)} · kit {text(result.kit_version)} · "
        f"graded {text(result.graded_at)}",
        "",
        "| chapter | title | points |",
        "|---|---|---|",
    ]
    for c in result.chapters:
        lines.append(
            f"| {text(c.id)} | {text(c.title)} | {_points(c.score)} / {_points(c.max_score)} |"
        )
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
    lines += ["", "## Tests not passed" if failing else "## All tests passed", ""]
    if failing:
        lines += ["| test | status | points | reason |", "|---|---|---|---|"]
        for t in failing:
            lines.append(
                f"| {text(_name(t))} | {text(t.status)} "
                f"| {_points(t.points)} / {_points(t.max_points)} | {text(t.message)} |"
            )
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
