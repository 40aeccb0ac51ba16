"""Crashes: where the harness may stop a component, and the schedules that say when.

Every call a component makes into the world goes through its :class:`Gate`,
which numbers the calls 1, 2, 3, … over the whole run (all incarnations of
the component). A :class:`CrashPoint` names one of them and whether the crash
strikes *before* the call takes effect (the ack never reached the broker) or
*after* it took effect but before it returned (the ack reached the broker, the
consumer died anyway).

A :class:`Schedule` is the set of crash points of one run plus its seed. It
prints as a short token, which is what a ``replay:`` line carries:

>>> s = Schedule(crashes=(CrashPoint(3, "after"), CrashPoint(7, "before")), seed=5)
>>> s.token
'3a.7b@s5'
>>> Schedule.from_token("3a.7b@s5") == s
True

A crash point may name the actor it strikes, for worlds that host several
components under test (two relays, two consumers): ``relay-2:4a`` crashes
``relay-2`` after *its* call 4, and no other component. A crash point without
an actor strikes every component under test at that call number, as before.

>>> Schedule((CrashPoint(4, "after", "relay-2"),), seed=5).token
'relay-2:4a@s5'

The exhaustive explorations (:mod:`harness.explore`) take their schedules
from here: :func:`single_crash_schedules_of` gives every single crash of a
run, and :func:`crash_pair_schedules` every second crash that can follow a
first one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from harness.outcome import Outcome

When = Literal["before", "after"]
T = TypeVar("T")


CALL_LIMIT = 100_000
"""Calls one component may make into the world in one run, unless its world says otherwise;
more means a loop that never ends."""


class RunawayLoop(BaseException):
    """A component made more calls in one run than its gate allows.

    A BaseException, so that ``except Exception`` in learner code cannot hide it.
    """


class Crash(BaseException):
    """The harness stopped this component here; its memory is gone.

    It derives from BaseException so that ``except Exception`` does not catch
    it. Code that catches it anyway (``except BaseException``, a bare
    ``except:``) is reported as having *swallowed* the crash.
    """


@dataclass(frozen=True, order=True)
class CrashPoint:
    """Call ``call`` of a component, ``before`` or ``after`` it takes effect.

    ``actor`` names the one component it strikes; empty, it strikes every
    component under test (the only kind of crash point of a one-component world).
    """

    call: int
    when: When
    actor: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.call, bool) or not isinstance(self.call, int) or self.call < 1:
            raise ValueError(f"a crash point's call number starts at 1, got {self.call!r}")
        if self.when not in ("before", "after"):
            raise ValueError(f"a crash strikes 'before' or 'after' a call, got {self.when!r}")
        if not isinstance(self.actor, str) or (self.actor and not _ACTOR.match(self.actor)):
            raise ValueError(
                f"a crash point's actor is a component's name such as 'relay-2' (letters, digits, "
                f"'-' and '_', starting with a letter), got {self.actor!r}"
            )

    @property
    def token(self) -> str:
        where = f"{self.actor}:" if self.actor else ""
        return f"{where}{self.call}{self.when[0]}"

    def strikes(self, actor: str) -> bool:
        """Whether this crash point applies to the component named ``actor``."""
        return not self.actor or self.actor == actor


_ACTOR = re.compile(r"^[A-Za-z][\w-]*$")
_POINT = r"([A-Za-z][\w-]*:)?\d+[ab]"
_TOKEN = re.compile(rf"^(?P<crashes>({_POINT}(\.{_POINT})*)|-)@s(?P<seed>-?\d+)$")


@dataclass(frozen=True)
class Schedule:
    """The crashes of one run (sorted, distinct) and the world's seed."""

    crashes: tuple[CrashPoint, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "crashes", tuple(sorted(set(self.crashes))))

    @property
    def token(self) -> str:
        crashes = ".".join(c.token for c in self.crashes) or "-"
        return f"{crashes}@s{self.seed}"

    @classmethod
    def from_token(cls, token: str) -> Schedule:
        match = _TOKEN.match(token.strip())
        if not match:
            raise ValueError(
                f"cannot read the crash schedule {token!r}: expected crash points and a seed "
                "such as '3a.7b@s5' (call 3 after, call 7 before, seed 5) or '-@s5' (no crash); "
                "a crash point may name its actor: 'relay-2:4a@s5'"
            )
        crashes = []
        if match["crashes"] != "-":
            for part in match["crashes"].split("."):
                actor, _, point = part.rpartition(":")
                when: When = "after" if point[-1] == "a" else "before"
                if int(point[:-1]) < 1:
                    raise ValueError(
                        f"cannot read the crash schedule {token!r}: calls are numbered from 1, "
                        f"so {part!r} names no call"
                    )
                crashes.append(CrashPoint(int(point[:-1]), when, actor))
        return cls(tuple(crashes), int(match["seed"]))

    def describe(self) -> str:
        if not self.crashes:
            return "no crash"
        return ", ".join(
            f"crash {c.when} call {c.call}" + (f" of {c.actor}" if c.actor else "")
            for c in self.crashes
        )


