"""The kit the grader trusts: its own installation, never the submission's copy.

Chapters are the folders ``exercises/chNN/`` that hold ``test_*.py``, in the
manifest's course order; tasks, titles and the learner's modules come from
``exercises/info.toml``. Nothing here lists chapters by name, so a chapter an
author adds is graded without a change to the grader.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GradingError
from harness.manifest import Manifest, ManifestError

IGNORED_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        ".pytest_cache",
        ".hypothesis",
        ".twm",
        ".ruff_cache",
        ".mypy_cache",
        ".venv",
        "venv",
        ".tox",
        "build",
        "dist",
        ".ipynb_checkpoints",
    }
)
"""Folders that tools write (caches, virtual environments, VCS): never compared, never graded."""
_CHAPTER = re.compile(r"^ch\d\d$")


def walk(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (symbolic links included, never followed), sorted, minus
    the tool folders of :data:`IGNORED_DIRS`, ``*.egg-info`` and byte code."""
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.is_symlink():
            if path.name in IGNORED_DIRS or path.name.endswith(".egg-info"):
                continue
            yield from walk(path)
        elif not path.name.endswith((".pyc", ".pyo")):
            yield path


@dataclass(frozen=True)
class Kit:
    """The pristine kit: where it is, its manifest, the chapters that have tests."""

    root: Path
    manifest: Manifest
    chapters: tuple[str, ...]
    """Chapter ids with ``exercises/chNN/test_*.py``, in course order (their id order)."""

    @property
    def exercises(self) -> Path:
        return self.root / "exercises"

    def title(self, chapter: str) -> str:
        return next((c.title for c in self.manifest.chapters if c.id == chapter), chapter)

    def modules(self, chapters: tuple[str, ...] | list[str] | None = None) -> list[str]:
        """The learner's task modules (``ch03/at_most_once.py``) of ``chapters``, in order, each
        once (a module that several tasks fill, as ch02's ``shipping.py``, is named once)."""
        wanted = set(self.chapters if chapters is None else chapters)
        found: list[str] = []
        for chapter in self.manifest.chapters:
            if chapter.id in wanted:
                for task in chapter.tasks:
                    if task.module not in found:
                        found.append(task.module)
        for chapter in sorted(wanted - {c.id for c in self.manifest.chapters}):
            # A chapter with tests but no manifest block yet: its modules are its stubs.
            found += [
                f"{chapter}/{p.name}"
                for p in sorted((self.exercises / chapter).glob("*.py"))
                if not p.name.startswith("test_") and p.name != "conftest.py"
            ]
        return found

    def manifest_chapters(self) -> list[str]:
        """Every chapter id of the manifest, with tests or not yet."""
        return [c.id for c in self.manifest.chapters]

    def select(self, wanted: list[str] | None) -> list[str]:
        """The chapters to grade: ``wanted`` checked against the kit, in course order."""
        if not wanted:
            return list(self.chapters)
        unknown = [c for c in wanted if c not in self.chapters]
        if unknown:
            known = ", ".join(f"{c} ({self.title(c)})" for c in self.chapters)
            raise GradingError(
                f"unknown chapter {unknown[0]!r}; the chapters with tests are: {known}"
            )
        return [c for c in self.chapters if c in wanted]

    @functools.cached_property
    def version(self) -> str:
        """The kit's version and a digest of everything grading reads from it (harness,
        manifest, tests, traces): two results with the same version used the same tests."""
        digest = hashlib.sha256()
        graded = [p for p in walk(self.root / "harness") if p.suffix == ".py"]
        graded.append(self.exercises / "info.toml")
        for chapter in self.chapters:
            folder = self.exercises / chapter
            graded += [p for p in walk(folder) if p.name.startswith("test_")]
            graded += list(walk(folder / "traces")) if (folder / "traces").is_dir() else []
        for path in graded:
            digest.update(path.relative_to(self.root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
        return f"{_package_version()}+{digest.hexdigest()[:12]}"


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("talking-with-messages")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0"


def default_root() -> Path:
    """The grader's own installation: the kit that holds this package."""
    return Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=8)
def load(root: Path | None = None) -> Kit:
    """The kit at ``root`` (default: the grader's own installation)."""
    root = (root or default_root()).resolve()
    info = root / "exercises" / "info.toml"
    if not info.is_file() or not (root / "harness").is_dir():
        raise GradingError(
            f"the grader's kit at {root} has no exercises/info.toml or harness/: "
            "install the kit from its repository (pip install -e .)"
        )
    try:
        manifest = Manifest.load(info)
    except ManifestError as error:
        raise GradingError(str(error)) from None
    with_tests = {
        p.name
        for p in (root / "exercises").iterdir()
        if p.is_dir() and _CHAPTER.match(p.name) and any(p.glob("test_*.py"))
    }
    return Kit(root, manifest, tuple(sorted(with_tests)))  # chapter ids sort in course order
