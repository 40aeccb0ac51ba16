"""The course manifest, ``exercises/info.toml``: chapters, tasks and hints, in course order.

Hints live here and only here (never in the stub files): a failure shows the
hint for the promise it broke (``promise_hints``), else the task's first hint;
the others wait in this file.

>>> task = {"task": 1, "title": "At most once", "module": "ch03/a.py", "hints": ["ack first"]}
>>> chapter = {"id": "ch03", "title": "Delivery semantics", "tasks": [task]}
>>> m = Manifest.parse({"chapters": [chapter]}, where="info.toml")
>>> m.task("ch03", 1).hints
('ack first',)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ManifestError(ValueError):
    """The manifest is malformed: the message names the field."""


@dataclass(frozen=True)
class Task:
    chapter: str
    number: int
    title: str
    module: str
    hints: tuple[str, ...]
    promise_hints: Mapping[str, int] = field(default_factory=dict)
    """Which hint (1-based) a failure shows when it broke a given promise."""

    @property
    def id(self) -> str:
        return f"{self.chapter}.{self.number}"

    def hint_for(self, promise: str | None) -> str | None:
        """The hint for a broken ``promise`` (``promise_hints``), else the first hint."""
        if not self.hints:
            return None
        number = self.promise_hints.get(promise or "", 1)
        return self.hints[number - 1]


@dataclass(frozen=True)
class Chapter:
    id: str
    title: str
    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class Manifest:
    chapters: tuple[Chapter, ...]

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ManifestError(f"{path}: cannot read the course manifest: {error}") from None
        return cls.parse(data, where=str(path))

    @classmethod
    def parse(cls, data: dict[str, Any], *, where: str) -> Manifest:
        chapters = []
        for c_index, raw in enumerate(data.get("chapters", [])):
            at = f"{where}: chapters[{c_index}]"
            for key in ("id", "title", "tasks"):
                if key not in raw:
                    raise ManifestError(f"{at}.{key}: missing")
            tasks = []
            for t_index, task in enumerate(raw["tasks"]):
                t_at = f"{at}.tasks[{t_index}]"
                for key, kind in (("task", int), ("title", str), ("module", str), ("hints", list)):
                    if not isinstance(task.get(key), kind):
                        raise ManifestError(f"{t_at}.{key}: expected {kind.__name__}")
                promise_hints = task.get("promise_hints", {})
                for promise, number in promise_hints.items():
                    if not isinstance(number, int) or not 1 <= number <= len(task["hints"]):
                        raise ManifestError(
                            f"{t_at}.promise_hints.{promise}: expected a hint number "
                            f"from 1 to {len(task['hints'])}"
                        )
                tasks.append(
                    Task(
                        raw["id"],
                        task["task"],
                        task["title"],
                        task["module"],
                        tuple(task["hints"]),
                        dict(promise_hints),
                    )
                )
            chapters.append(Chapter(raw["id"], raw["title"], tuple(tasks)))
        return cls(tuple(chapters))

    def chapter(self, chapter_id: str) -> Chapter:
        for chapter in self.chapters:
            if chapter.id == chapter_id:
                return chapter
        known = ", ".join(c.id for c in self.chapters)
        raise KeyError(f"unknown chapter {chapter_id!r}; the chapters are: {known}")

    def task(self, chapter_id: str, number: int) -> Task | None:
        for task in self.chapter(chapter_id).tasks:
            if task.number == number:
                return task
        return None
