"""What a submission changed outside the learner's exercise modules.

Grading never reads these files (the kit's pristine copies are used), so
nothing here changes a score; the section tells a teacher what was tampered
with. Line endings are normalised, so a checkout on Windows is not "modified".

- ``modified``: a kit file whose content differs (or that became a symbolic link);
- ``unexpected``: a file the kit does not have (e.g. ``exercises/conftest.py``),
  other than tool caches (``__pycache__``, ``.git``, ...);
- ``missing``: a file of the learner edition (:mod:`grader.edition`) the
  submission lacks; a whole missing folder is one entry ending in ``/``. Files
  only the teacher's edition has (``solutions/``, ``tests/``, ...) are never missing;
- ``copied``: a learner module that is its reference solution up to formatting,
  comments, docstrings and names (:mod:`grader.copies`; from the kit's
  ``solutions/``, or its ``reference-digests.json`` where it has none).

A submission made from the learner edition is clean: its ``README.md`` and
``pyproject.toml`` may be the kit's or the edition's, and its stamp is checked
by grading itself.
"""

from __future__ import annotations

from pathlib import Path

from grader import copies, edition
from grader.pristine import Kit, walk
from grader.result import Integrity


def _same(ours: Path, theirs: Path) -> bool:
    if theirs.is_symlink() or not theirs.is_file():
        return False
    try:
        a, b = ours.read_bytes(), theirs.read_bytes()
    except OSError:
        return False
    return a == b or a.replace(b"\r\n", b"\n") == b.replace(b"\r\n", b"\n")


def _same_as_edition(name: str, ours: Path, theirs: Path) -> bool:
    """Whether ``theirs`` is the learner edition's version of kit file ``name``."""
    if theirs.is_symlink():
        return False
    try:
        a, b = edition.for_learners(name, ours.read_bytes()), theirs.read_bytes()
    except (OSError, UnicodeDecodeError):
        return False
    return a.replace(b"\r\n", b"\n") == b.replace(b"\r\n", b"\n")


def check(submission: Path, kit: Kit) -> Integrity:
    """Compare ``submission`` with the kit, leaving out the learner's task modules."""
    learner = {f"exercises/{module}" for module in kit.modules(kit.manifest_chapters())}
    ours = {p.relative_to(kit.root).as_posix(): p for p in walk(kit.root)}
    theirs = {p.relative_to(submission).as_posix(): p for p in walk(submission)}
    learner.add(edition.STAMP)  # grading checks the stamp's kit version itself
    modified = sorted(
        name
        for name, path in theirs.items()
        if name in ours
        and name not in learner
        and not _same(ours[name], path)
        and not _same_as_edition(name, ours[name], path)
    )
    unexpected = sorted(name for name in theirs if name not in ours and name not in learner)
    missing: list[str] = []
    for name in sorted(n for n in set(ours) - set(theirs) if edition.is_learner_file(n)):
        parts = name.split("/")
        folder = next(
            (
                "/".join(parts[:depth]) + "/"
                for depth in range(1, len(parts))
                if not (submission / "/".join(parts[:depth])).is_dir()
            ),
            None,
        )
        entry = folder or name
        if entry not in missing:
            missing.append(entry)
    modules = kit.modules(kit.manifest_chapters())
    found = copies.copied(submission, modules, copies.reference_digests(kit.root))
    return Integrity(modified=modified, unexpected=unexpected, missing=missing, copied=found)
