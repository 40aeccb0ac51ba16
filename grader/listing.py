"""``grader list``: every task of the course, its state, its module and the hints you have seen.

The states are ``grader progress``'s (it runs what changed, so the list is
true to your code): done, next, started (k of n tests), to do; a task whose
module is still the stub says so. Nothing else is written but progress's
saved results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from grader import progress
from grader.errors import GradingError
from grader.hints import find_root, load_manifest, read_state


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    if not progress.chapters_with_tests(root):
        raise GradingError(f"{root}/exercises has no chapter with tests")
    render(root)
    return 0


def render(root: Path, *, run: bool = True) -> None:
    """Print every task's row; ``run=False`` runs nothing (changed tasks not yet checked
    say so)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.text import Text

    manifest = load_manifest(root)
    tasks, errors = progress.collect(root, run=run)
    modules = {t.id: t.module for c in manifest.chapters for t in c.tasks}
    hints = {t.id: len(t.hints) for c in manifest.chapters for t in c.tasks}
    seen = read_state(root)
    upcoming = next((task for task in tasks if not task.done), None)
    console = Console(highlight=False)
    rows = []
    for task in tasks:
        state = progress.state_words(task, errors, upcoming)
        if task.stub and task is not upcoming:
            state = "[dim]to do (stub)[/dim]"
        elif task.unchecked:
            state = "[dim]not run yet[/dim]"
        shown = min(seen.get(task.id, 0), hints.get(task.id, 0))
        rows.append((task, state, modules.get(task.id, ""), f"{shown}/{hints.get(task.id, 0)}"))
    width = {
        "state": max(len(Text.from_markup(state).plain) for _, state, _, _ in rows),
        "module": max(len(module) for _, _, module, _ in rows),
    }
    header = f"{'task':<7} {'state':<{width['state']}} {'module':<{width['module']}} hints title"
    console.print(f"[bold]{header}[/bold]")
    room = max(12, console.width - len(header) + len("title"))
    for task, state, module, shown in rows:
        pad = " " * (width["state"] - len(Text.from_markup(state).plain))
        title = task.title if len(task.title) <= room else task.title[: room - 1] + "…"
        console.print(
            f"{task.id:<7} {state}{pad} {escape(module):<{width['module']}} {shown:<5} "
            f"{escape(title)}"
        )
    done = sum(task.done for task in tasks)
    console.print(f"{done} of {len(tasks)} tasks done · the modules are under exercises/")
    for chapter, why in errors.items():
        console.print(f"[red]{chapter}[/red]: {escape(why)}")
