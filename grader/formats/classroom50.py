"""Classroom 50's ``result.json``: what a per-assignment ``autograder.py`` must leave behind.

Classroom 50 (github.com/foundation50/classroom50, wiki "Advanced
Autograding", schema ``schemas/result-v1.schema.json``) runs
``CLASSROOM/autograders/ASSIGNMENT/autograder.py`` once per submission, in
the student's checkout, and reads ``./result.json``: schema
``classroom50/result/v1``, the submission's identity (``classroom``,
``assignment``, ``submission``, ``commit``, ``release``, ``review``, taken from
the runner's environment; ``owner``, ``assignment_type`` and ``datetime`` are
stamped again by the runner), whole-number ``score`` and ``max-score``, and
``tests``, each with ``test-name``, ``passed``, ``score`` and ``max-score``
(extra fields are kept verbatim). No other top-level field is allowed.

The file is published as an asset of the submission's Release in the
student's repository, and ``release-body.md`` as the Release's text: both are
for the student, so a hidden case says only that it failed. A failure's
reason is in the test's ``message`` and, fenced so that nothing from the
submission becomes Markdown, in the release body.

    python -m grader.formats.classroom50 grade.json --out result.json \\
        --release-body release-body.md

>>> from grader.result import ChapterResult, SubmissionResult, TestResult
>>> test = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "failed", 0, 2, "lost o-1")
>>> result = SubmissionResult(0, 2, [ChapterResult("ch03", "Delivery", 0, 2)], [test])
>>> data = document(result, classroom="c", assignment="a", submission="submit/1",
...                 commit="u", release="u", review="u", owner="ada")
>>> data["schema"], data["score"], data["max-score"], data["tests"][0]["passed"]
('classroom50/result/v1', 0, 2, False)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.errors import GradingError
from grader.result import SubmissionResult, TestResult

SCHEMA = "classroom50/result/v1"
FIELDS = (
    "schema",
    "classroom",
    "assignment",
    "assignment_type",
    "owner",
    "submission",
    "commit",
    "release",
    "review",
    "datetime",
    "score",
    "max-score",
    "tests",
)
"""Every top-level field, in the schema's order: it allows these and ``graded_at``,
``submitted_by`` (the runner's own), nothing else."""
ENVIRONMENT = ("CLASSROOM", "ASSIGNMENT", "SUBMISSION_TAG", "COMMIT_URL", "RELEASE_URL")
"""What the runner sets for every autograder, and this format needs."""


def _points(value: float, what: str) -> int:
    if not float(value).is_integer():
        raise GradingError(f"{what} is worth {value:g} points: Classroom 50 counts whole points")
    return int(value)


def _name(test: TestResult) -> str:
    name = f"{test.chapter} task {test.task} · {test.title or test.id}"
    return name + " (hidden case)" if test.hidden else name


def _message(test: TestResult) -> str:
    if test.status == "passed":
        return ""
    if test.hidden:
        return f"a hidden case of task {test.chapter}.{test.task} failed"
    return f"{test.status}: {test.message}" if test.message else test.status


def _test(test: TestResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "test-name": _name(test),
        "passed": test.status == "passed",
        "score": _points(test.points, test.id),
        "max-score": _points(test.max_points, test.id),
        "status": test.status,
        "message": _message(test),
    }
    if not test.hidden:
        entry["rerun"] = test.rerun  # exactly the failing case when it has a replay token
    return entry


def document(
    result: SubmissionResult,
    *,
    classroom: str,
    assignment: str,
    submission: str,
    commit: str,
    release: str,
    review: str = "",
    owner: str = "",
    assignment_type: str = "individual",
    when: datetime.datetime | None = None,
) -> dict[str, Any]:
    """``result`` as Classroom 50's ``result.json`` for one submission (a dict)."""
    tests = [_test(t) for t in result.tests]
    stamp = (when or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    data = {
        "schema": SCHEMA,
        "classroom": classroom,
        "assignment": assignment,
        "assignment_type": assignment_type,
        # The runner overwrites owner, assignment_type and datetime with its own.
        "owner": owner or "unknown",
        "submission": submission,
        "commit": commit,
        "release": release,
        "review": review or commit,
        "datetime": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "score": sum(t["score"] for t in tests),
        "max-score": sum(t["max-score"] for t in tests),
        "tests": tests,
    }
    return data


def from_environment(
    result: SubmissionResult, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """:func:`document` with the identity the Classroom 50 runner puts in the environment."""
    environ = os.environ if environ is None else environ
    absent = [name for name in ENVIRONMENT if not environ.get(name)]
    if absent:
        raise GradingError(
            f"the Classroom 50 runner sets {', '.join(ENVIRONMENT)}; this environment lacks "
            f"{', '.join(absent)} (run it from the classroom's autograder.py)"
        )
    return document(
        result,
        classroom=environ["CLASSROOM"],
        assignment=environ["ASSIGNMENT"],
        submission=environ["SUBMISSION_TAG"],
        commit=environ["COMMIT_URL"],
        release=environ["RELEASE_URL"],
        review=environ.get("REVIEW_URL", ""),
        owner=environ.get("OWNER") or environ.get("USERNAME", ""),
        assignment_type=environ.get("ASSIGNMENT_TYPE") or "individual",
    )


def render(result: SubmissionResult) -> str:
    """``grader run --format classroom50``: ``result.json``, identity from the environment."""
    return json.dumps(from_environment(result), indent=2, ensure_ascii=False) + "\n"


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``: nothing in it renders."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _plain(text: str) -> str:
    """One line, without control characters, for a table cell or a fenced block."""
    cleaned = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(cleaned.split())


def release_body(result: SubmissionResult) -> str:
    """``release-body.md``: the score, the points per chapter, and why each test failed."""
    lines = [f"### Score: {result.score:g} / {result.max_score:g}", ""]
    lines += ["| Chapter | Points |", "|---|---|"]
    for c in result.chapters:
        lines.append(
            f"| {c.id} {_plain(c.title).replace('|', '/')} | {c.score:g} / {c.max_score:g} |"
        )
    failed = [t for t in result.tests if t.status != "passed"]
    if failed:
        reasons = "\n".join(
            f"{_plain(_name(t))}\n  {_plain(_message(t))}"
            + ("" if t.hidden else f"\n  rerun: {t.rerun}")
            for t in failed
        )
        fence = _fence(reasons)
        lines += ["", "<details><summary>Why tests failed</summary>", "", fence, reasons, fence]
        lines += ["", "</details>"]
    lines += ["", "Feedback on your repository: the grade of record is the teacher's own run."]
    return "\n".join(lines) + "\n"


def log_report(result: SubmissionResult) -> str:
    """The report for the job's log: every line indented, so none is a workflow command."""
    lines = [f"Score: {result.score:g} / {result.max_score:g}"]
    for test in result.tests:
        verdict = "PASS" if test.status == "passed" else "FAIL"
        lines.append(f"{verdict}  {_plain(_name(test))}  ({test.points:g}/{test.max_points:g})")
        if test.status != "passed":
            lines.append(f"    {_plain(_message(test))}")
    return "".join(f"  {line}\n" for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Turn ``grader run --format json`` output into Classroom 50's files."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.formats.classroom50",
        description="Classroom 50's result.json (and release-body.md) from the JSON that "
        "`grader run --format json` wrote; the identity comes from the runner's environment.",
    )
    parser.add_argument("results", type=Path, help="the JSON written by grader run")
    parser.add_argument("--out", type=Path, default=Path("result.json"))
    parser.add_argument("--release-body", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        result = SubmissionResult.from_json(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"{args.results}: not the JSON of grader run ({error})", file=sys.stderr)
        return 2
    try:
        data = from_environment(result)
    except GradingError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        args.out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        if args.release_body is not None:
            args.release_body.write_text(release_body(result), encoding="utf-8")
    except OSError as error:
        print(f"cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    sys.stdout.write(log_report(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
