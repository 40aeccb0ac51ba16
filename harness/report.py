"""Failure output for people: the promise, what happened, the smallest trace, how to replay, a hint.

These functions only format; the pytest plugin decides when to call them and
supplies the test's title, the replay command and the task's hint.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from harness.errors import LearnerError, NotDone
from harness.explore import PromiseBroken

WIDTH = 100


OUTPUT_HEAD, OUTPUT_TAIL, OUTPUT_LINE = 30, 10, 300
"""What a failure keeps of a test's captured output: lines from its start and its end, each
line cut at so many characters."""


def capped(output: str) -> str:
    """``output`` as a failure shows it: its first and last lines, and how much was cut."""
    lines = output.splitlines()
    kept = len(lines) <= OUTPUT_HEAD + OUTPUT_TAIL
    shown = lines if kept else lines[:OUTPUT_HEAD] + lines[-OUTPUT_TAIL:]
    cut_chars = sum(max(len(line) - OUTPUT_LINE, 0) for line in shown)
    shown = [line if len(line) <= OUTPUT_LINE else line[:OUTPUT_LINE] + " …" for line in shown]
    if kept and not cut_chars:
        return output
    if not kept:
        hidden = lines[OUTPUT_HEAD:-OUTPUT_TAIL]
        shown.insert(OUTPUT_HEAD, cut_notice(len(hidden), sum(len(line) + 1 for line in hidden)))
    if cut_chars:
        shown.append(f"(and {cut_chars:,} characters of lines longer than {OUTPUT_LINE} cut)")
    return "\n".join(shown) + "\n"


def cut_notice(lines: int, chars: int) -> str:
    """The line that stands for the output a failure does not show."""
    return (
        f"… {lines:,} more lines ({_size(chars)}) cut here: print less, or run one case with "
        "its replay line"
    )


def _size(chars: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if chars >= scale:
            return f"{chars / scale:.1f} {unit}"
    return f"{chars} characters"


def title_line(left: str, status: str) -> str:
    """``left`` and ``status`` on one line, the status pushed to the right."""
    gap = max(WIDTH - len(left) - len(status), 4)
    return f"{left}{' ' * gap}{status}"


def _field(name: str, text: str) -> str:
    pad = " " * 12
    lines = text.splitlines() or [""]
    first = f"  {name:<10}{lines[0]}"
    return "\n".join([first] + [pad + line for line in lines[1:]])


def broken(
    error: PromiseBroken,
    *,
    title: str,
    replay: str,
    hint: str | None,
    picture: str | None = None,
    page: str | None = None,
) -> str:
    """A broken promise, with its minimal trace as a timeline; ``picture`` and ``page`` are
    where its sequence diagram and its debugger page were written, when they were."""
    outcome = error.outcome
    trace = error.trace
    if trace.name.startswith("gen:"):
        facts = [trace.title]
    elif error.dropped:
        kept = ", ".join(
            str(i) for i in range(len(trace.steps) + len(error.dropped)) if i not in error.dropped
        )
        facts = [f"{trace.name}, only its step{'s' if ',' in kept else ''} {kept}"]
    else:
        facts = [f"{trace.name} ({trace.title})"]
    facts.append(outcome.schedule.describe())
    facts.append(f"seed {outcome.schedule.seed}")
    if error.shrunk_from:
        facts.append(f"timeline shrunk from {error.shrunk_from} lines to {len(outcome.timeline)}")
    facts.append(f"{error.runs} run{'s' if error.runs != 1 else ''} explored")
    lines = [
        title_line(title, "FAILED"),
        _field("promise", error.promise.statement),
        _field("observed", error.verdict.observed),
        _field("trace", " · ".join(facts)),
        outcome.timeline.render(marks=error.verdict.marks, indent="    "),
    ]
    if "budget" in outcome.notes:
        lines.append(_field("note", "the run never settled: " + outcome.notes["budget"]))
    lines.append(f"  replay:   {replay}")
    if hint:
        lines.append(_field("hint", hint))
    if picture:
        lines.append(_field("picture", picture))
    if page:
        lines.append(_field("debugger", page))
    return "\n".join(lines)


@dataclass(frozen=True)
class TaskGuide:
    """Where a task's work is explained and waits: its own TODO, its README section."""

    task: str
    """``ch02.3``"""
    todo_at: str | None
    """``exercises/ch02/shipping.py:48 (on_partitions_revoked)``, while the TODO is there."""
    readme_at: str | None
    """``exercises/ch02/README.md:126 (3. Hand over on a rebalance)``"""