class Gate:
    """The crash point in front of every call one component makes into the world.

    ``gate.call(what, effect)`` numbers the call, crashes before it if the
    schedule says so, runs ``effect()``, then crashes after it if the schedule
    says so. Once crashed, the component is dead: any further call raises
    :class:`Crash` again, so code that swallowed the crash cannot keep working.
    """

    __slots__ = ("actor", "calls", "dead", "swallowed", "limit", "_plan", "_on_crash")

    def __init__(
        self,
        actor: str,
        crashes: tuple[CrashPoint, ...],
        on_crash: Callable[[str], None],
        *,
        limit: int = CALL_LIMIT,
    ) -> None:
        self.actor = actor
        self.limit = limit
        self.calls = 0
        self.dead = False
        self.swallowed = False
        self._plan = {(c.call, c.when) for c in crashes if c.strikes(actor)}
        self._on_crash = on_crash

    def revive(self) -> None:
        """A new incarnation starts; the call numbering goes on."""
        self.dead = False
        self.swallowed = False

    def call(self, what: str, effect: Callable[[], T]) -> T:
        if self.dead:
            self.swallowed = True
            raise Crash(f"{self.actor} already crashed; it cannot {what}")
        self.calls += 1
        if self.calls > self.limit:
            raise RunawayLoop(
                f"{self.actor} made more than {self.limit:,} calls into the world in one run "
                f"(the last: {what}); a loop in your code never ends"
            )
        plan = self._plan
        if plan and (self.calls, "before") in plan:
            self._strike(f"before {what}")
        try:
            result = effect()
        except Exception:
            if plan and (self.calls, "after") in plan:
                self._strike(f"after {what} (which failed)")
            raise
        if plan and (self.calls, "after") in plan:
            self._strike(f"after {what}")
        return result

    def kill(self, where: str) -> None:
        """End the component here, as a scheduled crash would: what the world does when a
        call of the learner's code brings its whole process down (a library that aborts)."""
        self._strike(where)

    def _strike(self, where: str) -> None:
        self.dead = True
        self._on_crash(where)
        raise Crash(f"{self.actor} crashed {where}")


# -- the schedules an exhaustive exploration runs ---------------------------------------------


def single_crash_schedules(calls: int, seed: int) -> Iterator[Schedule]:
    """Every schedule with one crash: before, then after, each of ``calls`` calls."""
    for call in range(1, calls + 1):
        for when in ("before", "after"):
            yield Schedule((CrashPoint(call, when),), seed)


def single_crash_schedules_of(baseline: Outcome, seed: int) -> Iterator[Schedule]:
    """Every single-crash schedule of a run: per actor when it hosted several, else per call.

    A world with several components under test (``baseline.actor_calls``) gets
    crash points that name their actor, so each strikes one component only.
    """
    if not baseline.actor_calls:
        yield from single_crash_schedules(baseline.calls, seed)
        return
    for actor, calls in sorted(baseline.actor_calls.items()):
        for call in range(1, calls + 1):
            for when in ("before", "after"):
                yield Schedule((CrashPoint(call, when, actor),), seed)


def crash_pair_schedules(first: Schedule, outcome: Outcome) -> Iterator[Schedule]:
    """Every schedule that adds a second crash to ``first``, whose run gave ``outcome``.

    The second crash strikes before or after a call made after the first crash:
    calls ``first``'s call + 1 to the last of the run, of the same actor; in a
    world with several components under test, also every call of each other one.

    >>> from harness.outcome import Outcome
    >>> run = Outcome(accepted={}, effects={}, calls=3)
    >>> [s.token for s in crash_pair_schedules(Schedule((CrashPoint(2, "after"),)), run)]
    ['2a.3b@s0', '2a.3a@s0']
    """
    (crash,) = first.crashes
    counts = outcome.actor_calls or {crash.actor: outcome.calls}
    for actor, calls in sorted(counts.items()):
        start = crash.call + 1 if actor == crash.actor else 1
        for call in range(start, calls + 1):
            for when in ("before", "after"):
                yield Schedule((crash, CrashPoint(call, when, actor)), first.seed)


def aftermath(first: Schedule, outcome: Outcome) -> tuple:
    """What a run looked like apart from where its one crash struck, and the calls after it.

    Two first crashes with the same aftermath left the world in the same state at
    the same moment (only the crash line and the numbering of later calls differ),
    so the second crashes that follow them make the same runs: a restarted
    component knows only what the world answers it, and every effect on the world
    is on the timeline. (Crash *after* a charge and crash *before* the ack that
    follows it are one such pair.)
    """
    (crash,) = first.crashes
    counts = outcome.actor_calls or {crash.actor: outcome.calls}
    later = tuple(
        (actor, calls - (crash.call if actor == crash.actor else 0))
        for actor, calls in sorted(counts.items())
    )
    return later, tuple(step for step in outcome.timeline.steps if not step.is_crash)
