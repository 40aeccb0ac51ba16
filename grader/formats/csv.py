"""``--format csv``: one row per test (chapter, task, id, status, points, max points, message),
then one row per chapter, one per integrity entry (the file in ``id``, its kind in ``status``:
modified, unexpected, missing or copied) and the total, for a spreadsheet."""

from __future__ import annotations

import csv
import io

from grader.result import SubmissionResult

HEADER = ("kind", "chapter", "task", "id", "status", "points", "max_points", "hidden", "message")


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
            )
        )
    for c in result.chapters:
        writer.writerow(("chapter", c.id, "", c.title, "", c.score, c.max_score, "", ""))
    integrity = result.integrity
    for kind, files in (
        ("modified", integrity.modified),
        ("unexpected", integrity.unexpected),
        ("missing", integrity.missing),
        ("copied", integrity.copied),
    ):
        writer.writerows(("integrity", "", "", name, kind, "", "", "", "") for name in files)
    writer.writerow(("total", "", "", "", "", result.score, result.max_score, "", ""))
    return out.getvalue()
