"""``grader progress``: your chapters and tasks, points earned and possible, what to do next.

It runs your own exercises (``pytest exercises/chNN`` with the derandomized
grading profile, so the table shows what a grader would give) and keeps each
chapter's results in ``.twm/progress.json``, keyed by a hash of the chapter's
folder, the manifest and the harness: the next run reruns only the chapters
whose files changed, so it takes a moment once you are under way. Chapters,
tasks, titles and points come from ``exercises/info.toml`` and the tests'
markers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GradingError
from grader.hints import find_root, load_manifest
from harness.manifest import Manifest

CACHE = Path(".twm") / "progress.json"
CACHE_VERSION = 1
RUN_TIMEOUT = 600.0
"""Real seconds one pytest run over your exercises may take before progress gives up on it."""
_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="rerun every chapter, ignoring the saved results"
    )


@dataclass(frozen=True)
class TaskProgress:
    chapter: str
    number: int
    title: str
    points: float
    max_points: float
    tests: int
    passed: int

    @property
    def id(self) -> str:
        return f"{self.chapter}.{self.number}"

    @property
    def done(self) -> bool:
        return self.tests > 0 and self.passed == self.tests


def chapters_with_tests(root: Path) -> list[str]:
    folder = root / "exercises"
    return sorted(p.name for p in folder.glob("ch[0-9][0-9]") if any(p.glob("test_*.py")))


def fingerprint(root: Path, chapter: str) -> str:
    """A hash of everything a chapter's results depend on: its folder, the manifest, harness/."""
    digest = hashlib.sha256()
    files = [root / "exercises" / "info.toml"]
    for base in (root / "exercises" / chapter, root / "harness"):
        for folder, dirs, names in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
            files += [Path(folder) / name for name in sorted(names) if not name.endswith(".pyc")]
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
        digest.update(b"\0")
    return digest.hexdigest()


def _read_cache(root: Path) -> dict:
    try:
        data = json.loads((root / CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": CACHE_VERSION, "chapters": {}}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {"version": CACHE_VERSION, "chapters": {}}
    return data


def _write_cache(root: Path, data: dict) -> None:
    path = root / CACHE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # a read-only checkout still gets its table, only slower next time


def run_chapters(root: Path, chapters: list[str]) -> dict[str, dict]:
    """Run the chapters' tests on your exercises: {chapter: {"tests": [...]} or {"error": why}}."""
    if not chapters:
        return {}
    outcome = _pytest(root, chapters)
    if isinstance(outcome, list):
        return {c: {"tests": [t for t in outcome if t.get("chapter") == c]} for c in chapters}
    if len(chapters) == 1:
        return {chapters[0]: {"error": outcome}}
    # One chapter ended the whole run (os._exit, a crash): run them one by one.
    found: dict[str, dict] = {}
    for chapter in chapters:
        found.update(run_chapters(root, [chapter]))
    return found


def _pytest(root: Path, chapters: list[str]) -> list[dict] | str:
    with tempfile.TemporaryDirectory(prefix="twm-progress-") as tmp:
        results = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *(f"exercises/{chapter}" for chapter in chapters),
            "--results-json",
            str(results),
            "--hypothesis-profile",
            "grading",
            "-p",
            "no:cacheprovider",
            "-q",
        ]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            done = subprocess.run(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return f"the tests did not finish within {RUN_TIMEOUT:g} s"
        try:
            return list(json.loads(results.read_text(encoding="utf-8"))["tests"])
        except (OSError, ValueError, KeyError):
            last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
            return f"the tests could not finish (exit {done.returncode}): {last}"


def collect(root: Path, *, fresh: bool = False) -> tuple[list[TaskProgress], dict[str, str]]:
    """Every task's progress in course order, and the chapters that could not be run."""
    manifest = load_manifest(root)
    chapters = chapters_with_tests(root)
    cache = {"version": CACHE_VERSION, "chapters": {}} if fresh else _read_cache(root)
    keys = {chapter: fingerprint(root, chapter) for chapter in chapters}
    stale = [
        c
        for c in chapters
        if cache["chapters"].get(c, {}).get("key") != keys[c] or "error" in cache["chapters"][c]
    ]
    for chapter, outcome in run_chapters(root, stale).items():
        cache["chapters"][chapter] = {"key": keys[chapter], **outcome}
    cache["chapters"] = {c: cache["chapters"][c] for c in chapters}
    tasks = _tasks(manifest, chapters, cache["chapters"])
    cache["next"] = [task.id for task in tasks if not task.done]
    _write_cache(root, cache)
    errors = {c: entry["error"] for c, entry in cache["chapters"].items() if "error" in entry}
    return tasks, errors


def _tasks(manifest: Manifest, chapters: list[str], entries: dict[str, dict]) -> list[TaskProgress]:
    titles = {(c.id, t.number): t.title for c in manifest.chapters for t in c.tasks}
    found: list[TaskProgress] = []
    for chapter in sorted(chapters):  # course order: the manifest keeps chapters sorted by id
        tests = entries.get(chapter, {}).get("tests", [])
        numbers = [t.number for c in manifest.chapters if c.id == chapter for t in c.tasks]
        numbers += sorted({t["task"] for t in tests if t.get("task") not in numbers} - {None})
        for number in numbers:
            mine = [t for t in tests if t.get("task") == number]
            passed = [t for t in mine if t.get("status") == "passed"]
            found.append(
                TaskProgress(
                    chapter,
                    number,
                    titles.get((chapter, number), ""),
                    float(sum(t.get("max_points", 0) for t in passed)),
                    float(sum(t.get("max_points", 0) for t in mine)),
                    len(mine),
                    len(passed),
                )
            )
    return found


def next_tasks(root: Path) -> list[str]:
    """The unfinished tasks (``chNN.N``) in course order, as the last progress run saw them."""
    return [task for task in _read_cache(root).get("next", []) if isinstance(task, str)]


def render(tasks: list[TaskProgress], errors: dict[str, str]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    upcoming = next((task for task in tasks if not task.done), None)
    table = Table(title="Talking with messages · your progress", box=box.SIMPLE_HEAD)
    table.add_column("task")
    table.add_column("title")
    table.add_column("points", justify="right")
    table.add_column("state")
    for task in tasks:
        if task.chapter in errors:
            state = "[red]could not run[/red]"
        elif task.done:
            state = "[green]✓ done[/green]"
        elif task is upcoming:
            state = "[bold yellow]→ next[/bold yellow]"
        elif task.passed:
            state = f"started ({task.passed}/{task.tests} tests)"
        else:
            state = "[dim]to do[/dim]"
        table.add_row(task.id, task.title, f"{task.points:g}/{task.max_points:g}", state)
    console.print(table)
    for chapter, why in errors.items():
        console.print(f"[red]{chapter}[/red]: {why}")
    earned = sum(task.points for task in tasks)
    possible = sum(task.max_points for task in tasks)
    console.print(f"points: {earned:g} / {possible:g}")
    if upcoming is None:
        console.print("[green]every task is done[/green]")
    else:
        console.print(f"next: {upcoming.id} {upcoming.title}")
        console.print(f"  pytest exercises/{upcoming.chapter} --task {upcoming.number}")
        console.print(f"  grader hint {upcoming.id}")


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    if not chapters_with_tests(root):
        raise GradingError(f"{root}/exercises has no chapter with tests")
    tasks, errors = collect(root, fresh=args.fresh)
    render(tasks, errors)
    return 0
