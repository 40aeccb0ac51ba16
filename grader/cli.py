"""The ``grader`` command: ``run`` (one submission), ``batch``, ``merge``, ``release``,
``progress``, ``list``, ``hint``, ``show``, ``reset``, ``watch``, ``solution``.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; only the module of the subcommand asked for is imported,
so ``grader hint`` never pays for what ``grader batch`` needs. Bad input ends
with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from grader.errors import GradingError

COMMANDS = {
    "run": ("grader.run", "grade one submission with the kit's pristine tests"),
    "batch": ("grader.batch", "grade every submission under a folder, in parallel"),
    "progress": ("grader.progress", "your chapters and tasks: points earned, what to do next"),
    "list": ("grader.listing", "every task, its state, its module and the hints you have seen"),
    "hint": ("grader.hints", "the next hint of a task (chNN.N)"),
    "watch": ("grader.watch", "run your current task's tests on every save, then the next task"),
    "show": ("grader.show", "open the debugger page of your last failure in the browser"),
    "reset": ("grader.reset", "put a task's stub back (chNN.N), keeping your version aside"),
    "release": ("grader.release", "write the learner edition: stubs, tests, traces, no answers"),
    "merge": ("grader.merge", "join the shards of a batch into one CSV and one gradebook"),
    "solution": ("grader.solution", "a task's reference solution, once your code passes it"),
}
USAGE_ERROR = 2


def _load(command: str) -> ModuleType | None:
    module_name = COMMANDS[command][0]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        return None


def _parser(command: str | None) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade the kata kit: one submission, a batch, or your own progress.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    module = None
    for name, (_, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = _load(name)
            if module is not None:
                module.add_arguments(sub_parser)
    return parser, module


def _command_in(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``grader`` command line; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    parser, module = _parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    if module is None:
        print(f"grader {args.command}: not available yet", file=sys.stderr)
        return USAGE_ERROR
    try:
        return module.run(args)
    except GradingError as error:
        print(f"grader {args.command}: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"grader {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
