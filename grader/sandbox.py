"""The fresh tree a submission is graded in: the kit's pristine tests plus the learner's modules.

Layout of one sandbox (a new temporary directory for every grading)::

    kit/pytest.ini                 the grader's own (never the submission's)
    kit/exercises/info.toml        the kit's manifest
    kit/exercises/chNN/...         the kit's tests, traces and files, and the learner's
                                   task modules: the only files taken from the submission
    work/                          the test run's working directory: only Hypothesis's cache
                                   of the kit's source constants (grader.constants_cache)
    tmp/                           the test run's TMPDIR and HOME

The results of a run are written to a second temporary directory outside the
sandbox (private to the grader's user), one the learner's code is not told
about and cannot see. The harness is the grader's own installation, imported
from where the grader is installed. The tree is readable by the learner's
account (it holds nothing that is not in the learner edition) and writable by
no one but the grader; before every rerun :meth:`Sandbox.restore` puts back
exactly what was built, so nothing a learner process wrote there (a
``conftest.py``, a changed test) reaches the next attempt.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader import constants_cache
from grader.pristine import IGNORED_DIRS, Kit

MAX_MODULE_BYTES = 1_000_000
"""A task module larger than this is not taken (a learner's module is a few kilobytes)."""

PYTEST_INI = """\
# Written by the grader: the submission's pytest.ini, pyproject.toml and conftest.py are
# never used. Only test_*.py files are collected, so no learner module is imported then.
[pytest]
python_files = test_*.py
"""


@dataclass
class Sandbox:
    root: Path
    private: Path
    """Where results are written: outside ``root``, never named to the learner's code."""
    notes: list[str] = field(default_factory=list)
    """Why a learner module was not taken (missing, a link, too large)."""
    mode: str = "auto"
    """The learner sandbox's mode for the test runs (``TWM_SANDBOX``): auto, require, none."""
    built: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """Every file of ``kit/`` as built: relative path -> (digest, content)."""

    @property
    def kit(self) -> Path:
        return self.root / "kit"

    @property
    def target(self) -> Path:
        return self.kit / "exercises"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def clean(self, text: str) -> str:
        """``text`` without this sandbox's paths, so that messages are the same every run."""
        for path, shown in ((self.target, "exercises"), (self.kit, "kit"), (self.root, "")):
            text = text.replace(str(path) + "/", shown + "/" if shown else "")
            text = text.replace(str(path), shown)
        return text.replace(str(self.private), "results")

    def seal(self) -> None:
        """Remember the tree as built, and open it for reading (never writing) to others."""
        os.chmod(self.root, 0o755)
        self.built = {}
        for path in sorted(self.kit.rglob("*")):
            if path.is_file() and not path.is_symlink():
                content = path.read_bytes()
                digest = hashlib.sha256(content).hexdigest()
                self.built[path.relative_to(self.kit).as_posix()] = (digest, content)

    def restore(self) -> list[str]:
        """Put the tree back as built; return what had changed (sorted), empty when nothing."""
        changed = []
        for path in sorted(self.kit.rglob("*"), reverse=True):
            name = path.relative_to(self.kit).as_posix()
            if path.is_dir() and not path.is_symlink():
                if not any(key.startswith(name + "/") for key in self.built):
                    shutil.rmtree(path, ignore_errors=True)
                    changed.append(name + "/")
                continue
            entry = self.built.get(name)
            if path.is_symlink() or entry is None:
                path.unlink(missing_ok=True)
                changed.append(name)
            elif hashlib.sha256(path.read_bytes()).hexdigest() != entry[0]:
                path.write_bytes(entry[1])
                changed.append(name)
        for name, (_, content) in self.built.items():
            path = self.kit / name
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                changed.append(name)
        return sorted(changed)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.private, ignore_errors=True)


def build(kit: Kit, submission: Path, chapters: list[str]) -> Sandbox:
    """A new sandbox for ``chapters`` of ``submission``."""
    root = Path(tempfile.mkdtemp(prefix="twm-grade-"))
    sandbox = Sandbox(root, Path(tempfile.mkdtemp(prefix="twm-results-")))
    modules = kit.modules(chapters)
    skip = {f"{chapter}/{name}" for chapter, _, name in (m.partition("/") for m in modules)}

    def ignore(folder: str, names: list[str]) -> set[str]:
        chapter = Path(folder).name
        return {n for n in names if n in IGNORED_DIRS or f"{chapter}/{n}" in skip}

    sandbox.target.mkdir(parents=True)
    shutil.copy2(kit.exercises / "info.toml", sandbox.target / "info.toml")
    for chapter in chapters:
        shutil.copytree(kit.exercises / chapter, sandbox.target / chapter, ignore=ignore)
    for module in modules:
        note = _take(submission / "exercises" / module, sandbox.target / module)
        if note:
            sandbox.notes.append(f"exercises/{module}: {note}")
    (sandbox.kit / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    sandbox.work.mkdir()
    sandbox.tmp.mkdir()
    harness = importlib.util.find_spec("harness")
    if harness is not None and harness.submodule_search_locations:
        learner = [sandbox.target / module for module in modules]
        kit_sources = constants_cache.sources(
            Path(list(harness.submodule_search_locations)[0]), sandbox.kit, learner
        )
        constants_cache.fill(sandbox.work, kit_sources)
    sandbox.seal()
    return sandbox


def _take(source: Path, destination: Path) -> str | None:
    """Copy one learner module; return why it was not taken, if it was not."""
    if source.is_symlink():
        return "is a symbolic link; the grader takes only the file itself, so it scores 0"
    if not source.is_file():
        return "missing from the submission, so its tests score 0"
    if source.stat().st_size > MAX_MODULE_BYTES:
        return f"larger than {MAX_MODULE_BYTES} bytes, not taken, so its tests score 0"
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
    return None
