"""``--format csv``: one row per test (chapter, task, id, status, points, max points, message),
then one row per task (``chNN.N`` in ``id``), one per chapter, one per integrity entry (the
file in ``id``, its kind in ``status``: modified, unexpected, missing or copied) and the
total, for a spreadsheet. Every row of points has its maximum in ``max_points``; a task's and
a chapter's points count their hidden cases, as the gradebook's do. A failed visible test's
``replay`` is the command that reruns exactly its failing case, when the failure has a
replay token.

>>> from grader.result import ChapterResult, SubmissionResult, TestResult
>>> tests = [TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "passed", 2, 2),
...          TestResult("exercises/ch03/test_a.py::test_y", "ch03", 1, "failed", 0, 3, "lost")]
>>> rows = render(SubmissionResult(2, 5, [ChapterResult("ch03", "D", 2, 5)], tests))
>>> print(rows.splitlines()[3])
task,ch03,1,ch03.1,,2,5,,,
"""

from __future__ import annotations

import csv
import io

from grader.result import SubmissionResult

HEADER = (
    "kind",
    "chapter",
    "task",
    "id",
    "status",
    "points",
    "max_points",
    "hidden",
    "message",
    "replay",
)
"""Columns are only ever added at the end, so that a spreadsheet's formulas keep working."""


def render(result: SubmissionResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for t in result.tests:
        writer.writerow(
            (
                "test",
                t.chapter,
                t.task or "",
                t.id,
                t.status,
                t.points,
                t.max_points,
                "yes" if t.hidden else "no",
                t.message,
                t.rerun if t.replay and not t.hidden else "",
            )
        )
    tasks: dict[tuple[str, int | None], list[float]] = {}
    for t in result.tests:
        got = tasks.setdefault((t.chapter, t.task), [0.0, 0.0])
        got[0] += t.points
        got[1] += t.max_points
    for (chapter, task), (points, max_points) in tasks.items():
        label = f"{chapter}.{task}" if task else chapter
        writer.writerow(
            ("task", chapter, task or "", label, "", f"{points:g}", f"{max_points:g}", "", "", "")
        )
    for c in result.chapters:
        writer.writerow(("chapter", c.id, "", c.title, "", c.score, c.max_score, "", "", ""))
    integrity = result.integrity
    for kind, files in (
        ("modified", integrity.modified),
        ("unexpected", integrity.unexpected),
        ("missing", integrity.missing),
        ("copied", integrity.copied),
    ):
        writer.writerows(("integrity", "", "", name, kind, "", "", "", "", "") for name in files)
    writer.writerow(("total", "", "", "", "", result.score, result.max_score, "", "", ""))
    return out.getvalue()
