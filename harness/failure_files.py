"""What a failing chapter test leaves under ``.twm/failures/``: its picture and its page.

For each test whose trace failed, two files named after the test: ``<test>.svg``, the
sequence diagram, and ``<test>.html``, the debugger page that steps through the run
(:mod:`harness.debugger`). ``last`` names the page written most recently, which
``grader show`` opens. A test that passes again takes its files away, so what lies
here is always about code as it is now.
"""

from __future__ import annotations

import re
from pathlib import Path

FOLDER = Path(".twm") / "failures"
"""The failures' files, relative to the kit's root."""

_LAST = "last"


def folder(root: Path) -> Path:
    return Path(root) / FOLDER


def picture(root: Path, test_id: str) -> Path:
    """Where the picture of test ``test_id`` (a pytest node id) is written."""
    return folder(root) / (_stem(test_id) + ".svg")


def page(root: Path, test_id: str) -> Path:
    """Where the debugger page of test ``test_id`` is written."""
    return folder(root) / (_stem(test_id) + ".html")


def remember(root: Path, written: Path) -> None:
    """Note ``written`` as the newest page, for ``grader show``."""
    (folder(root) / _LAST).write_text(written.name + "\n", encoding="utf-8")


def forget(root: Path, test_id: str) -> None:
    """Take away the files of an old failure of ``test_id``; a read-only checkout keeps them."""
    for path in (picture(root, test_id), page(root, test_id)):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def last_page(root: Path) -> Path | None:
    """The page written most recently that is still there, or ``None`` when there is none.

    That is the one ``last`` names; when its test has passed since, the newest page left.
    """
    here = folder(root)
    try:
        named = (here / _LAST).read_text(encoding="utf-8").strip()
    except OSError:
        named = ""
    if named and (here / named).is_file():
        return here / named
    pages = sorted(here.glob("*.html"), key=lambda p: p.stat().st_mtime) if here.is_dir() else []
    return pages[-1] if pages else None


def pages(root: Path) -> list[Path]:
    """Every page there is, by name."""
    here = folder(root)
    return sorted(here.glob("*.html")) if here.is_dir() else []


def _stem(test_id: str) -> str:
    return re.sub(r"[^\w.-]+", "_", test_id)