def not_done(
    error: NotDone, *, title: str, location: str | None, rerun: str, guide: TaskGuide | None = None
) -> str:
    """A stub that still raises NotImplementedError: which TODO, where, what to read, how to
    rerun. A test that reaches another task's TODO first names its own task's TODO too."""
    todo = error.todo or "a TODO"
    lines = [title_line(title, "NOT DONE YET")]
    if guide and error.todo != guide.task:
        own = f"{guide.task} is still to be filled" + (
            f": {guide.todo_at}" if guide.todo_at else ""
        )
        lines.append(_field("todo", own))
        lines.append(_field("first", f"{todo}, which this test reaches before it"))
    else:
        lines.append(_field("todo", f"{todo} is still to be filled"))
    if location:
        lines.append(_field("where", location))
    lines.append(_field("says", error.text))
    if guide and guide.readme_at:
        lines.append(_field("read", guide.readme_at))
    if guide:
        lines.append(_field("hints", f"grader hint {guide.task}"))
    lines.append(_field("then run", rerun))
    return "\n".join(lines)


def learner_error(
    error: LearnerError,
    *,
    title: str,
    roots: list[Path],
    replay: str | None,
    hint: str | None,
    page: str | None = None,
) -> str:
    """An exception from the learner's code: their traceback only, and the timeline so far;
    ``page`` is where the debugger page of the case was written, when it was."""
    original = error.original
    lines = [
        title_line(title, "ERROR IN YOUR CODE"),
        _field("raised", f"{type(original).__name__}: {original}"),
        _field("while", f"the harness called {error.where}"),
    ]
    frames = _learner_frames(original, roots)
    if frames:
        lines.append("  traceback (your code):")
        lines.extend("    " + line for line in frames)
    if isinstance(original, SyntaxError) and original.filename:
        lines.append("  as Python shows it:")
        lines.extend("    " + line for line in syntax_error_lines(original))
    if len(error.timeline):
        lines.append("  timeline up to the error:")
        lines.append(error.timeline.render(indent="    "))
    if replay:
        lines.append(f"  replay:   {replay}")
    if hint:
        lines.append(_field("hint", hint))
    if page:
        lines.append(_field("debugger", page))
    return "\n".join(lines)


def loop_again(
    error: LearnerError,
    *,
    title: str,
    location: str,
    first: str,
    replay: str | None,
    hint: str | None,
) -> str:
    """A loop that never ends, stopped where an earlier test of the run was stopped already:
    what was raised, where, and how to replay it; the traceback and the timeline stay with
    that earlier failure."""
    original = error.original
    lines = [
        title_line(title, "ERROR IN YOUR CODE"),
        _field("raised", f"{type(original).__name__}: {original}"),
        _field("while", f"the harness called {error.where}"),
        _field("where", f"{location}, the same loop as in {first} (its timeline is shown there)"),
    ]
    if replay:
        lines.append(f"  replay:   {replay}")
    if hint:
        lines.append(_field("hint", hint))
    return "\n".join(lines)


def assertion(message: str, *, title: str, hint: str | None) -> str:
    """A promise a test checks directly (its title says it; no trace to replay), and a hint."""
    # pytest appends its own introspection ("assert 2 == 3"); the sentence before it is ours.
    said = message.split("\nassert ")[0].strip() or message.strip()
    lines = [title_line(title, "FAILED"), _field("observed", said)]
    if hint:
        lines.append(_field("hint", hint))
    return "\n".join(lines)


def _learner_frames(error: BaseException, roots: list[Path]) -> list[str]:
    resolved = [str(root.resolve()) for root in roots]
    lines = []
    for frame in traceback.extract_tb(error.__traceback__):
        if not any(str(Path(frame.filename).resolve()).startswith(root) for root in resolved):
            continue
        lines.append(f'File "{_relative(frame.filename)}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"  {frame.line}")
    return lines


def syntax_error_lines(error: SyntaxError) -> list[str]:
    """The file, the line and the caret under the offending spot, as Python prints them."""
    where = (_relative(error.filename or "?"), error.lineno, error.offset, error.text)
    shown = SyntaxError(error.msg, (*where, error.end_lineno, error.end_offset))
    return "".join(traceback.format_exception_only(SyntaxError, shown)).rstrip("\n").splitlines()


def _relative(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd()))
    except ValueError:
        return filename


def location_of(error: BaseException, roots: list[Path]) -> str | None:
    """``path:line`` of the deepest frame of ``error`` inside one of ``roots``."""
    resolved = [str(root.resolve()) for root in roots]
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if any(str(Path(frame.filename).resolve()).startswith(root) for root in resolved):
            found = f"{_relative(frame.filename)}:{frame.lineno} ({frame.name})"
    return found
