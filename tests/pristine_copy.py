"""Pristine copies of the kit for its own suite: the stubs as the kit ships them.

The own suite grades submissions and runs chapter tests "on the stubs" only
from these copies, never from the learner modules of the working tree: a
learner or author who solved a task, broke a stub or deleted one still sees
``pytest`` pass. In every copy each learner module that ``exercises/stubs.toml``
names is its stub (:mod:`grader.stubs`: the working copy while it is still the
stub, else git's copy of it); every other file (tests, traces, READMEs,
``info.toml``, ``stubs.toml``, the harness, the solutions) is the working tree's.

- :func:`exercises`: one pristine ``exercises/`` for the whole session, to run
  (``--target``) or read, never to write into;
- :func:`copy_exercises`: a pristine ``exercises/`` of one's own, to change;
- :func:`copy_kit`: the whole kit, its ``exercises/`` pristine;
- :func:`checkout`: the kit's tracked files, its ``exercises/`` pristine, in a git
  repository of their own, committed.

Example, a submission with one task solved::

    sub = tmp_path / "sub"
    copy_exercises(sub / "exercises")
    shutil.copy(ROOT / "solutions/ch00/availability.py", sub / "exercises/ch00")
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader import stubs as shipped
from grader.pristine import IGNORED_DIRS

ROOT = Path(__file__).resolve().parent.parent
"""The kit whose suite this is."""


@functools.cache
def stubs(root: Path = ROOT) -> dict[str, bytes]:
    """Every learner module the record of ``root`` names (``ch03/at_least_once.py``) and its
    stub's bytes, read once. GradingError, naming the fix, when the record or a stub is missing."""
    record = shipped.load(root)
    return {module: record.stub(root, module) for module in sorted(record.modules)}


def _ignore(_folder: str, names: list[str]) -> set[str]:
    """What tools write (caches, virtual environments, VCS, grading output): never copied."""
    return {
        n
        for n in names
        if n in IGNORED_DIRS or n.endswith((".egg-info", ".pyc", ".pyo", ".grades"))
    }


def _write_stubs(exercises: Path, root: Path) -> None:
    for module, content in stubs(root).items():
        path = exercises / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # a symbolic link is replaced, never written through
        path.write_bytes(content)


def copy_exercises(destination: Path, *, root: Path = ROOT) -> Path:
    """Write the kit's ``exercises/`` to ``destination`` (a folder not there yet) with every
    learner module its stub; return ``destination``."""
    shutil.copytree(root / "exercises", destination, ignore=_ignore)
    _write_stubs(destination, root)
    return destination


def copy_kit(destination: Path, *, root: Path = ROOT) -> Path:
    """Write the whole kit to ``destination`` (a folder not there yet), tool folders aside,
    with every learner module its stub; return ``destination``."""
    shutil.copytree(root, destination, ignore=_ignore)
    _write_stubs(destination / "exercises", root)
    return destination


def checkout(destination: Path, *, root: Path = ROOT) -> Path:
    """A git repository at ``destination`` holding the kit's tracked files as the working tree
    has them, every learner module its stub, in one commit; return ``destination``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = root / name
        if source.is_file() and not source.is_symlink():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    _write_stubs(destination / "exercises", root)
    identity = ["-c", "user.name=kit", "-c", "user.email=kit@example.org"]
    for args in (["init", "-q"], ["add", "."], [*identity, "commit", "-q", "-m", "the kit"]):
        subprocess.run(["git", *args], cwd=destination, capture_output=True, check=True)
    return destination


@functools.cache
def exercises() -> Path:
    """The session's pristine ``exercises/``, written once, removed when the session ends.

    Run chapter tests against it (``--target``) or read its stubs; copy it to change it."""
    folder = Path(tempfile.mkdtemp(prefix="twm-pristine-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return copy_exercises(folder / "exercises")


def learner_checkout(destination: Path, chapters: list[str], *, root: Path = ROOT) -> Path:
    """A learner's fresh checkout of ``chapters`` at ``destination``: the harness, those
    chapter folders, ``info.toml`` and ``stubs.toml``, ``pyproject.toml``, every learner
    module its stub; return ``destination``."""
    destination.mkdir(parents=True)
    shutil.copytree(root / "harness", destination / "harness", ignore=_ignore)
    for chapter in chapters:
        source, target = root / "exercises" / chapter, destination / "exercises" / chapter
        shutil.copytree(source, target, ignore=_ignore)
    for name in ("info.toml", "stubs.toml"):
        shutil.copy(root / "exercises" / name, destination / "exercises")
    shutil.copy(root / "pyproject.toml", destination)
    for module, content in stubs(root).items():
        if module.split("/")[0] in chapters:
            (destination / "exercises" / module).write_bytes(content)
    return destination
