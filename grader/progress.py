"""``grader progress``: your chapters and tasks, points earned and possible, what to do next.

A task whose module is still the stub the kit shipped stands at 0 of its
points without running anything: ``exercises/stubs.toml`` knows each stub by
its git blob id, and its tasks' tests and points (a stub passes none of its
tests; the kit's self-check proves it). Only the tasks whose modules you have
changed run, one ``pytest exercises/chNN --task N`` per chapter, chapters in
parallel, with the derandomized grading profile, so the table shows what a
grader would give. Results are kept in ``.twm/progress.json``, keyed by a hash
of the chapter's folder, the manifest and the harness: the next run reruns
only the chapters whose files changed. The first run on a fresh checkout runs
no test at all. Chapters, tasks, titles and points come from
``exercises/info.toml`` and the tests' markers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader import stubs
from grader.errors import GradingError
from grader.hints import find_root, load_manifest
from harness.manifest import Manifest

CACHE = Path(".twm") / "progress.json"
CACHE_VERSION = 2
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
    stub: bool = False
    """Whether the task's module is still the stub (so none of its tests ran)."""
    unchecked: bool = False
    """Whether its module changed and no run has checked it yet (``collect(run=False)``)."""

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


def run_chapters(
    root: Path, chapters: list[str], tasks: dict[str, list[int] | None] | None = None
) -> dict[str, dict]:
    """Run the chapters' tests on your exercises, in parallel, ``tasks[chapter]`` only when
    given (None: every task): {chapter: {"tests": [...]} or {"error": why}}."""
    if not chapters:
        return {}
    wanted = tasks or {}
    jobs = max(1, min(len(chapters), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda c: _pytest(root, c, wanted.get(c)), chapters))
    found: dict[str, dict] = {}
    for chapter, outcome in zip(chapters, outcomes, strict=True):
        if isinstance(outcome, list):
            found[chapter] = {"tests": [t for t in outcome if t.get("chapter") == chapter]}
        else:
            found[chapter] = {"error": outcome}
    return found


def _pytest(root: Path, chapter: str, tasks: list[int] | None) -> list[dict] | str:
    with tempfile.TemporaryDirectory(prefix="twm-progress-") as tmp:
        results = Path(tmp) / "results.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            f"exercises/{chapter}",
            *(f"--task={number}" for number in tasks or ()),
            "--results-json",
            str(results),
            "--hypothesis-profile",
            "grading",
            "-p",
            "no:cacheprovider",
            "-q",
            "--no-pictures",  # the pictures and pages of your own runs stay as they are
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


def changed_tasks(
    root: Path, manifest: Manifest, record: stubs.StubRecord | None, chapter: str
) -> list[int] | None:
    """The chapter's tasks that need running: those whose module is not the stub, sorted;
    None when every task must run (no stub record, or a chapter the record does not know)."""
    tasks = [t for c in manifest.chapters if c.id == chapter for t in c.tasks]
    if record is None or not tasks:
        return None
    if any((chapter, t.number) not in record.tasks for t in tasks):
        return None
    return [t.number for t in tasks if not record.untouched(root, t.module)]


def collect(
    root: Path, *, fresh: bool = False, run: bool = True
) -> tuple[list[TaskProgress], dict[str, str]]:
    """Every task's progress in course order, and the chapters that could not be run.

    With ``run=False`` nothing runs: a changed task without saved results stands at 0 of
    its points until a run checks it (``grader watch`` draws its bar this way)."""
    manifest = load_manifest(root)
    chapters = chapters_with_tests(root)
    cache = {"version": CACHE_VERSION, "chapters": {}} if fresh else _read_cache(root)
    record = stubs.StubRecord.load(root)
    entries: dict[str, dict] = {}
    missing: dict[str, list[int] | None] = {}
    for chapter in chapters:
        wanted = changed_tasks(root, manifest, record, chapter)
        if wanted == []:
            entries[chapter] = {"tasks": [], "tests": []}  # every module is its stub
            continue
        key = fingerprint(root, chapter)
        saved = cache["chapters"].get(chapter, {})
        if saved.get("key") != key or "tests" not in saved:
            saved = {"key": key, "tasks": [], "tests": []}
        ran = saved.get("tasks")
        if ran is None:  # the whole chapter ran
            entries[chapter] = saved
            continue
        if wanted is None:
            missing[chapter] = None
        elif [n for n in wanted if n not in ran]:
            missing[chapter] = [n for n in wanted if n not in ran]
        kept = sorted(n for n in ran if wanted is None or n in wanted)
        tests = [t for t in saved["tests"] if t.get("task") in kept]
        entries[chapter] = {"key": key, "tasks": kept, "tests": tests}
    if run:
        for chapter, outcome in run_chapters(root, list(missing), missing).items():
            _merge(entries[chapter], missing[chapter], outcome)
    cache["chapters"] = entries
    tasks = _tasks(manifest, chapters, entries, record, root)
    cache["next"] = [task.id for task in tasks if not task.done]
    _write_cache(root, cache)
    errors = {c: entry["error"] for c, entry in entries.items() if "error" in entry}
    return tasks, errors


