"""``grader hint chNN[.N]``: a task's hints, one more each time you ask.

Hints live in ``exercises/info.toml`` and nowhere else. How many of a task's
hints you have seen is kept in your checkout, in ``.twm/hints.json`` (git
ignores ``.twm/``); ``--reset`` forgets it. Without a task number, the
chapter's next unfinished task is taken from ``grader progress``'s last run;
without any argument, the next task of the whole course.

>>> parse_task_id("ch03.2")
('ch03', 2)
>>> parse_task_id("ch03")
('ch03', None)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from grader.errors import GradingError
from harness.manifest import Chapter, Manifest, ManifestError, Task

STATE = Path(".twm") / "hints.json"
_TASK_ID = re.compile(r"^(ch\d\d)(?:\.(\d+))?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "task",
        nargs="?",
        default=None,
        metavar="chNN[.N]",
        help="the task (ch03.2) or the chapter (ch03: its next unfinished task); "
        "default: your next task",
    )
    parser.add_argument("--reset", action="store_true", help="forget the hints you have seen")
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )


def parse_task_id(value: str) -> tuple[str, int | None]:
    """``chNN.N`` or ``chNN`` as (chapter, task or None); GradingError otherwise."""
    match = _TASK_ID.match(value.strip())
    if not match:
        raise GradingError(f"{value!r}: expected a task such as ch03.2, or a chapter such as ch03")
    return match.group(1), int(match.group(2)) if match.group(2) else None


def find_root(start: Path | None = None) -> Path:
    """The kit checkout holding ``start`` (default: the current folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "exercises" / "info.toml").is_file():
            return folder
    raise GradingError(
        f"{here} is not inside a checkout of the kit (no exercises/info.toml above it); "
        "cd into your checkout or pass --path"
    )


def load_manifest(root: Path) -> Manifest:
    try:
        return Manifest.load(root / "exercises" / "info.toml")
    except ManifestError as error:
        raise GradingError(str(error)) from None


def resolve_task(manifest: Manifest, value: str | None, root: Path) -> Task:
    """The task that ``value`` names, using progress's last run to pick a chapter's next task."""
    if value is None:
        upcoming = _next_from_progress(root, None)
        if upcoming is None:
            raise GradingError(
                "which task? name one, e.g. `grader hint ch03.2` (or run `grader progress` first)"
            )
        return _task(manifest, *parse_task_id(upcoming))
    chapter_id, number = parse_task_id(value)
    chapter = _chapter(manifest, chapter_id)
    if number is None:
        upcoming = _next_from_progress(root, chapter_id)
        number = parse_task_id(upcoming)[1] if upcoming else chapter.tasks[0].number
    return _task(manifest, chapter_id, number)


def _chapter(manifest: Manifest, chapter_id: str) -> Chapter:
    try:
        return manifest.chapter(chapter_id)
    except KeyError as error:
        raise GradingError(error.args[0]) from None


def _task(manifest: Manifest, chapter_id: str, number: int | None) -> Task:
    chapter = _chapter(manifest, chapter_id)
    for task in chapter.tasks:
        if task.number == number:
            return task
    known = ", ".join(task.id for task in chapter.tasks)
    raise GradingError(f"{chapter_id} has no task {number}; its tasks are: {known}")


def _next_from_progress(root: Path, chapter_id: str | None) -> str | None:
    """The next unfinished task (``chNN.N``) that ``grader progress`` last recorded."""
    from grader.progress import next_tasks

    for task_id in next_tasks(root):
        if chapter_id is None or task_id.startswith(chapter_id + "."):
            return task_id
    return None


def read_state(root: Path) -> dict[str, int]:
    try:
        data = json.loads((root / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, int) and value >= 0}


def write_state(root: Path, state: dict[str, int]) -> None:
    path = root / STATE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as error:
        message = f"cannot record the hints you have seen in {path}: {error.strerror}"
        raise GradingError(message) from None


def reveal(root: Path, task: Task) -> tuple[int, bool]:
    """Show one more hint of ``task``: return how many are shown now, and whether one is new."""
    state = read_state(root)
    seen = min(state.get(task.id, 0), len(task.hints))
    new = seen < len(task.hints)
    if new:
        seen += 1
        state[task.id] = seen
        try:
            write_state(root, state)
        except GradingError as error:  # a read-only checkout still gets its hint
            print(f"grader hint: {error}; the hint is shown all the same", file=sys.stderr)
    return seen, new


def format_hints(task: Task, shown: int, new: bool) -> str:
    total = len(task.hints)
    if total == 0:
        return f"{task.id} · {task.title}\n  this task has no hints\n"
    lines = [f"{task.id} · {task.title} · hint {shown} of {total}"]
    for number, hint in enumerate(task.hints[:shown], start=1):
        marker = "→" if new and number == shown else " "
        lines.append(f" {marker} {number}. {hint}")
    if shown < total:
        lines.append(f"  ask again for hint {shown + 1}: grader hint {task.id}")
    else:
        lines.append("  that was the last hint; the chapter's README and the failure's timeline")
        lines.append("  say the rest")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    manifest = load_manifest(root)
    if args.reset:
        if args.task is None:
            write_state(root, {})
            print("forgot every hint you had seen")
            return 0
        task = resolve_task(manifest, args.task, root)
        state = read_state(root)
        state.pop(task.id, None)
        write_state(root, state)
        print(f"forgot the hints of {task.id} you had seen")
        return 0
    task = resolve_task(manifest, args.task, root)
    shown, new = reveal(root, task)
    sys.stdout.write(format_hints(task, shown, new))
    return 0
