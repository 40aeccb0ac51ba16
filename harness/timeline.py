"""The timeline: what happened in a run, one step a line, for people.

Each step is ``(time, actor, target, what)``; a crash is a step whose target
is ``"✗ crash"``. Steps are recorded as plain tuples (cheap: a run records a
few per delivery) and rendered only when a failure is shown.

>>> t = Timeline()
>>> t.record(0.0, "broker", "consumer", "deliver m1 (o-1) tag=1")
>>> t.crash(0.001, "consumer", "after ack tag=1")
>>> print(t.render())
t=0.000  broker  → consumer  deliver m1 (o-1) tag=1
         ✗ crash   consumer  after ack tag=1
"""

from __future__ import annotations

from typing import NamedTuple

CRASH = "✗ crash"


class Step(NamedTuple):
    time: float
    actor: str
    target: str
    what: str

    @property
    def is_crash(self) -> bool:
        return self.target == CRASH


class Timeline:
    """An append-only list of steps."""

    __slots__ = ("_raw",)

    def __init__(self) -> None:
        self._raw: list[tuple[float, str, str, str]] = []

    def record(self, time: float, actor: str, target: str, what: str) -> None:
        self._raw.append((time, actor, target, what))

    def crash(self, time: float, actor: str, what: str) -> None:
        self._raw.append((time, actor, CRASH, what))

    @property
    def steps(self) -> list[Step]:
        """The steps so far, in order."""
        return [Step(*raw) for raw in self._raw]

    def __len__(self) -> int:
        return len(self._raw)

    def render(self, *, marks: dict[int, str] | None = None, indent: str = "") -> str:
        """Render the steps as aligned lines; ``marks`` adds ``← note`` to step indexes."""
        marks = marks or {}
        steps = self.steps
        actors = [s.actor for s in steps if not s.is_crash] + ["✗ crash"]
        targets = [s.target for s in steps if not s.is_crash] + [
            s.actor for s in steps if s.is_crash
        ]
        a_width = max(len(a) for a in actors)
        t_width = max((len(t) for t in targets), default=0)
        lines = []
        for index, step in enumerate(steps):
            if step.is_crash:
                head = " " * 9 + f"{CRASH:<{a_width}}   {step.actor:<{t_width}}"
            else:
                head = f"t={step.time:.3f}  {step.actor:<{a_width}} → {step.target:<{t_width}}"
            line = f"{indent}{head}  {step.what}"
            if index in marks:
                line += f"      ← {marks[index]}"
            lines.append(line.rstrip())
        return "\n".join(lines)
