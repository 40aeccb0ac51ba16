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

A loop that calls the world again and again leaves thousands of lines that
differ only in their time. :meth:`Timeline.render` shows such a stretch once,
then one line that says how often it came back and which steps it covers
(steps are numbered from 1, the first line of the timeline):

>>> t = Timeline()
>>> for _ in range(500):
...     t.record(0.001, "consumer", "broker", "ack tag=0 multiple")
>>> print(t.render())
t=0.001  consumer → broker  ack tag=0 multiple
         … the same 499 times more (steps 2-500)

A run of many messages is long without repeating itself: past
:data:`LONGEST_TIMELINE` lines, the timeline shows its beginning, its end and
the lines around each marked step and each crash, and says which steps it
leaves out (:func:`shortened`).
"""

from __future__ import annotations

from typing import NamedTuple

CRASH = "✗ crash"
LONGEST_REPEAT = 40
"""The most lines a stretch that repeats may have for :meth:`Timeline.render` to notice it."""
FEWEST_REPEATS = 20
"""How many times in a row a stretch must come back before it is collapsed: retries a few
times over, even a dozen (a backoff, a buffer that stays full a while), read better in full."""
LONGEST_TIMELINE = 150
"""The most lines a rendered timeline shows in full (after its repeats are collapsed): a run
of 1,000 messages is cut to its beginning, its end, and what surrounds each mark and crash."""
HEAD, TAIL, AROUND = 40, 30, 8
"""Of a longer timeline, the first and last lines kept, and those kept on each side of a
marked step or a crash."""


class Step(NamedTuple):
    time: float
    actor: str
    target: str
    what: str

    @property
    def is_crash(self) -> bool:
        return self.target == CRASH


class Repeat(NamedTuple):
    """Lines ``start .. start + length - 1`` come back ``times`` more times right after."""

    start: int
    length: int
    times: int

    @property
    def hidden(self) -> range:
        """The indexes of the steps the repeats cover."""
        end = self.start + self.length * (self.times + 1)
        return range(self.start + self.length, end)


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
        """Render the steps as aligned lines; ``marks`` adds ``← note`` to step indexes.

        A stretch of lines that comes back unchanged but for its times, again and
        again (a loop), is shown once and followed by a line that counts the
        repeats (see :func:`repeats`); a marked step is always shown.
        """
        marks = marks or {}
        steps = self.steps
        actors = [s.actor for s in steps if not s.is_crash] + ["✗ crash"]
        targets = [s.target for s in steps if not s.is_crash] + [
            s.actor for s in steps if s.is_crash
        ]
        a_width = max(len(a) for a in actors)
        t_width = max((len(t) for t in targets), default=0)
        collapsed = {r.start + r.length: r for r in repeats(steps, keep=marks)}
        rows: list[Row] = []
        index = 0
        while index < len(steps):
            if index in collapsed:
                repeat = collapsed[index]
                hidden = repeat.hidden
                rows.append(Row(hidden.start, hidden.stop, f"{' ' * 9}{notice(repeat, steps)}"))
                index = hidden.stop
                continue
            step = steps[index]
            if step.is_crash:
                head = " " * 9 + f"{CRASH:<{a_width}}   {step.actor:<{t_width}}"
            else:
                head = f"t={step.time:.3f}  {step.actor:<{a_width}} → {step.target:<{t_width}}"
            line = f"{head}  {step.what}"
            if index in marks:
                line += f"      ← {marks[index]}"
            rows.append(Row(index, index + 1, line.rstrip(), index in marks or step.is_crash))
            index += 1
        return "\n".join(f"{indent}{line}" for line in shortened(rows))


class Row(NamedTuple):
    """One line of a rendered timeline: steps ``start .. stop - 1``, and whether it must stay."""

    start: int
    stop: int
    line: str
    kept: bool = False


def shortened(rows: list[Row]) -> list[str]:
    """The lines of ``rows``, at most about :data:`LONGEST_TIMELINE` of them (see :func:`cut`).

    >>> rows = [Row(i, i + 1, f"line {i + 1}", kept=i == 500) for i in range(1000)]
    >>> lines = shortened(rows)
    >>> len(lines) < LONGEST_TIMELINE, lines[HEAD], "line 501" in lines
    (True, '         … 452 steps left out (steps 41-492)', True)
    """
    lines = []
    for shown in cut(len(rows), [n for n, row in enumerate(rows) if row.kept]):
        if isinstance(shown, range):
            start, stop = rows[shown.start].start, rows[shown.stop - 1].stop
            lines.append(f"{' ' * 9}{left_out(start, stop)}")
        else:
            lines.append(rows[shown].line)
    return lines


def cut(count: int, kept: list[int]) -> list[int | range]:
    """Which of ``count`` rows to show, in order: a row's position, or the range of
    positions of a stretch left out, to be shown as one row.

    Up to :data:`LONGEST_TIMELINE` rows are all shown. A longer timeline keeps its
    first :data:`HEAD` and last :data:`TAIL` rows, and :data:`AROUND` rows on each
    side of every position in ``kept`` (a marked step, a crash).

    >>> cut(3, [])
    [0, 1, 2]
    >>> shown = cut(1000, [500])
    >>> shown[HEAD], shown[HEAD + 1 : HEAD + 2 * AROUND + 2] == list(range(492, 509))
    (range(40, 492), True)
    """
    if count <= LONGEST_TIMELINE:
        return list(range(count))
    shown = set(range(HEAD)) | set(range(count - TAIL, count))
    for position in kept:
        shown |= set(range(position - AROUND, position + AROUND + 1))
    out: list[int | range] = []
    gap = None
    for position in range(count):
        if position in shown:
            if gap is not None:
                out.append(range(gap, position))
                gap = None
            out.append(position)
        elif gap is None:
            gap = position
    if gap is not None:
        out.append(range(gap, count))
    return out


def left_out(start: int, stop: int) -> str:
    """The line that stands for steps ``start .. stop - 1``, left out of a long timeline."""
    return f"… {stop - start:,} steps left out (steps {start + 1}-{stop})"


def repeats(steps: list[Step], *, keep: dict[int, str] | None = None) -> list[Repeat]:
    """The stretches of ``steps`` that come back, unchanged but for their times, in a row.

    A stretch of at most :data:`LONGEST_REPEAT` lines counts when it comes back
    at least :data:`FEWEST_REPEATS` more times; of the stretches starting on one
    line, the one hiding the most lines wins (the shortest, on a tie). Steps
    whose index is in ``keep`` are never hidden.

    >>> ticks = [Step(i / 1000, "a", "b", "poll") for i in range(30)]
    >>> repeats(ticks)
    [Repeat(start=0, length=1, times=29)]
    """
    keep = keep or {}
    ids: dict[tuple[str, str, str], int] = {}
    keys = [
        -1 - index if index in keep else ids.setdefault(step[1:], len(ids))
        for index, step in enumerate(steps)
    ]
    count = len(keys)
    # same[p][i]: how many lines from i on equal the line p further on, in a row.
    same: list[list[int]] = [[]]
    for p in range(1, min(LONGEST_REPEAT, count // (FEWEST_REPEATS + 1)) + 1):
        run = [0] * (count + 1)
        for i in range(count - p - 1, -1, -1):
            if keys[i] == keys[i + p]:
                run[i] = run[i + 1] + 1
        same.append(run)
    found = []
    index = 0
    while index < count:
        best = None
        for p in range(1, len(same)):
            times = same[p][index] // p
            if times >= FEWEST_REPEATS:
                if best is None or times * p > best.times * best.length:
                    best = Repeat(index, p, times)
        if best is None:
            index += 1
            continue
        found.append(best)
        index = best.hidden.stop
    return found


def notice(repeat: Repeat, steps: list[Step]) -> str:
    """The line that stands for ``repeat``'s hidden steps."""
    hidden = repeat.hidden
    what = "the same" if repeat.length == 1 else f"the {repeat.length} lines above again,"
    span = f"steps {hidden.start + 1}-{hidden.stop}"
    first, last = steps[repeat.start].time, steps[hidden.stop - 1].time
    if last != first:
        span += f", until t={last:.3f}"
    return f"… {what} {repeat.times:,} times more ({span})"
