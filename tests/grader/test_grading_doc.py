"""docs/grading.md says what the kit grades: its figures come from the kit, and drift fails here.

The block between ``<!-- kit figures: begin -->`` and ``<!-- kit figures: end -->`` is
generated from the grader's own collection of the chapter tests (the plan every grading
scores): a chapter, task or test that an author adds changes it. To write it again:

    TWM_UPDATE_DOCS=1 pytest tests/grader/test_grading_doc.py

The JSON example must be a record of this kit (its fields, a test that exists with its
task and points, its chapter's maximum; the same command puts the chapter's maximum right
in it), the limits and defaults the page names must be
the code's, and a count of tests, tasks, points or chapters anywhere else on the page must
be a dated measurement or an example of a format, never a figure of the kit that goes stale.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import pristine_copy
import pytest

from grader import batch, grade, pristine, runner, sandbox
from grader.result import SubmissionResult, TestResult
from harness.isolation import host
from harness.isolation import sandbox as learner_sandbox

KIT = pristine.default_root()
DOC = KIT / "docs" / "grading.md"
BEGIN, END = "<!-- kit figures: begin -->", "<!-- kit figures: end -->"
UPDATE = "TWM_UPDATE_DOCS=1 pytest tests/grader/test_grading_doc.py"
COUNT = re.compile(r"\b\d+ (?:tests?|tasks?|points?|chapters?)\b")
DATED = re.compile(r"[Mm]easured on 20\d\d-\d\d-\d\d")
EXAMPLES = (
    "Hidden cases: 3 of 5 passed, 6 / 10",  # the report's line for hidden cases, as an example
)
"""Counts on the page that are examples of a format, not figures of this kit."""


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> list[dict]:
    """Every chapter test the grader scores, as its collection of the pristine kit lists them."""
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "grader.collector", "--grader-plan", str(out), "exercises"]
    command += ["--target", str(pristine_copy.exercises())]  # the stubs, whatever the tree holds
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True, timeout=300)
    assert out.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))


def figures(plan: list[dict]) -> str:
    """The block: a row per chapter (tasks, tests, points) and the kit's total."""
    kit = pristine.load()
    tasks: dict[str, set] = defaultdict(set)
    tests: dict[str, int] = defaultdict(int)
    points: dict[str, float] = defaultdict(float)
    for entry in plan:
        chapter = entry["chapter"]
        tasks[chapter].add(entry["task"])
        tests[chapter] += 1
        points[chapter] += entry["max_points"]
    lines = ["| chapter | title | tasks | tests | points |", "|---|---|---|---|---|"]
    for chapter in sorted(tests):
        row = [chapter, kit.title(chapter), len(tasks[chapter]), tests[chapter]]
        lines.append(f"| {' | '.join(map(str, row))} | {points[chapter]:g} |")
    total = [f"{len(tests)} chapters", sum(map(len, tasks.values())), sum(tests.values())]
    lines.append(f"| all | {' | '.join(map(str, total))} | {sum(points.values()):g} |")
    return "\n".join(lines)


def paragraphs(text: str) -> list[str]:
    return re.split(r"\n\s*\n", text)


def test_the_kit_figures_are_the_kit_s(plan):
    """the chapters, tasks, tests and points the page lists are what the grader scores"""
    text = DOC.read_text(encoding="utf-8")
    assert text.count(BEGIN) == text.count(END) == 1, f"{DOC}: one {BEGIN} ... {END} block"
    before, rest = text.split(BEGIN)
    written, after = rest.split(END)
    expected = figures(plan)
    if written.strip() != expected and os.environ.get("TWM_UPDATE_DOCS") == "1":
        DOC.write_text(f"{before}{BEGIN}\n{expected}\n{END}{after}", encoding="utf-8")
        return
    assert written.strip() == expected, (
        f"{DOC.name}'s kit figures have drifted from the kit: run `{UPDATE}` "
        f"and commit the page; the block should read:\n{expected}"
    )


def json_example() -> dict:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### The JSON record", 1)[1]
    return json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])


