"""``--format md``: a Markdown report for a person: the score, chapters, integrity, then
every test that did not pass with its reason."""

from __future__ import annotations

from grader.result import SubmissionResult


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _points(value: float) -> str:
    return f"{value:g}"


def render(result: SubmissionResult) -> str:
    lines = [
        f"# Grade: {_points(result.score)} / {_points(result.max_score)}",
        "",
        f"Submission `{result.submission}` · kit {result.kit_version} · graded {result.graded_at}",
        "",
        "| chapter | title | points |",
        "|---|---|---|",
    ]
    for c in result.chapters:
        lines.append(f"| {c.id} | {_cell(c.title)} | {_points(c.score)} / {_points(c.max_score)} |")
    integrity = result.integrity
    lines += ["", "## Integrity", ""]
    if integrity.clean:
        lines.append("The submission matches the kit outside the exercise modules.")
    for label, files in (
        ("Modified kit files (not used for grading)", integrity.modified),
        ("Unexpected files (not used for grading)", integrity.unexpected),
        ("Missing kit files", integrity.missing),
    ):
        if files:
            lines += [f"{label}:", ""] + [f"- `{name}`" for name in files] + [""]
    if result.notes:
        lines += ["", "## Notes", ""] + [f"- {_cell(note)}" for note in result.notes]
    failing = [t for t in result.tests if t.status != "passed"]
    lines += ["", "## Tests not passed" if failing else "## All tests passed", ""]
    if failing:
        lines += ["| test | status | points | reason |", "|---|---|---|---|"]
        for t in failing:
            name = f"{t.chapter} · task {t.task} · {t.title}" if t.task else t.title or t.id
            if t.hidden:
                name += " (hidden)"
            lines.append(
                f"| {_cell(name)} | {t.status} | {_points(t.points)} / {_points(t.max_points)} "
                f"| {_cell(t.message)} |"
            )
    passed = sum(1 for t in result.tests if t.status == "passed")
    lines += ["", f"{passed} of {len(result.tests)} tests passed.", ""]
    return "\n".join(lines)
