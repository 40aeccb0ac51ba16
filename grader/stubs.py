"""The stubs as the kit ships them: recognised by hash, recovered from git, never copied.

``exercises/stubs.toml`` records, for every learner module, the git blob id of
its stub (the SHA-1 git gives the file's content), and for every task how many
chapter tests it has and the points they are worth. It is generated from the
kit (``TWM_UPDATE_DOCS=1 pytest tests/grader/test_stub_record.py`` writes it
again; that test fails when it drifts), and ships in the learner edition.

With it:

- ``grader progress`` knows a module you have not touched without running its
  tests: a stub passes none of them, so its tasks stand at 0 of their points;
- ``grader reset`` gets a stub back from your checkout's git history, where
  the edition's first commit keeps it, and checks it by its id;
- the kit's own suite builds submissions from the stubs, whatever your working
  tree holds.

Line endings do not count: a checkout that turned LF into CRLF still matches.

>>> blob_id(b"hello\\n")
'ce013625030ba8dba906f756967f9e9ca394464a'
>>> blob_id(b"hello\\r\\n") == blob_id(b"hello\\n")
True
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GradingError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECORD = Path("exercises") / "stubs.toml"
UPDATE = "TWM_UPDATE_DOCS=1 pytest tests/grader/test_stub_record.py"
HEADER = f"""\
# The stubs as the kit ships them, generated from the kit: do not edit.
# [modules]: each learner module's git blob id (`git hash-object`, LF line endings).
# [tasks]: each task's chapter tests and the points they are worth.
# grader progress, grader reset and the kit's own tests read it. To write it again:
#     {UPDATE}
"""


def blob_id(data: bytes) -> str:
    """The id git gives a file holding ``data`` (with LF line endings)."""
    data = data.replace(b"\r\n", b"\n")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class TaskFigures:
    """One task's chapter tests: how many, and the points they are worth."""

    tests: int
    points: float


@dataclass(frozen=True)
class StubRecord:
    """What ``exercises/stubs.toml`` holds."""

    modules: dict[str, str]
    """``ch03/at_least_once.py`` -> the stub's blob id."""
    tasks: dict[tuple[str, int], TaskFigures]
    """(``ch03``, 2) -> its tests and points."""

    @classmethod
    def load(cls, root: Path) -> StubRecord | None:
        """The record of the checkout at ``root``; None when it has none or cannot be read."""
        try:
            return cls.parse((root / RECORD).read_text(encoding="utf-8"))
        except OSError:
            return None

    @classmethod
    def parse(cls, text: str) -> StubRecord | None:
        """The record that ``text`` holds; None when it is not one."""
        try:
            data = tomllib.loads(text)
            modules = {str(k): str(v) for k, v in data["modules"].items()}
            tasks = {
                (chapter, int(number)): TaskFigures(int(f["tests"]), float(f["points"]))
                for chapter, numbers in data["tasks"].items()
                for number, f in numbers.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return cls(modules, tasks)

    def render(self) -> str:
        """The record as the file holds it."""
        lines = [HEADER, "[modules]"]
        lines += [f'"{module}" = "{blob}"' for module, blob in sorted(self.modules.items())]
        for chapter in sorted({chapter for chapter, _ in self.tasks}):
            lines += ["", f"[tasks.{chapter}]"]
            for (c, number), f in sorted(self.tasks.items()):
                if c == chapter:
                    lines.append(f'"{number}" = {{ tests = {f.tests}, points = {f.points:g} }}')
        return "\n".join(lines) + "\n"

    def untouched(self, root: Path, module: str) -> bool:
        """Whether ``exercises/<module>`` is still the stub the kit shipped."""
        expected = self.modules.get(module)
        try:
            return expected is not None and blob_id(module_path(root, module).read_bytes()) == (
                expected
            )
        except OSError:
            return False

    def stub(self, root: Path, module: str) -> bytes:
        """The stub of ``module``: the working copy when it is the stub, else from git.

        Raises GradingError, naming what to do, when neither holds it."""
        expected = self.modules.get(module)
        if expected is None:
            raise GradingError(f"exercises/{RECORD.name} names no stub for {module}")
        if self.untouched(root, module):
            return module_path(root, module).read_bytes()
        try:
            found = subprocess.run(
                ["git", "cat-file", "blob", expected],
                cwd=root,
                capture_output=True,
                check=False,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            found = None
        if found is None or found.returncode != 0 or blob_id(found.stdout) != expected:
            raise GradingError(
                f"the stub of exercises/{module} is not in this checkout's git history "
                f"(blob {expected[:12]}); copy it from the kit's learner edition"
            )
        return found.stdout


def module_path(root: Path, module: str) -> Path:
    return root / "exercises" / module


def load(root: Path) -> StubRecord:
    """The record of the checkout at ``root``; GradingError naming the fix when it is missing."""
    record = StubRecord.load(root)
    if record is None:
        raise GradingError(
            f"{root / RECORD} is missing or unreadable; restore it with "
            f"`git checkout -- {RECORD.as_posix()}`"
        )
    return record
