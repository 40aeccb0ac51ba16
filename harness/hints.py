"""Which hint a failure shows: the one that fits the mistake, from every task of its module.

A failure is described by what a person can see in it: the promise broken,
the anomalies observed, the exception learner code raised, and the test. The
hint shown is the one whose ``hint_for`` selector (``exercises/info.toml``)
matches the most terms of it, looked for in every task that shares the failing
task's module (ch02 tasks 1 to 3 fill one class: a mistake caught by task 3's
test may be task 1's), the failing task's own rules first on a tie.

- A failure with an exception from learner code gets a hint that names that
  exception (an ``error:`` term), or none: a hint about acks is no help with a
  SyntaxError.
- Any other failure that no selector matches gets its own task's first hint.

>>> from harness.manifest import Manifest
>>> hints = ["ack after the charge", "nack with requeue", "never catch BaseException"]
>>> task = {"task": 2, "title": "t", "module": "ch03/a.py", "hints": hints,
...         "hint_for": {"promise:no-swallow": 3, "error:PaymentFailed": 2}}
>>> m = Manifest.parse({"chapters": [{"id": "ch03", "title": "c", "tasks": [task]}]}, where="")
>>> choose(m, "ch03", 2, Failure(promise="no-swallow")).text
'never catch BaseException'
>>> choose(m, "ch03", 2, Failure(promise="no-loss", anomalies=("lost",))).id
'ch03.2#1'
>>> choose(m, "ch03", 2, Failure(errors=("KeyError", "LookupError", "Exception"))) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.manifest import HintRule, Manifest, Task


@dataclass(frozen=True)
class Failure:
    """What a failure shows. ``errors`` names the raised exception's class, then its bases."""

    promise: str | None = None
    anomalies: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    test: str | None = None

    @classmethod
    def of_exception(cls, error: BaseException, *, test: str | None = None) -> Failure:
        """The failure of learner code that raised ``error``."""
        names = tuple(k.__name__ for k in type(error).__mro__ if k not in (object, BaseException))
        return cls(errors=names, test=test)

    def matches(self, rule: HintRule) -> bool:
        for kind, value in rule.terms:
            if kind == "promise" and value != self.promise:
                return False
            if kind == "anomaly" and value not in self.anomalies:
                return False
            if kind == "error" and value not in self.errors:
                return False
            if kind == "test" and value != self.test:
                return False
        return True


@dataclass(frozen=True)
class Hint:
    task: Task
    number: int

    @property
    def id(self) -> str:
        """``ch03.2#1``: hint 1 of task ch03.2 (results and mutant.toml name hints so)."""
        return f"{self.task.id}#{self.number}"

    @property
    def text(self) -> str:
        return self.task.hints[self.number - 1]


def choose(manifest: Manifest, chapter: str, task: int, failure: Failure) -> Hint | None:
    """The hint that fits ``failure`` of ``chapter`` task ``task``, or None (see the module)."""
    own = manifest.task(chapter, task)
    if own is None:
        return None
    siblings = [t for t in manifest.chapter(chapter).tasks if t.module == own.module]
    candidates = [own] + [t for t in siblings if t is not own]
    best: Hint | None = None
    best_terms = 0
    for candidate in candidates:
        for rule in candidate.hint_for:
            names_error = any(kind == "error" for kind, _ in rule.terms)
            if names_error != bool(failure.errors) or not failure.matches(rule):
                continue
            if len(rule.terms) > best_terms:
                best, best_terms = Hint(candidate, rule.number), len(rule.terms)
    if best is None and not failure.errors and own.hints:
        best = Hint(own, 1)
    return best
