"""``grader reset chNN.N``: put a task's stub back, keeping your version aside.

The stub comes from ``exercises/stubs.toml`` and your checkout's git history
(:mod:`grader.stubs`), checked by its blob id. When the task has its module to
itself, the whole module becomes the stub again. When it shares the module
with other tasks (ch02's three tasks live in ``shipping.py``), only the
functions that hold the task's ``TODO(chNN.N)`` are put back, so your work on
the others stays; ``--module`` puts the whole module back instead.

Nothing is lost: before it writes, the command copies your version to
``.twm/backups/`` and says where. It asks before it writes; ``--yes`` does not
ask (and is needed when no one is at the terminal to answer).

    grader reset ch03.2
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from grader import stubs
from grader.errors import GradingError
from grader.hints import find_root, load_manifest
from grader.solution import find_task
from harness.manifest import Task

BACKUPS = Path(".twm") / "backups"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", metavar="chNN.N", help="the task whose stub to put back")
    parser.add_argument(
        "--module",
        action="store_true",
        help="put back the whole module, even when other tasks share it",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before writing")
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )


def _functions(tree: ast.Module) -> dict[str, ast.AST]:
    """Every function and method of a module by qualified name (``Class.method``)."""
    found: dict[str, ast.AST] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + node.name] = node
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return found


def _span(node: ast.AST) -> tuple[int, int]:
    """The 0-based first line (its decorators included) and the end of a definition."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first - 1, node.end_lineno or node.lineno


def task_functions(stub: str, task: Task) -> list[str]:
    """The qualified names of the stub's functions that hold ``TODO(<task>)``."""
    marker = f"TODO({task.id})"
    lines = stub.splitlines()
    names = []
    for name, node in _functions(ast.parse(stub)).items():
        start, end = _span(node)
        if any(marker in line for line in lines[start:end]):
            names.append(name)
    # A method holding the TODO wins over the class's other methods; an inner function
    # over its enclosing one: keep the innermost.
    return [n for n in names if not any(o.startswith(n + ".") for o in names)]


def splice(mine: str, stub: str, names: list[str]) -> str:
    """``mine`` with the functions ``names`` replaced by the stub's; GradingError when
    ``mine`` cannot be parsed or lacks one of them."""
    try:
        own = _functions(ast.parse(mine))
    except SyntaxError as error:
        raise GradingError(
            f"your module has a SyntaxError at line {error.lineno}, so its functions cannot be "
            "told apart; fix it, or pass --module to put back the whole module"
        ) from None
    missing = [name for name in names if name not in own]
    if missing:
        raise GradingError(
            f"your module has no {missing[0]}(); pass --module to put back the whole module"
        )
    theirs = _functions(ast.parse(stub))
    lines, stub_lines = mine.splitlines(keepends=True), stub.splitlines(keepends=True)
    # Replace from the bottom up, so the line numbers above stay right.
    for name in sorted(names, key=lambda n: _span(own[n])[0], reverse=True):
        start, end = _span(own[name])
        stub_start, stub_end = _span(theirs[name])
        lines[start:end] = _indented(stub_lines[stub_start:stub_end], lines[start])
    return "".join(lines)


def _indented(block: list[str], first_line: str) -> list[str]:
    """The stub's block at the indentation of the definition it replaces."""
    want = first_line[: len(first_line) - len(first_line.lstrip())]
    have = block[0][: len(block[0]) - len(block[0].lstrip())]
    if want == have:
        return block
    return [want + line[len(have) :] if line.startswith(have) else line for line in block]


def backup_path(root: Path, module: str) -> Path:
    """A new file under ``.twm/backups/`` for your version of ``module``: ``name.py.N``."""
    folder = root / BACKUPS / Path(module).parent
    name = Path(module).name
    number = 1
    while (folder / f"{name}.{number}").exists():
        number += 1
    return folder / f"{name}.{number}"


def _confirm(question: str, *, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise GradingError(
            "no one is at the terminal to answer before the stub is put back; "
            "pass --yes to reset without asking"
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    manifest = load_manifest(root)
    task = find_task(manifest, args.task)
    record = stubs.load(root)
    path = stubs.module_path(root, task.module)
    shown = path.relative_to(root).as_posix()
    if record.untouched(root, task.module):
        print(f"{task.id} · {task.title}: {shown} is the stub already; nothing to reset")
        return 0
    stub = record.stub(root, task.module).decode("utf-8")
    sharing = [
        t.id for c in manifest.chapters for t in c.tasks if t.module == task.module and t != task
    ]
    try:
        mine = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as error:
        raise GradingError(f"cannot read {shown}: {error}; pass --module to replace it") from None
    if mine is None or not sharing or args.module:
        restored, what = stub, f"the whole of {shown}"
        if sharing:
            what += f" (your work on {', '.join(sharing)} too)"
    else:
        names = task_functions(stub, task)
        restored = splice(mine, stub, names)
        what = f"{', '.join(n + '()' for n in names)} in {shown}"
    if mine == restored:
        print(f"{task.id} · {task.title}: {what} is the stub already; nothing to reset")
        return 0
    backup = backup_path(root, task.module) if mine is not None else None
    kept = f"; your version goes to {backup.relative_to(root).as_posix()}" if backup else ""
    if not _confirm(f"Put back the stub of {task.id}: {what}{kept}?", yes=args.yes):
        print("nothing changed")
        return 1
    try:
        if backup is not None:
            backup.parent.mkdir(parents=True, exist_ok=True)
            backup.write_text(mine, encoding="utf-8")
        path.write_text(restored, encoding="utf-8")
    except OSError as error:
        raise GradingError(
            f"cannot write {error.filename or shown}: {error.strerror or error}; "
            "is the checkout read-only?"
        ) from None
    print(f"{task.id} · {task.title}: the stub is back ({what}){kept}")
    print(f"  pytest exercises/{task.chapter} --task {task.number}")
    return 0