def test_the_json_example_is_a_record_of_this_kit(plan):
    """every field of the record, and a test, a task and points that the kit has"""
    example = json_example()
    record = SubmissionResult.from_json(example)  # it reads back as a record
    assert set(example) == set(record.to_json()), "the example shows every field of the record"
    fields = {f.name for f in dataclasses.fields(TestResult)}
    assert all(set(test) == fields for test in example["tests"]), f"each test has {fields}"
    by_id = {entry["id"]: entry for entry in plan}
    for test in record.tests:
        assert test.id in by_id, f"{DOC.name}'s JSON example names a test the kit lacks: {test.id}"
        entry = by_id[test.id]
        shown = (test.chapter, test.task, test.max_points, test.title)
        kit = (entry["chapter"], entry["task"], entry["max_points"], entry["title"])
        assert shown == kit, f"{DOC.name}'s JSON example: {test.id} is {kit} in the kit"
    for chapter in record.chapters:
        worth = sum(entry["max_points"] for entry in plan if entry["chapter"] == chapter.id)
        if chapter.max_score != worth and os.environ.get("TWM_UPDATE_DOCS") == "1":
            _rescore_example(record, worth)
            return
        assert chapter.max_score == worth, (
            f"{DOC.name}'s JSON example: {chapter.id} is worth {worth:g} points in the kit, "
            f"not {chapter.max_score:g}"
        )
        assert chapter.title == pristine.load().title(chapter.id)
    assert record.max_score == sum(c.max_score for c in record.chapters)
    assert record.score == sum(c.score for c in record.chapters)


def _rescore_example(record: SubmissionResult, worth: float) -> None:
    """The example's one chapter worth ``worth``, its tests shown failed and the rest passed."""
    assert len(record.chapters) == 1, "the example's update handles one chapter"
    score = worth - sum(t.max_points for t in record.tests)
    text = DOC.read_text(encoding="utf-8")
    head, section = text.split("### The JSON record", 1)
    before, block, after = section.split("```", 2)
    block = re.sub(
        r'"score": [\d.]+, "max_score": [\d.]+',
        f'"score": {score:g}, "max_score": {worth:g}',
        block,
    )
    DOC.write_text(f"{head}### The JSON record{before}```{block}```{after}", encoding="utf-8")


@pytest.mark.parametrize(
    ("phrase", "value"),
    [
        ("(default {:g})", grade.DEFAULT_TIMEOUT),
        ("use (default {:g})", grade.DEFAULT_TEST_TIMEOUT),
        ("(default {:g}; pass 1", grade.DEFAULT_WORKERS),
        ("{:g} MB beyond its start", runner.LEARNER_MEMORY_MB),
        ("{:g} GB of address space", runner.MEMORY_LIMIT / 1024**3),
        ("larger than {:g} MB", sandbox.MAX_MODULE_BYTES / 1_000_000),
        ("`--timeout` plus {:g} s", batch.START_MARGIN),
        ("the {:g} MB private `/tmp`", learner_sandbox.TMP_MEGABYTES),
        ("processes ({:g})", host.PROCESS_LIMIT),
    ],
)
def test_the_limits_and_defaults_the_page_names_are_the_code_s(phrase: str, value: float):
    assert phrase.format(value) in DOC.read_text(encoding="utf-8"), (
        f"{DOC.name} should say {phrase.format(value)!r}: the code's value is {value:g}"
    )


def test_no_other_count_of_the_kit_can_go_stale():
    """outside the generated block, a number of tests, tasks, points or chapters is in a
    dated measurement or an example of a format"""
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN)
    outside = before + rest.split(END)[1]
    undated = [
        (match.group(), paragraph.strip().splitlines()[0])
        for paragraph in paragraphs(outside)
        if not DATED.search(paragraph)
        for match in COUNT.finditer(paragraph)
        if not any(example in paragraph for example in EXAMPLES)
    ]
    assert undated == [], (
        f"{DOC.name}: counts of the kit outside the generated block, which go stale: "
        "put them in the block, or say when and how they were measured"
    )
