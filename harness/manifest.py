"""The course manifest, ``exercises/info.toml``: chapters, tasks and hints, in course order.

Hints live here and only here (never in the stub files). A task's
``hint_for`` table says which of its hints fits which failure: each key is a
selector of one or more space-separated terms, ``promise:ID``, ``anomaly:WORD``
(a glossary word), ``error:ExceptionName`` or ``test:test_function_name``, and
each value a hint number (1-based). :mod:`harness.hints` chooses among them;
``grader hint`` gives the others in order.

>>> task = {"task": 1, "title": "At most once", "module": "ch03/a.py", "hints": ["ack first"]}
>>> chapter = {"id": "ch03", "title": "Delivery semantics", "tasks": [task]}
>>> m = Manifest.parse({"chapters": [chapter]}, where="info.toml")
>>> m.task("ch03", 1).hints
('ack first',)
>>> HintRule.parse("promise:no-loss anomaly:lost", 1).terms
(('promise', 'no-loss'), ('anomaly', 'lost'))
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.glossary import ANOMALIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ManifestError(ValueError):
    """The manifest is malformed: the message names the field."""


SELECTOR_KINDS = ("promise", "anomaly", "error", "test")
"""What a ``hint_for`` term can name: the promise broken, an anomaly observed, the
exception learner code raised (its class or a base class, by name), the test."""


@dataclass(frozen=True)
class HintRule:
    """``hint_for`` entry: the hint ``number`` fits a failure matching every term."""

    terms: tuple[tuple[str, str], ...]
    number: int

    @classmethod
    def parse(cls, selector: str, number: int) -> HintRule:
        """Read ``"promise:no-loss anomaly:lost"``; raise ValueError naming a bad term."""
        terms = []
        for term in selector.split():
            kind, colon, value = term.partition(":")
            if not colon or not value or kind not in SELECTOR_KINDS:
                raise ValueError(
                    f"{term!r} is not a selector term: write KIND:VALUE, KIND one of "
                    + ", ".join(SELECTOR_KINDS)
                )
            if kind == "anomaly" and value not in ANOMALIES:
                raise ValueError(f"{value!r} is not a glossary word ({', '.join(ANOMALIES)})")
            terms.append((kind, value))
        if not terms:
            raise ValueError("an empty selector matches nothing: name at least one term")
        return cls(tuple(terms), number)

    @property
    def selector(self) -> str:
        return " ".join(f"{kind}:{value}" for kind, value in self.terms)


@dataclass(frozen=True)
class Task:
    chapter: str
    number: int
    title: str
    module: str
    hints: tuple[str, ...]
    hint_for: tuple[HintRule, ...] = ()
    """Which hint (1-based) fits which failure, in the order the manifest gives them."""

    @property
    def id(self) -> str:
        return f"{self.chapter}.{self.number}"


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
                if "promise_hints" in task:
                    raise ManifestError(
                        f'{t_at}.promise_hints: write hint_for = {{ "promise:ID" = N }} instead'
                    )
                rules = []
                for selector, number in task.get("hint_for", {}).items():
                    if not isinstance(number, int) or not 1 <= number <= len(task["hints"]):
                        raise ManifestError(
                            f"{t_at}.hint_for.{selector!r}: expected a hint number "
                            f"from 1 to {len(task['hints'])}"
                        )
                    try:
                        rules.append(HintRule.parse(selector, number))
                    except ValueError as error:
                        raise ManifestError(f"{t_at}.hint_for.{selector!r}: {error}") from None
                tasks.append(
                    Task(
                        raw["id"],
                        task["task"],
                        task["title"],
                        task["module"],
                        tuple(task["hints"]),
                        tuple(rules),
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
