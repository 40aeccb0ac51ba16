"""The base64 JSON ``result`` that the autograding reporter reads (GitHub Actions, Classmoji).

classroom-resources/autograding-grading-reporter takes a comma-separated
``runners`` input and, for each runner ``NAME``, reads the environment variable
``NAME_RESULTS`` (upper case): base64 of ``{version: 1, status, max_score,
tests: [{name, status, score, message, test_code, filename, line_no}]}``.
It adds up every test's ``score`` and the runners' ``max_score`` into the
points it reports (a notice annotation, ``Points 29/33``, on the job's check
run, where tools that collect points read it); the points it prints per runner are passed
tests / tests x ``max_score``, so a test worth N points is given as N entries
of one point. It prints each test's name and ``test_code`` (a failed test's
``message`` is not printed), so a failure's explanation goes into
``test_code`` too.

``render`` gives one runner for the whole submission (``grader run --format
classroom``). The workflow gives the reporter one runner per chapter, so the
job's log shows points per chapter::

    python -m grader.formats.classroom results.json --env "$GITHUB_ENV" \
        --output "$GITHUB_OUTPUT" --summary "$GITHUB_STEP_SUMMARY"

appends ``CH03_RESULTS=...`` lines to the ``--env`` file, ``runners=ch03,...``
to the ``--output`` file and the grader's Markdown report to the job summary.

>>> from grader.result import ChapterResult, SubmissionResult, TestResult
>>> test = TestResult("exercises/ch03/test_a.py::test_x", "ch03", 1, "failed", 0, 2, "lost")
>>> result = SubmissionResult(0, 2, [ChapterResult("ch03", "D", 0, 2)], [test])
>>> data = decode(render(result))
>>> data["version"], data["status"], data["max_score"], len(data["tests"])  # one per point
(1, 'fail', 2, 2)
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.result import SubmissionResult, TestResult


def render(result: SubmissionResult) -> str:
    """The whole submission as one runner's base64 ``result`` (one line)."""
    return encode(runner_result(result)) + "\n"


def runner_result(result: SubmissionResult, chapter: str | None = None) -> dict[str, Any]:
    """The reporter's JSON for one chapter's tests (``chapter``) or for all of them."""
    tests = [t for t in result.tests if chapter is None or t.chapter == chapter]
    if chapter is None:
        max_score = result.max_score
    else:
        max_score = sum(c.max_score for c in result.chapters if c.id == chapter)
    passed = bool(tests) and all(t.status == "passed" for t in tests)
    return {
        "version": 1,
        "status": "pass" if passed else "fail",
        "max_score": max_score,
        "tests": [entry for test in tests for entry in _entries(test)],
    }


def runners(result: SubmissionResult) -> dict[str, str]:
    """One base64 ``result`` per chapter, keyed by chapter id (the runner's name)."""
    return {c.id: encode(runner_result(result, c.id)) for c in result.chapters}


def encode(data: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(data, ensure_ascii=False).encode("utf-8")).decode("ascii")


def decode(text: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(text.strip()).decode("utf-8"))


def _entries(test: TestResult) -> list[dict[str, Any]]:
    """The reporter's entries for one test: one per point it is worth.

    The reporter counts a runner's points as passed entries / entries x
    max_score, which is right only when every entry weighs the same; one entry
    per point makes every figure it prints equal the grader's points.
    """
    first = _test(test)
    units = int(test.max_points) if float(test.max_points).is_integer() else 1
    if units <= 1:
        return [first]
    share = test.points / units
    first["name"] += f" [point 1 of {units}]"
    first["score"] = share
    rest = [
        {**first, "name": first["name"].replace(" [point 1 ", f" [point {n} "), "test_code": ""}
        for n in range(2, units + 1)
    ]
    return [first, *rest]


def _test(test: TestResult) -> dict[str, Any]:
    command = test.rerun  # the failure's replay line, exactly the failing case, when it has one
    if test.hidden:
        message = "a hidden case of this task failed" if test.status != "passed" else ""
        code = "a hidden case: the teacher's own traces"
    else:
        message = test.message
        code = command if test.status == "passed" else f"{test.status}: {message}\n{command}"
    return {
        "name": f"{test.chapter} task {test.task} · {test.title or test.id}",
        # The reporter prints no message for a plain failure and no name for an
        # "error", so every test that did not pass is reported as a failure.
        "status": "pass" if test.status == "passed" else "fail",
        "score": test.points,
        "message": message,
        "test_code": code,
        "filename": test.id.split("::")[0],
        "line_no": 0,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Turn ``grader run --format json`` output into the reporter's per-chapter runners."""
    parser = argparse.ArgumentParser(
        prog="python -m grader.formats.classroom",
        description="Per-chapter runner results for classroom-resources/autograding-grading-"
        "reporter, from the JSON that `grader run --format json` wrote.",
    )
    parser.add_argument("results", type=Path, help="the JSON written by grader run")
    parser.add_argument("--env", type=Path, required=True, help="append NAME_RESULTS=... here")
    parser.add_argument("--output", type=Path, required=True, help="append runners=... here")
    parser.add_argument(
        "--summary", type=Path, default=None, help="append the Markdown report here"
    )
    args = parser.parse_args(argv)
    try:
        result = SubmissionResult.from_json(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"{args.results}: not the JSON of grader run ({error})", file=sys.stderr)
        return 2
    encoded = runners(result)
    try:
        with args.env.open("a", encoding="utf-8") as env:
            env.writelines(f"{name.upper()}_RESULTS={value}\n" for name, value in encoded.items())
        with args.output.open("a", encoding="utf-8") as output:
            output.write(f"runners={','.join(encoded)}\n")
        if args.summary is not None:
            with args.summary.open("a", encoding="utf-8") as summary:
                summary.write(_markdown(result))
    except OSError as error:
        print(f"cannot append to {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def _markdown(result: SubmissionResult) -> str:
    """The grader's Markdown report, for the job summary page the learner sees."""
    from grader.formats import render as render_format

    try:
        return render_format("md", result)
    except Exception:  # the report is a courtesy: the points are already in the runners
        lines = [f"Score: {result.score:g} / {result.max_score:g}", ""]
        lines += [f"- {c.id} {c.title}: {c.score:g} / {c.max_score:g}" for c in result.chapters]
        return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
