"""``grader solution chNN.N``: a task's reference solution, once your code passes the task.

For self-study in a clone of the whole kit, as rustlings does: the reference
module (``solutions/chNN/MODULE.py``) is printed only when every test of the
task passes on your own exercise module, run the way ``grader progress`` runs
them (the grading Hypothesis profile; its saved results are reused when the
chapter's files have not changed). A module that serves several tasks is shown
once all of them pass. Before that, it says which tests are left. The learner
edition that ``grader release`` writes holds no solutions, and says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import edition, progress
from grader.errors import GradingError
from grader.hints import find_root, load_manifest, parse_task_id
from harness.manifest import Manifest, Task

NOT_YET = 1
"""The exit code when no solution is shown (the task is not done, or the edition has none)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", metavar="chNN.N", help="the task whose solution to show (ch03.2)")
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )


def find_task(manifest: Manifest, value: str) -> Task:
    """The task ``chNN.N`` of the manifest; GradingError listing the known ones otherwise."""
    every = [task.id for chapter in manifest.chapters for task in chapter.tasks]
    known = f"the tasks are: {', '.join(every)}"
    try:
        chapter_id, number = parse_task_id(value)
    except GradingError:
        raise GradingError(f"{value!r}: expected a task such as ch03.2; {known}") from None
    for chapter in manifest.chapters:
        if chapter.id == chapter_id and number is None:
            mine = ", ".join(task.id for task in chapter.tasks)
            raise GradingError(f"{value!r} is a chapter; name one of its tasks: {mine}")
        for task in chapter.tasks:
            if (task.chapter, task.number) == (chapter_id, number):
                return task
    raise GradingError(f"{value!r}: no such task; {known}")


def chapter_tests(root: Path, chapter: str, numbers: list[int]) -> list[dict] | str:
    """The outcomes of the chapter's tests of tasks ``numbers`` on your code (from progress's
    saved run when it is still valid and ran them), or why they could not be run."""
    saved = progress._read_cache(root)["chapters"].get(chapter, {})
    ran = saved.get("tasks")
    if (
        saved.get("key") == progress.fingerprint(root, chapter)
        and "tests" in saved
        and (ran is None or set(numbers) <= set(ran))
    ):
        return saved["tests"]
    outcome = progress.run_chapters(root, [chapter])[chapter]
    return outcome["tests"] if "tests" in outcome else outcome["error"]


def left_to_do(tests: list[dict], tasks: list[Task]) -> list[str]:
    """What keeps the solution hidden: each task of ``tasks`` without tests, and every
    test of theirs that did not pass, in words."""
    left = []
    for task in tasks:
        mine = [t for t in tests if t.get("task") == task.number]
        if not mine:
            left.append(f"{task.id}: no test of it ran")
        left += [
            f"{task.id}: {str(t.get('id', '?')).split('::')[-1]} ({t.get('status')})"
            for t in mine
            if t.get("status") != "passed"
        ]
    return left


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    manifest = load_manifest(root)
    task = find_task(manifest, args.task)
    reference = root / "solutions" / task.module
    if edition.read_stamp(root) is not None or not (root / "solutions").is_dir():
        print(
            f"{task.id} · {task.title}: this is the learner edition, which holds no reference "
            f"solutions; ask your teacher, or work from a clone of the whole kit"
        )
        return NOT_YET
    if not reference.is_file():
        raise GradingError(f"{reference}: missing, so {task.id} has no reference solution here")
    sharing = [t for c in manifest.chapters for t in c.tasks if t.module == task.module]
    tests = chapter_tests(root, task.chapter, [t.number for t in sharing])
    if isinstance(tests, str):
        print(f"{task.id} · {task.title}: the chapter's tests could not run: {tests}")
        return NOT_YET
    left = left_to_do(tests, sharing)
    if left:
        print(f"{task.id} · {task.title}: not done yet, so its solution stays hidden")
        for line in left:
            print(f"  still failing  {line}")
        print(f"  pytest exercises/{task.chapter} --task {task.number}")
        print(f"  grader hint {task.id}")
        return NOT_YET
    print(f"{task.id} · {task.title}: done. The reference solution, solutions/{task.module}:")
    print()
    sys.stdout.write(reference.read_text(encoding="utf-8"))
    print()
    print(
        f"Any code that keeps the promises passes; solutions/{task.chapter}/README.md "
        f"explains the choices."
    )
    return 0