def _merge(entry: dict, numbers: list[int] | None, outcome: dict) -> None:
    """Add a run of tasks ``numbers`` (None: all) to a chapter's saved entry."""
    entry.pop("error", None)
    if "error" in outcome:
        entry["error"] = outcome["error"]
        return
    if numbers is None:
        entry["tasks"], entry["tests"] = None, outcome["tests"]
        return
    kept = [t for t in entry["tests"] if t.get("task") not in numbers]
    entry["tests"] = kept + [t for t in outcome["tests"] if t.get("task") in numbers]
    entry["tasks"] = sorted(set(entry["tasks"]) | set(numbers))


def remember(root: Path, chapter: str, number: int, tests: list[dict], key: str) -> None:
    """Save a run of one task's tests, made when the chapter's fingerprint was ``key``, so that
    progress needs not run it again; nothing is saved when the chapter has changed since."""
    if fingerprint(root, chapter) != key:
        return
    cache = _read_cache(root)
    saved = cache["chapters"].get(chapter, {})
    if saved.get("key") != key or "tests" not in saved or saved.get("tasks") is None:
        saved = {"key": key, "tasks": [], "tests": []}
    _merge(saved, [number], {"tests": tests})
    cache["chapters"][chapter] = saved
    _write_cache(root, cache)


def _tasks(
    manifest: Manifest,
    chapters: list[str],
    entries: dict[str, dict],
    record: stubs.StubRecord | None,
    root: Path,
) -> list[TaskProgress]:
    titles = {(c.id, t.number): t.title for c in manifest.chapters for t in c.tasks}
    modules = {(c.id, t.number): t.module for c in manifest.chapters for t in c.tasks}
    found: list[TaskProgress] = []
    for chapter in sorted(chapters):  # course order: the manifest keeps chapters sorted by id
        tests = entries.get(chapter, {}).get("tests", [])
        numbers = [t.number for c in manifest.chapters if c.id == chapter for t in c.tasks]
        numbers += sorted({t["task"] for t in tests if t.get("task") not in numbers} - {None})
        ran = entries.get(chapter, {}).get("tasks")
        for number in numbers:
            figures = record.tasks.get((chapter, number)) if record else None
            if ran is not None and number not in ran and figures is not None:
                module = modules.get((chapter, number))
                stub = record is not None and module is not None and record.untouched(root, module)
                title = titles.get((chapter, number), "")
                found.append(
                    TaskProgress(
                        chapter,
                        number,
                        title,
                        0.0,
                        figures.points,
                        figures.tests,
                        0,
                        stub=stub,
                        unchecked=not stub,
                    )
                )
                continue
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


def state_words(task: TaskProgress, errors: dict[str, str], upcoming: TaskProgress | None) -> str:
    """A task's state as the tables show it (rich markup)."""
    if task.chapter in errors:
        return "[red]could not run[/red]"
    if task.done:
        return "[green]✓ done[/green]"
    if task is upcoming:
        return "[bold yellow]→ next[/bold yellow]"
    if task.passed:
        return f"started ({task.passed}/{task.tests} tests)"
    return "[dim]to do[/dim]"


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
        state = state_words(task, errors, upcoming)
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
