"""A recording: one failing case replayed step by step, with the world's state after each step.

:func:`record` replays one case of a chapter test by its replay token (as
``--replay`` does) while watching the world (:mod:`harness.debugger.observe`),
and returns a :class:`Recording`: the timeline's steps, the panels of the state
after each, and what the page puts on top (the test, the promise broken, what
was observed, the replay line, the hint). Exploring runs are never watched: only
this one replay is, once a failure is known.

Each step shows the world as that step left it. A crash's step shows it once the
world has dealt with the crash (the component's connections closed, so its
unacked deliveries are back in their queue and its open transaction is rolled
back), as the step after the crash finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.debugger.observe import PanelSource, observing
from harness.debugger.panel import Panel
from harness.timeline import Step, Timeline


@dataclass(frozen=True)
class Recording:
    """A replayed case: its steps, the state after each, and what the page says on top.

    ``states[i]`` is the state after ``steps[i]``; ``violation`` is the step at which
    the broken promise became visible (a verdict's first mark, else the last step),
    where the page opens. ``broken`` is False when the replay broke no promise (the
    code changed since the failure, say), and ``observed`` then says so.
    """

    title: str
    token: str
    steps: tuple[Step, ...]
    states: tuple[tuple[Panel, ...], ...]
    promise: str = ""
    observed: str = ""
    replay: str = ""
    hint: str = ""
    facts: str = ""
    marks: Mapping[int, str] = field(default_factory=dict)
    broken: bool = True

    def __post_init__(self) -> None:
        if len(self.states) != len(self.steps):
            raise ValueError(
                f"a recording needs one state per step: {len(self.steps)} steps, "
                f"{len(self.states)} states"
            )

    @property
    def violation(self) -> int:
        """The step at which the broken promise became visible (0 for an empty recording)."""
        if self.marks:
            return min(self.marks)
        return max(len(self.steps) - 1, 0)

    def actors(self) -> list[str]:
        """Every actor and target, in order of first appearance (one lifeline each)."""
        found: list[str] = []
        for step in self.steps:
            for name in (step.actor, None if step.is_crash else step.target):
                if name and name not in found:
                    found.append(name)
        return found


def record(
    context: Any, token: str, *, title: str = "", replay: str = "", hint: str = ""
) -> Recording:
    """Replay the case ``token`` names, watching the world after every step.

    ``context`` is what the chapter test explored with: its ``kit`` fixture, the kit's
    :class:`~harness.explore.Explorer`, or an :class:`~harness.explore.Exploration`;
    the test must have run (the explorer remembers the last exploration it was asked
    for). ``title``, ``replay`` (the whole command line) and ``hint`` go on top of the page.
    Learner code that raises during the replay ends the recording at that step, and
    ``observed`` says what was raised; a token that does not fit the test raises
    :class:`~harness.explore.ReplayError`. From the pytest plugin, on a broken promise::

        recording = record(item.funcargs["kit"], error.token, title=title,
                           replay=replay_line, hint=hint_text)
        write_page(path, recording)
    """
    from harness.debugger.encoding import MOST_STEPS, kept_steps
    from harness.errors import LearnerError, NotDone
    from harness.explore import case_of, replay_case

    exploration = _exploration_of(context)
    case = case_of(exploration, token)  # a token that does not fit fails here, before any run
    recorder = Recorder(wanted=_wanted(exploration, token, MOST_STEPS, kept_steps))
    outcome, broken = None, None
    with observing(recorder):
        try:
            case, outcome, broken = replay_case(exploration, token)
        except (LearnerError, NotDone) as error:
            original = getattr(error, "original", None) or error.__cause__ or error
            raised = f"your code raised {type(original).__name__}: {original}"
    steps, states = recorder.finish()
    marks, promise = {}, ""
    facts = " · ".join(
        [
            case.trace.name if case.trace.name.startswith("gen:") else case.trace.title,
            case.schedule.describe(),
            f"seed {case.schedule.seed}",
        ]
    )
    if outcome is None:
        observed = raised
    elif broken is None:
        observed = "every promise held in this replay: has the code changed since it failed?"
    else:
        promise, observed, marks = broken[0].statement, broken[1].observed, broken[1].marks
    return Recording(
        title=title or token,
        token=token,
        steps=tuple(steps),
        states=tuple(states),
        promise=promise,
        observed=observed,
        replay=replay or token,
        hint=hint,
        facts=facts,
        marks=dict(marks),
        broken=outcome is None or broken is not None,
    )


def _wanted(
    exploration: Any, token: str, most: int, kept_steps: Callable[..., list[int]]
) -> set[int] | None:
    """The steps of a long run whose state the page will show, or None for every step.

    A run is deterministic: a first replay, unwatched (a few milliseconds even for
    15,000 steps), says how long it is and where its marks are, so that the watched one
    takes a snapshot only at the steps the page keeps (:func:`kept_steps`).
    """
    from harness.errors import LearnerError, NotDone
    from harness.explore import replay_case

    try:
        _case, outcome, broken = replay_case(exploration, token)
    except (LearnerError, NotDone):
        return None  # the watched replay ends where the code raised: short enough
    count = len(outcome.timeline)
    if count <= most:
        return None
    marks = broken[1].marks if broken is not None else {}
    return set(kept_steps(count, marks, most))


def _exploration_of(context: Any) -> Any:
    from harness.explore import Exploration

    explorer = getattr(context, "explorer", context)
    exploration = (
        context if isinstance(context, Exploration) else getattr(explorer, "explored", None)
    )
    if exploration is None:
        raise ValueError(
            "nothing to replay: record() needs a kit, an explorer or an Exploration whose "
            "test has run (the explorer remembers the last exploration it ran)"
        )
    return exploration


class Recorder:
    """The observer of one replay: the world's state as panels after every step it records.

    It takes the world's timeline over (an :class:`ObservedTimeline` in its place
    wherever the world's objects hold it), so that every step is followed by a snapshot.
    """

    def __init__(self, wanted: set[int] | None = None) -> None:
        self.wanted = wanted
        """The indexes of the steps to take the state after (None: every step); the
        others get an empty state, which the page does not show."""
        self.world: Any = None
        self.timeline: Timeline = Timeline()
        self._abandoned: Timeline | None = None
        self._sources: list[PanelSource] = []
        self._states: list[tuple[Panel, ...]] = []
        self._after_crash = False

    def attach(self, world: Any) -> None:
        """Watch ``world`` (a run's newest world replaces any earlier one)."""
        self.world, self._sources, self._states, self._after_crash = world, [], [], False
        old = world.timeline
        self.timeline = ObservedTimeline(self._stepped)
        for holder in [world, *vars(world).values()]:
            for name, value in list(getattr(holder, "__dict__", {}).items()):
                if value is old:
                    setattr(holder, name, self.timeline)
        self._abandoned = old

    def add_source(self, world: Any, source: PanelSource) -> None:
        if world is self.world:
            self._sources.append(source)

    def finish(self) -> tuple[list[Step], list[tuple[Panel, ...]]]:
        """The steps recorded and the state after each."""
        if self._abandoned is not None and len(self._abandoned):
            raise RuntimeError(
                "a part of the world recorded steps on a timeline the debugger did not take "
                "over; give it the world's timeline by reading world.timeline when it records"
            )
        return self.timeline.steps, list(self._states)

    def _stepped(self, crash: bool) -> None:
        wanted, index = self.wanted, len(self._states)
        if self._after_crash and (wanted is None or index - 1 in wanted):
            self._states[-1] = self.snapshot()  # the crash, as the world dealt with it
        self._states.append(self.snapshot() if wanted is None or index in wanted else ())
        self._after_crash = crash

    def snapshot(self) -> tuple[Panel, ...]:
        """The watched world's state now: its servers' panels, then the workload's."""
        panels = world_panels(self.world)
        for source in self._sources:
            panels.extend(_read(source))
        return tuple(panels)


class ObservedTimeline(Timeline):
    """A timeline that calls ``stepped(crash)`` after each step is recorded."""

    __slots__ = ("_stepped",)

    def __init__(self, stepped: Callable[[bool], None]) -> None:
        super().__init__()
        self._stepped = stepped

    def record(self, time: float, actor: str, target: str, what: str) -> None:
        super().record(time, actor, target, what)
        self._stepped(False)

    def crash(self, time: float, actor: str, what: str) -> None:
        super().crash(time, actor, what)
        self._stepped(True)


def world_panels(world: Any) -> list[Panel]:
    """The state a world's own parts hold: its components, the broker's queues, the log's
    topics, the store's tables and the payment gateway's charges (each part that is in use)."""
    panels = []
    if world.components:
        panels.append(
            Panel(
                "components",
                ("component", "incarnation", "running", "calls", "crashes"),
                [
                    (c.name, c.incarnation, c.running, c.gate.calls, c.crashes)
                    for c in world.components
                ],
                "calls are numbered as crash points count them (crash after call 3: 3a)",
            )
        )
    panels.extend(_read(world.broker.snapshot))
    panels.extend(_read(world.log.snapshot))
    database = vars(world).get("_database")  # only a world that made its store has one
    if database is not None:
        panels.extend(_read(database.snapshot))
    charges: dict[str, list[Any]] = {}
    for order, amount, _step in world.gateway.charges:
        charges.setdefault(order, []).append(amount)
    if charges:
        panels.append(
            Panel(
                "payment gateway: charges",
                ("order", "times charged", "amounts"),
                [
                    (order, len(amounts), ", ".join(str(a) for a in amounts))
                    for order, amounts in charges.items()
                ],
                "a charge is never undone: an order charged twice is duplicated",
            )
        )
    return panels


def _read(source: Callable[[], Sequence[Panel]]) -> list[Panel]:
    try:
        return list(source())
    except Exception as error:  # a snapshot must never end the replay it watches
        name = getattr(source, "__qualname__", repr(source))
        return [Panel(name, ("",), (), f"could not be read: {type(error).__name__}: {error}")]
