"""Which files are in the learner edition, how it differs from the kit, and its stamp.

This repository is the teacher's and author's edition. The learner edition
(``grader release``) holds what a learner needs and nothing that gives the
answers away. A file is in it when its top-level entry is one of
:data:`SHIPPED` and no part of its path is an answer or an author's page
(:data:`WITHHELD`): so ``solutions/``, ``tests/`` (the own suite and its
mutants), ``bench/``, ``grading/``, ``.ci/``, the docs pages written for teachers
and authors, and anything an author adds at the top level stay out unless
listed here. The docs pages that learner-facing text links to ship.

Two files are rewritten for learners (:func:`for_learners`): ``README.md``
loses the sections for teachers and authors, and ``pyproject.toml``'s
``testpaths`` points at ``exercises`` (``tests/`` is not shipped). The stamp,
``.twm-edition.toml``, names the kit version the edition was written from, so
that grading refuses a submission made from another version.

>>> is_learner_file("exercises/ch03/at_least_once.py"), is_learner_file("solutions/ch03/x.py")
(True, False)
>>> is_learner_file("exercises/ch03/AUTHORS.md"), is_learner_file(".github/workflows/ci.yml")
(False, False)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GradingError
from grader.pristine import Kit, walk

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STAMP = ".twm-edition.toml"
"""The edition's stamp, at its root: which kit version it was written from."""
SHIPPED = (
    "exercises/",
    "harness/",
    "grader/",
    "README.md",
    "docs/real-world.md",
    "docs/broker.md",
    "docs/live.md",
    "pyproject.toml",
    ".gitignore",
    ".github/workflows/classroom.yml",
    "LICENSE",
)
"""The top-level entries of the learner edition (a folder ends in ``/``)."""
WITHHELD = re.compile(
    r"(^|/)(solutions|mutants|hidden|authors)(/|$)|[^/]*(?<![a-z])authors(?![a-z])[^/]*$", re.I
)
"""Paths never shipped, wherever they are: answers, hidden traces, authors' pages."""
TEACHER_SECTIONS = ("For teachers", "For course authors")
"""The root README's sections that the learner edition's README leaves out."""


def is_learner_file(name: str) -> bool:
    """Whether the kit file ``name`` (a path relative to the kit, with ``/``) is shipped."""
    if name == STAMP:
        return True
    if WITHHELD.search(name) or name.endswith((".pyc", ".pyo")):
        return False
    return any(
        name == entry or (entry.endswith("/") and name.startswith(entry)) for entry in SHIPPED
    )


def learner_files(kit: Kit) -> list[str]:
    """The kit's files (its working tree) that the learner edition holds, sorted."""
    return [
        name
        for path in walk(kit.root)
        if not path.is_symlink()
        and is_learner_file(name := path.relative_to(kit.root).as_posix())
        and name != STAMP
    ]


def learner_readme(text: str) -> str:
    """The root README without its sections for teachers and authors (``## For teachers``...)."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            skipping = line[3:].strip() in TEACHER_SECTIONS
        if not skipping:
            kept.append(line)
    return "".join(kept)


def learner_pyproject(text: str) -> str:
    """``pyproject.toml`` with pytest's ``testpaths`` on ``exercises`` (``tests/`` stays home)."""
    return re.sub(r"(?m)^testpaths\s*=.*$", 'testpaths = ["exercises"]', text)


def for_learners(name: str, content: bytes) -> bytes:
    """The content of kit file ``name`` as the learner edition holds it."""
    if name == "README.md":
        return learner_readme(content.decode("utf-8")).encode("utf-8")
    if name == "pyproject.toml":
        return learner_pyproject(content.decode("utf-8")).encode("utf-8")
    return content


@dataclass(frozen=True)
class Stamp:
    """What ``.twm-edition.toml`` says: the kit version and the revision it was written from."""

    version: str
    source: str = ""
    """``commit <id>`` or ``working tree``."""

    def text(self) -> str:
        return (
            "# Written by `grader release`: the kit this learner edition was made from.\n"
            "# Grading refuses a submission whose stamp names another kit version.\n"
            f'version = "{self.version}"\n'
            f'source = "{self.source}"\n'
        )


def write_stamp(root: Path, stamp: Stamp) -> Path:
    """Write ``stamp`` at the root of the edition ``root``; return its path."""
    path = root / STAMP
    path.write_text(stamp.text(), encoding="utf-8")
    return path


def read_stamp(root: Path) -> Stamp | None:
    """The stamp of the checkout ``root``, or None when it is not a learner edition.

    A stamp that cannot be read is bad input (GradingError naming the file and the fix).
    """
    path = root / STAMP
    if not path.is_file() or path.is_symlink():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Stamp(str(data["version"]), str(data.get("source", "")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError) as error:
        raise GradingError(
            f"{path}: not a readable edition stamp ({type(error).__name__}: {error}); "
            f"restore it from the learner edition it came from"
        ) from None


def check_stamp(submission: Path, kit: Kit) -> None:
    """Refuse a learner edition made from another kit version than ``kit``'s."""
    stamp = read_stamp(submission)
    if stamp is not None and stamp.version != kit.version:
        raise GradingError(
            f"{submission}: a learner edition of kit {stamp.version}, but this grader's kit "
            f"is {kit.version}: grade it with the kit at that version, or move its exercise "
            f"modules into an edition released from this kit (grader release)"
        )
