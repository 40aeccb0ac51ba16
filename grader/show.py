"""``grader show``: open the debugger page of the last failure in your browser.

A chapter test that breaks a promise writes a page under ``.twm/failures/`` that
steps through its run with the state of the world at every step (docs/debugger.md).
``grader show`` opens the newest one; ``grader show NAME`` the newest whose test name
contains NAME. Where no browser can be started (a server, a container, ``--print``),
it prints the page's address to open elsewhere.
"""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from grader.errors import GradingError
from grader.hints import find_root
from harness import failure_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "test",
        nargs="?",
        default=None,
        help="part of a failing test's name (default: the last failure)",
    )
    parser.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the page's address instead of opening a browser",
    )
    parser.add_argument(
        "--path", type=Path, default=None, help="your checkout of the kit (default: found from .)"
    )


def run(args: argparse.Namespace) -> int:
    root = find_root(args.path)
    page = choose(root, args.test)
    address = page.resolve().as_uri()
    if not args.print_only and open_in_browser(address):
        print(f"opened {address}")
    else:
        print(address)
        if not args.print_only:
            print("no browser could be started here: open that address in one", file=sys.stderr)
    return 0


def choose(root: Path, test: str | None) -> Path:
    """The page ``grader show`` opens: the last one, or the newest whose name has ``test``."""
    if test is None:
        page = failure_files.last_page(root)
        if page is None:
            raise GradingError(
                f"no failure's page under {failure_files.folder(root)}: a chapter test that "
                "breaks a promise writes one (run pytest exercises/chNN first)"
            )
        return page
    wanted = test.replace("/", "_").replace("::", "_")
    matching = [page for page in failure_files.pages(root) if wanted in page.name]
    if not matching:
        known = ", ".join(page.stem.split(".py_", 1)[-1] for page in failure_files.pages(root))
        raise GradingError(
            f"no failure's page names {test!r}; "
            + (f"the failing tests with a page are: {known}" if known else "there is none yet")
        )
    return max(matching, key=lambda page: page.stat().st_mtime)


def open_in_browser(address: str) -> bool:
    """Open ``address`` in the default browser; ``False`` where there is none to start."""
    try:
        return webbrowser.open(address)
    except webbrowser.Error:
        return False
